"""Ledger operations: one entry point per concept. They flush, never commit: the caller
(request, CLI command, webhook) owns the transaction."""
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from portal.rules.schedule import current_cycle

from . import clock, tenancy
from .changes import UNCHANGED
from .extensions import db
from .models import Allocation, BankCredit, Customer, Event, Hold, Invoice, Payment, utcnow
from .rules.allocation import allocate
from .rules.payment_states import can_move

HOLD_KINDS = ("promise", "not_received", "instalment_request", "plan", "dispute",
              "payment_pending", "payment_failed", "manual_pause")


INSERT_EVENT = insert(Event)  # built once: the run writes one event per e-mail


class LedgerError(ValueError):
    """A ledger operation was refused; the message says why and what to do."""


class ReplayConflict(LedgerError):
    """An external id already recorded (by this path or one sharing its ids), but for another
    invoice, customer or amount. `known` is the payment recorded first."""

    def __init__(self, message, known=None):
        super().__init__(message)
        self.known = known


def compare_and_set(obj, before, after, column="state"):
    """Move `obj.<column>` from `before` to `after` by a conditional UPDATE, which only one of
    several concurrent requests can win (PostgreSQL and SQLite alike). True: this request won
    and `obj` shows the new value; False: another moved it first and `obj` is read afresh."""
    db.session.flush()
    model = type(obj)
    won = db.session.execute(
        update(model).where(model.id == obj.id, getattr(model, column) == before)
        .values({column: after}).execution_options(synchronize_session=False)).rowcount
    if not won:
        db.session.refresh(obj)
        return False
    set_committed_value(obj, column, after)
    return True


def lock_invoices(invoice_ids):
    """Row locks on these invoices (PostgreSQL) before reading what they still owe: two payments
    for one invoice applied at the same instant see each other. (On SQLite the write that came
    before, a payment's state change, already holds the database's write lock.)"""
    if invoice_ids:
        db.session.execute(select(Invoice.id).where(Invoice.id.in_(invoice_ids))
                           .order_by(Invoice.id).with_for_update())


def lock_customer(customer_id, expire=True):
    """Serialise the changes to one debtor's answers and money: a request that takes this lock
    waits for any other holding it to commit, then reads what that one wrote. An UPDATE that
    changes nothing takes the row lock on PostgreSQL and the write lock on SQLite alike (where
    SELECT ... FOR UPDATE is a no-op). Objects read before the lock are read again, unless the
    caller only queries afresh after it (`expire=False`)."""
    db.session.execute(update(Customer).where(Customer.id == customer_id)
                       .values(link_version=Customer.link_version)
                       .execution_options(synchronize_session=False, **UNCHANGED))
    if expire:
        db.session.expire_all()


def record_event(customer_id, kind, actor="system", invoice_id=None, at=None, **details):
    """Append one entry to a debtor's timeline (a plain INSERT in the caller's transaction)."""
    db.session.connection().execute(INSERT_EVENT, dict(
        customer_id=customer_id, invoice_id=invoice_id, kind=kind, actor=actor,
        at=at or utcnow(), details=details))


def settle(invoice):
    """Bring the invoice's status in line with its balance (derived from allocations). Every
    payment, whatever its source, passes here: a handed-over debtor's case closes here too."""
    db.session.flush()
    db.session.refresh(invoice, ["paid_cents"])
    if invoice.status == "cancelled":
        return invoice
    before = invoice.status
    invoice.status = "paid" if invoice.total_cents - invoice.paid_cents <= 0 else "open"
    if invoice.status == "paid" and before != "paid":
        close_handover_when_paid(invoice.customer_id)
    return invoice


def close_handover_when_paid(customer_id):
    """A debtor handed over (`portal.handover`) whose claimed invoices are all paid (or
    cancelled) now: the case closes, with an event on the timeline. True if it closed."""
    customer = db.session.get(Customer, customer_id)
    if customer is None or customer.handed_over_on is None:
        return False
    claimed = (customer.handover or {}).get("invoice_ids") or []
    db.session.flush()
    if db.session.scalar(select(Invoice.id).where(Invoice.id.in_(claimed),
                                                  Invoice.status == "open").limit(1)):
        return False
    today = clock.today()
    customer.handover = dict(customer.handover or {}, closed_on=today.isoformat())
    customer.handed_over_on = None
    record_event(customer_id, "handover_closed", to=customer.handover.get("to"),
                 handed_over_on=customer.handover.get("on"),
                 invoices=customer.handover.get("invoices") or [])
    return True


@dataclass
class PaymentResult:
    payment: Payment
    created: bool
    allocated_cents: int
    credit_cents: int


