"""What comes next for a debtor, as the back office says it: the lists, the debtor page and the
inbox word the schedule's answer (`reminders.scan.upcoming_of`) with these same functions, so
that they say the same thing."""
from datetime import date

from flask_babel import gettext as _

from ..i18n import current_lang, day
from .timeline import say


def next_per_debtor(upcoming):
    """{customer id: the Upcoming to show}: the earliest reminder among its invoices, else why
    nothing goes out (a hold, a pause)."""
    best = {}
    for customer_id, next_one in upcoming.values():
        if next_one is None:
            continue
        known = best.get(customer_id)
        if known is None or _earlier(next_one, known):
            best[customer_id] = next_one
    return best


def _earlier(one, other):
    if (one.kind == "reminder") != (other.kind == "reminder"):
        return one.kind == "reminder"  # a reminder to come says more than a hold
    return (one.on or date.max) < (other.on or date.max)  # no end date: last


def next_words(next_one):
    """The next action as the lists say it, in the reader's language."""
    if next_one is None:
        return _("last level reached: over to you")
    when = day(next_one.on, current_lang(), "short") if next_one.on else None
    if next_one.kind == "reminder" and next_one.heads_up:
        return _("heads-up before the due date on %(day)s", day=when)
    if next_one.kind == "reminder":
        return _("level %(level)d reminder on %(day)s", level=next_one.level, day=when)
    if next_one.kind == "handed_over":
        return _("handed over on %(day)s: no more reminders", day=when)
    if next_one.kind == "paused":
        return _("reminders suspended until %(day)s", day=when)
    reason = next_one.note or say("hold", next_one.hold)
    if when:
        return _("on hold (%(reason)s) until %(day)s", reason=reason, day=when)
    return _("on hold (%(reason)s)", reason=reason)
