"""Reminder policies as data: ordered levels whose attributes decide what each one does.

A level is sent `offset_days` after the due date (before it when negative: a heads-up), through
its `channels`, worded by its `template`, stating penalties or not, as the formal notice or not,
giving `deadline_days` to pay. Nothing anywhere branches on a level's number: the number only
names the level (a reminder row remembers which level it was).

A policy is chosen by name (`Customer.policy`, default "default") and adapted to the customer's
tier (key, standard, risky) by the policy's own `tiers` overrides. Everything here is immutable
data plus small pure functions; the documents come from `portal.settings.document`.
"""
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from functools import cached_property

TIERS = ("key", "standard", "risky")
CHANNELS = ("email", "sms", "letter", "call")  # sms: sent where the creditor has a provider
LADDERS = ("account", "invoice")


@dataclass(frozen=True)
class Level:
    number: int
    offset_days: int  # calendar days after the due date (negative: before it)
    channels: tuple
    template: str  # a key of the settings' templates
    penalties: bool = False  # the message states the late-payment penalties
    formal_notice: bool = False  # this level is the mise en demeure
    deadline_days: int = 0  # days given to pay, stated in the message (0: none)
    # An A/B test: half the debtors (`reminders.compose.variant_of`) get this template instead
    # ("": no test); portal/effectiveness.py compares what each variant got paid.
    variant_template: str = ""
    # A heads-up: sent before the due date, only as the first word about an invoice. Kept as a
    # field, not a property: the schedule reads it for every level of a million invoices.
    before_due: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "before_due", self.offset_days < 0)


@dataclass(frozen=True)
class Policy:
    name: str
    levels: tuple
    label: str = ""
    heads_up: bool = True  # send the before-due level, where the policy has one
    # "account": one ladder per debtor (portal.rules.schedule.account_action: a cycle runs from the
    # first overdue invoice until nothing is overdue; messages never step down within it); or
    # "invoice": each invoice climbs its own levels (Tryton's dunning).
    ladder: str = "account"
    max_shift_days: int = 10  # bound of the payment-habit shift
    min_gap_days: int = 7  # at least this many days between two reminders of one debtor (ladder
    # "account"; of one invoice with ladder "invoice")
    promise_grace_days: int = 1  # business days after a promised date before it counts as broken
    promise_max_days: int = 30  # a promise may not be further away than this
    restart_business_days: int = 7  # "never received": the first reminder again this many days later
    # Instalment plans a debtor may request, and which of them are approved without a human.
    instalment_hard_max: int = 12  # the form refuses more instalments than this
    instalment_max_count: int = 6  # up to this many: approved automatically...
    instalment_max_total_cents: int = 1_000_000  # ...for at most this much in all...
    instalment_min_first_percent: int = 15  # ...if the first instalment is at least this share
    instalment_first_within_days: int = 30  # the first instalment no later than this
    instalment_auto_tiers: tuple = ("key", "standard")  # risky customers always wait for a human
    instalment_grace_days: int = 10  # an instalment unpaid this long after its date breaks the plan
    sepa_prenotice_days: int = 5  # automatic debits are announced this many days before (mandate)
    # Early-payment discount (escompte), portal.rules.discount: this percent of the invoice ("2",
    # "1.5"; "": none) off when paid within `discount_days` of the issue date (0: by the due date).
    discount_percent: str = ""
    discount_days: int = 0
    tiers: tuple = ()  # ((tier, {attribute: value, "offsets": {number: days}}), ...)

    def level(self, number):
        for level in self.levels:
            if level.number == number:
                return level
        raise KeyError(f"policy {self.name!r} has no level {number}")

    def level_for(self, number):
        """The level `number`, or, when the settings changed since it was planned, the highest
        level below it (a reminder planned yesterday still goes out with today's wording);
        None when no level is left at or below it (never one above: a heads-up planned before
        its level was removed must not go out as an overdue reminder)."""
        below = [lv for lv in self.levels if lv.number <= number]
        return below[-1] if below else None

    @cached_property
    def reminders(self):
        """The levels sent after the due date, in order."""
        return tuple(lv for lv in self.levels if not lv.before_due)

    @property
    def first_reminder(self):
        return self.reminders[0]

    def next_level(self, last):
        """The reminder level after level number `last` (None: the first one), or None."""
        for level in self.reminders:
            if last is None or level.number > last:
                return level
        return None

    @property
    def channels(self):
        """Every channel some level of this policy uses."""
        return {c for lv in self.levels for c in lv.channels}


