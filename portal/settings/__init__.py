"""The creditor's settings as data: policies, templates and legal rules that drive every reminder.

Layering (README, "Layout"): this package is read by the web layer and by the run alike, so it
imports neither: only `portal.models`, `portal.extensions`, `portal.i18n` and the pure rule
modules `reminders.penalties` and `reminders.schedule`, which import nothing of the project.

Reading: `current()` is the Settings in force (the newest revision, or the shipped defaults
before anything was saved), parsed once per revision and process. Writing: `save()` checks a
whole document, stores it as a new revision with who, when and what changed; `revert()` saves an
older revision's document again. Functions flush, never commit: the caller commits.
"""
import copy
from dataclasses import dataclass

from flask import current_app, g, has_app_context
from sqlalchemy import func, select, update
from sqlalchemy.orm import defer

from ..extensions import db
from ..models import Creditor, Customer, SettingsRevision
from .defaults import default_document
from .document import Settings, SettingsInvalid, parse
from .history import changes_between
from .policies import CHANNELS, TIERS, Level, Policy, habit_shift

__all__ = ["CHANNELS", "TIERS", "Level", "Policy", "Settings", "SettingsInvalid", "current",
           "creditor", "habit_shift", "policy_for", "save", "revert", "revisions",
           "default_document", "ensure_creditor", "shipped", "mail_identity", "editable"]

_parsed = {}  # (revision id, created_at) -> Settings; revisions never change once saved
_defaults = []


def _newest(column):
    return (select(column).where(SettingsRevision.creditor_id == Creditor.id)
            .order_by(SettingsRevision.number.desc()).limit(1).scalar_subquery())


IDENTITY = ("id", "slug", "name", "address", "siren", "vat_number", "iban", "bic", "email",
            "phone", "sender", "reply_to", "timezone", "holiday_country", "language")


@dataclass(frozen=True)
class CreditorFacts:
    """The creditor's identity as read at the start of a request or a run: plain values, so
    that reading them after a commit costs no query (an ORM row would reload itself)."""
    id: int | None
    slug: str
    name: str
    address: str
    siren: str
    vat_number: str
    iban: str
    bic: str
    email: str
    phone: str
    sender: str
    reply_to: str
    timezone: str
    holiday_country: str
    language: str

    @property
    def country(self):
        return self.holiday_country


def _facts(row):
    return CreditorFacts(**{k: getattr(row, k) if getattr(row, k) is not None else ""
                            for k in IDENTITY if k != "id"}, id=row.id)


def _load():
    """The creditor and its newest revision's (id, created_at), in one statement per request
    (the portal page counts its queries), kept on `g` for the rest of it."""
    if has_app_context() and "relance_state" in g:
        return g.relance_state
    found = db.session.execute(
        select(*(getattr(Creditor, k) for k in IDENTITY), _newest(SettingsRevision.id),
               _newest(SettingsRevision.created_at))
        .order_by(Creditor.id).limit(1)).first()
    if found is None:  # before `flask init-db` wrote it: the CREDITOR_* variables
        state = (_facts(creditor_from_config(current_app.config)), None)
    else:
        *identity, revision_id, created_at = found
        row = CreditorFacts(**dict(zip(IDENTITY, identity)))
        state = (row, (revision_id, created_at) if revision_id is not None else None)
    if has_app_context():
        g.relance_state = state
    return state


def creditor():
    """The creditor's identity (one creditor per installation until multi-creditor); before
    the first `flask init-db` wrote its row, the CREDITOR_* variables."""
    return _load()[0]


def mail_identity(row=None):
    """(From, Reply-To) of the creditor's messages: its own sender and reply address, else the
    installation's MAIL_DEFAULT_SENDER and the creditor's e-mail."""
    row = row or creditor()
    return (row.sender or current_app.config["MAIL_DEFAULT_SENDER"], row.reply_to or row.email)


def creditor_from_config(config):
    return Creditor(
        slug="default", name=config["CREDITOR_NAME"], address=config["CREDITOR_ADDRESS"],
        siren=config["CREDITOR_SIREN"], vat_number=config.get("CREDITOR_VAT_NUMBER", ""),
        iban=config["CREDITOR_IBAN"], bic=config["CREDITOR_BIC"],
        email=config["CREDITOR_EMAIL"], phone=config["CREDITOR_PHONE"],
        sender=config.get("MAIL_DEFAULT_SENDER", ""), reply_to=config["CREDITOR_EMAIL"],
        timezone=config["CREDITOR_TIMEZONE"], holiday_country=config["CREDITOR_COUNTRY"],
        language=config.get("BABEL_DEFAULT_LOCALE", "fr"))


