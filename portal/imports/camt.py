"""Bank statement reconciliation: a CAMT.053 (ISO 20022 BankToCustomerStatement, the European
XML bank statement) read for its credits, each matched to invoices and recorded once.

A credit (`CdtDbtInd` CRDT, booked) is matched
1. by the invoice numbers its remittance information names (unstructured `Ustrd` text or the
   structured creditor reference), when they are open invoices of one customer: the payment is
   allocated to them, oldest first, and what is left over stays as that customer's credit;
2. else by amount and name: the one open invoice whose balance is exactly the amount, of a
   customer whose name is the debtor's name on the statement;
3. else it waits (`BankCredit`) on the back office's bank page, where the accountant says which
   invoice it pays, or that it is no debtor's.
Each credit is recorded once, under the bank's entry reference (source "bank"): importing the
same statement again, or an overlapping one, changes nothing; a reference already recorded by
another path (the API, a CSV, the back office) is that same transfer, and one known for another
amount waits on the bank page as a conflict, neither counted nor dropped. The XML is read with defusedxml
(no entity expansion, no external entities)."""
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from defusedxml import ElementTree
from sqlalchemy import select

from .. import tenancy
from ..extensions import db
from .rows import FIRST_DAY, LAST_DAY, parse_amount
from ..bookkeeping import id_space, record_payment, same_money
from ..models import PAID_CENTS, BankCredit, Customer, Invoice, Payment

SOURCE = "bank"
WAITING = BankCredit.WAITING  # the states of a credit the accountant has to decide
CHUNK = 500  # references per IN (...): well under any database's limit on bound parameters
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.-]*[A-Za-z0-9]|[A-Za-z0-9]")


class StatementError(ValueError):
    """The file is not a CAMT.053 statement Relance can read; the message says why."""


@dataclass
class Credit:
    external_id: str
    amount_cents: int
    booked_on: date
    debtor_name: str
    remittance: str


@dataclass
class StatementReport:
    credits: int = 0
    recorded: int = 0
    replayed: int = 0
    waiting: int = 0
    conflicts: int = 0  # a known reference with another amount: on the bank page
    credit_cents: int = 0  # paid beyond the invoices, kept as the customers' credit
    errors: list = field(default_factory=list)  # (entry, field, message)

    @property
    def ok(self):
        return not self.errors


def looks_like_camt(data):
    head = data[:4000].decode("utf-8", "replace")
    return "<?xml" in head[:100] or "BkToCstmrStmt" in head or "camt.053" in head


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _find(node, *path):
    for name in path:
        if node is None:
            return None
        node = next((child for child in node if _local(child.tag) == name), None)
    return node


def _text(node, *path):
    found = _find(node, *path)
    return (found.text or "").strip() if found is not None else ""


def _all(node, name):
    return [n for n in node.iter() if _local(n.tag) == name]


ISO_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)


def _cents(node, where):
    """An amount, read by the same rule as the CSV's and the API's (`imports.parse_amount`:
    plain ASCII digits, at most two decimals, bounded; no exponent, NaN or Infinity)."""
    if node is None or not (node.text or "").strip():
        raise StatementError(f"{where}: no amount")
    if (node.get("Ccy") or "EUR").upper() != "EUR":
        raise StatementError(f"{where}: a credit in {node.get('Ccy')}; only EUR is handled")
    text = node.text.strip()
    if not ISO_AMOUNT.fullmatch(text):  # the statement's own format: 1234.56, nothing else
        raise StatementError(f"{where}: {text[:40]!r} is not an amount (ISO 20022 writes 1234.56)")
    try:
        cents = parse_amount(text)
    except ValueError as exc:
        raise StatementError(f"{where}: {exc}") from None
    if cents <= 0:
        raise StatementError(f"{where}: {node.text.strip()[:40]!r} is not an amount received")
    return cents


def _date(entry, where):
    for path in (("BookgDt", "Dt"), ("BookgDt", "DtTm"), ("ValDt", "Dt"), ("ValDt", "DtTm")):
        value = _text(entry, *path)
        if value:
            try:
                booked = date.fromisoformat(value[:10])
            except ValueError:
                raise StatementError(f"{where}: {value[:40]!r} is not a date") from None
            if not FIRST_DAY <= booked <= LAST_DAY:
                raise StatementError(f"{where}: {value[:40]!r} is out of range: dates go from "
                                     f"{FIRST_DAY} to {LAST_DAY}")
            return booked
    raise StatementError(f"{where}: no booking date")


