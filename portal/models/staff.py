"""The creditor's side: back-office users, login attempts, settings."""
from ..extensions import db
from .base import UTCDateTime, utcnow


class User(db.Model):
    """Someone of the creditor's team: an accountant, or an admin who also manages users."""

    __tablename__ = "user_account"
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(320), nullable=False, unique=True)
    password_hash = db.Column(db.String(255), nullable=False)
    role = db.Column(db.String(16), nullable=False, default="accountant")
    active = db.Column(db.Boolean, nullable=False, default=True)
    # Part of every session cookie: bumping it ends all of this user's sessions.
    session_version = db.Column(db.Integer, nullable=False, default=1, server_default="1")
    # The back office's language for this user: "fr" or "en"; None: the browser's, else French.
    language = db.Column(db.String(2), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

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


class Setting(db.Model):
    """Switches the accountant sets from the back office (e.g. review reminders before sending)."""

    __tablename__ = "setting"
    key = db.Column(db.String(64), primary_key=True)
    value = db.Column(db.String(200), nullable=False)


def get_setting(key, default=None):
    row = db.session.get(Setting, key)
    return row.value if row is not None else default


def set_setting(key, value):
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value))
    else:
        row.value = value
