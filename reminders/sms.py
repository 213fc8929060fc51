"""The run's SMS sender: the queued SMS (portal.sms.queue) whose instant came go to the
creditor's provider one at a time, each row committed as soon as the provider answered, so a
crash re-sends at most the one in flight (a provider that does not answer in time is not asked
again: the SMS is marked "unknown" for the accountant rather than risk a second one). Before
each SMS goes, its reminder is checked again (paid or put on hold since: it does not go), and
outside the allowed hours nothing goes. Claims work as the e-mail reminders' do (a process
that died leaves rows "sending" that the next run queues again; PostgreSQL's SKIP LOCKED keeps
two runs apart). A provider that cannot take messages stops this creditor's SMS: they stay
queued and the run says what to do."""
from dataclasses import dataclass, field

from sqlalchemy import func, select, update

from portal import clock
from portal.extensions import db
from portal.bookkeeping import record_event
from portal.models import PAID_CENTS, Invoice, Reminder, SmsMessage, utcnow
from portal.settings import creditor
from portal.sms.providers import SmsRefused, SmsUncertain, SmsUnavailable, provider_for
from portal.sms.queue import opt_out
from portal.rules.sms_hours import allowed, next_allowed
from portal.rules.sms_length import length

from .claims import _is_dead
from .deliver import active_holds, still_owed

BATCH = 50


@dataclass
class SmsReport:
    sent: int = 0
    refused: int = 0
    waiting: int = 0  # queued for a later hour (quiet hours)
    next_at: object = None  # when the first of them may go, in the creditor's zone
    failure: str | None = None  # the provider could not be used: what to do
    by_level: dict = field(default_factory=dict)

    def lines(self):
        if self.sent:
            yield f"  SMS: {self.sent} sent"
        if self.refused:
            yield (f"  SMS: {self.refused} refused by the provider for their number (each "
                   "debtor's timeline says why)")
        if self.waiting:
            when = f"{self.next_at:%Y-%m-%d %H:%M}" if self.next_at else "later"
            yield (f"  SMS: {self.waiting} waiting for the allowed hours (08:00-20:00, not on "
                   f"Sundays or public holidays), the first from {when}: a run or `flask "
                   "reminders sms` after that sends them")
        if self.failure:
            yield f"  SMS not sent: {self.failure}"


def _claim(owner, now):
    ids = db.session.scalars(
        select(SmsMessage.id).where(SmsMessage.state == "queued", SmsMessage.send_after <= now)
        .order_by(SmsMessage.id).limit(BATCH).with_for_update(skip_locked=True)).all()
    if ids:
        db.session.execute(update(SmsMessage).where(SmsMessage.id.in_(ids),
                                                    SmsMessage.state == "queued")
                           .values(state="sending", claimed_by=owner, claimed_at=utcnow()))
    db.session.commit()
    return db.session.scalars(select(SmsMessage).where(
        SmsMessage.claimed_by == owner, SmsMessage.state == "sending")
        .order_by(SmsMessage.id)).all()


def release(owner):
    db.session.rollback()
    db.session.execute(update(SmsMessage).where(SmsMessage.claimed_by == owner,
                                                SmsMessage.state == "sending")
                       .values(state="queued", claimed_by=None, claimed_at=None))
    db.session.commit()


def reclaim_stale(me):
    """Queue again what runs that died were sending (reminders.claims decides who is dead)."""
    owners = db.session.execute(select(SmsMessage.claimed_by, SmsMessage.claimed_at)
                                .where(SmsMessage.state == "sending").distinct()).all()
    for owner, at in owners:
        if _is_dead(owner, at, me):
            release(owner)
    db.session.commit()


