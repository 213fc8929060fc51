"""The creditor's settings as data: policies, templates and legal rules that drive every reminder.

Layering (README, "Layout"): this package is read by the web layer and by the run alike, so it
imports neither: only `portal.models`, `portal.extensions`, `portal.i18n` and the pure rule
modules `portal.rules.penalties` and `portal.rules.schedule`, which import nothing of the project.

Reading: `current()` is the Settings in force (the newest revision, or the shipped defaults
before anything was saved), read once per revision and process. Writing: `save()` checks a
whole document, stores it as a new revision with who, when and what changed; `revert()` saves an
older revision's document again. Functions flush, never commit: the caller commits.

Checked when saved, not when read: `save()` is the one writer of revisions (the migration that
made revision 1 wrote the shipped document), and it runs the whole check, every template tried
on the examples (`document.parse`, half a second); reading a revision or the shipped defaults
(`document.load`) checks their shape but renders nothing, so a process's first run or page does
not pay for the check again. Revisions stored before this split passed the same check when
saved (and at every read since), so they are read the same way. The shipped document is checked
by the suite (tests/unit/test_shipped_settings.py). A template that a later version of Relance
would refuse fails where it is used, for that message only (the run names it and keeps the
reminder due); `flask settings export` then `import --dry-run` runs the whole check again.
"""
import copy
from dataclasses import dataclass

from flask import current_app, g, has_app_context
from sqlalchemy import Integer, bindparam, func, select, update
from sqlalchemy.orm import defer

from .. import clock, tenancy
from ..extensions import db
from ..models import Creditor, Customer, SettingsRevision
from .defaults import default_document
from .document import Settings, SettingsInvalid, load, parse
from .history import changes_between
from ..rules.policies import CHANNELS, TIERS, Level, Policy, habit_shift

__all__ = ["CHANNELS", "TIERS", "Level", "Policy", "Settings", "SettingsInvalid", "current",
           "creditor", "habit_shift", "policy_for", "save", "revert", "revisions",
           "default_document", "ensure_creditor", "shipped", "mail_identity", "editable",
           "outside_parts", "review_before_sending", "set_review_before_sending", "logo",
           "loaded", "seed"]

_parsed = {}  # (revision id, created_at) -> Settings; revisions never change once saved
_defaults = []


IDENTITY = ("id", "slug", "name", "address", "siren", "vat_number", "iban", "bic", "email",
            "phone", "sender", "reply_to", "timezone", "holiday_country", "language", "colour",
            "signature", "logo_type")


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
    colour: str  # "#rrggbb" on the portal and e-mails, "" for Relance's own
    signature: str  # under its e-mails, "" for the templates' own
    logo_type: str  # "image/png" or "image/jpeg" when it has a logo, else ""

    @property
    def country(self):
        return self.holiday_country


def _facts(row):
    return CreditorFacts(**{k: getattr(row, k) if getattr(row, k) is not None else ""
                            for k in IDENTITY if k != "id"}, id=row.id)


def _load():
    """The creditor this context works for (`portal.tenancy`; unscoped: the first one) and its
    newest revision's (id, created_at), in one statement per request and creditor (the portal
    page counts its queries), kept on `g` for the rest of it."""
    creditor_id = tenancy.current_id()
    cache = g.setdefault("relance_state", {}) if has_app_context() else {}
    if creditor_id in cache:
        return cache[creditor_id]
    query = _LOAD_ONE if creditor_id is not None else _LOAD_FIRST
    # Core statements built once and naming their creditor (~0.1 ms instead of ~0.7 ms).
    found = db.session.connection().execute(query, {"creditor_id": creditor_id}).first()
    if found is None:  # before `flask init-db` wrote it: the CREDITOR_* variables
        state = (_facts(creditor_from_config(current_app.config)), None, _outside({}, True))
    else:
        identity, (revision_id, created_at) = found[:len(IDENTITY)], found[len(IDENTITY):][:2]
        row = CreditorFacts(**{k: "" if v is None and k != "id" else v
                               for k, v in zip(IDENTITY, identity)})
        own = dict(zip(OWN, found[len(IDENTITY) + 2:]))
        state = (row, (revision_id, created_at) if revision_id is not None else None,
                 _outside(own, bool(found[-1])))
    cache[creditor_id] = state
    return state


def creditor():
    """The identity of the creditor this context works for (unscoped: the first creditor);
    before the first `flask init-db` wrote its row, the CREDITOR_* variables."""
    return _load()[0]


def _zone_name():
    """The creditor's time zone for portal.clock; the app's CREDITOR_TIMEZONE while the
    database has no tables yet (before `flask init-db`)."""
    from sqlalchemy.exc import SQLAlchemyError
    try:
        return creditor().timezone
    except SQLAlchemyError:
        db.session.rollback()
        return current_app.config["CREDITOR_TIMEZONE"]


