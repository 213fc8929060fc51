"""Tomorrow's run before it happens: what it would send, by level and channel; hold a single
reminder; and the "review before sending" switch with the reminders waiting for release."""
import time
from collections import Counter
from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from sqlalchemy import select, update

from reminders.run import preview
from ..rules.schedule import calendar_for

from .. import changes, clock, tenancy
from ..extensions import db
from ..i18n import current_lang
from ..imports import parse_date
from ..bookkeeping import place_hold, release_hold
from ..models import Customer, Hold, Instalment, Invoice, Reminder
from ..settings import review_before_sending, set_review_before_sending
from ..settings import creditor, current as current_settings, forget as forget_settings
from . import bp, page_of
from .forms import PostForm

CHANNEL_NAMES = {"email": _l("e-mail"), "letter": _l("letter"), "call": _l("call"),
                 "sms": _l("SMS")}


def channel_label(level, names=None):
    """"e-mail + call": what a level does, read from its attributes (`names`: the channel names
    already translated, when labelling many levels)."""
    if level is None:  # planned at a level the settings no longer have: the run drops it
        return "—"
    return channels_label(level.channels, names)


def channels_label(channels, names=None):
    """"e-mail + call" for ("email", "call"), in the reader's language."""
    names = names or {k: str(v) for k, v in CHANNEL_NAMES.items()}
    return " + ".join(names.get(c, c) for c in channels)


def next_run_day(today):
    return calendar_for(creditor().holiday_country).next_business_day(
        today + timedelta(days=1))


def _chunks(values, size=10_000):
    for start in range(0, len(values), size):
        yield values[start:start + size]


KEEP = 8  # previews kept per application (a creditor's next run, in a language)


def kept_preview(as_of):
    """(rows, summary) of the run on `as_of`: computed from the books once, then kept while
    the books' version (`portal.changes`) stays the same (at most `changes.KEEP_SECONDS`).
    Scanning 100,000 invoices takes seconds; reading the version, a fraction of a millisecond."""
    kept = current_app.extensions.get("relance_previews")
    if kept is None:
        kept = current_app.extensions.setdefault("relance_previews", changes.Kept(KEEP))
    key = (tenancy.current_id(), as_of, clock.today(), current_lang())
    version = changes.version()  # before the books: see portal.changes
    found = kept.get(key)
    if found is not None and found[0] == version and \
            time.monotonic() - found[1] < changes.KEEP_SECONDS:
        return found[2]
    # The creditor and its settings were read earlier in this request (the date): read them
    # again, after the version, or a save committed in between would be kept under it.
    forget_settings()
    rows = preview_rows(as_of)
    result = (rows, sorted(Counter((level, channel) for level, channel, *_r in rows).items()))
    kept.put(key, (version, time.monotonic(), result))
    return result


def preview_rows(as_of):
    """[(level, channel, customer (id, name), what, invoice id or None, reason)] by level."""
    groups = preview(as_of)
    customers, numbers, seqs = {}, {}, {}
    # In chunks: PostgreSQL takes at most 65,535 parameters in one statement.
    for ids in _chunks(list(groups)):
        customers.update((c.id, c) for c in db.session.execute(
            select(Customer.id, Customer.name, Customer.tier, Customer.policy)
            .where(Customer.id.in_(ids))))
    dues = [d for ds in groups.values() for d in ds]
    for ids in _chunks([d.invoice_id for d in dues if d.invoice_id]):
        numbers.update(db.session.execute(select(Invoice.id, Invoice.number)
                                          .where(Invoice.id.in_(ids))).all())
    for ids in _chunks([d.instalment_id for d in dues if d.instalment_id]):
        seqs.update(db.session.execute(select(Instalment.id, Instalment.seq)
                                       .where(Instalment.id.in_(ids))).all())
    rows, settings = [], current_settings()
    names = {k: str(v) for k, v in CHANNEL_NAMES.items()}
    instalment = _("instalment #%(seq)s")  # worded once: the run can list many thousands
    labels = {}  # (tier, policy, level) -> "e-mail + call": worded once, not per reminder
    for customer_id, customer_dues in groups.items():
        customer = customers[customer_id]
        for due in customer_dues:
            if due.invoice_id:
                key = (customer.tier, customer.policy, due.level)
                if key not in labels:
                    policy = settings.policy_for(customer.tier, customer.policy)
                    labels[key] = channel_label(policy.level_for(due.level), names)
                what, channel = numbers.get(due.invoice_id), labels[key]
            else:
                what, channel = instalment % {"seq": seqs.get(due.instalment_id)}, names["email"]
            rows.append((due.level, channel, customer, what, due.invoice_id, due.reason))
    return sorted(rows, key=lambda r: (-r[0], r[2].name, r[3]))


