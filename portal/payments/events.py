"""What each provider event means for the ledger. Stripe's webhooks and the demo gateway's
buttons both come through `handle`, with the event's object as a plain mapping.

Every field is checked before anything is written: ids are short strings, amounts are `int`
(never `True`, a float or a string) and money moves only when the event's amount and currency
are exactly those of the checkout; anything else is held for the accountant (`review`). A
malformed object raises `Malformed`, which the webhook records as "ignored: malformed"."""
from sqlalchemy import select

from ..extensions import db
from ..bookkeeping import record_event
from ..models import InstalmentPlan, Payment, utcnow
from .lifecycle import hold_for_review, refund, transition

ONLINE_SOURCES = ("stripe", "demo")  # the payments a provider event may speak of
MAX_CENTS = 10**12
MAX_ID = 2**31 - 1


class Malformed(ValueError):
    """The event's object lacks a field or has one of the wrong type; the message names it."""


def text_id(obj, key, required=True):
    """A provider id: a non-empty printable string of at most 255 characters."""
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 255 or not value.isprintable():
        raise Malformed(f"{key} must be an id string")
    return value


def cents(obj, key):
    value = obj.get(key)
    if type(value) is not int or not 0 <= value <= MAX_CENTS:  # noqa: E721 - bool is an int
        raise Malformed(f"{key} must be a whole number of cents")
    return value


def _payment(**where):
    """The payment an event speaks of, locked for this transaction and read afresh (a payment
    already in the session may be stale: another request may have moved it meanwhile)."""
    query = select(Payment).where(Payment.source.in_(ONLINE_SOURCES)).filter_by(**where)
    return db.session.scalar(query.with_for_update().execution_options(populate_existing=True))


def _session_payment(obj):
    if obj.get("object", "checkout.session") != "checkout.session":
        raise Malformed("data.object is not a checkout.session")
    return _payment(external_id=text_id(obj, "id"))


def _intent_payment(obj):
    if obj.get("object") == "payment_intent":
        return _payment(payment_intent_id=text_id(obj, "id"))
    intent = text_id(obj, "payment_intent", required=False)
    return _payment(payment_intent_id=intent) if intent else None


def _matches(payment, obj, amount_key, as_of):
    """Whether the money reported is exactly what was asked; if not, hold it for review."""
    try:
        received = cents(obj, amount_key)
    except Malformed as exc:
        hold_for_review(payment, as_of, str(exc))
        return False
    currency = obj.get("currency")
    if not isinstance(currency, str) or currency.upper() != payment.currency.upper():
        hold_for_review(payment, as_of, f"currency {str(currency)[:10]!r} instead of "
                                        f"{payment.currency}")
        return False
    if received != payment.amount_cents:
        hold_for_review(payment, as_of, f"received {received} cents instead of "
                                        f"{payment.amount_cents}", received_cents=received)
        return False
    return True


def _mandate_signed(obj, as_of):
    """A setup-mode checkout completed: the plan's instalments can now be debited."""
    from .gateways import gateway_for
    metadata = obj.get("metadata")
    plan_id = metadata.get("plan_id") if isinstance(metadata, dict) else None
    if not (isinstance(plan_id, str) and plan_id.isascii() and plan_id.isdigit()
            and int(plan_id) <= MAX_ID):
        raise Malformed("metadata.plan_id must be a plan id")
    setup_intent = text_id(obj, "setup_intent", required=False)
    plan = db.session.get(InstalmentPlan, int(plan_id))
    if plan is None or not setup_intent:
        return "ignored: no plan or setup intent"
    plan.mandate_payment_method = gateway_for().mandate_payment_method(setup_intent)
    plan.mandate_signed_at = utcnow()
    record_event(plan.customer_id, "mandate_signed", actor="debtor", plan_id=plan.id)
    return f"mandate for plan {plan.id}"


def _session_completed(obj, as_of):
    if obj.get("mode") == "setup":
        return _mandate_signed(obj, as_of)
    payment = _session_payment(obj)
    if payment is None:
        return "ignored: unknown checkout session"
    intent = text_id(obj, "payment_intent", required=False)
    payment.payment_intent_id = payment.payment_intent_id or intent
    paid = obj.get("payment_status") in ("paid", "no_payment_required")
    # Only money received is compared with the checkout (a SEPA debit still processing has
    # received nothing yet: its amount is checked when it succeeds).
    if paid and not _matches(payment, obj, "amount_total", as_of):
        return f"payment {payment.id} held for review: {payment.review_reason}"
    state = "succeeded" if paid else "pending"
    return _moved(transition(payment, state, as_of), payment, state)


def _session_async(state):
    def apply(obj, as_of):
        payment = _session_payment(obj)
        if payment is None:
            return "ignored: unknown checkout session"
        if state == "succeeded" and not _matches(payment, obj, "amount_total", as_of):
            return f"payment {payment.id} held for review: {payment.review_reason}"
        return _moved(transition(payment, state, as_of), payment, state)
    return apply


def _intent(state):
    def apply(obj, as_of):
        payment = _intent_payment(obj)
        if payment is None:
            return "ignored: unknown payment intent"
        key = "amount_received" if "amount_received" in obj else "amount"
        if state == "succeeded" and not _matches(payment, obj, key, as_of):
            return f"payment {payment.id} held for review: {payment.review_reason}"
        return _moved(transition(payment, state, as_of), payment, state)
    return apply


def _charge_refunded(obj, as_of):
    refunded = cents(obj, "amount_refunded")
    payment = _intent_payment(obj)
    if payment is None:
        return "ignored: unknown payment intent"
    changed = refund(payment, refunded, as_of)
    return f"refunded {refunded} on payment {payment.id}" if changed else "no change"


def _dispute(obj, as_of):
    payment = _intent_payment(obj)
    if payment is None:
        return "ignored: unknown payment intent"
    reason = obj.get("reason") if isinstance(obj.get("reason"), str) else None
    return _moved(transition(payment, "disputed", as_of, reason=(reason or "")[:100] or None),
                  payment, "disputed")


def _moved(changed, payment, state):
    return f"payment {payment.id} {state}" if changed else f"payment {payment.id}: no change"


HANDLERS = {
    "checkout.session.completed": _session_completed,
    "checkout.session.async_payment_succeeded": _session_async("succeeded"),
    "checkout.session.async_payment_failed": _session_async("failed"),
    "checkout.session.expired": _session_async("cancelled"),  # abandoned: nothing to pay
    "payment_intent.processing": _intent("pending"),
    "payment_intent.succeeded": _intent("succeeded"),
    "payment_intent.payment_failed": _intent("failed"),
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute,
}


def handle(event_type, obj, as_of):
    """Apply one event; return a short description of what it did (kept with the event id).
    Raises Malformed, before writing anything, when the object is not what the type promises."""
    handler = HANDLERS.get(event_type)
    if handler is None:
        return "ignored: event type not used"
    return handler(obj, as_of)
