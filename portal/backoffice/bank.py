"""The bank page: credits of the bank statements that named no invoice Relance could match, or
whose reference is already known for another amount, each waiting for the accountant to say
which invoice it pays, or that it is no debtor's."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..imports.camt import CHUNK, SOURCE, WAITING, assign
from .. import tenancy
from ..extensions import db
from ..imports import clean_text
from ..bookkeeping import (LedgerError, ReplayConflict, compare_and_set, id_space,
                                invoice_by_number)
from ..models import BankCredit, Payment
from . import bp
from .forms import PostForm
from .timeline import say


@bp.get("/bank")
def bank():
    waiting = db.session.scalars(select(BankCredit).where(BankCredit.state.in_(WAITING))
                                 .order_by(BankCredit.booked_on, BankCredit.id)).all()
    known = _known_under({c.external_id for c in waiting if c.state == "conflict"})
    rows = [(c, known.get(c.external_id) if c.state == "conflict" else None) for c in waiting]
    return render_template("backoffice/bank.html", waiting=rows, form=PostForm())


def _known_under(references):
    """{reference: the payment first recorded under it} for the credits in conflict, in a few
    queries whatever their number (the other party of a conflict may also be a credit of a
    statement, then there is no payment)."""
    found, references = {}, sorted(references)
    for start in range(0, len(references), CHUNK):
        for payment in db.session.scalars(select(Payment).where(
                Payment.source.in_(id_space(SOURCE)),
                Payment.external_id.in_(references[start:start + CHUNK]))
                .order_by(Payment.id.desc())):
            found[payment.external_id] = payment
    return found


@bp.post("/bank/<id:credit_id>")
def assign_credit(credit_id):
    found = tenancy.own(db.session, BankCredit, credit_id) or abort(404)
    if not PostForm().validate_on_submit():
        abort(400)
    ignore = request.form.get("decision") == "ignore"
    invoice = None if ignore else _invoice_named(request.form.get("invoice_number", ""))
    if not ignore and invoice is None:
        return redirect(url_for(".bank"))
    # One request decides a credit: the state moves by a conditional UPDATE, which only one of
    # several accountants clicking at once can win; the others are told it is done.
    was = found.state
    if was not in WAITING or not compare_and_set(found, was, "ignored" if ignore
                                                 else "assigned"):
        db.session.rollback()
        flash(_("This credit has already been dealt with."), "warning")
        return redirect(url_for(".bank"))
    if ignore:
        db.session.commit()
        flash(_("Credit set aside: it pays no debtor's invoice."), "success")
        return redirect(url_for(".bank"))
    try:
        result = assign(found, invoice, by=current_user.email, in_conflict=was == "conflict")
    except ReplayConflict as exc:
        db.session.rollback()
        flash(conflict_message(found.external_id, exc), "warning")
        return redirect(url_for(".bank"))
    except LedgerError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(url_for(".bank"))
    db.session.commit()
    flash(recorded_message(result, invoice.number), "success")
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


def conflict_message(reference, conflict):
    """The accountant's words for a reference already known for another amount or invoice."""
    if conflict.known is None:  # a statement credit waiting on this page holds it
        source = say("source", "bank")
    else:
        source = say("source", conflict.known.source)
    return _("Reference %(ref)s is already recorded for another invoice or amount "
             "(%(source)s): check that payment before recording this one.", ref=reference,
             source=source)


def recorded_message(result, number):
    if not result.created:
        return _("This transfer was already recorded (%(source)s): the credit is tied to that "
                 "payment, nothing was counted twice.",
                 source=say("source", result.payment.source))
    if result.credit_cents:
        return _("Credit recorded as a payment of invoice %(number)s; what is left over is the "
                 "customer's credit.", number=number)
    return _("Credit recorded as a payment of invoice %(number)s.", number=number)
