"""Invoice import (CSV file or JSON API): every row validated first, then all written or nothing.

CSV contract (DESIGN.md 5): UTF-8 with or without BOM, comma or semicolon, a header row with
customer_ref, customer_name, email, phone, language, invoice_number, issue_date, due_date, currency,
amount, amount_paid. Dates ISO or DD/MM/YYYY; amounts 1234.56 or 1 234,56.
"""
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from .extensions import db
from .ledger import record_event, set_import_paid
from .models import Customer, Invoice

REQUIRED = ("customer_ref", "customer_name", "email", "invoice_number", "issue_date", "due_date",
            "amount")
OPTIONAL = ("phone", "language", "currency", "amount_paid", "address")
LANGUAGES = ("fr", "en")
EMAIL_RE = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
SPACES = str.maketrans("", "", " \u00a0\u202f\t'")


class RowError(ValueError):
    """One field of one row is wrong; `field` names it."""

    def __init__(self, field_name, message):
        super().__init__(message)
        self.field = field_name


@dataclass
class InvoiceRow:
    line: int
    customer_ref: str
    customer_name: str
    emails: str
    phone: str | None
    address: str | None
    language: str
    invoice_number: str
    issue_date: date
    due_date: date
    currency: str
    amount_cents: int
    paid_cents: int


@dataclass
class ImportReport:
    rows: int = 0
    errors: list = field(default_factory=list)  # (line, field, message)
    customers_created: int = 0
    customers_updated: int = 0
    invoices_created: int = 0
    invoices_updated: int = 0
    invoices_unchanged: int = 0

    @property
    def ok(self):
        return not self.errors


