"""Portal pages. The signed token in the URL names the customer; every query below is scoped to
that customer (g.customer), so an id of another debtor's invoice is simply not found (404)."""
import re
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple

from flask import (abort, flash, g, make_response, redirect, render_template,
                   request, session, url_for)
from flask_babel import gettext as _
from flask_babel import refresh
from sqlalchemy import func, select

from ..settings import policy_for
from ..rules.schedule import calendar_for
from reminders.transport import DeliveryError, MessageRejected

from .. import clock, tenancy
from ..answers import (AnswerError, MAX_MESSAGE, MESSAGE_REASONS, customer_invoice,
                       flag_not_received, promise_payment, send_message)
from ..settings import creditor, loaded as settings_loaded, seed as settings_seed
from ..settings import logo as logo_bytes
from ..documents import invoice_copy_pdf
from ..extensions import db
from ..bookkeeping import lock_customer, record_event
from ..links import LinkExpired, LinkInvalid, verify_token
from ..payments.gateways import gateway_for
from ..i18n import current_lang
from ..instalments import propose, repeated_request, request_plan
from ..models import Customer, Event, Hold, Invoice
from ..web import parse_id
from . import bp
from .forms import ActionForm, MessageForm, PayForm, PlanForm, PromiseForm, invoice_choices
from .link_pages import creditor_to_name, expired_page, invalid_page
from .mailer import send_fresh_link, send_invoice_copy
from . import page
from ..changes import KEEP_SECONDS

RENEW_EVERY = timedelta(minutes=10)
RENEW_PER_DAY = 3
VISIT_EVERY = timedelta(minutes=30)


@bp.url_value_preprocessor
def pull_token(endpoint, values):
    g.token = values.pop("token", None) if values else None


@bp.url_defaults
def add_token(endpoint, values):
    if "token" not in values and getattr(g, "token", None):
        values["token"] = g.token


@bp.before_request
def load_customer():
    """Verify the link once per request; tampered -> 404 page, expired -> 410 page."""
    g.expired_customer_id = None
    try:
        g.customer = verify_token(g.token)
        tenancy.enter(g.customer.creditor_id)  # every query below: this creditor's rows only
    except LinkExpired as exc:
        g.customer, g.expired_customer_id = None, exc.customer_id
        tenancy.enter(exc.creditor_id if exc.creditor_id is not None else tenancy.NOBODY)
        if request.endpoint != "debtor.renew":
            return expired_page(exc.creditor_id)
    except LinkInvalid as exc:
        g.customer = None
        tenancy.enter(tenancy.NOBODY)
        return invalid_page(exc.creditor_id)
    finally:
        refresh()  # the language depends on the link's customer: decide it from here on
    if request.method == "POST" and g.customer is not None:
        # One answer of this debtor at a time: a double click or eight requests at once are
        # applied one after the other, and each sees what the previous one did.
        lock_customer(g.customer.id)


def _today():
    return clock.today()


def _invoice_or_404(invoice_id):
    invoice = customer_invoice(g.customer, invoice_id)
    if invoice is None:
        abort(404)
    return invoice


def _states(invoices):
    """{invoice id: [hold kinds in force]} for the landing page's state column."""
    ids = [i.id for i in invoices]
    rows = db.session.execute(select(Hold.invoice_id, Hold.kind, Hold.until)
                              .where(Hold.invoice_id.in_(ids), Hold.released_at.is_(None)))
    states = {i: {} for i in ids}
    for invoice_id, kind, until in rows:
        states[invoice_id][kind] = until
    return states


def _open_invoices():
    return db.session.scalars(
        select(Invoice).where(Invoice.customer_id == g.customer.id, Invoice.status == "open")
        .order_by(Invoice.due_date, Invoice.number)).all()


def _posted_ids():
    """The invoice ids a form posted; 400 for anything that is not an id."""
    ids = {parse_id(value) for value in request.form.getlist("invoice_ids")}
    if None in ids:
        abort(400)
    return ids