def discount_rate(text):
    """The discount's percent written as text ("2", "1,5"), as a Decimal; None when it is not a
    percent more than 0 and less than 100 with at most two decimals."""
    try:
        rate = Decimal(str(text).strip().replace(",", "."))
    except InvalidOperation:
        return None
    if not rate.is_finite() or not 0 < rate < 100 or rate != rate.quantize(Decimal("0.01")):
        return None
    return rate


# Attributes a tier may override (plus "offsets": {level number: offset days}).
TIER_ATTRIBUTES = ("heads_up", "max_shift_days", "min_gap_days", "promise_grace_days",
                   "promise_max_days", "instalment_auto_tiers", "instalment_max_count",
                   "instalment_max_total_cents")
POLICY_ATTRIBUTES = tuple(f.name for f in fields(Policy) if f.name not in ("name", "levels",
                                                                           "tiers"))


def for_tier(policy, tier):
    """`policy` adapted to `tier` by its own overrides."""
    overrides = dict(dict(policy.tiers).get(tier or "standard", {}))
    offsets = overrides.pop("offsets", None)
    if offsets:
        overrides["levels"] = tuple(
            replace(lv, offset_days=offsets.get(lv.number, lv.offset_days))
            for lv in policy.levels)
    if "instalment_auto_tiers" in overrides:
        overrides["instalment_auto_tiers"] = tuple(overrides["instalment_auto_tiers"])
    return replace(policy, **overrides) if overrides else policy


def habit_shift(policy, median_days_late):
    """Days by which the first reminders move for a customer who pays late but pays.

    Bounded by the policy (hence by tier); a customer who pays on time gets no shift."""
    if not median_days_late or median_days_late <= 0:
        return 0
    return min(median_days_late, policy.max_shift_days)


def level_problems(levels):
    """What is wrong with an ordered list of levels: [(index or None, field, message)]."""
    problems = []
    if not levels:
        return [(None, "levels", "a policy needs at least one level")]
    for i, level in enumerate(levels):
        if i and level.number <= levels[i - 1].number:
            problems.append((i, "number", "level numbers must increase "
                             f"({levels[i - 1].number} then {level.number})"))
        if i and level.offset_days < levels[i - 1].offset_days + 1:
            problems.append((i, "offset_days", "each level must come at least one day after the "
                             f"previous one ({levels[i - 1].offset_days} then "
                             f"{level.offset_days})"))
        if level.before_due and i:
            problems.append((i, "offset_days", "only the first level may come before the due "
                             "date (a heads-up)"))
        if not level.channels:
            problems.append((i, "channels", "at least one channel"))
        unknown = [c for c in level.channels if c not in CHANNELS]
        if unknown:
            problems.append((i, "channels", f"unknown channel(s) {', '.join(unknown)}; "
                             f"use {', '.join(CHANNELS)}"))
        if level.formal_notice and i != len(levels) - 1:
            problems.append((i, "formal_notice", "only the last level may be the formal notice"))
        if level.before_due and (level.formal_notice or level.penalties):
            problems.append((i, "penalties", "a heads-up cannot state penalties or be a "
                             "formal notice"))
        if level.deadline_days < 0:
            problems.append((i, "deadline_days", "a deadline cannot be negative"))
        if level.formal_notice and level.deadline_days < 1:
            problems.append((i, "deadline_days", "a formal notice gives a deadline of at least "
                             "one day"))
    if all(lv.before_due for lv in levels):
        problems.append((None, "levels", "a policy needs at least one level after the due date"))
    return problems
