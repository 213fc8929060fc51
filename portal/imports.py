"""Invoice import (CSV file or JSON API): every row validated first, then all written or nothing.

CSV contract (DESIGN.md 5): UTF-8 with or without BOM, comma or semicolon, a header row with
customer_ref, customer_name, email, phone, language, invoice_number, issue_date, due_date, currency,
amount, amount_paid. Dates ISO or DD/MM/YYYY; amounts 1234.56 or 1 234,56.
"""
import csv
import io
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from . import tenancy
from .extensions import db
from .ledger import record_event, set_import_paid
from .models import Customer, Invoice

REQUIRED = ("customer_ref", "customer_name", "email", "invoice_number", "issue_date", "due_date",
            "amount")
# Beyond any real invoice, and small enough that a sum over millions of them fits in 64 bits.
MAX_AMOUNT_CENTS = 10**12  # 10,000,000,000.00 EUR
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2100, 12, 31)
AMOUNT_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
OPTIONAL = ("phone", "language", "currency", "amount_paid", "address", "debtor_type", "siren")
DEBTOR_TYPES = ("business", "consumer", "public")
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
    debtor_type: str | None = None  # None: keep the customer's (a new one is a business)
    siren: str | None = None  # None: keep the customer's (the hand-over dossier names it)
    # From a source that does not know the customer's e-mail, phone or language (the FEC):
    # an existing customer keeps theirs.
    partial: bool = False


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
            day = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return in_range(day, text)
    raise ValueError(f"{text[:40]!r} is not a date: write YYYY-MM-DD or DD/MM/YYYY")


def in_range(day, text=None):
    """`day` if an invoice can carry it, whichever file it came from: year 1 or 9999 is a
    typing error, and the schedule adds days to it (date.max + 1 day overflows)."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{text or day.isoformat()!r} is out of range: dates go from "
                         f"{FIRST_DAY} to {LAST_DAY}")
    return day


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
    if clean.startswith("-") and AMOUNT_RE.match(clean[1:]):
        raise ValueError(f"{raw!r} is negative: import credit notes as payments instead")
    if not AMOUNT_RE.match(clean):  # plain ASCII digits only: no "1_000", "1e30" or "٣"
        raise ValueError(f"{raw[:40]!r} is not an amount: write 1234.56 or 1 234,56")
    value = Decimal(clean)
    if value.as_tuple().exponent < -2:
        raise ValueError(f"{raw!r} has more than two decimals (is ',' a thousands separator? "
                         "write 1234.00 or 1 234,00)")
    cents = int(value * 100)
    if cents > MAX_AMOUNT_CENTS:
        raise ValueError(f"{raw[:40]!r} is beyond the largest amount accepted "
                         f"({MAX_AMOUNT_CENTS // 100:,} EUR)")
    return cents


def parse_emails(text):
    emails = [e for e in re.split(r"[\s,;]+", (text or "").strip()) if e]
    if not emails:
        raise ValueError("the e-mail address is empty")
    if len(", ".join(emails)) > 320:
        raise ValueError("the e-mail addresses are longer than 320 characters in all")
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


def clean_text(name, value, max_len):
    """A text field as stored: no control character (CR, LF, NUL, tab...), none of the lone
    surrogates JSON can carry, at most `max_len` characters."""
    if len(value) > max_len:
        raise ValueError(f"{name} is longer than {max_len} characters")
    if not value.isprintable():
        raise ValueError(f"{name} contains a control character (line break, tab, NUL...): "
                         "keep it on one line")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name} is not valid Unicode text") from None
    return value


# The text fields of an invoice row: their longest length, whether they may be empty.
TEXTS = {"customer_ref": (64, True), "customer_name": (200, True), "phone": (40, False),
         "address": (300, False), "invoice_number": (64, True)}


def _text(name, max_len=None, required=True):
    if max_len is None:
        max_len, required = TEXTS[name]

    def parse(value):
        value = ("" if value is None else str(value)).strip()
        if required and not value:
            raise ValueError(f"{name} is empty")
        return clean_text(name, value, max_len) or None
    return parse


def _language(value):
    value = (value or "fr").strip().lower()[:2] or "fr"
    if value not in LANGUAGES:
        raise ValueError(f"language {value!r} is not supported: use fr or en")
    return value


def _debtor_type(value):
    value = (value or "").strip().lower()
    if value and value not in DEBTOR_TYPES:
        raise ValueError(f"debtor_type {value!r} is unknown: use business, consumer or public "
                         "(or leave it empty for business)")
    return value or None


def _siren(value):
    """A company's SIREN: 9 digits, spaces allowed ("552 100 554"); empty: none given."""
    digits = "".join((value or "").split())
    if digits and not (digits.isascii() and digits.isdigit() and len(digits) == 9):
        raise ValueError(f"siren {value!r} is not 9 digits")
    return digits or None


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
        customer_ref=_field(record, "customer_ref", _text("customer_ref")),
        customer_name=_field(record, "customer_name", _text("customer_name")),
        emails=_field(record, "email", parse_emails),
        phone=_field(record, "phone", _text("phone")),
        address=_field(record, "address", _text("address")),
        language=_field(record, "language", _language),
        debtor_type=_field(record, "debtor_type", _debtor_type),
        siren=_field(record, "siren", _siren),
        invoice_number=_field(record, "invoice_number", _text("invoice_number")),
        issue_date=issue, due_date=due,
        currency=_field(record, "currency", _currency),
        amount_cents=amount, paid_cents=paid,
    )


