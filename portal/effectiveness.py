"""What gets paid: for each level, channel and settings revision, how the invoices reminded
fared afterwards. Plain functions of the ledger, a period and a date (no request).

Counted: every reminder of an invoice marked sent during the period (a message about three
invoices counts three reminders; instalment reminders are not counted). For each one, with
D the day it went out (in the creditor's time zone):

- the reminded amount: the invoice's total less what succeeded payments received on or before
  D had paid of it (money: an early-payment discount granted with a payment is not counted);
- paid within N days (7, 14, 30): what succeeded payments received after D and at most N days
  after it paid of the invoice, never more than the reminded amount. The shares count only the
  reminders at least 30 days old (a reminder of yesterday has not had its 30 days), the same
  ones for the three windows, so that they read as a progression: their base is the reminded
  amount of those reminders;
- days to payment: from D to the first payment received after D, for the reminders followed by
  one at all (the median is over those, and says how many they are);
- followed by a visit or an answer: a portal visit, or an answer (a promise, a message, "never
  received", an instalment request), by the debtor within 7 days after it went out.

The revision is the settings revision in force when the reminder went out (0: the shipped
defaults): a change of wording shows as a new row. Shares are exact fractions of cents, shown
rounded half up to a tenth of a percent.

A/B tests: where a level tests two templates (its `variant_template`), each reminder records the
variant its debtor reads ("A" or "B"), and `ab_tests` compares the two on the share of each
reminded amount paid within 30 days: the difference B - A in points with its 95 % confidence
interval (the difference of two means of per-reminder shares, normal approximation), and a
verdict: not enough data while either variant has fewer than MIN_PER_VARIANT reminders 30 days
old; a winner when the interval leaves out zero; else no clear difference.
"""
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from sqlalchemy import select

from . import clock
from .extensions import db
from .models import Allocation, Event, Invoice, Payment, Reminder, SettingsRevision
from .settings.defaults import default_document

WINDOWS = (7, 14, 30)  # days; the last is the longest
FOLLOW_DAYS = 7  # a visit or an answer this many days after a reminder follows it
ANSWERS = ("hold_promise", "hold_not_received", "message", "plan_requested")


MIN_PER_VARIANT = 30  # mature reminders each variant needs before a verdict
Z95 = Decimal("1.96")


@dataclass
class Outcome:
    """The reminders of one (level, channel, revision, variant) and what followed them."""
    level: int
    channel: str
    revision: int
    variant: str = ""  # "A", "B", or "" outside an A/B test
    shares_30: list = field(default_factory=list)  # paid / reminded of each mature reminder
    sent: int = 0
    mature: int = 0  # reminders at least 30 days old: the sample of the shares
    reminded_cents: int = 0
    base_cents: dict = field(default_factory=lambda: {n: 0 for n in WINDOWS})
    paid_cents: dict = field(default_factory=lambda: {n: 0 for n in WINDOWS})
    days_to_payment: list = field(default_factory=list)
    visited: int = 0
    answered: int = 0
    followable: int = 0  # reminders at least FOLLOW_DAYS old: the base of visits and answers

    def share(self, days):
        """Percent of the reminded amount paid within `days` (None: no reminder old enough)."""
        return percent(self.paid_cents[days], self.base_cents[days])

    @property
    def median_days(self):
        """Days from the reminder to the first payment after it, the median (a Decimal: 18.5
        between 18 and 19), None when no payment followed."""
        return Decimal(str(median(self.days_to_payment))) if self.days_to_payment else None

    @property
    def visit_share(self):
        return percent(self.visited, self.followable)

    @property
    def answer_share(self):
        return percent(self.answered, self.followable)


