"""Amounts, dates and penalties: exact to the cent, never a float."""
from datetime import date
from decimal import Decimal

import pytest

from portal.imports import parse_amount, parse_date
from portal.rules.penalties import late_interest_cents, penalty_for


@pytest.mark.parametrize("text,cents", [
    ("1234.56", 123456), ("1 234,56", 123456), ("1\u202f234,56", 123456), ("1.234,56", 123456),
    ("1,234.56", 123456), ("0,1", 10), ("12", 1200), ("1.234.567", 123456700), ("99,99 €", 9999),
    ("0.30", 30),
])
def test_amounts(text, cents):
    assert parse_amount(text) == cents


@pytest.mark.parametrize("text", ["", "abc", "1,234", "1.2.3", "-5", "1,2,3", "12.345", "nan"])
def test_bad_amounts(text):
    with pytest.raises(ValueError):
        parse_amount(text)


def test_dates():
    assert parse_date("2026-03-01") == date(2026, 3, 1)
    assert parse_date("01/03/2026") == date(2026, 3, 1)
    with pytest.raises(ValueError, match="YYYY-MM-DD or DD/MM/YYYY"):
        parse_date("03-01-2026")


def test_late_interest_is_exact():
    # 10 000,00 EUR, 12.15 % a year, 73 days: 10000 * 0.1215 * 73 / 365 = 243.00 EUR
    assert late_interest_cents(1_000_000, 73, Decimal("12.15")) == 24300
    # Rounded half up to the cent: 0.10 EUR * 12.15 % * 1 / 365 = 0.0000333 -> 0
    assert late_interest_cents(10, 1, Decimal("12.15")) == 0
    assert late_interest_cents(1_000_000, 0, Decimal("12.15")) == 0


def test_penalty_adds_the_fixed_indemnity_once_late():
    p = penalty_for("business", 123_456, date(2026, 1, 1), date(2026, 3, 2))  # ECB 2.15 + 10
    assert p.days_late == 60
    assert p.interest_cents == 2466  # 1234.56 * 0.1215 * 60 / 365 = 24.6577...
    assert p.total_cents == 2466 + 4000
    assert penalty_for("business", 123_456, date(2026, 1, 1), date(2026, 1, 1)).total_cents == 0


@pytest.mark.parametrize("language,locale", [("fr", "fr_FR"), ("en", "en_GB")])
def test_money_formatting_matches_babel(language, locale):
    from babel.numbers import format_currency

    from portal.i18n import money
    values = [0, 1, 9, 10, 99, 100, 12345, 99999, 100000, 123456789, 10**12 + 7, -1, -123456]
    for cents in values:
        assert money(cents, language) == format_currency(Decimal(cents).scaleb(-2), "EUR",
                                                         locale=locale), cents
    assert money(123456, "fr") == "1\u202f234,56\u00a0€"
    assert money(123456, "en") == "€1,234.56"


def test_emails():
    from portal.imports import parse_emails
    assert parse_emails(" a@b.fr; c@d.com ") == "a@b.fr, c@d.com"
    for bad in ("", "nobody", "a@b", "jé@exemple.fr", "a@b.fr\nBcc: x@y.z"):
        with pytest.raises(ValueError):
            parse_emails(bad)
