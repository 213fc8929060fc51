"""What needs a human today, oldest first: plain queries, no request inside (the labels and
summaries are worded when the page shows them, in the language of the user who reads them).

The inbox never proposes what the schedule holds: whether a promise is broken is the schedule's
answer (`schedule.promise_status`, its grace included), and a call or a letter to send waits,
with its reason and date, while every invoice it names is held (promised, disputed, in a plan:
`reminders.scan.upcoming_of`, read by `portal.rules.story.task_state`)."""
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import NamedTuple

from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from sqlalchemy import select

from reminders.scan import upcoming_of
from ..rules.schedule import calendar_for, promise_broken_on, promise_status

from .. import settings as relance_settings
from ..extensions import db
from ..i18n import current_lang, money
from ..answers import DISPUTES
from ..models import (BankCredit, Customer, Event, Hold, Invoice, InstalmentPlan, Payment, Task,
                      WorkItem)
from ..rules.story import CLOSED, holds_back, task_state

LABELS = {
    "plan": _l("Instalment plan to decide"),
    "not_received": _l("Invoice reported as not received"),
    "dispute": _l("Dispute"),
    "message": _l("Message from the customer"),
    "broken_promise": _l("Broken promise"),
    "payment_failed": _l("Failed SEPA Direct Debit"),
    "call": _l("Call to make"),
    "letter": _l("Formal notice to send"),
    "reminder_letter": _l("Reminder letter to send"),
    "payment_review": _l("Payment to check"),
    "hold_ended": _l("Hold over: reminders start again"),
    "bank_credit": _l("Bank credit to reconcile"),
    "no_email": _l("No e-mail address: reminders cannot go out"),
    "handover": _l("Hand-over due: the formal notice's deadline has passed"),
}
# What came of a task done on the worklist (`worklist.act`), as the accountant chooses it.
OUTCOMES = {"done": _l("Done"), "reached": _l("Reached"), "not_reached": _l("Not reached"),
            "answered": _l("Answered"), "nothing_to_do": _l("Nothing to do")}


def task_label(kind):
    """The words for a kind of task (the code itself if unknown)."""
    return str(LABELS[kind]) if kind in LABELS else kind


@dataclass
class Item:
    kind: str
    since: datetime
    customer: Customer | None  # None: about no customer yet (a bank credit)
    facts: dict = field(default_factory=dict)  # what the summary says, as data
    target: tuple = ()  # (endpoint, kwargs) of the page that deals with it
    waiting: object = None  # the schedule's Upcoming that holds it back (a waiting task)
    ref: int = 0  # the id of the row it comes from: (kind, ref) names the task (worklist)
    also: tuple = ()  # other (kind, ref) it stands for: the message that opened a dispute

    @property
    def label(self):
        return str(LABELS[self.kind])

    @property
    def summary(self):
        """One line about the item, in the language of the page being shown."""
        facts = self.facts
        if self.kind == "plan":
            return ngettext("%(num)d instalment, %(amount)s", "%(num)d instalments, %(amount)s",
                            facts["count"], amount=money(facts["cents"], current_lang()))
        if self.kind == "message":
            if not facts.get("number"):  # a message about no invoice in particular
                return _("Message: %(text)s", text=facts["text"])
            return _("Invoice %(number)s: %(text)s", number=facts["number"], text=facts["text"])
        if self.kind == "dispute" and facts.get("text"):
            return _("Invoice %(number)s: %(text)s", number=facts["number"], text=facts["text"])
        if self.kind == "no_email":
            return _("Add the customer's address on their page")
        if self.kind == "bank_credit":
            return _("%(amount)s from %(name)s: %(text)s",
                     amount=money(facts["cents"], current_lang()), name=facts["name"] or "—",
                     text=facts["text"] or "—")
        if self.kind == "hold_ended":
            return _("Invoice %(number)s: %(reason)s", number=facts["number"],
                     reason=facts["reason"] or _("held by the accountant"))
        if self.kind == "payment_review":
            return _("Payment of %(amount)s: %(reason)s",
                     amount=money(facts["cents"], current_lang()), reason=facts["reason"])
        if "invoices" in facts:
            return ngettext("Invoice %(numbers)s", "Invoices %(numbers)s", len(facts["invoices"]),
                            numbers=", ".join(facts["invoices"]))
        return _("Invoice %(number)s", number=facts["number"])


