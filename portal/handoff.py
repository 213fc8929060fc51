"""Handing a debtor over after the formal notice's deadline: to a bailiff (huissier, commissaire
de justice) or for an injonction de payer. Plain functions with an explicit `as_of`; they flush,
never commit (the caller owns the transaction).

- `eligible(customer, as_of)`: a formal notice was sent, its deadline has passed, something is
  still owed; otherwise the reason why not.
- `claim(customer, as_of)`: the facts of the claim, every figure from the ledger and the
  penalties of `reminders.penalties` (interest to the day and fixed indemnity per invoice).
- `hand_over(customer, as_of, by, to)`: the status (no reminder goes out from that day,
  `reminders.schedule.handed_over`), the dossier kept as an attachment, an event.
The case closes when the claimed invoices are all paid, whatever brings the money in
(`portal.ledger.close_handover_when_paid`, called where every payment settles an invoice).
The ZIP itself is laid out by `portal.dossier` (`dossier_zip(customer, as_of)` here).
"""
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _
from sqlalchemy import select

from reminders.penalties import penalty_for

from . import settings as relance_settings
from .dossier import build_zip, zip_name
from .extensions import db
from .ledger import lock_customer, record_event
from .models import Attachment, Event, Invoice, Reminder, Task
from .settings.templates import LANGUAGES

RECIPIENTS = ("bailiff", "injonction")  # a bailiff, or the injonction de payer procedure


class HandoffRefused(ValueError):
    """The debtor cannot be handed over (yet); the message says why."""


@dataclass(frozen=True)
class Notice:
    """A formal notice as sent: its date (the run's), the deadline it gave, its invoices."""
    on: date
    deadline: date
    message_id: str
    invoice_ids: frozenset


@dataclass
class Line:
    """One invoice of the claim, with its penalties to the day (`reminders.penalties`)."""
    invoice: Invoice
    paid_cents: int
    balance_cents: int
    days_late: int
    interest_cents: int
    indemnity_cents: int
    notice: Notice | None = None


@dataclass
class Claim:
    customer: object
    as_of: date
    lang: str
    lines: list = field(default_factory=list)
    notices: list = field(default_factory=list)

    def total(self, name):
        return sum(getattr(line, name) for line in self.lines)


@dataclass(frozen=True)
class Eligibility:
    ok: bool
    reason: str = ""  # why not, in words
    code: str = ""  # why not: handed_over, no_notice, nothing_owed, not_noticed, deadline


def formal_notice_level(customer):
    """The customer's policy level that is the formal notice (None: its policy has none)."""
    policy = relance_settings.current().policy_for(customer.tier, customer.policy)
    return next((lv for lv in policy.levels if lv.formal_notice), None)


def formal_notices(customer):
    """Every formal notice sent to `customer`, oldest first (one per message)."""
    level = formal_notice_level(customer)
    if level is None:
        return []
    rows = db.session.execute(
        select(Reminder.message_id, Reminder.scheduled_for, Reminder.invoice_id)
        .where(Reminder.customer_id == customer.id, Reminder.level == level.number,
               Reminder.state == "sent", Reminder.invoice_id.is_not(None))
        .order_by(Reminder.scheduled_for, Reminder.id)).all()
    found = {}
    for message_id, on, invoice_id in rows:
        on_, ids = found.get(message_id, (on, set()))
        ids.add(invoice_id)
        found[message_id] = (on_, ids)
    return [Notice(on, on + timedelta(days=level.deadline_days), mid, frozenset(ids))
            for mid, (on, ids) in found.items()]


def owed_invoices(customer, as_of):
    """The customer's open invoices past their due date that still owe something."""
    invoices = db.session.scalars(select(Invoice).where(
        Invoice.customer_id == customer.id, Invoice.status == "open",
        Invoice.due_date < as_of).order_by(Invoice.due_date, Invoice.number)).all()
    return [i for i in invoices if i.balance_cents > 0]


def _latest_notice(invoice, notices):
    return next((n for n in reversed(notices) if invoice.id in n.invoice_ids), None)


def eligible(customer, as_of):
    """Whether `customer` can be handed over on `as_of`, and if not, why (in words)."""
    if customer.handed_over_on is not None:
        return Eligibility(False, _("Already handed over on %(day)s.",
                                    day=_day(customer.handed_over_on)), "handed_over")
    notices = formal_notices(customer)
    if not notices:
        return Eligibility(False, _("No formal notice has been sent to this debtor yet."),
                           "no_notice")
    owed = owed_invoices(customer, as_of)
    if not owed:
        return Eligibility(False, _("This debtor owes nothing overdue any more."),
                           "nothing_owed")
    deadlines = [n.deadline for n in (_latest_notice(i, notices) for i in owed) if n]
    if not deadlines:
        return Eligibility(False, _("No invoice still owed has had a formal notice."),
                           "not_noticed")
    if min(deadlines) >= as_of:
        return Eligibility(False, _("The formal notice gives until %(day)s to pay: the file "
                                    "can be handed over from the day after.",
                                    day=_day(min(deadlines))), "deadline")
    return Eligibility(True)


