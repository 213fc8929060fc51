"""Handing a debtor over after the formal notice's deadline: to a bailiff (huissier, commissaire
de justice) or for an injonction de payer. Plain functions with an explicit `as_of`; they flush,
never commit (the caller owns the transaction).

- `formal_notices(customer)`: what the run recorded of its formal notices, given to the one
  rule of a formal notice and its deadline (`portal.rules.notices`).
- `eligible(customer, as_of)`: some invoice still owed had a formal notice whose deadline has
  passed; otherwise the reason why not.
- `claim(customer, as_of)`: the invoices whose own formal notice's deadline has passed, each
  with what its notice demanded that day, its balance today and its penalties to the day
  (`portal.rules.penalties`); the invoices still owed that it leaves out, each with why (no formal
  notice yet, or its deadline still running).
- `hand_over(customer, as_of, by, to)`: the status (no reminder goes out from that day,
  `portal.rules.schedule.handed_over`), the dossier kept as an attachment, an event.
The case closes when the claimed invoices are all paid, whatever brings the money in
(`portal.bookkeeping.close_handover_when_paid`, called where every payment settles an invoice).
The ZIP itself is laid out by `portal.handover.dossier` (`dossier_zip(customer, as_of)` here).
"""
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _
from sqlalchemy import func, select

from ..rules.penalties import penalty_for

from ..rules import notices as rule
from .. import settings as relance_settings
from .dossier import build_zip, zip_name
from ..extensions import db
from ..bookkeeping import lock_customer, record_event
from ..models import (Allocation, Attachment, Event, Invoice, Payment, Reminder,
                           Task)
from ..settings.templates import LANGUAGES

RECIPIENTS = ("bailiff", "injonction")  # a bailiff, or the injonction de payer procedure


class HandoffRefused(ValueError):
    """The debtor cannot be handed over (yet); the message says why."""


@dataclass
class Line:
    """One invoice of the claim, with its penalties to the day (`portal.rules.penalties`)."""
    invoice: Invoice
    paid_cents: int
    balance_cents: int
    days_late: int
    interest_cents: int
    indemnity_cents: int
    notice: rule.Notice | None = None

    @property
    def demanded_cents(self):
        """What the formal notice demanded for this invoice on its day (None: not recorded)."""
        return self.notice.demanded_cents(self.invoice.id) if self.notice else None

    @property
    def changed(self):
        """Whether the balance today differs from what the formal notice demanded."""
        return self.demanded_cents is not None and self.demanded_cents != self.balance_cents


@dataclass
class Claim:
    customer: object
    as_of: date
    lang: str
    lines: list = field(default_factory=list)  # of Line: the invoices claimed
    notices: list = field(default_factory=list)  # the formal notices the lines rest on
    apart: list = field(default_factory=list)  # of notices.Standing: owed, not claimed, why

    def total(self, name):
        return sum(getattr(line, name) for line in self.lines)


@dataclass(frozen=True)
class Eligibility:
    ok: bool
    reason: str = ""  # why not, in words
    code: str = ""  # why not: handed_over, no_notice, nothing_owed, not_noticed, deadline
    split: rule.Split | None = None  # the owed invoices by their formal notice (when asked)


def formal_notice_level(customer):
    """The customer's policy level that is the formal notice (None: its policy has none)."""
    policy = relance_settings.current().policy_for(customer.tier, customer.policy)
    return next((lv for lv in policy.levels if lv.formal_notice), None)


def _sent_records(customer):
    """What the run recorded of the messages at a formal-notice level, and of the
    formal-notice letters, as `portal.rules.notices.Sent` records keyed by invoice id."""
    policy = relance_settings.current().policy_for(customer.tier, customer.policy)
    formal = {lv.number for lv in policy.levels if lv.formal_notice}
    invoices = {i.id: i for i in db.session.scalars(
        select(Invoice).where(Invoice.customer_id == customer.id))}
    ids = {i.number: i.id for i in invoices.values()}
    letters = {t.message_id: t for t in notice_letters(customer, with_pdf=False)}
    messages = {}
    for message_id, on, invoice_id, level, sent_at in db.session.execute(
            select(Reminder.message_id, Reminder.scheduled_for, Reminder.invoice_id,
                   Reminder.level, Reminder.sent_at)
            .where(Reminder.customer_id == customer.id, Reminder.state == "sent",
                   Reminder.invoice_id.is_not(None), Reminder.message_id.is_not(None))):
        found = messages.setdefault(message_id, dict(on=on, level=level, ids=set(), at=sent_at))
        found.update(on=min(found["on"], on), level=max(found["level"], level))
        found["ids"].add(invoice_id)
    records = []
    for message_id, found in messages.items():
        task = letters.get(message_id)
        if found["level"] not in formal and task is None:
            continue
        on = task.due_on if task is not None else found["on"]
        stated = (task.details.get("stated") or {}) if task is not None else {}
        records.append(rule.Sent(
            message_id, on, found["level"],
            frozenset(i for i in found["ids"] if i in invoices and invoices[i].due_date <= on),
            letter=frozenset(ids[n] for n in task.details.get("invoices") or () if n in ids)
            if task is not None else None,
            deadline=date.fromisoformat(stated["deadline"]) if stated.get("deadline") else None,
            demanded=_demanded(stated, ids) or _balances_then(invoices, found["ids"],
                                                               found["at"])))
    return records


def _demanded(stated, ids):
    """((invoice id, cents), ...) as the run recorded the letter's facts (`letters.stated`)."""
    return tuple((ids[i["number"]], i["balance_cents"]) for i in stated.get("invoices") or ()
                 if i.get("number") in ids)


