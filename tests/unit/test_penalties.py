"""Late-payment penalties by debtor category (business, public, consumer).

Every expected amount is worked out by hand in the comment next to it, from the rates of the
shipped table: ECB 2.15 / legal "other" 2.76 in 2025-H2, ECB 3.15 / legal "other" 3.71 in
2025-H1, ECB 4.25 in 2024-H2, ECB 0.00 until 2022-H2, ECB 2.50 in 2023-H1.
"""
import ast
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.rules import penalties as penalties
from portal.rules.penalties import (CATEGORIES, DEFAULT_RATES, Penalty, RateTable, SemesterRates,
                                    Span, business_rate, consumer_rate, late_interest_cents,
                                    penalty_for, public_rate, semester_bounds, semester_of)

D = Decimal


def rates(semester, ecb, individual, other):
    return SemesterRates(semester, D(ecb), D(individual), D(other))


# --- semesters and the rate table ------------------------------------------------------------

def test_semester_of_and_bounds():
    assert semester_of(date(2026, 3, 10)) == "2026-H1"
    assert semester_of(date(2026, 6, 30)) == "2026-H1"
    assert semester_of(date(2026, 7, 1)) == "2026-H2"
    assert semester_of(date(2026, 12, 31)) == "2026-H2"
    assert semester_bounds("2026-H1") == (date(2026, 1, 1), date(2026, 6, 30))
    assert semester_bounds("2025-H2") == (date(2025, 7, 1), date(2025, 12, 31))
    for bad in ("2026-H3", "2026H1", "26-H1", "", None):
        with pytest.raises(ValueError, match="YYYY-H1 or YYYY-H2"):
            semester_bounds(bad)


def test_shipped_table_runs_without_gap_from_2015_h1_to_2026_h2():
    semesters = [row.semester for row in DEFAULT_RATES]
    expected = [f"{year}-H{half}" for year in range(2015, 2027) for half in (1, 2)]
    assert semesters == expected  # 24 rows, in order, none missing
    for row in DEFAULT_RATES:
        for value in (row.ecb_percent, row.legal_individual_percent, row.legal_other_percent):
            assert isinstance(value, Decimal) and value >= 0


@pytest.mark.parametrize("semester,ecb,individual,other", [
    ("2015-H1", "0.05", "4.06", "0.93"),
    ("2016-H1", "0.05", "4.54", "1.01"),
    ("2016-H2", "0.00", "4.35", "0.93"),
    ("2020-H2", "0.00", "3.11", "0.84"),
    ("2022-H2", "0.00", "3.15", "0.77"),
    ("2023-H1", "2.50", "4.47", "2.06"),
    ("2023-H2", "4.00", "6.82", "4.22"),
    ("2024-H1", "4.50", "8.01", "5.07"),
    ("2024-H2", "4.25", "8.16", "4.92"),
    ("2025-H1", "3.15", "7.21", "3.71"),
    ("2025-H2", "2.15", "6.65", "2.76"),
    ("2026-H1", "2.15", "6.67", "2.62"),
])
def test_shipped_rates(semester, ecb, individual, other):
    assert RateTable().for_semester(semester) == rates(semester, ecb, individual, other)


def test_table_in_any_order_exact_rows_and_fallbacks():
    table = RateTable([rates("2025-H2", "2.15", "6.65", "2.76"),
                       rates("2024-H2", "4.25", "8.16", "4.92"),
                       rates("2025-H1", "3.15", "7.21", "3.71")])
    assert [r.semester for r in table.rows] == ["2024-H2", "2025-H1", "2025-H2"]
    assert table.for_semester("2025-H1").ecb_percent == D("3.15")
    assert table.latest.semester == "2025-H2"
    # Not published yet: the last known row applies.
    assert table.for_semester("2026-H1").semester == "2025-H2"
    assert table.for_semester("2031-H2").semester == "2025-H2"
    assert not table.is_known("2026-H1")
    assert table.is_known("2024-H2")
    # Before the first row: the first row.
    assert table.for_semester("2019-H1").semester == "2024-H2"


def test_a_gap_in_the_table_uses_the_row_before_it():
    table = RateTable([rates("2024-H1", "4.50", "8.01", "5.07"),
                       rates("2025-H2", "2.15", "6.65", "2.76")])
    assert table.for_semester("2024-H2").semester == "2024-H1"
    assert table.for_semester("2025-H1").semester == "2024-H1"