def _refuse_foreign_ids():
    """An invoice id in a form that is not one of this debtor's invoices: 404, as in URLs."""
    ids = _posted_ids()
    if ids:
        mine = set(db.session.scalars(select(Invoice.id).where(
            Invoice.customer_id == g.customer.id, Invoice.id.in_(ids))))
        if ids - mine:
            abort(404)


def _outside_plans(invoices, states=None):
    """The invoices not already in an instalment plan (approved or asked for)."""
    states = states or _states(invoices)
    return [i for i in invoices if not {"plan", "instalment_request"} & set(states[i.id])]


def payable_invoices(invoices, states=None):
    """Invoices outside plans with no payment already on its way."""
    states = states or _states(invoices)
    return [i for i in _outside_plans(invoices, states) if "payment_pending" not in states[i.id]]


def _read_facts(customer, today):
    """The debtor's facts (`page.read`) under its policy and its creditor's calendar."""
    return page.read(customer.id, today, policy_for(customer.tier, customer.policy),
                     calendar_for(creditor().holiday_country))


def _landing(promise_form=None, message_forms=None, plan_form=None, status=200, facts=None,
             pay_form=None, counter_error=None):
    """The landing page, drawn from the debtor's facts (`page.py`). The plain page (no form
    errors, no flash message) is rendered once per set of facts and kept. A form sent back
    with errors (422) says so at its top, and the page opens there (`error_summary`)."""
    customer, today = g.customer, _today()
    policy = policy_for(customer.tier, customer.policy)
    read = facts or _read_facts(customer, today)
    cards = read.cards
    online = bool(gateway_for())
    facts = Facts(token=g.token, lang=current_lang(), today=today, name=customer.name,
                  creditor=creditor(), online=online, cards=cards, plan=read.plan,
                  credit_cents=read.credit_cents, promise_days=policy.promise_max_days,
                  received=read.received)
    plain = (promise_form is None and message_forms is None and plan_form is None
             and pay_form is None and counter_error is None and not session.get("_flashes"))
    if plain:
        html = page.rendered.get(facts)
        if html is not None:
            return html, status
    states = {c.id: c.holds for c in cards}
    plannable = _outside_plans(cards, states)
    promise_form = promise_form or PromiseForm(formdata=None)
    promise_form.invoice_ids.choices = invoice_choices(plannable)
    if plan_form is None:
        plan_form = PlanForm(formdata=None, instalment_count=3,
                             first_instalment_date=today + timedelta(days=7),
                             invoice_ids=[c.id for c in plannable])
    plan_form.invoice_ids.choices = invoice_choices(plannable)
    promise_form.promise_date.render_kw = {
        "min": (today + timedelta(days=1)).isoformat(),
        "max": (today + timedelta(days=facts.promise_days)).isoformat()}
    payable = payable_invoices(cards, states) if online else []
    pay_form = pay_form or PayForm(formdata=None, invoice_ids=[c.id for c in payable])
    pay_form.invoice_ids.choices = invoice_choices(payable)
    html = render_template(
        "debtor/landing.html", customer_name=facts.name, invoices=cards, payable=payable,
        pay_form=pay_form, online=online, credit_cents=facts.credit_cents, plan=facts.plan,
        plan_form=plan_form, plannable=plannable, today=today, received=facts.received,
        pay_total_cents=sum(c.pay_cents for c in payable),
        total_cents=sum(c.balance_cents for c in cards), creditor=facts.creditor,
        promise_form=promise_form, message_forms=message_forms or {}, action_form=ActionForm(),
        max_message=MAX_MESSAGE,
        reason_choices=[(key, str(text)) for key, text in MESSAGE_REASONS.items()],
        max_promise=today + timedelta(days=facts.promise_days),
        counter_error=counter_error,
        form_errors=bool(counter_error) or any(f is not None and f.errors for f in (
            promise_form, plan_form, pay_form, *(message_forms or {}).values())))
    return (page.rendered.put(facts, html) if plain else html), status


