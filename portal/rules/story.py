"""One debtor's story as the pages tell it: plain decisions over the schedule's answers.

The schedule (`portal.rules.schedule`) decides the facts: whether a hold stops the reminders, whether
a promise is running, kept or broken (its grace included), what comes next for an invoice
(`schedule.Upcoming`, gathered by `reminders.scan.upcoming_of`). The pages (the inbox, the debtor
page, the lists, the portal) ask these functions what to show from those answers, and never test
dates themselves. Pure: no Flask, no database; values in, values out.
"""
from datetime import date
from typing import NamedTuple

# What the schedule holds: nothing goes out for an invoice whose next step is one of these.
HELD = ("hold", "paused", "handed_over")
CLOSED = "closed"  # a named invoice that was paid or cancelled since


def holds_back(next_one):
    """Whether the schedule holds this invoice (an Upcoming, or None: every level sent)."""
    return next_one is not None and next_one.kind in HELD


def _ends(next_one):
    return next_one.on or date.max  # a hold with no end date ends last


class TaskState(NamedTuple):
    """Whether a call or letter task is work to do: "todo", "waiting" (`until`: the hold that
    holds it back, the first of its invoices' to end) or "done" (every invoice settled)."""
    state: str
    until: object = None  # schedule.Upcoming when waiting


def task_state(named):
    """A task about some invoices, each given as CLOSED (paid or cancelled since) or as what the
    schedule does next for it (an Upcoming or None). Work to do while one of its invoices is
    open and not held; waiting while each open one is held (promised, disputed, in a plan...):
    it comes back when the first hold ends; nothing to do once all are settled."""
    open_ones = [n for n in named if n is not CLOSED]
    if named and not open_ones:
        return TaskState("done")
    if not open_ones or not all(holds_back(n) for n in open_ones):
        return TaskState("todo")
    return TaskState("waiting", min(open_ones, key=_ends))


class CardState(NamedTuple):
    """What the portal says of one open invoice: a code the page words, and its date."""
    code: str  # plan, plan_requested, plan_countered, dispute, promised, promise_broken,
    #            not_received, payment_pending, late, open
    on: object = None


def card_state(held, plan_state=None, promise=None, days_late=0):
    """The one state the portal shows for an invoice. `held`: {hold kind: until} of the holds in
    force; `plan_state`: the state of the plan it is part of (None: none); `promise`: the
    schedule's status of its promise ("running", "broken"; None: no promise).

    An invoice in an instalment plan, asked for or approved, shows only as part of the plan
    (its older promise is replaced by the plan); a plan the accountant answered with another
    schedule waits for the debtor's answer."""
    if "plan" in held or "instalment_request" in held or plan_state in ("approved",
                                                                         "countered"):
        if plan_state == "countered":
            return CardState("plan_countered")
        return CardState("plan" if "plan" in held or plan_state == "approved"
                         else "plan_requested")
    if "dispute" in held:
        return CardState("dispute")
    if "promise" in held and promise in ("running", "broken"):
        return CardState("promised" if promise == "running" else "promise_broken",
                         held["promise"])
    if "not_received" in held:
        return CardState("not_received")
    if "payment_pending" in held:
        return CardState("payment_pending")
    return CardState("late", days_late) if days_late > 0 else CardState("open")
