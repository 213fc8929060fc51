"""What the run keeps of the reminders (issue 26, item 2) is what the history says, on SQLite
and PostgreSQL: random days of real runs (`flask reminders run`, e-mails to the SMTP sink),
with debtors answering (a promise, "never received", a dispute) and paying (in part or in full)
between them. After every run, each customer's kept cycle (`cycle_*`) and each invoice's kept
reminders (`reminder_*`) are compared with a recomputation from the rows alone: the reminders
recorded (sent or attempted), the holds and the payments with their dates."""
import random
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import select

from portal.answers import flag_not_received, promise_payment, send_message
from portal.extensions import db
from portal.bookkeeping import record_payment
from portal.models import Allocation, Customer, Hold, Invoice, Payment, Reminder
from portal.settings import current as current_settings
from portal.rules.schedule import HoldFact, InvoiceFacts, calendar_for, current_cycle, standing
from tests.conftest import _make_app, make_customer, make_invoice

START = date(2026, 3, 2)  # a Monday
DAYS = 75
CAL = calendar_for("FR")


def build(rng):
    """Eight debtors (one without an address: its messages are recorded as attempted) with one
    to four invoices falling due over the weeks of the test."""
    for n in range(8):
        customer = make_customer(name=f"Debtor {n}", email="" if n == 7 else f"d{n}@example.org")
        for k in range(rng.randint(1, 4)):
            due = START + timedelta(days=rng.randrange(-40, 45))
            if n == 7 and k == 0:  # the debtor without an address is reminded at least once
                due = START - timedelta(days=20)
            make_invoice(customer, due, rng.randrange(20_000, 300_000), number=f"N{n}-{k}")
    db.session.commit()


def balance(invoice):
    paid = sum(a for a, in db.session.execute(
        select(Allocation.amount_cents).join(Payment).where(Allocation.invoice_id == invoice.id,
                                                            Payment.state == "succeeded")))
    return invoice.total_cents - paid


def answer(rng, day, serial):
    """The day's answers and payments, a few at random among the invoices still owed."""
    owed = [i for i in db.session.scalars(select(Invoice).where(Invoice.status == "open")
                                          .order_by(Invoice.id)) if balance(i) > 0]
    for invoice in owed:
        customer = invoice.customer
        roll = rng.random()
        if roll < 0.02:
            flag_not_received(customer, invoice, day)
        elif roll < 0.05 and not db.session.scalar(select(Hold.id).where(
                Hold.invoice_id == invoice.id, Hold.kind == "promise")):
            promise_payment(customer, [invoice], day + timedelta(days=rng.randint(2, 12)), day)
        elif roll < 0.06:
            send_message(customer, invoice, "quality", "Pièce défectueuse", day)
        elif roll < 0.10:
            part = balance(invoice) if rng.random() < 0.5 else balance(invoice) // 3 or 1
            record_payment(customer=customer, source="api", external_id=f"P{next(serial)}",
                           amount_cents=part, received_on=day, invoices=[invoice])
    db.session.commit()


def late_on(customer, day, policy):
    """Whether the history says the debtor's account was in a cycle at `day`'s run: an invoice
    past due, owing something after the payments received by then, not waiting for a copy."""
    for invoice in customer.invoices:
        paid = sum(a for a, in db.session.execute(
            select(Allocation.amount_cents).join(Payment).where(
                Allocation.invoice_id == invoice.id, Payment.state == "succeeded",
                Payment.received_on <= day)))
        holds = tuple(HoldFact(h.kind, h.starts_on, h.until, False, h.created_at)
                      for h in db.session.scalars(select(Hold).where(
                          Hold.invoice_id == invoice.id, Hold.starts_on <= day)))
        facts = InvoiceFacts(invoice.due_date, invoice.total_cents - paid, holds=holds)
        if standing(facts, policy, CAL, day).late:
            return True
    return False