def test_duplicate_rows_are_refused():
    with pytest.raises(ValueError, match="2025-H2"):
        RateTable([rates("2025-H2", "2.15", "6.65", "2.76"),
                   rates("2025-H1", "3.15", "7.21", "3.71"),
                   rates("2025-H2", "2.00", "6.65", "2.76")])
    with pytest.raises(ValueError):
        RateTable([])


def test_rates_from_storage_may_be_strings_but_never_floats():
    row = SemesterRates("2025-H2", "2.15", "6.65", 3)
    assert row.ecb_percent == D("2.15") and row.legal_other_percent == D(3)
    with pytest.raises(TypeError):
        SemesterRates("2025-H2", 2.15, "6.65", "2.76")
    with pytest.raises(ValueError, match="YYYY-H1"):
        SemesterRates("2025-2", "2.15", "6.65", "2.76")


def test_rate_functions():
    h2 = rates("2025-H2", "2.15", "6.65", "2.76")
    assert business_rate(h2) == D("12.15")  # 2.15 + 10
    assert business_rate(h2, D("15")) == D("15")  # above 3 x 2.76 = 8.28
    assert business_rate(h2, D("5")) == D("8.28")  # below the floor: 3 x 2.76 = 8.28
    assert business_rate(h2, "8.28") == D("8.28")
    assert public_rate(h2) == D("10.15")  # 2.15 + 8
    assert consumer_rate(h2) == D("2.76")
    with pytest.raises(TypeError):
        business_rate(h2, 15.0)


# --- business (Code de commerce L441-10, D441-5) ---------------------------------------------

def test_business_inside_one_semester():
    # Due 2025-09-01, on 2025-10-11: 40 days late (2025-09-02 .. 2025-10-11), 2025-H2: 2.15 + 10.
    # 1 000.00 EUR x 12.15 % x 40 / 365 = 121.50 x 40 / 365 = 4 860 / 365 = 13.3150... -> 13.32
    p = penalty_for("business", 100_000, date(2025, 9, 1), date(2025, 10, 11))
    assert p == Penalty("business", 40, 1332, 4000,
                        (Span(date(2025, 9, 2), date(2025, 10, 11), 40, D("12.15")),))
    assert p.total_cents == 1332 + 4000
    assert p.rate_percent == D("12.15")


def test_business_across_two_semesters_uses_each_semesters_rate():
    # Due 2025-06-10, on 2025-07-20: 40 days late.
    #   2025-06-11 .. 2025-06-30 = 20 days at 3.15 + 10 = 13.15 %
    #   2025-07-01 .. 2025-07-20 = 20 days at 2.15 + 10 = 12.15 %
    # 5 000.00 EUR x 13.15 % x 20 / 365 = 657.50 x 20 / 365 = 13 150 / 365 = 36.0274 EUR
    # 5 000.00 EUR x 12.15 % x 20 / 365 = 607.50 x 20 / 365 = 12 150 / 365 = 33.2877 EUR
    # total 25 300 / 365 = 69.3151 EUR -> 69.32
    p = penalty_for("business", 500_000, date(2025, 6, 10), date(2025, 7, 20))
    assert p.days_late == 40
    assert p.spans == (Span(date(2025, 6, 11), date(2025, 6, 30), 20, D("13.15")),
                       Span(date(2025, 7, 1), date(2025, 7, 20), 20, D("12.15")))
    assert p.interest_cents == 6932
    assert p.indemnity_cents == 4000
    assert p.rate_percent == D("12.15")  # the one in force on as_of


def test_business_contract_rate_above_the_floor():
    # 2025-H2 floor: 3 x 2.76 = 8.28 %; the contract says 15 %: 15 % applies.
    # Due 2025-09-01, on 2025-10-01: 30 days. 2 000.00 EUR x 15 % x 30 / 365 = 9 000 / 365
    # = 24.6575 -> 24.66
    p = penalty_for("business", 200_000, date(2025, 9, 1), date(2025, 10, 1),
                    contract_rate_percent=D("15"))
    assert p.spans == (Span(date(2025, 9, 2), date(2025, 10, 1), 30, D("15")),)
    assert p.interest_cents == 2466
    assert p.total_cents == 2466 + 4000


