"""An instalment plan's arithmetic: equal amounts in whole cents, monthly dates, and how money
received covers the instalments in order. Pure: no Flask, no database."""
import calendar
from datetime import date

# The smallest instalment: Stripe's minimum charge in euros (0.50 EUR, stripe.com/docs/currencies),
# so that the portal's "pay the next instalment" can always be paid by card or SEPA, and no
# schedule lists "0,00 €" instalments (which the run would announce and remind).
MIN_INSTALMENT_CENTS = 50


def split_amounts(total_cents, count):
    """Equal instalments in whole cents; the last one takes what rounding leaves. None under
    MIN_INSTALMENT_CENTS: callers check the count first (check_count, in the reader's words);
    here it is a ValueError, so that no path can store a 0,00 instalment."""
    if count < 1 or total_cents < count * MIN_INSTALMENT_CENTS:
        raise ValueError(f"{total_cents} cents in {count} instalments: some would be under "
                         f"{MIN_INSTALMENT_CENTS} cents")
    base = total_cents // count
    return [base] * (count - 1) + [total_cents - base * (count - 1)]


def monthly_dates(first, count):
    """The same day of each following month (the month's last day when it is shorter)."""
    dates = []
    for k in range(count):
        month0 = first.month - 1 + k
        year, month = first.year + month0 // 12, month0 % 12 + 1
        dates.append(date(year, month, min(first.day, calendar.monthrange(year, month)[1])))
    return dates


def covered_in_order(instalments, paid, as_of):
    """[(instalment, cents covered, state)]: `paid` covers the instalments (anything with
    amount_cents and due_date) in order; state is paid, late, due, partly_paid or upcoming."""
    out = []
    for instalment in instalments:
        covered = max(0, min(instalment.amount_cents, paid))
        paid -= covered
        if covered == instalment.amount_cents:
            state = "paid"
        elif instalment.due_date < as_of:
            state = "late"
        elif instalment.due_date == as_of:
            state = "due"
        else:
            state = "partly_paid" if covered else "upcoming"
        out.append((instalment, covered, state))
    return out
