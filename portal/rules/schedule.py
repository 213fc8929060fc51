"""The schedule: for one open invoice, the next reminder and the business day it is due.

Pure functions of the invoice's facts, its holds, the policy and a date; no database, no request.
`due_action(...)` answers "what does the run send for this invoice on `as_of`?".
"""
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import NamedTuple

import holidays

ONE_DAY = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# "plan": an approved instalment plan replaces the invoice's own reminders by the instalments'.
BLOCKING_HOLDS = ("instalment_request", "plan", "dispute", "payment_pending", "manual_pause")
# An instalment's two reminders (they are not policy levels): the heads-up before its date (for
# a SEPA debit, the pre-notification) and one reminder after it while unpaid.
INSTALMENT_HEADS_UP, INSTALMENT_OVERDUE = 0, 1


class Calendar:
    """Business days of the creditor's country: weekends and public holidays are skipped."""

    def __init__(self, country="FR"):
        self.country = country
        self._holidays = holidays.country_holidays(country)
        self._next = lru_cache(maxsize=8192)(self._next_business_day)

    def is_business_day(self, day):
        return day.weekday() < 5 and day not in self._holidays

    def _next_business_day(self, day):
        while not self.is_business_day(day):
            day += ONE_DAY
        return day

    def next_business_day(self, day):
        """`day` itself if it is a business day, else the first one after it."""
        return self._next(day)

    def heads_up_day(self, due_date, days_before):
        """When to warn `days_before` a date: the first business day from then on, or, when the
        days in between are all off (a long Easter or Christmas weekend), the last one before."""
        nominal = due_date - timedelta(days=days_before)
        day = self._next(nominal)
        if day >= due_date:  # every day in between is off: warn before the long weekend
            day = nominal
            while not self.is_business_day(day):
                day -= ONE_DAY
        return day

    def add_business_days(self, day, count):
        for _ in range(count):
            day = self._next(day + ONE_DAY)
        return day


@lru_cache(maxsize=8)
def calendar_for(country="FR"):
    return Calendar(country)


class HoldFact(NamedTuple):
    kind: str
    starts_on: date
    until: date | None = None
    released: bool = False
    created_at: datetime | None = None  # when it was recorded (a failure after a send, same day)
    note: str | None = None  # why, in the accountant's words (a manual hold)


class InvoiceFacts(NamedTuple):
    due_date: date
    balance_cents: int
    last_level: int | None = None  # highest level sent or claimed in the current cycle
    last_sent_on: date | None = None  # the run date of that reminder
    holds: tuple = ()
    last_sent_at: datetime | None = None  # when the latest reminder actually went out


class Action(NamedTuple):
    level: int
    on: date  # the business day from which it is due
    reason: str | None = None  # None, "broken_promise" or "restart"


def current_cycle(holds):
    """Each "never received" restarts the clock: the cycle is how many there were."""
    return sum(1 for h in holds if h.kind == "not_received")


def blocks(kind, starts_on, until, as_of, released=False):
    """Whether one hold stops the reminders of its invoice on `as_of` (the one test: the run,
    the delivery's last check, the pages and the portal ask it)."""
    return kind in BLOCKING_HOLDS and not released and starts_on <= as_of \
        and (until is None or as_of <= until)


def blocking_hold(holds, as_of):
    """The first hold that stops reminders on `as_of`, or None."""
    for h in holds:
        if blocks(h.kind, h.starts_on, h.until, as_of, h.released):
            return h
    return None


_blocking = blocking_hold


def _blocked(holds, as_of):
    return _blocking(holds, as_of) is not None


