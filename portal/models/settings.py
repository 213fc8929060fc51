"""The creditor (whose receivables these are) and the history of its relance settings.

The settings themselves (policies, templates, legal rules) are one validated document per
revision (`portal.settings.document`): the newest revision is in force, every older one stays,
so a change is always "who, when, what" and reverting is saving an older document again."""
from sqlalchemy import UniqueConstraint

from ..extensions import db
from .base import UTCDateTime, utcnow


class Creditor(db.Model):
    """Identity on every e-mail, letter and portal page, and where "today" and holidays come
    from. One row today (made from the CREDITOR_* variables); several with multi-creditor."""

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
