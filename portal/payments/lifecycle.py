"""Online payments as a state machine that tolerates any order and any repetition of the
provider's events (DESIGN.md 6). Functions flush, never commit; the webhook or view commits.

    created -> pending -> succeeded -> refunded | disputed
          \\-----------> succeeded
          \\-> failed    pending -> failed
    created | pending -> review -> succeeded | failed      (the accountant decides)
    created -> cancelled                                    (a newer checkout replaced it)

A repeated or late event that would move a payment backwards is recognised and ignored: a
"completed, unpaid" arriving after "async payment succeeded" does not make it pending again.
Each move is a conditional UPDATE (`WHERE state = <the state read>`), so when two requests
confirm one payment at once only one of them applies it, on PostgreSQL and SQLite alike.

Money only moves by what was received: an event whose amount or currency differs from the
checkout puts the payment in `review` (nothing allocated) for the accountant; allocations never
exceed the money received, nor what each invoice still owes.
"""

import hashlib

from sqlalchemy import func, select

from .. import clock
from ..extensions import db
from ..bookkeeping import (compare_and_set, displace_books, lock_invoices, place_hold,
                                record_event, release_hold, settle)
from ..models import Allocation, Hold, Payment
from ..rules.allocation import fit, take_back
from ..rules.payment_states import HOLDING, can_move



def checkout_key(customer, invoices_and_amounts):
    """What a checkout pays, as a key: the same invoices for the same amounts give the same key
    (one open checkout per set of invoices: a second click finds the first)."""
    parts = [str(customer.id)] + [f"{i.id}:{a}" for i, a in sorted(
        invoices_and_amounts, key=lambda pair: pair[0].id)]
    return hashlib.sha256(" ".join(parts).encode()).hexdigest()


def open_checkouts(customer):
    return db.session.scalars(select(Payment).where(Payment.customer_id == customer.id,
                                                    Payment.state == "created")).all()


def overlapping_checkouts(customer, invoices_and_amounts):
    """The debtor's open checkouts that would charge any of these invoices."""
    invoice_ids = {i.id for i, _ in invoices_and_amounts}
    return [p for p in open_checkouts(customer)
            if invoice_ids & {a.invoice_id for a in p.allocations}]


def start_checkout(customer, invoices_and_amounts, source, external_id, plan_id=None,
                   received_on=None, checkout=True, discounts=()):
    """A payment the debtor is about to make: its amount and allocations are computed here, on
    the server, from the balances (never from the form). `discounts`: [(invoice, cents)] of
    early-payment discount (portal.rules.discount) granted with it, each its own allocation of kind
    "discount", not part of the amount charged. For a checkout (not a debit by the run), an
    open checkout for any of these invoices is cancelled first: two checkouts never both charge
    one invoice (the caller also closes it at the provider)."""
    if checkout:
        for older in overlapping_checkouts(customer, invoices_and_amounts):
            transition(older, "cancelled", clock.today(), actor="debtor",
                       reason="replaced by a newer checkout")
    payment = Payment(creditor_id=customer.creditor_id, customer_id=customer.id, source=source,
                      external_id=external_id, state="created",
                      received_on=received_on or clock.today(), instalment_plan_id=plan_id,
                      checkout_key=checkout_key(customer, invoices_and_amounts) if checkout
                      else None,
                      amount_cents=sum(a for _, a in invoices_and_amounts))
    payment.allocations = [Allocation(invoice=i, amount_cents=a) for i, a in invoices_and_amounts
                           if a > 0] + [Allocation(invoice=i, amount_cents=a, kind="discount")
                                        for i, a in discounts if a > 0]
    db.session.add(payment)
    db.session.flush()
    extra = {"discount_cents": discount_cents(payment)} if discounts else {}
    record_event(customer.id, "payment_started", actor="debtor", payment_id=payment.id,
                 source=source, amount_cents=payment.amount_cents,
                 invoices=[i.number for i, _ in invoices_and_amounts], **extra)
    return payment


def money_allocations(payment):
    """The allocations of the payment's money (not the discounts granted with it)."""
    return [a for a in payment.allocations if a.kind != "discount"]


