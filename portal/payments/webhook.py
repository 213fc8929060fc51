"""The Stripe webhook endpoint (web layer): verify, record each event once, hand it to events."""
import json
import time

import stripe
from flask import Blueprint, current_app, request
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db
from ..models import ProcessedEvent
from .events import Malformed, handle, text_id

bp = Blueprint("payments", __name__)
TOLERANCE = 300  # seconds: an older signature is a replay, a later one a forged clock


def _error(status, code, message):
    return {"error": {"code": code, "message": message, "fields": {}}}, status


def _verified_body():
    """The body as text once Stripe's signature over it is checked (recent, not from the
    future); raises ValueError with the reason."""
    try:
        body = request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    header = request.headers.get("Stripe-Signature")
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    try:
        stripe.WebhookSignature.verify_header(body, header, secret, tolerance=TOLERANCE)
        signed_at, _ = stripe.WebhookSignature._get_timestamp_and_signatures(header, "v1")
    except stripe.SignatureVerificationError as exc:
        raise ValueError(str(exc)) from None
    if signed_at > time.time() + TOLERANCE:
        raise ValueError("the signature's timestamp is in the future")
    return body


def _envelope(body):
    """(id, type, object) of a signed event; raises Malformed naming what is wrong."""
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        raise Malformed("the body is not a JSON object of reasonable depth") from None
    if not isinstance(event, dict):
        raise Malformed("the event must be a JSON object")
    event_id = text_id(event, "id")
    kind = event.get("type")
    if not isinstance(kind, str) or not 0 < len(kind) <= 80 or not kind.isprintable():
        raise Malformed("type must be an event type string")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise Malformed("data.object must be an object")
    return event_id, kind, obj


@bp.post("/stripe/webhook")
def stripe_webhook():
    """Verify the signature, apply each event id once, answer 2xx so Stripe stops retrying.
    A signed event that cannot be read is answered 400 (nothing to record it by); one whose
    object is malformed is recorded as ignored, with the reason, and answered 200."""
    if not current_app.config.get("STRIPE_WEBHOOK_SECRET"):
        return _error(503, "webhooks_disabled", "Set STRIPE_WEBHOOK_SECRET on the server.")
    try:
        event_id, kind, obj = _envelope(_verified_body())
    except Malformed as exc:
        return _error(400, "malformed_event", f"Webhook refused: {exc}")
    except ValueError as exc:
        return _error(400, "bad_signature", f"Webhook refused: {exc}")
    if db.session.get(ProcessedEvent, event_id) is not None:
        return {"status": "duplicate", "id": event_id}
    record = ProcessedEvent(id=event_id, type=kind)
    db.session.add(record)
    try:
        db.session.flush()  # a concurrent delivery of the same event fails here, not later
    except IntegrityError:
        db.session.rollback()
        return {"status": "duplicate", "id": event_id}
    try:
        outcome = handle(kind, obj, clock.today())
    except Malformed as exc:
        outcome = f"ignored: malformed: {exc}"
    record.outcome = outcome[:200]
    db.session.commit()
    return {"status": "processed", "id": event_id, "outcome": record.outcome}
