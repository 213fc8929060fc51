"""The rules of text messages, without a server: how long a message is as networks count it,
when one may go out (quiet hours over Sundays and French public holidays), which numbers are
mobiles, and the plain typography an SMS is written in."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from portal.settings.templates import sms_text
from portal.rules.sms_hours import mobile_number, next_allowed
from portal.rules.sms_length import length, non_gsm

PARIS = ZoneInfo("Europe/Paris")


def paris(text):
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


@pytest.mark.parametrize("message, expected", [
    ("", ("GSM-7", 0, 0, 160)),
    ("a" * 160, ("GSM-7", 160, 1, 160)),
    ("a" * 161, ("GSM-7", 161, 2, 153)),
    ("é" * 306, ("GSM-7", 306, 2, 153)),  # é, è, à, ù are in the GSM alphabet
    ("€" * 80, ("GSM-7", 160, 1, 160)),  # the euro sign is an escape: it counts twice
    ("€" * 81, ("GSM-7", 162, 2, 153)),
    ("ê" + "a" * 69, ("UCS-2", 70, 1, 70)),  # ê is not: the whole message becomes UCS-2
    ("ê" + "a" * 70, ("UCS-2", 71, 2, 67)),
    ("🙂" * 35, ("UCS-2", 70, 1, 70)),  # an emoji takes two UTF-16 units
    # An escape is never split: 152 + € (2) cannot fill the first 153, so three segments.
    ("a" * 152 + "€" + "a" * 152, ("GSM-7", 306, 3, 153)),
    ("a" * 151 + "€" + "a" * 153, ("GSM-7", 306, 2, 153)),
])
def test_length_counts_as_networks_do(message, expected):
    found = length(message)
    assert (found.encoding, found.units, found.segments, found.per_segment) == expected


def test_the_characters_that_force_ucs2_are_named():
    assert non_gsm("Payé, reçu, fenêtre, cœur") == ["ç", "ê", "œ"]


@pytest.mark.parametrize("now, allowed", [
    ("2026-12-07T10:00", "2026-12-07T10:00"),  # a Monday morning: at once
    ("2026-12-07T07:59", "2026-12-07T08:00"),  # too early: at 08:00
    ("2026-12-07T20:00", "2026-12-08T08:00"),  # 20:00 is already too late
    ("2026-12-04T21:00", "2026-12-05T08:00"),  # Friday 21:00: Saturday is allowed
    ("2026-12-05T21:00", "2026-12-07T08:00"),  # Saturday evening: not on Sunday
    ("2026-12-06T12:00", "2026-12-07T08:00"),  # Sunday noon
    ("2026-12-24T21:00", "2026-12-26T08:00"),  # Christmas Eve: not on Christmas Day
    ("2027-04-30T20:30", "2027-05-03T08:00"),  # 1 May (Saturday), then a Sunday
    ("2027-03-28T06:00", "2027-03-30T08:00"),  # Easter Sunday (clocks forward), Easter Monday
])
def test_quiet_hours_move_a_message_never_drop_it(now, allowed):
    found = next_allowed(paris(now), PARIS, "FR")
    assert found.tzinfo is not None and found.astimezone(PARIS) == paris(allowed)


@pytest.mark.parametrize("phone, expected", [
    ("06 12 34 56 78", "+33612345678"),
    ("+33 7 81 23 45 67", "+33781234567"),
    ("0033 6 12 34 56 78", "+33612345678"),
    ("04 78 00 00 00", None),  # a landline gets no SMS
    ("+44 20 7946 0018", None),
    ("+44 7911 123456", "+447911123456"),  # a British mobile
    ("", None), (None, None), ("appeler le standard", None), ("06 12", None),
])
def test_only_valid_mobile_numbers_get_an_sms(phone, expected):
    assert mobile_number(phone, "FR") == expected


def test_sms_text_is_written_in_plain_typography():
    rendered = "Atelier : 1\u202f234,56\u00a0€ à payer \u2014 l\u2019échéance\n\n  Payer : x  \n"
    assert sms_text(rendered) == "Atelier : 1 234,56 € à payer - l'échéance\nPayer : x"
    assert length(sms_text(rendered)).encoding == "GSM-7"
