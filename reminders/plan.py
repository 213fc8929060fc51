"""Decide: stream every open invoice through the schedule and list the reminders due on a date.

Memory stays flat: invoices are read in chunks from one ordered query; only active holds (a small
set) are held in memory. Nothing here writes, so a dry run and the preview use it as is.

One scan serves one creditor (the preview, the back office) or every creditor at once (the run:
`due_reminders_of`), each invoice decided under its own creditor's `Book`: its date, settings
and calendar. One scan of a million invoices costs the same whether they belong to one creditor
or a hundred (bench/reminder_run.py --creditors 100).
"""
from collections import defaultdict
from itertools import groupby
from datetime import date
from typing import NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from portal import tenancy
from portal.extensions import db
from portal.run_log import last_success_before
from portal.models import PAID_CENTS, Customer, Hold, InstalmentPlan, Invoice, Reminder
from portal import settings as relance_settings
from portal.plans import progress
from portal.settings import habit_shift

from .collect import in_collection
from .schedule import (HoldFact, InvoiceFacts, calendar_for, current_cycle, due_on_business_day,
                       handed_over, instalment_due_action, upcoming)

CHUNK = 5000
# Debtor ids per IN (...) of upcoming_of: one bind parameter each, and PostgreSQL takes at most
# 65,535 in a statement (a debtors CSV lists up to 100,000).
ID_CHUNK = 10_000
NEVER = (None, None, None)  # (last level, its run date, when it went out) before any reminder


class Due(NamedTuple):
    customer_id: int
    invoice_id: int | None
    cycle: int
    level: int
    reason: str | None
    on: object  # date
    instalment_id: int | None = None


class Book(NamedTuple):
    """What one creditor's invoices are decided under: its date, settings and calendar, and the
    day of its last run that went out before that date (None: none recorded), after which the
    days without a run are caught up (`schedule._caught_up`)."""
    creditor_id: int
    as_of: date
    settings: object
    calendar: object
    missed_since: date | None = None


def book(as_of, settings=None):
    """The Book of the creditor this context works for (portal.tenancy)."""
    creditor_id = tenancy.working_id()
    return Book(creditor_id, as_of, settings or relance_settings.current(),
                calendar_for(relance_settings.creditor().holiday_country),
                last_success_before(creditor_id, as_of))


def load_holds():
    """{invoice_id: (HoldFact, ...)} for every hold that can still matter (of the creditor this
    context works for; unscoped, of every creditor)."""
    rows = db.session.execute(
        select(Hold.invoice_id, Hold.kind, Hold.starts_on, Hold.until, Hold.released_at,
               Hold.created_at, Hold.details)
        .where(or_(Hold.released_at.is_(None), Hold.kind == "not_received")))
    holds = defaultdict(list)
    for invoice_id, kind, starts_on, until, released_at, created_at, details in rows:
        note = details.get("reason") if kind == "manual_pause" and details else None
        holds[invoice_id].append(HoldFact(kind, starts_on, until, released_at is not None,
                                          created_at, note))
    return {k: tuple(v) for k, v in holds.items()}


def open_invoice_count():
    return db.session.scalar(select(func.count()).select_from(Invoice)
                             .where(Invoice.status == "open"))


def _invoice_rows(creditor_ids, customer_ids=None):
    """Every open invoice of these creditors with its balance, its customer's profile and, per
    cycle, the last reminder level and date, and its creditor; ordered by creditor and invoice
    (so that cycles of one invoice are adjacent), which the index ix_invoice_creditor_scan
    gives without a sort. `customer_ids`: only these debtors' (the back-office lists)."""
    sent = select(Reminder.invoice_id, Reminder.cycle,
                  func.max(Reminder.level).label("last_level"),
                  func.max(Reminder.scheduled_for).label("last_on"),
                  func.max(Reminder.sent_at).label("last_at"))
    mine = Customer.__table__.alias("mine")  # these creditors' reminders only
    sent = sent.join(mine, mine.c.id == Reminder.customer_id).where(
        mine.c.creditor_id.in_(creditor_ids))
    sent = sent.group_by(Reminder.invoice_id, Reminder.cycle).subquery()
    query = (
        select(Invoice.id, Invoice.customer_id, Invoice.due_date,
               Invoice.total_cents - PAID_CENTS, Customer.tier, Customer.policy,
               Customer.median_days_late, Customer.paused_until,
               sent.c.cycle, sent.c.last_level, sent.c.last_on, sent.c.last_at,
               Invoice.creditor_id, Customer.handed_over_on)
        .join(Customer, Customer.id == Invoice.customer_id)
        .outerjoin(sent, sent.c.invoice_id == Invoice.id)
        .where(Invoice.status == "open", Invoice.creditor_id.in_(creditor_ids))
        .order_by(Invoice.creditor_id, Invoice.id)
        .execution_options(yield_per=CHUNK)
    )
    if customer_ids is not None:
        query = query.where(Invoice.customer_id.in_(customer_ids))
    # Core rows through the session's connection: no ORM bookkeeping per row.
    return db.session.connection().execute(query)