PREVIEW_PAGE = 100


@bp.get("/preview")
def preview_page():
    try:
        as_of = parse_date(request.args["date"]) if request.args.get("date") \
            else next_run_day(clock.today())
    except ValueError as exc:
        abort(400, f"date: {exc}")
    waiting = db.session.execute(select(Reminder, Customer).join(
        Customer, Customer.id == Reminder.customer_id).where(Reminder.state == "review")
        .order_by(Reminder.scheduled_for, Customer.name)).all()
    rows, summary = kept_preview(as_of)
    shown, page, pages = page_of(rows, PREVIEW_PAGE)
    handed_over = db.session.execute(  # not reminded: with a bailiff or the court
        select(Customer.id, Customer.name, Customer.handed_over_on)
        .where(Customer.handed_over_on.is_not(None)).order_by(Customer.name)).all()
    return render_template("backoffice/preview.html", as_of=as_of, total=len(rows),
                           summary=summary, page=page, pages=pages, rows=shown,
                           review=review_before_sending(), waiting=waiting,
                           form=PostForm(), handed_over=handed_over)


def _checked():
    if not PostForm().validate_on_submit():
        abort(400)


@bp.post("/preview/hold/<id:invoice_id>")
def hold_reminder(invoice_id):
    """Keep this invoice out of the runs until the accountant lifts the hold."""
    _checked()
    invoice = tenancy.own(db.session, Invoice, invoice_id) or abort(404)
    place_hold(invoice, "manual_pause", clock.today(), actor="accountant",
               by=current_user.email, number=invoice.number)
    db.session.commit()
    flash(_("Reminder for invoice %(number)s held back.", number=invoice.number), "success")
    return redirect(request.referrer or url_for(".preview_page"))


@bp.post("/holds/<id:hold_id>/release")
def release(hold_id):
    _checked()
    hold = tenancy.own(db.session, Hold, hold_id) or abort(404)
    if hold.kind != "manual_pause" or hold.released_at is not None:
        abort(404)
    release_hold(hold, actor="accountant", reason=f"lifted by {current_user.email}")
    db.session.commit()
    flash(_("Pause lifted."), "success")
    return redirect(url_for(".customer", customer_id=hold.customer_id))


@bp.post("/settings/review")
def review_switch():
    _checked()
    on = request.form.get("review") == "on"
    set_review_before_sending(on)
    db.session.commit()
    flash(_("Review before sending: on") if on else _("Review before sending: off"),
          "success")
    return redirect(url_for(".preview_page"))


@bp.post("/review/release")
def release_reviewed():
    """Release the reminders waiting for review (all, or the ones ticked): the next run sends."""
    _checked()
    ids = [int(v) for v in request.form.getlist("reminder_ids") if v.isdigit()]
    query = update(Reminder).where(Reminder.state == "review")
    if ids:
        query = query.where(Reminder.id.in_(ids))
    released = db.session.execute(query.values(state="pending")).rowcount
    db.session.commit()
    flash(ngettext("%(num)d reminder released: it will go out with the next run.",
                   "%(num)d reminders released: they will go out with the next run.", released),
          "success")
    return redirect(url_for(".preview_page"))
