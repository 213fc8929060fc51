"""Receivables at a glance, as plain functions of the ledger and a date."""
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, case, cast, func, select

from ..rules.schedule import calendar_for, promise_status
from reminders.status import outcome_of

from .. import run_log
from .. import settings as relance_settings
from ..extensions import db
from ..models import PAID_CENTS, Allocation, Customer, Hold, Invoice, Payment, SentMessage

BUCKETS = ("not_due", "1-30", "31-60", "61-90", "90+")
BUCKET_LABELS = {"not_due": _l("Not due"), "1-30": _l("1-30 days"), "31-60": _l("31-60 days"),
                 "61-90": _l("61-90 days"), "90+": _l("Over 90 days")}
ONLINE = ("stripe", "demo")


def bucket(days_late):
    if days_late <= 0:
        return "not_due"
    if days_late <= 30:
        return "1-30"
    if days_late <= 60:
        return "31-60"
    return "61-90" if days_late <= 90 else "90+"


def open_balances(as_of):
    """(invoice, balance, days late) for every open invoice, oldest due first."""
    rows = db.session.execute(select(Invoice, Invoice.total_cents - PAID_CENTS)
                              .where(Invoice.status == "open").order_by(Invoice.due_date))
    return [(inv, balance, (as_of - inv.due_date).days) for inv, balance in rows if balance > 0]


@dataclass
class Dashboard:
    outstanding_cents: int
    aging: dict  # bucket -> cents
    dso_days: int | None
    collected_online_cents: int
    promises_kept: int
    promises_broken: int
    promises_running: int
    reminders_by_level: dict


def aging(as_of):
    """{bucket: cents still owed} in one aggregate query: the balances are summed per bucket by
    the database (paid amounts grouped per invoice once), not loaded invoice by invoice."""
    paid = (select(Allocation.invoice_id, func.sum(Allocation.amount_cents).label("cents"))
            .join(Payment, Payment.id == Allocation.payment_id)
            .where(Payment.state == "succeeded").group_by(Allocation.invoice_id).subquery())
    balance = Invoice.total_cents - func.coalesce(paid.c.cents, 0)
    bucket_of = case((Invoice.due_date >= as_of, "not_due"),
                     (Invoice.due_date >= as_of - timedelta(days=30), "1-30"),
                     (Invoice.due_date >= as_of - timedelta(days=60), "31-60"),
                     (Invoice.due_date >= as_of - timedelta(days=90), "61-90"), else_="90+")
    rows = db.session.execute(
        select(bucket_of, cast(func.sum(balance), BigInteger))
        .select_from(Invoice).outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .where(Invoice.status == "open", balance > 0).group_by(bucket_of))
    totals = {b: 0 for b in BUCKETS}
    totals.update({name: cents for name, cents in rows})
    return totals


def dashboard(as_of, dso_window_days=90):
    aging_cents = aging(as_of)
    outstanding = sum(aging_cents.values())
    since = as_of - timedelta(days=dso_window_days)
    # SUM of a BIGINT is NUMERIC on PostgreSQL (a Decimal in Python): cents stay int.
    sales = db.session.scalar(select(cast(func.coalesce(func.sum(Invoice.total_cents), 0),
                                          BigInteger)).where(
        Invoice.issue_date > since, Invoice.issue_date <= as_of, Invoice.status != "cancelled"))
    dso = round(outstanding * dso_window_days / sales) if sales else None
    month_start = as_of.replace(day=1)
    collected = db.session.scalar(select(cast(func.coalesce(
        func.sum(Payment.amount_cents - Payment.refunded_cents), 0), BigInteger)).where(
        Payment.source.in_(ONLINE), Payment.state == "succeeded",
        Payment.received_on >= month_start, Payment.received_on <= as_of))
    kept, broken, running = promises(as_of)
    levels = dict(db.session.execute(select(SentMessage.level, func.count())
                                     .group_by(SentMessage.level)).all())
    return Dashboard(outstanding, aging_cents, dso, collected, kept, broken, running, levels)


def promises(as_of):
    """(kept, broken, running): the promises in force, each as the schedule sees it on `as_of`
    (`schedule.promise_status`: running until its date and the policy's grace, then broken;
    kept once its invoice is paid). A promise replaced by a later one is released: the later
    one is the one that counts; one on a cancelled invoice is neither."""
    settings = relance_settings.current()
    calendar = calendar_for(relance_settings.creditor().holiday_country)
    counts = {"kept": 0, "broken": 0, "running": 0}
    for until, status, tier, policy in db.session.execute(
            select(Hold.until, Invoice.status, Customer.tier, Customer.policy)
            .join(Invoice, Invoice.id == Hold.invoice_id)
            .join(Customer, Customer.id == Invoice.customer_id)
            .where(Hold.kind == "promise", Hold.released_at.is_(None), Hold.until.is_not(None),
                   Invoice.status != "cancelled")):
        counts[promise_status(until, settings.policy_for(tier, policy), calendar, as_of,
                              settled=status == "paid")] += 1
    return counts["kept"], counts["broken"], counts["running"]


class LastRun(NamedTuple):
    """The dashboard's view of the run: the latest run, its outcome as a reader needs it, what
    it sent per channel and level, and whether to warn (late, or the last run failed)."""
    health: object  # portal.run_log.Health
    row: object  # the latest RunLog of the whole run, or None
    outcome: str | None  # succeeded, failed, running, interrupted
    sent: list  # [(channel, level, count)]

    @property
    def warn(self):
        return self.health.late or self.outcome in ("failed", "interrupted")


def last_run(creditor_id, today=None):
    """What the dashboard says about the creditor's reminder run (portal.run_log decides)."""
    health = run_log.creditor_health(creditor_id, today)
    row = health.last_run
    if row is None:
        return LastRun(health, None, None, [])
    outcome = outcome_of(row)  # "running" from a process that is gone: interrupted
    channels = (row.counts or {}).get("channels") or {}
    sent = [(channel, int(level), n) for channel, levels in sorted(channels.items())
            for level, n in sorted(levels.items(), key=lambda kv: int(kv[0]))]
    return LastRun(health, row, outcome, sent)


def csv_safe(value):
    """A cell a spreadsheet will not run: text starting with = + - @ (or a tab or CR) is
    prefixed with a quote (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