def _balances_then(invoices, invoice_ids, at):
    """Where the run kept no statement of a notice: each invoice's balance from the payments
    the ledger knew when the notice went out (`at`)."""
    if at is None:
        return ()
    paid = dict(db.session.execute(
        select(Allocation.invoice_id, func.coalesce(func.sum(Allocation.amount_cents), 0))
        .join(Payment, Payment.id == Allocation.payment_id)
        .where(Allocation.invoice_id.in_(list(invoice_ids)), Payment.state == "succeeded",
               Payment.created_at <= at).group_by(Allocation.invoice_id)).all())
    return tuple((i, invoices[i].total_cents - int(paid.get(i, 0))) for i in invoice_ids
                 if i in invoices)


def formal_notices(customer):
    """Every formal notice sent to `customer`, oldest first (`portal.rules.notices.Notice`)."""
    policy = relance_settings.current().policy_for(customer.tier, customer.policy)
    level = formal_notice_level(customer)
    return rule.notices(_sent_records(customer),
                        {lv.number: lv.deadline_days for lv in policy.levels if lv.formal_notice},
                        level.deadline_days if level else 0)


def owed_invoices(customer, as_of):
    """The customer's open invoices past their due date that still owe something."""
    invoices = db.session.scalars(select(Invoice).where(
        Invoice.customer_id == customer.id, Invoice.status == "open",
        Invoice.due_date < as_of).order_by(Invoice.due_date, Invoice.number)).all()
    return [i for i in invoices if i.balance_cents > 0]


def _by_id(invoice):
    return invoice.id


def eligible(customer, as_of):
    """Whether `customer` can be handed over on `as_of`, and if not, why (in words). When it
    can, `split` says which invoices the hand-over claims and which it leaves out."""
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
    split = rule.split(owed, notices, as_of, key=_by_id)
    if split.passed:
        return Eligibility(True, split=split)
    if not split.running:
        return Eligibility(False, _("No invoice still owed has had a formal notice."),
                           "not_noticed", split)
    first = min((s.notice for s in split.running), key=lambda n: n.deadline)
    return Eligibility(False, _("The formal notice of %(on)s gives until %(day)s to pay: the "
                                "file can be handed over from the day after.",
                                on=_day(first.on), day=_day(first.deadline)), "deadline", split)


def _day(value):
    return value.strftime("%d/%m/%Y")  # as both languages write it (fr, en_GB)


def language_of(customer):
    """The language of the debtor's documents, as the letters choose it."""
    if customer.language in LANGUAGES:
        return customer.language
    return relance_settings.creditor().language or "fr"


def claim(customer, as_of):
    """What is claimed on `as_of`: each invoice still owed whose own formal notice's deadline
    has passed, with its penalties to the day under the debtor's category (a consumer's
    interest runs from the formal notice); the other owed invoices are `apart`, with why."""
    legal = relance_settings.current().legal
    category = customer.debtor_type or "business"
    notices = formal_notices(customer)
    found = Claim(customer, as_of, language_of(customer))
    split = rule.split(owed_invoices(customer, as_of), notices, as_of, key=_by_id)
    for standing in split.passed:
        invoice, notice = standing.invoice, standing.notice
        penalty = penalty_for(category, invoice.balance_cents, invoice.due_date, as_of,
                              legal.rates, contract_rate_percent=legal.contract_rate_percent,
                              indemnity_cents=legal.indemnity_cents,
                              formal_notice_on=notice.on)
        found.lines.append(Line(invoice, invoice.paid_cents, invoice.balance_cents,
                                penalty.days_late, penalty.interest_cents,
                                penalty.indemnity_cents, notice))
    found.notices = [n for n in notices if any(line.notice == n for line in found.lines)]
    found.apart = split.apart
    return found


def notice_letters(customer, with_pdf=True):
    """The formal-notice letters the run prepared for posting (Task rows with their PDF)."""
    query = select(Task).where(Task.customer_id == customer.id, Task.kind == "letter")
    if with_pdf:
        query = query.where(Task.pdf.is_not(None))
    tasks = db.session.scalars(query.order_by(Task.due_on, Task.id)).all()
    return [t for t in tasks if t.details.get("formal_notice")]


def _letters_of(claim, letters):
    """The letters of the formal notices the claim rests on."""
    ids = {n.message_id for n in claim.notices}
    return [t for t in letters if t.message_id in ids]


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
    """The hand-over dossier of `customer` as of `as_of` (ZIP bytes, `portal.handover.dossier`)."""
    found = claim(customer, as_of)
    return build_zip(found, _letters_of(found, notice_letters(customer)), proofs(customer))


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
    data = build_zip(found, _letters_of(found, notice_letters(customer)), proofs(customer))
    kept = Attachment(customer_id=customer.id, filename=zip_name(customer, as_of),
                      media_type="application/zip", data=data, size=len(data))
    db.session.add(kept)
    db.session.flush()
    numbers = [line.invoice.number for line in found.lines]
    apart = [s.invoice.number for s in found.apart]
    customer.handed_over_on = as_of
    customer.handover = dict(on=as_of.isoformat(), to=to, by=by, attachment_id=kept.id,
                             invoice_ids=[line.invoice.id for line in found.lines],
                             invoices=numbers, claimed_cents=found.total("balance_cents"),
                             left_out=apart)
    record_event(customer.id, "handed_over", actor="accountant", by=by, to=to,
                 invoices=numbers, attachment_id=kept.id, filename=kept.filename,
                 amount_cents=found.total("balance_cents"), left_out=apart)
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
