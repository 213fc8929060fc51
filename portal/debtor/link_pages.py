"""The pages of a portal link that does not open the portal: expired (410) or not valid (404).

They name the creditor the debtor can turn to, with its e-mail and phone, wherever that can be
known: an expired or a revoked link is authentic (its signature holds), so its customer's
creditor is named; a tampered link says nothing that can be trusted, so the page names the
installation's creditor when there is only one, and otherwise stays neutral, without a brand
that would read like phishing, and tells the debtor to use the contact details on the invoice."""
from flask import render_template
from sqlalchemy import select

from .. import tenancy
from ..extensions import db
from ..models import Creditor
from ..settings import creditor
from .forms import ActionForm


def creditor_to_name(creditor_id=None):
    """The identity (CreditorFacts) of the creditor the page may name, or None."""
    if creditor_id is None:
        ids = db.session.scalars(select(Creditor.id).order_by(Creditor.id).limit(2)).all()
        if len(ids) > 1:
            return None  # several creditors, and nothing trustworthy says whose link it was
        creditor_id = ids[0] if ids else None  # none yet: the installation's CREDITOR_*
    with tenancy.scope(creditor_id):
        return creditor()


def expired_page(creditor_id):
    return render_template("debtor/expired.html", form=ActionForm(),
                           creditor=creditor_to_name(creditor_id),
                           link_page=True), 410


def invalid_page(creditor_id=None):
    return render_template("debtor/invalid.html", creditor=creditor_to_name(creditor_id),
                           link_page=True), 404
