"""A ledger with a past, for bench/reminder_run.py --history DAYS: the run's schedule played day
by day over DAYS days before the measured date, so that the data holds what a year of runs leaves.

Every debtor is billed about monthly and pays with its own habit (0 to 45 days late, so some
invoices are paid before any reminder and others after several); on each business day the
schedule decides as the run does (`reminders.scan.due_reminders_of`, every creditor in one scan)
and what it decides is recorded as the run records a message: the reminder rows sent, the
invoice's and the account's kept state (the statements of `reminders.deliver`), the cycles of
accounts with nothing late cleared (`reminders.scan.clear_cycles`). A tenth of the debtors who
get a reminder answer the next day: a promise (a week or two), "never received" (a new cycle of
the invoice: `portal.bookkeeping` does the same) or a dispute (settled three weeks later). Habits are
refreshed every Monday (`reminders.profiles.refresh_profiles`, which the run calls daily).

The open invoices on the measured date are exactly those of `generate` (same ids, debtors, due
dates and amounts, some partly paid), so the schedule step with and without the history scans
the same invoices; the history adds the paid invoices, their payments, the reminders and holds.
"""
import random
import time
from collections import defaultdict
from datetime import datetime, time as clock_time, timedelta, timezone

from sqlalchemy import func, insert, select, update

from portal import settings as relance_settings, tenancy
from portal.extensions import db
from portal.models import Allocation, Customer, Hold, Invoice, Payment, Reminder
from reminders.deliver import _KEEP_CYCLE, _KEEP_INVOICE
from reminders.scan import Book, clear_cycles, due_reminders_of
from reminders.profiles import refresh_profiles
from portal.rules.schedule import calendar_for

INSERT = 20_000


def _bulk(model, rows):
    for start in range(0, len(rows), INSERT):
        db.session.execute(insert(model), rows[start:start + INSERT])