clock.provide_creditor_zone(_zone_name)


def mail_identity(row=None):
    """(From, Reply-To) of the creditor's messages: its own sender and reply address, else the
    installation's MAIL_DEFAULT_SENDER and the creditor's e-mail."""
    row = row or creditor()
    return (row.sender or current_app.config["MAIL_DEFAULT_SENDER"], row.reply_to or row.email)


@dataclass(frozen=True)
class OutsideParts:
    """The creditor's own mail relay and Stripe account. Kept apart from its identity, which
    templates see: a secret never reaches a page or a message."""
    mail: dict  # server, port, username, password, use_tls, use_ssl
    stripe_secret_key: str
    stripe_webhook_secret: str
    sms: dict | None = None  # provider, account, token, sender (None: no SMS)
    post: dict | None = None  # provider, client_id, client_secret, username, password


OWN = ("mail_server", "mail_port", "mail_username", "mail_password", "mail_use_tls",
       "stripe_secret_key", "stripe_webhook_secret", "sms_provider", "sms_account", "sms_token",
       "sms_sender", "post_provider", "post_client_id", "post_client_secret", "post_username",
       "post_password")
POST_KEYS = ("client_id", "client_secret", "username", "password")


def _load_statement(one):
    creditor, revision = Creditor.__table__, SettingsRevision.__table__

    def newest(column):
        return (select(column).where(revision.c.creditor_id == creditor.c.id)
                .order_by(revision.c.number.desc()).limit(1).scalar_subquery())

    query = select(*(creditor.c[k] for k in IDENTITY), newest(revision.c.id),
                   newest(revision.c.created_at), *(creditor.c[k] for k in OWN),
                   creditor.c.id == select(func.min(creditor.c.id)).scalar_subquery())
    return (query.where(creditor.c.id == bindparam("creditor_id", type_=Integer)) if one
            else query.order_by(creditor.c.id).limit(1))


_LOAD_ONE, _LOAD_FIRST = _load_statement(True), _load_statement(False)


def _outside(own, first):
    """The creditor's own outside parts (columns OWN), completed from the installation's
    variables as `outside_parts` says."""
    config = current_app.config
    if own.get("mail_server"):
        mail = {"server": own["mail_server"], "port": own["mail_port"] or 25,
                "username": own["mail_username"], "password": own["mail_password"],
                "use_tls": bool(own["mail_use_tls"]), "use_ssl": False}
    else:
        mail = {"server": config["MAIL_SERVER"], "port": config["MAIL_PORT"],
                "username": config.get("MAIL_USERNAME"), "password": config.get("MAIL_PASSWORD"),
                "use_tls": config.get("MAIL_USE_TLS", False),
                "use_ssl": config.get("MAIL_USE_SSL", False)}
    stripe_key = own.get("stripe_secret_key") or (
        config.get("STRIPE_SECRET_KEY") if first else "") or ""
    webhook = own.get("stripe_webhook_secret") or (
        config.get("STRIPE_WEBHOOK_SECRET") if first else "") or ""
    return OutsideParts(mail, stripe_key, webhook, _sms(own, first, config),
                        _post(own, first, config))


def _post(own, first, config):
    """The creditor's registered-mail provider: its own, else (first creditor) POST_*."""
    if own.get("post_provider"):
        return {"provider": own["post_provider"],
                **{k: own[f"post_{k}"] or "" for k in POST_KEYS}}
    if first and config.get("POST_PROVIDER"):
        return {"provider": config["POST_PROVIDER"],
                **{k: config.get(f"POST_{k.upper()}") or "" for k in POST_KEYS}}
    return None


def _sms(own, first, config):
    """The creditor's SMS provider: its own, else (first creditor) the SMS_* variables."""
    if own.get("sms_provider"):
        return {"provider": own["sms_provider"], "account": own["sms_account"] or "",
                "token": own["sms_token"] or "", "sender": own["sms_sender"] or ""}
    if first and config.get("SMS_PROVIDER"):
        return {"provider": config["SMS_PROVIDER"], "account": config.get("SMS_ACCOUNT") or "",
                "token": config.get("SMS_TOKEN") or "", "sender": config.get("SMS_SENDER") or ""}
    return None


def outside_parts():
    """Where the creditor's e-mails go and which Stripe account takes its payments: its own
    (`flask creditors set`), else, for the first creditor, the installation's MAIL_* and
    STRIPE_* variables; another creditor without its own Stripe keys takes no online payment
    (its debtors pay by transfer) and sends through the installation's relay. Read with the
    identity, in the same statement."""
    return _load()[2]


