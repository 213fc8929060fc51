"""The debtor page (everything about one customer, and what the accountant can do about it) and
the phone-call sheet with its outcome, which feeds the schedule like the portal's answers."""
import io
from datetime import date, timedelta

from flask import (Response, abort, flash, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _, ngettext
from flask_login import current_user
from sqlalchemy import select

from reminders.scan import upcoming_of
from ..rules.schedule import calendar_for, promise_status
from reminders.transport import DeliveryError, MessageRejected

from .. import clock, tenancy
from ..answers import AnswerError, promise_payment
from ..debtor.mailer import send_fresh_link
from ..extensions import db
from ..bookkeeping import lock_customer, place_hold, record_event, release_hold
from ..models import Attachment, Customer, Event, Hold, Invoice, Payment, SentMessage, Task
from ..payments.lifecycle import customer_credit_cents, resolve_review
from ..instalments import active_plan
from ..documents import invoice_copy_pdf
from ..handover.dossier import safe_name
from ..imports import clean_text, parse_emails
from ..settings import creditor, logo
from ..settings import current as current_settings, outside_parts
from ..sms import queue as sms_queue
from . import bp
from .timeline import GROUPS, describe
from .forms import CallOutcomeForm, HoldForm, NoteForm, PauseForm, PostForm, TierForm
from .handoff import handoff_facts
from .next_step import next_per_debtor, next_words
from .account import standing
from .worklist import users_here


def _customer(customer_id):
    return tenancy.own(db.session, Customer, customer_id) or abort(404)


def _facts(customer):
    today = clock.today()
    holds = db.session.scalars(select(Hold).where(Hold.customer_id == customer.id,
                                                  Hold.released_at.is_(None))).all()
    invoices = db.session.scalars(select(Invoice).where(Invoice.customer_id == customer.id)
                                  .order_by(Invoice.due_date)).all()
    payments = db.session.scalars(select(Payment).where(Payment.customer_id == customer.id)
                                  .order_by(Payment.received_on.desc())).all()
    return dict(
        customer=customer, **story_of(customer, holds, today),
        invoices=invoices, account=standing(invoices, payments, today),
        credit_cents=customer_credit_cents(customer.id), plan=active_plan(customer),
        payments=payments,
        messages=db.session.scalars(select(SentMessage).where(
            SentMessage.customer_id == customer.id).order_by(SentMessage.sent_at.desc())).all(),
        timeline=timeline_of(customer.id, request.args.get("show")),
        numbers=dict(db.session.execute(select(Invoice.id, Invoice.number)
                                        .where(Invoice.customer_id == customer.id)).all()),
        today=today)


def story_of(customer, holds, today):
    """What the schedule says of this debtor, as the lists and the inbox say it: the holds in
    force to tell, what comes next (`upcoming_of`, worded by `next_step`) and each promise's
    status (its grace included: `schedule.promise_status`)."""
    policy = current_settings().policy_for(customer.tier, customer.policy)
    calendar = calendar_for(creditor().holiday_country)
    upcoming = upcoming_of([customer.id], today)
    # An invoice moved into an instalment plan (asked for or approved) is told as part of the
    # plan: its older promise is replaced, as on the portal (`portal.rules.story.card_state`).
    planned = {h.invoice_id for h in holds if h.kind in ("plan", "instalment_request")}
    told = [h for h in holds if not (h.kind == "promise" and h.invoice_id in planned)]
    return dict(
        holds=told,
        next_step=next_words(next_per_debtor(upcoming).get(customer.id)) if upcoming else None,
        promise_states={h.id: promise_status(h.until, policy, calendar, today, settled=False)
                        for h in told if h.kind == "promise" and h.until})


def timeline_of(customer_id, group=None):
    """The debtor's events as sentences, newest first (`group`: only messages, answers...)."""
    rows = db.session.execute(
        select(Event, Invoice.number).outerjoin(Invoice, Invoice.id == Event.invoice_id)
        .where(Event.customer_id == customer_id).order_by(Event.at.desc(), Event.id.desc()))
    lines = [describe(event, number) for event, number in rows]
    return [line for line in lines if group in (None, "", line.group)]


@bp.get("/customers/<id:customer_id>")
def customer(customer_id):
    found = _customer(customer_id)
    users = users_here()
    return render_template("backoffice/customer.html", **_facts(found), pause_form=PauseForm(),
                           users=users, collector=next(
                               (u for u in users if u.id == found.collector_id), None),
                           hold_form=hold_form(found), note_form=NoteForm(),
                           groups=GROUPS, shown=request.args.get("show") or "",
                           tier_form=TierForm(tier=found.tier, debtor_type=found.debtor_type,
                                              policy=found.policy or "default"
                                              ).with_policies(current_settings()),
                           action_form=PostForm(), sms=sms_state(found),
                           **handoff_facts(found))


def sms_state(customer):
    """What the debtor page says about text messages: whether the creditor sends any, to which
    mobile number, or why not (STOP, no mobile)."""
    parts = outside_parts().sms
    number, why = sms_queue.why_not(customer, parts)
    return dict(provider=bool(parts), number=number, why=why,
                opted_out_at=customer.sms_opt_out_at, opted_out_by=customer.sms_opt_out_by)


@bp.post("/customers/<id:customer_id>/sms-off")
def sms_off(customer_id):
    return _sms_switch(customer_id, allow=False)


@bp.post("/customers/<id:customer_id>/sms-on")
def sms_on(customer_id):
    return _sms_switch(customer_id, allow=True)


def _sms_switch(customer_id, allow):
    """The accountant stops SMS to this debtor, or allows them again."""
    found = _act(customer_id)[0]
    (sms_queue.opt_in if allow else sms_queue.opt_out)(found.id, "accountant",
                                                        user=current_user.email)
    db.session.commit()
    flash(_("SMS allowed again for this debtor.") if allow else
          _("No more SMS to this debtor."), "success")
    return redirect(url_for(".customer", customer_id=found.id))


@bp.post("/customers/<id:customer_id>/collector")
def set_collector(customer_id):
    """Who chases this debtor: a user of its creditor (their worklist shows it as theirs),
    or nobody."""
    found = _act(customer_id)[0]
    chosen = request.form.get("collector", "")
    users = {str(u.id): u for u in users_here()}
    if chosen and chosen not in users:
        flash(_("Choose a user of this creditor."), "warning")
        return redirect(url_for(".customer", customer_id=found.id))
    before = found.collector_id
    found.collector_id = users[chosen].id if chosen else None
    if before == found.collector_id:
        flash(_("Nothing changed."), "success")
        return redirect(url_for(".customer", customer_id=found.id))
    return _done(found, "collector_changed", _("Collector saved."),
                 collector=users[chosen].email if chosen else None)


@bp.get("/messages/<path:message_id>")
def message(message_id):
    sent = tenancy.own(db.session, SentMessage, message_id) or abort(404)
    return render_template("backoffice/message.html", sent=sent)


def _act(customer_id, form_class=PostForm):
    found = _customer(customer_id)
    form = form_class()
    if not form.validate_on_submit():
        abort(400)
    return found, form


def _done(found, kind, message, **details):
    record_event(found.id, kind, actor="accountant", by=current_user.email, **details)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".customer", customer_id=found.id))


