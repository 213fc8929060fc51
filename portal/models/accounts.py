"""The ledger: customers, invoices, payments and their allocations (balances derived from them),
the holds that stop reminders, the provider events already applied, and the debtor's timeline."""
from sqlalchemy import BigInteger, Index, UniqueConstraint, cast, func, select, text
from sqlalchemy.orm import column_property

from flask import g, has_app_context

from ..extensions import db
from .base import TENANT_KEY, Money, UTCDateTime, utcnow


def _scope_creditor(context):
    """A new customer's creditor when the caller did not name it: the one this request or run
    step works for (portal.tenancy), else the first creditor (a one-creditor installation)."""
    creditor_id = g.get(TENANT_KEY) if has_app_context() else None
    if creditor_id:
        return creditor_id
    return context.connection.execute(text("SELECT min(id) FROM creditor")).scalar()


class Customer(db.Model):
    __tablename__ = "customer"
    id = db.Column(db.Integer, primary_key=True)
    # Whose debtor this is: every other row of the ledger belongs to a creditor through it.
    creditor_id = db.Column(db.ForeignKey("creditor.id"), nullable=False, index=True,
                            default=_scope_creditor)
    ref = db.Column(db.String(64), nullable=False)
    name = db.Column(db.String(200), nullable=False)
    email = db.Column(db.String(320), nullable=False)
    phone = db.Column(db.String(40))
    address = db.Column(db.String(300))  # postal address for the formal-notice letter
    siren = db.Column(db.String(9))  # a business debtor's, for the hand-over dossier
    language = db.Column(db.String(2), nullable=False, default="fr")
    tier = db.Column(db.String(16), nullable=False, default="standard")
    # business, consumer or public (buyer): which late-payment rules and wording apply.
    debtor_type = db.Column(db.String(16), nullable=False, default="business",
                            server_default="business")
    policy = db.Column(db.String(32))
    link_version = db.Column(db.Integer, nullable=False, default=1)
    stripe_customer_id = db.Column(db.String(255), unique=True)  # created once, then reused
    paused_until = db.Column(db.Date)
    median_days_late = db.Column(db.Integer)
    # The debtor asked for no more text messages (a STOP reply, or the accountant): when, and how.
    sms_opt_out_at = db.Column(UTCDateTime)
    sms_opt_out_by = db.Column(db.String(16))  # debtor (STOP), accountant, provider
    # Handed over to a bailiff or for an injonction de payer (portal.handover): the day, while the
    # case is open (no reminder goes out); None otherwise. `handover` keeps to whom, by whom,
    # the invoices claimed, the dossier's attachment and, once they are paid, the day it closed.
    handed_over_on = db.Column(db.Date)
    handover = db.Column(db.JSON)
    # Its personal data erased (portal.privacy): when; amounts, dates and numbers stay.
    erased_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    # The account's current reminder cycle (portal.rules.schedule.AccountFacts), kept when a message
    # is recorded so that the run reads one row per debtor, never the reminders' history: the
    # highest level sent in the cycle, the run date and time of the last message, and the day
    # the cycle's delays count from. All None outside a cycle (the run clears them when it sees
    # nothing late: reminders.scan.clear_cycles).
    cycle_level = db.Column(db.Integer)
    cycle_sent_on = db.Column(db.Date)
    cycle_sent_at = db.Column(UTCDateTime)
    cycle_started_on = db.Column(db.Date)
    # Who chases this debtor: a user of its creditor (the worklist's "mine"); None: anyone.
    collector_id = db.Column(db.ForeignKey("user_account.id"))

    # Loaded only when asked for: a link check loads the customer, not every invoice.
    invoices = db.relationship("Invoice", back_populates="customer", order_by="Invoice.due_date")
    __table_args__ = (UniqueConstraint("creditor_id", "ref", name="uq_customer_creditor_ref"),)

    def __repr__(self):
        return f"<Customer {self.ref}>"


def _customers_creditor(context):
    """A new invoice's or payment's creditor when the caller did not name it: its customer's."""
    customer_id = context.get_current_parameters().get("customer_id")
    return context.connection.execute(
        select(Customer.__table__.c.creditor_id)
        .where(Customer.__table__.c.id == customer_id)).scalar()


