"""Money the accountant takes in by hand. The bank page: credits of the bank statements that
named no invoice Relance could match, or whose reference is already known for another amount,
each waiting for the accountant to say which invoice it pays, or that it is no debtor's; and a
payment received outside Relance, typed on the debtor's page."""
import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..camt import WAITING, assign, reference_of
from ..extensions import db
from ..i18n import current_lang, money
from ..imports import FIRST_DAY, clean_text, parse_amount
from ..ledger import (LedgerError, ReplayConflict, compare_and_set, invoice_by_number,
                      payment_by_external_id, record_payment)
from ..models import BankCredit, Customer, Invoice
from . import bp
from .forms import PostForm, ReceivedForm
from .timeline import say


@bp.get("/bank")
def bank():
    waiting = db.session.scalars(select(BankCredit).where(BankCredit.state.in_(WAITING))
                                 .order_by(BankCredit.booked_on, BankCredit.id)).all()
    rows = [(c, reference_of(c), _known_under(c)) for c in waiting]
    return render_template("backoffice/bank.html", waiting=rows, form=PostForm())


def _known_under(credit):
    """For a credit in conflict: the payment first recorded under its reference, if any (the
    other party of the conflict may be another waiting credit)."""
    if credit.state != "conflict":
        return None
    return payment_by_external_id("bank", reference_of(credit), credit.creditor_id)


@bp.post("/bank/<id:credit_id>")
def assign_credit(credit_id):
    found = db.session.get(BankCredit, credit_id) or abort(404)
    if not PostForm().validate_on_submit():
        abort(400)
    ignore = request.form.get("decision") == "ignore"
    invoice = None if ignore else _invoice_named(request.form.get("invoice_number", ""))
    if not ignore and invoice is None:
        return redirect(url_for(".bank"))
    # One request decides a credit: the state moves by a conditional UPDATE, which only one of
    # several accountants clicking at once can win; the others are told it is done.
    if found.state not in WAITING or not compare_and_set(
            found, found.state, "ignored" if ignore else "assigned"):
        db.session.rollback()
        flash(_("This credit has already been dealt with."), "warning")
        return redirect(url_for(".bank"))
    if ignore:
        db.session.commit()
        flash(_("Credit set aside: it pays no debtor's invoice."), "success")
        return redirect(url_for(".bank"))
    try:
        result = assign(found, invoice, by=current_user.email)
    except ReplayConflict as exc:
        db.session.rollback()
        flash(_("Reference %(ref)s is already recorded for another invoice or amount "
                "(%(source)s): check that payment before recording this one.",
                ref=reference_of(found),
                source=say("source", exc.known.source) if exc.known else "?"),
              "warning")
        return redirect(url_for(".bank"))
    except LedgerError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(url_for(".bank"))
    db.session.commit()
    flash(_message(result, invoice.number), "success")
    return redirect(url_for(".bank"))


def _invoice_named(text):
    """The invoice the accountant typed, or None with a message saying what to type."""
    try:
        number = clean_text("invoice_number", text.strip(), 64)
    except ValueError:
        number = ""
    invoice = invoice_by_number(number) if number else None
    if invoice is None:
        flash(_("No invoice %(number)s: type the number as it appears in the invoices list.",
                number=number or "—"), "warning")
    return invoice


def _message(result, number):
    if not result.created:
        return _("This transfer was already recorded (%(source)s): the credit is tied to that "
                 "payment, nothing was counted twice.",
                 source=say("source", result.payment.source))
    if result.credit_cents:
        return _("Credit recorded as a payment of invoice %(number)s; what is left over is the "
                 "customer's credit.", number=number)
    return _("Credit recorded as a payment of invoice %(number)s.", number=number)


@bp.post("/customers/<id:customer_id>/payments")
def record_received(customer_id):
    """The accountant records money received outside Relance (a cheque, a transfer seen in the
    bank's web page) for one of the debtor's invoices. It goes through the same door as every
    other payment (`ledger.record_payment`): a bank reference already known by any path is the
    same transfer, never counted twice; known for another amount, it is refused with the reason."""
    customer = db.session.get(Customer, customer_id) or abort(404)
    form = ReceivedForm()
    back = redirect(url_for(".customer", customer_id=customer.id))
    invoice = db.session.scalar(select(Invoice).where(
        Invoice.customer_id == customer.id, Invoice.number == (form.invoice_number.data or "")))
    problem = _received_problem(form, invoice)
    if problem:
        flash(problem, "warning")
        return back
    reference = form.reference.data or f"manual:{uuid.uuid4().hex}"
    try:
        result = record_payment(customer=customer, source="manual", external_id=reference,
                                amount_cents=form.cents, received_on=form.received_on.data,
                                invoices=[invoice], actor="accountant")
    except ReplayConflict as exc:
        db.session.rollback()
        flash(_("Reference %(ref)s is already recorded for another invoice or amount "
                "(%(source)s): check that payment before recording this one.", ref=reference,
                source=say("source", exc.known.source) if exc.known else "?"), "warning")
        return back
    except IntegrityError:  # the same entry posted twice at once: the other one recorded it
        db.session.rollback()
        flash(_("This payment was just recorded by another request: it is counted once."),
              "warning")
        return back
    db.session.commit()
    flash(_message(result, invoice.number) if not result.created else
          _("Payment of %(amount)s recorded for invoice %(number)s.",
            amount=money(form.cents, current_lang()), number=invoice.number), "success")
    return back


def _received_problem(form, invoice):
    """What is wrong with a payment the accountant typed, in words, or None."""
    if not form.validate_on_submit():
        return _("Give the invoice, the amount received (e.g. 1 234,56), the date it was "
                 "received and, for a transfer, the bank's reference.")
    if invoice is None:
        return _("No invoice %(number)s: type the number as it appears in the invoices list.",
                 number=form.invoice_number.data or "—")
    try:
        form.cents = parse_amount(form.amount.data)
    except ValueError:
        return _("%(amount)s is not an amount: write 1234.56 or 1 234,56.",
                 amount=form.amount.data[:40])
    if form.cents <= 0:
        return _("The amount received must be more than zero.")
    if not FIRST_DAY <= form.received_on.data <= clock.today():
        return _("The date received cannot be in the future.")
    return None
