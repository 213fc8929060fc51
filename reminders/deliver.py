"""Send one debtor's reminder e-mail and record it: rows marked sent, tasks queued, event written,
all in the transaction committed right after the mail server accepted the message."""
import re
from email.utils import parseaddr

from sqlalchemy import and_, bindparam, case, delete, event, insert, select, update
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.bookkeeping import INSERT_EVENT, record_event
from portal.links import portal_url, short_url
from portal.models import (PAID_CENTS, Customer, Event, Hold, InstalmentPlan, Invoice, Reminder,
                           SentMessage, Task, utcnow)
from portal.instalments import progress
from portal.settings import current as current_settings, mail_identity, outside_parts
from portal.post import tracking as post_tracking
from portal.sms import queue as sms_queue
from portal.settings import logo as logo_bytes

from portal.settings.templates import TemplateProblem

from .compose import InstalmentItem, Item, compose, compose_instalments, compose_sms, creditor
from .letters import letter_pdf, stated
from .mime import Outgoing
from portal.rules.schedule import blocks


def message_id(first_reminder_id, customer_id):
    """Stable across retries: derived from the group's first reminder row."""
    sender = parseaddr(mail_identity()[0])[1]
    domain = sender.rpartition("@")[2] or "relance.invalid"
    return f"<relance.{first_reminder_id}.{customer_id}@{domain}>"


def active_holds(invoice_ids, as_of):
    """(invoices blocked on `as_of`, {invoice id: promised date}) for a batch of invoices."""
    rows = db.session.execute(
        select(Hold.invoice_id, Hold.kind, Hold.starts_on, Hold.until)
        .where(Hold.invoice_id.in_(invoice_ids), Hold.released_at.is_(None)))
    blocked, promised = set(), {}
    for invoice_id, kind, starts_on, until in rows:
        if blocks(kind, starts_on, until, as_of):
            blocked.add(invoice_id)
        elif kind == "promise" and until:
            promised[invoice_id] = max(until, promised.get(invoice_id, until))
    return blocked, promised


def still_owed(status, balance_cents, invoice_id, blocked):
    """Whether a reminder about this invoice still states the truth: open, owing something,
    not on hold (`blocked`: active_holds()[0]). The run checks it before an e-mail, and again
    before an SMS that waited for its hour (reminders.sms)."""
    return status == "open" and balance_cents > 0 and invoice_id not in blocked


def _still_due(rows, blocked, report, policy):
    """Drop rows whose invoice was paid or held since it was planned, or whose level the
    settings no longer have (they may come back, as the schedule decides)."""
    keep, drop = [], []
    for row in rows:
        ok = still_owed(row.status, row.balance_cents, row.invoice_id, blocked) \
            and policy.level_for(row.level) is not None
        (keep if ok else drop).append(row)
    if drop:
        db.session.execute(delete(Reminder).where(Reminder.id.in_([r.id for r in drop])))
        report.skipped += len(drop)
    return keep


def build_message(customer, composed, msg_id, level):
    sender, reply_to = mail_identity()
    recipients = [e.strip() for e in customer.email.split(",") if e.strip()]
    return Outgoing(msg_id=msg_id, sender=sender, recipients=recipients,
                    subject=composed.subject, text=composed.text, html=composed.html,
                    reply_to=reply_to,
                    headers={"Auto-Submitted": "auto-generated", "X-Relance-Level": str(level)})


def _send_and_record(sender, customer, rows, items, composed, as_of, report, pdf=None):
    """Hand the message to a connection (reminders.senders); once the server has answered, on
    this thread, record what happened (the sender commits the answers it records)."""
    msg_id = message_id(min(r.id for r in rows), customer.id)
    message = build_message(customer, composed, msg_id, composed.level)
    if not message.recipients:  # a debtor from the books (a FEC) with no address yet
        _record_rejected(customer, rows, items, composed, msg_id,
                         "no e-mail address on file: add one (back office or import)", report,
                         kind="reminder_no_address", as_of=as_of)
        db.session.commit()
        return
    if pdf is not None:
        filename = "mise-en-demeure-" + re.sub(r"[^A-Za-z0-9_-]", "_", customer.ref) + ".pdf"
        message.attachments.append((filename, "application/pdf", pdf))

    def done(refused, rejected):
        if rejected is not None:
            _record_rejected(customer, rows, items, composed, msg_id, str(rejected), report,
                             as_of=as_of)
        else:
            _record(customer, rows, items, composed, msg_id, pdf, as_of, report, refused)
    sender.submit(message, done)