@bp.post("/customers/<id:customer_id>/pause")
def pause(customer_id):
    found, form = _act(customer_id, PauseForm)
    found.paused_until = form.until.data or date(9999, 12, 31)
    return _done(found, "reminders_paused", _("Reminders suspended."),
                 until=form.until.data.isoformat() if form.until.data else None)


def hold_form(customer):
    form = HoldForm()
    form.invoice_ids.choices = [(i.id, i.number) for i in db.session.scalars(
        select(Invoice).where(Invoice.customer_id == customer.id, Invoice.status == "open")
        .order_by(Invoice.due_date))]
    return form


@bp.post("/customers/<id:customer_id>/hold")
def hold(customer_id):
    """Hold some invoices (or all of the debtor's open ones) with a reason and an end date:
    their reminders wait, the lists say why, and the to-do list says when the hold is over."""
    found = _customer(customer_id)
    form = hold_form(found)
    today = clock.today()
    if not form.validate_on_submit() or (
            form.until.data and not today <= form.until.data <= today + timedelta(days=366)):
        flash(_("Give a reason and, if you want one, an end date within the coming year."),
              "warning")
        return redirect(url_for(".customer", customer_id=found.id))
    chosen = set(form.invoice_ids.data or [c[0] for c in form.invoice_ids.choices])
    lock_customer(found.id)
    invoices = db.session.scalars(select(Invoice).where(
        Invoice.id.in_(chosen), Invoice.customer_id == found.id, Invoice.status == "open")).all()
    for invoice in invoices:
        for old in db.session.scalars(select(Hold).where(
                Hold.invoice_id == invoice.id, Hold.kind == "manual_pause",
                Hold.released_at.is_(None))):
            release_hold(old, actor="accountant", reason=f"replaced by {current_user.email}")
        place_hold(invoice, "manual_pause", today, until=form.until.data, actor="accountant",
                   by=current_user.email, number=invoice.number, reason=form.reason.data.strip())
    db.session.commit()
    flash(ngettext("%(num)d invoice on hold.", "%(num)d invoices on hold.", len(invoices)),
          "success")
    return redirect(url_for(".customer", customer_id=found.id))


