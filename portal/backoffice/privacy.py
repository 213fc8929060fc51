"""A debtor's personal data from the debtor page: "Exporter les données" (one ZIP) and "Effacer
les données personnelles" (a confirmation page that says what goes and what stays, then the
erasure), and the retention period on the settings page. The rules are `portal.privacy`; these
views read the form, commit, and say what happened."""
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock, settings, tenancy
from ..extensions import db
from ..bookkeeping import record_event
from ..models import Customer
from ..privacy import export_name, export_zip, verdict
from ..privacy.erase import ErasureRefused, erase, inventory
from ..settings.document import RETENTION_MONTHS, SettingsInvalid
from . import bp
from .forms import PostForm
from .timeline import describe


def _customer(customer_id):
    return tenancy.own(db.session, Customer, customer_id) or abort(404)


def _checked():
    if not PostForm().validate_on_submit():
        abort(400)


def _retention():
    return settings.current().privacy.retention_months


@bp.post("/customers/<id:customer_id>/privacy/export")
def privacy_export(customer_id):
    """The ZIP of everything about the debtor; the export is on the timeline (who, when)."""
    found = _customer(customer_id)
    _checked()
    today = clock.today()
    data = export_zip(found, today, describe=lambda event, number: describe(event, number).text)
    name = export_name(found, today)
    record_event(found.id, "data_exported", actor="accountant", by=current_user.email)
    db.session.commit()
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/customers/<id:customer_id>/privacy/erase", methods=["GET", "POST"])
def privacy_erase(customer_id):
    """GET: what an erasure replaces and keeps, and whether it is possible; POST (confirmed):
    erase, or refuse with the reason (nothing changed)."""
    found = _customer(customer_id)
    form = PostForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if request.form.get("confirm") != "yes":
            flash(_("Tick the box to confirm the erasure; nothing was erased."), "warning")
            return redirect(url_for(".privacy_erase", customer_id=found.id))
        return _erase(found)
    months = _retention()
    return render_template("backoffice/privacy_erase.html", customer=found, form=form,
                           verdict=verdict(found, clock.today(), months), months=months,
                           counts=inventory(found))


def _erase(found):
    try:
        done = erase(found, clock.today(), current_user.email, _retention(), on_request=True)
    except ErasureRefused as exc:
        db.session.rollback()
        flash(_("Not erased: %(reason)s", reason=exc), "warning")
        return redirect(url_for(".privacy_erase", customer_id=found.id))
    db.session.commit()
    flash(_("Personal data erased; amounts, dates and invoice numbers are kept.") if done
          else _("The personal data were already erased."), "success" if done else "warning")
    return redirect(url_for(".customer", customer_id=found.id))


@bp.post("/settings/privacy")
def privacy_settings():
    """The retention period (months after the last invoice settled), saved as a revision."""
    _checked()
    raw = request.form.get("retention_months", "").strip()
    document = settings.editable()
    document["privacy"] = {"retention_months": int(raw) if raw.isascii() and raw.isdigit()
                           and len(raw) < 6 else raw}
    try:
        changed = settings.save(document, current_user.email, note="privacy")
    except SettingsInvalid:
        db.session.rollback()
        flash(_("The retention period is a whole number of months from %(low)d to %(high)d.",
                low=RETENTION_MONTHS[0], high=RETENTION_MONTHS[1]), "warning")
        return redirect(url_for(".settings_page"))
    db.session.commit()
    flash(_("Retention period saved.") if changed else _("Nothing changed."), "success")
    return redirect(url_for(".settings_page"))
