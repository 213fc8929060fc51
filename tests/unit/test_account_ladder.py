"""The account ladder (policy ladder = "account", the shipped one), day by day as the run keeps it:
one ladder per debtor, never a gentler message after a firmer one within a cycle, every late
invoice in the account's message, a newly late invoice joining the next message, the cycle
ending when nothing is late. Pure functions, no database."""
import random
from datetime import date, timedelta

from portal.settings import shipped
from portal.rules.schedule import (AccountFacts, HoldFact, InvoiceFacts, account_action,
                                   account_upcoming, calendar_for, in_cycle)

CAL = calendar_for("FR")
D = date.fromisoformat
POLICY = shipped().policy_for("standard", None)
TOP = POLICY.levels[-1].number  # the formal notice


class Debtor:
    """One debtor's invoices and the state the run keeps, moved day by day as the run does."""

    def __init__(self, **invoices):
        self.invoices = {number: dict(due=D(due), balance=100_000, last=None, last_on=None,
                                      holds=()) for number, due in invoices.items()}
        self.kept = AccountFacts()
        self.sent = []  # (day, level, [numbers], reason)

    def facts(self):
        return [(n, InvoiceFacts(i["due"], i["balance"], i["last"], i["last_on"], i["holds"]))
                for n, i in self.invoices.items()]

    def day(self, day):
        facts = self.facts()
        if self.kept.level is not None and not in_cycle([f for _, f in facts], POLICY, CAL, day):
            self.kept = AccountFacts()  # reminders.scan.clear_cycles
        if not CAL.is_business_day(day):
            return None
        action = account_action(self.kept, facts, POLICY, CAL, day)
        if action is None:
            return None
        numbers = sorted(n for n, _ in action.members)
        self.sent.append((day.isoformat(), action.level, numbers, action.reason))
        for n in numbers:
            self.invoices[n].update(last=action.level, last_on=day)
        if not POLICY.level_for(action.level).before_due:  # reminders.deliver._keep_cycle
            late = [self.invoices[n]["due"] for n in numbers if self.invoices[n]["due"] < day]
            self.kept = AccountFacts(max(action.level, self.kept.level or 0), day, None,
                                     self.kept.started_on or min(late, default=day))
        return action

    def run(self, start, end, events=None):
        day, events = D(start), events or {}
        while day <= D(end):
            for change in events.get(day.isoformat(), ()):
                change(self)
            self.day(day)
            day += timedelta(days=1)
        return self.sent


def pay(number):
    return lambda debtor: debtor.invoices[number].update(balance=0)


def add(number, due):
    return lambda debtor: debtor.invoices.__setitem__(number, dict(
        due=D(due), balance=100_000, last=None, last_on=None, holds=()))


def hold(number, kind, starts_on, until=None):
    def change(debtor):
        invoice = debtor.invoices[number]
        invoice["holds"] = invoice["holds"] + (HoldFact(kind, D(starts_on),
                                                        D(until) if until else None),)
    return change


def test_one_ladder_for_two_invoices_from_the_first_due_date():
    # Due 2 and 20 February 2026 (shipped delays 7, 21, 51, 60 days; 7 days between messages).
    sent = Debtor(**{"B-1": "2026-02-02", "B-2": "2026-02-20"}).run("2026-02-03", "2026-04-30")
    assert sent == [
        ("2026-02-09", 1, ["B-1"], None),
        # Level 2 is 21 days after the cycle's start (2 Feb): B-2, late since the 21st, joins.
        ("2026-02-23", 2, ["B-1", "B-2"], None),
        ("2026-03-25", 3, ["B-1", "B-2"], None),
        ("2026-04-03", 4, ["B-1", "B-2"], None)]


def test_a_newly_late_invoice_joins_the_next_message_and_never_starts_at_level_1():
    # Caves Legrand: a formal notice on one invoice, then new invoices fall due. Per invoice
    # (Tryton) they would each get "sans doute un simple oubli"; on the account, nothing gentler:
    # each gets the formal notice in turn, alone (the first one's deadline stands), once a week
    # after the last message and 7 days after its own due date.
    debtor = Debtor(**{"L-1": "2026-09-01"})
    debtor.run("2026-09-02", "2026-11-05")
    assert [s[1] for s in debtor.sent] == [1, 2, 3, 4]
    sent = debtor.run("2026-11-06", "2027-01-31", {
        "2026-11-06": [add("L-2", "2026-11-10")], "2026-11-20": [add("L-3", "2026-11-25")]})
    assert [(s[0], s[1], s[2]) for s in sent[4:]] == [
        ("2026-11-17", 4, ["L-2"]), ("2026-12-02", 4, ["L-3"])]