def check_row(row):
    """The CSV's checks on a row another reader built (FEC, Factur-X): every text field as
    parse_record takes it, the e-mails through parse_emails, the dates within the CSV's bounds.
    Returns the row as stored (texts trimmed); raises RowError naming the field."""
    texts = {name: _field({name: getattr(row, name)}, name, _text(name)) for name in TEXTS}
    if row.emails:
        texts["emails"] = _field({"email": row.emails}, "email", parse_emails)
    for name in ("issue_date", "due_date"):
        _field({name: getattr(row, name)}, name, in_range)
    return replace(row, **texts)


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
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        raise RowError("header", f"the header cannot be read ({exc})") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise RowError("header", f"missing column(s): {', '.join(missing)}; the header must name "
                                 f"{', '.join(required + optional)}")
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise RowError("header", f"column(s) named twice: {', '.join(twice)}; keep one of each")
    rows, start = 0, reader.line_num + 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield start, {"__error__": f"this row cannot be read ({exc}); check its quotes"}
            return
        line, start = start, reader.line_num + 1  # a row's own first line, even over several
        if not any(v.strip() for v in values):
            continue
        rows += 1
        if len(values) != len(header):
            yield line, {"__width__": (len(values), len(header))}
            continue
        yield line, dict(zip(header, values))
    if not rows:
        raise RowError("file", "the file has a header but no rows: nothing to import")


def width_error(line, record):
    """The error for a row that could not be split into the header's columns, or None."""
    if "__error__" in record:
        return (line, "row", record["__error__"])
    if "__width__" not in record:
        return None
    got, want = record["__width__"]
    return (line, "row", f"{got} columns where the header has {want}; check the delimiter and "
                         "quote amounts like \"1 234,56\"")


CUSTOMER_FIELDS = ("customer_name", "emails", "phone", "language", "address", "debtor_type",
                   "siren")


def validate(records):
    """Turn (line, dict) pairs into InvoiceRows; return (rows, errors). A customer named on
    several rows must be described alike on each (else which row would win?)."""
    rows, errors, seen, customers = [], [], {}, {}
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
        first = customers.setdefault(row.customer_ref, row)
        differs = [f for f in CUSTOMER_FIELDS if getattr(row, f) != getattr(first, f)]
        if differs:
            errors.append((line, "customer_ref", f"customer {row.customer_ref} has another "
                                                 f"{differs[0].rstrip('s')} on line {first.line}; "
                                                 "give each customer the same details on every "
                                                 "row"))
            continue
        seen[row.invoice_number] = line
        rows.append(row)
    return rows, errors


def import_rows(rows, dry_run=False):
    """Write validated rows (all or nothing). Returns an ImportReport; the caller commits."""
    report = ImportReport(rows=len(rows))
    rows = _checked_rows(rows, report)
    if report.errors:
        return report
    numbers = [r.invoice_number for r in rows]
    existing = {}
    for start in range(0, len(numbers), 500):
        chunk = numbers[start:start + 500]
        for inv in db.session.scalars(select(Invoice).where(
                Invoice.number.in_(chunk), Invoice.creditor_id == tenancy.working_id())):
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


