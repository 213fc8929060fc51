"""Today's date where the creditor works. Servers often run in UTC; a French business's day
starts at midnight in Paris, so a promise made at 00:30 on the 23rd is made on the 23rd.

Every "today" of the application (the run's default date, the portal's limits, the back office,
payments) and of the tests comes from `today()`; timestamps stay aware UTC (models.utcnow)."""
import os
from contextlib import contextmanager
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Europe/Paris"


def zone(name=None):
    """The creditor's time zone: `name`, else the creditor's own (its settings: the row
    `flask init-db` made from CREDITOR_TIMEZONE, changed with `flask settings import`), else
    the environment's (outside an app), else Europe/Paris."""
    if name is None:
        name = (_creditor_zone() if has_app_context()
                else os.environ.get("CREDITOR_TIMEZONE", DEFAULT_TIMEZONE))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"CREDITOR_TIMEZONE={name!r} is not a time zone; use an IANA name such "
                         "as Europe/Paris") from None


_creditor_zone_source = None  # set by portal.settings (the clock reads no settings itself)


def provide_creditor_zone(source):
    """Where the creditor's zone comes from: `source()` gives its name in the current context
    (portal.settings registers the creditor's identity, read once per request or run)."""
    global _creditor_zone_source
    _creditor_zone_source = source


def _creditor_zone():
    """The creditor's zone; the app's CREDITOR_TIMEZONE while nothing provides one."""
    if _creditor_zone_source is None:
        return current_app.config["CREDITOR_TIMEZONE"]
    return _creditor_zone_source()


_pinned = None  # a date `pin` fixes for this process, or None


def today(now=None, tz=None) -> date:
    """The creditor's date at `now` (an aware datetime; default: this instant, or the pinned
    date)."""
    if now is None and tz is None and _pinned is not None:
        return _pinned
    return (now or datetime.now(timezone.utc)).astimezone(zone(tz)).date()


@contextmanager
def pin(day):
    """Make `today()` return `day` in this process while the block runs: a test (or a demo)
    that must not see the date change under it at midnight."""
    global _pinned
    before, _pinned = _pinned, day
    try:
        yield day
    finally:
        _pinned = before


_pinned_instant = None  # an instant `pin_instant` fixes for this process, or None


def now():
    """This instant, aware UTC (or the pinned one): when a text message may go out depends on
    the hour, so the run asks here and a test can stand at 21:00."""
    return _pinned_instant or datetime.now(timezone.utc)


@contextmanager
def pin_instant(instant):
    """Make `now()` return `instant` (aware) while the block runs."""
    global _pinned_instant
    before, _pinned_instant = _pinned_instant, instant.astimezone(timezone.utc)
    try:
        yield _pinned_instant
    finally:
        _pinned_instant = before