MAX_ATTACHMENT = 5 * 1024 * 1024


@bp.post("/customers/<id:customer_id>/notes")
def add_note(customer_id):
    """A note on the timeline, and the file that goes with it if any (kept in the database,
    given back as a download, never shown inline)."""
    found = _customer(customer_id)
    form = NoteForm()
    if not form.validate_on_submit():
        flash(_("Write the note (2,000 characters at most)."), "warning")
        return redirect(url_for(".customer", customer_id=found.id))
    details = {"text": form.text.data.strip()}
    upload = form.file.data
    if upload and upload.filename:
        data = upload.read(MAX_ATTACHMENT + 1)
        if len(data) > MAX_ATTACHMENT:
            flash(_("The file is over 5 MB; nothing was added."), "warning")
            return redirect(url_for(".customer", customer_id=found.id))
        name = "".join(c for c in upload.filename if c.isprintable() and c not in '"\\/')
        kept = Attachment(customer_id=found.id, filename=(name or "file")[-200:],
                          media_type=(upload.mimetype or "application/octet-stream")[:100],
                          size=len(data), data=data)
        db.session.add(kept)
        db.session.flush()
        details.update(attachment_id=kept.id, filename=kept.filename)
    return _done(found, "note", _("Note added."), **details)


@bp.get("/invoices/<id:invoice_id>.pdf")
def invoice_pdf(invoice_id):
    """The invoice as the debtor gets it: its own PDF (a Factur-X, an accounting tool's), else
    the copy made from the ledger."""
    invoice = tenancy.own(db.session, Invoice, invoice_id) or abort(404)
    data = invoice_copy_pdf(invoice, creditor(), invoice.customer.language, logo=logo())
    return send_file(io.BytesIO(data), mimetype="application/pdf",
                     download_name=safe_name(invoice.number, f"facture-{invoice.id}") + ".pdf")


@bp.get("/attachments/<id:attachment_id>")
def attachment(attachment_id):
    kept = tenancy.own(db.session, Attachment, attachment_id) or abort(404)
    return send_file(io.BytesIO(kept.data), mimetype="application/octet-stream",
                     as_attachment=True, download_name=kept.filename)


@bp.post("/customers/<id:customer_id>/contact")
def contact(customer_id):
    """The debtor's e-mail address(es) and phone, as the accountant knows them (a FEC does not
    carry them)."""
    found = _act(customer_id)[0]
    try:
        emails = parse_emails(request.form.get("email", ""))
        phone = clean_text("phone", request.form.get("phone", "").strip(), 40) or None
    except ValueError as exc:
        flash(_("Not saved: %(error)s", error=exc), "warning")
        return redirect(url_for(".customer", customer_id=found.id))
    before = (found.email, found.phone)
    found.email, found.phone = emails, phone
    return _done(found, "contact_changed", _("Contact details saved."),
                 before=[v or "—" for v in before], after=[emails, phone or "—"])


@bp.post("/customers/<id:customer_id>/resume")
def resume(customer_id):
    found = _act(customer_id)[0]
    found.paused_until = None
    return _done(found, "reminders_resumed", _("Reminders resumed."))


@bp.post("/customers/<id:customer_id>/tier")
def tier(customer_id):
    found = _customer(customer_id)
    form = TierForm().with_policies(current_settings())
    if not form.validate_on_submit():
        abort(400)
    before = (found.tier, found.debtor_type, found.policy or "default")
    found.tier, found.debtor_type = form.tier.data, form.debtor_type.data
    found.policy = None if form.policy.data == "default" else form.policy.data
    return _done(found, "tier_changed", _("Category, type and policy saved."),
                 before=list(before), after=[found.tier, found.debtor_type, form.policy.data])


