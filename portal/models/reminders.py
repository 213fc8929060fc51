"""What the run planned and sent: reminders, the e-mails as sent, the accountant's tasks."""
from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text

from ..extensions import db
from .base import UTCDateTime, utcnow


class Reminder(db.Model):
    """One (invoice, cycle, level) or (instalment, level) reminder planned, being sent or sent.
    The unique keys are the run's idempotency: a reminder can be claimed and sent once."""

    __tablename__ = "reminder"
    id = db.Column(db.Integer, primary_key=True)
    customer_id = db.Column(db.ForeignKey("customer.id"), nullable=False)
    invoice_id = db.Column(db.ForeignKey("invoice.id"))
    instalment_id = db.Column(db.ForeignKey("instalment.id"))
    cycle = db.Column(db.Integer, nullable=False, default=0)
    level = db.Column(db.Integer, nullable=False)
    reason = db.Column(db.String(24))  # None, or "broken_promise"
    # What reached the debtor once sent: "email", "email+sms", "email+call", "letter+email"...
    channel = db.Column(db.String(32), nullable=False, default="email")
    state = db.Column(db.String(16), nullable=False, default="pending")  # pending, sending, sent
    scheduled_for = db.Column(db.Date, nullable=False)
    claimed_by = db.Column(db.String(120))
    claimed_at = db.Column(UTCDateTime)
    sent_at = db.Column(UTCDateTime)
    variant = db.Column(db.String(1))  # "A" or "B" when its level ran an A/B test of templates
    # The SentMessage it went out in. No foreign key on purpose: both rows are written by the same
    # statement pair in one transaction (reminders.deliver._record), and the key's per-row check
    # doubled the cost of that UPDATE on PostgreSQL (measured: 2.3 -> 1.2 ms per message).
    message_id = db.Column(db.String(255), index=True)

    __table_args__ = (
        UniqueConstraint("invoice_id", "cycle", "level", name="uq_reminder_invoice_cycle_level"),
        UniqueConstraint("instalment_id", "level", name="uq_reminder_instalment_level"),
        CheckConstraint("(invoice_id IS NULL) <> (instalment_id IS NULL)", name="one_target"),
        # Partial indexes: only the few rows waiting or being sent are indexed, so the table of
        # sent reminders can grow for years without slowing the claims or the per-message UPDATE.
        Index("ix_reminder_waiting", "state", "customer_id",
              postgresql_where=text("state <> 'sent'"), sqlite_where=text("state <> 'sent'")),
        Index("ix_reminder_claimed_by", "claimed_by",
              postgresql_where=text("claimed_by IS NOT NULL"),
              sqlite_where=text("claimed_by IS NOT NULL")),
        # Message-IDs derive from reminder ids: never reuse one, even after a delete.
        {"sqlite_autoincrement": True},
    )


class SentMessage(db.Model):
    """Exactly what one e-mail said, once per message (its reminders point here)."""

    __tablename__ = "sent_message"
    message_id = db.Column(db.String(255), primary_key=True)
    customer_id = db.Column(db.ForeignKey("customer.id"), nullable=False, index=True)
    level = db.Column(db.Integer, nullable=False)
    sent_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    recipients = db.Column(db.String(1000), nullable=False)
    subject = db.Column(db.String(300), nullable=False)
    body_text = db.Column(db.Text, nullable=False)
    body_html = db.Column(db.Text, nullable=False)


class Task(db.Model):
    """Work queued by the run: a phone call (level 3) or a letter (level 4). A letter is posted
    by the accountant ("open", then "done"), or, where the creditor has a registered-mail
    provider (portal.post), sent through its API: "to_send", "submitting" while the run hands it
    over, "sent" while the provider tracks it, "done" once it is processed."""

    __tablename__ = "task"
    id = db.Column(db.Integer, primary_key=True)
    customer_id = db.Column(db.ForeignKey("customer.id"), nullable=False, index=True)
    kind = db.Column(db.String(16), nullable=False)  # call, letter
    level = db.Column(db.Integer, nullable=False)
    state = db.Column(db.String(16), nullable=False, default="open")
    due_on = db.Column(db.Date, nullable=False)
    message_id = db.Column(db.String(255), nullable=False)
    details = db.Column(db.JSON, nullable=False, default=dict)
    pdf = db.Column(db.LargeBinary)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("message_id", "kind", name="uq_task_message_kind"),)