def _checked_rows(rows, report):
    """Every row through check_row, whatever read it: one validation for every importer."""
    checked = []
    for row in rows:
        try:
            checked.append(check_row(row))
        except RowError as exc:
            report.errors.append((row.line, exc.field, str(exc)))
    return checked


def _upsert_customer(row, report):
    creditor_id = tenancy.working_id()
    customer = db.session.scalar(select(Customer).where(Customer.ref == row.customer_ref,
                                                        Customer.creditor_id == creditor_id))
    values = dict(name=row.customer_name, email=row.emails, phone=row.phone, language=row.language)
    if row.partial and customer is not None:
        values = dict(name=row.customer_name)
    if row.address:
        values["address"] = row.address
    if row.debtor_type:
        values["debtor_type"] = row.debtor_type
    if row.siren:
        values["siren"] = row.siren
    if customer is None:
        customer = Customer(ref=row.customer_ref, creditor_id=creditor_id, **values)
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
        invoice = Invoice(number=row.invoice_number, customer=customer,
                          creditor_id=customer.creditor_id, **values)
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


def import_fec(data, payment_term_days=30, dry_run=False):
    """Import the open receivables of a FEC (`portal.fec`): its unlettered customer pieces
    become open invoices; a piece lettered since the last import closes its invoice. Nothing is
    written unless every line of the customer accounts can be read."""
    from .fec import read_fec
    from .settings import creditor
    rows, errors = read_fec(data, payment_term_days, creditor().language or "fr")
    if errors:
        return ImportReport(rows=len(rows) + len(errors), errors=errors)
    known = set()
    settled = [r.invoice_number for r in rows if r.paid_cents >= r.amount_cents]
    for start in range(0, len(settled), 500):
        known.update(db.session.scalars(select(Invoice.number).where(
            Invoice.number.in_(settled[start:start + 500]),
            Invoice.creditor_id == tenancy.working_id())))
    # Paid pieces matter only for invoices already chased: years of history stay out.
    rows = [replace(r, partial=True) for r in rows
            if r.paid_cents < r.amount_cents or r.invoice_number in known]
    if not rows:
        return ImportReport(errors=[(1, "file", "no open receivable in this FEC: no unlettered "
                                                "line of a 411 account with a CompAuxNum")])
    return import_rows(rows, dry_run=dry_run)


def import_facturx(data, payment_term_days=30, dry_run=False):
    """Import the invoice of a Factur-X PDF; the PDF becomes its copy (portal, "never
    received"). A PDF without valid Factur-X XML is refused with the reason."""
    from .facturx_import import NotFacturX, read_facturx
    from .settings import creditor
    try:
        row = read_facturx(data, payment_term_days, creditor().language or "fr")
    except NotFacturX as exc:
        return ImportReport(rows=1, errors=[(1, "pdf", str(exc))])
    report = import_rows([row], dry_run=dry_run)
    if report.ok and not dry_run:
        invoice = db.session.scalar(select(Invoice).where(
            Invoice.number == row.invoice_number, Invoice.creditor_id == tenancy.working_id()))
        invoice.pdf = data
        db.session.flush()
    return report


def import_books(data, payment_term_days=30, dry_run=False):
    """A CSV of invoices, a FEC or a Factur-X PDF, whichever these bytes are."""
    from .facturx_import import is_pdf
    from .fec import looks_like_fec
    if is_pdf(data):
        return import_facturx(data, payment_term_days, dry_run)
    if looks_like_fec(data):
        return import_fec(data, payment_term_days, dry_run)
    return import_csv(data, dry_run)


def import_csv(data, dry_run=False):
    """Validate and import CSV bytes. Nothing is written unless every row is valid."""
    try:
        rows, errors = validate(read_csv(data))
    except RowError as exc:
        return ImportReport(errors=[(1, exc.field, str(exc))])
    if errors:
        return ImportReport(rows=len(rows) + len(errors), errors=errors)
    return import_rows(rows, dry_run=dry_run)