def record_payment(*, customer, source, external_id, amount_cents, received_on, invoices,
                   currency="EUR", state="succeeded", actor="system"):
    """The one door for money received outside a checkout (transfer by API, CSV or bank
    statement, the bank page, the accountant's entry): record it once and allocate it to
    `invoices` in order (`allocation.allocate`), never beyond their balance and never to a
    cancelled invoice. Money beyond what they owe first replaces the books' figure for money
    not yet seen (`displace_books`), then stays on the payment as the customer's credit.

    Identity is decided by `identify`, under the customer's lock (two paths bringing one
    transfer at the same instant see each other): the same transfer seen again, by this path or
    another, changes nothing and returns the payment first recorded; the same reference for
    another amount, customer or invoice raises ReplayConflict. A statement credit waiting on the
    bank page under the same reference and amount is that transfer: it is tied to the payment.
    """
    if amount_cents <= 0:
        raise LedgerError("A payment amount must be positive.")
    if not can_move("created", state):
        raise LedgerError(f"A payment cannot be recorded as {state!r}.")
    lock_customer(customer.id, expire=False)
    existing = identify(customer.creditor_id, source, external_id, amount_cents,
                        customer_id=customer.id, invoice_ids={i.id for i in invoices})
    if existing is not None:
        allocated = sum(a.amount_cents for a in existing.allocations if a.kind != "discount")
        return PaymentResult(existing, False, allocated, existing.amount_cents - allocated)
    if any(invoice.customer_id != customer.id for invoice in invoices):
        raise LedgerError("An invoice of this payment belongs to another customer.")
    waiting = waiting_credits(customer.creditor_id, source, external_id)
    if any(credit.amount_cents != amount_cents for credit in waiting):
        raise ReplayConflict(f"{external_id} waits on the bank page for another amount; "
                             "decide it there, or give this payment its own id.")
    payment = Payment(creditor_id=customer.creditor_id, customer_id=customer.id, source=source,
                      external_id=external_id,
                      amount_cents=amount_cents, currency=currency, state=state,
                      received_on=received_on)
    db.session.add(payment)
    shares, remaining = _spread(amount_cents, invoices)
    payment.allocations.extend(Allocation(invoice=invoice, amount_cents=share)
                               for invoice, share in zip(invoices, shares) if share)
    for invoice in invoices:
        settle(invoice)
    for credit in waiting:  # the statement's credit was this transfer: nothing left to assign
        credit.state, credit.payment_id = "assigned", payment.id
    record_event(customer.id, "payment_recorded", actor=actor,
                 invoice_id=invoices[0].id if len(invoices) == 1 else None,
                 source=source, external_id=external_id, amount_cents=amount_cents,
                 state=state, invoices=[i.number for i in invoices], credit_cents=remaining)
    return PaymentResult(payment, True, amount_cents - remaining, remaining)


def _spread(amount_cents, invoices):
    """(shares, left over) of money over invoices, read under their lock: what each still owes
    first (nothing for a cancelled one), then what the books' figure stood for beyond it."""
    lock_invoices([i.id for i in invoices])
    for invoice in invoices:
        db.session.refresh(invoice, ["paid_cents"])  # what they owe now, read under the lock
    shares, remaining = allocate(amount_cents, [owed_cents(i) for i in invoices])
    for k, invoice in enumerate(invoices):
        if remaining and invoice.status != "cancelled":
            freed = displace_books(invoice, remaining)
            shares[k] += freed
            remaining -= freed
    return shares, remaining


def owed_cents(invoice):
    """What money can still settle on this invoice: its balance, nothing once cancelled."""
    return 0 if invoice.status == "cancelled" else max(0, invoice.balance_cents)


def books_payment(invoice):
    """The 'import' payment that stands for what the accounting tool says is paid on this
    invoice beyond the payments Relance recorded itself, if any."""
    return payment_by_external_id("import", f"import:{invoice.number}", invoice.creditor_id)


def displace_books(invoice, cents):
    """Money Relance now sees for this invoice replaces (up to `cents`) the books' figure for
    money it had not seen: the books counted this money already, so it must not become the
    debtor's credit. The next import of the books sets the figure right again
    (`set_import_paid` tops up what Relance knows). Returns the cents freed."""
    payment = books_payment(invoice)
    if payment is None or not payment.allocations:
        return 0
    allocation = payment.allocations[0]
    freed = min(cents, allocation.amount_cents)
    if freed:
        allocation.amount_cents -= freed
        payment.amount_cents -= freed
        if payment.amount_cents <= 0:
            db.session.delete(payment)
        db.session.flush()
    return freed


def waiting_credits(creditor_id, source, external_id):
    """The statement credits waiting on the bank page under this reference, unmatched (a
    transfer that arrived by the bank's statement before any other path named it; one already
    in conflict waits for the accountant whatever comes)."""
    if source not in TRANSFER_SOURCES:
        return []
    return db.session.scalars(select(BankCredit).where(
        BankCredit.creditor_id == creditor_id, BankCredit.external_id == external_id,
        BankCredit.state == "unmatched")).all()


