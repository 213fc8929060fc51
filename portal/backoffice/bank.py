"""The bank page: credits of the bank statements that named no invoice Relance could match,
each waiting for the accountant to say which invoice it pays, or that it is no debtor's."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..camt import assign
from ..extensions import db
from ..imports import clean_text
from ..ledger import LedgerError, ReplayConflict, invoice_by_number
from ..models import BankCredit
from . import bp
from .forms import PostForm


@bp.get("/bank")
def bank():
    waiting = db.session.scalars(select(BankCredit).where(BankCredit.state == "unmatched")
                                 .order_by(BankCredit.booked_on, BankCredit.id)).all()
    return render_template("backoffice/bank.html", waiting=waiting, form=PostForm())


@bp.post("/bank/<id:credit_id>")
def assign_credit(credit_id):
    found = db.session.get(BankCredit, credit_id) or abort(404)
    if not PostForm().validate_on_submit():
        abort(400)
    if found.state != "unmatched":
        flash(_("This credit has already been dealt with."), "warning")
        return redirect(url_for(".bank"))
    if request.form.get("decision") == "ignore":
        found.state = "ignored"
        db.session.commit()
        flash(_("Credit set aside: it pays no debtor's invoice."), "success")
        return redirect(url_for(".bank"))
    try:
        number = clean_text("invoice_number", request.form.get("invoice_number", "").strip(), 64)
    except ValueError:
        number = ""
    invoice = invoice_by_number(number) if number else None
    if invoice is None:
        flash(_("No invoice %(number)s: type the number as it appears in the invoices list.",
                number=number or "—"), "warning")
        return redirect(url_for(".bank"))
    try:
        result = assign(found, invoice, by=current_user.email)
    except (LedgerError, ReplayConflict) as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(url_for(".bank"))
    db.session.commit()
    flash(_("Credit recorded as a payment of invoice %(number)s.", number=invoice.number)
          if not result.credit_cents else
          _("Credit recorded as a payment of invoice %(number)s; what is left over is the "
            "customer's credit.", number=invoice.number), "success")
    return redirect(url_for(".bank"))
