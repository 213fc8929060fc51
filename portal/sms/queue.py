"""The SMS queue: a reminder's SMS is queued in the transaction that records the reminder (so a
retried round never queues it twice: one SMS per reminder Message-ID), at the first instant the
quiet hours allow; the run sends those whose instant came (reminders/sms.py); delivery reports and
STOP replies come back through `portal.webhooks.sms` and land here.

Plain functions: the run, the back office and the webhooks call them; none commits."""
from sqlalchemy import select, update

from .. import clock, settings
from ..extensions import db
from ..bookkeeping import record_event
from ..models import Customer, SmsMessage
from ..rules.sms_hours import mobile_number, next_allowed



def why_not(customer, sms_parts):
    """(E.164 number, None) when this debtor can get an SMS from this creditor, else (None, the
    reason in a few words for the timeline). `sms_parts` is the creditor's provider settings."""
    if not sms_parts:
        return None, "no SMS provider configured"
    if getattr(customer, "sms_opt_out_at", None) is not None:
        return None, "the debtor asked for no more SMS"
    number = mobile_number(customer.phone, settings.creditor().holiday_country)
    if number is None:
        return None, "no mobile number on file"
    return number, None


def queue(customer_id, number, message_id, level, body, now=None):
    """Add the SMS to the session (the caller's transaction): due at once within the allowed
    hours, else at the next allowed instant. Returns the row."""
    now = now or clock.now()
    facts = settings.creditor()
    sms = SmsMessage(customer_id=customer_id, to_number=number, message_id=message_id,
                     level=level, body=body, state="queued",
                     send_after=next_allowed(now, clock.zone(facts.timezone),
                                             facts.holiday_country),
                     provider=settings.outside_parts().sms["provider"], created_at=now)
    db.session.add(sms)
    return sms


SOURCES = ("debtor", "provider", "accountant")  # who stopped the SMS (sms_opt_out_by)


def opt_out(customer_id, source, now=None, user=None, **details):
    """The debtor gets no more SMS: `source` is the debtor (a STOP reply), the provider (it
    refuses the number) or the accountant (`user`, their e-mail, kept on the timeline). The
    queued SMS are cancelled. Nothing when already opted out."""
    now = now or clock.now()
    done = db.session.execute(update(Customer).where(Customer.id == customer_id,
                                                     Customer.sms_opt_out_at.is_(None))
                              .values(sms_opt_out_at=now, sms_opt_out_by=source)).rowcount
    if done:
        db.session.execute(update(SmsMessage).where(SmsMessage.customer_id == customer_id,
                                                    SmsMessage.state == "queued")
                           .values(state="cancelled", error="the debtor opted out"))
        record_event(customer_id, "sms_opted_out", actor=_actor(source), at=now,
                     by=user or source, **details)
    return bool(done)


def opt_in(customer_id, source, user=None):
    """SMS again: the debtor replied START, or the accountant (`user`) lifts the opt-out."""
    done = db.session.execute(update(Customer).where(Customer.id == customer_id,
                                                     Customer.sms_opt_out_at.is_not(None))
                              .values(sms_opt_out_at=None, sms_opt_out_by=None)).rowcount
    if done:
        record_event(customer_id, "sms_opted_in", actor=_actor(source), by=user or source)
    return bool(done)


def _actor(source):
    return {"debtor": "debtor", "accountant": "accountant"}.get(source, "system")


# Twilio's MessageStatus values and what they make of the SMS (later states win).
STATUS = {"queued": "sent", "accepted": "sent", "sending": "sent", "sent": "sent",
          "delivered": "delivered", "undelivered": "undelivered", "failed": "failed"}
FINAL = ("delivered", "undelivered", "failed", "cancelled")


def delivery_report(provider_id, status, error_code=None):
    """Apply a provider's delivery report to the SMS it names (once: a repeated or late report
    changes nothing) and put the outcome on the timeline. Returns the SMS or None."""
    sms = db.session.scalar(select(SmsMessage).where(SmsMessage.provider_id == provider_id))
    state = STATUS.get(status)
    if sms is None or state is None or sms.state in FINAL or state == sms.state:
        return sms
    sms.state = state
    if state in FINAL:
        sms.error = f"error {error_code}" if error_code else None
        record_event(sms.customer_id, f"sms_{state}", level=sms.level, to=sms.to_number,
                     message_id=sms.message_id, error_code=error_code)
    return sms