def discount_cents(payment):
    """The early-payment discount the payment's allocations grant, in all."""
    return sum(a.amount_cents for a in payment.allocations if a.kind == "discount")


def transition(payment, state, as_of, actor="stripe", **details):
    """Move `payment` to `state` if that is a step forward; return whether anything changed.

    Only one of several concurrent callers wins the move (a conditional UPDATE); the others see
    the payment as the winner left it and change nothing."""
    before = payment.state
    if not can_move(before, state):
        return False
    if not compare_and_set(payment, before, state):
        return False
    if state == "succeeded":
        _fit_allocations(payment)
    db.session.flush()
    invoices = [a.invoice for a in payment.allocations]
    for invoice in invoices:
        settle(invoice)
    if state in HOLDING and before not in HOLDING:
        for invoice in invoices:  # money on its way, or waiting for the accountant: no reminder
            place_hold(invoice, "payment_pending", as_of, actor=actor, payment_id=payment.id)
    elif before in HOLDING and state not in HOLDING:
        for hold in _pending_holds(payment):
            release_hold(hold, actor=actor, reason=state)
    if state == "failed" and before != "review":
        for invoice in invoices:
            place_hold(invoice, "payment_failed", as_of, actor=actor, payment_id=payment.id)
    allocated = sum(a.amount_cents for a in money_allocations(payment))
    discount = discount_cents(payment)
    if discount and state in ("pending", "succeeded", "review"):  # on the timeline, apart
        details["discount_cents"] = discount
    record_event(payment.customer_id, f"payment_{state}", actor=actor, payment_id=payment.id,
                 amount_cents=payment.amount_cents, credit_cents=payment.amount_cents - allocated
                 if state == "succeeded" else 0, invoices=[i.number for i in invoices], **details)
    return True


def hold_for_review(payment, as_of, reason, received_cents=None, actor="stripe"):
    """The provider reports something other than what this checkout asked for (amount,
    currency): nothing is applied; the payment waits for the accountant (inbox)."""
    if payment.state not in ("created", "pending", "cancelled"):
        return False  # a settled amount is never rewritten by a later event
    if not transition(payment, "review", as_of, actor, reason=reason,
                      expected_cents=payment.amount_cents, received_cents=received_cents):
        return False
    payment.received_cents, payment.review_reason = received_cents, reason[:200]
    return True


def resolve_review(payment, accept, as_of, by):
    """The accountant's decision on a payment held for review: apply the money that was really
    received (never more than it), or refuse it (refunded outside Relance)."""
    if payment.state != "review":
        return False
    if accept:
        if payment.received_cents is None:
            raise ValueError("nothing usable was received (another currency): refuse it")
        payment.amount_cents = payment.received_cents
        return transition(payment, "succeeded", as_of, actor="accountant", by=by)
    return transition(payment, "failed", as_of, actor="accountant", by=by,
                      reason="refused after review")


def _fit_allocations(payment):
    """When money arrives, no invoice takes more than it still owes and all of them together no
    more than the money received: what the invoices do not take is credit. A discount granted
    with the payment settles no more than what its invoice still owes after the money, and
    nothing when the invoice's money was cut (less received than asked, or the invoice paid
    from elsewhere meanwhile beyond the discount). Allocations never exceed the total. Called once
    the payment is `succeeded` in the database, so each invoice's paid amount includes it."""
    budget = payment.amount_cents - payment.refunded_cents
    lock_invoices([a.invoice_id for a in payment.allocations])
    owed = {}  # invoice id -> what it owes besides this payment, then after its money
    for allocation in payment.allocations:
        invoice = allocation.invoice
        if invoice.id not in owed:
            db.session.refresh(invoice, ["paid_cents"])  # counts this payment already (succeeded)
            mine = sum(a.amount_cents for a in payment.allocations if a.invoice_id == invoice.id)
            owed[invoice.id] = 0 if invoice.status == "cancelled" else \
                invoice.total_cents - (invoice.paid_cents - mine)
    money = money_allocations(payment)
    _displace_books_for(payment, money, owed, budget)
    fitted, owed = fit([(a.invoice_id, a.amount_cents) for a in money], owed, budget)
    short = set()  # invoices whose money was cut: less money than asked earns no discount
    for allocation, cents in zip(money, fitted):
        if cents < allocation.amount_cents:
            short.add(allocation.invoice_id)
        allocation.amount_cents = cents
    for allocation in payment.allocations:
        if allocation.kind == "discount":
            allocation.amount_cents = 0 if allocation.invoice_id in short else max(
                0, min(allocation.amount_cents, owed[allocation.invoice_id]))
            owed[allocation.invoice_id] -= allocation.amount_cents