def _at(day):
    return datetime.combine(day, time(), tzinfo=timezone.utc)


def inbox(as_of):
    """The to-do list and the tasks the schedule holds back. One query per kind of item, each
    with its customer joined (no query per item), and one pass of the schedule over the debtors
    with a task or a promise past its date."""
    items = []
    for plan, customer in db.session.execute(
            select(InstalmentPlan, Customer).join(Customer, Customer.id == InstalmentPlan.customer_id)
            .where(InstalmentPlan.state == "requested")):
        items.append(Item("plan", plan.requested_at, customer,
                          {"count": plan.count, "cents": plan.total_cents},
                          ("backoffice.plan", {"plan_id": plan.id}), ref=plan.id))
    holds = db.session.execute(
        select(Hold.kind, Hold.created_at, Invoice.number, Customer, Hold.id)
        .join(Invoice, Invoice.id == Hold.invoice_id)
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(Hold.released_at.is_(None), Invoice.status == "open",
               Hold.kind.in_(("not_received", "dispute", "payment_failed"))))
    for kind, created_at, number, customer, hold_id in holds:
        items.append(Item(kind, created_at, customer, {"number": number},
                          ("backoffice.customer", {"customer_id": customer.id}), ref=hold_id))
    items.extend(_messages(items))
    for payment, customer in db.session.execute(
            select(Payment, Customer).join(Customer, Customer.id == Payment.customer_id)
            .where(Payment.state == "review")):
        items.append(Item("payment_review", payment.created_at, customer,
                          {"cents": payment.amount_cents, "reason": payment.review_reason},
                          ("backoffice.customer", {"customer_id": payment.customer_id}),
                          ref=payment.id))
    for credit in db.session.scalars(select(BankCredit).where(
            BankCredit.state.in_(BankCredit.WAITING))):
        items.append(Item("bank_credit", _at(credit.booked_on), None,
                              {"cents": credit.amount_cents, "name": credit.debtor_name,
                               "text": credit.remittance}, ("backoffice.bank", {}),
                              ref=credit.id))
    # A manual hold whose end date has passed: its reminders resume; say so until it is lifted.
    for hold, number, customer in db.session.execute(
            select(Hold, Invoice.number, Customer)
            .join(Invoice, Invoice.id == Hold.invoice_id)
            .join(Customer, Customer.id == Hold.customer_id)
            .where(Hold.kind == "manual_pause", Hold.released_at.is_(None), Hold.until < as_of,
                   Invoice.status == "open")):
        items.append(Item("hold_ended", _at(hold.until + timedelta(days=1)), customer,
                          {"number": number, "reason": (hold.details or {}).get("reason")},
                          ("backoffice.customer", {"customer_id": customer.id}), ref=hold.id))
    for customer in db.session.scalars(select(Customer).where(
            Customer.email == "", Customer.id.in_(select(Invoice.customer_id).where(
                Invoice.status == "open")))):
        items.append(Item("no_email", _at(as_of), customer, {},
                          ("backoffice.customer", {"customer_id": customer.id}),
                          ref=customer.id))
    promises, tasks = _promises(as_of), _tasks()
    upcoming = upcoming_of(sorted({p[3].id for p in promises} | {c.id for _t, c in tasks}),
                           as_of)
    items.extend(_broken_promises(promises, upcoming, as_of))
    waiting = []
    for item in _task_items(tasks, upcoming):
        (waiting if item.waiting is not None else items).append(item)
    return Inbox(sorted(items, key=lambda item: item.since),
                 sorted(waiting, key=lambda item: item.since))


class Inbox(NamedTuple):
    todo: list  # what a human does today, oldest first
    waiting: list  # calls and letters the schedule holds back for now, with why and until when


def inbox_items(as_of):
    """Everything that waits for a human, oldest first."""
    return inbox(as_of).todo


