"""What a debtor can answer from the portal, as plain functions: explicit customer, date and
actor, no request inside. Each one checks its input, writes holds and events, flushes, and never
commits. Refusals raise AnswerError with a message meant for the debtor."""
from datetime import timedelta

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .settings import policy_for

from .extensions import db
from .bookkeeping import place_hold, record_event, release_hold
from .models import Event, Hold, Invoice, utcnow

MESSAGE_REASONS = {
    "question": _l("A question about the invoice"),
    "wrong_amount": _l("The amount is wrong"),
    "not_delivered": _l("Goods or service not delivered"),
    "quality": _l("Problem with the goods or service"),
    "already_paid": _l("I have already paid"),
    "other": _l("Something else"),
}
# These reasons contest the debt: reminders for the invoice pause until the accountant answers.
DISPUTES = {"wrong_amount", "not_delivered", "quality", "already_paid"}
MAX_MESSAGE = 2000


class AnswerError(ValueError):
    """The answer cannot be taken as given; the message says why and what to do."""


def customer_invoice(customer, invoice_id):
    """The customer's own invoice with this id, or None (ids of other debtors are not found)."""
    return db.session.scalar(select(Invoice).where(Invoice.id == invoice_id,
                                                   Invoice.customer_id == customer.id))


def active_holds(invoice, kind=None):
    query = select(Hold).where(Hold.invoice_id == invoice.id, Hold.released_at.is_(None))
    if kind:
        query = query.where(Hold.kind == kind)
    return db.session.scalars(query.order_by(Hold.id)).all()


def _open(invoice):
    if invoice.status != "open" or invoice.balance_cents <= 0:
        raise AnswerError(_l("Invoice %(number)s is already settled.", number=invoice.number))


def flag_not_received(customer, invoice, as_of, actor="debtor"):
    """"This invoice never reached me": a copy goes out now and reminders restart at level 1
    after the policy's delay (see portal.rules.schedule). Returns the hold, or None when the
    debtor already said so today (a repeat changes nothing)."""
    _open(invoice)
    if any(h.starts_on == as_of for h in active_holds(invoice, "not_received")):
        return None
    return place_hold(invoice, "not_received", as_of, actor=actor, number=invoice.number)


def promise_payment(customer, invoices, promise_date, as_of, actor="debtor"):
    """Promise to pay `invoices` by `promise_date`: reminders pause until then (plus grace).

    A promise may be moved once; the date must be after today and within the policy's limit."""
    if not invoices:
        raise AnswerError(_l("Choose at least one invoice."))
    policy = policy_for(customer.tier, customer.policy)
    latest = as_of + timedelta(days=policy.promise_max_days)
    if promise_date <= as_of:
        raise AnswerError(_l("Choose a date after today."))
    if promise_date > latest:
        raise AnswerError(_l("Choose a date no later than %(date)s.",
                             date=format_date(latest, "long")))
    holds = []
    for invoice in invoices:
        _open(invoice)
        previous = active_holds(invoice, "promise")
        if any(h.until == promise_date for h in previous):
            continue  # the same promise again (a double submit): nothing changes
        changes = max((h.details.get("changes", 0) for h in previous), default=-1) + 1
        if changes > 1:
            raise AnswerError(_l("The payment date of invoice %(number)s was already changed "
                                 "once; please contact us.", number=invoice.number))
        for hold in previous:
            release_hold(hold, actor=actor, reason="replaced")
        holds.append(place_hold(invoice, "promise", as_of, until=promise_date, actor=actor,
                                number=invoice.number, changes=changes))
    return holds


def _just_said(customer, invoice, reason, text, within=timedelta(minutes=10)):
    """Whether the debtor sent this very message about this invoice a moment ago."""
    recent = db.session.scalars(select(Event).where(
        Event.customer_id == customer.id, Event.invoice_id == invoice.id,
        Event.kind == "message", Event.at >= utcnow() - within)).all()
    return any(e.details.get("reason") == reason and e.details.get("text") == text
               for e in recent)


def send_message(customer, invoice, reason, text, as_of, actor="debtor"):
    """A message to the accountant about one invoice; a dispute pauses its reminders."""
    if reason not in MESSAGE_REASONS:
        raise AnswerError(_l("Choose a reason from the list."))
    text = (text or "").strip()
    if len(text) > MAX_MESSAGE:
        raise AnswerError(_l("The message is too long (%(max)d characters at most).",
                             max=MAX_MESSAGE))
    if reason == "other" and not text:
        raise AnswerError(_l("Tell us in a few words what it is about."))
    if _just_said(customer, invoice, reason, text):
        return reason in DISPUTES  # the same message again (a double click): kept once
    record_event(customer.id, "message", actor=actor, invoice_id=invoice.id,
                 number=invoice.number, reason=reason, text=text)
    if reason in DISPUTES and not active_holds(invoice, "dispute"):
        place_hold(invoice, "dispute", as_of, actor=actor, number=invoice.number, reason=reason)
    return reason in DISPUTES