def test_business_contract_rate_below_the_floor_gets_the_floor():
    # The contract says 5 %, below 3 x 2.76 = 8.28 %: 8.28 % applies.
    # 2 000.00 EUR x 8.28 % x 30 / 365 = 165.60 x 30 / 365 = 4 968 / 365 = 13.6110 -> 13.61
    p = penalty_for("business", 200_000, date(2025, 9, 1), date(2025, 10, 1),
                    contract_rate_percent=D("5"))
    assert p.rate_percent == D("8.28")
    assert p.interest_cents == 1361


def test_business_contract_floor_is_the_floor_of_each_semester():
    # Contract 9 %. 2025-H1 floor 3 x 3.71 = 11.13 % (applies), 2025-H2 floor 8.28 % (9 % applies).
    # Due 2025-06-20, on 2025-07-10: 06-21 .. 06-30 = 10 days, 07-01 .. 07-10 = 10 days.
    # 3 650.00 EUR x 11.13 % x 10 / 365 = 10 x 11.13 x 10 / 100 = 11.13 EUR
    # 3 650.00 EUR x  9.00 % x 10 / 365 = 10 x  9.00 x 10 / 100 =  9.00 EUR -> total 20.13
    p = penalty_for("business", 365_000, date(2025, 6, 20), date(2025, 7, 10),
                    contract_rate_percent="9")
    assert p.spans == (Span(date(2025, 6, 21), date(2025, 6, 30), 10, D("11.13")),
                       Span(date(2025, 7, 1), date(2025, 7, 10), 10, D("9")))
    assert p.interest_cents == 2013


def test_business_adjacent_semesters_at_one_rate_make_one_span():
    # ECB 0.00 from 2016-H2 to 2022-H2: 10 % all along, then 2.50 + 10 = 12.50 % in 2023-H1.
    # Due 2016-06-30, on 2023-01-01:
    #   2016-07-01 .. 2022-12-31 = 184 (2016-H2) + 6 x 365 + 1 (29-02-2020) = 2 375 days at 10 %
    #   2023-01-01 = 1 day at 12.50 %
    # 365.00 EUR x 10 % x 2 375 / 365 = 237.50 EUR; 365.00 EUR x 12.50 % x 1 / 365 = 0.125 EUR
    # total 237.625 EUR = 23 762.5 cents -> half-up 23 763
    p = penalty_for("business", 36_500, date(2016, 6, 30), date(2023, 1, 1))
    assert p.spans == (Span(date(2016, 7, 1), date(2022, 12, 31), 2375, D("10.00")),
                       Span(date(2023, 1, 1), date(2023, 1, 1), 1, D("12.50")))
    assert p.days_late == 2376
    assert p.interest_cents == 23763


def test_interest_is_rounded_once_at_the_end_not_per_span():
    # Due 2022-12-21, on 2023-01-08:
    #   12-22 .. 12-31 = 10 days at 0.00 + 10 = 10 %:  100.00 EUR x 10 % x 10 / 365 = 27.397 cents
    #   01-01 .. 01-08 = 8 days at 2.50 + 10 = 12.5 %: 100.00 EUR x 12.5 % x 8 / 365 = 27.397 cents
    # together 200 / 365 EUR = 54.79 cents -> 55 (rounding each span first would give 27 + 27 = 54)
    p = penalty_for("business", 10_000, date(2022, 12, 21), date(2023, 1, 8))
    assert [(s.days, s.rate_percent) for s in p.spans] == [(10, D("10.00")), (8, D("12.50"))]
    assert p.interest_cents == 55


def test_rounding_is_half_up_to_the_cent():
    # 2017-H1: ECB 0.00 -> 10 %. Due 2017-01-01, on 2017-03-15: 30 + 28 + 15 = 73 days = 1/5 year.
    # 1.25 EUR x 10 % x 73 / 365 = 125 c x 0.02 = 2.5 cents -> 3 (half-up; half-even would say 2)
    assert penalty_for("business", 125, date(2017, 1, 1), date(2017, 3, 15)).interest_cents == 3
    # 1.24 EUR: 124 c x 0.02 = 2.48 cents -> 2
    assert penalty_for("business", 124, date(2017, 1, 1), date(2017, 3, 15)).interest_cents == 2
    # 0.25 EUR: 25 c x 0.02 = 0.5 cent -> 1
    assert penalty_for("business", 25, date(2017, 1, 1), date(2017, 3, 15)).interest_cents == 1
    # One rate: 10 000.00 EUR x 12.15 % x 73 / 365 = 1 215 x 0.2 = 243.00 EUR
    assert late_interest_cents(1_000_000, 73, D("12.15")) == 24300
    # 0.25 EUR x 10 % x 73 / 365 = 0.5 cent -> 1; 0.10 EUR x 12.15 % x 1 / 365 = 0.0033 c -> 0
    assert late_interest_cents(25, 73, D("10")) == 1
    assert late_interest_cents(10, 1, D("12.15")) == 0
    assert late_interest_cents(1_000_000, 0, D("12.15")) == 0
    assert late_interest_cents(0, 73, D("12.15")) == 0


