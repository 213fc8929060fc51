"""The formal notice and its deadline (`portal.rules.notices`), on a calendar: which invoices a notice
names (its letter's, else the e-mail's overdue ones), its deadline (recorded, else the level's
days), the day it passes (the deadline's own day is still the debtor's), the latest notice
winning, and the split a hand-over makes of a debtor's invoices."""
from datetime import date, timedelta

from portal.rules.notices import (NOT_NOTICED, PASSED, RUNNING, Sent, notice_of, notices, split,
                                  standing)

LEVELS = {4: 8}  # the default policy: level 4 is the formal notice, 8 days to pay
ON = date(2026, 11, 23)


def test_the_letter_names_the_invoices_else_the_emails_overdue_ones():
    by_letter = Sent("<m1>", ON, 4, overdue=frozenset({1, 2, 3}), letter=frozenset({1}))
    by_mail = Sent("<m2>", ON, 4, overdue=frozenset({4, 5}))
    first, second = notices([by_mail, by_letter], LEVELS)
    assert (first.message_id, first.invoices, first.by_letter) == ("<m1>", {1}, True)
    assert (second.message_id, second.invoices, second.by_letter) == ("<m2>", {4, 5}, False)
    assert first.deadline == ON + timedelta(days=8) == date(2026, 12, 1)
    # An invoice the e-mail listed but the letter did not name had no formal notice.
    assert notice_of(2, [first, second]) is None
    assert notices([Sent("<m3>", ON, 4, overdue=frozenset(), letter=frozenset())], LEVELS) == []


def test_the_deadline_passes_the_day_after_it():
    notice, = notices([Sent("<m1>", ON, 4, overdue=frozenset({1}))], LEVELS)
    deadline = date(2026, 12, 1)
    assert standing(1, [notice], ON).state == RUNNING
    assert standing(1, [notice], deadline).state == RUNNING  # the debtor has the whole day
    seen = standing(1, [notice], deadline + timedelta(days=1))
    assert (seen.state, seen.notice) == (PASSED, notice)
    assert notice.claimable_from == date(2026, 12, 2)
    assert standing(2, [notice], date(2027, 6, 1)) == (2, NOT_NOTICED, None)


def test_a_recorded_deadline_and_amounts_win_over_the_policy_of_today():
    recorded = Sent("<m1>", ON, 4, overdue=frozenset({1, 2}), deadline=date(2026, 12, 15),
                    demanded=((1, 147_685), (2, 250_000)))
    notice, = notices([recorded], {4: 30})
    assert notice.deadline == date(2026, 12, 15)
    assert (notice.demanded_cents(1), notice.demanded_cents(2), notice.demanded_cents(3)) == \
        (147_685, 250_000, None)
    # A level the policy no longer has: the default days given.
    gone, = notices([Sent("<m2>", ON, 7, overdue=frozenset({1}))], LEVELS, default_days=10)
    assert gone.deadline == date(2026, 12, 3)


def test_the_latest_notice_of_an_invoice_decides():
    old = Sent("<old>", date(2026, 9, 1), 4, overdue=frozenset({1, 2}))
    new = Sent("<new>", ON, 4, overdue=frozenset({2}))
    found = notices([new, old], LEVELS)
    as_of = date(2026, 11, 25)  # the old deadline is over, the new one runs
    assert standing(1, found, as_of).state == PASSED
    seen = standing(2, found, as_of)
    assert (seen.state, seen.notice.message_id) == (RUNNING, "<new>")


def test_split_keeps_the_order_and_says_why_each_is_left_out():
    found = notices([Sent("<a>", date(2026, 10, 1), 4, overdue=frozenset({"A"})),
                     Sent("<b>", ON, 4, overdue=frozenset({"B"}))], LEVELS)
    invoices = [dict(n="C"), dict(n="B"), dict(n="A")]
    parts = split(invoices, found, date(2026, 11, 30), key=lambda i: i["n"])
    assert [s.invoice["n"] for s in parts.passed] == ["A"]
    assert [(s.invoice["n"], s.notice.deadline) for s in parts.running] == [
        ("B", date(2026, 12, 1))]
    assert [(s.invoice["n"], s.state) for s in parts.not_noticed] == [("C", NOT_NOTICED)]
    assert [s.invoice["n"] for s in parts.apart] == ["B", "C"]
    later = split(invoices, found, date(2026, 12, 2), key=lambda i: i["n"])
    assert [s.invoice["n"] for s in later.passed] == ["B", "A"] and later.running == []
