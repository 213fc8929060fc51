"""Online payments as a state machine that tolerates any order and any repetition of the
provider's events (DESIGN.md 6). Functions flush, never commit; the webhook or view commits.

    created -> pending -> succeeded -> refunded | disputed
          \\-----------> succeeded
          \\-> failed    pending -> failed

A repeated or late event that would move a payment backwards is recognised and ignored: a
"completed, unpaid" arriving after "async payment succeeded" does not make it pending again.
"""

from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..ledger import place_hold, record_event, release_hold, settle
from ..models import Allocation, Hold, Payment

NEXT = {
    "created": {"pending", "succeeded", "failed"},
    "pending": {"succeeded", "failed"},
    "succeeded": {"refunded", "disputed"},
    "failed": set(),
    "refunded": set(),
    "disputed": set(),
}


def start_checkout(customer, invoices_and_amounts, source, external_id, plan_id=None,
                   received_on=None):
    """A payment the debtor is about to make: its amount and allocations are computed here, on
    the server, from the balances (never from the form)."""
    payment = Payment(customer_id=customer.id, source=source, external_id=external_id,
                      state="created", received_on=received_on or clock.today(),
                      instalment_plan_id=plan_id,
                      amount_cents=sum(a for _, a in invoices_and_amounts))
    payment.allocations = [Allocation(invoice=i, amount_cents=a) for i, a in invoices_and_amounts
                           if a > 0]
    db.session.add(payment)
    db.session.flush()
    record_event(customer.id, "payment_started", actor="debtor", payment_id=payment.id,
                 source=source, amount_cents=payment.amount_cents,
                 invoices=[i.number for i, _ in invoices_and_amounts])
    return payment


def find(external_id=None, payment_intent_id=None):
    if external_id:
        payment = db.session.scalar(select(Payment).where(Payment.external_id == external_id))
        if payment is not None:
            return payment
    if payment_intent_id:
        return db.session.scalar(select(Payment).where(
            Payment.payment_intent_id == payment_intent_id))
    return None


def transition(payment, state, as_of, actor="stripe", **details):
    """Move `payment` to `state` if that is a step forward; return whether anything changed."""
    if state == payment.state or state not in NEXT[payment.state]:
        return False
    if state == "succeeded":
        _fit_allocations(payment)
    before = payment.state
    payment.state = state
    db.session.flush()
    invoices = [a.invoice for a in payment.allocations]
    for invoice in invoices:
        settle(invoice)
    if state == "pending":
        for invoice in invoices:
            place_hold(invoice, "payment_pending", as_of, actor=actor, payment_id=payment.id)
    elif before == "pending":
        for hold in _pending_holds(payment):
            release_hold(hold, actor=actor, reason=state)
    if state == "failed":
        for invoice in invoices:
            place_hold(invoice, "payment_failed", as_of, actor=actor, payment_id=payment.id)
    allocated = sum(a.amount_cents for a in payment.allocations)
    record_event(payment.customer_id, f"payment_{state}", actor=actor, payment_id=payment.id,
                 amount_cents=payment.amount_cents, credit_cents=payment.amount_cents - allocated
                 if state == "succeeded" else 0, invoices=[i.number for i in invoices], **details)
    return True


def _fit_allocations(payment):
    """When money arrives, no invoice takes more than it still owes: the rest is credit."""
    for allocation in payment.allocations:
        invoice = allocation.invoice
        db.session.refresh(invoice, ["paid_cents"])
        allocation.amount_cents = max(0, min(allocation.amount_cents,
                                             invoice.total_cents - invoice.paid_cents))


def refund(payment, refunded_total_cents, as_of, actor="stripe"):
    """The provider says `refunded_total_cents` of this payment went back: credit goes first,
    then the allocations from the last invoice, which reopen."""
    if payment.state != "succeeded" or refunded_total_cents <= payment.refunded_cents:
        return False
    if refunded_total_cents >= payment.amount_cents:
        payment.refunded_cents = payment.amount_cents
        return transition(payment, "refunded", as_of, actor, refunded_cents=refunded_total_cents)
    to_take = refunded_total_cents - payment.refunded_cents
    credit = payment.amount_cents - payment.refunded_cents - sum(
        a.amount_cents for a in payment.allocations)
    to_take -= min(credit, to_take)
    for allocation in reversed(payment.allocations):
        take = min(allocation.amount_cents, to_take)
        allocation.amount_cents -= take
        to_take -= take
    payment.refunded_cents = refunded_total_cents
    db.session.flush()
    for allocation in payment.allocations:
        settle(allocation.invoice)
    record_event(payment.customer_id, "payment_partly_refunded", actor=actor,
                 payment_id=payment.id, refunded_cents=refunded_total_cents)
    return True


def _pending_holds(payment):
    holds = db.session.scalars(select(Hold).where(
        Hold.kind == "payment_pending", Hold.released_at.is_(None),
        Hold.invoice_id.in_([a.invoice_id for a in payment.allocations]))).all()
    return [h for h in holds if h.details.get("payment_id") == payment.id]


def customer_credit_cents(customer_id):
    """Money received beyond what the invoices owed: shown to the debtor and the accountant."""
    total = 0
    for payment in db.session.scalars(select(Payment).where(
            Payment.customer_id == customer_id, Payment.state == "succeeded")):
        total += payment.amount_cents - payment.refunded_cents - sum(
            a.amount_cents for a in payment.allocations)
    return total
