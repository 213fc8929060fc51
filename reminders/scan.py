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

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload

from portal import tenancy
from portal.extensions import db
from portal.run_log import last_success_before
from portal.models import PAID_CENTS, Customer, Hold, InstalmentPlan, Invoice, Reminder
from portal import settings as relance_settings
from portal.instalments import progress
from portal.settings import habit_shift

from reminders.collect import in_collection
from portal.rules.schedule import (AccountFacts, HoldFact, InvoiceFacts, account_action,
                                   account_upcoming, calendar_for, current_cycle,
                                   due_on_business_day, handed_over, in_cycle,
                                   instalment_due_action, upcoming)

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


def load_holds(customer_ids=None):
    """{invoice_id: (HoldFact, ...)} for every hold that can still matter (of the creditor this
    context works for; unscoped, of every creditor); `customer_ids`: of these debtors only (a
    page describing 50 rows reads their holds, not the creditor's thousands)."""
    query = select(Hold.invoice_id, Hold.kind, Hold.starts_on, Hold.until, Hold.released_at,
                   Hold.created_at, Hold.details).where(
        or_(Hold.released_at.is_(None), Hold.kind == "not_received"))
    if customer_ids is None:
        rows = db.session.execute(query)
    else:
        ids = list(customer_ids)
        rows = (row for start in range(0, len(ids), ID_CHUNK) for row in db.session.execute(
            query.where(Hold.customer_id.in_(ids[start:start + ID_CHUNK]))))
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
    """Every open invoice of these creditors with its balance, its customer's profile and kept
    cycle (the account ladder's state) and its own kept reminders (cycle, last level and
    date: deliver.keep_invoice), one row per invoice, never a reminder read; ordered by
    creditor, debtor and invoice (a debtor's invoices adjacent), which the index
    ix_invoice_account_scan gives without a sort. `customer_ids`: only these debtors' (the
    back-office lists)."""
    query = (
        select(Invoice.id, Invoice.customer_id, Invoice.due_date,
               Invoice.total_cents - PAID_CENTS, Customer.tier, Customer.policy,
               Customer.median_days_late, Customer.paused_until,
               Invoice.reminder_cycle, Invoice.reminder_level, Invoice.reminder_sent_on,
               Invoice.reminder_sent_at,
               Invoice.creditor_id, Customer.handed_over_on, Customer.cycle_level,
               Customer.cycle_sent_on, Customer.cycle_sent_at, Customer.cycle_started_on)
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(Invoice.status == "open", Invoice.creditor_id.in_(creditor_ids))
        .order_by(Invoice.creditor_id, Invoice.customer_id, Invoice.id)
        .execution_options(yield_per=CHUNK)
    )
    if customer_ids is not None:
        query = query.where(Invoice.customer_id.in_(customer_ids))
    # Core rows through the session's connection: no ORM bookkeeping per row.
    return db.session.connection().execute(query)


class Account(NamedTuple):
    """One debtor's open invoices as the scan read them, ready for the schedule."""
    customer_id: int
    policy: object
    shift: int
    paused_until: object
    handed_over_on: object
    kept: AccountFacts
    invoices: list  # [(invoice id, InvoiceFacts, reminder cycle)]


def _accounts(rows, holds, policies, books):
    """Group the scan's rows (one per invoice) into (Book, Account)."""
    for _, group in groupby(rows, key=lambda r: (r[12], r[1])):
        group = list(group)
        first = group[0]
        mine = books[first[12]]
        key = (first[4], first[5])
        known = policies.setdefault(mine.creditor_id, {})
        policy = known.get(key) or known.setdefault(key, mine.settings.policy_for(*key))
        invoices = []
        for row in group:
            invoice_id = row[0]
            invoice_holds = holds.get(invoice_id, ())
            cycle = current_cycle(invoice_holds) if invoice_holds else 0
            # What the invoice's kept reminders say, when they are of its current cycle.
            last = (row[9], row[10], row[11]) if row[8] == cycle else NEVER
            invoices.append((invoice_id, InvoiceFacts(row[2], row[3], *last[:2], invoice_holds,
                                                      last[2]), cycle))
        yield mine, Account(first[1], policy, habit_shift(policy, first[6]), first[7],
                            first[13], AccountFacts(*first[14:18]), invoices)