class Past:
    """What happens on each day of the history, prepared before it is played."""

    def __init__(self, n_invoices, n_creditors, as_of, days, current):
        rng = random.Random(11)
        self.as_of, self.first = as_of, as_of - timedelta(days=days)
        self.issued = defaultdict(list)  # day -> invoice rows issued that day
        self.paid = defaultdict(list)  # day -> (invoice id, customer id, creditor id, cents)
        n_customers = max(1, n_invoices // 5)
        self.habits = [rng.randrange(0, 46) for _ in range(n_customers + 1)]
        next_id = n_invoices + 1
        for row in current:  # the invoices open on the measured date: some paid in part
            self.issued[max(self.first, row["issue_date"])].append(row)
            if rng.random() < 0.1:
                day = row["due_date"] + timedelta(days=rng.randrange(1, 8))
                if self.first <= day < as_of:
                    self.paid[day].append((row["id"], row["customer_id"], row["creditor_id"],
                                           row["total_cents"] // 3, False))
        for customer_id in range(1, n_customers + 1):
            creditor_id = (customer_id - 1) % n_creditors + 1
            due = self.first - timedelta(days=rng.randrange(0, 30))
            while due < as_of - timedelta(days=90):
                total = rng.randrange(5_000, 900_000)
                paid_on = due + timedelta(days=max(-10, self.habits[customer_id]
                                                   + rng.randrange(-10, 11)))
                paid_on = min(max(paid_on, self.first), as_of - timedelta(days=1))
                self.issued[max(self.first, due - timedelta(days=30))].append(dict(
                    id=next_id, number=f"H{next_id:08d}", customer_id=customer_id,
                    creditor_id=creditor_id, issue_date=due - timedelta(days=30), due_date=due,
                    currency="EUR", total_cents=total, status="open"))
                self.paid[paid_on].append((next_id, customer_id, creditor_id, total, True))
                next_id += 1
                due += timedelta(days=rng.randrange(25, 36))
        self.turnover = next_id - n_invoices - 1
        self.rng = rng


def play(n_invoices, n_creditors, as_of, days, current):
    """Insert the invoices of `current` and a past of `days` days before `as_of` (see above)."""
    started = time.perf_counter()
    past = Past(n_invoices, n_creditors, as_of, days, current)
    customers = db.session.execute(select(Customer.id, Customer.creditor_id)).all()
    db.session.execute(update(Customer).values(median_days_late=None))
    settings, calendars = {}, {}
    for creditor_id in sorted({c for _, c in customers}):
        with tenancy.scope(creditor_id):
            settings[creditor_id] = relance_settings.current()
            calendars[creditor_id] = calendar_for(relance_settings.creditor().holiday_country)
    answers = defaultdict(list)  # day -> [(invoice id, customer id, kind)]
    counts, due_dates = defaultdict(int, promised=set()), {}
    serial = 0
    day = past.first
    while day < as_of:
        if past.issued[day]:
            rows = past.issued.pop(day)
            due_dates.update((r["id"], r["due_date"]) for r in rows)
            _bulk(Invoice, rows)
        serial = _payments(past.paid.pop(day, []), day, serial)
        _answers(answers.pop(day, []), day, counts)
        db.session.commit()
        if day.weekday() == 0:
            refresh_profiles()
        books = {k: Book(k, day, settings[k], calendars[k])
                 for k in settings if calendars[k].is_business_day(day)}
        if books:
            sent = _run(books, day, past.rng, answers, due_dates)
            counts["reminders"] += sent
        day += timedelta(days=1)
    for kind in ("promise", "not_received", "dispute"):
        counts[kind] += 0
    total = db.session.scalar(select(func.count(Reminder.id)))
    print(f"  history of {days} days played in {time.perf_counter() - started:.0f} s: "
          f"{past.turnover:,} invoices billed and paid meanwhile, {total:,} reminders "
          f"({total / (n_invoices + past.turnover):.1f} per invoice), "
          f"{counts['promise']:,} promises, {counts['not_received']:,} 'never received', "
          f"{counts['dispute']:,} disputes")


def _payments(paid, day, serial):
    """Payments received on `day` (a transfer each, allocated to its invoice)."""
    if not paid:
        return serial
    payments, allocations = [], []
    for invoice_id, customer_id, creditor_id, cents, _ in paid:
        serial += 1
        payments.append(dict(id=serial, creditor_id=creditor_id, customer_id=customer_id,
                             source="api", external_id=f"T{serial}", amount_cents=cents,
                             currency="EUR", state="succeeded", received_on=day))
        allocations.append(dict(payment_id=serial, invoice_id=invoice_id, amount_cents=cents))
    _bulk(Payment, payments)
    _bulk(Allocation, allocations)
    full = [i for i, _, _, _, settles in paid if settles]
    for start in range(0, len(full), 10_000):
        db.session.execute(update(Invoice).where(Invoice.id.in_(full[start:start + 10_000]))
                           .values(status="paid"))
    return serial


def _answers(todays, day, counts):
    """The debtors' answers of `day`: holds, as the portal places them."""
    holds, restarts, seen = [], [], set()
    for invoice_id, customer_id, kind in todays:
        if kind == "promise" and invoice_id in counts["promised"] or invoice_id in seen:
            continue  # a debtor promises once per invoice here (one promise in force)
        seen.add(invoice_id)
        if kind == "promise":
            counts["promised"].add(invoice_id)
        until = day + timedelta(days=7 + invoice_id % 8) if kind == "promise" else None
        released = datetime.combine(day + timedelta(days=21), clock_time(10),
                                    tzinfo=timezone.utc) if kind == "dispute" else None
        holds.append(dict(customer_id=customer_id, invoice_id=invoice_id, kind=kind,
                          starts_on=day, until=until, released_at=released, details={}))
        if kind == "not_received":
            restarts.append(invoice_id)
        counts[kind] += 1
    if holds:
        _bulk(Hold, holds)
    if restarts:  # a new cycle: what the invoice's kept reminders knew was of the last one
        db.session.execute(update(Invoice).where(Invoice.id.in_(restarts)).values(
            reminder_cycle=Invoice.reminder_cycle + 1, reminder_level=None,
            reminder_sent_on=None, reminder_sent_at=None))


def _run(books, day, rng, answers, due_dates):
    """The schedule's decisions on `day`, recorded as the run records a message (one per
    debtor: its reminder rows, the invoices' kept reminders, the account's kept cycle as
    `reminders.deliver._keep_cycle` leaves it)."""
    late = set()
    dues = list(due_reminders_of(books, late=late))
    at = datetime.combine(day, clock_time(8), tzinfo=timezone.utc)
    by_customer = defaultdict(list)
    for creditor_id, due in dues:
        by_customer[due.customer_id].append((creditor_id, due))
    ids, kept = list(by_customer), {}
    for start in range(0, len(ids), 10_000):
        kept.update((c, (lvl, on)) for c, lvl, on in db.session.execute(
            select(Customer.id, Customer.cycle_level, Customer.cycle_started_on)
            .where(Customer.id.in_(ids[start:start + 10_000]))))
    reminders, invoices, cycles = [], [], []
    for customer_id, group in by_customer.items():
        creditor_id = group[0][0]
        message = f"<bench.{day.isoformat()}.{customer_id}@example.fr>"
        level = max(d.level for _, d in group)
        for _, due in group:
            reminders.append(dict(customer_id=customer_id, invoice_id=due.invoice_id,
                                  instalment_id=due.instalment_id, cycle=due.cycle,
                                  level=due.level, reason=due.reason, channel="email",
                                  state="sent", scheduled_for=day, sent_at=at,
                                  message_id=message))
            invoices.append(dict(iid=due.invoice_id, cyc=due.cycle, lvl=due.level, on=day,
                                 at=at))
            if rng.random() < 0.1 / len(group):
                kind = rng.choice(("promise", "promise", "promise", "not_received", "dispute"))
                answers[day + timedelta(days=1)].append((due.invoice_id, customer_id, kind))
        policy = books[creditor_id].settings.policy_for("standard", None)
        if not policy.level_for(level).before_due:
            was, started = kept[customer_id]
            start = started or min((due_dates[d.invoice_id] for _, d in group
                                    if due_dates[d.invoice_id] < day), default=day)
            cycles.append(dict(cid=customer_id, lvl=level if was is None else max(was, level),
                               on=day, at=at, start=start))
    _bulk(Reminder, reminders)
    connection = db.session.connection()
    if invoices:
        connection.execute(_KEEP_INVOICE, sorted(invoices, key=lambda r: r["iid"]))
    if cycles:
        connection.execute(_KEEP_CYCLE, cycles)
    db.session.commit()
    clear_cycles(books, late)
    return len(reminders)