@bp.post("/customers/<id:customer_id>/revoke")
def revoke(customer_id):
    found = _act(customer_id)[0]
    found.link_version += 1
    return _done(found, "links_revoked", _("Every link sent so far is revoked."))


@bp.post("/customers/<id:customer_id>/resend")
def resend(customer_id):
    found = _act(customer_id)[0]
    try:
        send_fresh_link(found)
    except (DeliveryError, MessageRejected) as exc:
        flash(_("The link was not sent: %(error)s", error=exc), "error")
        return redirect(url_for(".customer", customer_id=found.id))
    return _done(found, "link_resent", _("New link sent."))


@bp.route("/tasks/<id:task_id>", methods=["GET", "POST"])
def call(task_id):
    task = tenancy.own(db.session, Task, task_id) or abort(404)
    found = _customer(task.customer_id)
    if request.method == "POST":
        lock_customer(found.id)  # a promise by phone and one from the portal, one at a time
    form = CallOutcomeForm()
    numbers = task.details.get("invoices", [])
    invoices = db.session.scalars(select(Invoice).where(Invoice.customer_id == found.id,
                                                        Invoice.number.in_(numbers))).all()
    if form.validate_on_submit():
        error = _record_call(task, found, invoices, form)
        if error is None:
            return redirect(url_for(".inbox"))
        form.promise_date.errors.append(error)
    return render_template("backoffice/call.html", task=task, form=form, call_invoices=invoices,
                           target_cents=sum(i.balance_cents for i in invoices),
                           **_facts(found)), 422 if form.errors else 200


def _record_call(task, found, invoices, form):
    """The call's outcome: a promise obtained pauses the reminders like the portal's does."""
    if form.promise_date.data:
        try:
            promise_payment(found, [i for i in invoices if i.status == "open"],
                            form.promise_date.data, clock.today(), actor="accountant")
        except AnswerError as exc:
            db.session.rollback()
            return str(exc)
    record_event(found.id, "call", actor="accountant", by=current_user.email,
                 reached=form.reached.data == "reached", notes=form.notes.data or None,
                 promise_date=form.promise_date.data.isoformat() if form.promise_date.data
                 else None, task_id=task.id)
    task.state = "done"
    db.session.commit()
    flash(_("Call recorded."), "success")
    return None


@bp.get("/tasks/<id:task_id>/letter.pdf")
def letter(task_id):
    """The formal-notice letter the run prepared, to print and send by registered mail."""
    task = tenancy.own(db.session, Task, task_id) or abort(404)
    if task.kind != "letter" or not task.pdf:
        abort(404)
    filename = _("formal-notice-%(id)s.pdf", id=task.id)  # ASCII in every language
    return Response(task.pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{filename}"'})


@bp.post("/tasks/<id:task_id>/done")
def task_done(task_id):
    task = tenancy.own(db.session, Task, task_id) or abort(404)
    if not PostForm().validate_on_submit():
        abort(400)
    task.state = "done"
    record_event(task.customer_id, f"{task.kind}_task_done", actor="accountant",
                 by=current_user.email, task_id=task.id)
    db.session.commit()
    flash(_("Task done."), "success")
    return redirect(url_for(".inbox"))


@bp.post("/payments/<id:payment_id>/review")
def review_payment(payment_id):
    """The accountant's decision on an online payment whose amount or currency differed."""
    payment = tenancy.own(db.session, Payment, payment_id) or abort(404)
    if not PostForm().validate_on_submit() or request.form.get("decision") not in ("accept",
                                                                                   "refuse"):
        abort(400)
    try:
        changed = resolve_review(payment, request.form["decision"] == "accept", clock.today(),
                                 by=current_user.email)
    except ValueError as exc:
        db.session.rollback()
        flash(_("Not possible: %(error)s.", error=exc), "error")
        return redirect(url_for(".customer", customer_id=payment.customer_id))
    db.session.commit()
    flash(_("Decision saved.") if changed else _("This payment has already been dealt with."),
          "success" if changed else "warning")
    return redirect(url_for(".customer", customer_id=payment.customer_id))