def next_action(facts, policy, calendar, as_of, shift=0, missed_since=None):
    """The next reminder for this invoice as seen on `as_of`, ignoring blocking holds.

    Levels go up one at a time, at least `min_gap_days` apart; a heads-up (a level before the due
    date) is only sent before the due date. A broken promise sends the next level at once; "never
    received" restarts at the first reminder `restart_business_days` after the copy was sent.
    After days without a run (`missed_since`: the day of the last run that went out), the level
    the daily runs would have reached by `as_of` (`_caught_up`).
    """
    if facts.balance_cents <= 0:
        return None
    last = facts.last_level
    anchor, reason = facts.due_date, None
    restart_on = _restart_on(facts, policy, calendar, as_of)
    if restart_on is not None:
        # Restart the clock, but never remind earlier than the invoice's own schedule would.
        anchor = max(facts.due_date,
                     restart_on - timedelta(days=policy.first_reminder.offset_days))
        shift, reason = 0, "restart"
        if as_of < restart_on:
            return None
    failure = _latest_failure(facts.holds, as_of) if facts.holds else None
    if failure is not None and _failed_since_last_reminder(facts, failure):
        # A payment that failed (a SEPA debit refused days later) reminds at once, one level up.
        level = policy.next_level(last)
        if level is not None:
            return Action(level.number, calendar.next_business_day(failure.starts_on),
                          "payment_failed")
    promise = _latest_promise(facts.holds, as_of) if facts.holds else None
    if promise is not None:
        broken_on = _broken_on(promise, policy, calendar)
        if as_of <= broken_on:
            return None
        if broken_on >= facts.due_date and (facts.last_sent_on is None
                                            or facts.last_sent_on <= broken_on):
            level = policy.next_level(last)
            if level is None:
                return None
            return Action(level.number, calendar.next_business_day(broken_on + ONE_DAY),
                          "broken_promise")
    for level in policy.levels:
        if last is not None and level.number <= last:
            continue
        if level.before_due:  # the heads-up: only before the due date, only as a first word
            if policy.heads_up and last is None and not reason and as_of < facts.due_date:
                return Action(level.number,
                              calendar.heads_up_day(facts.due_date, -level.offset_days))
            continue
        nominal = anchor + timedelta(days=level.offset_days + shift)
        if facts.last_sent_on is not None:
            nominal = max(nominal, facts.last_sent_on + timedelta(days=policy.min_gap_days))
        # "restart" names the first reminder of a new cycle only.
        action = Action(level.number, calendar.next_business_day(nominal),
                        reason if last is None else None)
        return _caught_up(action, facts, policy, calendar, as_of, anchor + timedelta(days=shift),
                          missed_since)
    return None


def _caught_up(action, facts, policy, calendar, as_of, anchor, missed_since):
    """The level the daily runs would have reached by `as_of`, when runs were missed: a level
    whose day fell strictly between the last run that went out (`missed_since`) and `as_of`,
    on a day nothing held the invoice, would have gone out that day; the next level then
    follows it by the policy's delays, and so on while their days have come. A level whose day
    fell in a hold or a pause stops it there (never above what the daily runs would have
    sent). Without missed days (or `missed_since` unknown) the action is the one given: levels
    one at a time. One message goes out, at the level reached, not the levels on the way."""
    if missed_since is None:
        return action
    while missed_since < action.on < as_of and not (facts.holds and
                                                    _blocked(facts.holds, action.on)):
        following = policy.next_level(action.level)
        if following is None or following.before_due:
            break
        on = calendar.next_business_day(max(
            anchor + timedelta(days=following.offset_days),
            action.on + timedelta(days=policy.min_gap_days)))
        if on > as_of:
            break
        action = Action(following.number, on, action.reason)
    return action


def _restart_on(facts, policy, calendar, as_of):
    """When reminders start again after the latest "never received" (None: there is none)."""
    restarts = [h.starts_on for h in facts.holds if h.kind == "not_received"
                and h.starts_on <= as_of] if facts.holds else []
    if not restarts:
        return None
    return calendar.add_business_days(max(restarts), policy.restart_business_days)


def _broken_on(promise, policy, calendar):
    """The last day a promise can still be kept (its date and the policy's grace)."""
    return promise_broken_on(promise.until, policy, calendar)


def _latest_failure(holds, as_of):
    failures = [h for h in holds
                if h.kind == "payment_failed" and not h.released and h.starts_on <= as_of]
    return max(failures, key=lambda h: (h.starts_on, h.created_at or EPOCH)) if failures else None