def logo():
    """(bytes, media type) of the creditor's logo, or None (without a query when it has none)."""
    if not creditor().logo_type:
        return None
    row = db.session.execute(select(Creditor.logo, Creditor.logo_type)
                             .where(Creditor.id == creditor().id)).first()
    return (row.logo, row.logo_type) if row is not None and row.logo else None


def review_before_sending():
    """Whether this creditor's planned reminders wait for the accountant's release."""
    return bool(db.session.scalar(select(Creditor.review_before_sending)
                                  .where(Creditor.id == creditor().id)))


def set_review_before_sending(on):
    db.session.execute(update(Creditor).where(Creditor.id == ensure_creditor().id)
                       .values(review_before_sending=bool(on)))


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
    """The row of the creditor this context works for (unscoped: the first one), written from
    the CREDITOR_* variables when there is none yet."""
    creditor_id = tenancy.current_id()
    if creditor_id is not None:
        return db.session.get(Creditor, creditor_id)
    row = db.session.scalar(select(Creditor).order_by(Creditor.id).limit(1))
    if row is None:
        row = creditor_from_config(current_app.config)
        db.session.add(row)
        db.session.flush()
    forget()
    return row


def shipped():
    """The shipped defaults, read (no database: unit tests and first start); checked whole by
    the suite, not here."""
    if not _defaults:
        _defaults.append(load(default_document()))
    return _defaults[0]


def current():
    """The Settings in force (read once per revision and process; checked when saved)."""
    latest = _load()[1]
    if latest is None:
        return shipped()
    settings = _parsed.get(latest)
    if settings is None:
        # Core, as _load: a process's first ORM statement configures every mapper (~30 ms),
        # which is not the settings' cost.
        number, document = db.session.connection().execute(
            _DOCUMENT, {"revision_id": latest[0]}).one()
        if len(_parsed) > 32:  # revisions of the past: forget them
            _parsed.clear()
        settings = _parsed[latest] = load(document, revision=number)
    return settings


_DOCUMENT = select(SettingsRevision.__table__.c.number, SettingsRevision.__table__.c.document) \
    .where(SettingsRevision.__table__.c.id == bindparam("revision_id", type_=Integer))


def loaded():
    """What this request read of its creditor (identity, newest revision, outside parts): to be
    kept by a caller that knows when it changes (the portal: by the books' version)."""
    return _load()


def seed(state):
    """Take `loaded()`'s value, kept from an earlier request, instead of reading it again."""
    g.setdefault("relance_state", {})[tenancy.current_id()] = state


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
                              .where(SettingsRevision.creditor_id == creditor().id)
                              .order_by(SettingsRevision.number.desc()).limit(limit)).all()


EDITABLE = IDENTITY[2:-1]  # what the settings file and a revision say of the creditor


def _identity(row):
    return {k: getattr(row, k) or "" for k in EDITABLE}


def save(document, author, note="", identity=None, checked=None):
    """Check `document` whole (SettingsInvalid names every problem) and store it as the newest
    revision, with the creditor's `identity` changes if given (each revision keeps the identity
    it put in force, so that reverting brings an IBAN back too); returns the revision, or None
    when nothing changed. Saves one at a time: the creditor row is locked first. `checked`:
    what `parse(document)` just returned for this very dict (a page that checked it to show
    its problems), so that it is not checked twice."""
    # The check of every writer (reading a revision later does not render its templates).
    parsed = checked if checked is not None and checked.document is document \
        else parse(document)  # raises SettingsInvalid, nothing written
    owner = ensure_creditor()
    in_use = db.session.execute(
        select(Customer.policy, func.count()).where(Customer.policy.is_not(None),
                                                    Customer.creditor_id == owner.id)
        .group_by(Customer.policy)).all()
    gone = [(name, count) for name, count in in_use if name not in parsed.policies]
    if gone:
        raise SettingsInvalid([("policies", f"policy {name!r} is still chosen for {count} "
                                f"customer(s): give them another policy first")
                               for name, count in gone])
    # A copy: the caller may go on changing its dict; a saved revision never changes.
    document = copy.deepcopy({k: v for k, v in document.items() if k != "creditor"})
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
    number = db.session.scalar(select(func.max(SettingsRevision.number))
                               .where(SettingsRevision.creditor_id == owner.id)) or 0
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
    old = db.session.scalar(select(SettingsRevision).where(
        SettingsRevision.number == number, SettingsRevision.creditor_id == creditor().id))
    if old is None:
        raise LookupError(f"no settings revision {number}")
    return save(old.document, author, note=f"back to revision {number}",
                identity=old.document.get("creditor"))