class Facts(NamedTuple):
    """Everything the landing page shows or depends on: the key of its kept rendering."""
    token: str  # the page's links carry it
    lang: str
    today: date
    name: str
    creditor: object  # CreditorFacts (frozen)
    online: bool
    cards: tuple
    plan: object  # PlanView or None
    credit_cents: int
    promise_days: int
    received: tuple  # the payments received lately (page.Received)


@bp.get("/<token>")
def landing():
    if request.args.get("cancelled"):
        flash(_("Payment cancelled: nothing was charged."), "warning")
    if request.args.get("mandate"):
        flash(_("Thank you: once your bank confirms the mandate, each instalment will be "
                "debited on its date."), "success")
    customer = g.customer
    # What was read of the books is kept under their version (portal.changes): a reload reads
    # the version and the last visit, and nothing else, until something changes.
    version, last_visit = page.state(customer.id)
    kept = page.kept()
    creditor_key = ("creditor", customer.creditor_id, version)
    known = kept.get(creditor_key, max_age=KEEP_SECONDS)
    if known is None:
        kept.put(creditor_key, settings_loaded())
    else:
        settings_seed(known)
    today = _today()
    facts_key = ("facts", customer.id, version, today)
    facts = kept.get(facts_key, max_age=KEEP_SECONDS) or kept.put(
        facts_key, _read_facts(customer, today))
    _record_visit(last_visit)
    return _landing(facts=facts)


def _record_visit(last, every=VISIT_EVERY):
    """A visit on the timeline at most once per `every`, decided by a read (no write, no lock
    for a reload; two first visits at the same instant may both be kept, which is harmless)."""
    if last is None or last < datetime.now(timezone.utc) - every:
        record_event(g.customer.id, "portal_visit", actor="debtor",
                     user_agent=request.user_agent.string[:200])
        db.session.commit()


@bp.get("/<token>/invoices/<id:invoice_id>.pdf")
def invoice_pdf(invoice_id):
    invoice = _invoice_or_404(invoice_id)
    data = invoice_copy_pdf(invoice, creditor(), g.customer.language, logo=logo_bytes())
    record_event(g.customer.id, "invoice_downloaded", actor="debtor", invoice_id=invoice.id,
                 number=invoice.number)
    db.session.commit()
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", invoice.number)
    response.headers["Content-Disposition"] = f'inline; filename="{safe}.pdf"'
    return response


@bp.get("/<token>/logo")
def logo():
    """The creditor's logo, shown in the portal's header."""
    found = logo_bytes()
    if found is None:
        abort(404)
    response = make_response(found[0])
    response.headers["Content-Type"] = found[1]
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.post("/<token>/invoices/<id:invoice_id>/not-received")
def not_received(invoice_id):
    invoice = _invoice_or_404(invoice_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        hold = flag_not_received(g.customer, invoice, _today())
    except AnswerError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".landing"))
    if hold is None:  # already told us today (a double click): no second copy
        flash(_("You already told us today; the copy is on its way."), "success")
        return redirect(url_for(".landing"))
    db.session.commit()
    try:
        send_invoice_copy(g.customer, invoice)
        flash(_("A copy of invoice %(number)s is on its way to your mailbox. You can also "
                "download it below.", number=invoice.number), "success")
    except (DeliveryError, MessageRejected) as exc:
        record_event(g.customer.id, "copy_not_sent", invoice_id=invoice.id, reason=str(exc))
        flash(_("We could not e-mail the copy right now; download it below. We will not "
                "remind you about this invoice in the meantime."), "warning")
    db.session.commit()
    return redirect(url_for(".landing"))


def _invoice_form(form_class, name):
    """Bind a posted form that picks some of the debtor's invoices (outside plans): returns
    (form, chosen invoices, None), or (form, None, the page with its errors)."""
    _refuse_foreign_ids()
    invoices = _outside_plans(_open_invoices())
    form = form_class()
    form.invoice_ids.choices = invoice_choices(invoices)
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return form, None, _landing(**{name: form}, status=422)
    return form, [i for i in invoices if i.id in set(form.invoice_ids.data)], None


