"""The worklist (/admin/): one row per debtor that needs a human today, its tasks beneath, with
the amount at stake, the oldest days late, the last contact and what the debtor said last.

The tasks are the inbox's items (`inbox.inbox`: what the schedule does not hold back); what a
human did about each (done with an outcome, snoozed to a date, assigned) is kept in
`WorkItem`, named by the task's kind and the id of the row it comes from. Figures are read for
the debtors on the list only, never for the whole ledger."""
from dataclasses import dataclass, field
from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from .. import clock, tenancy
from ..extensions import db
from ..handover import eligible, formal_notice_level
from ..bookkeeping import record_event
from ..models import (PAID_CENTS, CreditorGrant, Customer, Event, Invoice, SentMessage, Task,
                      User, WorkItem)
from ..settings import current as current_settings
from .inbox import LABELS, OUTCOMES, Item, inbox, task_label

SORTS = {"priority": _l("Priority (amount overdue × days late)"),
         "amount": _l("Amount overdue"), "age": _l("Days late"), "name": _l("Name"),
         "contact": _l("Last contact (oldest first)")}
DUE = {"today": _l("Due today"), "overdue": _l("Overdue (due before today)")}
# What counts as a contact with the debtor (besides the reminders sent: SentMessage).
CONTACTS = ("message", "call", "sms_reply", "sms_sent", "letter_posted", "letter_task_done",
            "plan_requested", "work_done")
SAID = ("message", "sms_reply")  # what the debtor wrote
CHUNK = 5000


@dataclass
class WorkTask:
    item: Item
    due: date
    assignee_id: int | None
    snoozed: bool = False  # came back today from a snooze

    @property
    def key(self):
        return f"{self.item.kind}:{self.item.ref}"

    @property
    def label(self):
        return task_label(self.item.kind)


@dataclass
class Row:
    customer: Customer | None  # None: the bank credits no debtor is known for
    tasks: list = field(default_factory=list)  # of WorkTask
    overdue_cents: int = 0
    oldest_late: int = 0
    last_contact: object = None  # aware datetime
    last_said: object = None  # (text, aware datetime)

    @property
    def priority(self):
        return self.overdue_cents * self.oldest_late


@dataclass
class Worklist:
    rows: list
    tasks: int
    snoozed: int  # tasks snoozed to a later date (not listed)
    kinds: list  # the kinds of task on the list before filtering, for the filter
    waiting: list  # calls and letters the schedule holds back (not work)


def handover_items(as_of):
    """Debtors who can be handed over today (`handoff.eligible`) and are not yet: only those
    whose cycle has reached a formal-notice level are asked (a handful)."""
    settings = current_settings()
    levels = [lv.number for p in settings.policies.values() for lv in p.levels
              if lv.formal_notice]
    if not levels:
        return []
    found = []
    for customer in db.session.scalars(select(Customer).where(
            Customer.handed_over_on.is_(None), Customer.cycle_level >= min(levels))):
        level = formal_notice_level(customer)
        if level is None or customer.cycle_level < level.number:
            continue
        verdict = eligible(customer, as_of)
        if verdict.ok:  # named: the invoices whose own notice's deadline has passed
            found.append(Item("handover", datetime.combine(as_of, time(), tzinfo=clock.zone()),
                              customer, {"invoices": [s.invoice.number
                                                      for s in verdict.split.passed]},
                              ("backoffice.customer", {"customer_id": customer.id}),
                              ref=customer.id))
    return found


def _states(items):
    """{(kind, ref): WorkItem} for these items (one query, by kind)."""
    refs = {}
    for item in items:
        refs.setdefault(item.kind, set()).add(item.ref)
    if not refs:
        return {}
    where = or_(*[and_(WorkItem.kind == kind, WorkItem.ref.in_(sorted(ids)))
                  for kind, ids in refs.items()])
    return {(w.kind, w.ref): w for w in db.session.scalars(select(WorkItem).where(where))}


def tasks_of(as_of):
    """(open tasks, snoozed count, waiting): every task of the creditor's worklist that is not
    done and not snoozed past `as_of`."""
    found = inbox(as_of)
    items = found.todo + handover_items(as_of)
    states = _states(items)
    tasks, snoozed = [], 0
    for item in items:
        state = states.get((item.kind, item.ref))
        if state is not None and state.state == "done":
            continue
        back = state is not None and state.state == "snoozed" and state.snoozed_until
        if back and state.snoozed_until > as_of:
            snoozed += 1
            continue
        due = state.snoozed_until if back else clock.today(item.since)
        tasks.append(WorkTask(item, due, state.assignee_id if state else None, bool(back)))
    return tasks, snoozed, found.waiting


def build(as_of, me, kind="", assignee="", due="", sort="priority"):
    """The worklist as asked: filtered by task kind, assignee ("me": assigned to `me`, or on a
    debtor whose collector `me` is, unless assigned to someone else) and due date, sorted."""
    tasks, snoozed, waiting = tasks_of(as_of)
    kinds = sorted({t.item.kind for t in tasks})
    rows = {}
    for task in tasks:
        customer = task.item.customer
        rows.setdefault(customer.id if customer else None, Row(customer)).tasks.append(task)
    for row in rows.values():
        for task in row.tasks:
            if task.assignee_id is None and row.customer is not None:
                task.assignee_id = row.customer.collector_id
    shown = []
    for row in rows.values():
        row.tasks = [t for t in row.tasks if (not kind or t.item.kind == kind)
                     and (assignee != "me" or t.assignee_id == me)
                     and (due != "today" or t.due == as_of)
                     and (due != "overdue" or t.due < as_of)]
        if row.tasks:
            row.tasks.sort(key=lambda t: (t.due, t.item.kind))
            shown.append(row)
    _figures([r for r in shown if r.customer is not None], as_of)
    shown.sort(key=SORT_KEYS.get(sort, SORT_KEYS["priority"]))
    return Worklist(shown, sum(len(r.tasks) for r in shown), snoozed, kinds, waiting)