def read_camt(data):
    """The booked credits of a CAMT.053 statement; StatementError when the file is not one."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise StatementError(f"not readable XML ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - defusedxml refuses entities, DTDs...
        raise StatementError(f"refused: {exc.__class__.__name__}") from None
    if not _all(root, "Stmt"):
        raise StatementError("not a CAMT.053 bank statement (no <Stmt>)")
    credits = []
    for number, entry in enumerate(_all(root, "Ntry"), start=1):
        if _text(entry, "CdtDbtInd") != "CRDT":
            continue
        status = _text(entry, "Sts", "Cd") or _text(entry, "Sts")
        if status and status != "BOOK":
            continue  # pending or informational: not money received yet
        where = f"entry {number}"
        booked_on = _date(entry, where)
        entry_ref = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
        details = _all(entry, "TxDtls")
        for k, tx in enumerate(details or [entry], start=1):
            amount = _find(tx, "AmtDtls", "TxAmt", "Amt") if details else None
            amount = amount if amount is not None else _find(tx, "Amt")
            if amount is None and len(details) == 1:
                amount = _find(entry, "Amt")
            ref = (_text(tx, "Refs", "AcctSvcrRef") or _text(tx, "Refs", "EndToEndId")
                   if details else "")
            if not ref or ref == "NOTPROVIDED":
                ref = f"{entry_ref}/{k}" if entry_ref and len(details) > 1 else entry_ref
            if not ref:
                raise StatementError(f"{where}: no reference (AcctSvcrRef or NtryRef): "
                                     "re-imports could not be recognised")
            remittance = " ".join(n.text.strip() for n in _all(tx, "Ustrd") if n.text)
            remittance += " " + " ".join(n.text.strip() for n in _all(tx, "Ref") if n.text)
            debtor = _text(tx, "RltdPties", "Dbtr", "Nm") or _text(
                tx, "RltdPties", "Dbtr", "Pty", "Nm")
            credits.append(Credit(ref[:255], _cents(amount, where), booked_on, debtor[:200],
                                  remittance.strip()[:500]))
    return credits


def _plain(name):
    name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    return " ".join(re.findall(r"[a-z0-9]+", name))


class OpenInvoices:
    """The creditor's open invoices as matching needs them (number, customer, due date, balance,
    the customer's name made plain): read in one query per statement, and kept up to date as its
    credits are recorded, instead of two queries per credit."""

    def __init__(self):
        self.rows, self.by_number, self.by_balance = {}, {}, {}
        for row in db.session.execute(
                select(Invoice.id, Invoice.number, Invoice.customer_id, Invoice.due_date,
                       (Invoice.total_cents - PAID_CENTS).label("balance"), Customer.name)
                .join(Customer, Customer.id == Invoice.customer_id)
                .where(Invoice.creditor_id == tenancy.working_id(), Invoice.status == "open")):
            self._add(row.id, row.number, row.customer_id, row.due_date, int(row.balance),
                      _plain(row.name))

    def _add(self, invoice_id, number, customer_id, due_date, balance, name):
        self.rows[invoice_id] = (number, customer_id, due_date, balance, name)
        self.by_number[number] = invoice_id
        self.by_balance.setdefault(balance, set()).add(invoice_id)

    def named(self, credit):
        """The open invoices the remittance names, if they are one customer's (ids)."""
        words = set(TOKEN.findall(credit.remittance))
        found = {self.by_number[w] for w in words | {w.upper() for w in words}
                 if w in self.by_number}
        return found if len({self.rows[i][1] for i in found}) == 1 else None

    def by_amount_and_name(self, credit):
        """The one open invoice of exactly this balance whose customer is the named debtor."""
        wanted = _plain(credit.debtor_name)
        matches = {i for i in self.by_balance.get(credit.amount_cents, ())
                   if wanted and self.rows[i][4] == wanted}
        return matches if len(matches) == 1 else None

    def match(self, credit):
        """The invoices a credit pays, oldest first, as ORM objects; None if it names none."""
        ids = self.named(credit) or self.by_amount_and_name(credit)
        if not ids:
            return None
        return db.session.scalars(select(Invoice).where(Invoice.id.in_(ids))
                                  .order_by(Invoice.due_date, Invoice.id)).all()

    def paid(self, invoices):
        """These invoices were paid (in part): they leave the indexes, or come back with their
        new balance while they are still open."""
        for invoice in invoices:
            number, customer_id, due_date, balance, name = self.rows.pop(invoice.id)
            del self.by_number[number]
            self.by_balance[balance].discard(invoice.id)
            if invoice.status == "open":
                self._add(invoice.id, number, customer_id, due_date, invoice.balance_cents, name)