@bp.post("/<token>/promise")
def promise():
    form, chosen, page = _invoice_form(PromiseForm, "promise_form")
    if page:
        return page
    try:
        promise_payment(g.customer, chosen, form.promise_date.data, _today())
    except AnswerError as exc:
        db.session.rollback()
        form.promise_date.errors.append(str(exc))
        return _landing(promise_form=form, status=422)
    db.session.commit()
    flash(_("Thank you. We will not remind you before %(date)s.",
            date=form.promise_date.data.strftime("%d/%m/%Y")), "success")
    return redirect(url_for(".landing"))


@bp.post("/<token>/invoices/<id:invoice_id>/message")
def message(invoice_id):
    invoice = _invoice_or_404(invoice_id)
    form = MessageForm(prefix=f"m{invoice.id}")
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _landing(message_forms={invoice.id: form}, status=422)
    try:
        disputed = send_message(g.customer, invoice, form.reason.data, form.text.data, _today())
    except AnswerError as exc:
        db.session.rollback()
        form.text.errors.append(str(exc))
        return _landing(message_forms={invoice.id: form}, status=422)
    db.session.commit()
    flash(_("Your message was sent to our accounts department.") + (
        " " + _("We will not remind you about this invoice until we have answered.")
        if disputed else ""), "success")
    return redirect(url_for(".landing"))


@bp.post("/<token>/renew")
def renew():
    """An expired link asks for a fresh one, e-mailed to the address on file (never shown)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    customer_id = g.expired_customer_id or (g.customer.id if g.customer else None)
    sent = False
    if customer_id:
        lock_customer(customer_id)  # the limit is counted by one request at a time
        customer = tenancy.own(db.session, Customer, customer_id)
        now = datetime.now(timezone.utc)
        recent = db.session.execute(
            select(func.count(Event.id), func.max(Event.at))
            .where(Event.customer_id == customer_id, Event.kind == "link_resent",
                   Event.at >= now - timedelta(days=1))).one()
        if customer and recent[0] < RENEW_PER_DAY and (recent[1] is None
                                                       or recent[1] < now - RENEW_EVERY):
            # Counted before it is sent, and the lock released: the mail server's time is
            # nobody else's wait, and a failed attempt still counts against the limit.
            record_event(customer_id, "link_resent", actor="debtor")
            db.session.commit()
            try:
                send_fresh_link(customer)
                sent = True
            except (DeliveryError, MessageRejected) as exc:
                record_event(customer_id, "link_not_resent", reason=str(exc))
                db.session.commit()
    return render_template("debtor/renewed.html", sent=sent,
                           creditor=creditor_to_name(tenancy.current_id() or None)), 200


@bp.post("/<token>/plan")
def plan():
    """Ask for an instalment plan: first the computed schedule to accept, then the request."""
    repeat = request.form.get("accept") == "y" and repeated_request(
        g.customer, _posted_ids(), request.form.get("instalment_count"),
        request.form.get("first_instalment_date"))
    if repeat:  # the same request again (a double click): answered, not repeated
        _flash_plan(repeat)
        return redirect(url_for(".landing"))
    form, chosen, page = _invoice_form(PlanForm, "plan_form")
    if page:
        return page
    try:
        proposal = propose(g.customer, chosen, form.instalment_count.data,
                           form.first_instalment_date.data, _today())
    except AnswerError as exc:
        db.session.rollback()
        form.first_instalment_date.errors.append(str(exc))
        return _landing(plan_form=form, status=422)
    if not form.accept.data:
        return render_template("debtor/plan_confirm.html", form=form, proposal=proposal,
                               invoices=chosen, creditor=creditor())
    plan = request_plan(g.customer, chosen, proposal, form.reason.data, _today(),
                        accepted_ip=request.remote_addr,
                        accepted_user_agent=request.user_agent.string)
    db.session.commit()
    _flash_plan(plan)
    return redirect(url_for(".landing"))


def _flash_plan(plan):
    if plan.state == "approved":
        flash(_("Your instalment plan is approved. We will remind you a few days before each "
                "instalment."), "success")
    else:
        flash(_("Your request was sent to our accounts department, who will answer you by "
                "e-mail. We will not send you reminders for these invoices meanwhile."),
              "success")