def _failed_since_last_reminder(facts, failure):
    """Whether the payment failed after the last reminder went out (or none went out yet).
    Times when both are known: a debit refused in the afternoon, after the morning's run, is
    still news; by date alone the same day would look already reminded."""
    if facts.last_sent_on is None:
        return True
    if facts.last_sent_at is not None and failure.created_at is not None:
        return facts.last_sent_at < failure.created_at
    return facts.last_sent_on < failure.starts_on


def _latest_promise(holds, as_of):
    promises = [h for h in holds
                if h.kind == "promise" and not h.released and h.until and h.starts_on <= as_of]
    return max(promises, key=lambda h: h.starts_on) if promises else None


def due_action(facts, policy, calendar, as_of, shift=0, paused_until=None,
               handed_over_on=None, missed_since=None):
    """The reminder the run must send for this invoice on `as_of`, or None.

    Nothing is sent on a weekend or public holiday, while the customer is paused or handed over
    (to a bailiff, for an injonction de payer: `portal.handover`), or while a blocking hold
    (instalment request, dispute, pending payment, manual pause) is active."""
    if not calendar.is_business_day(as_of):
        return None
    return due_on_business_day(facts, policy, calendar, as_of, shift, paused_until,
                               handed_over_on, missed_since)


def due_on_business_day(facts, policy, calendar, as_of, shift=0, paused_until=None,
                        handed_over_on=None, missed_since=None):
    """`due_action` for an `as_of` already known to be a business day (the run's hot loop)."""
    if handed_over(handed_over_on, as_of):
        return None
    if paused_until is not None and as_of <= paused_until:
        return None
    if facts.holds and _blocked(facts.holds, as_of):
        return None
    if missed_since is not None and paused_until is not None:
        missed_since = max(missed_since, paused_until)  # nothing would have gone out paused
    action = next_action(facts, policy, calendar, as_of, shift, missed_since)
    if action is None or action.on > as_of:
        return None
    return action


class Upcoming(NamedTuple):
    """What happens next to an invoice, as the lists show it: a reminder (its level, from when),
    a hold or a pause (its last day; None: until released)."""
    kind: str  # "reminder", "hold", "paused", "handed_over" (on: the day it was)
    on: date | None
    level: int | None = None
    hold: str | None = None
    note: str | None = None  # the hold's reason, when the accountant gave one
    heads_up: bool = False  # the reminder is a word before the due date


def handed_over(handed_over_on, as_of):
    """Whether the debtor's case is with a bailiff or the court on `as_of`: from the day it was
    handed over until the case closes (the caller passes None once it has), nothing goes out."""
    return handed_over_on is not None and handed_over_on <= as_of


def promise_broken_on(until, policy, calendar):
    """The last day a promise to pay on `until` can still be kept: after it, it is broken."""
    return calendar.add_business_days(until, policy.promise_grace_days)


def promise_status(until, policy, calendar, as_of, settled):
    """A promise to pay on `until`, seen on `as_of`: "kept" once its invoice is settled,
    "running" until its last day (its date and the policy's grace), then "broken"."""
    if settled:
        return "kept"
    return "running" if as_of <= promise_broken_on(until, policy, calendar) else "broken"


def upcoming(facts, policy, calendar, as_of, shift=0, paused_until=None, handed_over_on=None,
             missed_since=None):
    """The next thing the schedule will do for this invoice, seen on `as_of`, or None (every
    level sent). A reminder already due goes out at the next run: its date is then the next
    business day from `as_of` (at the level the missed runs would have reached)."""
    if handed_over(handed_over_on, as_of):
        return Upcoming("handed_over", handed_over_on)
    if paused_until is not None and as_of <= paused_until:
        return Upcoming("paused", paused_until)
    held = _blocking(facts.holds, as_of) if facts.holds else None
    if held is not None:
        return Upcoming("hold", held.until, hold=held.kind, note=held.note)
    promise = _latest_promise(facts.holds, as_of) if facts.holds else None
    if promise is not None and as_of <= _broken_on(promise, policy, calendar):
        return Upcoming("hold", promise.until, hold="promise")  # the date the debtor gave
    restart_on = _restart_on(facts, policy, calendar, as_of)
    seen_on = restart_on if restart_on is not None and as_of < restart_on else as_of
    if missed_since is not None and paused_until is not None:
        missed_since = max(missed_since, paused_until)
    action = next_action(facts, policy, calendar, seen_on, shift, missed_since)
    if action is None:
        return None
    level = policy.level_for(action.level)
    return Upcoming("reminder", max(action.on, calendar.next_business_day(as_of)), action.level,
                    heads_up=bool(level and level.before_due))