def deliver_instalments(sender, customer, rows, as_of, report):
    """Send `customer` one e-mail about the instalments in `rows` (claimed reminders)."""
    plans = {p.id: p for p in db.session.scalars(
        select(InstalmentPlan).where(InstalmentPlan.id.in_({r.plan_id for r in rows})))}
    remaining = {st.instalment.id: st.remaining_cents
                 for plan in plans.values() for st in progress(plan, as_of)}
    keep = [r for r in rows if plans[r.plan_id].state == "approved"
            and remaining.get(r.instalment_id, 0) > 0]
    dropped = [r.id for r in rows if r not in keep]
    if dropped:
        db.session.execute(delete(Reminder).where(Reminder.id.in_(dropped)))
        report.skipped += len(dropped)
    if not keep:
        db.session.commit()
        return
    items = [InstalmentItem(
        number=f"{r.seq}/{plans[r.plan_id].count}", due_date=r.due_date,
        amount_cents=r.amount_cents, balance_cents=remaining[r.instalment_id], level=r.level,
        invoices=", ".join(i.number for i in plans[r.plan_id].invoices),
        debited=plans[r.plan_id].mandate_payment_method is not None) for r in keep]
    composed = compose_instalments(customer, items, as_of, portal_url(customer))
    _send_and_record(sender, customer, keep, items, composed, as_of, report)


def deliver_group(sender, customer, rows, as_of, report, holds, riders=None):
    """Send `customer` one e-mail for `rows` (claimed reminders); `holds` is active_holds(),
    `riders` not_yet_due() of the batch (None: read here)."""
    blocked, promised = holds
    policy = current_settings().policy_for(customer.tier, customer.policy)
    rows = _still_due(rows, blocked, report, policy)
    if not rows:
        db.session.commit()
        return
    items = [Item(number=r.number, issue_date=r.issue_date, due_date=r.due_date,
                  total_cents=r.total_cents, balance_cents=r.balance_cents, level=r.level,
                  reason=r.reason, promise_date=promised.get(r.invoice_id), currency=r.currency)
             for r in rows]
    level = policy.level_for(max(r.level for r in rows))
    if policy.ladder == "account" and policy.heads_up and not level.before_due:
        # A statement of account: the invoices not yet due ride along, named apart.
        items += _riders(customer.id, {r.invoice_id for r in rows}, as_of, blocked, level.number,
                         riders)
    link = portal_url(customer)
    settings = current_settings()
    try:
        composed = compose(customer, items, as_of, link, settings)
    except TemplateProblem as problem:
        return _unwritable(customer, rows, items, str(problem), report)
    demanded = [i for i in items if not i.rider]
    steps = {i.number: policy.level_for(i.level) for i in demanded}  # what each level does
    composed.channels = {c for level in steps.values() for c in level.channels}
    letter_items = [i for i in demanded if "letter" in steps[i.number].channels]
    pdf = None
    if letter_items:  # the letter names only the invoices whose level sends one
        try:
            letter = compose(customer, letter_items, as_of, link, settings)
        except TemplateProblem as problem:
            return _unwritable(customer, rows, items, str(problem), report)
        pdf = letter_pdf(customer, letter_items, as_of, creditor(), letter,
                         logo=logo_bytes())
        composed.letter_is_formal_notice = letter.steps.formal_notice
        composed.letter_stated = stated(letter)
    composed.letter_invoices = [i.number for i in letter_items]
    calls = [i for i in demanded if "call" in steps[i.number].channels]
    composed.call_invoices = [i.number for i in calls]
    # Each task is filed under the level whose attributes asked for it.
    composed.call_level = max((i.level for i in calls), default=composed.level)
    composed.letter_level = max((i.level for i in letter_items), default=composed.level)
    sms_items = [i for i in demanded if "sms" in steps[i.number].channels]
    if sms_items:
        try:
            composed.sms = _sms(customer, sms_items, composed if sms_items == items else None,
                                as_of, link, settings)
        except TemplateProblem as problem:
            return _unwritable(customer, rows, items, str(problem), report)
    # An SMS-only level whose SMS cannot go out (no provider, no mobile, STOP) sends the e-mail:
    # the debtor is reminded through the channel that works.
    if "email" in composed.channels or not (composed.sms or pdf or calls):
        _send_and_record(sender, customer, rows, items, composed, as_of, report, pdf)
    else:  # the level works by SMS, letter or telephone only: those are the reminder
        msg_id = message_id(min(r.id for r in rows), customer.id)
        _record(customer, rows, items, composed, msg_id, pdf, as_of, report, emailed=False)
        db.session.commit()


