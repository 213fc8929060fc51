"""The creditor's side: back-office users, login attempts, settings."""
from ..extensions import db
from .base import UTCDateTime, utcnow


class User(db.Model):
    """Someone who works on creditors' receivables; what they may see and do is their grants
    (`CreditorGrant`: a creditor and a role there, accountant or admin)."""

    __tablename__ = "user_account"
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(320), nullable=False, unique=True)
    password_hash = db.Column(db.String(255), nullable=False)
    active = db.Column(db.Boolean, nullable=False, default=True)
    # Part of every session cookie: bumping it ends all of this user's sessions.
    session_version = db.Column(db.Integer, nullable=False, default=1, server_default="1")
    # The back office's language for this user: "fr" or "en"; None: the browser's, else French.
    language = db.Column(db.String(2), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    grants = db.relationship("CreditorGrant", lazy="selectin", cascade="all, delete-orphan")

    # Flask-Login's user interface
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return f"{self.id}.{self.session_version}"


class LoginAttempt(db.Model):
    """Failed and successful logins, for the rate limit and the audit trail."""

    __tablename__ = "login_attempt"
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(320), nullable=False, index=True)
    ip = db.Column(db.String(64))
    ok = db.Column(db.Boolean, nullable=False)
    at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
