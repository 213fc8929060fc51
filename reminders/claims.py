"""Claims: which run process owns which pending reminders.

A claim moves rows from "pending" to "sending" with the owner's name (host:pid:token) in one
committed UPDATE; on PostgreSQL the customers are first locked with FOR UPDATE SKIP LOCKED so that
concurrent runs take disjoint batches instead of waiting on each other. Rows left in "sending" by a
process that died are taken back by the next run.
"""
import os
import socket
import uuid
from collections import defaultdict
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import select, update

from portal.extensions import db
from portal.models import PAID_CENTS, Customer, Instalment, Invoice, Reminder, utcnow

LEASE = timedelta(minutes=30)  # a claim from another host is presumed dead after this


def new_owner():
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_dead(claimed_by, claimed_at, me):
    host, _, rest = (claimed_by or "").partition(":")
    pid_text = rest.partition(":")[0]
    if host == socket.gethostname() and pid_text.isdigit():
        pid = int(pid_text)
        return (pid == os.getpid() and claimed_by != me) or not _pid_alive(pid)
    return claimed_at is None or claimed_at < utcnow() - LEASE


def reclaim_stale(me):
    """Put back to "pending" the rows claimed by runs that are no longer alive. Commits."""
    owners = db.session.execute(
        select(Reminder.claimed_by, Reminder.claimed_at).where(Reminder.state == "sending")
        .distinct()).all()
    dead = {owner for owner, at in owners if _is_dead(owner, at, me)}
    for owner in dead:
        release(owner)
    db.session.commit()
    return len(dead)


def claim_batch(as_of, owner, size):
    """Claim every pending reminder of up to `size` customers; return their ids. Commits."""
    waiting = select(Reminder.customer_id).where(Reminder.state == "pending",
                                                 Reminder.scheduled_for <= as_of)
    ids = db.session.scalars(
        select(Customer.id).where(Customer.id.in_(waiting)).order_by(Customer.id).limit(size)
        .with_for_update(skip_locked=True)).all()
    if ids:
        db.session.execute(
            update(Reminder)
            .where(Reminder.state == "pending", Reminder.customer_id.in_(ids),
                   Reminder.scheduled_for <= as_of)
            .values(state="sending", claimed_by=owner, claimed_at=utcnow()))
    db.session.commit()
    return ids


CUSTOMER_COLUMNS = (Customer.id, Customer.ref, Customer.name, Customer.email, Customer.phone,
                    Customer.address, Customer.language, Customer.link_version, Customer.tier,
                    Customer.policy, Customer.debtor_type, Customer.sms_opt_out_at,
                    Customer.cycle_level, Customer.cycle_started_on)


class Claimed(NamedTuple):
    invoices: list  # rows with the reminder's and the invoice's facts
    instalments: list  # rows with the reminder's and the instalment's facts


def load_claimed(owner):
    """{customer: Claimed} for the rows `owner` holds, as plain rows (no ORM objects to expire
    at each commit)."""
    rows = db.session.execute(
        select(Reminder.id, Reminder.customer_id, Reminder.level, Reminder.reason,
               Reminder.cycle, Reminder.scheduled_for, Invoice.id.label("invoice_id"), Invoice.number, Invoice.issue_date,
               Invoice.due_date, Invoice.total_cents, Invoice.currency, Invoice.status,
               (Invoice.total_cents - PAID_CENTS).label("balance_cents"))
        .join(Invoice, Invoice.id == Reminder.invoice_id)
        .where(Reminder.claimed_by == owner, Reminder.state == "sending")
        .order_by(Reminder.customer_id, Invoice.due_date, Invoice.number)).all()
    groups = defaultdict(lambda: Claimed([], []))
    for row in rows:
        groups[row.customer_id].invoices.append(row)
    for row in db.session.execute(
            select(Reminder.id, Reminder.customer_id, Reminder.level, Instalment.id.label(
                "instalment_id"), Instalment.plan_id, Instalment.seq, Instalment.due_date,
                   Instalment.amount_cents)
            .join(Instalment, Instalment.id == Reminder.instalment_id)
            .where(Reminder.claimed_by == owner, Reminder.state == "sending")
            .order_by(Reminder.customer_id, Instalment.due_date)):
        groups[row.customer_id].instalments.append(row)
    customers = db.session.execute(select(*CUSTOMER_COLUMNS)
                                   .where(Customer.id.in_(list(groups)))).all()
    return {customer: groups[customer.id] for customer in sorted(customers, key=lambda c: c.id)}


def release(owner):
    """Give back what `owner` claimed but did not send. Commits."""
    db.session.rollback()
    db.session.execute(
        update(Reminder).where(Reminder.claimed_by == owner, Reminder.state == "sending")
        .values(state="pending", claimed_by=None, claimed_at=None))
    db.session.commit()