# --- public buyer (Code de la commande publique L2192-13, R2192-31, D2192-35) -----------------

def test_public_keeps_the_rate_of_the_semester_where_interest_started():
    # Due 2025-06-20: interest starts 2025-06-21 (2025-H1), ECB 3.15 + 8 = 11.15 % for the whole
    # period, July and August included (2025-H2's ECB 2.15 does not apply).
    # On 2025-08-19: 10 (June) + 31 (July) + 19 (August) = 60 days.
    # 3 000.00 EUR x 11.15 % x 60 / 365 = 334.50 x 60 / 365 = 20 070 / 365 = 54.9863 -> 54.99
    p = penalty_for("public", 300_000, date(2025, 6, 20), date(2025, 8, 19))
    assert p.spans == (Span(date(2025, 6, 21), date(2025, 8, 19), 60, D("11.15")),)
    assert p.days_late == 60
    assert p.interest_cents == 5499
    assert p.indemnity_cents == 4000
    assert p.total_cents == 5499 + 4000
    assert p.rate_percent == D("11.15")


def test_public_rate_stays_across_the_year_end_too():
    # Due 2024-12-01: starts 2024-12-02 (2024-H2), ECB 4.25 + 8 = 12.25 % until the end, although
    # 2025-H1's ECB rate is 3.15. On 2025-01-30: 30 (Dec 2 .. 31) + 30 (Jan 1 .. 30) = 60 days.
    # 3 650.00 EUR x 12.25 % x 60 / 365 = 10 x 12.25 x 60 / 100 = 73.50 EUR
    p = penalty_for("public", 365_000, date(2024, 12, 1), date(2025, 1, 30))
    assert p.spans == (Span(date(2024, 12, 2), date(2025, 1, 30), 60, D("12.25")),)
    assert p.interest_cents == 7350
    assert p.total_cents == 7350 + 4000


def test_public_interest_starting_on_1_july_takes_the_second_semester_rate():
    # Due 2025-06-30: starts 2025-07-01 (2025-H2): 2.15 + 8 = 10.15 %. On 2025-07-10: 10 days.
    # 3 650.00 EUR x 10.15 % x 10 / 365 = 10 x 10.15 x 10 / 100 = 10.15 EUR
    p = penalty_for("public", 365_000, date(2025, 6, 30), date(2025, 7, 10))
    assert p.rate_percent == D("10.15")
    assert p.interest_cents == 1015


def test_public_ignores_a_contract_rate_and_a_formal_notice():
    p = penalty_for("public", 365_000, date(2025, 6, 30), date(2025, 7, 10),
                    contract_rate_percent=D("20"), formal_notice_on=date(2025, 7, 5))
    assert (p.rate_percent, p.interest_cents) == (D("10.15"), 1015)


# --- consumer (Code civil 1231-6) ------------------------------------------------------------

def test_consumer_without_formal_notice_owes_nothing():
    p = penalty_for("consumer", 500_000, date(2025, 6, 10), date(2025, 7, 20))
    assert p == Penalty("consumer", 40, 0, 0, ())
    assert p.total_cents == 0
    assert p.rate_percent is None


