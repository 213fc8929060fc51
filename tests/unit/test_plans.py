"""Instalment arithmetic: exact to the cent, the last instalment takes the rounding."""
from datetime import date

import pytest

from portal.instalments import monthly_dates, split_amounts


@pytest.mark.parametrize("total,count", [(100_000, 3), (100, 2), (99_999, 7), (175_040, 6),
                                         (10_000_000_01, 12)])
def test_split_is_exact(total, count):
    amounts = split_amounts(total, count)
    assert sum(amounts) == total and len(amounts) == count
    assert len(set(amounts[:-1])) <= 1 and amounts[-1] >= amounts[0]
    assert amounts[-1] - amounts[0] < count


def test_split_example():
    assert split_amounts(100_000, 3) == [33_333, 33_333, 33_334]


def test_monthly_dates_keep_the_day_or_the_month_end():
    assert monthly_dates(date(2026, 1, 31), 4) == [date(2026, 1, 31), date(2026, 2, 28),
                                                   date(2026, 3, 31), date(2026, 4, 30)]
    assert monthly_dates(date(2026, 11, 15), 3) == [date(2026, 11, 15), date(2026, 12, 15),
                                                    date(2027, 1, 15)]


@pytest.mark.parametrize("total,count", [(1, 2), (5, 6), (2, 3), (99, 2), (299, 6)])
def test_d14_no_instalment_under_the_minimum(total, count):
    """FINDINGS D14: 0.01 EUR in 2 made [0, 1] cents; each instalment is 0.50 EUR at least."""
    with pytest.raises(ValueError, match="under 50 cents"):
        split_amounts(total, count)
    assert min(split_amounts(300, 6)) == 50
