"""POST /invoices, POST /payments, GET /invoices/<number>, GET /customers/<ref>/timeline."""
import json

from flask import request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db
from ..i18n import plain_amount
from ..imports import clean_text, import_rows, parse_amount, parse_date, validate
from ..bookkeeping import LedgerError, ReplayConflict, invoice_by_number, record_payment
from ..models import Customer, Event
from ..payments.lifecycle import invoice_allocations
from . import api_error, bp

# Invoices per POST: a batch is written in one transaction, which holds SQLite's write lock
# while it lasts (about 2 s for 1,000 invoices); send larger sets in several requests.
MAX_BATCH = 1000


def _json_body():
    try:
        body = json.loads(request.get_data())
    except (ValueError, RecursionError):  # RecursionError: nested thousands of levels deep
        body = None
    if body is None:
        return None, api_error(400, "invalid_json", "The body must be JSON "
                                                    "(Content-Type: application/json).")
    return body, None


def _scalar_fields(record):
    """A record's values as the CSV would give them: text; numbers as written; lists, objects
    and booleans refused (a list is not an invoice number)."""
    out, wrong = {}, {}
    for key, value in record.items():
        if value is None:
            out[key] = ""
        elif isinstance(value, str) or (isinstance(value, (int, float))
                                        and not isinstance(value, bool)):
            out[key] = str(value)
        else:
            wrong[key] = "must be a string or a number"
    return out, wrong


def _invoice_json(invoice):
    """The invoice, with what settled it: `amount_paid` is money received, `discount` the
    early-payment discount granted (each also in `allocations`); together with `balance` they
    make `amount`."""
    settled = invoice_allocations(invoice.id)
    discount = sum(a.amount_cents for a, _p in settled if a.kind == "discount")
    return {"number": invoice.number, "customer_ref": invoice.customer.ref,
            "issue_date": invoice.issue_date.isoformat(), "due_date": invoice.due_date.isoformat(),
            "currency": invoice.currency, "amount": plain_amount(invoice.total_cents),
            "amount_paid": plain_amount(invoice.paid_cents - discount),
            "discount": plain_amount(discount), "balance": plain_amount(invoice.balance_cents),
            "status": invoice.status,
            "allocations": [{"kind": a.kind, "amount": plain_amount(a.amount_cents),
                             "source": p.source, "external_id": p.external_id,
                             "date": p.received_on.isoformat()} for a, p in settled]}


@bp.post("/invoices")
def post_invoices():
    body, error = _json_body()
    if error:
        return error
    records = body if isinstance(body, list) else [body]
    if not records or not all(isinstance(r, dict) for r in records):
        return api_error(400, "invalid_body", "Send an invoice object or a list of them.")
    if len(records) > MAX_BATCH:
        return api_error(413, "batch_too_large", f"{len(records)} invoices in one request; send "
                                                 f"at most {MAX_BATCH} per request.")
    as_text, wrong = [], {}
    for index, record in enumerate(records):
        fields, bad = _scalar_fields(record)
        as_text.append(fields)
        wrong.update({f"{index}.{k}": v for k, v in bad.items()})
    if wrong:
        return api_error(422, "invalid_invoices", "Nothing was saved: fix these fields.", wrong)
    rows, errors = validate(enumerate(as_text))
    report = None if errors else import_rows(rows)
    errors = errors or report.errors
    if errors:
        db.session.rollback()
        fields = {f"{index}.{field}": message for index, field, message in errors}
        return api_error(422, "invalid_invoices", f"{len(errors)} invalid invoice(s); nothing was "
                                                  "saved. Fix them and send the batch again.",
                         fields)
    db.session.commit()
    return {"created": report.invoices_created, "updated": report.invoices_updated,
            "unchanged": report.invoices_unchanged}, 201 if report.invoices_created else 200


@bp.post("/payments")
def post_payment():
    body, error = _json_body()
    if error:
        return error
    if not isinstance(body, dict):
        return api_error(400, "invalid_body", "Send one payment object.")
    values, fields = _scalar_fields(body)
    invoice = _invoice(values.get("invoice_number", "")) if "invoice_number" not in fields \
        else None
    if invoice is None:
        fields.setdefault("invoice_number", "no invoice with this number")
    try:
        amount = parse_amount(values.get("amount", ""))
        if amount == 0:
            raise ValueError("the amount is zero")
    except ValueError as exc:
        fields.setdefault("amount", str(exc))
    if (values.get("currency") or "EUR").upper() != "EUR":
        fields.setdefault("currency", "only EUR is supported")
    external_id = values.get("external_id", "").strip()
    try:
        if not external_id:
            raise ValueError("required: your unique id for this payment (replays are ignored)")
        clean_text("external_id", external_id, 255)
    except ValueError as exc:
        fields.setdefault("external_id", str(exc))
    try:
        received_on = parse_date(values["date"]) if values.get("date") else clock.today()
    except ValueError as exc:
        fields.setdefault("date", str(exc))
    if fields:
        return api_error(422, "invalid_payment", "The payment was not recorded.", fields)
    try:
        result = _record_api_payment(invoice, amount, external_id, received_on)
    except ReplayConflict as exc:
        db.session.rollback()
        return api_error(409, "external_id_conflict", str(exc), {"external_id": str(exc)})
    except LedgerError as exc:
        db.session.rollback()
        return api_error(422, "invalid_payment", str(exc))
    return {"external_id": external_id, "replayed": not result.created,
            "allocated": plain_amount(result.allocated_cents), "credit": plain_amount(result.credit_cents),
            "invoice": _invoice_json(invoice)}, 201 if result.created else 200


def _invoice(number):
    """The invoice with this number, or None (also for text no invoice number can be)."""
    try:
        return invoice_by_number(clean_text("invoice_number", number, 64))
    except ValueError:
        return None


def _record_api_payment(invoice, amount, external_id, received_on):
    """Record and commit; a concurrent request that recorded the same payment first makes this
    one a replay (the unique key on (source, external_id) decides), never a 500."""
    def record():
        result = record_payment(customer=invoice.customer, source="api", external_id=external_id,
                                amount_cents=amount, received_on=received_on, invoices=[invoice],
                                actor="api")
        db.session.commit()
        return result
    try:
        return record()
    except IntegrityError:
        db.session.rollback()
        return record()  # found now: answered as the replay it is


@bp.get("/invoices/<path:number>")
def get_invoice(number):
    invoice = _invoice(number)
    if invoice is None:
        return api_error(404, "not_found", f"No invoice {number[:64]!r}.")
    return _invoice_json(invoice)


@bp.get("/customers/<path:ref>/timeline")
def get_timeline(ref):
    try:
        customer = db.session.scalar(select(Customer).where(
            Customer.ref == clean_text("ref", ref, 64)))
    except ValueError:
        customer = None
    if customer is None:
        return api_error(404, "not_found", f"No customer {ref[:64]!r}.")
    events = db.session.scalars(select(Event).where(Event.customer_id == customer.id)
                                .order_by(Event.at, Event.id)).all()
    return {"customer_ref": ref, "events": [
        {"at": e.at.isoformat(), "actor": e.actor, "kind": e.kind, "details": e.details}
        for e in events]}