def _displace_books_for(payment, money, owed, budget):
    """The money of this checkout replaces the books' figure where the books already counted
    it (imported as paid before the provider's event came): it settles the invoice instead of
    becoming the debtor's credit (`portal.bookkeeping.displace_books`)."""
    asked = {}
    for allocation in money:
        asked[allocation.invoice_id] = asked.get(allocation.invoice_id, 0) + \
            allocation.amount_cents
    for allocation in money:
        invoice = allocation.invoice
        need = min(asked.pop(invoice.id, 0), budget) - max(0, owed[invoice.id])
        if need > 0 and invoice.status != "cancelled":
            owed[invoice.id] += displace_books(invoice, need)


def refund(payment, refunded_total_cents, as_of, actor="stripe"):
    """The provider says `refunded_total_cents` of this payment went back: credit goes first,
    then the allocations from the last invoice, which reopen. An invoice that loses money this
    way loses its early-payment discount too: it owes its full total again, less what it kept."""
    if payment.state != "succeeded" or refunded_total_cents <= payment.refunded_cents:
        return False
    if refunded_total_cents >= payment.amount_cents:
        payment.refunded_cents = payment.amount_cents
        return transition(payment, "refunded", as_of, actor, refunded_cents=refunded_total_cents)
    to_take = refunded_total_cents - payment.refunded_cents
    money = money_allocations(payment)
    credit = payment.amount_cents - payment.refunded_cents - sum(a.amount_cents for a in money)
    to_take -= min(credit, to_take)
    shares, _ = take_back([a.amount_cents for a in money], to_take)
    reopened = {a.invoice_id for a, cents in zip(money, shares) if cents < a.amount_cents}
    for allocation, cents in zip(money, shares):
        allocation.amount_cents = cents
    for allocation in payment.allocations:
        if allocation.kind == "discount" and allocation.invoice_id in reopened:
            allocation.amount_cents = 0
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


def credit_cents_of(customer_id):
    """The SQL expression of a customer's credit (`customer_id`: a value or a bind parameter):
    money received beyond what the invoices owed, summed by the database."""
    payment, allocation = Payment.__table__, Allocation.__table__
    received = (select(func.coalesce(func.sum(payment.c.amount_cents - payment.c.refunded_cents),
                                     0))
                .where(payment.c.customer_id == customer_id, payment.c.state == "succeeded")
                .scalar_subquery())
    allocated = (select(func.coalesce(func.sum(allocation.c.amount_cents), 0))
                 .join(payment, payment.c.id == allocation.c.payment_id)
                 .where(payment.c.customer_id == customer_id, payment.c.state == "succeeded",
                        allocation.c.kind != "discount")  # a discount is no money received
                 .scalar_subquery())
    return received - allocated


def invoice_allocations(invoice_id):
    """What settled an invoice, oldest first: [(allocation, payment)] of succeeded payments,
    money and early-payment discounts alike (kind "payment" or "discount")."""
    return db.session.execute(
        select(Allocation, Payment).join(Payment, Payment.id == Allocation.payment_id)
        .where(Allocation.invoice_id == invoice_id, Payment.state == "succeeded",
               Allocation.amount_cents > 0)
        .order_by(Payment.received_on, Allocation.id)).all()


def customer_credit_cents(customer_id):
    """Money received beyond what the invoices owed: shown to the debtor and the accountant
    (one statement, whatever the number of payments)."""
    return int(db.session.scalar(select(credit_cents_of(customer_id))))