def ensure_creditor():
    """The creditor row, written from the CREDITOR_* variables when there is none yet."""
    row = db.session.scalar(select(Creditor).order_by(Creditor.id).limit(1))
    if row is None:
        row = creditor_from_config(current_app.config)
        db.session.add(row)
        db.session.flush()
    forget()
    return row


def shipped():
    """The shipped defaults, parsed (no database: unit tests and first start)."""
    if not _defaults:
        _defaults.append(parse(default_document()))
    return _defaults[0]


def current():
    """The Settings in force (parsed once per revision and process)."""
    latest = _load()[1]
    if latest is None:
        return shipped()
    settings = _parsed.get(latest)
    if settings is None:
        revision = db.session.get(SettingsRevision, latest[0])
        if len(_parsed) > 32:  # revisions of the past: forget them
            _parsed.clear()
        settings = _parsed[latest] = parse(revision.document, revision=revision.number)
    return settings


def forget():
    """Read the creditor and the settings again at the next call (after a save)."""
    if has_app_context():
        g.pop("relance_state", None)


def editable():
    """A copy of the document in force, to change and save()."""
    return copy.deepcopy(current().document)


def policy_for(tier="standard", name=None):
    return current().policy_for(tier, name)


def revisions(limit=50):
    """The newest revisions, for the history (their documents are not loaded)."""
    return db.session.scalars(select(SettingsRevision).options(defer(SettingsRevision.document))
                              .order_by(SettingsRevision.number.desc()).limit(limit)).all()


EDITABLE = IDENTITY[2:]  # what the settings file and a revision say of the creditor


def _identity(row):
    return {k: getattr(row, k) or "" for k in EDITABLE}


def save(document, author, note="", identity=None):
    """Check `document` whole (SettingsInvalid names every problem) and store it as the newest
    revision, with the creditor's `identity` changes if given (each revision keeps the identity
    it put in force, so that reverting brings an IBAN back too); returns the revision, or None
    when nothing changed. Saves one at a time: the creditor row is locked first."""
    parsed = parse(document)  # raises SettingsInvalid, nothing written
    in_use = db.session.execute(
        select(Customer.policy, func.count()).where(Customer.policy.is_not(None))
        .group_by(Customer.policy)).all()
    gone = [(name, count) for name, count in in_use if name not in parsed.policies]
    if gone:
        raise SettingsInvalid([("policies", f"policy {name!r} is still chosen for {count} "
                                f"customer(s): give them another policy first")
                               for name, count in gone])
    # A copy: the caller may go on changing its dict; a saved revision never changes.
    document = copy.deepcopy({k: v for k, v in document.items() if k != "creditor"})
    owner = ensure_creditor()
    # An UPDATE that changes nothing: a row lock on PostgreSQL, the write lock on SQLite, so
    # that two saves at once take their revision numbers one after the other.
    db.session.execute(update(Creditor).where(Creditor.id == owner.id)
                       .values(name=Creditor.name))
    forget()
    original = _identity(owner)
    changes = changes_between({k: v for k, v in current().document.items() if k != "creditor"},
                              document)
    for key, value in (identity or {}).items():
        if key in EDITABLE and (getattr(owner, key) or "") != value:
            changes.append(f"creditor.{key}: {getattr(owner, key) or ''} -> {value}")
            setattr(owner, key, value)
    if not changes:
        return None
    number = db.session.scalar(select(func.max(SettingsRevision.number))) or 0
    if number == 0:  # the shipped settings become revision 1, so that they can be put back
        db.session.add(SettingsRevision(
            creditor_id=owner.id, number=1, author="relance", note="the shipped settings",
            document=dict(default_document(), creditor=original), changes=[]))
        number = 1
    db.session.flush()
    document["creditor"] = _identity(owner)
    revision = SettingsRevision(creditor_id=owner.id, number=number + 1, author=author,
                                note=note[:300], document=document, changes=changes)
    db.session.add(revision)
    db.session.flush()
    forget()
    return revision


def revert(number, author):
    """Put revision `number`'s settings, and the creditor identity it had, back in force, as
    a new revision."""
    old = db.session.scalar(select(SettingsRevision).where(SettingsRevision.number == number))
    if old is None:
        raise LookupError(f"no settings revision {number}")
    return save(old.document, author, note=f"back to revision {number}",
                identity=old.document.get("creditor"))