def instalment_due_action(due_date, remaining_cents, last_level, calendar, as_of,
                          heads_up_days=3, late_days=3):
    """The reminder of one instalment due on `as_of`, or None: a heads-up (level 0) a few days
    before its date, then one reminder (level 1) a few days after it while unpaid."""
    if remaining_cents <= 0 or not calendar.is_business_day(as_of):
        return None
    if last_level is None and as_of < due_date:
        on = calendar.heads_up_day(due_date, heads_up_days)
        return Action(INSTALMENT_HEADS_UP, on) if on <= as_of else None
    if last_level is None or last_level < INSTALMENT_OVERDUE:
        on = calendar.next_business_day(due_date + timedelta(days=late_days))
        return Action(INSTALMENT_OVERDUE, on) if on <= as_of else None
    return None


# --- The account ladder (policy ladder = "account", the default) ---------------------------
# One ladder per debtor account: a cycle starts when something becomes overdue and ends when
# nothing is; within it the messages never step down, every message names every overdue invoice
# that nothing holds, a newly overdue invoice joins the account's next message, the levels'
# delays count from the cycle's start and `min_gap_days` separates two messages to the debtor.

class AccountFacts(NamedTuple):
    """What the run kept of a debtor's current cycle when it recorded a message (the customer's
    cycle_* columns); all None outside a cycle."""
    level: int | None = None  # the highest level sent in the cycle
    sent_on: date | None = None  # the run date of the last message of the cycle
    sent_at: datetime | None = None  # when it went out
    started_on: date | None = None  # the day the cycle's delays count from


class Standing(NamedTuple):
    """How one invoice stands in its account on a date (`standing`)."""
    state: str  # "settled", "waiting" (a copy after "never received"), "held", "open" (not late)
    late: bool  # past due (the cycle runs while an invoice is late, held or not)
    anchor: date  # the day its delays count from: its due date, or the restarted clock's
    reason: str | None = None  # "restart", "broken_promise", "payment_failed": news to say
    news_on: date | None = None  # the day of that news (a broken promise, a failed payment)
    hold: object = None  # the HoldFact that holds it, or the running promise


class AccountAction(NamedTuple):
    level: int
    on: date  # the business day from which it is due
    reason: str | None  # the news that brought it forward, if any
    members: tuple  # ((invoice id, reason), ...): the invoices the message is about
    started_on: date | None  # the cycle's start (None: a heads-up, outside any cycle)


def standing(facts, policy, calendar, as_of):
    """One invoice's standing on `as_of` under the account ladder: the one test of "late",
    "held" (a blocking hold, or a promise until its date and grace) and "waiting" (reminders
    restart `restart_business_days` after the copy of an invoice never received)."""
    due = facts.due_date
    if facts.balance_cents <= 0:
        return Standing("settled", False, due)
    anchor, reason = due, None
    restart_on = _restart_on(facts, policy, calendar, as_of) if facts.holds else None
    if restart_on is not None:
        anchor = max(due, restart_on - timedelta(days=policy.first_reminder.offset_days))
        if as_of < restart_on:
            return Standing("waiting", False, anchor)
        if facts.last_level is None:
            reason = "restart"
    late = as_of > due
    held = blocking_hold(facts.holds, as_of) if facts.holds else None
    if held is not None:
        return Standing("held", late, anchor, hold=held)
    promise = _latest_promise(facts.holds, as_of) if facts.holds else None
    if promise is not None:
        broken_on = _broken_on(promise, policy, calendar)
        if as_of <= broken_on:
            return Standing("held", late, anchor, hold=promise)
        if broken_on >= due and (facts.last_sent_on is None or facts.last_sent_on <= broken_on):
            reason, news_on = "broken_promise", broken_on + ONE_DAY
            return Standing("open", late, anchor, reason, news_on)
    failure = _latest_failure(facts.holds, as_of) if facts.holds else None
    if failure is not None and _failed_since_last_reminder(facts, failure):
        return Standing("open", late, anchor, "payment_failed", failure.starts_on)
    return Standing("open", late, anchor, reason)


