"""The formal notice (mise en demeure) and its deadline, decided once. From what the run recorded
when it sent a message at a formal-notice level, this says which invoices had a formal notice,
on which day, until when it gave them to pay, what it demanded for each, and whether that
deadline has passed on a given day. Pure: no Flask, no database. `portal.handover` reads the
records and asks; the debtor page, the hand-over, the dossier and its summary read the answer.

- A formal notice is one message of the run at a formal-notice level. Its invoices are the ones
  its registered letter names (the letter is what a bailiff or a court reads), or, for a level
  that sends no letter, the ones the e-mail listed as overdue that day.
- Its deadline is the one it stated where the run recorded it, else its day plus the level's
  `deadline_days`. The deadline has passed the day after it (the debtor has the whole last day).
- An invoice's formal notice is its latest: a new notice gives a new deadline that the debtor
  may rely on.
"""
from datetime import date, timedelta
from typing import NamedTuple

NOT_NOTICED, RUNNING, PASSED = "not_noticed", "running", "passed"


class Sent(NamedTuple):
    """What the run recorded of one message at a formal-notice level. Invoices are keys the
    caller chooses (ids); `demanded` maps an invoice to the cents the notice demanded for it."""
    message_id: str
    on: date  # the run's day
    level: int
    overdue: frozenset  # the invoices the message listed as overdue that day
    letter: frozenset | None = None  # the invoices its formal-notice letter names (None: none)
    deadline: date | None = None  # as the notice stated it, where the run recorded it
    demanded: tuple = ()  # ((invoice, cents), ...) as stated, where recorded


class Notice(NamedTuple):
    """One formal notice as it stands: its day, its deadline, its invoices and what it
    demanded for each (`demanded_cents`; None where nothing was recorded)."""
    message_id: str
    on: date
    deadline: date
    invoices: frozenset
    demanded: tuple = ()
    by_letter: bool = False

    def passed(self, as_of):
        """Whether the deadline is over on `as_of` (the deadline's own day is still the
        debtor's)."""
        return as_of > self.deadline

    def demanded_cents(self, invoice):
        return dict(self.demanded).get(invoice)

    @property
    def claimable_from(self):
        """The first day the invoices it names can be handed over."""
        return self.deadline + timedelta(days=1)


class Standing(NamedTuple):
    """One invoice seen on a day: NOT_NOTICED (no formal notice yet), RUNNING (its notice's
    deadline is not over) or PASSED; `notice` is its latest formal notice."""
    invoice: object
    state: str
    notice: Notice | None = None


def notices(sent, deadline_days, default_days=0):
    """The formal notices among `sent` (Sent records), oldest first. `deadline_days`: the
    policy's {level: deadline_days} of its formal-notice levels; a record at a level the policy
    no longer has gets `default_days` (its recorded deadline wins anyway)."""
    found = []
    for record in sorted(sent, key=lambda s: (s.on, s.message_id)):
        invoices = record.letter if record.letter is not None else record.overdue
        if not invoices:
            continue
        deadline = record.deadline or record.on + timedelta(
            days=deadline_days.get(record.level, default_days))
        found.append(Notice(record.message_id, record.on, deadline, frozenset(invoices),
                            tuple(record.demanded), record.letter is not None))
    return found


def notice_of(invoice, found):
    """The latest formal notice naming `invoice` among `found` (oldest first), or None."""
    return next((n for n in reversed(found) if invoice in n.invoices), None)


def standing(invoice, found, as_of, key=None):
    """Where `invoice` stands on `as_of` with respect to its formal notice (`key(invoice)`:
    the key the records use, the invoice itself by default)."""
    notice = notice_of(key(invoice) if key else invoice, found)
    if notice is None:
        return Standing(invoice, NOT_NOTICED)
    return Standing(invoice, PASSED if notice.passed(as_of) else RUNNING, notice)


class Split(NamedTuple):
    """Invoices sorted by their formal notice on a day: those that can be handed over
    (deadline passed), those whose deadline runs, those never formally noticed."""
    passed: list
    running: list
    not_noticed: list

    @property
    def apart(self):
        """What a hand-over leaves out, each with why (a Standing)."""
        return self.running + self.not_noticed


def split(invoices, found, as_of, key=None):
    """`invoices` sorted into a Split of Standings, in their given order."""
    out = Split([], [], [])
    for invoice in invoices:
        seen = standing(invoice, found, as_of, key)
        getattr(out, seen.state).append(seen)
    return out
