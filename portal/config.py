"""Settings read from the environment (DESIGN.md section 5), one class per environment.

`RELANCE_ENV` picks the class: development, test or production. Left unset, only the embedded
SQLite database under `instance/` (the demo, a laptop) runs as development; any other database
is production, with its checks: a deployment that forgets the variable is safe, not open.
"""
import ipaddress
import math
import os
from urllib.parse import urlsplit

DEFAULT_SECRET_KEY = "dev-secret-change-me"
KNOWN_KEYS = (DEFAULT_SECRET_KEY, "test-secret", "secret", "changeme", "change-me")
MIN_KEY_LENGTH, MIN_KEY_VARIETY = 32, 10  # characters, distinct characters
# Estimated bits (key_bits) a signing key must carry. A secrets.token_urlsafe(32) scores 188 or
# more, a token_hex(16) about 90 to 150 (20,000 draws each); '0123456789' * 4 scores 13.
MIN_KEY_BITS = 96


class ConfigError(ValueError):
    """The configuration cannot be used; the message says what to set."""


def _int(name, default):
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a whole number; set it to e.g. "
                          f"{name}={default}.") from None


def _bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url():
    url = os.environ.get("DATABASE_URL", "sqlite:///relance.db")
    # Heroku-style URLs name the dialect "postgres"; SQLAlchemy wants an explicit driver.
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000")
    LINK_MAX_AGE_DAYS = _int("LINK_MAX_AGE_DAYS", 60)
    API_TOKEN = os.environ.get("API_TOKEN")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "relances@example.fr")
    MAIL_SUPPRESS_SEND = False
    # When set, the reminder run writes .eml files to this folder instead of using SMTP (demo).
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR")
    # Debtors claimed by a run process at a time (each batch recorded before the next).
    MAIL_BATCH_SIZE = _int("MAIL_BATCH_SIZE", 200)
    # SMTP connections one run process keeps busy at once (reminders/senders.py).
    MAIL_CONNECTIONS = _int("MAIL_CONNECTIONS", 8)
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 60)  # seconds a relay may take to answer

    # Text messages (portal/sms): "twilio" (SMS_ACCOUNT = the account SID, SMS_TOKEN = its auth
    # token, SMS_SENDER = a number or an alphanumeric sender name) or "outbox" (files in
    # SMS_OUTBOX_DIR, the demo's). TWILIO_API_BASE: a local stand-in of Twilio's API (tests).
    SMS_PROVIDER = os.environ.get("SMS_PROVIDER")
    SMS_ACCOUNT = os.environ.get("SMS_ACCOUNT")
    SMS_TOKEN = os.environ.get("SMS_TOKEN")
    SMS_SENDER = os.environ.get("SMS_SENDER", "")
    SMS_OUTBOX_DIR = os.environ.get("SMS_OUTBOX_DIR")
    TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE")
    SMS_TIMEOUT = _int("SMS_TIMEOUT", 15)  # seconds the provider may take to accept one SMS

    # Registered letters by API (portal/post): "maileva" with its API credentials; the letters
    # of the levels that send one go through it instead of the accountant's desk.
    POST_PROVIDER = os.environ.get("POST_PROVIDER")
    POST_CLIENT_ID = os.environ.get("POST_CLIENT_ID")
    POST_CLIENT_SECRET = os.environ.get("POST_CLIENT_SECRET")
    POST_USERNAME = os.environ.get("POST_USERNAME")
    POST_PASSWORD = os.environ.get("POST_PASSWORD")
    MAILEVA_API_BASE = os.environ.get("MAILEVA_API_BASE")  # default https://api.maileva.com
    MAILEVA_AUTH_URL = os.environ.get("MAILEVA_AUTH_URL")  # default Maileva's token URL

    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE")
    # Without a Stripe key, the demo gateway (buttons that mark invoices paid with no money)
    # stands in only where asked for: PAYMENTS_DEMO=1 (`flask demo` sets it; never production).
    PAYMENTS_DEMO = _bool("PAYMENTS_DEMO")
    # Behind a reverse proxy: how many proxies in front set X-Forwarded-For (0: none, trust no
    # such header). The login limit counts per client address, so set it behind nginx.
    PROXY_HOPS = _int("PROXY_HOPS", 0)
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024  # no request body beyond 16 MB (API batches included)

    CREDITOR_NAME = os.environ.get("CREDITOR_NAME", "Atelier Martin SARL")
    CREDITOR_ADDRESS = os.environ.get("CREDITOR_ADDRESS", "12 rue des Tanneurs, 69002 Lyon")
    CREDITOR_EMAIL = os.environ.get("CREDITOR_EMAIL", "compta@atelier-martin.example.fr")
    CREDITOR_PHONE = os.environ.get("CREDITOR_PHONE", "+33 4 78 00 00 00")
    CREDITOR_IBAN = os.environ.get("CREDITOR_IBAN", "FR76 3000 6000 0112 3456 7890 189")
    CREDITOR_BIC = os.environ.get("CREDITOR_BIC", "AGRIFRPPXXX")
    CREDITOR_SIREN = os.environ.get("CREDITOR_SIREN", "123 456 789")
    CREDITOR_COUNTRY = os.environ.get("CREDITOR_COUNTRY", "FR")
    # "Today" for the run, the portal and the back office is the date in this zone (IANA name).
    CREDITOR_TIMEZONE = os.environ.get("CREDITOR_TIMEZONE", "Europe/Paris")

    # Back-office users may deploy behind TLS; cookies follow.
    SESSION_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SAMESITE = "Lax"
    BABEL_DEFAULT_LOCALE = "fr"


