"""The schedule on a calendar, day by day (Tryton-style scenarios): default policy, business days,
French public holidays, habit shift per tier, and every kind of hold."""
from datetime import date, datetime, timedelta, timezone

import pytest

from portal.settings import habit_shift, shipped
from portal.rules.schedule import (HoldFact, InvoiceFacts, calendar_for, current_cycle, due_action,
                                   instalment_due_action)

CAL = calendar_for("FR")
D = date.fromisoformat


def policy_for(tier="standard", name=None):
    """The shipped policies: the schedule's rules are tested on them, without a database."""
    return shipped().policy_for(tier, name)


def simulate(due, start, end, holds=(), tier="standard", median=None, balance=100_000,
             paused_until=None, sent=None):
    """Run the schedule every day from start to end as the run would; return [(day, level, reason)]."""
    policy = policy_for(tier)
    shift = habit_shift(policy, median)
    sent = dict(sent or {})  # cycle -> (last_level, last_on)
    out, day = [], D(start)
    while day <= D(end):
        cycle = current_cycle([h for h in holds if h.starts_on <= day])
        last_level, last_on = sent.get(cycle, (None, None))
        facts = InvoiceFacts(D(due), balance, last_level, last_on, tuple(holds))
        action = due_action(facts, policy, CAL, day, shift, paused_until)
        if action:
            out.append((day.isoformat(), action.level, action.reason))
            sent[cycle] = (action.level, day)
        day += timedelta(days=1)
    return out


def test_default_policy_levels_on_business_days_and_holidays():
    # Due Monday 2 March 2026: heads-up 3 days before, then +7, +21, +51, +60; +60 is 1 May
    # (Fête du Travail, a Friday) so the formal notice waits for Monday 4 May.
    assert simulate("2026-03-02", "2026-02-20", "2026-06-30") == [
        ("2026-02-27", 0, None), ("2026-03-09", 1, None), ("2026-03-23", 2, None),
        ("2026-04-22", 3, None), ("2026-05-04", 4, None)]


def test_weekend_and_bastille_day_are_skipped():
    # +7 of Saturday 4 July is Saturday 11 July -> Monday 13; +7 of 7 July is 14 July -> 15 July.
    assert simulate("2026-07-04", "2026-07-05", "2026-07-20")[0] == ("2026-07-13", 1, None)
    assert simulate("2026-07-07", "2026-07-08", "2026-07-20")[0] == ("2026-07-15", 1, None)


def test_a_heads_up_before_a_long_weekend_goes_out_the_last_business_day_before_it():
    # Due Tuesday 30 March 2027, after Easter Monday: the three days before are all off, so the
    # heads-up goes out on Friday 26 rather than not at all; a Thursday due date is unchanged.
    assert simulate("2027-03-30", "2027-03-20", "2027-04-02") == [("2027-03-26", 0, None)]
    assert simulate("2027-04-01", "2027-03-20", "2027-04-02") == [("2027-03-30", 0, None)]
    # Instalments the same, with the SEPA pre-notice's five days too.
    assert instalment_due_action(D("2027-03-30"), 100, None, CAL, D("2027-03-26")) == (
        0, D("2027-03-26"), None)
    assert CAL.heads_up_day(D("2027-03-30"), 5) == D("2027-03-25")
    assert CAL.heads_up_day(D("2026-12-28"), 3) == D("2026-12-24")  # Christmas on a Friday


def test_nothing_is_sent_on_a_non_business_day():
    facts = InvoiceFacts(D("2026-03-02"), 100)
    assert due_action(facts, policy_for(), CAL, D("2026-03-14"), 0) is None  # a Saturday
    assert due_action(facts, policy_for(), CAL, D("2026-03-16"), 0).level == 1


def test_an_invoice_found_late_escalates_one_level_at_a_time():
    # Imported 100 days after its due date: level 1 at once, then at least 7 days apart.
    assert simulate("2026-01-05", "2026-04-15", "2026-05-31") == [
        ("2026-04-15", 1, None), ("2026-04-22", 2, None), ("2026-04-29", 3, None),
        ("2026-05-06", 4, None)]