def set_import_paid(invoice, paid_cents, received_on):
    """Make what the accounting tool says is paid on this invoice true, with one 'import'
    payment that tops up what Relance already knows from elsewhere (a checkout, a transfer):
    the books' figure counts every payment, so money Relance recorded itself is not counted a
    second time when the books catch up with it.

    Re-importing the same figure changes nothing; a new figure adjusts that payment."""
    external_id = f"import:{invoice.number}"
    payment = books_payment(invoice)
    db.session.flush()
    db.session.refresh(invoice, ["paid_cents"])
    mine = sum(a.amount_cents for a in payment.allocations) if payment is not None else 0
    top_up = max(0, paid_cents - (invoice.paid_cents - mine))
    if payment is None and top_up <= 0:
        return settle(invoice)
    if payment is None:
        payment = Payment(creditor_id=invoice.creditor_id, customer_id=invoice.customer_id,
                          source="import", external_id=external_id,
                          amount_cents=top_up, received_on=received_on)
        db.session.add(payment)
    if top_up <= 0:
        db.session.delete(payment)
    else:
        payment.amount_cents = top_up
        payment.customer_id = invoice.customer_id
        if payment.allocations:
            payment.allocations[0].amount_cents = top_up
        else:
            payment.allocations.append(Allocation(invoice=invoice, amount_cents=top_up))
    return settle(invoice)


# Money that moves from bank to bank: one bank reference is one transfer, whichever path
# brought it (the API, a CSV file, the bank's statement and its bank page, the accountant's
# entry). Checkouts (stripe, demo) and the books' paid amounts (import) have ids of their own.
TRANSFER_SOURCES = ("api", "csv", "bank", "manual")


def id_space(source):
    """The sources whose external ids name the same things as `source`'s."""
    return TRANSFER_SOURCES if source in TRANSFER_SOURCES else (source,)


def payment_by_external_id(source, external_id, creditor_id=None):
    """The creditor's payment recorded under this id by this source (or by any source that
    shares its ids), if any: the first one recorded."""
    return db.session.scalar(select(Payment).where(
        Payment.creditor_id == (creditor_id or tenancy.working_id()),
        Payment.source.in_(id_space(source)),
        Payment.external_id == external_id).order_by(Payment.id).limit(1))


def identify(creditor_id, source, external_id, amount_cents, customer_id=None,
             invoice_ids=None):
    """Is this money already known? None: it is new. The payment: the same money seen again
    (same reference in the same id space, same amount, same customer, invoices among those
    named). ReplayConflict (carrying the payment) when the reference is known for another
    amount, customer or invoice: a human must say whether it is another payment."""
    existing = payment_by_external_id(source, external_id, creditor_id)
    if existing is None:
        return None
    if not same_money(existing, amount_cents, customer_id, invoice_ids):
        raise ReplayConflict(f"{external_id} was already recorded ({existing.source}) for "
                             "another invoice or amount; give this payment its own id.",
                             existing)
    return existing


def same_money(payment, amount_cents, customer_id=None, invoice_ids=None):
    """Whether money seen again under a known reference is that payment: the same amount, the
    same customer and invoices among those it paid (None: not said, not compared)."""
    paid = {a.invoice_id for a in payment.allocations}
    return payment.amount_cents == amount_cents and (
        customer_id is None or payment.customer_id == customer_id) and (
        invoice_ids is None or not paid or paid <= set(invoice_ids))


def place_hold(invoice, kind, starts_on, until=None, actor="system", **details):
    """Stop reminders for `invoice` from `starts_on` (until `until`, or until released)."""
    if kind not in HOLD_KINDS:
        raise LedgerError(f"Unknown hold kind {kind!r}; use one of {', '.join(HOLD_KINDS)}.")
    hold = Hold(customer_id=invoice.customer_id, invoice_id=invoice.id, kind=kind,
                starts_on=starts_on, until=until, details=details)
    db.session.add(hold)
    if kind == "not_received":
        _new_cycle(invoice)
    record_event(invoice.customer_id, f"hold_{kind}", actor=actor, invoice_id=invoice.id,
                 starts_on=starts_on.isoformat(), until=until.isoformat() if until else None,
                 **details)
    return hold


def _new_cycle(invoice):
    """A "never received" restarts the invoice's reminders: what its kept reminders knew
    (`Invoice.reminder_*`) was of the cycle that ends; the new one knows nothing yet."""
    db.session.flush()
    invoice.reminder_cycle = current_cycle(db.session.scalars(select(Hold).where(
        Hold.invoice_id == invoice.id, Hold.kind == "not_received")))
    invoice.reminder_level = invoice.reminder_sent_on = invoice.reminder_sent_at = None


def release_hold(hold, actor="system", reason=None):
    hold.released_at = utcnow()
    record_event(hold.customer_id, f"hold_{hold.kind}_released", actor=actor,
                 invoice_id=hold.invoice_id, reason=reason)
    return hold


def invoice_by_number(number):
    return db.session.scalar(select(Invoice).where(Invoice.number == number,
                                                   Invoice.creditor_id == tenancy.working_id()))
