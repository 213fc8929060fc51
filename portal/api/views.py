"""POST /invoices, POST /payments, GET /invoices/<number>, GET /customers/<ref>/timeline."""

from flask import request
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..i18n import plain_amount
from ..imports import import_rows, parse_amount, parse_date, validate
from ..ledger import LedgerError, invoice_by_number, record_payment
from ..models import Customer, Event
from . import api_error, bp


def _json_body():
    body = request.get_json(silent=True)
    if body is None:
        return None, api_error(400, "invalid_json", "The body must be JSON "
                                                    "(Content-Type: application/json).")
    return body, None


def _invoice_json(invoice):
    return {"number": invoice.number, "customer_ref": invoice.customer.ref,
            "issue_date": invoice.issue_date.isoformat(), "due_date": invoice.due_date.isoformat(),
            "currency": invoice.currency, "amount": plain_amount(invoice.total_cents),
            "amount_paid": plain_amount(invoice.paid_cents), "balance": plain_amount(invoice.balance_cents),
            "status": invoice.status}


@bp.post("/invoices")
def post_invoices():
    body, error = _json_body()
    if error:
        return error
    records = body if isinstance(body, list) else [body]
    if not records or not all(isinstance(r, dict) for r in records):
        return api_error(400, "invalid_body", "Send an invoice object or a list of them.")
    as_text = [{k: "" if v is None else str(v) for k, v in r.items()} for r in records]
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
    fields = {}
    invoice = invoice_by_number(str(body.get("invoice_number", "")))
    if invoice is None:
        fields["invoice_number"] = "no invoice with this number"
    try:
        amount = parse_amount(str(body.get("amount", "")))
        if amount == 0:
            raise ValueError("the amount is zero")
    except ValueError as exc:
        fields["amount"] = str(exc)
    if str(body.get("currency", "EUR")).upper() != "EUR":
        fields["currency"] = "only EUR is supported"
    external_id = str(body.get("external_id", "")).strip()
    if not external_id:
        fields["external_id"] = "required: your unique id for this payment (replays are ignored)"
    try:
        received_on = parse_date(str(body["date"])) if body.get("date") else clock.today()
    except ValueError as exc:
        fields["date"] = str(exc)
    if fields:
        return api_error(422, "invalid_payment", "The payment was not recorded.", fields)
    try:
        result = record_payment(customer=invoice.customer, source="api", external_id=external_id,
                                amount_cents=amount, received_on=received_on, invoices=[invoice],
                                actor="api")
    except LedgerError as exc:
        db.session.rollback()
        return api_error(422, "invalid_payment", str(exc))
    db.session.commit()
    return {"external_id": external_id, "replayed": not result.created,
            "allocated": plain_amount(result.allocated_cents), "credit": plain_amount(result.credit_cents),
            "invoice": _invoice_json(invoice)}, 201 if result.created else 200


@bp.get("/invoices/<number>")
def get_invoice(number):
    invoice = invoice_by_number(number)
    if invoice is None:
        return api_error(404, "not_found", f"No invoice {number}.")
    return _invoice_json(invoice)


@bp.get("/customers/<ref>/timeline")
def get_timeline(ref):
    customer = db.session.scalar(select(Customer).where(Customer.ref == ref))
    if customer is None:
        return api_error(404, "not_found", f"No customer {ref}.")
    events = db.session.scalars(select(Event).where(Event.customer_id == customer.id)
                                .order_by(Event.at, Event.id)).all()
    return {"customer_ref": ref, "events": [
        {"at": e.at.isoformat(), "actor": e.actor, "kind": e.kind, "details": e.details}
        for e in events]}
