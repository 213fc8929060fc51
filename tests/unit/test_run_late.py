"""The rule "is the last run late?" (portal.run_log.late) on the French calendar: late once a
whole business day went by without a successful run; weekends and public holidays are not
missed days, and the day itself has not passed yet."""
from datetime import date

import pytest

from portal.run_log import late
from portal.rules.schedule import calendar_for

FR = calendar_for("FR")


@pytest.mark.parametrize("last, today, expected", [
    # the same day, the next business day: the day's run may still come
    ("2026-12-07", "2026-12-07", False),  # Monday
    ("2026-12-07", "2026-12-08", False),
    # Tuesday went by without a run: late on Wednesday
    ("2026-12-07", "2026-12-09", True),
    # a weekend is not a missed day: Friday's run, Monday is fine, Tuesday is late
    ("2026-12-04", "2026-12-07", False),
    ("2026-12-04", "2026-12-08", True),
    # a run on Saturday counts as much as one on Friday
    ("2026-12-05", "2026-12-07", False),
    # Christmas (Friday 25) and the weekend: Thursday's run is enough until Monday 28
    ("2026-12-24", "2026-12-28", False),
    ("2026-12-24", "2026-12-29", True),
    # New Year's Day (Friday 1 January 2027)
    ("2026-12-31", "2027-01-04", False),
    ("2026-12-31", "2027-01-05", True),
    # Easter Monday 2027 (29 March): Friday's run is enough until Tuesday
    ("2027-03-26", "2027-03-30", False),
    ("2027-03-26", "2027-03-31", True),
    # 1 and 8 May 2026 are Fridays, Ascension Thursday 14 May
    ("2026-04-30", "2026-05-04", False),
    ("2026-05-13", "2026-05-15", False),
    ("2026-05-13", "2026-05-18", True),
    # a run dated later than today (--date in the future) is never late
    ("2026-12-10", "2026-12-07", False),
])
def test_late_when_a_business_day_passed_without_a_successful_run(last, today, expected):
    assert late(date.fromisoformat(last), date.fromisoformat(today), FR) is expected


def test_a_long_gap_is_late_whatever_the_calendar():
    assert late(date(2026, 11, 2), date(2026, 12, 7), FR)


def test_the_country_s_calendar_decides():
    # 1 November 2027 is a Monday: a holiday in France, a business day in Germany's federal
    # calendar (All Saints is regional there)
    assert not late(date(2027, 10, 29), date(2027, 11, 2), FR)
    assert late(date(2027, 10, 29), date(2027, 11, 2), calendar_for("DE"))
