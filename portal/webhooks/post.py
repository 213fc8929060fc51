"""Maileva's notification callbacks: `POST /post/maileva/<slug>/<key>`, the address to register
in Maileva's notification center (ON_STATUS_ACCEPTED, ON_STATUS_PROCESSED, ON_STATUS_REJECTED,
ON_DEPOSIT_PROOF_RECEIVED...). `key` is derived from SECRET_KEY and the creditor (`flask
creditors list` prints the address), so only Maileva knows it; and a callback is only a hint:
the letter's progress is read back from Maileva's API, never taken from the posted body, so a
forged or replayed callback can change nothing. The run follows the letters too, callbacks or
not."""
import hashlib
import hmac

from flask import Blueprint, abort, current_app, request
from sqlalchemy import select

from .. import tenancy
from ..extensions import csrf, db
from ..models import Creditor, Task
from ..post import tracking
from ..post.maileva import PostUnavailable

bp = Blueprint("post", __name__)
csrf.exempt(bp)


def callback_key(slug, secret_key=None):
    secret = (secret_key or current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, f"maileva-callback:{slug}".encode(), hashlib.sha256).hexdigest()[:32]


def callback_url(slug):
    base = current_app.config["PORTAL_BASE_URL"].rstrip("/")
    return f"{base}/post/maileva/{slug}/{callback_key(slug)}"


@bp.post("/post/maileva/<slug>/<key>")
def maileva_callback(slug, key):
    from reminders.post import follow  # the web may read the run (README: layout)
    found = db.session.scalar(select(Creditor.id).where(Creditor.slug == slug[:64]))
    if found is None or not hmac.compare_digest(key.encode(), callback_key(slug).encode()):
        abort(404)
    tenancy.enter(found)
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # JSON nested beyond Python's stack: not Maileva's, and no 500
        abort(400)
    sending = str(body.get("resource_id", ""))[:100] if isinstance(body, dict) else ""
    if not sending:
        abort(400)
    task = next((t for t in db.session.scalars(select(Task).where(
        Task.kind == "letter", Task.state == "sent")) if t.details.get("sending_id") == sending),
        None)
    if task is None:
        return {"status": "unknown sending"}  # 200: not ours, or already done
    try:
        provider = tracking.provider_for()
        if provider is None:
            abort(404)
        follow(task.id, provider)
    except PostUnavailable as exc:
        db.session.rollback()
        return {"status": "retry later", "reason": str(exc)}, 503
    db.session.commit()
    return {"status": "followed", "state": task.state}
