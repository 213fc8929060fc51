"""The SMS addresses of the web: short links (`GET /s/<code>`) and the provider's callbacks.

Twilio posts form fields, signed with the creditor's auth token in X-Twilio-Signature over the
address it was given (PORTAL_BASE_URL + the path below) and the fields:
- `/sms/twilio/<slug>/status`: delivery reports (MessageSid, MessageStatus, ErrorCode);
- `/sms/twilio/<slug>/inbound`: a debtor's reply (From, Body): STOP and its variants opt the
  debtor out, START opts back in, anything else is put on the timeline for the accountant.
A callback that is not signed right is refused (403) and changes nothing; one that names an
unknown message changes nothing either (200: the provider must not retry forever)."""
from flask import Blueprint, Response, abort, redirect, request
from sqlalchemy import select

from .. import clock, tenancy
from ..debtor.link_pages import invalid_page
from ..extensions import csrf, db
from ..bookkeeping import record_event
from ..links import short_token
from ..models import Creditor, SmsMessage
from ..sms.providers import SmsUnavailable, TwilioProvider, callback_url, provider_for
from ..sms.queue import delivery_report, opt_in, opt_out

bp = Blueprint("sms", __name__)
csrf.exempt(bp)  # the provider signs its callbacks instead

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET", "ARRÊT",
              "OPTOUT", "REVOKE"}
START_WORDS = {"START", "UNSTOP", "YES"}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@bp.get("/s/<code>")
def short_link(code):
    """The portal link the code stands for; an unknown code is the invalid-link page."""
    token = short_token(code)
    if token is None:
        return invalid_page()
    return redirect(f"/p/{token}", code=302)


def _verified(slug, kind):
    """Enter the creditor of `slug` and check the provider's signature, else abort."""
    found = db.session.scalar(select(Creditor.id).where(Creditor.slug == slug[:64]))
    if found is None:
        abort(404)
    tenancy.enter(found)
    try:
        provider = provider_for()
    except SmsUnavailable:  # set up incompletely: nothing to check the signature with
        abort(404)
    if not isinstance(provider, TwilioProvider):
        abort(404)
    if not provider.authentic(callback_url(kind), request.form.to_dict(),
                              request.headers.get("X-Twilio-Signature", "")):
        abort(403)


@bp.post("/sms/twilio/<slug>/status")
def twilio_status(slug):
    _verified(slug, "status")
    sid, status = request.form.get("MessageSid"), request.form.get("MessageStatus")
    if not sid or not status:
        abort(400)
    delivery_report(sid[:64], status[:20], (request.form.get("ErrorCode") or "")[:10] or None)
    db.session.commit()
    return Response(EMPTY_TWIML, mimetype="text/xml")


@bp.post("/sms/twilio/<slug>/inbound")
def twilio_inbound(slug):
    _verified(slug, "inbound")
    number, body = request.form.get("From", "")[:20], request.form.get("Body", "")[:1600]
    if not number:
        abort(400)
    word = body.strip().upper().rstrip(".! ")
    for customer_id in db.session.scalars(select(SmsMessage.customer_id).distinct()
                                          .where(SmsMessage.to_number == number)):
        if word in STOP_WORDS:
            opt_out(customer_id, "debtor", clock.now(), reply=body, number=number)
        elif word in START_WORDS:
            opt_in(customer_id, "debtor")
        else:
            record_event(customer_id, "sms_reply", actor="debtor", number=number, text=body)
    db.session.commit()
    return Response(EMPTY_TWIML, mimetype="text/xml")