def _contact_key(row):
    last = row.last_contact
    return (last is not None, last.timestamp() if last else 0, _name(row))


def _name(row):
    return (row.customer.name.casefold(), row.customer.id) if row.customer else ("\uffff", 0)


SORT_KEYS = {
    "priority": lambda r: (-r.priority, -r.overdue_cents, _name(r)),
    "amount": lambda r: (-r.overdue_cents, _name(r)),
    "age": lambda r: (-r.oldest_late, _name(r)),
    "name": _name,
    "contact": _contact_key,
}


def _figures(rows, as_of):
    """Amount overdue, oldest days late, last contact and last words of these rows' debtors:
    a few grouped queries over their ids only."""
    by_id = {r.customer.id: r for r in rows}
    ids = sorted(by_id)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        owed = select(Invoice.customer_id.label("customer_id"), Invoice.due_date.label("due"),
                      (Invoice.total_cents - PAID_CENTS).label("balance")).where(
            Invoice.status == "open", Invoice.due_date < as_of,
            Invoice.customer_id.in_(chunk)).subquery()
        for customer_id, cents, oldest in db.session.execute(
                select(owed.c.customer_id, func.sum(owed.c.balance), func.min(owed.c.due))
                .where(owed.c.balance > 0).group_by(owed.c.customer_id)):
            by_id[customer_id].overdue_cents = int(cents)
            by_id[customer_id].oldest_late = (as_of - oldest).days
        contacts = [select(SentMessage.customer_id, func.max(SentMessage.sent_at))
                    .where(SentMessage.customer_id.in_(chunk)).group_by(SentMessage.customer_id),
                    select(Event.customer_id, func.max(Event.at))
                    .where(Event.customer_id.in_(chunk), Event.kind.in_(CONTACTS))
                    .group_by(Event.customer_id)]
        for query in contacts:
            for customer_id, at in db.session.execute(query):
                row = by_id[customer_id]
                if at is not None and (row.last_contact is None or at > row.last_contact):
                    row.last_contact = at
        for customer_id, details, at in db.session.execute(
                select(Event.customer_id, Event.details, Event.at)
                .where(Event.customer_id.in_(chunk), Event.kind.in_(SAID),
                       Event.actor == "debtor").order_by(Event.at)):
            if (details or {}).get("text"):
                by_id[customer_id].last_said = (details["text"], at)


def users_here():
    """The users of the creditor this request works for, by e-mail: who a task or a debtor
    can be given to."""
    return db.session.scalars(select(User).join(CreditorGrant, CreditorGrant.user_id == User.id)
                              .where(CreditorGrant.creditor_id == tenancy.current_id(),
                                     User.active.is_(True)).order_by(User.email)).all()


def is_collector(user_id):
    """Whether this user chases some debtor of the current creditor."""
    return db.session.scalar(select(Customer.id).where(Customer.collector_id == user_id)
                             .limit(1)) is not None


class WorkRefused(ValueError):
    """The action cannot be applied; the message says what to do instead."""


def act(keys, action, as_of, by, outcome=None, note=None, until=None, assignee=None):
    """Apply one action to the tasks named by `keys` ("kind:ref") that are on the creditor's
    worklist today (snoozed ones included); the others are not touched. Flushes; the caller
    commits. How many tasks it applied to."""
    tasks, _snoozed, _waiting = tasks_of(as_of)
    listed = {t.key: t for t in tasks}
    listed.update({f"{i.kind}:{i.ref}": WorkTask(i, as_of, None) for i in _snoozed_items(as_of)})
    chosen = [listed[k] for k in dict.fromkeys(keys) if k in listed]
    states = _states([t.item for t in chosen])
    for task in chosen:
        item = task.item
        state = states.get((item.kind, item.ref)) or _new(item)
        state.updated_at, state.updated_by = clock.now(), by.email
        if action == "done":
            _done(item, state, by, outcome, note)
        elif action == "snooze":
            state.state, state.snoozed_until = "snoozed", until
        else:
            state.assignee_id = assignee
    db.session.flush()
    return len(chosen)


def _snoozed_items(as_of):
    """The items snoozed past `as_of`: they can still be done or assigned."""
    found = inbox(as_of).todo + handover_items(as_of)
    states = _states(found)
    return [i for i in found if (s := states.get((i.kind, i.ref))) is not None
            and s.state == "snoozed" and s.snoozed_until and s.snoozed_until > as_of]


def _new(item):
    state = WorkItem(creditor_id=tenancy.current_id(), kind=item.kind, ref=item.ref,
                     customer_id=item.customer.id if item.customer else None, state="open")
    db.session.add(state)
    return state


def _done(item, state, by, outcome, note):
    """Done: the task leaves the list; a call or letter task the run queued is done too, the
    message that opened a dispute with its dispute; the debtor's timeline says so."""
    state.state, state.outcome, state.note, state.snoozed_until = "done", outcome, note, None
    if item.kind in ("call", "letter", "reminder_letter"):
        queued = db.session.get(Task, item.ref)
        if queued is not None and queued.state == "open":
            queued.state = "done"
    for kind, ref in item.also:
        other = db.session.scalar(select(WorkItem).where(WorkItem.kind == kind,
                                                         WorkItem.ref == ref))
        if other is None:
            other = _new(Item(kind, item.since, item.customer, ref=ref))
        other.state, other.outcome, other.note = "done", outcome, note
    if item.customer is not None:
        record_event(item.customer.id, "work_done", actor="accountant", by=by.email,
                     task=item.kind, outcome=outcome, note=note)