def parse_date(text):
    text = (text or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date: write YYYY-MM-DD or DD/MM/YYYY")


def parse_amount(text):
    """'1 234,56', '1234.56', '1,234.56' or '1.234,56' -> 123456 cents; never a float."""
    raw = (text or "").strip()
    clean = raw.translate(SPACES).replace("€", "").replace("EUR", "")
    if not clean:
        raise ValueError("the amount is empty")
    if "," in clean and "." in clean:
        decimal_sep = "," if clean.rfind(",") > clean.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        clean = clean.replace(thousands, "").replace(decimal_sep, ".")
    elif "," in clean:
        if clean.count(",") > 1:
            raise ValueError(f"{raw!r} is not an amount: write 1234.56 or 1 234,56")
        clean = clean.replace(",", ".")
    elif clean.count(".") > 1:
        head, *groups = clean.split(".")
        if not all(len(g) == 3 for g in groups):
            raise ValueError(f"{raw!r} is not an amount: write 1234.56 or 1 234,56")
        clean = head + "".join(groups)
    try:
        value = Decimal(clean)
    except InvalidOperation:
        raise ValueError(f"{raw!r} is not an amount: write 1234.56 or 1 234,56") from None
    if not value.is_finite() or value.as_tuple().exponent < -2:
        raise ValueError(f"{raw!r} has more than two decimals (is ',' a thousands separator? "
                         "write 1234.00 or 1 234,00)")
    if value < 0:
        raise ValueError(f"{raw!r} is negative: import credit notes as payments instead")
    return int(value * 100)


def parse_emails(text):
    emails = [e for e in re.split(r"[\s,;]+", (text or "").strip()) if e]
    if not emails:
        raise ValueError("the e-mail address is empty")
    for email in emails:
        if not EMAIL_RE.match(email):
            raise ValueError(f"{email!r} is not an e-mail address")
        if not email.isascii():
            raise ValueError(f"{email!r} has accented characters: internationalised addresses "
                             "are not supported, ask the customer for a plain one")
    return ", ".join(emails)


def _field(record, name, parser):
    try:
        return parser(record.get(name))
    except ValueError as exc:
        raise RowError(name, str(exc)) from None


def _text(name, max_len, required=True):
    def parse(value):
        value = ("" if value is None else str(value)).strip()
        if required and not value:
            raise ValueError(f"{name} is empty")
        if len(value) > max_len:
            raise ValueError(f"{name} is longer than {max_len} characters")
        return value or None
    return parse


def _language(value):
    value = (value or "fr").strip().lower()[:2] or "fr"
    if value not in LANGUAGES:
        raise ValueError(f"language {value!r} is not supported: use fr or en")
    return value


def _currency(value):
    value = (value or "EUR").strip().upper() or "EUR"
    if value != "EUR":
        raise ValueError(f"currency {value!r} is not supported yet: only EUR")
    return value


def parse_record(record, line):
    """Validate one dict of CSV columns; raise RowError naming the first wrong field."""
    issue = _field(record, "issue_date", parse_date)
    due = _field(record, "due_date", parse_date)
    if due < issue:
        raise RowError("due_date", f"due date {due} is before issue date {issue}")
    amount = _field(record, "amount", parse_amount)
    if amount == 0:
        raise RowError("amount", "the amount is zero")
    paid = 0 if not (record.get("amount_paid") or "").strip() else _field(record, "amount_paid",
                                                                          parse_amount)
    if paid > amount:
        raise RowError("amount_paid", "amount_paid is larger than amount")
    return InvoiceRow(
        line=line,
        customer_ref=_field(record, "customer_ref", _text("customer_ref", 64)),
        customer_name=_field(record, "customer_name", _text("customer_name", 200)),
        emails=_field(record, "email", parse_emails),
        phone=_field(record, "phone", _text("phone", 40, required=False)),
        address=_field(record, "address", _text("address", 300, required=False)),
        language=_field(record, "language", _language),
        invoice_number=_field(record, "invoice_number", _text("invoice_number", 64)),
        issue_date=issue, due_date=due,
        currency=_field(record, "currency", _currency),
        amount_cents=amount, paid_cents=paid,
    )


def read_csv(data, required=REQUIRED, optional=OPTIONAL):
    """Yield (line number, dict of columns) from CSV bytes; raise RowError for a bad header."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RowError("file", f"the file is not UTF-8 (byte {exc.start}): export it as "
                               "'CSV UTF-8' and import again") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise RowError("header", f"missing column(s): {', '.join(missing)}; the header must name "
                                 f"{', '.join(required + optional)}")
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            yield reader.line_num, {"__width__": (len(values), len(header))}
            continue
        yield reader.line_num, dict(zip(header, values))


def width_error(line, record):
    """The error for a row whose column count differs from the header's, or None."""
    if "__width__" not in record:
        return None
    got, want = record["__width__"]
    return (line, "row", f"{got} columns where the header has {want}; check the delimiter and "
                         "quote amounts like \"1 234,56\"")


def validate(records):
    """Turn (line, dict) pairs into InvoiceRows; return (rows, errors)."""
    rows, errors, seen = [], [], {}
    for line, record in records:
        if width_error(line, record):
            errors.append(width_error(line, record))
            continue
        try:
            row = parse_record(record, line)
        except RowError as exc:
            errors.append((line, exc.field, str(exc)))
            continue
        if row.invoice_number in seen:
            errors.append((line, "invoice_number", f"invoice {row.invoice_number} already appears "
                                                   f"on line {seen[row.invoice_number]}"))
            continue
        seen[row.invoice_number] = line
        rows.append(row)
    return rows, errors


def import_rows(rows, dry_run=False):
    """Write validated rows (all or nothing). Returns an ImportReport; the caller commits."""
    report = ImportReport(rows=len(rows))
    numbers = [r.invoice_number for r in rows]
    existing = {}
    for start in range(0, len(numbers), 500):
        chunk = numbers[start:start + 500]
        for inv in db.session.scalars(select(Invoice).where(Invoice.number.in_(chunk))):
            existing[inv.number] = inv
    customers = {}
    for row in rows:
        inv = existing.get(row.invoice_number)
        if inv is not None and inv.customer.ref != row.customer_ref:
            report.errors.append((row.line, "customer_ref",
                                  f"invoice {row.invoice_number} belongs to customer "
                                  f"{inv.customer.ref}; a re-import cannot move it"))
    if report.errors or dry_run:
        return report
    for row in rows:
        customer = customers.get(row.customer_ref) or _upsert_customer(row, report)
        customers[row.customer_ref] = customer
        _upsert_invoice(row, customer, existing.get(row.invoice_number), report)
    db.session.flush()
    return report


def _upsert_customer(row, report):
    customer = db.session.scalar(select(Customer).where(Customer.ref == row.customer_ref))
    values = dict(name=row.customer_name, email=row.emails, phone=row.phone, language=row.language)
    if row.address:
        values["address"] = row.address
    if customer is None:
        customer = Customer(ref=row.customer_ref, **values)
        db.session.add(customer)
        db.session.flush()
        report.customers_created += 1
    elif any(getattr(customer, k) != v for k, v in values.items()):
        for k, v in values.items():
            setattr(customer, k, v)
        report.customers_updated += 1
    return customer


def _upsert_invoice(row, customer, invoice, report):
    values = dict(issue_date=row.issue_date, due_date=row.due_date, currency=row.currency,
                  total_cents=row.amount_cents)
    if invoice is None:
        invoice = Invoice(number=row.invoice_number, customer=customer, **values)
        db.session.add(invoice)
        db.session.flush()
        record_event(customer.id, "invoice_imported", invoice_id=invoice.id,
                     number=invoice.number, amount_cents=row.amount_cents,
                     due_date=row.due_date.isoformat())
        set_import_paid(invoice, row.paid_cents, received_on=row.issue_date)
        report.invoices_created += 1
        return invoice
    before = [getattr(invoice, k) for k in values] + [invoice.paid_cents]
    for k, v in values.items():
        setattr(invoice, k, v)
    set_import_paid(invoice, row.paid_cents, received_on=row.issue_date)
    after = [getattr(invoice, k) for k in values] + [invoice.paid_cents]
    if before == after:
        report.invoices_unchanged += 1
    else:
        record_event(customer.id, "invoice_updated", invoice_id=invoice.id, number=invoice.number,
                     amount_cents=row.amount_cents, paid_cents=invoice.paid_cents)
        report.invoices_updated += 1
    return invoice


def import_csv(data, dry_run=False):
    """Validate and import CSV bytes. Nothing is written unless every row is valid."""
    try:
        rows, errors = validate(read_csv(data))
    except RowError as exc:
        return ImportReport(errors=[(1, exc.field, str(exc))])
    if errors:
        return ImportReport(rows=len(rows) + len(errors), errors=errors)
    return import_rows(rows, dry_run=dry_run)
