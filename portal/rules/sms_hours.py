"""When a reminder's SMS may go out and to which number.

Quiet hours: not before 08:00 nor from 20:00 in the creditor's time zone, never on a Sunday or a
public holiday of the creditor's country. An SMS due outside them waits for the next allowed
instant: it is moved, never dropped."""
from datetime import datetime, time, timedelta, timezone
from functools import lru_cache

import holidays
import phonenumbers

OPENS, CLOSES = time(8, 0), time(20, 0)


@lru_cache(maxsize=8)
def _holidays(country):
    return holidays.country_holidays(country or "FR")


def _open_day(day, country):
    return day.weekday() != 6 and day not in _holidays(country)


def allowed(local, country):
    """Whether an SMS may go out at `local` (an aware datetime in the creditor's zone)."""
    return _open_day(local.date(), country) and OPENS <= local.time() < CLOSES


def next_allowed(now, zone, country):
    """The first instant at or after `now` (aware) when an SMS may go out, in UTC."""
    local = now.astimezone(zone)
    for _ in range(30):  # a fortnight of holidays and Sundays is already more than any calendar
        if allowed(local, country):
            return local.astimezone(timezone.utc)
        if local.time() < OPENS and _open_day(local.date(), country):
            local = datetime.combine(local.date(), OPENS, zone)
        else:
            local = datetime.combine(local.date() + timedelta(days=1), OPENS, zone)
    raise ValueError("no allowed hour for an SMS within 30 days")  # pragma: no cover


MOBILE = {phonenumbers.PhoneNumberType.MOBILE,
          phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def mobile_number(phone, country="FR"):
    """The debtor's phone in E.164 (+33612345678) when it is a valid mobile number (national
    numbers read in the creditor's country), else None: landlines get no SMS."""
    if not phone or not phone.strip():
        return None
    try:
        number = phonenumbers.parse(phone, country or "FR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in MOBILE:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
