"""What needs a human today, oldest first: plain queries, no request inside."""
from dataclasses import dataclass
from datetime import datetime, time, timezone

from sqlalchemy import select

from ..extensions import db
from ..i18n import money
from ..models import Customer, Event, Hold, Invoice, InstalmentPlan, Payment, Task

LABELS = {
    "plan": "Échéancier à décider",
    "not_received": "Facture signalée non reçue",
    "dispute": "Contestation",
    "message": "Message du client",
    "broken_promise": "Promesse non tenue",
    "payment_failed": "Prélèvement SEPA échoué",
    "call": "Appel à passer",
    "letter": "Mise en demeure à envoyer",
    "payment_review": "Paiement à vérifier",
}


@dataclass
class Item:
    kind: str
    since: datetime
    customer: Customer
    summary: str
    target: tuple = ()  # (endpoint, kwargs) of the page that deals with it

    @property
    def label(self):
        return LABELS[self.kind]


def _at(day):
    return datetime.combine(day, time(), tzinfo=timezone.utc)


def inbox_items(as_of):
    """Everything that waits for a human, oldest first. One query per kind of item, each with
    its customer joined (no query per item)."""
    items = []
    for plan, customer in db.session.execute(
            select(InstalmentPlan, Customer).join(Customer, Customer.id == InstalmentPlan.customer_id)
            .where(InstalmentPlan.state == "requested")):
        items.append(Item("plan", plan.requested_at, customer,
                          f"{plan.count} échéances, {money(plan.total_cents)}",
                          ("backoffice.plan", {"plan_id": plan.id})))
    holds = db.session.execute(
        select(Hold.kind, Hold.until, Hold.created_at, Invoice.number, Customer)
        .join(Invoice, Invoice.id == Hold.invoice_id)
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(Hold.released_at.is_(None), Invoice.status == "open",
               Hold.kind.in_(("not_received", "dispute", "payment_failed")) | (
                   (Hold.kind == "promise") & (Hold.until < as_of))))
    for kind, until, created_at, number, customer in holds:
        if kind == "promise":
            kind, since = "broken_promise", _at(until)
        else:
            since = created_at
        items.append(Item(kind, since, customer, f"Facture {number}"))
    for event, customer in db.session.execute(
            select(Event, Customer).join(Customer, Customer.id == Event.customer_id)
            .where(Event.kind == "message").order_by(Event.at.desc()).limit(200)):
        items.append(Item("message", event.at, customer,
                          f"Facture {event.details.get('number')} : {event.details.get('text')}"))
    for payment, customer in db.session.execute(
            select(Payment, Customer).join(Customer, Customer.id == Payment.customer_id)
            .where(Payment.state == "review")):
        items.append(Item("payment_review", payment.created_at, customer,
                          f"Paiement de {money(payment.amount_cents)} : {payment.review_reason}",
                          ("backoffice.customer", {"customer_id": payment.customer_id})))
    for task, customer in db.session.execute(
            select(Task, Customer).join(Customer, Customer.id == Task.customer_id)
            .where(Task.state == "open")):
        items.append(Item(task.kind, task.created_at, customer,
                          "Factures " + ", ".join(task.details.get("invoices", [])),
                          ("backoffice.call" if task.kind == "call" else "backoffice.letter",
                           {"task_id": task.id})))
    return sorted(items, key=lambda item: item.since)