class Invoice(db.Model):
    __tablename__ = "invoice"
    id = db.Column(db.Integer, primary_key=True)
    # Its customer's creditor, kept on the row so that numbers are unique per creditor.
    creditor_id = db.Column(db.ForeignKey("creditor.id"), nullable=False,
                            default=_customers_creditor)
    number = db.Column(db.String(64), nullable=False)
    customer_id = db.Column(db.ForeignKey("customer.id"), nullable=False, index=True)
    issue_date = db.Column(db.Date, nullable=False)
    due_date = db.Column(db.Date, nullable=False)
    currency = db.Column(db.String(3), nullable=False, default="EUR")
    total_cents = db.Column(Money, nullable=False)
    status = db.Column(db.String(16), nullable=False, default="open")
    pdf = db.Column(db.LargeBinary)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    # Its own reminders in its current cycle (schedule.InvoiceFacts), kept when a message about
    # it is recorded (reminders.deliver) so that the run reads them here, never grouping the
    # reminders' history: the cycle they belong to (how many "never received" there were when
    # they went out: schedule.current_cycle), the highest level, the latest run date and time.
    # A "never received" starts a new cycle (portal.bookkeeping.place_hold): level and dates None.
    reminder_cycle = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    reminder_level = db.Column(db.Integer)
    reminder_sent_on = db.Column(db.Date)
    reminder_sent_at = db.Column(UTCDateTime)

    customer = db.relationship("Customer", back_populates="invoices")
    __table_args__ = (Index("ix_invoice_status_due", "status", "due_date"),
                      # The run's scan, creditor by creditor, debtor by debtor, from the index
                      # alone (a creditor's invoices are spread over the table): 3x faster
                      # than reading the rows on a million invoices of 100 creditors.
                      # Its reminders' kept state too: the scan reads the index alone.
                      Index("ix_invoice_account_scan", "creditor_id", "status", "customer_id",
                            "id", "due_date", "total_cents", "reminder_cycle", "reminder_level",
                            "reminder_sent_on", "reminder_sent_at"),
                      UniqueConstraint("creditor_id", "number", name="uq_invoice_creditor_number"))

    @property
    def balance_cents(self):
        return self.total_cents - self.paid_cents

    def days_late(self, as_of):
        return max(0, (as_of - self.due_date).days)

    def __repr__(self):
        return f"<Invoice {self.number}>"