def decide(account, mine):
    """The Dues of one debtor on its creditor's date: under the account ladder, one message
    about every late invoice nothing holds (or a heads-up); under ladder "invoice", each
    invoice's own next level."""
    if account.policy.ladder == "invoice":
        found = []
        for invoice_id, facts, cycle in account.invoices:
            action = due_on_business_day(facts, account.policy, mine.calendar, mine.as_of,
                                         account.shift, account.paused_until,
                                         account.handed_over_on, mine.missed_since)
            if action is not None:
                found.append(Due(account.customer_id, invoice_id, cycle, action.level,
                                 action.reason, action.on))
        return found
    action = account_action(account.kept, [(i, f) for i, f, _ in account.invoices],
                            account.policy, mine.calendar, mine.as_of, account.shift,
                            account.paused_until, account.handed_over_on, mine.missed_since)
    if action is None:
        return []
    cycles = {i: c for i, _, c in account.invoices}
    return [Due(account.customer_id, invoice_id, cycles[invoice_id], action.level,
                reason or action.reason, action.on) for invoice_id, reason in action.members]


def due_reminders(as_of, progress=None, settings=None):
    """Yield a Due for every invoice of the creditor this context works for whose next
    reminder is due on `as_of` (under `settings`: the ones in force, or others to see what a
    change would do)."""
    mine = book(as_of, settings)
    for _, due in due_reminders_of({mine.creditor_id: mine}, progress):
        yield due


def due_reminders_of(books, progress=None, late=None):
    """Yield (creditor id, Due) for every invoice of the creditors of `books` ({creditor id:
    Book}) whose next reminder is due on its creditor's date, in one scan. `late`: a set that
    receives the ids of the debtors in a cycle (something late), for `clear_cycles`."""
    books = {k: b for k, b in books.items() if b.calendar.is_business_day(b.as_of)}
    if not books:
        return
    holds, policies, seen = load_holds(), {}, 0
    for mine, account in _accounts(_invoice_rows(sorted(books)), holds, policies, books):
        for due in decide(account, mine):
            yield mine.creditor_id, due
        if late is not None and account.kept.level is not None and in_cycle(
                [f for _, f, _ in account.invoices], account.policy, mine.calendar, mine.as_of):
            late.add(account.customer_id)
        seen += len(account.invoices)
        if progress is not None and seen >= 1000:
            progress(seen)
            seen = 0
    if progress is not None and seen:
        progress(seen)


def clear_cycles(books, late):
    """End the cycle of every debtor of these creditors that has one kept but nothing late on
    the run's date (`late`: due_reminders_of's set): its next late invoice starts a new cycle
    at the first level. Commits. How many were cleared."""
    scanned = [k for k, b in books.items() if b.calendar.is_business_day(b.as_of)]
    if not scanned:
        return 0
    kept = db.session.scalars(select(Customer.id).where(
        Customer.creditor_id.in_(scanned), Customer.cycle_level.is_not(None))).all()
    ended = [i for i in kept if i not in late]
    for start in range(0, len(ended), ID_CHUNK):
        db.session.execute(update(Customer).where(Customer.id.in_(ended[start:start + ID_CHUNK]))
                           .values(cycle_level=None, cycle_sent_on=None, cycle_sent_at=None,
                                   cycle_started_on=None))
    db.session.commit()
    return len(ended)


def upcoming_of(customer_ids, as_of):
    """{invoice id: (customer id, schedule.Upcoming or None)} for the open invoices of these
    debtors (of the creditor this context works for): what the schedule will do next for each,
    for the back office's lists, the debtor's page and the inbox. A handful of queries per
    ID_CHUNK debtors."""
    if not customer_ids:
        return {}
    mine = book(as_of)
    ids = list(customer_ids)
    holds, policies, found = load_holds(ids), {}, {}
    rows = (row for start in range(0, len(ids), ID_CHUNK)
            for row in _invoice_rows([mine.creditor_id], ids[start:start + ID_CHUNK]))
    for _, account in _accounts(rows, holds, policies, {mine.creditor_id: mine}):
        policy = account.policy
        if policy.ladder == "invoice":
            for invoice_id, facts, _ in account.invoices:
                found[invoice_id] = (account.customer_id, upcoming(
                    facts, policy, mine.calendar, as_of, account.shift, account.paused_until,
                    account.handed_over_on, mine.missed_since))
            continue
        nexts = account_upcoming(account.kept, [(i, f) for i, f, _ in account.invoices],
                                 policy, mine.calendar, as_of, account.shift,
                                 account.paused_until, account.handed_over_on,
                                 mine.missed_since)
        for invoice_id, what in nexts.items():
            found[invoice_id] = (account.customer_id, what)
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
