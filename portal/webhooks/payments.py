"""The Stripe webhook endpoints (web layer): verify, record each event once, hand it to events.

Each creditor has its own Stripe account and endpoint, `/stripe/webhook/<slug>`, checked with
its own signing secret; the request then sees that creditor's rows only (`portal.tenancy`), so
an event signed for creditor A and posted to B's URL is refused (400), and one of A's can never
touch B's payments. `/stripe/webhook` is the first creditor's (STRIPE_WEBHOOK_SECRET)."""
import json
import time

import stripe
from flask import Blueprint, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import clock, tenancy
from ..extensions import db
from ..models import Creditor, ProcessedEvent
from ..settings import outside_parts
from ..payments.events import Malformed, handle, text_id

bp = Blueprint("payments", __name__)
TOLERANCE = 300  # seconds: an older signature is a replay, a later one a forged clock


def _error(status, code, message):
    return {"error": {"code": code, "message": message, "fields": {}}}, status


def _verified_body(secret):
    """The body as text once Stripe's signature over it is checked (recent, not from the
    future); raises ValueError with the reason."""
    try:
        body = request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    header = request.headers.get("Stripe-Signature")
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
@bp.post("/stripe/webhook/<slug>")
def stripe_webhook(slug=None):
    """Verify the signature, apply each event id once, answer 2xx so Stripe stops retrying.
    A signed event that cannot be read is answered 400 (nothing to record it by); one whose
    object is malformed is recorded as ignored, with the reason, and answered 200."""
    found = db.session.scalar(
        select(Creditor.id).where(Creditor.slug == slug[:64]) if slug is not None
        else select(Creditor.id).order_by(Creditor.id).limit(1))
    if found is None:
        return _error(404, "unknown_creditor", "No creditor has this webhook address; copy "
                                               "it from `flask creditors list`.")
    tenancy.enter(found)
    secret = outside_parts().stripe_webhook_secret
    if not secret:
        return _error(503, "webhooks_disabled", "This creditor has no Stripe webhook secret: "
                      "set it with `flask creditors set SLUG --stripe-webhook-secret whsec_...` "
                      "(or STRIPE_WEBHOOK_SECRET for the first creditor).")
    try:
        event_id, kind, obj = _envelope(_verified_body(secret))
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