def account_next(account, invoices, policy, calendar, as_of, shift=0, missed_since=None):
    """The debtor's next message as seen on `as_of`, whatever its day (`account_action` keeps it
    when it is due), ignoring pauses: `invoices` is ((invoice id, InvoiceFacts), ...).

    Outside a cycle (nothing late) it is a heads-up about the invoices whose before-due level is
    due, as `next_action` decides it for each. In a cycle: the level after the highest sent in
    it, `offset_days` after the cycle's start (moved by the payment habit `shift`), at least
    `min_gap_days` after the last message; at once after news (a broken promise, a failed
    payment); the level the missed runs would have reached after days without a run. None: every
    level sent, or nothing late that something does not hold."""
    standings = [(invoice_id, facts, standing(facts, policy, calendar, as_of))
                 for invoice_id, facts in invoices]
    late = [s for _, _, s in standings if s.late]
    if not late:
        return _heads_up(standings, policy, calendar, as_of)
    account = _with_history(account, [f for _, f, s in standings if s.late])
    started = account.started_on if account.level is not None and account.started_on else \
        min(s.anchor for s in late)
    demanded = [(invoice_id, s) for invoice_id, _, s in standings if s.state == "open" and s.late]
    if not demanded:
        return None
    members = tuple((invoice_id, s.reason) for invoice_id, s in demanded)
    level = policy.next_level(account.level)
    if level is None:
        return _top_again(account, [(i, f, s) for i, f, s in standings
                                    if s.state == "open" and s.late], policy, calendar, shift,
                          started)
    news = [s for _, s in demanded if s.news_on is not None]
    if news:
        first = min(news, key=lambda s: s.news_on)
        return AccountAction(level.number, calendar.next_business_day(first.news_on),
                             first.reason, members, started)
    nominal = started + timedelta(days=level.offset_days + shift)
    if account.sent_on is not None:
        nominal = max(nominal, account.sent_on + timedelta(days=policy.min_gap_days))
    reason = "restart" if account.level is None and all(
        s.reason == "restart" for _, s in demanded) else None
    action = _caught_up(Action(level.number, calendar.next_business_day(nominal), reason),
                        InvoiceFacts(started, 1), policy, calendar, as_of,
                        started + timedelta(days=shift), missed_since)
    return AccountAction(action.level, action.on, action.reason, members, started)


def _top_again(account, demanded, policy, calendar, shift, started):
    """Every level of the cycle sent (the formal notice, in the shipped policies): an invoice
    that fell due since and never reached that level gets it in the account's next message, at
    the same level (never a gentler one), once it is `first_reminder.offset_days` late and at
    least `min_gap_days` after the last message. Only those invoices: the others' notice stands,
    its deadline running from its own day (`portal.rules.notices`)."""
    top = account.level
    fresh = [(invoice_id, s, s.anchor + timedelta(days=policy.first_reminder.offset_days + shift))
             for invoice_id, facts, s in demanded
             if facts.last_level is None or facts.last_level < top]
    if not fresh:
        return None
    day = min(ready for _, _, ready in fresh)
    if account.sent_on is not None:
        day = max(day, account.sent_on + timedelta(days=policy.min_gap_days))
    members = tuple((invoice_id, s.reason) for invoice_id, s, ready in fresh if ready <= day)
    return AccountAction(top, calendar.next_business_day(day), None, members, started)


