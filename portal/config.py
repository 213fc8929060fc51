"""Settings read from the environment (DESIGN.md section 5), one class per environment.

`RELANCE_ENV` picks the class: development (default), test or production.
"""
import os
from decimal import Decimal

DEFAULT_SECRET_KEY = "dev-secret-change-me"


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
    LINK_MAX_AGE_DAYS = int(os.environ.get("LINK_MAX_AGE_DAYS", "60"))
    API_TOKEN = os.environ.get("API_TOKEN")

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "relances@example.fr")
    MAIL_SUPPRESS_SEND = False
    # When set, the reminder run writes .eml files to this folder instead of using SMTP (demo).
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR")
    # Messages sent over one SMTP connection before the run commits and reconnects.
    MAIL_BATCH_SIZE = int(os.environ.get("MAIL_BATCH_SIZE", "200"))

    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE")
    # Without a Stripe key, the demo gateway stands in (development and tests only).
    PAYMENTS_DEMO = True

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
    # Late-payment interest (Code de commerce L441-10): ECB refinancing rate + 10 points unless the
    # contract says otherwise. Set it each semester; the fixed indemnity is 40 EUR per invoice.
    LATE_INTEREST_RATE_PERCENT = Decimal(os.environ.get("LATE_INTEREST_RATE_PERCENT", "12.15"))
    RECOVERY_INDEMNITY_CENTS = int(os.environ.get("RECOVERY_INDEMNITY_CENTS", "4000"))

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


class ProductionConfig(Config):
    ENV_NAME = "production"
    PAYMENTS_DEMO = False
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


CONFIGS = {"development": DevelopmentConfig, "test": TestConfig, "production": ProductionConfig}


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says what to set."""


def config_for(name=None):
    name = name or os.environ.get("RELANCE_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"RELANCE_ENV={name!r} is unknown; use one of {', '.join(CONFIGS)}.") from None


def check_production(config):
    """Refuse to run in production with settings that are only safe on a laptop."""
    if config.get("ENV_NAME") != "production":
        return
    secret = config.get("SECRET_KEY") or ""
    if secret == DEFAULT_SECRET_KEY or len(secret) < 32:
        raise ConfigError(
            "Refusing to start in production with the default or a short SECRET_KEY. "
            "Set SECRET_KEY to a random value of at least 32 characters, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
        )
    if config.get("SQLALCHEMY_DATABASE_URI", "").startswith("sqlite"):
        raise ConfigError("Production needs PostgreSQL: set DATABASE_URL=postgresql://user@host/dbname.")


def creditor(config):
    """The creditor's details as templates and letters use them."""
    return {k: config[f"CREDITOR_{k.upper()}"]
            for k in ("name", "address", "email", "phone", "iban", "bic", "siren", "country")}
