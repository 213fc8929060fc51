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
    items = []
    for plan in db.session.scalars(select(InstalmentPlan).where(
            InstalmentPlan.state == "requested")):
        items.append(Item("plan", plan.requested_at, plan.customer,
                          f"{plan.count} échéances, {money(plan.total_cents)}",
                          ("backoffice.plan", {"plan_id": plan.id})))
    holds = db.session.execute(select(Hold, Invoice).join(Invoice, Invoice.id == Hold.invoice_id)
                               .where(Hold.released_at.is_(None), Invoice.status == "open",
                                      Hold.kind.in_(("not_received", "dispute", "promise",
                                                     "payment_failed"))))
    for hold, invoice in holds:
        if hold.kind == "promise":
            if hold.until is None or hold.until >= as_of:
                continue
            kind, since = "broken_promise", _at(hold.until)
        else:
            kind, since = hold.kind, hold.created_at
        items.append(Item(kind, since, invoice.customer, f"Facture {invoice.number}"))
    for event in db.session.scalars(select(Event).where(Event.kind == "message")
                                    .order_by(Event.at.desc()).limit(200)):
        customer = db.session.get(Customer, event.customer_id)
        items.append(Item("message", event.at, customer,
                          f"Facture {event.details.get('number')} : {event.details.get('text')}"))
    for payment in db.session.scalars(select(Payment).where(Payment.state == "review")):
        items.append(Item("payment_review", payment.created_at,
                          db.session.get(Customer, payment.customer_id),
                          f"Paiement de {money(payment.amount_cents)} : {payment.review_reason}",
                          ("backoffice.customer", {"customer_id": payment.customer_id})))
    for task in db.session.scalars(select(Task).where(Task.state == "open")):
        items.append(Item(task.kind, task.created_at, db.session.get(Customer, task.customer_id),
                          "Factures " + ", ".join(task.details.get("invoices", [])),
                          ("backoffice.call" if task.kind == "call" else "backoffice.letter",
                           {"task_id": task.id})))
    return sorted(items, key=lambda item: item.since)
