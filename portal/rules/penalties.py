"""Late-payment interest and fixed indemnity under French law, by category of debtor.

Three regimes, chosen by the debtor's category:

``business`` - a professional debtor (Code de commerce, art. L441-10 and D441-5).
    Interest runs of right, without any formal notice, from the day after the due date. The
    default rate is the ECB main refinancing rate plus 10 points; the ECB rate used for the
    first half of a year is the one in force on 1 January, for the second half the one in force
    on 1 July, so a period spanning two semesters is split and each part bears its own
    semester's rate. The creditor may set another rate in its terms (``contract_rate_percent``)
    but never below three times the legal interest rate (the "other cases" rate, since the
    creditor is not a private individual) of the semester concerned: below that floor, the floor
    applies. A fixed indemnity for recovery costs of 40 EUR (D441-5) is owed per invoice paid
    late.

``public`` - a public buyer (Code de la commande publique, art. L2192-13, R2192-31, D2192-35).
    Interest ("intérêts moratoires") runs of right from the day after the payment deadline. Per
    R2192-31 the rate is the ECB main refinancing rate in force on the first day of the semester
    in which interest STARTED to run, plus 8 points, and that one rate applies to the whole
    period, whatever happens to the ECB rate afterwards. Plus the same 40 EUR fixed indemnity
    (D2192-35).

``consumer`` - a consumer (Code civil, art. 1231-6; L441-10 does not apply to consumers).
    No fixed indemnity. Interest is only owed after a formal notice ("mise en demeure"): from
    the day after ``formal_notice_on`` (never before the day after the due date), at the legal
    interest rate of each semester (Code monétaire et financier, L313-2 and D313-1-A) for "all
    other cases", the creditor being a business and not a private individual. Without a formal
    notice there is no interest at all.

Interest of one span = balance x rate / 100 x days / 365; the spans are summed exactly and the
sum is rounded half-up to the cent once, at the end. Money is integer cents, arithmetic is
Decimal, never float. Dates are ``datetime.date``.

The rates are data, not code: ``DEFAULT_RATES`` is the shipped table (one row per calendar
semester), and the application stores an edited copy per creditor (to add a semester as soon as
the rates are published, or to correct one) which it passes in as a ``RateTable``. A semester
beyond the table uses the latest known row. This module only computes: it is pure and imports
nothing but the standard library.
"""
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

CATEGORIES = ("business", "consumer", "public")
FIXED_INDEMNITY_CENTS = 4000  # Code de commerce D441-5, Code de la commande publique D2192-35

BUSINESS_MARGIN_POINTS = Decimal(10)  # Code de commerce L441-10 II
PUBLIC_MARGIN_POINTS = Decimal(8)  # Code de la commande publique R2192-31
CONTRACT_FLOOR_MULTIPLIER = Decimal(3)  # L441-10 II: never below 3 x the legal interest rate

_SEMESTER = re.compile(r"^(\d{4})-H([12])$")
_ONE_DAY = timedelta(days=1)


