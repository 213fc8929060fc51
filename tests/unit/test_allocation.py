"""The one rule that spreads money over what is owed and takes it back (portal.payments.
allocation), checked on its own with exact integers: nothing is created or lost, no debt takes
more than it owes, the oldest is paid first and the newest reopened first."""
from hypothesis import given, strategies as st

from portal.rules.allocation import allocate, fit, take_back
from portal.rules.payment_states import can_move

cents = st.integers(min_value=0, max_value=10**11)
debts = st.lists(st.integers(min_value=-10**6, max_value=10**9), max_size=12)


def test_oldest_first_and_the_rest_is_credit():
    assert allocate(150_000, [100_000, 30_000, 50_000]) == ([100_000, 30_000, 20_000], 0)
    assert allocate(200_000, [100_000, 30_000]) == ([100_000, 30_000], 70_000)
    assert allocate(5_000, [0, -300, 8_000]) == ([0, 0, 5_000], 0)  # settled or in credit


def test_take_back_reopens_the_newest_first():
    assert take_back([100_000, 30_000, 20_000], 25_000) == ([100_000, 25_000, 0], 0)
    assert take_back([1_000], 5_000) == ([0], 4_000)


def test_fit_cuts_to_what_is_owed_and_to_the_money_received():
    # Two shares of one invoice and one of another; 900 received for 1,000 asked.
    shares, owed = fit([("a", 500), ("a", 300), ("b", 200)], {"a": 700, "b": 400}, 900)
    assert shares == [500, 200, 200] and owed == {"a": 0, "b": 200}


@given(cents, debts)
def test_allocate_creates_and_loses_nothing(amount, owed):
    shares, left = allocate(amount, owed)
    assert sum(shares) + left == amount and left >= 0
    assert all(0 <= s <= max(0, o) for s, o in zip(shares, owed))
    # A debt is only left partly paid when nothing is left after it.
    for i, (s, o) in enumerate(zip(shares, owed)):
        if s < max(0, o):
            assert sum(shares[i + 1:]) == 0 and left == 0


@given(cents, debts, cents)
def test_take_back_is_the_reverse(amount, owed, back):
    shares, _ = allocate(amount, owed)
    after, not_taken = take_back(shares, back)
    assert sum(shares) - sum(after) + not_taken == back
    assert all(0 <= a <= s for a, s in zip(after, shares))


def test_the_transition_table_decides_what_a_recorded_payment_may_be():
    assert can_move("created", "succeeded") and can_move("created", "pending")
    assert not can_move("created", "refunded") and not can_move("succeeded", "succeeded")
