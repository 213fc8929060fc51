"""Handing a debtor over (to a bailiff, for an injonction de payer) from the debtor page: the
rules and the dossier are `portal.handover`; this view only reads the form and commits."""
from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock, tenancy
from ..extensions import db
from ..handover import HandoffRefused, eligible, hand_over, status
from ..models import Customer
from . import bp
from .forms import HandoffForm


def handoff_facts(found):
    """For the debtor page: the hand-over's status, whether it is possible today (and why
    not), and its form."""
    state, facts = status(found)
    return dict(handoff_state=state, handoff=facts,
                handoff_verdict=None if state == "open" else eligible(found, clock.today()),
                handoff_form=HandoffForm(siren=found.siren, address=found.address))


@bp.post("/customers/<id:customer_id>/handoff")
def handoff(customer_id):
    """Hand over and offer the dossier (kept as an attachment, downloadable from then on)."""
    found = tenancy.own(db.session, Customer, customer_id) or abort(404)
    form = HandoffForm()
    back = redirect(url_for(".customer", customer_id=found.id))
    if not form.validate_on_submit():
        errors = [e for errors in form.errors.values() for e in errors]
        flash(_("Not handed over: %(error)s", error="; ".join(map(str, errors))), "warning")
        return back
    found.siren = form.siren.data or found.siren
    found.address = (form.address.data or "").strip() or found.address
    db.session.flush()  # before hand_over's lock reads the customer again
    try:
        kept = hand_over(found, clock.today(), by=current_user.email, to=form.to.data)
    except HandoffRefused as exc:
        db.session.rollback()
        flash(_("Not handed over: %(error)s", error=exc), "warning")
        return back
    db.session.commit()
    flash(_("File handed over: download the dossier (%(file)s) from the debtor's status.",
            file=kept.filename), "success")
    return back