def percent(part, whole):
    """part / whole as a percentage rounded half up to 0.1 (a Decimal), None when whole is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def outcomes(since, until, as_of):
    """[Outcome] of the reminders sent from `since` to `until` (dates, inclusive), as seen on
    `as_of`, ordered by level, channel and revision."""
    zone = clock.zone()
    start = datetime.combine(since, time.min, zone).astimezone(timezone.utc)
    end = datetime.combine(until + timedelta(days=1), time.min, zone).astimezone(timezone.utc)
    reminders = db.session.execute(
        select(Reminder.invoice_id, Reminder.customer_id, Reminder.level, Reminder.channel,
               Reminder.sent_at, Reminder.variant)
        .where(Reminder.state == "sent", Reminder.invoice_id.is_not(None),
               Reminder.sent_at >= start, Reminder.sent_at < end)).all()
    if not reminders:
        return []
    invoice_ids = {r.invoice_id for r in reminders}
    totals = dict(db.session.execute(select(Invoice.id, Invoice.total_cents)
                                     .where(Invoice.id.in_(invoice_ids))).all())
    paid = defaultdict(list)  # invoice id -> [(received on, cents)], oldest first
    for invoice_id, received_on, cents in db.session.execute(
            select(Allocation.invoice_id, Payment.received_on, Allocation.amount_cents)
            .join(Payment, Payment.id == Allocation.payment_id)
            .where(Payment.state == "succeeded", Allocation.invoice_id.in_(invoice_ids),
                   Allocation.kind != "discount")  # money got, not early-payment discounts
            .order_by(Payment.received_on)):
        paid[invoice_id].append((received_on, cents))
    revisions = db.session.execute(select(SettingsRevision.created_at, SettingsRevision.number)
                                   .order_by(SettingsRevision.created_at)).all()
    revision_times = [r.created_at for r in revisions]
    follow = defaultdict(list)  # customer id -> [(at, answered?)]
    for customer_id, kind, at in db.session.execute(
            select(Event.customer_id, Event.kind, Event.at)
            .where(Event.customer_id.in_({r.customer_id for r in reminders}),
                   Event.actor == "debtor", Event.kind.in_(ANSWERS + ("portal_visit",)),
                   Event.at >= start)):
        follow[customer_id].append((at, kind != "portal_visit"))

    groups = {}
    for r in reminders:
        found = bisect_right(revision_times, r.sent_at)
        revision = revisions[found - 1].number if found else 0
        key = (r.level, r.channel, revision, r.variant or "")
        outcome = groups.get(key) or groups.setdefault(key, Outcome(*key))
        day = r.sent_at.astimezone(zone).date()
        payments = paid.get(r.invoice_id, ())
        reminded = max(0, totals[r.invoice_id] - sum(c for on, c in payments if on <= day))
        outcome.sent += 1
        outcome.reminded_cents += reminded
        if day + timedelta(days=max(WINDOWS)) <= as_of:  # old enough for every window
            outcome.mature += 1
            for days in WINDOWS:
                got = min(reminded, sum(
                    c for on, c in payments if day < on <= day + timedelta(days=days)))
                outcome.base_cents[days] += reminded
                outcome.paid_cents[days] += got
            if reminded > 0:  # `got`: what the last, longest window saw
                outcome.shares_30.append(Decimal(got) / Decimal(reminded))
        later = [on for on, _c in payments if on > day]
        if later:
            outcome.days_to_payment.append((min(later) - day).days)
        if day + timedelta(days=FOLLOW_DAYS) <= as_of:
            outcome.followable += 1
            window = [(at, answer) for at, answer in follow.get(r.customer_id, ())
                      if r.sent_at <= at <= r.sent_at + timedelta(days=FOLLOW_DAYS)]
            outcome.visited += any(not answer for _at, answer in window)
            outcome.answered += any(answer for _at, answer in window)
    return [groups[k] for k in sorted(groups)]


def revisions_of(rows):
    """{settings revision number of `rows` (outcomes()): (when it was saved, its document)};
    revision 0, the shipped settings, has no date."""
    numbers = {r.revision for r in rows}
    found = {0: (None, default_document())} if 0 in numbers else {}
    for number, at, document in db.session.execute(
            select(SettingsRevision.number, SettingsRevision.created_at,
                   SettingsRevision.document).where(SettingsRevision.number.in_(numbers))):
        found[number] = (at, document)
    return found


@dataclass
class ABTest:
    """Variants A and B of one level (channel, revision) side by side."""
    a: Outcome
    b: Outcome
    difference: Decimal | None  # B - A, points of the share paid within 30 days
    low: Decimal | None  # the 95 % confidence interval of the difference
    high: Decimal | None
    verdict: str  # "not_enough_data", "a", "b" (the winner), "no_difference"


def ab_tests(rows):
    """An ABTest for each (level, channel, revision) of `rows` (outcomes()) sent in both
    variants."""
    by_key = {(r.level, r.channel, r.revision, r.variant): r for r in rows}
    tests = []
    for (level, channel, revision, variant), a in sorted(by_key.items()):
        b = by_key.get((level, channel, revision, "B"))
        if variant != "A" or b is None:
            continue
        tests.append(compare(a, b))
    return tests


def compare(a, b):
    """The ABTest of two outcomes (see the module's docstring)."""
    n_a, n_b = len(a.shares_30), len(b.shares_30)
    if min(n_a, n_b) < MIN_PER_VARIANT:
        return ABTest(a, b, None, None, None, "not_enough_data")
    mean_a, mean_b = sum(a.shares_30) / n_a, sum(b.shares_30) / n_b
    var_a = sum((x - mean_a) ** 2 for x in a.shares_30) / (n_a - 1)
    var_b = sum((x - mean_b) ** 2 for x in b.shares_30) / (n_b - 1)
    margin = Z95 * (var_a / n_a + var_b / n_b).sqrt()
    difference = mean_b - mean_a
    low, high = difference - margin, difference + margin
    verdict = "b" if low > 0 else "a" if high < 0 else "no_difference"
    points = Decimal("0.1")
    return ABTest(a, b, *((v * 100).quantize(points, ROUND_HALF_UP)
                          for v in (difference, low, high)), verdict)