def test_paid_invoice_gets_nothing():
    assert simulate("2026-03-02", "2026-02-20", "2026-06-30", balance=0) == []


@pytest.mark.parametrize("tier,median,first", [
    ("standard", None, "2026-03-09"),   # pays on time: no shift
    ("standard", 15, "2026-03-19"),     # 15 days late habitually, bounded to 10 for standard
    ("key", 15, "2026-03-24"),          # key accounts: up to 20, so the full 15
    ("risky", 15, "2026-03-05"),        # risky: no shift and level 1 at +3
])
def test_habit_shift_is_bounded_by_tier(tier, median, first):
    days = simulate("2026-03-02", "2026-03-02", "2026-06-30", tier=tier, median=median)
    assert days[0][:2] == (first, 1)


def test_risky_customers_are_pressed_harder():
    assert [d for d, _, _ in simulate("2026-03-02", "2026-03-02", "2026-06-30", tier="risky")] == [
        "2026-03-05", "2026-03-16", "2026-04-01", "2026-04-13"]


def test_promise_pauses_then_broken_promise_escalates_at_once():
    promise = HoldFact("promise", D("2026-03-10"), until=D("2026-03-20"))
    days = simulate("2026-03-02", "2026-03-09", "2026-05-31", holds=[promise],
                    sent={0: (None, None)})
    # Level 1 on 9 March, promise on the 10th for Friday 20th, one business day of grace
    # (Monday 23rd): level 2 goes out on Tuesday 24th, saying the promise was missed.
    assert days[:3] == [("2026-03-09", 1, None), ("2026-03-24", 2, "broken_promise"),
                        ("2026-04-22", 3, None)]


def test_kept_promise_means_no_reminder():
    promise = HoldFact("promise", D("2026-03-10"), until=D("2026-03-20"))
    assert simulate("2026-03-02", "2026-03-10", "2026-03-23", holds=[promise],
                    sent={0: (1, D("2026-03-09"))}) == []


def test_never_received_restarts_at_level_one_seven_business_days_later():
    flagged = HoldFact("not_received", D("2026-03-12"))
    days = simulate("2026-03-02", "2026-03-12", "2026-04-30", holds=[flagged],
                    sent={0: (1, D("2026-03-09"))})
    # 7 business days after Thursday 12 March is Monday 23 March; level 2 follows 14 days
    # later, on Easter Monday (6 April), so Tuesday 7 April.
    assert days[:2] == [("2026-03-23", 1, "restart"), ("2026-04-07", 2, None)]


@pytest.mark.parametrize("kind", ["dispute", "instalment_request", "payment_pending",
                                  "manual_pause"])
def test_blocking_holds_stop_everything_until_released(kind):
    held = HoldFact(kind, D("2026-03-05"))
    assert simulate("2026-03-02", "2026-03-05", "2026-06-30", holds=[held]) == []
    released = HoldFact(kind, D("2026-03-05"), released=True)
    assert simulate("2026-03-02", "2026-03-05", "2026-03-31", holds=[released])[0] == (
        "2026-03-09", 1, None)


def test_a_hold_with_an_end_date_lifts_by_itself():
    held = HoldFact("manual_pause", D("2026-03-05"), until=D("2026-03-31"))
    assert simulate("2026-03-02", "2026-03-05", "2026-04-30", holds=[held])[0] == (
        "2026-04-01", 1, None)


def test_customer_pause():
    assert simulate("2026-03-02", "2026-03-02", "2026-04-30",
                    paused_until=D("2026-04-10"))[0] == ("2026-04-13", 1, None)


def test_a_failed_payment_reminds_at_once_one_level_up():
    failed = HoldFact("payment_failed", D("2026-03-12"))
    days = simulate("2026-03-02", "2026-03-10", "2026-04-30", holds=[failed],
                    sent={0: (1, D("2026-03-09"))})
    # Level 1 went out on 9 March; the debit failed on Thursday 12: level 2 goes out that day.
    assert days[:2] == [("2026-03-12", 2, "payment_failed"), ("2026-04-22", 3, None)]


