"""Late-payment penalties between businesses in France (Code de commerce, art. L441-10 and D441-5).

Interest runs from the day after the due date at the agreed rate, by default the ECB refinancing rate
plus 10 points; a fixed indemnity for recovery costs of 40 EUR is owed per invoice paid late.
All arithmetic is Decimal, rounded half-up to the cent.
"""
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

FIXED_INDEMNITY_CENTS = 4000


@dataclass(frozen=True)
class Penalty:
    days_late: int
    rate_percent: Decimal
    interest_cents: int
    indemnity_cents: int

    @property
    def total_cents(self):
        return self.interest_cents + self.indemnity_cents


def late_interest_cents(balance_cents, days_late, rate_percent):
    """Simple interest on the unpaid balance: balance x rate x days / 365."""
    if balance_cents <= 0 or days_late <= 0:
        return 0
    amount = Decimal(balance_cents) * Decimal(rate_percent) / Decimal(100) * days_late / 365
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def penalty_for(balance_cents, due_date: date, as_of: date, rate_percent,
                indemnity_cents=FIXED_INDEMNITY_CENTS):
    days_late = max(0, (as_of - due_date).days)
    interest = late_interest_cents(balance_cents, days_late, rate_percent)
    return Penalty(days_late, Decimal(rate_percent), interest,
                   indemnity_cents if days_late > 0 else 0)
