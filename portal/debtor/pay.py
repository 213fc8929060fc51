"""Paying from the portal: the amount is computed here from the balances, the gateway (Stripe or
the demo) takes the debtor to its checkout, and only the provider's events record the money."""
import uuid
from datetime import timedelta

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from .. import clock
from ..rules.discount import invoice_discount
from ..i18n import current_lang
from ..settings import creditor, policy_for
from ..extensions import db
from ..models import Payment, utcnow
from ..payments.events import handle
from ..payments.gateways import DemoGateway, GatewayError, gateway_for
from ..payments.lifecycle import (checkout_key, open_checkouts, overlapping_checkouts,
                                       start_checkout)
from ..instalments import active_plan, instalment_allocations, next_unpaid
from . import bp
from .forms import ActionForm, PayForm, invoice_choices
from .views import _landing, _open_invoices, _refuse_foreign_ids, payable_invoices


def _next_instalment_lines():
    """(allocations, label) for the next unpaid instalment of the debtor's approved plan."""
    plan = active_plan(g.customer)
    if plan is None or plan.state != "approved":
        abort(404)
    due = next_unpaid(plan, clock.today())
    if due is None:
        abort(404)
    allocations = instalment_allocations(plan, due)
    label = _("Instalment %(n)s of %(count)s", n=due.instalment.seq, count=plan.count)
    return plan, due.instalment, allocations, [(label, sum(a for _, a in allocations))]


@bp.post("/<token>/pay")
def pay():
    _refuse_foreign_ids()
    gateway = gateway_for()
    if not gateway:
        abort(404)
    form = PayForm()
    invoices = payable_invoices(_open_invoices())
    form.invoice_ids.choices = invoice_choices(invoices)
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        if form.instalment.data == "next":  # the plan's button: nothing to choose
            abort(400)
        # The page again, opened at the pay form with what to do said at its top.
        return _landing(pay_form=form, status=422)
    plan = instalment = None
    discounts = []
    if form.instalment.data == "next":
        plan, instalment, allocations, lines = _next_instalment_lines()
    else:
        chosen = [i for i in invoices if i.id in set(form.invoice_ids.data)]
        allocations, lines, discounts = _invoice_lines(chosen)
    reuse = _same_open_checkout(allocations)
    if reuse is not None:  # a second click, or the back button: the same checkout again
        return redirect(reuse.checkout_url, code=303)
    replaced = overlapping_checkouts(g.customer, allocations)
    payment = start_checkout(g.customer, allocations, gateway.name, f"new:{uuid.uuid4()}",
                             plan_id=plan.id if plan else None, discounts=discounts)
    payment.instalment_id = instalment.id if instalment else None
    try:
        checkout = gateway.create_checkout(
            g.customer, payment, lines,
            success_url=url_for(".paid", _external=True) + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=url_for(".landing", cancelled=1, _external=True))
    except GatewayError as exc:
        db.session.rollback()  # the older checkouts stay as they were, still payable
        current_app.logger.warning("checkout failed: %s", exc)
        flash(_("Online payment is unavailable right now; nothing was charged. Please try again "
                "later or pay by bank transfer."), "error")
        return redirect(url_for(".landing"))
    payment.external_id, payment.checkout_url = checkout.id, checkout.url
    db.session.commit()
    for older in replaced:  # closed at the provider too, where it is still open
        try:
            gateway.expire_checkout(older)
        except GatewayError as exc:  # already expired or paid: its webhook will say which
            current_app.logger.info("checkout %s not expired: %s", older.external_id, exc)
    return redirect(checkout.url, code=303)


def _invoice_lines(chosen):
    """(allocations, checkout lines, discounts) for paying the chosen invoices today: each one's
    balance, less its early-payment discount where one holds today (portal.rules.discount)."""
    policy = policy_for(g.customer.tier, g.customer.policy)
    today = clock.today()
    allocations, lines, discounts = [], [], []
    for invoice in chosen:
        discount = invoice_discount(invoice, today, policy)
        if discount is None:
            allocations.append((invoice, invoice.balance_cents))
            lines.append((_("Invoice %(number)s", number=invoice.number), invoice.balance_cents))
            continue
        allocations.append((invoice, discount.pay_cents))
        discounts.append((invoice, discount.cents))
        lines.append((_("Invoice %(number)s, early-payment discount of %(percent)s %% "
                        "deducted", number=invoice.number,
                        percent=discount.percent_text(current_lang())), discount.pay_cents))
    return allocations, lines, discounts