def test_consumer_interest_runs_from_the_day_after_the_formal_notice():
    # Due 2025-05-01, formal notice 2025-06-15, on 2025-07-15; legal rate "other cases":
    #   2025-06-16 .. 2025-06-30 = 15 days at 3.71 % (2025-H1)
    #   2025-07-01 .. 2025-07-15 = 15 days at 2.76 % (2025-H2)
    # 10 000.00 EUR x 3.71 % x 15 / 365 = 371 x 15 / 365 = 5 565 / 365 = 15.2466 EUR
    # 10 000.00 EUR x 2.76 % x 15 / 365 = 276 x 15 / 365 = 4 140 / 365 = 11.3425 EUR
    # total 9 705 / 365 = 26.5890 EUR -> 26.59; no fixed indemnity for a consumer.
    p = penalty_for("consumer", 1_000_000, date(2025, 5, 1), date(2025, 7, 15),
                    formal_notice_on=date(2025, 6, 15), indemnity_cents=4000)
    assert p.days_late == 75
    assert p.spans == (Span(date(2025, 6, 16), date(2025, 6, 30), 15, D("3.71")),
                       Span(date(2025, 7, 1), date(2025, 7, 15), 15, D("2.76")))
    assert p.interest_cents == 2659
    assert p.indemnity_cents == 0
    assert p.total_cents == 2659


def test_consumer_notice_sent_before_the_due_date_counts_from_the_day_after_the_due_date():
    # Due 2025-09-01, notice 2025-08-20, on 2025-09-11: 2025-09-02 .. 2025-09-11 = 10 days, 2.76 %
    # 10 000.00 EUR x 2.76 % x 10 / 365 = 2 760 / 365 = 7.5616 -> 7.56
    p = penalty_for("consumer", 1_000_000, date(2025, 9, 1), date(2025, 9, 11),
                    formal_notice_on=date(2025, 8, 20))
    assert p.spans == (Span(date(2025, 9, 2), date(2025, 9, 11), 10, D("2.76")),)
    assert p.interest_cents == 756


def test_consumer_notice_sent_today_or_later_gives_no_interest_yet():
    for notice in (date(2025, 9, 11), date(2025, 9, 20)):
        p = penalty_for("consumer", 1_000_000, date(2025, 9, 1), date(2025, 9, 11),
                        formal_notice_on=notice)
        assert (p.days_late, p.interest_cents, p.indemnity_cents, p.spans) == (10, 0, 0, ())


def test_consumer_ignores_a_contract_rate():
    # Same as above: 7.56 at the legal rate, whatever the contract says.
    p = penalty_for("consumer", 1_000_000, date(2025, 9, 1), date(2025, 9, 11),
                    formal_notice_on=date(2025, 9, 1), contract_rate_percent=D("15"))
    assert (p.rate_percent, p.interest_cents) == (D("2.76"), 756)


# --- nothing owed ----------------------------------------------------------------------------

@pytest.mark.parametrize("category", CATEGORIES)
def test_not_late_gives_nothing(category):
    for as_of in (date(2025, 9, 1), date(2025, 8, 1)):  # on the due date, or before it
        p = penalty_for(category, 100_000, date(2025, 9, 1), as_of,
                        formal_notice_on=date(2025, 7, 1))
        assert p == Penalty(category, 0, 0, 0, ())
        assert p.total_cents == 0 and p.rate_percent is None


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("balance", [0, -5_000])
def test_nothing_without_a_balance(category, balance):
    p = penalty_for(category, balance, date(2025, 9, 1), date(2025, 10, 11),
                    formal_notice_on=date(2025, 9, 1))
    assert (p.interest_cents, p.indemnity_cents, p.total_cents, p.spans) == (0, 0, 0, ())


def test_one_day_late_already_owes_the_indemnity():
    # 1 000.00 EUR x 12.15 % x 1 / 365 = 121.50 / 365 = 0.3329 -> 0.33
    p = penalty_for("business", 100_000, date(2025, 9, 1), date(2025, 9, 2))
    assert (p.days_late, p.interest_cents, p.indemnity_cents) == (1, 33, 4000)
    p = penalty_for("business", 100_000, date(2025, 9, 1), date(2025, 9, 2), indemnity_cents=0)
    assert p.total_cents == 33


# --- tables, categories and arguments --------------------------------------------------------

