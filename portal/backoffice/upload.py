"""Bring the books in from the web: upload a CSV of invoices, read what it would do (rows to
create, to update, unchanged, every error with its line), then confirm. The same all-or-nothing
rule and the same code as `flask invoices import`: the check is the real import in a
transaction that is rolled back, so what the report says is what the confirmation writes. The
file travels back with the confirmation (a hidden field): nothing is kept on the server."""
import base64
import binascii

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..imports import import_books
from . import bp
from .forms import PostForm

MAX_BYTES = 5 * 1024 * 1024  # a CSV of about 40,000 invoices


def _checked():
    form = PostForm()
    return form.validate_on_submit()


def _report(data, write):
    """The import's report; written (committed) only when `write` and the file is valid."""
    report = import_books(data)
    if write and report.ok:
        db.session.commit()
    else:
        db.session.rollback()
    return report


@bp.route("/import", methods=["GET", "POST"])
def upload():
    """The upload form, then the dry-run report with its confirm button."""
    if request.method == "GET":
        return render_template("backoffice/upload.html", form=PostForm())
    if not _checked():
        flash(_("The form expired: choose the file again."), "warning")
        return redirect(url_for(".upload"))
    uploaded = request.files.get("file")
    data = uploaded.read(MAX_BYTES + 1) if uploaded else b""
    if not data:
        flash(_("Choose a CSV file to import."), "warning")
        return render_template("backoffice/upload.html", form=PostForm()), 422
    if len(data) > MAX_BYTES:
        flash(_("The file is over 5 MB: split it into several files."), "warning")
        return render_template("backoffice/upload.html", form=PostForm()), 422
    filename = (uploaded.filename or "invoices.csv")[:200]
    report = _report(data, write=False)
    return render_template("backoffice/upload.html", form=PostForm(), report=report,
                           filename=filename,
                           content=base64.b64encode(data).decode("ascii") if report.ok else None
                           ), 200 if report.ok else 422


@bp.post("/import/confirm")
def confirm_upload():
    """Write the file checked on the previous page (checked again: all rows, or nothing)."""
    if not _checked():
        flash(_("The form expired: choose the file again."), "warning")
        return redirect(url_for(".upload"))
    try:
        data = base64.b64decode(request.form.get("content", ""), validate=True)
    except (binascii.Error, ValueError):
        data = b""
    filename = request.form.get("filename", "invoices.csv")[:200]
    if not data or len(data) > MAX_BYTES:
        flash(_("Choose a CSV file to import."), "warning")
        return redirect(url_for(".upload"))
    report = _report(data, write=True)
    if not report.ok:
        return render_template("backoffice/upload.html", form=PostForm(), report=report,
                               filename=filename, content=None), 422
    flash(_("%(file)s imported: %(created)d invoice(s) created, %(updated)d updated, "
            "%(unchanged)d unchanged.", file=filename, created=report.invoices_created,
            updated=report.invoices_updated, unchanged=report.invoices_unchanged), "success")
    return redirect(url_for(".invoices"))
