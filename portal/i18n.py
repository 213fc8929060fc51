"""Locale: Flask-Babel for pages, plus filters that format money and dates for an explicit
language (e-mails are rendered outside any request)."""
import os
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, get_currency_symbol
from flask import g, request
from flask_babel import get_locale
from flask_login import current_user

from .extensions import babel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LOCALES = {"fr": "fr_FR", "en": "en_GB"}


@lru_cache(maxsize=16)
def _money_layout(language, currency):
    """The locale's currency layout, read from Babel once: (prefixes, suffixes, group, decimal)."""
    locale = Locale.parse(LOCALES.get(language, "fr_FR"))
    pattern = locale.currency_formats["standard"]
    symbol = get_currency_symbol(currency, locale)
    symbols = locale.number_symbols.get("latn", locale.number_symbols)
    if pattern.grouping[:2] != (3, 3) or pattern.frac_prec != (2, 2):
        return None  # not the usual shape: let Babel do it
    fix = lambda parts: tuple(p.replace("¤", symbol) for p in parts)  # noqa: E731
    return fix(pattern.prefix), fix(pattern.suffix), symbols["group"], symbols["decimal"]


def money(cents, language="fr", currency="EUR"):
    """12345 -> '123,45 €' (fr) or '€123.45' (en), from integer cents, never a float.

    The same text as babel.numbers.format_currency (tests compare them), without re-reading the
    locale's pattern for every amount: the run formats a dozen amounts per e-mail."""
    layout = _money_layout(language, currency)
    if layout is None:
        return format_currency(Decimal(cents).scaleb(-2), currency,
                               locale=LOCALES.get(language, "fr_FR"))
    prefixes, suffixes, group, decimal = layout
    units, hundredths = divmod(abs(cents), 100)
    number = f"{units:,}".replace(",", group) + decimal + f"{hundredths:02d}"
    sign = 1 if cents < 0 else 0
    return prefixes[sign] + number + suffixes[sign]


def share(value, language="fr"):
    """Decimal("71.4") -> '71,4 %' (fr) or '71.4%' (en): a percentage as the reader writes it;
    None -> '—' (nothing to tell)."""
    if value is None:
        return "—"
    number = format_decimal(value, format="0.0", locale=LOCALES.get(language, "fr_FR"))
    return f"{number}\u00a0%" if language == "fr" else f"{number}%"


def number(value, language="fr"):
    """Decimal("18.5") -> '18,5' (fr), '18.5' (en); Decimal("3") -> '3'."""
    return format_decimal(value, format="0.#", locale=LOCALES.get(language, "fr_FR"))


def signed(value, language="fr"):
    """Decimal("-50.0") -> '-50,0' (fr), '+19.2' (en): a difference in points, its sign shown."""
    number = format_decimal(abs(value), format="0.0", locale=LOCALES.get(language, "fr_FR"))
    return ("-" if value < 0 else "+") + number


def plain_amount(cents):
    """12345 -> '123.45': the API's and the CLI's decimal string, exact."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


@lru_cache(maxsize=4096)
def day(value, language="fr", fmt="long"):
    if value is None:  # Babel would print today's date: never state a date that is not there
        raise ValueError("no date to show")
    return format_date(value, format=fmt, locale=LOCALES.get(language, "fr_FR"))


def _back_office_user_language():
    """On a back-office page, the language the logged-in user chose (None: not chosen, or
    nobody logged in)."""
    if not (request.path == "/admin" or request.path.startswith("/admin/")):
        return None
    user = current_user  # Flask-Login loads it once per request (anonymous: not logged in)
    if user is None or not user.is_authenticated:
        return None
    return getattr(user, "language", None)


def moment(value, language=None):
    """An aware timestamp as the reader reads it: in the creditor's time zone, "2 déc. 2026,
    09:15" in French. For pages (the reader's language)."""
    from . import clock
    language = language or current_lang()
    return format_datetime(value.astimezone(clock.zone()), format="medium",
                           locale=LOCALES.get(language, "fr_FR"))


def select_locale():
    """On the back office, the language the user chose for it. Else the language asked for
    (?lang=, then the cookie it sets), else the debtor's own, else the browser's; French by
    default."""
    chosen = _back_office_user_language()
    if chosen in LOCALES:
        return chosen
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen in LOCALES:
        return chosen
    customer = getattr(g, "customer", None)
    if customer is not None and customer.language in LOCALES:
        return customer.language
    return request.accept_languages.best_match(list(LOCALES)) or "fr"


def current_lang():
    locale = get_locale()
    return locale.language if locale and locale.language in LOCALES else "fr"


def remember_language(response):
    """A language picked with ?lang= sticks for the next pages."""
    chosen = request.args.get("lang")
    if chosen in LOCALES and request.cookies.get("lang") != chosen:
        response.set_cookie("lang", chosen, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


def init_app(app):
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=os.path.join(ROOT, "translations"))
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["share"] = share
    app.jinja_env.filters["signed"] = signed
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["moment"] = moment
    app.jinja_env.globals["current_lang"] = current_lang
    app.after_request(remember_language)
