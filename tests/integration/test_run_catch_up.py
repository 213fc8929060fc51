"""A run after missed days sends what became due meanwhile once, at the level it would have
reached (issue 23, item 4), on SQLite and PostgreSQL: the same books are run every day on one
database (the reference, SQLite) and, on the other, on day D and then not again until D+k+1.
The catch-up run must send the same (invoice, level) pairs as the daily runs did over the gap,
one e-mail per debtor at the highest of its levels, nothing twice afterwards."""
from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import RunLog, Task
from tests.conftest import _make_app, make_customer, make_invoice, named

# Thursday 30 April 2026, then nothing until Monday 11 May: 1 and 8 May are public holidays,
# so the gap holds the business days 4 to 7 May.
HISTORY = ("2026-04-16", "2026-04-30")
D, CATCH_UP = date(2026, 4, 30), date(2026, 5, 11)
BOOKS = {  # debtor: [(invoice number, due date)]; default policy (-3, +7, +21, +51, +60)
    "alice": [("A-1", "2026-04-27")],  # level 1 on 4 May
    # One ladder for the account: level 1 (B-1) on 16 April, level 2 (both) on D; level 3 not
    # before 30 May (51 days after B-1 fell due): nothing for Bob in the gap.
    "bob": [("B-1", "2026-04-09"), ("B-2", "2026-04-20")],
    "carol": [("C-1", "2026-05-12")],  # heads-up on Saturday 9 May: from Monday 11
    "frank": [("F-1", "2026-03-16")],  # level 2 on D, level 3 on 7 May (7 days after)
    "dave": [("D-1", "2026-05-06")],  # heads-up on 4 May, due on 6 May: see below
}


def build():
    for name, invoices in BOOKS.items():
        customer = make_customer(name=name.title(), email=f"{name}@example.org")
        for number, due in invoices:
            make_invoice(customer, due, 40_000, number=number)
    db.session.commit()


def run(app, smtp, day):
    """`flask reminders run --date DAY`; [(debtor, message level, {(invoice, level)})]."""
    smtp.clear()
    result = app.test_cli_runner().invoke(args=["reminders", "run", "--date", day.isoformat()])
    assert result.exit_code == 0, result.output
    got = []
    for m in smtp.messages:
        level = int(m["X-Relance-Level"])
        got.append((m["To"].split("@")[0], level, named(m.get_body(("plain",)).get_content())))
    return sorted(got, key=lambda g: g[0])


def levels_sent():
    """{invoice number: levels recorded} from the database."""
    from portal.models import Invoice, Reminder
    found = defaultdict(set)
    for number, level in db.session.execute(select(Invoice.number, Reminder.level).join(
            Reminder, Reminder.invoice_id == Invoice.id).where(Reminder.state == "sent")):
        found[number].add(level)
    return found


def reference(smtp, tmp_path, until=CATCH_UP):
    """Every day from D+1 to `until`, on a database of its own: {invoice: levels} sent in the
    gap, and {debtor: highest level} of those messages."""
    app = _make_app(f"sqlite:///{tmp_path / 'daily.db'}", smtp.port)
    try:
        with app.app_context():
            build()
            for day in HISTORY:
                run(app, smtp, date.fromisoformat(day))
            before = levels_sent()
            day, highest = D, {}
            while day < until:
                day += timedelta(days=1)
                for debtor, level, _ in run(app, smtp, day):
                    highest[debtor] = max(level, highest.get(debtor, -1))
            after = levels_sent()
            db.session.remove()
        return {k: after[k] - before.get(k, set()) for k in after if after[k] - before.get(k, set())}, highest
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_run_after_missed_days_sends_what_became_due_once(any_app, smtp, tmp_path):
    daily, highest = reference(smtp, tmp_path)
    build()
    for day in HISTORY:
        run(any_app, smtp, date.fromisoformat(day))
    before = levels_sent()
    got = run(any_app, smtp, CATCH_UP)
    # one e-mail per debtor, at the highest level the daily runs reached over the gap
    debtors = [debtor for debtor, _, _ in got]
    assert len(debtors) == len(set(debtors))
    # dave's heads-up was due on 4 May for an invoice due on 6 May: on 11 May the date it
    # announces is past, so it is not sent late; his first reminder comes at its own date
    # (+7). Every other message the daily runs sent in the gap, the catch-up sends.
    assert highest.pop("dave") == 0 and daily.pop("D-1") == {0}
    assert {debtor: level for debtor, level, _ in got} == highest == {
        "alice": 1, "carol": 0, "frank": 3}
    after = levels_sent()
    caught = {k: after[k] - before.get(k, set()) for k in after if after[k] - before.get(k, set())}
    assert caught == daily == {"A-1": {1}, "C-1": {0}, "F-1": {3}}
    assert {debtor: numbers for debtor, _, numbers in got} == {
        "alice": {"A-1"}, "carol": {"C-1"}, "frank": {"F-1"}}
    assert db.session.scalar(select(func.count(Task.id)).where(Task.kind == "call")) == 1
    # nothing twice: the same day again, and the next days, send nothing the gap already sent
    assert run(any_app, smtp, CATCH_UP) == []
    assert run(any_app, smtp, CATCH_UP + timedelta(days=1)) == []
    assert db.session.scalar(select(func.count(RunLog.id)).where(
        RunLog.outcome == "succeeded")) == len(HISTORY) + 3


LONG_CATCH_UP = date(2026, 5, 18)  # two weeks without a run: longer than min_gap_days (7)


def test_after_a_two_week_outage_the_catch_up_reaches_the_daily_level(any_app, smtp, tmp_path):
    daily, highest = reference(smtp, tmp_path, LONG_CATCH_UP)
    assert daily["F-1"] == {3, 4} and daily["A-1"] == {1, 2}
    build()
    for day in HISTORY:
        run(any_app, smtp, date.fromisoformat(day))
    got = {debtor: level for debtor, level, _ in run(any_app, smtp, LONG_CATCH_UP)}
    assert got["frank"] == highest["frank"] == 4
    assert got["alice"] == highest["alice"] == 2
