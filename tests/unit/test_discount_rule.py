"""The early-payment discount's rule (portal.rules.discount): the amount rounded half up to the cent,
the last day included and the day after excluded, nothing for a part-paid invoice."""
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from portal.rules.discount import discount_for, last_day
from portal.settings import shipped
from portal.rules.policies import discount_rate

ISSUED, DUE = date(2027, 3, 1), date(2027, 3, 31)


def policy(percent="2", days=10):
    return replace(shipped().policy_for(), discount_percent=percent, discount_days=days)


def test_no_discount_in_the_shipped_policy():
    assert shipped().policy_for().discount_percent == ""
    assert discount_for(shipped().policy_for(), 100_000, 0, ISSUED, DUE, ISSUED) is None
    assert last_day(shipped().policy_for(), ISSUED, DUE) is None


def test_the_last_day_is_included_and_the_day_after_excluded():
    rule = policy(days=10)
    on_last = discount_for(rule, 100_000, 0, ISSUED, DUE, date(2027, 3, 11))
    assert on_last.cents == 2_000 and on_last.pay_cents == 98_000
    assert on_last.last_day == date(2027, 3, 11)
    assert discount_for(rule, 100_000, 0, ISSUED, DUE, date(2027, 3, 12)) is None
    assert discount_for(rule, 100_000, 0, ISSUED, DUE, ISSUED).last_day == date(2027, 3, 11)


def test_without_days_the_discount_holds_until_the_due_date():
    rule = policy(days=0)
    assert discount_for(rule, 100_000, 0, ISSUED, DUE, DUE).last_day == DUE
    assert discount_for(rule, 100_000, 0, ISSUED, DUE, date(2027, 4, 1)) is None


@pytest.mark.parametrize("percent,total,cents", [
    ("2", 12_345, 247),      # 246.9 -> 247
    ("1.5", 10_033, 150),    # 150.495 -> 150
    ("1.5", 10_100, 152),    # 151.5 -> 152 (half up, not to even)
    ("2.5", 10_020, 251),    # 250.5 -> 251
    ("0.01", 4_999, 0),      # 0.4999 -> 0: less than a cent, no discount
])
def test_the_discount_is_rounded_half_up_to_the_cent(percent, total, cents):
    got = discount_for(policy(percent), total, 0, ISSUED, DUE, ISSUED)
    if cents == 0:
        assert got is None
    else:
        assert got.cents == cents and got.pay_cents + got.cents == total


def test_a_part_paid_invoice_gets_no_discount():
    assert discount_for(policy(), 100_000, 1, ISSUED, DUE, ISSUED) is None
    assert discount_for(policy(), 100_000, 100_000, ISSUED, DUE, ISSUED) is None


def test_the_percent_is_read_as_text_never_as_a_float():
    assert discount_rate("1.5") == Decimal("1.5") and discount_rate("1,5") == Decimal("1.5")
    for bad in ("0", "100", "-2", "abc", "1.555", "nan", "inf", ""):
        assert discount_rate(bad) is None, bad
    got = discount_for(policy("1.5"), 100_000, 0, ISSUED, DUE, ISSUED)
    assert got.percent_text("fr") == "1,5" and got.percent_text("en") == "1.5"