# A debtor's message not yet answered stays on the worklist until it is done: the newest ones.
MESSAGES = 500


def _messages(items):
    """The debtors' messages not marked done on the worklist, newest first. A message that
    opened a dispute (its reason one of `answers.DISPUTES`, about an invoice disputed now) is
    told by the dispute's task, with its words: one task, not two."""
    done = select(WorkItem.id).where(WorkItem.kind == "message", WorkItem.ref == Event.id,
                                     WorkItem.state == "done")
    disputes = {(item.customer.id, item.facts["number"]): item for item in items
                if item.kind == "dispute"}
    found = []
    for event, customer in db.session.execute(
            select(Event, Customer).join(Customer, Customer.id == Event.customer_id)
            .where(Event.kind == "message", ~done.exists())
            .order_by(Event.at.desc()).limit(MESSAGES)):
        number = event.details.get("number")
        dispute = disputes.get((customer.id, number))
        if dispute is not None and event.details.get("reason") in DISPUTES:
            dispute.facts.setdefault("text", event.details.get("text"))
            dispute.also += (("message", event.id),)
            continue
        found.append(Item("message", event.at, customer, {"number": number,
                                                          "text": event.details.get("text")},
                          ("backoffice.customer", {"customer_id": customer.id}), ref=event.id))
    return found


def _promises(as_of):
    """(invoice id, promised date, number, customer) of the promises in force whose date has
    passed (only those can be broken: the schedule decides which are)."""
    return db.session.execute(
        select(Hold.invoice_id, Hold.until, Invoice.number, Customer, Hold.id)
        .join(Invoice, Invoice.id == Hold.invoice_id)
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(Hold.kind == "promise", Hold.released_at.is_(None), Hold.until < as_of,
               Invoice.status == "open")).all()


def _broken_promises(promises, upcoming, as_of):
    """A broken promise (its date and the policy's grace past, `schedule.promise_status`) on an
    invoice the schedule does not hold otherwise (a plan replaced it, a dispute stops it)."""
    if not promises:
        return
    settings = relance_settings.current()
    calendar = calendar_for(relance_settings.creditor().holiday_country)
    for invoice_id, until, number, customer, hold_id in promises:
        policy = settings.policy_for(customer.tier, customer.policy)
        if promise_status(until, policy, calendar, as_of, settled=False) != "broken":
            continue
        if holds_back(upcoming.get(invoice_id, (None, None))[1]):
            continue
        since = promise_broken_on(until, policy, calendar) + timedelta(days=1)
        yield Item("broken_promise", _at(since), customer, {"number": number},
                   ("backoffice.customer", {"customer_id": customer.id}), ref=hold_id)


def _tasks():
    return db.session.execute(select(Task, Customer).join(Customer, Customer.id ==
                                                          Task.customer_id)
                              .where(Task.state == "open")).all()


def _task_items(tasks, upcoming):
    """The open call and letter tasks: to do, waiting (every invoice it names held by the
    schedule), or left out (every invoice it names paid or cancelled since)."""
    named = {n for task, _c in tasks for n in task.details.get("invoices", [])}
    found = {(customer_id, number): (invoice_id, status) for invoice_id, customer_id, number,
             status in db.session.execute(select(Invoice.id, Invoice.customer_id,
                                                 Invoice.number, Invoice.status)
                                          .where(Invoice.number.in_(named)))} if named else {}
    for task, customer in tasks:
        states = []
        for number in task.details.get("invoices", []):
            invoice_id, status = found.get((customer.id, number), (None, "gone"))
            states.append(upcoming.get(invoice_id, (None, None))[1] if status == "open"
                          else CLOSED)
        decided = task_state(states)
        if decided.state == "done":
            continue  # every invoice it is about was paid since: nothing to chase
        kind = task.kind
        if kind == "letter" and not task.details.get("formal_notice", True):
            kind = "reminder_letter"  # a level that writes without being the formal notice
        yield Item(kind, task.created_at, customer,
                   {"invoices": list(task.details.get("invoices", []))},
                   ("backoffice.call" if task.kind == "call" else "backoffice.letter",
                    {"task_id": task.id}), decided.until, ref=task.id)
