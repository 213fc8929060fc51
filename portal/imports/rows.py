"""One invoice row as every importer reads it (CSV, the JSON API, FEC, Factur-X, and the amounts
and dates of a CAMT.053 statement): the fields, their parsers and `check_row`, the one check every
importer applies. Imports nothing of the importers, so they all import it."""
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal


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