def test_levels_never_step_down_within_a_cycle_whatever_arrives():
    """Random debtors over a year: invoices arrive, fall due, get paid; within a cycle the
    levels sent only go up, and every message names every late invoice nothing holds."""
    rng = random.Random(20261207)
    for _ in range(60):
        debtor = Debtor()
        events, day = {}, D("2026-01-05")
        for k in range(rng.randint(1, 6)):
            arrive = day + timedelta(days=rng.randint(0, 200))
            due = arrive + timedelta(days=rng.choice((0, 10, 30, 45)))
            events.setdefault(arrive.isoformat(), []).append(add(f"F-{k}", due.isoformat()))
            if rng.random() < 0.6:
                paid = due + timedelta(days=rng.randint(-5, 120))
                events.setdefault(max(paid, arrive).isoformat(), []).append(pay(f"F-{k}"))
        cycle_levels, previous = [], None
        day, end = D("2026-01-05"), D("2027-01-31")
        while day <= end:
            for change in events.get(day.isoformat(), ()):
                change(debtor)
            if debtor.kept.level is None:
                cycle_levels = []  # the cycle ended (or none started)
            action = debtor.day(day)
            if action is not None and not POLICY.level_for(action.level).before_due:
                late = sorted(n for n, i in debtor.invoices.items()
                              if i["balance"] > 0 and i["due"] < day)
                named = sorted(n for n, _ in action.members)
                if cycle_levels and action.level == cycle_levels[-1] == TOP:
                    # The top level again, for late invoices that never had it, and them only.
                    assert set(named) <= set(late) and named, day
                else:
                    assert not cycle_levels or action.level > cycle_levels[-1], (day, debtor.sent)
                    assert named == late, day
                cycle_levels.append(action.level)
            previous = action
            day += timedelta(days=1)
        assert previous is None or previous.level >= 0


def test_the_cycle_ends_when_nothing_is_late_and_the_next_one_starts_at_the_first_level():
    debtor = Debtor(**{"A-1": "2026-03-02"})
    sent = debtor.run("2026-03-03", "2026-04-10", {"2026-03-25": [pay("A-1")],
                                                    "2026-03-26": [add("A-2", "2026-04-01")]})
    # Paid on the 25th: the cycle ends; A-2 gets its heads-up, then the first level again.
    assert [(s[0], s[1], s[2]) for s in sent] == [
        ("2026-03-09", 1, ["A-1"]), ("2026-03-23", 2, ["A-1"]), ("2026-03-30", 0, ["A-2"]),
        ("2026-04-08", 1, ["A-2"])]


def test_a_held_invoice_is_left_out_and_a_broken_promise_brings_the_next_level_at_once():
    debtor = Debtor(**{"P-1": "2026-03-02", "P-2": "2026-03-02"})
    sent = debtor.run("2026-03-03", "2026-03-31", {
        "2026-03-10": [hold("P-1", "dispute", "2026-03-10"),
                       hold("P-2", "promise", "2026-03-10", "2026-03-16")]})
    # Level 1 on 9 March names both; then P-1 is disputed and P-2 promised for the 16th (one
    # business day of grace): broken on the 18th, level 2 at once, P-2 alone (P-1 disputed).
    assert sent == [("2026-03-09", 1, ["P-1", "P-2"], None),
                    ("2026-03-18", 2, ["P-2"], "broken_promise")]


def test_every_invoice_held_sends_nothing_but_the_cycle_goes_on():
    debtor = Debtor(**{"H-1": "2026-03-02"})
    sent = debtor.run("2026-03-03", "2026-05-29", {
        "2026-03-10": [hold("H-1", "dispute", "2026-03-10", "2026-04-30")]})
    # The dispute ends on 30 April (1 May is a holiday): the cycle went on meanwhile, so the
    # levels whose days passed come one by one, a week apart, never level 1 again.
    assert [(s[0], s[1]) for s in sent] == [("2026-03-09", 1), ("2026-05-04", 2),
                                            ("2026-05-11", 3), ("2026-05-18", 4)]


def test_a_heads_up_goes_alone_only_outside_a_cycle():
    debtor = Debtor(**{"O-1": "2026-03-02", "N-1": "2026-03-20"})
    sent = debtor.run("2026-02-20", "2026-03-16")
    # The heads-up of O-1 (27 Feb) goes alone; N-1's would fall in O-1's cycle: none.
    assert [(s[1], s[2]) for s in sent] == [(0, ["O-1"]), (1, ["O-1"])]


def test_what_comes_next_is_the_accounts_next_message_for_each_invoice():
    kept = AccountFacts(1, D("2026-03-09"), None, D("2026-03-02"))
    invoices = [("O-1", InvoiceFacts(D("2026-03-02"), 100, 1, D("2026-03-09"))),
                ("N-1", InvoiceFacts(D("2026-03-20"), 100)),
                ("P-1", InvoiceFacts(D("2026-03-02"), 100, 1, D("2026-03-09"), (
                    HoldFact("promise", D("2026-03-10"), D("2026-03-27")),)))]
    nexts = account_upcoming(kept, invoices, POLICY, CAL, D("2026-03-11"))
    assert (nexts["O-1"].kind, nexts["O-1"].on, nexts["O-1"].level) == (
        "reminder", D("2026-03-23"), 2)
    # Not yet due: in the account's first message after its due date.
    assert (nexts["N-1"].on, nexts["N-1"].level) == (D("2026-03-23"), 2)
    assert (nexts["P-1"].kind, nexts["P-1"].hold, nexts["P-1"].on) == (
        "hold", "promise", D("2026-03-27"))