def _decimal(value, what):
    """A Decimal from a Decimal, an int or a string; a float is refused (never float money)."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise TypeError(f"{what} must be a Decimal, an int or a string, not {value!r}")
    try:
        result = Decimal(value.strip() if isinstance(value, str) else value)
    except ArithmeticError:
        raise ValueError(f"{what} is not a number: {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"{what} is not a number: {value!r}")
    return result


def _semester_key(semester):
    match = _SEMESTER.match(semester) if isinstance(semester, str) else None
    if not match:
        raise ValueError(f"a semester is written YYYY-H1 or YYYY-H2, not {semester!r}")
    return int(match.group(1)), int(match.group(2))


def semester_of(day: date) -> str:
    """The calendar semester of `day`: "2026-H1" for 2026-03-10, "2026-H2" for 2026-07-01."""
    return f"{day.year}-H{1 if day.month <= 6 else 2}"


def semester_bounds(semester: str) -> tuple[date, date]:
    """First and last day of a semester: 1 January - 30 June, or 1 July - 31 December."""
    year, half = _semester_key(semester)
    if half == 1:
        return date(year, 1, 1), date(year, 6, 30)
    return date(year, 7, 1), date(year, 12, 31)


@dataclass(frozen=True)
class SemesterRates:
    """The rates of one calendar semester, in percent a year."""
    semester: str  # "2025-H2"
    ecb_percent: Decimal  # ECB main refinancing rate in force on 1 January / 1 July
    legal_individual_percent: Decimal  # legal interest rate, creditors who are private individuals
    legal_other_percent: Decimal  # legal interest rate, all other cases

    def __post_init__(self):
        _semester_key(self.semester)
        for name in ("ecb_percent", "legal_individual_percent", "legal_other_percent"):
            # An edited copy may come back from storage as strings: accept them, refuse floats.
            object.__setattr__(self, name, _decimal(getattr(self, name), f"{self.semester} {name}"))


def _row(semester, ecb, legal_individual, legal_other):
    return SemesterRates(semester, Decimal(ecb), Decimal(legal_individual), Decimal(legal_other))


DEFAULT_RATES: tuple[SemesterRates, ...] = (
    # ECB column: main refinancing rate in force on 1 January / 1 July. Changes: 0.05 from
    # 10-09-2014, 0.00 from March 2016, 0.50 from 27-07-2022 ... 2.50 from 21-12-2022, 4.00 from
    # 21-06-2023, 4.50 from 20-09-2023, 4.25 from 12-06-2024, 3.15 from 18-12-2024, 2.15 from
    # 11-06-2025 (ECB decisions, as listed by retout.fr "Taux de refinancement (taux refi)").
    # Legal interest rates 2015-2025 (individual / other): the semi-annual arrêtés published in
    # the Journal officiel (Code monétaire et financier L313-2, D313-1-A), as tabulated by
    # service-public.fr F20688 (copy at laclef.eu, "Taux de l'intérêt légal au 1er semestre 2026").
    _row("2015-H1", "0.05", "4.06", "0.93"),
    _row("2015-H2", "0.05", "4.29", "0.99"),
    _row("2016-H1", "0.05", "4.54", "1.01"),
    _row("2016-H2", "0.00", "4.35", "0.93"),
    _row("2017-H1", "0.00", "4.16", "0.90"),
    _row("2017-H2", "0.00", "3.94", "0.90"),
    _row("2018-H1", "0.00", "3.73", "0.89"),
    _row("2018-H2", "0.00", "3.60", "0.88"),
    _row("2019-H1", "0.00", "3.40", "0.86"),
    _row("2019-H2", "0.00", "3.26", "0.87"),
    _row("2020-H1", "0.00", "3.15", "0.87"),
    _row("2020-H2", "0.00", "3.11", "0.84"),
    _row("2021-H1", "0.00", "3.14", "0.79"),
    _row("2021-H2", "0.00", "3.12", "0.76"),
    _row("2022-H1", "0.00", "3.13", "0.76"),
    _row("2022-H2", "0.00", "3.15", "0.77"),
    _row("2023-H1", "2.50", "4.47", "2.06"),
    _row("2023-H2", "4.00", "6.82", "4.22"),
    _row("2024-H1", "4.50", "8.01", "5.07"),
    _row("2024-H2", "4.25", "8.16", "4.92"),
    _row("2025-H1", "3.15", "7.21", "3.71"),
    _row("2025-H2", "2.15", "6.65", "2.76"),  # arrêté ECOT2516925A of 19-06-2025, JO 24-06-2025
    # 2026-H1: legal rates from the arrêté of 15-12-2025 (JORF n°0302, 26-12-2025); ECB rate kept
    # at 2.15 by the Governing Council on 18-12-2025 (and again on 05-02-2026).
    _row("2026-H1", "2.15", "6.67", "2.62"),
    # 2026-H2: neither the arrêté for the second half of 2026 nor the ECB rate in force on
    # 1 July 2026 could be found; edit this row when they are published.
    _row("2026-H2", "2.15", "6.67", "2.62"),  # unconfirmed: repeated from 2026-H1
)


class RateTable:
    """Rates by semester. Rows may come in any order; two rows for one semester are refused."""

    def __init__(self, rates=DEFAULT_RATES):
        rows = {}
        for row in rates:
            if not isinstance(row, SemesterRates):
                raise TypeError(f"a rate table holds SemesterRates, not {row!r}")
            key = _semester_key(row.semester)
            if key in rows:
                raise ValueError(f"two rows for the semester {row.semester}")
            rows[key] = row
        if not rows:
            raise ValueError("a rate table needs at least one semester")
        self._keys = sorted(rows)
        self._rows = tuple(rows[key] for key in self._keys)
        self._by_key = rows
        self._spans = {}  # the spans of a period, by its start, end and category: see _spans

    @property
    def rows(self) -> tuple[SemesterRates, ...]:
        """Every row, oldest first."""
        return self._rows

    @property
    def latest(self) -> SemesterRates:
        return self._rows[-1]

    def is_known(self, semester: str) -> bool:
        return _semester_key(semester) in self._by_key

    def for_semester(self, semester: str) -> SemesterRates:
        """The row of `semester`; for a semester not yet in the table (rates not published yet),
        the latest known row before it; before the first row, the first row."""
        key = _semester_key(semester)
        found = self._by_key.get(key)
        if found is not None:
            return found
        before = [k for k in self._keys if k < key]
        return self._by_key[before[-1]] if before else self._rows[0]

    def __repr__(self):
        first, last = self._rows[0].semester, self._rows[-1].semester
        return f"RateTable({first}..{last}, {len(self._rows)} rows)"


_DEFAULT_TABLE = RateTable(DEFAULT_RATES)


@dataclass(frozen=True)
class Span:
    """One part of the interest period at one rate."""
    start: date  # first day counted
    end: date  # last day counted (inclusive)
    days: int
    rate_percent: Decimal


@dataclass(frozen=True)
class Penalty:
    category: str
    days_late: int
    interest_cents: int
    indemnity_cents: int
    spans: tuple = ()  # of Span, in order; empty when no interest runs

    @property
    def total_cents(self) -> int:
        return self.interest_cents + self.indemnity_cents

    @property
    def rate_percent(self):
        """The rate of the last span (the one in force on as_of), None without spans."""
        return self.spans[-1].rate_percent if self.spans else None


def business_rate(rates: SemesterRates, contract_rate_percent=None) -> Decimal:
    """L441-10: ECB + 10 points; or the contract rate, but never below 3 x the legal rate."""
    if contract_rate_percent is None:
        return rates.ecb_percent + BUSINESS_MARGIN_POINTS
    contract = _decimal(contract_rate_percent, "contract_rate_percent")
    return max(contract, CONTRACT_FLOOR_MULTIPLIER * rates.legal_other_percent)


def public_rate(rates: SemesterRates) -> Decimal:
    """R2192-31: ECB + 8 points (`rates` is the row of the semester where interest started)."""
    return rates.ecb_percent + PUBLIC_MARGIN_POINTS


def consumer_rate(rates: SemesterRates) -> Decimal:
    """Code civil 1231-6: the legal interest rate, "all other cases" (a business creditor)."""
    return rates.legal_other_percent


def _interest_cents(balance_cents, parts):
    """Sum of balance x rate / 100 x days / 365 over (rate_percent, days) parts, rounded
    half-up to the cent ONCE, at the end."""
    parts = [(rate, days) for rate, days in parts if days > 0]
    if balance_cents <= 0 or not parts:
        return 0
    with localcontext() as ctx:
        ctx.prec = 60  # exact for any realistic amount: one division, then the rounding
        numerator = sum((Decimal(balance_cents) * rate * days for rate, days in parts), Decimal(0))
        amount = numerator / Decimal(36500)
        return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _spans_by_semester(start, end, rate_of_semester):
    """Cut start..end (inclusive) at semester boundaries; adjacent parts at one rate are merged."""
    spans = []
    day = start
    while day <= end:
        semester = semester_of(day)
        last = min(semester_bounds(semester)[1], end)
        rate = rate_of_semester(semester)
        if spans and spans[-1].rate_percent == rate:
            previous = spans.pop()
            spans.append(Span(previous.start, last, (last - previous.start).days + 1, rate))
        else:
            spans.append(Span(day, last, (last - day).days + 1, rate))
        day = last + _ONE_DAY
    return tuple(spans)


def _spans(category, start, as_of, table, contract_rate_percent, formal_notice_on):
    """The rated spans from `start` to `as_of`: they do not depend on the amount, so they are
    kept on the (immutable) table: the run asks for the same few thousand periods again and
    again."""
    key = (category, start, as_of, contract_rate_percent, formal_notice_on)
    found = table._spans.get(key)
    if found is not None:
        return found
    if category == "business":
        spans = _spans_by_semester(
            start, as_of,
            lambda s: business_rate(table.for_semester(s), contract_rate_percent))
    elif category == "public":
        rate = public_rate(table.for_semester(semester_of(start)))
        spans = (Span(start, as_of, (as_of - start).days + 1, rate),)
    elif formal_notice_on is None:  # consumer: interest only from a formal notice
        spans = ()
    else:
        start = max(start, formal_notice_on + _ONE_DAY)
        spans = _spans_by_semester(start, as_of,
                                   lambda s: consumer_rate(table.for_semester(s)))
    if len(table._spans) >= 50_000:
        table._spans.clear()
    table._spans[key] = spans
    return spans


def penalty_for(category, balance_cents, due_date: date, as_of: date, table=None, *,
                contract_rate_percent=None, indemnity_cents=FIXED_INDEMNITY_CENTS,
                formal_notice_on=None) -> Penalty:
    """Interest and fixed indemnity owed on `as_of` for an invoice due on `due_date`.

    `table` is a RateTable (None: the shipped DEFAULT_RATES). `contract_rate_percent` only
    matters for a business debtor, `formal_notice_on` only for a consumer.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown debtor category {category!r}: expected one of "
                         f"{', '.join(CATEGORIES)}")
    if isinstance(balance_cents, (bool, float)) or not isinstance(balance_cents, int):
        raise TypeError(f"balance_cents must be an int number of cents, not {balance_cents!r}")
    if isinstance(indemnity_cents, (bool, float)) or not isinstance(indemnity_cents, int):
        raise TypeError(f"indemnity_cents must be an int number of cents, not {indemnity_cents!r}")
    if table is None:
        table = _DEFAULT_TABLE
    elif not isinstance(table, RateTable):
        table = RateTable(table)

    days_late = max(0, (as_of - due_date).days)
    if balance_cents <= 0 or days_late == 0:
        return Penalty(category, days_late, 0, 0, ())

    if contract_rate_percent is not None:  # checked here: a kept period skips business_rate
        contract_rate_percent = _decimal(contract_rate_percent, "contract_rate_percent")
    start = due_date + _ONE_DAY  # the first day of interest
    indemnity = 0 if category == "consumer" else indemnity_cents
    spans = _spans(category, start, as_of, table, contract_rate_percent, formal_notice_on)
    interest = _interest_cents(balance_cents, ((span.rate_percent, span.days) for span in spans))
    return Penalty(category, days_late, interest, indemnity, spans)


def late_interest_cents(balance_cents, days_late, rate_percent) -> int:
    """Simple interest at one rate: balance x rate / 100 x days / 365, rounded half-up."""
    if balance_cents <= 0 or days_late <= 0:
        return 0
    return _interest_cents(balance_cents, ((_decimal(rate_percent, "rate_percent"), days_late),))
