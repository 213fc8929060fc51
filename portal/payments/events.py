"""What each provider event means for the ledger. Stripe's webhooks and the demo gateway's
buttons both come through `handle`, with the event's object as a mapping."""
from sqlalchemy import select

from ..extensions import db
from ..ledger import record_event
from ..models import InstalmentPlan, Payment, utcnow
from .ledger import refund, transition


def _payment(obj, by_intent=False):
    """The payment an event speaks of, locked for this transaction (concurrent webhooks about
    one payment are applied one after the other)."""
    query = select(Payment).with_for_update()
    if by_intent:
        intent = obj.get("payment_intent") if obj.get("object") != "payment_intent" else obj["id"]
        return db.session.scalar(query.where(Payment.payment_intent_id == intent)) if intent \
            else None
    return db.session.scalar(query.where(Payment.external_id == obj["id"]))


def _mandate_signed(obj, as_of):
    """A setup-mode checkout completed: the plan's instalments can now be debited."""
    from .gateways import gateway_for
    plan = db.session.get(InstalmentPlan, int((obj.get("metadata") or {}).get("plan_id") or 0))
    if plan is None or not obj.get("setup_intent"):
        return "ignored: no plan or setup intent"
    plan.mandate_payment_method = gateway_for().mandate_payment_method(obj["setup_intent"])
    plan.mandate_signed_at = utcnow()
    record_event(plan.customer_id, "mandate_signed", actor="debtor", plan_id=plan.id)
    return f"mandate for plan {plan.id}"


def _session_completed(obj, as_of):
    if obj.get("mode") == "setup":
        return _mandate_signed(obj, as_of)
    payment = _payment(obj)
    if payment is None:
        return "ignored: unknown checkout session"
    payment.payment_intent_id = payment.payment_intent_id or obj.get("payment_intent")
    total = obj.get("amount_total")
    if total is not None and total != payment.amount_cents:
        record_event(payment.customer_id, "payment_amount_differs", actor="stripe",
                     payment_id=payment.id, expected_cents=payment.amount_cents,
                     received_cents=total)
        payment.amount_cents = total  # what was really paid; allocations fit at success
    state = "succeeded" if obj.get("payment_status") in ("paid", "no_payment_required") \
        else "pending"
    return _moved(transition(payment, state, as_of), payment, state)


def _session_async(state):
    def apply(obj, as_of):
        payment = _payment(obj)
        if payment is None:
            return "ignored: unknown checkout session"
        return _moved(transition(payment, state, as_of), payment, state)
    return apply


def _intent(state):
    def apply(obj, as_of):
        payment = _payment(obj, by_intent=True)
        if payment is None:
            return "ignored: unknown payment intent"
        return _moved(transition(payment, state, as_of), payment, state)
    return apply


def _charge_refunded(obj, as_of):
    payment = _payment(obj, by_intent=True)
    if payment is None:
        return "ignored: unknown payment intent"
    changed = refund(payment, int(obj.get("amount_refunded") or 0), as_of)
    return f"refunded {obj.get('amount_refunded')} on payment {payment.id}" if changed \
        else "no change"


def _dispute(obj, as_of):
    payment = _payment(obj, by_intent=True)
    if payment is None:
        return "ignored: unknown payment intent"
    return _moved(transition(payment, "disputed", as_of, reason=obj.get("reason")), payment,
                  "disputed")


def _moved(changed, payment, state):
    return f"payment {payment.id} {state}" if changed else f"payment {payment.id}: no change"


HANDLERS = {
    "checkout.session.completed": _session_completed,
    "checkout.session.async_payment_succeeded": _session_async("succeeded"),
    "checkout.session.async_payment_failed": _session_async("failed"),
    "payment_intent.processing": _intent("pending"),
    "payment_intent.succeeded": _intent("succeeded"),
    "payment_intent.payment_failed": _intent("failed"),
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute,
}


def handle(event_type, obj, as_of):
    """Apply one event; return a short description of what it did (kept with the event id)."""
    handler = HANDLERS.get(event_type)
    if handler is None:
        return "ignored: event type not used"
    return handler(obj, as_of)