def _day(value):
    return value.strftime("%d/%m/%Y")  # as both languages write it (fr, en_GB)


def language_of(customer):
    """The language of the debtor's documents, as the letters choose it."""
    if customer.language in LANGUAGES:
        return customer.language
    return relance_settings.creditor().language or "fr"


def claim(customer, as_of):
    """What is claimed on `as_of`: each overdue invoice still owed, with its penalties to the
    day under the debtor's category (a consumer's interest runs from the formal notice)."""
    legal = relance_settings.current().legal
    category = customer.debtor_type or "business"
    notices = formal_notices(customer)
    found = Claim(customer, as_of, language_of(customer), notices=notices)
    for invoice in owed_invoices(customer, as_of):
        notice = _latest_notice(invoice, notices)
        penalty = penalty_for(category, invoice.balance_cents, invoice.due_date, as_of,
                              legal.rates, contract_rate_percent=legal.contract_rate_percent,
                              indemnity_cents=legal.indemnity_cents,
                              formal_notice_on=notice.on if notice else None)
        found.lines.append(Line(invoice, invoice.paid_cents, invoice.balance_cents,
                                penalty.days_late, penalty.interest_cents,
                                penalty.indemnity_cents, notice))
    return found


def notice_letters(customer):
    """The formal-notice letters the run prepared for posting (Task rows with their PDF)."""
    tasks = db.session.scalars(select(Task).where(
        Task.customer_id == customer.id, Task.kind == "letter", Task.pdf.is_not(None))
        .order_by(Task.due_on, Task.id)).all()
    return [t for t in tasks if t.details.get("formal_notice")]


def proofs(customer):
    """The files the accountant attached to notes on the timeline (proofs of posting, of
    delivery, letters received), with the note's text, and the deposit proofs of registered
    letters sent through the postal provider (portal.post), oldest first: [(Attachment, text)]."""
    notes = db.session.scalars(select(Event).where(
        Event.customer_id == customer.id,
        Event.kind.in_(("note", "letter_deposit_proof"))).order_by(Event.at, Event.id))
    texts = {e.details["attachment_id"]: e.details.get("text") or
             f"La Poste {e.details.get('registered_number') or ''}".strip()
             for e in notes if e.details.get("attachment_id")}
    kept = db.session.scalars(select(Attachment).where(
        Attachment.id.in_(list(texts))).order_by(Attachment.id)).all()
    return [(a, texts[a.id]) for a in kept]


def dossier_zip(customer, as_of):
    """The hand-over dossier of `customer` as of `as_of` (ZIP bytes, `portal.dossier`)."""
    return build_zip(claim(customer, as_of), notice_letters(customer), proofs(customer))


def hand_over(customer, as_of, by, to):
    """Hand `customer` over on `as_of` (`to`: "bailiff" or "injonction"), by user `by`: the
    dossier is built and kept as an attachment (downloadable later, unchanged), reminders stop,
    an event says so. Returns the attachment; HandoffRefused when not eligible."""
    if to not in RECIPIENTS:
        raise HandoffRefused(_("Choose a bailiff or the injonction de payer."))
    lock_customer(customer.id)  # a double click hands over once
    verdict = eligible(customer, as_of)
    if not verdict.ok:
        raise HandoffRefused(verdict.reason)
    found = claim(customer, as_of)
    data = build_zip(found, notice_letters(customer), proofs(customer))
    kept = Attachment(customer_id=customer.id, filename=zip_name(customer, as_of),
                      media_type="application/zip", data=data, size=len(data))
    db.session.add(kept)
    db.session.flush()
    numbers = [line.invoice.number for line in found.lines]
    customer.handed_over_on = as_of
    customer.handover = dict(on=as_of.isoformat(), to=to, by=by, attachment_id=kept.id,
                             invoice_ids=[line.invoice.id for line in found.lines],
                             invoices=numbers, claimed_cents=found.total("balance_cents"))
    record_event(customer.id, "handed_over", actor="accountant", by=by, to=to,
                 invoices=numbers, attachment_id=kept.id, filename=kept.filename,
                 amount_cents=found.total("balance_cents"))
    return kept


def status(customer):
    """("open" | "closed" | None, handover facts with its dates as dates): the hand-over as
    the pages show it."""
    facts = dict(customer.handover or {})
    for key in ("on", "closed_on"):
        if facts.get(key):
            facts[key] = date.fromisoformat(facts[key])
    if customer.handed_over_on is not None:
        return "open", facts
    if facts.get("closed_on"):
        return "closed", facts
    return None, facts
