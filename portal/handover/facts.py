"""What happened with a debtor, as the hand-over dossier states it: every reminder with its date,
level and channels, the debtor's answers, the promises (broken or not, as the schedule decides
it: `portal.rules.schedule.promise_broken_on`) and the messages as sent. Read from the ledger only."""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from ..rules.schedule import calendar_for, promise_broken_on

from .. import clock, settings as relance_settings
from ..extensions import db
from ..models import Event, Hold, Invoice, Reminder, SentMessage, SmsMessage, Task

# The debtor's answers (portal or phone): the kinds the dossier lists, with their words.
ANSWERS = {
    "fr": {"hold_promise": "Promesse de paiement pour le {until} ({number})",
           "hold_not_received": "Déclare ne pas avoir reçu la facture {number}",
           "hold_dispute": "Conteste la facture {number} : {reason}",
           "message": "Écrit au sujet de la facture {number} ({reason}) : « {text} »",
           "plan_requested": "Demande un échéancier : {count} échéances, {total}",
           "plan_counter_accepted": "Accepte la contre-proposition d'échéancier",
           "plan_counter_declined": "Refuse la contre-proposition d'échéancier",
           "call": "Appel téléphonique : {reached}{promise}{notes}"},
    "en": {"hold_promise": "Promised to pay on {until} ({number})",
           "hold_not_received": "Says invoice {number} never arrived",
           "hold_dispute": "Disputes invoice {number}: {reason}",
           "message": "Wrote about invoice {number} ({reason}): \"{text}\"",
           "plan_requested": "Asked for an instalment plan: {count} instalments, {total}",
           "plan_counter_accepted": "Accepted the counter-proposal",
           "plan_counter_declined": "Declined the counter-proposal",
           "call": "Phone call: {reached}{promise}{notes}"},
}
REACHED = {"fr": ("joint", "non joint", " — promet de payer le {}"),
           "en": ("reached", "not reached", " — promised to pay on {}")}


@dataclass
class Sent:
    """One reminder message: when, which level, through which channels, about which invoices."""
    on: date
    level: int
    channels: list
    invoices: list
    subject: str = ""


@dataclass
class Promise:
    made_on: date
    until: date
    number: str
    broken: bool


@dataclass
class History:
    reminders: list = field(default_factory=list)  # of Sent, oldest first
    answers: list = field(default_factory=list)  # of (date, text)
    promises: list = field(default_factory=list)  # of Promise
    messages: list = field(default_factory=list)  # of SentMessage, oldest first


def _reminders(customer_id, messages):
    """The reminders sent (or refused by the mail server), one per message, with channels."""
    rows = db.session.execute(
        select(Reminder.message_id, Reminder.level, Reminder.state, Reminder.scheduled_for,
               Invoice.number).outerjoin(Invoice, Invoice.id == Reminder.invoice_id)
        .where(Reminder.customer_id == customer_id, Reminder.state.in_(("sent", "failed")))
        .order_by(Reminder.scheduled_for, Reminder.id)).all()
    tasks = defaultdict(set)
    for message_id, kind in db.session.execute(select(Task.message_id, Task.kind).where(
            Task.customer_id == customer_id)):
        tasks[message_id].add(kind)
    for message_id in db.session.scalars(select(SmsMessage.message_id).where(  # SMS that went
            SmsMessage.customer_id == customer_id,
            SmsMessage.state.in_(("sent", "delivered", "undelivered")))):
        tasks[message_id].add("sms")
    found = {}
    for message_id, level, state, on, number in rows:
        sent = found.get(message_id)
        if sent is None:
            emailed = message_id in messages and messages[message_id].recipients
            channels = ["email"] if emailed else (["refused"] if state == "failed"
                                                  else [])
            channels += sorted(tasks.get(message_id, ()))
            subject = messages[message_id].subject if message_id in messages else ""
            sent = found[message_id] = Sent(on, level, channels, [], subject)
        sent.level = max(sent.level, level)
        if number and number not in sent.invoices:
            sent.invoices.append(number)
    return list(found.values())


def _answer(event, lang, number):
    words, d = ANSWERS[lang], event.details or {}
    if event.kind == "call":
        yes, no, promised = REACHED[lang]
        promise = promised.format(_day(d["promise_date"])) if d.get("promise_date") else ""
        notes = f" — {d['notes']}" if d.get("notes") else ""
        return words["call"].format(reached=yes if d.get("reached") else no, promise=promise,
                                    notes=notes)
    return words[event.kind].format(
        until=_day(d.get("until")), number=d.get("number") or number or "—",
        reason=d.get("reason", ""), text=d.get("text", ""), count=d.get("count", ""),
        total=f"{int(d.get('total_cents') or 0) / 100:.2f} EUR".replace(".", ","))


def _day(value):
    if not value:
        return "—"
    return date.fromisoformat(value).strftime("%d/%m/%Y")


def _promises(claim):
    """The promises made on the claimed invoices; broken once the schedule's grace is past."""
    customer = claim.customer
    policy = relance_settings.current().policy_for(customer.tier, customer.policy)
    calendar = calendar_for(relance_settings.creditor().holiday_country)
    numbers = {line.invoice.id: line.invoice.number for line in claim.lines}
    holds = db.session.scalars(select(Hold).where(
        Hold.customer_id == customer.id, Hold.kind == "promise", Hold.until.is_not(None),
        Hold.invoice_id.in_(list(numbers))).order_by(Hold.starts_on, Hold.id)).all()
    return [Promise(h.starts_on, h.until, numbers[h.invoice_id],
                    claim.as_of > promise_broken_on(h.until, policy, calendar)) for h in holds]


def history(claim):
    """The History of `claim`'s debtor, in the dossier's language."""
    customer_id = claim.customer.id
    messages = db.session.scalars(select(SentMessage).where(
        SentMessage.customer_id == customer_id).order_by(SentMessage.sent_at)).all()
    found = History(messages=messages)
    found.reminders = _reminders(customer_id, {m.message_id: m for m in messages})
    rows = db.session.execute(
        select(Event, Invoice.number).outerjoin(Invoice, Invoice.id == Event.invoice_id)
        .where(Event.customer_id == customer_id, Event.kind.in_(list(ANSWERS["fr"])))
        .order_by(Event.at, Event.id)).all()
    found.answers = [(event.at.astimezone(clock.zone()).date(), _answer(event, claim.lang, number))
                     for event, number in rows]
    found.promises = _promises(claim)
    return found