class Seen:
    """What the creditor already holds under a statement's references: the payments recorded
    under them by any path that shares bank references, and the credits kept for the bank page
    (by reference and amount). Read in a few queries for the whole statement, then kept up to
    date as it is taken in (a statement of thousands of credits costs no query per credit to
    recognise)."""

    def __init__(self, credits):
        creditor_id = tenancy.working_id()
        refs = sorted({c.external_id for c in credits})
        self.payments, self.kept = {}, {}
        for start in range(0, len(refs), CHUNK):
            chunk = refs[start:start + CHUNK]
            for payment in db.session.scalars(select(Payment).where(
                    Payment.creditor_id == creditor_id, Payment.source.in_(id_space(SOURCE)),
                    Payment.external_id.in_(chunk)).order_by(Payment.id.desc())):
                self.payments[payment.external_id] = payment  # the first recorded wins
            for kept in db.session.scalars(select(BankCredit).where(
                    BankCredit.creditor_id == creditor_id, BankCredit.external_id.in_(chunk))):
                self.keep(kept)

    def keep(self, bank_credit):
        self.kept.setdefault(bank_credit.external_id, {})[bank_credit.amount_cents] = \
            bank_credit

    def standing(self, credit):
        """"new"; "known" (the same transfer, recorded as a payment by any path, or kept for
        the bank page); or "conflict" (its reference is known for another amount)."""
        kept = self.kept.get(credit.external_id, {})
        if credit.amount_cents in kept:
            return "known"
        payment = self.payments.get(credit.external_id)
        if payment is not None:
            return "known" if same_money(payment, credit.amount_cents) else "conflict"
        return "conflict" if kept else "new"


def record(credit, invoices, actor="system", external_id=None):
    return record_payment(customer=invoices[0].customer, source=SOURCE,
                          external_id=external_id or credit.external_id,
                          amount_cents=credit.amount_cents,
                          received_on=credit.booked_on, invoices=invoices, actor=actor)


def _park(credit, state="unmatched"):
    """Keep a credit on the bank page for the accountant (flushed with the statement)."""
    parked = BankCredit(creditor_id=tenancy.working_id(), external_id=credit.external_id,
                        amount_cents=credit.amount_cents, booked_on=credit.booked_on,
                        debtor_name=credit.debtor_name, remittance=credit.remittance,
                        state=state)
    db.session.add(parked)
    return parked


def import_camt(data, dry_run=False):
    """Read a statement and take in each credit once; the caller commits. Nothing is written
    when the file cannot be read whole. A credit whose reference is known for another amount
    (recorded by the API, a CSV, an earlier statement, or earlier in this one) is neither
    recorded nor dropped: it waits on the bank page as a conflict for the accountant."""
    report = StatementReport()
    try:
        credits = read_camt(data)
    except StatementError as exc:
        report.errors.append((1, "file", str(exc)))
        return report
    report.credits = len(credits)
    if dry_run:
        return report
    seen, open_invoices = Seen(credits), OpenInvoices()
    with db.session.no_autoflush:
        for credit in credits:
            _take_in(credit, seen, open_invoices, report)
    db.session.flush()
    return report


def _take_in(credit, seen, open_invoices, report):
    """One credit of the statement: known, a conflict, matched and recorded, or waiting."""
    state = seen.standing(credit)
    if state == "known":
        report.replayed += 1
    elif state == "conflict":
        seen.keep(_park(credit, "conflict"))
        report.conflicts += 1
    elif (invoices := open_invoices.match(credit)) is None:
        seen.keep(_park(credit))
        report.waiting += 1
    else:
        result = record(credit, invoices)
        open_invoices.paid(invoices)
        seen.payments[credit.external_id] = result.payment
        report.recorded += 1
        report.credit_cents += result.credit_cents


def assign(bank_credit, invoice, by, in_conflict=False):
    """The accountant says which invoice a waiting credit pays: it is recorded as a payment
    of that invoice's customer (what is left over stays as their credit). A credit in conflict
    is recorded under an id of its own (the accountant says it is another transfer than the one
    known under its reference). If the same transfer was recorded meanwhile by another path (the
    API, a CSV), the credit is tied to that payment and nothing is counted twice. Returns the
    ledger's PaymentResult (created False: already known). The caller has already moved the
    credit's state (one request wins); `in_conflict` says what it was."""
    credit = Credit(bank_credit.external_id, bank_credit.amount_cents, bank_credit.booked_on,
                    bank_credit.debtor_name, bank_credit.remittance)
    own_id = f"bank-credit:{bank_credit.id}" if in_conflict else None
    result = record(credit, [invoice], actor="accountant", external_id=own_id)
    bank_credit.payment_id = result.payment.id
    return result
