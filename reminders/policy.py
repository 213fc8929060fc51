"""Reminder policies: ordered levels with their offset, channels and tone (DESIGN.md 4).

A policy is chosen by name (`Customer.policy`, default "default") and adapted to the customer's tier
(key, standard, risky). Everything here is immutable data plus small pure functions.
"""
from dataclasses import dataclass, replace
from functools import lru_cache

TIERS = ("key", "standard", "risky")
CHANNELS = ("email", "call", "letter")


@dataclass(frozen=True)
class Level:
    number: int
    offset_days: int  # calendar days after the due date (negative: before it)
    channels: tuple
    tone: str


@dataclass(frozen=True)
class Policy:
    name: str
    levels: tuple
    heads_up: bool = True  # send level 0 before the due date
    max_shift_days: int = 10  # bound of the payment-habit shift
    min_gap_days: int = 7  # at least this many days between two reminders of one invoice
    promise_grace_days: int = 1  # business days after a promised date before it counts as broken
    promise_max_days: int = 30  # a promise may not be further away than this
    restart_business_days: int = 7  # "never received": level 1 again this many business days later
    # Instalment plans a debtor may request, and which of them are approved without a human.
    instalment_hard_max: int = 12  # the form refuses more instalments than this
    instalment_max_count: int = 6  # up to this many: approved automatically...
    instalment_max_total_cents: int = 1_000_000  # ...for at most this much in all...
    instalment_min_first_percent: int = 15  # ...if the first instalment is at least this share
    instalment_first_within_days: int = 30  # the first instalment no later than this
    instalment_auto_tiers: tuple = ("key", "standard")  # risky customers always wait for a human
    instalment_grace_days: int = 10  # an instalment unpaid this long after its date breaks the plan
    sepa_prenotice_days: int = 5  # automatic debits are announced this many days before (mandate)

    @property
    def max_level(self):
        return self.levels[-1].number

    def level(self, number):
        for level in self.levels:
            if level.number == number:
                return level
        raise KeyError(f"policy {self.name!r} has no level {number}")


DEFAULT_LEVELS = (
    Level(0, -3, ("email",), "heads-up"),
    Level(1, 7, ("email",), "cordial"),
    Level(2, 21, ("email",), "firm"),
    Level(3, 51, ("email", "call"), "penalties"),
    Level(4, 60, ("letter", "email"), "formal-notice"),
)

POLICIES = {
    "default": Policy("default", DEFAULT_LEVELS),
    # For customers one wants to keep close: later and fewer reminders.
    "gentle": Policy("gentle", (
        Level(0, -3, ("email",), "heads-up"),
        Level(1, 10, ("email",), "cordial"),
        Level(2, 30, ("email",), "firm"),
        Level(3, 60, ("email", "call"), "penalties"),
        Level(4, 75, ("letter", "email"), "formal-notice"),
    ), max_shift_days=15),
}

# Per-tier adaptation of whichever policy applies: key accounts get more room for their habits,
# risky ones are chased earlier and never get a habit shift.
TIER_OVERRIDES = {
    "key": {"max_shift_days": 20},
    "standard": {},
    "risky": {"max_shift_days": 0, "heads_up": True, "instalment_auto_tiers": (),
              "offsets": {1: 3, 2: 14, 3: 30, 4: 40}},
}


@lru_cache(maxsize=64)
def policy_for(tier="standard", name=None):
    """The policy named `name` (default policy when None) adapted to `tier`."""
    try:
        policy = POLICIES[name or "default"]
    except KeyError:
        raise KeyError(f"unknown policy {name!r}; known: {', '.join(POLICIES)}") from None
    overrides = dict(TIER_OVERRIDES.get(tier or "standard", {}))
    offsets = overrides.pop("offsets", None)
    if offsets:
        levels = tuple(replace(lv, offset_days=offsets.get(lv.number, lv.offset_days))
                       for lv in policy.levels)
        overrides["levels"] = levels
    return replace(policy, **overrides) if overrides else policy


def habit_shift(policy, median_days_late):
    """Days by which the first reminders move for a customer who pays late but pays.

    Bounded by the policy (hence by tier); a customer who pays on time gets no shift."""
    if not median_days_late or median_days_late <= 0:
        return 0
    return min(median_days_late, policy.max_shift_days)