def not_yet_due(customer_ids, as_of):
    """{customer id: its open invoices not yet due on `as_of`} for a batch of debtors, in one
    query (not one per message: a round trip each on PostgreSQL)."""
    found = {}
    for row in db.session.execute(
            select(Invoice.customer_id, Invoice.id, Invoice.number, Invoice.issue_date,
                   Invoice.due_date, Invoice.total_cents, Invoice.currency,
                   (Invoice.total_cents - PAID_CENTS).label("balance"))
            .where(Invoice.customer_id.in_(customer_ids), Invoice.status == "open",
                   Invoice.due_date >= as_of)
            .order_by(Invoice.customer_id, Invoice.due_date, Invoice.number)):
        found.setdefault(row.customer_id, []).append(row)
    return found


def _riders(customer_id, planned, as_of, blocked, level, found=None):
    """The debtor's open invoices not yet due (nothing holding them, not planned already), as
    Items that a reminder names "pour information", never in what it demands. `found`:
    not_yet_due() of its batch."""
    if found is None:
        found = not_yet_due([customer_id], as_of)
    found = found.get(customer_id, ())
    return [Item(number=r.number, issue_date=r.issue_date, due_date=r.due_date,
                 total_cents=r.total_cents, balance_cents=r.balance, level=level,
                 currency=r.currency, rider=True)
            for r in found if r.id not in planned and r.id not in blocked and r.balance > 0]


def _sms(customer, items, composed, as_of, link, settings):
    """(number, text, level) of the SMS for the invoices whose level sends one (`composed`: the
    e-mail when it is about the same invoices), or None where it cannot go out; with a provider
    configured, the timeline says why not."""
    parts = outside_parts().sms
    number, why_not = sms_queue.why_not(customer, parts)
    level = max(i.level for i in items)
    if number is None:
        if parts and _last_sms_gap(customer.id) != why_not:  # once, not at every reminder
            record_event(customer.id, "sms_not_sent", level=level, reason=why_not)
        return None
    message = composed or compose(customer, items, as_of, link, settings)
    return number, compose_sms(message, settings, short_url(customer)), level


def _last_sms_gap(customer_id):
    """Why the debtor's last SMS could not go, as the timeline said it (None: never said)."""
    details = db.session.scalar(select(Event.details).where(
        Event.customer_id == customer_id, Event.kind == "sms_not_sent")
        .order_by(Event.id.desc()).limit(1))
    return (details or {}).get("reason")


def _queue_sms(customer, composed, msg_id, report):
    if composed.sms:
        number, text, level = composed.sms
        sms_queue.queue(customer.id, number, msg_id, level, text)
        report.by_level[(level, "sms")] += 1


def _unwritable(customer, rows, items, reason, report):
    """A template of the settings failed on this debtor's facts: nothing goes out to them, the
    reminders stay due (released at the end of the run, so that this run does not take them
    again), the accountant reads why on the timeline, and the run ends with exit status 1."""
    report.unwritten.append((customer.name, reason))
    report.held_back.extend(r.id for r in rows)
    record_event(customer.id, "reminder_not_written", level=max(r.level for r in rows),
                 invoices=[i.number for i in items], reason=reason)
    db.session.commit()


