"""Invoice import (CSV file or JSON API): every row validated first, then all written or nothing.

CSV contract (DESIGN.md 5): UTF-8 with or without BOM, comma or semicolon, a header row with
customer_ref, customer_name, email, phone, language, invoice_number, issue_date, due_date, currency,
amount, amount_paid. Dates ISO or DD/MM/YYYY; amounts 1234.56 or 1 234,56.
"""
import csv
import io
import re
from dataclasses import replace

from sqlalchemy import select

from .. import tenancy
from ..bookkeeping import record_event, set_import_paid
from ..extensions import db
from ..models import Customer, Invoice
from .rows import (  # noqa: F401 (the importers' API, read by the pages, the API and the CLI)
    FIRST_DAY, LAST_DAY, MAX_AMOUNT_CENTS, OPTIONAL, REQUIRED, ImportReport, InvoiceRow, RowError,
    check_row, clean_text, parse_amount, parse_date, parse_emails, parse_record)


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
    """Import the open receivables of a FEC (`portal.imports.fec`): its unlettered customer pieces
    become open invoices; a piece lettered since the last import closes its invoice. Nothing is
    written unless every line of the customer accounts can be read."""
    from .fec import read_fec
    from ..settings import creditor
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
    from .facturx import NotFacturX, read_facturx
    from ..settings import creditor
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
    from .facturx import is_pdf
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