def send_due(owner, now=None, report=None):
    """Send this creditor's queued SMS whose instant came; commit each. Outside the allowed
    hours nothing goes (a run late in the evening, on a Sunday): what is due waits for the next
    allowed instant. A provider that cannot take them stops the loop (report.failure): the SMS
    stay queued for the next run."""
    now, report = now or clock.now(), report or SmsReport()
    reclaim_stale(owner)
    try:
        provider = provider_for()
    except SmsUnavailable as exc:
        provider, report.failure = None, str(exc)
    if provider is not None and not _hours_allow(now):
        provider = None
    while provider is not None:
        claimed = _claim(owner, now)
        if not claimed:
            break
        for sms in claimed:
            if not _send_one(provider, sms, now, report, owner):
                provider = None
                break
            db.session.commit()
    report.waiting, first = db.session.execute(
        select(func.count(SmsMessage.id), func.min(SmsMessage.send_after))
        .where(SmsMessage.state == "queued")).one()
    if first is not None:
        report.next_at = first.astimezone(clock.zone())
    return report


def _hours_allow(now):
    """Whether SMS may go out at `now`; if not, those already due wait for the next allowed
    instant (their send_after moves; they are never dropped)."""
    facts = creditor()
    zone = clock.zone(facts.timezone)
    if allowed(now.astimezone(zone), facts.holiday_country):
        return True
    db.session.execute(update(SmsMessage).where(SmsMessage.state == "queued",
                                                SmsMessage.send_after <= now)
                       .values(send_after=next_allowed(now, zone, facts.holiday_country)))
    db.session.commit()
    return False


def _send_one(provider, sms, now, report, owner):
    """Send one claimed SMS and record the outcome; False when the provider cannot be used
    (the rest stays queued)."""
    if not still_due(sms.message_id):
        sms.state, sms.claimed_by, sms.error = "cancelled", None, "paid or on hold since"
        record_event(sms.customer_id, "sms_not_sent", at=now, level=sms.level,
                     reason="paid or on hold since the reminder")
        return True
    try:
        accepted = provider.send(sms.to_number, sms.body)
    except SmsUnavailable as exc:
        report.failure = str(exc)
        release(owner)
        return False
    except SmsUncertain as exc:  # it may have gone: never sent twice, the accountant checks
        sms.state, sms.claimed_by, sms.error = "unknown", None, str(exc)[:300]
        record_event(sms.customer_id, "sms_failed", at=now, level=sms.level,
                     to=sms.to_number, message_id=sms.message_id, reason=str(exc))
        db.session.commit()
        report.failure = str(exc)
        release(owner)
        return False
    except SmsRefused as exc:
        _refused(sms, exc, now)
        report.refused += 1
    else:
        _sent(sms, accepted, provider.name, now)
        report.sent += 1
        report.by_level[sms.level] = report.by_level.get(sms.level, 0) + 1
    return True


def still_due(message_id):
    """Whether the reminder an SMS goes with still stands: one of its invoices is open, owes
    something and is not on hold (paid or held since: the SMS would state what is no longer
    true)."""
    rows = db.session.execute(
        select(Invoice.id, Invoice.status, (Invoice.total_cents - PAID_CENTS).label("due"))
        .join(Reminder, Reminder.invoice_id == Invoice.id)
        .where(Reminder.message_id == message_id)).all()
    if not rows:
        return True  # an SMS of its own (instalments have none today): nothing to check
    blocked = active_holds([r.id for r in rows], clock.today())[0]
    return any(still_owed(r.status, r.due, r.id, blocked) for r in rows)


def _sent(sms, accepted, provider, now):
    sms.state, sms.provider_id, sms.sent_at = accepted.state, accepted.provider_id, now
    sms.provider, sms.claimed_by = provider, None
    record_event(sms.customer_id, "sms_sent", at=now, level=sms.level, to=sms.to_number,
                 message_id=sms.message_id, provider_id=accepted.provider_id,
                 segments=length(sms.body).segments)


def _refused(sms, exc, now):
    sms.state, sms.error, sms.claimed_by = "failed", str(exc)[:300], None
    record_event(sms.customer_id, "sms_failed", at=now, level=sms.level, to=sms.to_number,
                 message_id=sms.message_id, reason=str(exc))
    if exc.opted_out:
        opt_out(sms.customer_id, "provider", now)