def _record_rejected(customer, rows, items, composed, msg_id, reason, report,
                     kind="reminder_rejected", as_of=None):
    """The address does not work: the reminders count as attempted (the schedule escalates, and
    level 3 brings a phone call) and the accountant sees why on the timeline."""
    now = utcnow()
    db.session.execute(update(Reminder).where(Reminder.id.in_([r.id for r in rows]))
                       .values(state="failed", claimed_by=None, sent_at=now,
                               message_id=msg_id))
    record_event(customer.id, kind, level=composed.level, message_id=msg_id,
                 recipients=customer.email, reason=reason,
                 invoices=[i.number for i in items])
    if as_of is not None:
        _keep_cycle(customer, composed, items, as_of, now)
    keep_invoices(rows, now)
    report.rejected += 1
    _queue_sms(customer, composed, msg_id, report)  # the e-mail failed: the SMS still goes


_MARK_SENT = (update(Reminder).where(Reminder.id == bindparam("rid"))
              .values(state="sent", claimed_by=None, sent_at=bindparam("at"),
                      message_id=bindparam("mid"), variant=bindparam("var"),
                      channel=bindparam("ch")))
_INSERT_MESSAGE = insert(SentMessage)
_RECORDS = "relance_records"


_KEEP_CYCLE = (update(Customer).where(Customer.id == bindparam("cid"))
               .values(cycle_level=bindparam("lvl"), cycle_sent_on=bindparam("on"),
                       cycle_sent_at=bindparam("at"), cycle_started_on=bindparam("start")))




def _kept(column, value):
    """`column` after a reminder of cycle `cyc` recorded `value`: the highest of the two within
    one cycle, `value` alone in a new one (a "never received" started it)."""
    new = bindparam(value, type_=column.type)
    return case((and_(Invoice.reminder_cycle == bindparam("cyc"), column >= new), column),
                else_=new)


# One invoice's kept reminders (schedule.InvoiceFacts) as a reminder about it leaves them; a
# reminder of an older cycle (planned before a "never received") changes nothing.
_KEEP_INVOICE = (update(Invoice)
                 .where(Invoice.id == bindparam("iid"), Invoice.reminder_cycle <= bindparam("cyc"))
                 .values(reminder_level=_kept(Invoice.reminder_level, "lvl"),
                         reminder_sent_on=_kept(Invoice.reminder_sent_on, "on"),
                         reminder_sent_at=_kept(Invoice.reminder_sent_at, "at"),
                         reminder_cycle=bindparam("cyc"), updated_at=Invoice.updated_at))


def _pending():
    """What `_record` has to write, kept on the session until it commits (see below)."""
    return db.session.info.setdefault(_RECORDS, {"messages": [], "marks": [], "events": [],
                                                 "cycles": [], "invoices": []})


def keep_invoices(rows, at):
    """Each invoice's kept reminders as these reminder rows (claimed: id, invoice_id, cycle,
    level, scheduled_for), recorded sent or attempted at `at`, leave them: the highest level
    of its cycle, the latest run date and time; written with the round's other records."""
    _pending()["invoices"].extend(
        dict(iid=r.invoice_id, cyc=r.cycle, lvl=r.level, on=r.scheduled_for, at=at)
        for r in rows if getattr(r, "invoice_id", None) is not None)


def _keep_cycle(customer, composed, items, as_of, at):
    """The account's cycle as this message leaves it (schedule.AccountFacts): the level reached,
    never lower than before; when; from when its delays count. A heads-up or an instalment's
    reminder is outside the cycle."""
    if composed.steps is None or composed.steps.before_due:
        return
    level = composed.level if customer.cycle_level is None else max(customer.cycle_level,
                                                                     composed.level)
    start = customer.cycle_started_on or min(
        (i.due_date for i in items if not i.rider and i.due_date < as_of), default=as_of)
    _pending()["cycles"].append(dict(cid=customer.id, lvl=level, on=as_of, at=at, start=start))


