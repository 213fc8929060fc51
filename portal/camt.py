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
same statement again, or an overlapping one, changes nothing. The XML is read with defusedxml
(no entity expansion, no external entities)."""
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from defusedxml import ElementTree
from sqlalchemy import select

from . import tenancy
from .extensions import db
from .ledger import ReplayConflict, payment_by_external_id, record_payment
from .models import PAID_CENTS, BankCredit, Customer, Invoice

SOURCE = "bank"
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


def _cents(node, where):
    if node is None or not (node.text or "").strip():
        raise StatementError(f"{where}: no amount")
    if (node.get("Ccy") or "EUR").upper() != "EUR":
        raise StatementError(f"{where}: a credit in {node.get('Ccy')}; only EUR is handled")
    try:
        amount = Decimal(node.text.strip())
    except InvalidOperation:
        raise StatementError(f"{where}: {node.text.strip()!r} is not an amount") from None
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")) or amount > 10**10:
        raise StatementError(f"{where}: {node.text.strip()!r} is not an amount in euros")
    return int(amount * 100)


def _date(entry, where):
    for path in (("BookgDt", "Dt"), ("BookgDt", "DtTm"), ("ValDt", "Dt"), ("ValDt", "DtTm")):
        value = _text(entry, *path)
        if value:
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                raise StatementError(f"{where}: {value!r} is not a date") from None
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


def _by_numbers(credit):
    """The open invoices the remittance names, if they are one customer's."""
    words = TOKEN.findall(credit.remittance)
    if not words:
        return None
    found = db.session.scalars(select(Invoice).where(
        Invoice.creditor_id == tenancy.working_id(), Invoice.status == "open",
        Invoice.number.in_(set(words) | {w.upper() for w in words}))
        .order_by(Invoice.due_date, Invoice.id)).all()
    if found and len({i.customer_id for i in found}) == 1:
        return found
    return None


def _by_amount_and_name(credit):
    """The one open invoice of exactly this balance whose customer is the named debtor."""
    wanted = _plain(credit.debtor_name)
    if not wanted:
        return None
    rows = db.session.execute(
        select(Invoice, Customer.name).join(Customer, Customer.id == Invoice.customer_id)
        .where(Invoice.creditor_id == tenancy.working_id(), Invoice.status == "open",
               (Invoice.total_cents - PAID_CENTS) == credit.amount_cents)).all()
    matches = [invoice for invoice, name in rows if _plain(name) == wanted]
    return matches if len(matches) == 1 else None


def known(external_id):
    """Whether this credit was already taken in: recorded as a payment, or waiting."""
    creditor_id = tenancy.working_id()
    return payment_by_external_id(SOURCE, external_id, creditor_id) is not None or \
        db.session.scalar(select(BankCredit.id).where(
            BankCredit.creditor_id == creditor_id, BankCredit.external_id == external_id)
        ) is not None


def record(credit, invoices, actor="system"):
    return record_payment(customer=invoices[0].customer, source=SOURCE,
                          external_id=credit.external_id, amount_cents=credit.amount_cents,
                          received_on=credit.booked_on, invoices=invoices, actor=actor)


def import_camt(data, dry_run=False):
    """Read a statement and take in each credit once; the caller commits. Nothing is written
    when the file cannot be read whole."""
    report = StatementReport()
    try:
        credits = read_camt(data)
    except StatementError as exc:
        report.errors.append((1, "file", str(exc)))
        return report
    report.credits = len(credits)
    if dry_run:
        return report
    for credit in credits:
        if known(credit.external_id):
            report.replayed += 1
            continue
        invoices = _by_numbers(credit) or _by_amount_and_name(credit)
        if invoices is None:
            db.session.add(BankCredit(creditor_id=tenancy.working_id(),
                                      external_id=credit.external_id,
                                      amount_cents=credit.amount_cents,
                                      booked_on=credit.booked_on,
                                      debtor_name=credit.debtor_name,
                                      remittance=credit.remittance))
            db.session.flush()
            report.waiting += 1
            continue
        try:
            result = record(credit, invoices)
        except ReplayConflict as exc:
            report.errors.append((credit.external_id, "reference", str(exc)))
            continue
        report.recorded += 1
        report.credit_cents += result.credit_cents
    return report


def assign(bank_credit, invoice, by):
    """The accountant says which invoice a waiting credit pays: it is recorded as a payment
    of that invoice's customer (what is left over stays as their credit)."""
    credit = Credit(bank_credit.external_id, bank_credit.amount_cents, bank_credit.booked_on,
                    bank_credit.debtor_name, bank_credit.remittance)
    result = record(credit, [invoice], actor="accountant")
    bank_credit.state, bank_credit.payment_id = "assigned", result.payment.id
    return result
