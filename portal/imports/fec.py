"""The FEC (Fichier des Écritures Comptables, article A47 A-1 du LPF): the legal export of every
French accounting package, read for its open receivables.

18 columns (JournalCode ... Idevise), tab or "|" separated, dates AAAAMMJJ, amounts with a
decimal comma, UTF-8 or Latin-1. Open receivables are the lines of customer accounts (`411...`
with a `CompAuxNum`) not yet lettered (`EcritureLet` empty), grouped by piece (`PieceRef`) per
customer: the piece's debits are the invoice's amount, its unlettered balance what is still
owed. Due dates come from `DateLimitReglmt` where the file has that column, else the piece's
date plus a payment term. A piece whose every line is lettered is paid: re-importing a newer FEC
closes it (the import records what was paid, as for a CSV's `amount_paid`).

Pure parsing: `read_fec` returns `InvoiceRow`s for `portal.imports.import_rows` and the errors
with their lines; it never writes."""
from collections import OrderedDict
from datetime import date, timedelta

from .rows import InvoiceRow, in_range, parse_amount

COLUMNS = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib",
           "CompAuxNum", "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit",
           "Credit", "EcritureLet", "DateLet", "ValidDate", "Montantdevise", "Idevise")
CUSTOMER_ACCOUNT = "411"


def looks_like_fec(data):
    """Whether these bytes start with a FEC header (whatever the separator and encoding)."""
    first = data[:2000].split(b"\n", 1)[0].decode("latin-1").lstrip("\ufeff\xef\xbb\xbf")
    names = {n.strip().lower() for n in first.replace("|", "\t").split("\t")}
    return {"journalcode", "ecriturenum", "comptenum", "pieceref"} <= names


def _text(data):
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # the other encoding the FEC allows


def _date(value, column):
    value = value.strip()
    if not (len(value) == 8 and value.isdigit()):
        raise ValueError(f"{column}: {value!r} is not a date written AAAAMMJJ")
    try:
        return in_range(date(int(value[:4]), int(value[4:6]), int(value[6:])), value)
    except ValueError as exc:
        raise ValueError(f"{column}: {exc}" if "range" in str(exc) else
                         f"{column}: {value!r} is not a date") from None


def _cents(value, column):
    """An amount as the CSV reads it (parse_amount: digits only, two decimals at most, no
    NaN, Infinity or exponent); empty is nothing."""
    if not value.strip():
        return 0
    try:
        return parse_amount(value)
    except ValueError as exc:
        raise ValueError(f"{column}: {exc}") from None


class Piece:
    """One invoice of a customer account: its lines, lettered or not."""

    def __init__(self, line, ref, name, number, on, due):
        self.line, self.ref, self.name, self.number, self.on, self.due = \
            line, ref, name, number, on, due
        self.debit = self.credit = self.open_debit = self.open_credit = 0


def read_fec(data, payment_term_days=30, language="fr"):
    """(rows, errors): an InvoiceRow per piece of a customer account (its amount, what has
    been paid, its due date), and (line, column, message) for every line that cannot be
    read. Lines of other accounts are skipped: they are the rest of the books."""
    lines = _text(data).splitlines()
    if not lines:
        return [], [(1, "file", "the file is empty")]
    separator = "|" if lines[0].count("|") > lines[0].count("\t") else "\t"
    header = [h.strip().lstrip("\ufeff") for h in lines[0].split(separator)]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return [], [(1, "header", f"not a FEC: missing column(s) {', '.join(missing)}")]
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:  # which of the two would be read?
        return [], [(1, "header", f"column(s) named twice: {', '.join(twice)}; keep one of each")]
    index = {name: header.index(name) for name in header}
    has_due = "DateLimitReglmt" in index
    pieces, errors = OrderedDict(), []
    for number, text in enumerate(lines[1:], start=2):
        if not text.strip():
            continue
        values = text.split(separator)
        if len(values) != len(header):
            errors.append((number, "row", f"{len(values)} columns where the header has "
                                          f"{len(header)}"))
            continue
        get = lambda column: values[index[column]].strip()  # noqa: E731
        if not get("CompteNum").startswith(CUSTOMER_ACCOUNT) or not get("CompAuxNum"):
            continue
        try:
            on = _date(get("PieceDate") or get("EcritureDate"), "PieceDate")
            due = _date(get("DateLimitReglmt"), "DateLimitReglmt") \
                if has_due and get("DateLimitReglmt") else None
            debit, credit = _cents(get("Debit"), "Debit"), _cents(get("Credit"), "Credit")
        except ValueError as exc:
            column, _, message = str(exc).partition(": ")
            errors.append((number, column, message))
            continue
        ref, piece_ref = get("CompAuxNum")[:64], (get("PieceRef") or get("EcritureNum"))[:64]
        if not piece_ref:
            errors.append((number, "PieceRef", "no piece reference: which invoice is this?"))
            continue
        piece = pieces.get((ref, piece_ref))
        if piece is None:
            piece = pieces[(ref, piece_ref)] = Piece(number, ref, get("CompAuxLib")[:200] or ref,
                                                     piece_ref, on, due)
        piece.due = piece.due or due
        piece.debit += debit
        piece.credit += credit
        if not get("EcritureLet"):
            piece.open_debit += debit
            piece.open_credit += credit
    rows, seen = [], {}
    for (ref, piece_ref), piece in pieces.items():
        if piece.debit <= 0:
            continue  # a payment or a credit note alone: not an invoice to chase
        if piece_ref in seen and seen[piece_ref] != ref:
            errors.append((piece.line, "PieceRef", f"piece {piece_ref} is on two customer "
                                                   f"accounts ({seen[piece_ref]}, {ref})"))
            continue
        seen[piece_ref] = ref
        owed = max(0, min(piece.debit, piece.open_debit - piece.open_credit))
        due = piece.due or piece.on + timedelta(days=payment_term_days)
        rows.append(InvoiceRow(
            line=piece.line, customer_ref=ref, customer_name=piece.name, emails="", phone=None,
            address=None, language=language, invoice_number=piece_ref, issue_date=piece.on,
            due_date=max(due, piece.on), currency="EUR", amount_cents=piece.debit,
            paid_cents=piece.debit - owed))
    return rows, errors