def expected_invoice(invoice):
    """(cycle, level, run date, sent at) from the invoice's holds and recorded reminders."""
    cycle = current_cycle(db.session.scalars(select(Hold).where(Hold.invoice_id == invoice.id)))
    rows = db.session.execute(select(Reminder.level, Reminder.scheduled_for, Reminder.sent_at)
                              .where(Reminder.invoice_id == invoice.id, Reminder.cycle == cycle,
                                     Reminder.state.in_(("sent", "failed")))).all()
    if not rows:
        return cycle, None, None, None
    return (cycle, max(r.level for r in rows), max(r.scheduled_for for r in rows),
            max(r.sent_at for r in rows))


def expected_cycle(customer, run_days, policy):
    """(level, last run date, sent at, start) of the debtor's cycle from its messages since the
    last run that found nothing late on its account (the cycle then ended)."""
    ended = max((d for d in run_days if not late_on(customer, d, policy)), default=None)
    messages = defaultdict(list)
    for row in db.session.execute(
            select(Reminder.message_id, Reminder.level, Reminder.scheduled_for, Reminder.sent_at,
                   Invoice.due_date).join(Invoice, Invoice.id == Reminder.invoice_id)
            .where(Reminder.customer_id == customer.id, Reminder.state.in_(("sent", "failed")))):
        messages[row.message_id].append(row)
    kept = []
    for rows in messages.values():
        level, day = max(r.level for r in rows), rows[0].scheduled_for
        if policy.level_for(level).before_due or (ended is not None and day < ended):
            continue  # a heads-up is outside any cycle; before `ended`, a cycle that ended
        kept.append((day, rows[0].sent_at, level,
                     min((r.due_date for r in rows if r.due_date < day), default=day)))
    if not kept:
        return None, None, None, None
    first = min(kept)
    return (max(k[2] for k in kept), max(k[0] for k in kept), max(k[1] for k in kept), first[3])


def check(run_days):
    policy = current_settings().policy_for("standard", None)
    db.session.expire_all()
    for invoice in db.session.scalars(select(Invoice).order_by(Invoice.id)):
        kept = (invoice.reminder_cycle, invoice.reminder_level, invoice.reminder_sent_on,
                invoice.reminder_sent_at)
        assert kept == expected_invoice(invoice), (invoice.number, run_days[-1])
    for customer in db.session.scalars(select(Customer).order_by(Customer.id)):
        kept = (customer.cycle_level, customer.cycle_sent_on, customer.cycle_sent_at,
                customer.cycle_started_on)
        assert kept == expected_cycle(customer, run_days, policy), (customer.name, run_days[-1])


def test_kept_state_is_what_the_history_says(any_db_url, smtp):
    # One random history per database (two in all): each costs 15-30 s of real runs.
    seed = 11 if any_db_url.startswith("postgresql") else 3
    app = _make_app(any_db_url, smtp.port)
    rng, serial = random.Random(seed), iter(range(1, 10_000))
    with app.app_context():
        build(rng)
        run_days, answers, sent = [], 0, 0
        for offset in range(DAYS):
            day = START + timedelta(days=offset)
            if not CAL.is_business_day(day):
                continue
            answer(rng, day, serial)
            smtp.clear()
            result = app.test_cli_runner().invoke(
                args=["reminders", "run", "--date", day.isoformat()])
            assert result.exit_code == 0, result.output
            sent += len(smtp.messages)
            run_days.append(day)
            check(run_days)
        answers = db.session.scalar(select(db.func.count(Hold.id)))
        cycles = db.session.scalars(select(Invoice.reminder_cycle)).all()
        # The days exercised what they are meant to: messages, answers, new cycles, levels.
        assert sent >= 12 and answers >= 3 and max(cycles) >= 1
        assert db.session.scalar(select(db.func.max(Reminder.level))) >= 3
        assert db.session.scalar(select(db.func.count(Reminder.id)).where(
            Reminder.state == "failed")) >= 1
        db.session.remove()
        db.engine.dispose()