def test_a_payment_failed_after_the_days_reminder_still_reminds_the_next_business_day():
    # Level 1 went out at 08:30 on Thursday 12 March; the debit was refused at 15:00 that day.
    morning, afternoon = (datetime(2026, 3, 12, h, 0, tzinfo=timezone.utc) for h in (8, 15))
    failed = HoldFact("payment_failed", D("2026-03-12"), created_at=afternoon)
    policy = policy_for()

    def on(day, sent_at):
        facts = InvoiceFacts(D("2026-03-02"), 100_000, 1, D("2026-03-12"), (failed,), sent_at)
        return due_action(facts, policy, CAL, D(day), 0)

    assert on("2026-03-13", morning) == (2, D("2026-03-12"), "payment_failed")
    # Once that reminder has gone out (Friday), the failure is old news: back to the policy.
    friday = datetime(2026, 3, 13, 8, 30, tzinfo=timezone.utc)
    facts = InvoiceFacts(D("2026-03-02"), 100_000, 2, D("2026-03-13"), (failed,), friday)
    assert due_action(facts, policy, CAL, D("2026-03-16"), 0) is None
    # Refused before the morning's reminder went out: that reminder was the news already.
    early = failed._replace(created_at=datetime(2026, 3, 12, 7, 0, tzinfo=timezone.utc))
    facts = InvoiceFacts(D("2026-03-02"), 100_000, 1, D("2026-03-12"), (early,), morning)
    assert due_action(facts, policy, CAL, D("2026-03-13"), 0) is None


def test_a_pending_payment_holds_everything():
    pending = HoldFact("payment_pending", D("2026-03-05"))
    assert simulate("2026-03-02", "2026-03-05", "2026-04-30", holds=[pending]) == []


def test_what_comes_next_agrees_with_what_the_run_will_send():
    """`upcoming` (the lists' "next" column) names the day and level the run then sends, and
    why nothing goes out before: a promise, a blocking hold, a pause, a "never received"."""
    from portal.rules.schedule import Upcoming, upcoming
    policy = policy_for()
    facts = InvoiceFacts(D("2026-03-02"), 100_000, None, None, ())
    first = upcoming(facts, policy, CAL, D("2026-03-03"))
    assert first == Upcoming("reminder", D("2026-03-09"), 1)  # +7, a Monday
    assert simulate("2026-03-02", "2026-03-03", "2026-03-09")[0][:2] == ("2026-03-09", 1)
    overdue = upcoming(InvoiceFacts(D("2026-01-02"), 100_000, 1, D("2026-01-09"), ()), policy,
                       CAL, D("2026-03-07"))  # a Saturday: due now, sent at the next run
    assert overdue == Upcoming("reminder", D("2026-03-09"), 2)
    promise = HoldFact("promise", D("2026-03-10"), until=D("2026-03-20"))
    held = upcoming(InvoiceFacts(D("2026-03-02"), 100_000, 1, D("2026-03-09"), (promise,)),
                    policy, CAL, D("2026-03-12"))
    assert held.kind == "hold" and held.hold == "promise" and held.on >= D("2026-03-20")
    dispute = HoldFact("dispute", D("2026-03-10"))
    assert upcoming(InvoiceFacts(D("2026-03-02"), 100_000, 1, D("2026-03-09"), (dispute,)),
                    policy, CAL, D("2026-03-12")) == Upcoming("hold", None, hold="dispute")
    assert upcoming(facts, policy, CAL, D("2026-03-03"), paused_until=D("2026-03-31")) == \
        Upcoming("paused", D("2026-03-31"))
    flagged = HoldFact("not_received", D("2026-03-12"))
    restart = upcoming(InvoiceFacts(D("2026-03-02"), 100_000, None, None, (flagged,)), policy,
                       CAL, D("2026-03-13"))
    sent = simulate("2026-03-02", "2026-03-13", "2026-04-30", holds=(flagged,))
    assert (restart.on.isoformat(), restart.level) == sent[0][:2]
    assert upcoming(InvoiceFacts(D("2026-03-02"), 0, None, None, ()), policy, CAL,
                    D("2026-03-03")) is None  # paid: nothing more


