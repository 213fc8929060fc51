"""Back-office pages: login, instalment decisions, users, dashboard and exports."""
import csv
import io
import json
import posixpath
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (Response, abort, flash, g, has_request_context, redirect, render_template,
                   request, session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from reminders.transport import DeliveryError, MessageRejected

from .. import clock, tenancy
from ..debtor.mailer import send_plan_decision
from ..extensions import db
from ..i18n import plain_amount
from ..models import CreditorGrant, Customer, Event, InstalmentPlan, Invoice, User
from ..answers import AnswerError
from ..instalments import PlanConflict, approve, counter, reject
from ..users import (authenticate, end_sessions, granted_creditors, start_attempt,
                     too_many_failures)
from . import admin_required, bp
from .forms import (LANGUAGE_NAMES, CreditorForm, DecisionForm, LanguageForm, LoginForm,
                    PostForm)
from .plan_facts import plan_facts
from .worklist import tasks_of
from .timeline import describe
from .metrics import (BUCKET_LABELS, BUCKETS, aging, bucket, csv_safe, dashboard,
                      last_run, open_balances)


@bp.app_context_processor
def _header_forms():
    """The header's forms, built without reading the request's body (formdata=None): the
    error page of a body too large (413) renders this header too, and reading the body again
    there would raise the 413 inside its own handler (a bare 500)."""
    if has_request_context() and request.blueprint == "backoffice":
        words = {"logout_form": PostForm(formdata=None), "language_names": LANGUAGE_NAMES,
                 "language_form": LanguageForm(formdata=None, next=_this_page()),
                 "creditor_role": g.get("creditor_role"), "my_creditors": []}
        if len(g.get("grants") or ()) > 1:  # the switcher: only for who has a choice
            words["my_creditors"] = granted_creditors(current_user)
            words["creditor_form"] = CreditorForm(formdata=None)
            words["chosen_creditor"] = tenancy.current_id()
        return words
    return {}


def _this_page():
    """Where the language switch comes back to: this page, if it can be asked for again."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    rule = request.url_rule
    if rule is not None and "GET" in rule.methods:
        return request.path
    return url_for("backoffice.inbox")


def _safe_next(target):
    """Only a path on this site: never an absolute URL from the query string, nor a control
    character (CR/LF cannot go into a Location header: the login would answer 500)."""
    if target and target.startswith("/") and not target.startswith("//") \
            and target.isprintable() and "\\" not in target and not urlsplit(target).netloc:
        return target
    return url_for("backoffice.inbox")


def _admin_page(target):
    """Only a back-office path of this site (never another site, nor a page outside /admin)."""
    target = target or ""
    parts = urlsplit(target)
    path = posixpath.normpath(parts.path) if parts.path else ""
    if (target.startswith("/") and not parts.scheme and not parts.netloc and "\\" not in target
            and target.isprintable() and (path == "/admin" or path.startswith("/admin/"))):
        return target
    return url_for("backoffice.inbox")


@bp.post("/language")
def language():
    """The user's choice of language for the back office, kept on their account."""
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    current_user.language = form.language.data
    db.session.commit()
    return redirect(_admin_page(form.next.data))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        ip = request.remote_addr
        attempt = start_attempt(form.email.data, ip)
        db.session.commit()
        if too_many_failures(form.email.data, ip):
            return render_template("backoffice/login.html", form=form, locked=True), 429
        user = authenticate(form.email.data, form.password.data, attempt)
        db.session.commit()
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(_("Wrong e-mail or password."))
        return render_template("backoffice/login.html", form=form), 401
    return render_template("backoffice/login.html", form=form)


@bp.post("/logout")
def logout():
    if not PostForm().validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        end_sessions(current_user)  # a copied cookie dies with this one
        db.session.commit()
    logout_user()
    return redirect(url_for("backoffice.login"))


@bp.get("/plans/<id:plan_id>")
def plan(plan_id):
    found = tenancy.own(db.session, InstalmentPlan, plan_id) or abort(404)
    return render_template("backoffice/plan.html", **plan_facts(found), form=DecisionForm())


@bp.post("/plans/<id:plan_id>/decision")
def decide(plan_id):
    found = tenancy.own(db.session, InstalmentPlan, plan_id) or abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    if found.state != "requested":
        flash(_("This request has already been dealt with."), "warning")
        return redirect(url_for(".plan", plan_id=plan_id))
    note = (form.note.data or "").strip() or None
    if form.decision.data == "reject" and not note:
        form.note.errors.append(_("Tell the customer why (they will receive this message)."))
        return render_template("backoffice/plan.html", **plan_facts(found), form=form), 422
    if form.decision.data == "counter" and not (
            form.count.data and form.first_date.data
            and clock.today() < form.first_date.data <= clock.today() + timedelta(days=366)):
        form.count.errors.append(_("Give the number of instalments and a first date within "
                                   "the coming year."))
        return render_template("backoffice/plan.html", **plan_facts(found), form=form), 422
    try:
        if form.decision.data == "approve":
            approve(found, clock.today(), by=current_user.email, note=note)
        elif form.decision.data == "counter":
            counter(found, form.count.data, form.first_date.data, by=current_user.email,
                    note=note)
        else:
            reject(found, by=current_user.email, note=note)
    except PlanConflict:
        db.session.rollback()  # another decision won (a colleague, or a double click)
        flash(_("This request has already been dealt with."), "warning")
        return redirect(url_for(".plan", plan_id=plan_id))
    except AnswerError as exc:
        db.session.rollback()
        form.count.errors.append(str(exc))
        return render_template("backoffice/plan.html", **plan_facts(found), form=form), 422
    db.session.commit()
    try:
        send_plan_decision(found.customer, found)
        flash(_("Decision saved and sent to the customer."), "success")
    except (DeliveryError, MessageRejected) as exc:
        flash(_("Decision saved, but the e-mail was not sent: %(error)s", error=exc), "warning")
    return redirect(url_for(".inbox"))


@bp.get("/users")
@admin_required
def users():
    """Who may work for this creditor, with the role each holds here."""
    rows = db.session.execute(
        select(User, CreditorGrant.role).join(CreditorGrant, CreditorGrant.user_id == User.id)
        .where(CreditorGrant.creditor_id == tenancy.current_id()).order_by(User.email)).all()
    return render_template("backoffice/users.html", users=rows)


@bp.post("/creditor")
def switch_creditor():
    """Work for another of the user's creditors (the switcher in the header)."""
    form = CreditorForm()
    form.creditor.choices = [(str(c), str(c)) for c in g.grants]
    if not form.validate_on_submit():
        abort(400)
    session["creditor"] = int(form.creditor.data)
    # The same list page for the other creditor; a page of one debtor, plan or task (its
    # ids are the other creditor's) becomes the to-do list.
    target = urlsplit(_admin_page(form.next.data)).path.rstrip("/")
    if target in SAME_FOR_EVERY_CREDITOR:
        return redirect(target)
    return redirect(url_for("backoffice.inbox"))


SAME_FOR_EVERY_CREDITOR = {"/admin/preview", "/admin/dashboard", "/admin/effectiveness",
                           "/admin/settings",
                           "/admin/users", "/admin/creditors"}


@bp.get("/creditors")
def overview():
    """Every creditor the user may see: what is owed, overdue, and waiting for a human."""
    rows = []
    for creditor in granted_creditors(current_user):
        with tenancy.scope(creditor.id):
            today = clock.today()
            owed = aging(today)
            rows.append({"creditor": creditor, "outstanding": sum(owed.values()),
                         "overdue": sum(v for k, v in owed.items() if k != "not_due"),
                         "waiting": len(tasks_of(today)[0]),
                         "role": g.grants[creditor.id]})
    return render_template("backoffice/overview.html", rows=rows,
                           chosen=session.get("creditor"), form=CreditorForm())


@bp.get("/dashboard")
def dashboard_page():
    figures = dashboard(clock.today())
    top = max(figures.aging.values()) or 1
    bars = [(str(BUCKET_LABELS[b]), figures.aging[b], round(figures.aging[b] * 160 / top))
            for b in BUCKETS]
    return render_template("backoffice/dashboard.html", figures=figures, bars=bars,
                           run=last_run(tenancy.working_id(), clock.today()))


@bp.get("/exports/aging.csv")
def aging_csv():
    rows = [["customer_ref", "customer_name", "invoice_number", "due_date", "days_late",
             "bucket", "balance"]]
    for invoice, balance, late in open_balances(clock.today()):
        rows.append([csv_safe(invoice.customer.ref), csv_safe(invoice.customer.name),
                     csv_safe(invoice.number), invoice.due_date.isoformat(), max(0, late),
                     bucket(late), plain_amount(balance)])
    return _csv(rows, "aging.csv")


@bp.get("/customers/<id:customer_id>/timeline.csv")
def timeline_csv(customer_id):
    found = tenancy.own(db.session, Customer, customer_id) or abort(404)
    rows = [["at", "actor", "what", "kind", "details"]]
    events = db.session.execute(
        select(Event, Invoice.number).outerjoin(Invoice, Invoice.id == Event.invoice_id)
        .where(Event.customer_id == found.id).order_by(Event.at, Event.id))
    for event, number in events:  # the page's sentences, and the raw facts for machines
        line = describe(event, number)
        rows.append([event.at.isoformat(), csv_safe(line.actor), csv_safe(line.text),
                     event.kind,
                     csv_safe(json.dumps(event.details, ensure_ascii=False, default=str))])
    return _csv(rows, f"timeline-{found.id}.csv")


def _csv(rows, filename):
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})
