"""Text messages: each SMS a reminder queued (sent at the next hour the rules allow) and the
short links they carry (`/s/<code>`, revoked with the debtor's portal links)."""
from sqlalchemy import Index, text

from ..extensions import db
from .base import UTCDateTime, utcnow


class SmsMessage(db.Model):
    """One SMS to a debtor: queued by the run with the reminder it goes with (same transaction,
    keyed by that reminder's Message-ID, so a retried round never queues it twice), sent once
    its hour comes (quiet hours), then followed by the provider's delivery reports."""

    __tablename__ = "sms_message"
    id = db.Column(db.Integer, primary_key=True)
    customer_id = db.Column(db.ForeignKey("customer.id"), nullable=False, index=True)
    message_id = db.Column(db.String(255), nullable=False, unique=True)  # the reminder's
    level = db.Column(db.Integer, nullable=False)
    to_number = db.Column(db.String(20), nullable=False, index=True)  # E.164
    body = db.Column(db.Text, nullable=False)
    send_after = db.Column(UTCDateTime, nullable=False)  # the first instant it may go out
    # queued, sending, sent (accepted by the provider), delivered, undelivered, failed
    state = db.Column(db.String(16), nullable=False, default="queued")
    provider = db.Column(db.String(16), nullable=False)
    provider_id = db.Column(db.String(64), index=True)  # the provider's own id (Twilio's SID)
    error = db.Column(db.String(300))
    claimed_by = db.Column(db.String(120))
    claimed_at = db.Column(UTCDateTime)
    sent_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (Index("ix_sms_waiting", "state", "send_after",
                            postgresql_where=text("state IN ('queued', 'sending')"),
                            sqlite_where=text("state IN ('queued', 'sending')")),)


class ShortLink(db.Model):
    """A short code standing for one signed portal link in a text message: `/s/<code>` sends
    the debtor to `/p/<token>`, where the token is checked as every link is. So revoking the
    debtor's links (a new link version) revokes it, and it expires with the token it stands
    for (LINK_MAX_AGE_DAYS from when it was made)."""

    __tablename__ = "short_link"
    code = db.Column(db.String(16), primary_key=True)
    customer_id = db.Column(db.ForeignKey("customer.id"), nullable=False, index=True)
    token = db.Column(db.Text, nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
