"""Factur-X (and ZUGFeRD 2) invoices: a PDF that carries its invoice as CII XML. The `factur-x`
library extracts the XML and checks it against the schema of its profile; the invoice's number,
dates, buyer and amounts are read from it, and the PDF itself becomes the invoice's copy (the
portal offers it, "never received" sends it). A PDF without valid Factur-X XML is refused with
the reason. Pure reading: `read_facturx` returns an `InvoiceRow` and never writes."""
import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

import facturx
from lxml import etree

from .rows import InvoiceRow, in_range

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"}
INVOICE_TYPES = {"380", "384", "389", "751"}  # invoice, corrected, self-billed, information
MAX_PDF = 10 * 1024 * 1024


class NotFacturX(ValueError):
    """The PDF carries no Factur-X invoice Relance can take; the message says why."""


def is_pdf(data):
    return data[:5] == b"%PDF-"


def _one(tree, path):
    found = tree.xpath(path, namespaces=NS)
    return (found[0].text or "").strip() if found else ""


def _date(value, what):
    if not re.fullmatch(r"\d{8}", value or ""):
        raise NotFacturX(f"{what}: {value!r} is not a date (format 102, AAAAMMJJ)")
    try:
        day = date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise NotFacturX(f"{what}: {value!r} is not a date") from None
    try:
        return in_range(day, value)  # the CSV's bounds: 99991231 + a payment term overflows
    except ValueError as exc:
        raise NotFacturX(f"{what}: {exc}") from None


def _cents(value, what):
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError):
        raise NotFacturX(f"{what}: {value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0 or amount > 10**10:
        raise NotFacturX(f"{what}: {value} is out of range")
    return int((amount * 100).quantize(Decimal("1")))


def read_facturx(data, payment_term_days=30, language="fr"):
    """The InvoiceRow of a Factur-X PDF; NotFacturX with the reason otherwise."""
    if not is_pdf(data):
        raise NotFacturX("not a PDF file")
    if len(data) > MAX_PDF:
        raise NotFacturX("the PDF is over 10 MB")
    try:
        _name, xml = facturx.get_xml_from_pdf(data, check_xsd=False)
    except Exception as exc:  # noqa: BLE001 - a damaged PDF raises anything from pypdf
        raise NotFacturX(f"the PDF cannot be read ({exc.__class__.__name__})") from None
    if not xml:
        raise NotFacturX("the PDF carries no Factur-X or ZUGFeRD XML: import it with its "
                         "data in a CSV instead")
    try:
        facturx.xml_check_xsd(xml)
    except Exception as exc:  # noqa: BLE001 - the library raises a plain Exception
        raise NotFacturX(f"its Factur-X XML is not valid: {str(exc)[:300]}") from None
    tree = etree.fromstring(xml)
    kind = _one(tree, "//rsm:ExchangedDocument/ram:TypeCode")
    if kind not in INVOICE_TYPES:
        raise NotFacturX(f"document type {kind or '?'} is not an invoice (a credit note is "
                         "recorded as a payment)")
    number = _one(tree, "//rsm:ExchangedDocument/ram:ID")[:64]
    issued = _date(_one(tree, "//rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString"),
                   "IssueDateTime")
    currency = _one(tree, "//ram:ApplicableHeaderTradeSettlement/ram:InvoiceCurrencyCode")
    if currency != "EUR":
        raise NotFacturX(f"an invoice in {currency}; only EUR is handled")
    summation = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
    total = _cents(_one(tree, summation + "GrandTotalAmount"), "GrandTotalAmount")
    due_text = _one(tree, summation + "DuePayableAmount")
    due_amount = _cents(due_text, "DuePayableAmount") if due_text else total  # all of it due
    buyer = "//ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty/ram:"
    name = _one(tree, buyer + "Name")[:200]
    ref = (_one(tree, buyer + "ID") or _one(tree, buyer + "GlobalID")
           or _one(tree, buyer + "SpecifiedLegalOrganization/ram:ID")
           or _one(tree, buyer + "SpecifiedTaxRegistration/ram:ID"))[:64]
    if not number or not name:
        raise NotFacturX("the XML names no invoice number or no buyer")
    if not ref:  # a buyer known by its name only
        ref = re.sub(r"[^A-Z0-9]+", "-", name.upper()).strip("-")[:64] or "BUYER"
    email = _one(tree, buyer + "URIUniversalCommunication/ram:URIID")[:320]
    due = _one(tree, "//ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString")
    due_date = _date(due, "DueDateDateTime") if due else issued + timedelta(
        days=payment_term_days)
    if total <= 0:
        raise NotFacturX("the invoice's total is zero")
    return InvoiceRow(
        line=1, customer_ref=ref, customer_name=name, emails=email,  # checked as the CSV's
        phone=None, address=None, language=language, invoice_number=number,
        issue_date=issued, due_date=max(due_date, issued), currency="EUR",
        amount_cents=total, paid_cents=max(0, min(total, total - due_amount)), partial=True)
