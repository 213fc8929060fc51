"""Payments: gateways (Stripe, demo), the payment state machine, and the Stripe webhook."""
import stripe
from flask import Blueprint, current_app, request
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db
from ..models import ProcessedEvent
from .events import handle

bp = Blueprint("payments", __name__)


def _error(status, code, message):
    return {"error": {"code": code, "message": message, "fields": {}}}, status


@bp.post("/stripe/webhook")
def stripe_webhook():
    """Verify the signature, apply each event id once, answer 2xx so Stripe stops retrying."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        return _error(503, "webhooks_disabled", "Set STRIPE_WEBHOOK_SECRET on the server.")
    try:
        event = stripe.Webhook.construct_event(request.get_data(),
                                               request.headers.get("Stripe-Signature"), secret)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        return _error(400, "bad_signature", f"Webhook refused: {exc}")
    if db.session.get(ProcessedEvent, event.id) is not None:
        return {"status": "duplicate", "id": event.id}
    record = ProcessedEvent(id=event.id, type=event.type)
    db.session.add(record)
    try:
        db.session.flush()  # a concurrent delivery of the same event fails here, not later
    except IntegrityError:
        db.session.rollback()
        return {"status": "duplicate", "id": event.id}
    obj = event.data.object.to_dict()  # a plain mapping, as the demo gateway passes
    record.outcome = handle(event.type, obj, clock.today())[:200]
    db.session.commit()
    return {"status": "processed", "id": event.id, "outcome": record.outcome}