class DevelopmentConfig(Config):
    pass


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    # Tests can never reach a real mail server: each test points MAIL_PORT at its own aiosmtpd.
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 1
    MAIL_OUTBOX_DIR = None
    API_TOKEN = "test-api-token"
    PORTAL_BASE_URL = "http://portal.test"
    PAYMENTS_DEMO = True


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


CONFIGS = {"development": DevelopmentConfig, "test": TestConfig, "production": ProductionConfig}


def _embedded(url):
    """Whether the database URL is the embedded SQLite file under instance/ (the default)."""
    if not url.startswith("sqlite:///"):
        return False
    path = url[len("sqlite:///"):]
    if not os.path.isabs(path):
        return True  # Flask-SQLAlchemy puts relative SQLite paths in the instance folder
    instance = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "instance")
    return os.path.dirname(os.path.abspath(path)) == instance


def config_for(name=None):
    name = name or os.environ.get("RELANCE_ENV")
    if not name:
        name = "development" if _embedded(_database_url()) else "production"
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"RELANCE_ENV={name!r} is unknown; use one of {', '.join(CONFIGS)}.") from None


def weak_key(secret):
    """Why `secret` cannot sign production links, or None."""
    if len(secret) < MIN_KEY_LENGTH:
        return f"it has fewer than {MIN_KEY_LENGTH} characters"
    if any(known in secret.lower() for known in KNOWN_KEYS):
        return "it contains a published default key"
    if len(set(secret)) < MIN_KEY_VARIETY:
        return f"it has fewer than {MIN_KEY_VARIETY} different characters"
    bits = key_bits(secret)
    if bits < MIN_KEY_BITS:
        return (f"it carries about {bits:.0f} bits of entropy, under {MIN_KEY_BITS}: runs, "
                "sequences and repeats are guessable")
    return None


def key_bits(secret):
    """An estimate of the key's entropy in bits: each character nobody could have predicted
    is worth log2 of the key's alphabet (its distinct characters). Predictable: one that
    continues a run or a sequence (the same step as the previous one: aaaa, 0123, fedc) or
    ends three characters already seen (a repeat: abcabc). Shannon's formula alone rates
    '0123456789' * 4 at 133 bits; this rates it at 13."""
    seen, free = set(), 0
    for i, char in enumerate(secret):
        step = ord(char) - ord(secret[i - 1]) if i else None
        before = ord(secret[i - 1]) - ord(secret[i - 2]) if i > 1 else None
        gram = secret[max(0, i - 2):i + 1]
        repeated = len(gram) == 3 and gram in seen
        seen.add(gram)
        free += not (repeated or (step is not None and step == before))
    return free * math.log2(max(2, len(set(secret))))


def _loopback(host):
    """Whether a host name is this machine (localhost, 127.0.0.0/8, ::1) or no machine."""
    host = (host or "").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def bad_base_url(url):
    """Why the portal's address cannot go into e-mailed links, or None."""
    parts = urlsplit(url or "")
    if parts.scheme != "https" or not parts.hostname:
        return "it is not an https:// address"
    if _loopback(parts.hostname):
        return "it points at this machine (localhost), which no debtor can reach"
    return None


def check_production(config):
    """Refuse to run in production with settings that are only safe on a laptop."""
    if config.get("ENV_NAME") != "production":
        return
    why = weak_key(config.get("SECRET_KEY") or "")
    if why:
        raise ConfigError(
            f"Refusing to start in production: SECRET_KEY cannot sign portal links ({why}). "
            "Set SECRET_KEY to a random value, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` (or set "
            "RELANCE_ENV=development on a laptop)."
        )
    if config.get("SQLALCHEMY_DATABASE_URI", "").startswith("sqlite"):
        raise ConfigError("Production needs PostgreSQL: set DATABASE_URL=postgresql://user@host/dbname "
                          "(or RELANCE_ENV=development on a laptop).")
    if config.get("PAYMENTS_DEMO"):
        raise ConfigError("PAYMENTS_DEMO marks invoices paid with no money: unset it in production.")
    _check_links(config)


def _check_links(config):
    """The links the reminders carry must open: a live link, at an address debtors reach."""
    days = config.get("LINK_MAX_AGE_DAYS")
    if not isinstance(days, int) or days <= 0:
        raise ConfigError(f"LINK_MAX_AGE_DAYS={days!r} would make every portal link expire at "
                          "once: set it to a number of days, e.g. LINK_MAX_AGE_DAYS=60.")
    why = bad_base_url(config.get("PORTAL_BASE_URL"))
    if why:
        raise ConfigError(f"PORTAL_BASE_URL={config.get('PORTAL_BASE_URL')!r} cannot go into "
                          f"e-mailed links ({why}): set it to the portal's public address, e.g. "
                          "PORTAL_BASE_URL=https://relance.example.fr.")

