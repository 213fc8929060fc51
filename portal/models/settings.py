"""The creditor (whose receivables these are) and the history of its relance settings.

The settings themselves (policies, templates, legal rules) are one validated document per
revision (`portal.settings.document`): the newest revision is in force, every older one stays,
so a change is always "who, when, what" and reverting is saving an older document again."""
from sqlalchemy import UniqueConstraint

from ..extensions import db
from .base import UTCDateTime, utcnow


class Creditor(db.Model):
    """A company whose receivables are chased: it owns its debtors, invoices, payments and
    settings. Identity on every e-mail, letter and portal page, and where "today" and holidays
    come from. The first one is made from the CREDITOR_* variables."""

    __tablename__ = "creditor"
    id = db.Column(db.Integer, primary_key=True)
    slug = db.Column(db.String(64), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False)
    address = db.Column(db.String(300), nullable=False, default="")
    siren = db.Column(db.String(20), nullable=False, default="")
    vat_number = db.Column(db.String(20), nullable=False, default="")
    iban = db.Column(db.String(42), nullable=False, default="")
    bic = db.Column(db.String(11), nullable=False, default="")
    email = db.Column(db.String(320), nullable=False, default="")
    phone = db.Column(db.String(40), nullable=False, default="")
    sender = db.Column(db.String(320), nullable=False, default="")  # From:, "" = MAIL_DEFAULT_SENDER
    reply_to = db.Column(db.String(320), nullable=False, default="")  # "" = the e-mail above
    timezone = db.Column(db.String(64), nullable=False, default="Europe/Paris")
    holiday_country = db.Column(db.String(2), nullable=False, default="FR")
    language = db.Column(db.String(2), nullable=False, default="fr")
    logo = db.Column(db.LargeBinary)  # PNG or JPEG shown on the portal and letters
    logo_type = db.Column(db.String(16))  # image/png, image/jpeg
    colour = db.Column(db.String(7), nullable=False, default="", server_default="")  # #1f5f8b
    signature = db.Column(db.String(500), nullable=False, default="", server_default="")
    # Outside parts of its own; None: the installation's (MAIL_*, STRIPE_* variables) for the
    # first creditor, none at all (no online payment) for the others.
    mail_server = db.Column(db.String(255))
    mail_port = db.Column(db.Integer)
    mail_username = db.Column(db.String(255))
    mail_password = db.Column(db.String(255))
    mail_use_tls = db.Column(db.Boolean)
    stripe_secret_key = db.Column(db.String(255))
    stripe_webhook_secret = db.Column(db.String(255))
    # Its SMS provider (portal.sms.providers): "twilio" with its account SID, auth token and
    # sender (a number or an alphanumeric name); None: the installation's SMS_* variables for
    # the first creditor, no SMS for the others.
    sms_provider = db.Column(db.String(16))
    sms_account = db.Column(db.String(64))
    sms_token = db.Column(db.String(255))
    sms_sender = db.Column(db.String(20))
    # Its registered-mail provider (portal.post): "maileva" with its API credentials; None:
    # the installation's POST_* variables for the first creditor, letters posted by hand else.
    post_provider = db.Column(db.String(16))
    post_client_id = db.Column(db.String(255))
    post_client_secret = db.Column(db.String(255))
    post_username = db.Column(db.String(255))
    post_password = db.Column(db.String(255))
    # The accountant releases each planned reminder before it goes out.
    review_before_sending = db.Column(db.Boolean, nullable=False, default=False,
                                      server_default=db.false())
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    @property
    def country(self):
        return self.holiday_country

    def __repr__(self):
        return f"<Creditor {self.slug}>"


class SettingsRevision(db.Model):
    """One saved state of a creditor's settings; the newest is in force."""

    __tablename__ = "settings_revision"
    id = db.Column(db.Integer, primary_key=True)
    creditor_id = db.Column(db.ForeignKey("creditor.id"), nullable=False)
    number = db.Column(db.Integer, nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    author = db.Column(db.String(320), nullable=False)  # a user's e-mail, "cli", "migration"
    note = db.Column(db.String(300), nullable=False, default="")
    document = db.Column(db.JSON, nullable=False)
    changes = db.Column(db.JSON, nullable=False, default=list)  # ["path: before -> after", ...]

    __table_args__ = (UniqueConstraint("creditor_id", "number", name="uq_settings_revision_number"),)


class CreditorGrant(db.Model):
    """A back-office user's access to one creditor, with a role there (accountant or admin)."""

    __tablename__ = "creditor_grant"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("user_account.id"), nullable=False)
    creditor_id = db.Column(db.ForeignKey("creditor.id"), nullable=False, index=True)
    role = db.Column(db.String(16), nullable=False, default="accountant")
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    creditor = db.relationship("Creditor")
    __table_args__ = (UniqueConstraint("user_id", "creditor_id", name="uq_creditor_grant_user"),)


class ApiToken(db.Model):
    """A bearer token of the JSON API, for one creditor: only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id = db.Column(db.Integer, primary_key=True)
    creditor_id = db.Column(db.ForeignKey("creditor.id"), nullable=False, index=True)
    digest = db.Column(db.String(64), nullable=False, unique=True)
    prefix = db.Column(db.String(12), nullable=False)  # shown to tell tokens apart
    label = db.Column(db.String(120), nullable=False, default="")
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    revoked_at = db.Column(UTCDateTime)
    last_used_at = db.Column(UTCDateTime)