class Payment(db.Model):
    __tablename__ = "payment"
    id = db.Column(db.Integer, primary_key=True)
    creditor_id = db.Column(db.ForeignKey("creditor.id"), nullable=False,
                            default=_customers_creditor)
    customer_id = db.Column(db.ForeignKey("customer.id"), nullable=False, index=True)
    source = db.Column(db.String(16), nullable=False)  # stripe, demo, api, csv, import
    # Unique per creditor and source: a bank reference can never pass for a Stripe session or
    # an import, and two creditors' accounting tools may both number a payment "1".
    external_id = db.Column(db.String(255), nullable=False)
    amount_cents = db.Column(Money, nullable=False)
    currency = db.Column(db.String(3), nullable=False, default="EUR")
    state = db.Column(db.String(16), nullable=False, default="succeeded")
    received_on = db.Column(db.Date, nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    # Online payments: the provider's payment intent, the method, what was refunded.
    payment_intent_id = db.Column(db.String(255), index=True)
    method = db.Column(db.String(16))  # card, sepa_debit
    refunded_cents = db.Column(Money, nullable=False, default=0)
    instalment_plan_id = db.Column(db.ForeignKey("instalment_plan.id"))
    instalment_id = db.Column(db.ForeignKey("instalment.id"), index=True)
    # Held for review: what the provider said was received (None: unusable), and why it differs.
    received_cents = db.Column(Money)
    review_reason = db.Column(db.String(200))
    # An open checkout: which invoices and amounts it pays (one open checkout per set), and the
    # provider's page, to send a second click to the same checkout instead of a new one.
    checkout_key = db.Column(db.String(64))
    checkout_url = db.Column(db.Text)

    allocations = db.relationship("Allocation", back_populates="payment", lazy="selectin",
                                  cascade="all, delete-orphan")
    __table_args__ = (
        UniqueConstraint("creditor_id", "source", "external_id",
                         name="uq_payment_creditor_source_external_id"),
        Index("uq_payment_open_checkout", "checkout_key", unique=True,
              postgresql_where=text("state = 'created'"), sqlite_where=text("state = 'created'")),
    )


class Allocation(db.Model):
    __tablename__ = "allocation"
    id = db.Column(db.Integer, primary_key=True)
    payment_id = db.Column(db.ForeignKey("payment.id"), nullable=False, index=True)
    invoice_id = db.Column(db.ForeignKey("invoice.id"), nullable=False, index=True)
    amount_cents = db.Column(Money, nullable=False)
    # "payment": money of the payment; "discount": the early-payment discount (escompte) granted
    # with it, which settles the invoice with the money but was never received (portal.rules.discount).
    kind = db.Column(db.String(16), nullable=False, default="payment", server_default="payment")

    payment = db.relationship("Payment", back_populates="allocations")
    invoice = db.relationship("Invoice")


# The balance is derived from allocations of succeeded payments (their money and the discounts
# granted with them), never stored.
PAID_CENTS = (
    select(cast(func.coalesce(func.sum(Allocation.amount_cents), 0), BigInteger))
    .join(Payment, Payment.id == Allocation.payment_id)
    .where(Allocation.invoice_id == Invoice.id, Payment.state == "succeeded")
    .correlate_except(Allocation, Payment)
    .scalar_subquery()
)
Invoice.paid_cents = column_property(PAID_CENTS)


class ProcessedEvent(db.Model):
    """A payment provider's event, recorded once: a replayed webhook finds its row and stops."""

    __tablename__ = "processed_event"
    id = db.Column(db.String(255), primary_key=True)
    type = db.Column(db.String(80), nullable=False)
    received_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    outcome = db.Column(db.String(200))


class Hold(db.Model):
    """Something that stops reminders for one invoice: a promise, a dispute, a pending payment..."""

    __tablename__ = "hold"
    id = db.Column(db.Integer, primary_key=True)
    customer_id = db.Column(db.ForeignKey("customer.id"), nullable=False, index=True)
    invoice_id = db.Column(db.ForeignKey("invoice.id"), nullable=False, index=True)
    kind = db.Column(db.String(24), nullable=False)
    starts_on = db.Column(db.Date, nullable=False)
    until = db.Column(db.Date)  # None: until released
    released_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    details = db.Column(db.JSON, nullable=False, default=dict)

    __table_args__ = (
        # Structural rules, whatever the code above them does: one promise in force per
        # invoice, and one instalment plan (asked for or approved) per invoice.
        Index("uq_hold_one_promise", "invoice_id", unique=True,
              postgresql_where=text("kind = 'promise' AND released_at IS NULL"),
              sqlite_where=text("kind = 'promise' AND released_at IS NULL")),
        Index("uq_hold_one_plan", "invoice_id", unique=True,
              postgresql_where=text("kind IN ('plan', 'instalment_request') "
                                    "AND released_at IS NULL"),
              sqlite_where=text("kind IN ('plan', 'instalment_request') "
                                "AND released_at IS NULL")),
    )


class BankCredit(db.Model):
    """A credit of a bank statement (CAMT.053) that names no invoice Relance could find: it
    waits for the accountant to say which invoice it pays (or that it is no debtor's)."""

    __tablename__ = "bank_credit"
    id = db.Column(db.Integer, primary_key=True)
    creditor_id = db.Column(db.ForeignKey("creditor.id"), nullable=False, index=True)
    external_id = db.Column(db.String(255), nullable=False)  # the bank's entry reference
    amount_cents = db.Column(Money, nullable=False)
    booked_on = db.Column(db.Date, nullable=False)
    debtor_name = db.Column(db.String(200), nullable=False, default="")
    remittance = db.Column(db.String(500), nullable=False, default="")
    # unmatched or conflict (its reference is known for another amount): the accountant
    # decides; then assigned (payment_id: the payment it is) or ignored.
    state = db.Column(db.String(16), nullable=False, default="unmatched")
    payment_id = db.Column(db.ForeignKey("payment.id"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    WAITING = ("unmatched", "conflict")  # the states the accountant has to decide

    # One reference is one transfer; the same reference for another amount is another fact
    # (a conflict to decide), kept beside it.
    __table_args__ = (UniqueConstraint(
        "creditor_id", "external_id", "amount_cents",
        name="uq_bank_credit_creditor_external_id_amount_cents"),)


class Attachment(db.Model):
    """A file the accountant put on a debtor's timeline (a letter received, a proof of
    delivery), with the note it came with (an event of kind "note")."""

    __tablename__ = "attachment"
    id = db.Column(db.Integer, primary_key=True)
    customer_id = db.Column(db.ForeignKey("customer.id"), nullable=False, index=True)
    filename = db.Column(db.String(200), nullable=False)
    media_type = db.Column(db.String(100), nullable=False)
    size = db.Column(db.Integer, nullable=False)
    data = db.Column(db.LargeBinary, nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class Event(db.Model):
    """The debtor's timeline: who did what, when."""

    __tablename__ = "event"
    id = db.Column(db.Integer, primary_key=True)
    customer_id = db.Column(db.ForeignKey("customer.id"), nullable=False, index=True)
    invoice_id = db.Column(db.ForeignKey("invoice.id"), index=True)
    at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    actor = db.Column(db.String(16), nullable=False)  # debtor, accountant, system, stripe, api
    kind = db.Column(db.String(40), nullable=False)
    details = db.Column(db.JSON, nullable=False, default=dict)
