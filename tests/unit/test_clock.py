"""'Today' is the creditor's date, not the server's: a server in UTC is an hour or two behind
Paris around midnight."""
from datetime import date, datetime, timezone

import pytest

from portal.clock import today


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def test_paris_midnight_comes_before_utc_midnight():
    assert today(utc(2026, 11, 22, 22, 59), "Europe/Paris") == date(2026, 11, 22)
    assert today(utc(2026, 11, 22, 23, 30), "Europe/Paris") == date(2026, 11, 23)  # UTC+1
    assert today(utc(2026, 7, 13, 22, 30), "Europe/Paris") == date(2026, 7, 14)  # UTC+2
    assert today(utc(2026, 11, 22, 23, 30), "UTC") == date(2026, 11, 22)


def test_outside_an_app_the_environment_decides(monkeypatch):
    monkeypatch.setenv("CREDITOR_TIMEZONE", "America/Martinique")  # UTC-4
    assert today(utc(2026, 11, 23, 2, 0)) == date(2026, 11, 22)
    monkeypatch.delenv("CREDITOR_TIMEZONE")
    assert today(utc(2026, 11, 22, 23, 30)) == date(2026, 11, 23)  # Europe/Paris by default


def test_an_unknown_zone_says_what_to_write():
    with pytest.raises(ValueError, match="IANA name such as Europe/Paris"):
        today(tz="Paris")


def test_the_today_fixture_pins_the_date_for_the_whole_test(today):
    from portal import clock
    assert clock.today() == today
    with clock.pin(date(2027, 3, 23)):
        assert clock.today() == date(2027, 3, 23)
    assert clock.today() == today
