"""Bank transfers from a CSV export, reconciled by invoice number: every row valid or nothing
written; a transfer already recorded (same external_id) is recognised and left alone.

Columns: invoice_number, amount, date, external_id (the bank's reference), currency (optional).
"""
from dataclasses import dataclass, field

from .imports import RowError, clean_text, parse_amount, parse_date, read_csv, width_error
from .bookkeeping import ReplayConflict, invoice_by_number, record_payment

REQUIRED = ("invoice_number", "amount", "date", "external_id")
OPTIONAL = ("currency",)


@dataclass
class TransferReport:
    rows: int = 0
    errors: list = field(default_factory=list)  # (line, field, message)
    recorded: int = 0
    replayed: int = 0
    credit_cents: int = 0

    @property
    def ok(self):
        return not self.errors


def _text(record, name, max_len):
    try:
        return clean_text(name, (record.get(name) or "").strip(), max_len)
    except ValueError as exc:
        raise RowError(name, str(exc)) from None


def _row(line, record, seen):
    invoice = invoice_by_number(_text(record, "invoice_number", 64))
    if invoice is None:
        raise RowError("invoice_number", f"no invoice {record.get('invoice_number')!r}")
    try:
        amount = parse_amount(record.get("amount"))
    except ValueError as exc:
        raise RowError("amount", str(exc)) from None
    if amount == 0:
        raise RowError("amount", "the amount is zero")
    try:
        received_on = parse_date(record.get("date"))
    except ValueError as exc:
        raise RowError("date", str(exc)) from None
    external_id = _text(record, "external_id", 255)
    if not external_id:
        raise RowError("external_id", "the bank reference is empty; it makes re-imports safe")
    if external_id in seen:
        raise RowError("external_id", f"{external_id} already appears on line {seen[external_id]}")
    if (record.get("currency") or "EUR").strip().upper() != "EUR":
        raise RowError("currency", "only EUR is supported")
    seen[external_id] = line
    return line, invoice, amount, received_on, external_id


def import_transfers(data, dry_run=False):
    """Validate then record; the caller commits (or rolls back on errors)."""
    report, rows, seen = TransferReport(), [], {}
    try:
        for line, record in read_csv(data, REQUIRED, OPTIONAL):
            report.rows += 1
            if width_error(line, record):
                report.errors.append(width_error(line, record))
                continue
            try:
                rows.append(_row(line, record, seen))
            except RowError as exc:
                report.errors.append((line, exc.field, str(exc)))
    except RowError as exc:
        report.errors.append((1, exc.field, str(exc)))
    if report.errors or dry_run:
        return report
    for line, invoice, amount, received_on, external_id in rows:
        try:
            result = record_payment(customer=invoice.customer, source="csv",
                                    external_id=external_id, amount_cents=amount,
                                    received_on=received_on, invoices=[invoice])
        except ReplayConflict as exc:
            report.errors.append((line, "external_id", str(exc)))
            continue
        report.recorded += result.created
        report.replayed += not result.created
        report.credit_cents += result.credit_cents if result.created else 0
    return report