def _with_history(account, late):
    """The kept cycle, never below what its late invoices were sent in their own cycles (a late
    invoice stays late, so what reached it reached the account): data from before the account
    ladder, or reminders recorded by another way, count."""
    levels = [f.last_level for f in late if f.last_level is not None]
    if not levels:
        return account
    top = max(levels) if account.level is None else max(account.level, *levels)
    days = [f.last_sent_on for f in late if f.last_sent_on is not None]
    last_on = max(days + ([account.sent_on] if account.sent_on else []), default=None)
    return account._replace(level=top, sent_on=last_on)


def _heads_up(standings, policy, calendar, as_of):
    """Outside a cycle: the heads-up of the invoices whose before-due level is due, in one."""
    found = []
    for invoice_id, facts, st in standings:
        if st.state != "open":
            continue
        action = next_action(facts, policy, calendar, as_of)
        if action is not None and action.on <= as_of \
                and policy.level_for(action.level).before_due:
            found.append((invoice_id, action))
    if not found:
        return None
    level = max(a.level for _, a in found)
    return AccountAction(level, min(a.on for _, a in found), None,
                         tuple((invoice_id, None) for invoice_id, _ in found), None)


def account_action(account, invoices, policy, calendar, as_of, shift=0, paused_until=None,
                   handed_over_on=None, missed_since=None):
    """The message the run sends to this debtor on `as_of` (a business day), or None: nothing
    while the debtor is paused or handed over, else `account_next` when its day has come."""
    if handed_over(handed_over_on, as_of):
        return None
    if paused_until is not None and as_of <= paused_until:
        return None
    if missed_since is not None and paused_until is not None:
        missed_since = max(missed_since, paused_until)
    action = account_next(account, invoices, policy, calendar, as_of, shift, missed_since)
    if action is None or action.on > as_of:
        return None
    return action


def account_upcoming(account, invoices, policy, calendar, as_of, shift=0, paused_until=None,
                     handed_over_on=None, missed_since=None):
    """{invoice id: Upcoming or None}: what happens next to each invoice of the account, as the
    lists, the debtor's page and the inbox show it (the same rule as the run's)."""
    if handed_over(handed_over_on, as_of):
        return {i: Upcoming("handed_over", handed_over_on) for i, _ in invoices}
    if paused_until is not None and as_of <= paused_until:
        return {i: Upcoming("paused", paused_until) for i, _ in invoices}
    if missed_since is not None and paused_until is not None:
        missed_since = max(missed_since, paused_until)
    nxt = account_next(account, invoices, policy, calendar, as_of, shift, missed_since)
    in_cycle = any(standing(f, policy, calendar, as_of).late for _, f in invoices)
    soonest = calendar.next_business_day(as_of)
    found = {}
    for invoice_id, facts in invoices:
        st = standing(facts, policy, calendar, as_of)
        if st.state == "settled":
            found[invoice_id] = None
        elif st.state == "held":
            hold = st.hold
            found[invoice_id] = Upcoming("hold", hold.until, hold=hold.kind, note=hold.note)
        elif not in_cycle or st.state == "waiting":
            found[invoice_id] = upcoming(facts, policy, calendar, as_of, shift,
                                         missed_since=missed_since)
        elif nxt is None or nxt.started_on is None:
            found[invoice_id] = None  # every level of the cycle sent
        else:  # late: in the next message; not yet due: in the first one after its due date
            on = max(nxt.on, soonest) if st.late else max(
                nxt.on, calendar.next_business_day(facts.due_date + ONE_DAY))
            found[invoice_id] = Upcoming("reminder", on, nxt.level)
    return found


def in_cycle(invoices, policy, calendar, as_of):
    """Whether the account of these invoices (InvoiceFacts) is in a cycle on `as_of`: something
    late, held or not (the run ends the kept cycle of an account that is not)."""
    return any(standing(facts, policy, calendar, as_of).late for facts in invoices)
