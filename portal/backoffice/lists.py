"""The debtors list and the invoices list: search, filters, sort, pages, CSV of the filtered
list, and on each row what the schedule will do next. The queries are `portal.receivables`;
the next actions come from the run's planner for the rows shown (`reminders.scan.upcoming_of`)."""
from flask import render_template, request

from reminders.scan import upcoming_of

from .. import clock
from ..extensions import db
from ..i18n import plain_amount
from ..bookkeeping import HOLD_KINDS
from ..receivables import (BUCKETS, DEBTOR_TYPES, TIERS, Filters, debtors_query, invoices_query,
                           page_of)
from . import bp
from .metrics import BUCKET_LABELS, csv_safe
from .next_step import next_per_debtor as _next_per_debtor, next_words
from .views import _csv

CSV_LIMIT = 100_000


def _choices():
    return dict(tiers=TIERS, debtor_types=DEBTOR_TYPES, buckets=BUCKETS,
                bucket_labels=BUCKET_LABELS, hold_kinds=HOLD_KINDS)


@bp.get("/debtors")
def debtors():
    """Every debtor, searchable and filterable, with what to do next."""
    filters, today = Filters.from_args(request.args), clock.today()
    rows, total, pages, page = page_of(debtors_query(filters, today), filters.page)
    upcoming = _next_per_debtor(upcoming_of([r.id for r in rows], today))
    return render_template("backoffice/debtors.html", rows=rows, total=total, pages=pages,
                           page=page, filters=filters, upcoming=upcoming, next_words=next_words,
                           today=today, **_choices())


@bp.get("/debtors.csv")
def debtors_csv():
    filters, today = Filters.from_args(request.args), clock.today()
    rows = _all(debtors_query(filters, today))
    upcoming = _next_per_debtor(upcoming_of([r.id for r in rows], today))
    out = [["customer_ref", "customer_name", "email", "phone", "tier", "debtor_type",
            "balance", "open_invoices", "oldest_due_date", "highest_level", "last_contact",
            "last_payment", "credit", "handed_over_on", "next_action"]]
    for r in rows:
        out.append([csv_safe(r.ref), csv_safe(r.name), csv_safe(r.email), csv_safe(r.phone or ""),
                    r.tier, r.debtor_type, plain_amount(r.balance), r.open_count,
                    r.oldest_due.isoformat() if r.oldest_due else "",
                    "" if r.highest_level is None else r.highest_level,
                    r.last_contact.isoformat() if r.last_contact else "",
                    r.last_payment.isoformat() if r.last_payment else "",
                    plain_amount(max(0, r.credit)),
                    r.handed_over_on.isoformat() if r.handed_over_on else "",
                    next_words(upcoming.get(r.id))])
    return _csv(out, "debtors.csv")


@bp.get("/invoices")
def invoices():
    """Every invoice (open by default), searchable and filterable, with what comes next."""
    filters, today = Filters.from_args(request.args), clock.today()
    rows, total, pages, page = page_of(invoices_query(filters, today), filters.page)
    upcoming = upcoming_of(sorted({r.customer_id for r in rows}), today)
    return render_template("backoffice/invoices.html", rows=rows, total=total, pages=pages,
                           page=page, filters=filters, next_words=next_words, today=today,
                           upcoming={k: v for k, (_c, v) in upcoming.items()}, **_choices())


@bp.get("/invoices.csv")
def invoices_csv():
    filters, today = Filters.from_args(request.args), clock.today()
    rows = _all(invoices_query(filters, today))
    upcoming = upcoming_of(sorted({r.customer_id for r in rows}), today)
    out = [["invoice_number", "customer_ref", "customer_name", "issue_date", "due_date",
            "days_late", "amount", "balance", "status", "highest_level", "last_contact",
            "next_action", "discount"]]
    for r in rows:
        next_one = upcoming.get(r.id, (None, None))[1] if r.status == "open" else None
        out.append([csv_safe(r.number), csv_safe(r.ref), csv_safe(r.name),
                    r.issue_date.isoformat(), r.due_date.isoformat(),
                    max(0, (today - r.due_date).days), plain_amount(r.total_cents),
                    plain_amount(r.balance), r.status,
                    "" if r.highest_level is None else r.highest_level,
                    r.last_contact.isoformat() if r.last_contact else "",
                    next_words(next_one) if r.status == "open" else "",
                    plain_amount(r.discount)])
    return _csv(out, "invoices.csv")


def _all(query):
    return db.session.execute(query.limit(CSV_LIMIT)).all()