def test_a_semester_beyond_the_table_uses_the_latest_known_row():
    table = RateTable([rates("2025-H1", "3.15", "7.21", "3.71"),
                       rates("2025-H2", "2.15", "6.65", "2.76")])
    # Due 2025-12-21, on 2026-01-10: 2025-12-22 .. 2026-01-10 = 20 days, 2026-H1 unknown -> the
    # 2025-H2 row: 12.15 % all along, one span.
    # 3 650.00 EUR x 12.15 % x 20 / 365 = 10 x 12.15 x 20 / 100 = 24.30 EUR
    p = penalty_for("business", 365_000, date(2025, 12, 21), date(2026, 1, 10), table)
    assert p.spans == (Span(date(2025, 12, 22), date(2026, 1, 10), 20, D("12.15")),)
    assert p.interest_cents == 2430
    # Consumer in 2026 with this table: 2.76 %. 10 000.00 EUR x 2.76 % x 10 / 365 = 7.56
    p = penalty_for("consumer", 1_000_000, date(2026, 1, 1), date(2026, 3, 11), table,
                    formal_notice_on=date(2026, 3, 1))
    assert p.spans == (Span(date(2026, 3, 2), date(2026, 3, 11), 10, D("2.76")),)
    assert p.interest_cents == 756


def test_the_shipped_table_carries_its_last_row_forward():
    # 2027-H1 is beyond the shipped table: its last row (2026-H2) applies.
    assert RateTable().for_semester("2027-H1") == DEFAULT_RATES[-1]
    p = penalty_for("business", 100_000, date(2027, 2, 1), date(2027, 2, 11))
    assert p.rate_percent == DEFAULT_RATES[-1].ecb_percent + 10


def test_an_edited_table_changes_the_result():
    # A creditor's copy with 2025-H2 at ECB 2.00: 12.00 %.
    # 3 650.00 EUR x 12 % x 10 / 365 = 10 x 12 x 10 / 100 = 12.00 EUR
    edited = [r for r in DEFAULT_RATES if r.semester != "2025-H2"]
    edited.append(rates("2025-H2", "2.00", "6.65", "2.76"))
    p = penalty_for("business", 365_000, date(2025, 9, 1), date(2025, 9, 11), RateTable(edited))
    assert (p.rate_percent, p.interest_cents) == (D("12.00"), 1200)


def test_unknown_category_is_refused_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="business, consumer, public"):
        penalty_for("company", 100_000, date(2025, 9, 1), date(2025, 10, 11))


def test_float_money_is_refused():
    with pytest.raises(TypeError):
        penalty_for("business", 1000.0, date(2025, 9, 1), date(2025, 10, 11))
    with pytest.raises(TypeError):
        penalty_for("business", 100_000, date(2025, 9, 1), date(2025, 10, 11),
                    contract_rate_percent=12.5)
    with pytest.raises(TypeError):
        late_interest_cents(100_000, 10, 12.15)


def test_the_module_imports_only_the_standard_library():
    tree = ast.parse(Path(penalties.__file__).read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative import: the module stays pure"
            modules.add(node.module.split(".")[0])
    assert modules and modules <= sys.stdlib_module_names, modules


# --- property: the spans are exactly the interest days, priced day by day ---------------------

def _rate_on(category, day, table):
    row = table.for_semester(semester_of(day))
    return business_rate(row) if category == "business" else consumer_rate(row)


@settings(max_examples=150, deadline=None)
@given(category=st.sampled_from(["business", "consumer"]),
       due=st.dates(date(2015, 1, 1), date(2027, 12, 31)),
       late=st.integers(0, 900),
       balance=st.integers(1, 10**9))
def test_spans_cover_every_interest_day_at_that_days_rate(category, due, late, balance):
    table = RateTable()
    as_of = due + timedelta(days=late)
    p = penalty_for(category, balance, due, as_of, formal_notice_on=due)
    assert p.days_late == late
    assert sum(span.days for span in p.spans) == late
    day = due + timedelta(days=1)
    numerator = Decimal(0)
    for span in p.spans:
        assert span.start == day and span.end >= span.start
        assert span.days == (span.end - span.start).days + 1
        for offset in range(span.days):
            current = span.start + timedelta(days=offset)
            assert _rate_on(category, current, table) == span.rate_percent
            numerator += span.rate_percent * balance  # one day's interest x 36 500
        day = span.end + timedelta(days=1)
    assert (p.spans[-1].end if p.spans else as_of) == as_of
    # Round half-up of numerator / 36 500, in integers: floor((2n + d) / 2d).
    n, d = int(numerator * 100), 36500 * 100
    assert p.interest_cents == (2 * n + d) // (2 * d)
    for left, right in zip(p.spans, p.spans[1:]):
        assert left.rate_percent != right.rate_percent  # adjacent spans at one rate are merged