def _same_open_checkout(allocations, max_age=timedelta(hours=23)):
    """The debtor's open checkout for exactly these invoices and amounts, if still payable
    (Stripe's Checkout sessions expire after 24 hours)."""
    key = checkout_key(g.customer, allocations)
    for payment in open_checkouts(g.customer):
        if payment.checkout_key == key and payment.checkout_url \
                and payment.created_at > utcnow() - max_age:
            return payment
    return None


@bp.get("/<token>/paid")
def paid():
    return render_template("debtor/paid.html", creditor=creditor())


def _demo_payment(session_id):
    if not isinstance(gateway_for(), DemoGateway):
        abort(404)
    payment = db.session.scalar(select(Payment).where(
        Payment.source == "demo", Payment.external_id == session_id,
        Payment.customer_id == g.customer.id))
    if payment is None:
        abort(404)
    return payment


@bp.get("/<token>/demo-checkout/<session_id>")
def demo_checkout(session_id):
    payment = _demo_payment(session_id)
    return render_template("debtor/demo_checkout.html", payment=payment, form=ActionForm(),
                           creditor=creditor())


@bp.post("/<token>/demo-checkout/<session_id>")
def demo_checkout_submit(session_id):
    """The demo's buttons produce the same events Stripe would send."""
    payment = _demo_payment(session_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if payment.state != "created":  # paid by a first click, or replaced by a newer checkout
        if payment.state == "cancelled":
            flash(_("This payment page was replaced by a newer one; nothing was charged."),
                  "warning")
            return redirect(url_for(".landing"))
        return redirect(url_for(".paid", session_id=payment.external_id))
    outcome = request.form.get("outcome")
    session = {"id": payment.external_id, "object": "checkout.session",
               "amount_total": payment.amount_cents, "currency": payment.currency.lower(),
               "payment_intent": f"demo_pi_{payment.id}"}
    today = clock.today()
    if outcome == "card":
        handle("checkout.session.completed", dict(session, payment_status="paid"), today)
    elif outcome in ("sepa", "sepa_fails"):
        handle("checkout.session.completed", dict(session, payment_status="unpaid"), today)
        if outcome == "sepa_fails":
            handle("checkout.session.async_payment_failed", session, today)
    else:
        abort(400)
    db.session.commit()
    return redirect(url_for(".paid", session_id=payment.external_id))


@bp.post("/<token>/mandate")
def mandate():
    """Have the plan's instalments collected by SEPA Direct Debit: sign a mandate."""
    if not ActionForm().validate_on_submit():
        abort(400)
    plan = active_plan(g.customer)
    if plan is None or plan.state != "approved" or plan.mandate_payment_method \
            or not gateway_for():
        abort(404)
    try:
        checkout = gateway_for().start_mandate(
            g.customer, plan, success_url=url_for(".landing", mandate=1, _external=True),
            cancel_url=url_for(".landing", _external=True))
    except GatewayError as exc:
        current_app.logger.warning("mandate setup failed: %s", exc)
        flash(_("Online payment is unavailable right now; nothing was charged. Please try again "
                "later or pay by bank transfer."), "error")
        return redirect(url_for(".landing"))
    db.session.commit()
    return redirect(checkout.url, code=303)


@bp.route("/<token>/demo-mandate", methods=["GET", "POST"])
def demo_mandate():
    """The demo's stand-in for Stripe's mandate page: no bank is contacted."""
    if not isinstance(gateway_for(), DemoGateway):
        abort(404)
    plan = active_plan(g.customer)
    if plan is None or plan.state != "approved":
        abort(404)
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        handle("checkout.session.completed", {
            "id": f"demo_setup_{plan.id}", "mode": "setup", "setup_intent": f"seti_{plan.id}",
            "metadata": {"plan_id": str(plan.id)}}, clock.today())
        db.session.commit()
        flash(_("Mandate signed: each instalment will be debited on its date; we will tell you "
                "the amount a few days before."), "success")
        return redirect(url_for(".landing"))
    return render_template("debtor/demo_mandate.html", plan=plan, form=form,
                           creditor=creditor())