def _pending_event(customer_id, kind, at, **details):
    """A timeline entry written with the round's records (record_event's row, kept for later)."""
    _pending()["events"].append(dict(customer_id=customer_id, invoice_id=None, kind=kind,
                                     actor="system", at=at, details=details))


@event.listens_for(Session, "before_commit")
def _write_records(session):
    """The records of the answers that arrived together, written in three statements (not
    three per message) just before the commit that keeps them: the run's main thread then gives
    up the interpreter to the database three times a round instead of three times a message.
    Nothing reads them before that commit."""
    pending = session.info.pop(_RECORDS, None)
    if not pending or not any(pending.values()):
        return
    connection = session.connection()
    if pending["messages"]:
        connection.execute(_INSERT_MESSAGE, pending["messages"])
    if pending["marks"]:
        connection.execute(_MARK_SENT, pending["marks"])
    if pending["events"]:
        connection.execute(INSERT_EVENT, pending["events"])
    if pending["cycles"]:
        connection.execute(_KEEP_CYCLE, pending["cycles"])
    if pending["invoices"]:  # in id order: two runs at once lock invoices in the same order
        connection.execute(_KEEP_INVOICE, sorted(pending["invoices"], key=lambda r: r["iid"]))


@event.listens_for(Session, "after_rollback")
def _forget_records(session):
    session.info.pop(_RECORDS, None)


def _record(customer, rows, items, composed, msg_id, pdf, as_of, report, refused=None,
            emailed=True):
    # The Message-ID comes from a reminder row that is marked sent in this same transaction, so
    # it can never have been recorded before.
    pending, now = _pending(), utcnow()
    pending["messages"].append(dict(
        message_id=msg_id, customer_id=customer.id, level=composed.level, sent_at=now,
        recipients=customer.email if emailed else "", subject=composed.subject,
        body_text=(composed.letter or (composed.sms and composed.sms[1]) or composed.text)
        if not emailed else composed.text,
        body_html=composed.html))
    variant = composed.variant or None
    # What reached the debtor, for "what gets paid": "email", "email+sms", "sms", "letter"...
    channel = "+".join(c for c, used in (("email", emailed), ("sms", composed.sms),
                                         ("letter", pdf is not None),
                                         ("call", composed.call_invoices)) if used) or "email"
    pending["marks"].extend(dict(rid=r.id, at=now, mid=msg_id, var=variant, ch=channel)
                            for r in rows)
    _keep_cycle(customer, composed, items, as_of, now)
    keep_invoices(rows, now)
    numbers = [i.number for i in items]
    if emailed:
        _pending_event(customer.id, "reminder_sent", now, channel="email",
                       level=composed.level, invoices=numbers, message_id=msg_id,
                       subject=composed.subject, refused=refused or {})
        report.messages += 1
        report.by_level[(composed.level, composed.channel)] += 1
    target = sum(i.balance_cents for i in items if not getattr(i, "rider", False))  # demanded
    _queue_sms(customer, composed, msg_id, report)
    if composed.call_invoices:
        _task(customer, "call", composed.call_level, msg_id, as_of, report,
              invoices=composed.call_invoices,
              phone=customer.phone, target_cents=target)
    if pdf is not None:
        _task(customer, "letter", composed.letter_level, msg_id, as_of, report, pdf=pdf,
              invoices=composed.letter_invoices, target_cents=target,
              formal_notice=composed.letter_is_formal_notice, stated=composed.letter_stated)


def _task(customer, kind, level, msg_id, as_of, report, pdf=None, **details):
    # A letter goes through the creditor's postal provider where it has one (reminders.post).
    by_post = kind == "letter" and post_tracking.configured()
    db.session.add(Task(customer_id=customer.id, kind=kind, level=level, due_on=as_of,
                        message_id=msg_id, details=details, pdf=pdf,
                        state="to_send" if by_post else "open"))
    _pending_event(customer.id, f"{kind}_task_queued", utcnow(), level=level,
                   message_id=msg_id, by_post=by_post or None, **details)
    report.by_level[(level, "post" if by_post else kind)] += 1
