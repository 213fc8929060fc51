"""Instalment plans and their instalments."""
from sqlalchemy import UniqueConstraint

from ..extensions import db
from .base import Money, UTCDateTime, utcnow


plan_invoice = db.Table(
    "plan_invoice",
    db.Column("plan_id", db.ForeignKey("instalment_plan.id"), primary_key=True),
    db.Column("invoice_id", db.ForeignKey("invoice.id"), primary_key=True),
)


class InstalmentPlan(db.Model):
    """A debtor's request to pay some invoices in instalments, and its fate:
    requested -> approved | countered | rejected; approved -> completed | broken."""

    __tablename__ = "instalment_plan"
    id = db.Column(db.Integer, primary_key=True)
    customer_id = db.Column(db.ForeignKey("customer.id"), nullable=False, index=True)
    state = db.Column(db.String(16), nullable=False, default="requested")
    count = db.Column(db.Integer, nullable=False)
    first_date = db.Column(db.Date, nullable=False)
    reason = db.Column(db.Text)
    total_cents = db.Column(Money, nullable=False)
    # What the plan's invoices had been paid when it started: payments beyond it pay instalments.
    paid_before_cents = db.Column(Money, nullable=False, default=0)
    auto_approved = db.Column(db.Boolean, nullable=False, default=False)
    requested_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    decided_at = db.Column(UTCDateTime)
    decided_by = db.Column(db.String(120))
    decision_note = db.Column(db.Text)
    accepted_at = db.Column(UTCDateTime, nullable=False)
    # Automatic collection: the SEPA mandate's payment method, once the debtor signed it.
    mandate_payment_method = db.Column(db.String(255))
    mandate_signed_at = db.Column(UTCDateTime)
    accepted_ip = db.Column(db.String(64))
    accepted_user_agent = db.Column(db.String(300))

    customer = db.relationship("Customer")
    invoices = db.relationship("Invoice", secondary=plan_invoice, lazy="selectin",
                               order_by="Invoice.due_date")
    instalments = db.relationship("Instalment", back_populates="plan", lazy="selectin",
                                  order_by="Instalment.seq", cascade="all, delete-orphan")


class Instalment(db.Model):
    __tablename__ = "instalment"
    id = db.Column(db.Integer, primary_key=True)
    plan_id = db.Column(db.ForeignKey("instalment_plan.id"), nullable=False)
    seq = db.Column(db.Integer, nullable=False)
    due_date = db.Column(db.Date, nullable=False)
    amount_cents = db.Column(Money, nullable=False)

    plan = db.relationship("InstalmentPlan", back_populates="instalments")
    __table_args__ = (UniqueConstraint("plan_id", "seq", name="uq_instalment_plan_seq"),)
