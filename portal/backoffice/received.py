"""A payment received outside Relance (a cheque, a transfer seen in the bank's web page), typed
by the accountant on the debtor's page. It goes through the same door as every other payment
(`portal.bookkeeping.record_payment`): a bank reference already known by any path is the same
transfer, never counted twice; known for another amount, it is refused with the reason."""
import uuid

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import tenancy
from ..extensions import db
from ..i18n import current_lang, money
from ..bookkeeping import ReplayConflict, record_payment
from ..models import Customer, Invoice
from . import bp
from .bank import conflict_message, recorded_message
from .forms import ReceivedForm


@bp.post("/customers/<id:customer_id>/payments")
def record_received(customer_id):
    customer = tenancy.own(db.session, Customer, customer_id) or abort(404)
    back = redirect(url_for(".customer", customer_id=customer.id))
    form = ReceivedForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0] if form.errors else
              _("Give the invoice, the amount received (e.g. 1 234,56), the date it was "
                "received and, for a transfer, the bank's reference."), "warning")
        return back
    invoice = db.session.scalar(select(Invoice).where(Invoice.customer_id == customer.id,
                                                      Invoice.number == form.invoice_number.data))
    if invoice is None:
        flash(_("No invoice %(number)s: type the number as it appears in the invoices list.",
                number=form.invoice_number.data), "warning")
        return back
    reference = form.reference.data or f"manual:{uuid.uuid4().hex}"
    try:
        result = record_payment(customer=customer, source="manual", external_id=reference,
                                amount_cents=form.cents, received_on=form.received_on.data,
                                invoices=[invoice], actor="accountant")
    except ReplayConflict as exc:
        db.session.rollback()
        flash(conflict_message(reference, exc), "warning")
        return back
    except IntegrityError:  # the same entry posted twice at once: the other one recorded it
        db.session.rollback()
        flash(_("This payment was just recorded by another request: it is counted once."),
              "warning")
        return back
    db.session.commit()
    flash(recorded_message(result, invoice.number) if not result.created else
          _("Payment of %(amount)s recorded for invoice %(number)s.",
            amount=money(form.cents, current_lang()), number=invoice.number), "success")
    return back