def _decide(row, cycles, holds, policies, mine):
    invoice_id, customer_id, due_date, balance, tier, policy_name, median, paused_until = row[:8]
    invoice_holds = holds.get(invoice_id, ())
    cycle = current_cycle(invoice_holds) if invoice_holds else 0
    last_level, last_on, last_at = cycles.get(cycle, NEVER) if cycles else NEVER
    key = (tier, policy_name)
    policy = policies.get(key) or policies.setdefault(key, mine.settings.policy_for(
        tier, policy_name))
    action = due_on_business_day(InvoiceFacts(due_date, balance, last_level, last_on,
                                              invoice_holds, last_at),
                                 policy, mine.calendar, mine.as_of, habit_shift(policy, median),
                                 paused_until, row[13], mine.missed_since)
    if action is not None:
        return Due(customer_id, invoice_id, cycle, action.level, action.reason, action.on)
    return None


def due_reminders(as_of, progress=None, settings=None):
    """Yield a Due for every invoice of the creditor this context works for whose next
    reminder is due on `as_of` (under `settings`: the ones in force, or others to see what a
    change would do)."""
    mine = book(as_of, settings)
    for _, due in due_reminders_of({mine.creditor_id: mine}, progress):
        yield due


def due_reminders_of(books, progress=None):
    """Yield (creditor id, Due) for every invoice of the creditors of `books` ({creditor id:
    Book}) whose next reminder is due on its creditor's date, in one scan."""
    books = {k: b for k, b in books.items() if b.calendar.is_business_day(b.as_of)}
    if not books:
        return
    holds = load_holds()
    policies = {creditor_id: {} for creditor_id in books}
    rows = _invoice_rows(sorted(books))
    current, cycles, seen, mine = None, None, 0, None
    for row in rows:
        if current is not None and row[0] != current[0]:
            due = _decide(current, cycles, holds, policies[mine.creditor_id], mine)
            if due is not None:
                yield mine.creditor_id, due
            cycles = None
            seen += 1
            if progress is not None and seen % 1000 == 0:
                progress(1000)
        if current is None or row[12] != current[12]:
            mine = books[row[12]]
        current = row
        if row[8] is not None:
            cycles = cycles or {}
            cycles[row[8]] = (row[9], row[10], row[11])
    if current is not None:
        due = _decide(current, cycles, holds, policies[mine.creditor_id], mine)
        if due is not None:
            yield mine.creditor_id, due
        seen += 1
    if progress is not None:
        progress(seen % 1000)


def upcoming_of(customer_ids, as_of):
    """{invoice id: (customer id, schedule.Upcoming or None)} for the open invoices of these
    debtors (of the creditor this context works for): what the schedule will do next for each,
    for the back office's lists. A handful of queries per ID_CHUNK debtors."""
    if not customer_ids:
        return {}
    mine = book(as_of)
    holds, policies, found = load_holds(), {}, {}
    ids = list(customer_ids)
    rows = (row for start in range(0, len(ids), ID_CHUNK)
            for row in _invoice_rows([mine.creditor_id], ids[start:start + ID_CHUNK]))
    # One row per reminder cycle of an invoice, adjacent: a debtor's invoices are in one chunk.
    for invoice_id, group in groupby(rows, key=lambda r: r[0]):
        group = list(group)
        _, customer_id, due_date, balance, tier, policy_name, median, paused_until = group[0][:8]
        invoice_holds = holds.get(invoice_id, ())
        cycle = current_cycle(invoice_holds) if invoice_holds else 0
        cycles = {r[8]: (r[9], r[10], r[11]) for r in group if r[8] is not None}
        last_level, last_on, last_at = cycles.get(cycle, NEVER)
        key = (tier, policy_name)
        policy = policies.get(key) or policies.setdefault(
            key, mine.settings.policy_for(tier, policy_name))
        found[invoice_id] = (customer_id, upcoming(
            InvoiceFacts(due_date, balance, last_level, last_on, invoice_holds, last_at),
            policy, mine.calendar, as_of, habit_shift(policy, median), paused_until,
            group[0][13], mine.missed_since))
    return found


def due_instalment_reminders(as_of):
    """Yield a Due for every instalment of an approved plan whose reminder is due on `as_of`."""
    calendar = calendar_for(relance_settings.creditor().holiday_country)
    if not calendar.is_business_day(as_of):
        return
    settings = relance_settings.current()
    plans = db.session.scalars(select(InstalmentPlan).where(InstalmentPlan.state == "approved")
                               .options(selectinload(InstalmentPlan.customer))).all()
    ids = [i.id for plan in plans for i in plan.instalments]
    collecting = in_collection(ids)
    sent = dict(db.session.execute(
        select(Reminder.instalment_id, func.max(Reminder.level))
        .where(Reminder.instalment_id.in_(ids)).group_by(Reminder.instalment_id)).all())
    for plan in plans:
        paused = plan.customer.paused_until
        if paused is not None and as_of <= paused or \
                handed_over(plan.customer.handed_over_on, as_of):
            continue
        policy = settings.policy_for(plan.customer.tier, plan.customer.policy)
        auto = plan.mandate_payment_method is not None
        for status in progress(plan, as_of):
            instalment = status.instalment
            if instalment.id in collecting and sent.get(instalment.id) is not None:
                continue  # being debited: no "overdue" reminder
            action = instalment_due_action(
                instalment.due_date, status.remaining_cents, sent.get(instalment.id), calendar,
                as_of, heads_up_days=policy.sepa_prenotice_days if auto else 3)
            if action is not None:
                yield Due(plan.customer_id, None, 0, action.level, None, action.on,
                          instalment.id)