def test_a_handed_over_debtor_is_not_reminded_and_the_lists_say_so():
    from portal.rules.schedule import upcoming
    policy = policy_for()
    facts = InvoiceFacts(date(2026, 3, 2), 100_000, 1, date(2026, 3, 9))
    day = date(2026, 3, 23)  # a Monday: level 2 due (due + 21)
    assert due_action(facts, policy, CAL, day).level == 2
    assert due_action(facts, policy, CAL, day, handed_over_on=date(2026, 3, 20)) is None
    # Handed over later than that day: not yet (a preview of an earlier date still shows it).
    assert due_action(facts, policy, CAL, day, handed_over_on=date(2026, 3, 24)).level == 2
    seen = upcoming(facts, policy, CAL, day, handed_over_on=date(2026, 3, 20))
    assert (seen.kind, seen.on) == ("handed_over", date(2026, 3, 20))


def test_runs_missed_for_weeks_are_caught_up_at_the_level_the_daily_runs_reached():
    """Due 2 March 2026 (levels on 9 March, 23 March, 22 April, 4 May as above). Level 1 went out
    on 9 March, then no run until 6 May: the daily runs would have sent 2 (23 March), 3 (22 April)
    and the formal notice (4 May); the run of 6 May sends the formal notice, once. Without the
    day of the last run (none recorded) levels go up one at a time, as before."""
    policy = policy_for()
    facts = InvoiceFacts(D("2026-03-02"), 100_000, 1, D("2026-03-09"), ())
    assert due_action(facts, policy, CAL, D("2026-05-06"), missed_since=D("2026-03-09")) == (
        4, D("2026-05-04"), None)
    assert due_action(facts, policy, CAL, D("2026-05-06")).level == 2
    # Runs went on until 21 April: only 3 (22 April) and 4 (4 May) fell in the gap.
    assert due_action(facts._replace(last_level=2, last_sent_on=D("2026-03-23")), policy, CAL,
                      D("2026-05-06"), missed_since=D("2026-04-21")).level == 4
    # A run on the day itself: nothing was missed, one level as usual.
    assert due_action(facts, policy, CAL, D("2026-03-23"), missed_since=D("2026-03-20")) == (
        2, D("2026-03-23"), None)


def test_catching_up_stops_where_a_hold_or_a_pause_would_have_stopped_the_daily_runs():
    """On the safe side: the level reached is never above what the daily runs would have sent."""
    policy = policy_for()
    facts = InvoiceFacts(D("2026-03-02"), 100_000, 1, D("2026-03-09"), ())
    pause = HoldFact("manual_pause", D("2026-04-01"), D("2026-04-30"), False)  # ended 30 April
    held = facts._replace(holds=(pause,))
    # Level 2's day (23 March) was before the hold: sent; 3's (22 April) fell inside it, so the
    # daily runs sent 3 on 4 May (the first business day after it), and 4 not before 11 May.
    assert due_action(held, policy, CAL, D("2026-05-06"),
                      missed_since=D("2026-03-09")).level == 3
    assert due_action(facts, policy, CAL, D("2026-05-06"), paused_until=D("2026-03-20"),
                      missed_since=D("2026-03-09")).level == 4  # the pause ended before 2
    # A level whose day fell in a pause stops the catching up there: one level, never more
    # than the daily runs would have sent (they would have sent 2 on 27 April, 3 on 4 May).
    assert due_action(facts, policy, CAL, D("2026-05-06"), paused_until=D("2026-04-25"),
                      missed_since=D("2026-03-09")).level == 2
