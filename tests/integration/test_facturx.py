"""Factur-X import: a PDF made in the test with the `factur-x` library becomes an invoice (its
number, dates, buyer, amounts from the XML) whose copy in the portal is that very PDF; a PDF
without XML, and one whose XML breaks the schema, are refused with the reason."""
import facturx
from fpdf import FPDF
from sqlalchemy import func, select

from portal.extensions import db
from portal.links import make_token
from portal.models import Customer, Invoice

XML = """<?xml version='1.0' encoding='UTF-8'?>
<rsm:CrossIndustryInvoice xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:factur-x.eu:1p0:minimum</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>
<rsm:ExchangedDocument><ram:ID>{number}</ram:ID><ram:TypeCode>380</ram:TypeCode><ram:IssueDateTime><udt:DateTimeString format="102">20261102</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument>
<rsm:SupplyChainTradeTransaction>
<ram:ApplicableHeaderTradeAgreement>
<ram:SellerTradeParty><ram:Name>Atelier Martin SARL</ram:Name><ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">123456789</ram:ID></ram:SpecifiedLegalOrganization><ram:PostalTradeAddress><ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress><ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">FR00123456789</ram:ID></ram:SpecifiedTaxRegistration></ram:SellerTradeParty>
<ram:BuyerTradeParty><ram:Name>Dupont &amp; Fils</ram:Name><ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">987654321</ram:ID></ram:SpecifiedLegalOrganization></ram:BuyerTradeParty>
</ram:ApplicableHeaderTradeAgreement>
<ram:ApplicableHeaderTradeDelivery/>
<ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
<ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:TaxBasisTotalAmount>1000.00</ram:TaxBasisTotalAmount><ram:TaxTotalAmount currencyID="EUR">200.00</ram:TaxTotalAmount><ram:GrandTotalAmount>1200.00</ram:GrandTotalAmount><ram:DuePayableAmount>{due}</ram:DuePayableAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation>
</ram:ApplicableHeaderTradeSettlement>
</rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"""


def plain_pdf(text="Facture FX-2026-0042"):
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, text)
    return bytes(pdf.output())


def facturx_pdf(number="FX-2026-0042", due="1200.00"):
    xml = XML.format(number=number, due=due).encode()
    return facturx.generate_from_binary(plain_pdf(), xml, flavor="factur-x", level="minimum")


def test_a_facturx_pdf_becomes_an_invoice_whose_copy_is_the_pdf(any_app, tmp_path):
    path = tmp_path / "FX-2026-0042.pdf"
    data = facturx_pdf(due="700.00")  # 500.00 already paid
    path.write_bytes(data)
    result = any_app.test_cli_runner().invoke(args=["invoices", "import", str(path),
                                                    "--payment-term-days", "45"])
    assert result.exit_code == 0, result.output
    invoice = db.session.scalar(select(Invoice))
    assert (invoice.number, invoice.total_cents, invoice.balance_cents) == ("FX-2026-0042",
                                                                            120_000, 70_000)
    assert (invoice.issue_date.isoformat(), invoice.due_date.isoformat()) == ("2026-11-02",
                                                                              "2026-12-17")
    customer = db.session.get(Customer, invoice.customer_id)
    assert (customer.ref, customer.name) == ("987654321", "Dupont & Fils")
    assert invoice.pdf == data
    copy = any_app.test_client().get(f"/p/{make_token(customer)}/invoices/{invoice.id}.pdf")
    assert copy.status_code == 200 and copy.data == data


def test_what_is_not_a_valid_facturx_is_refused_with_the_reason(any_app, tmp_path):
    runner = any_app.test_cli_runner()
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(plain_pdf())
    result = runner.invoke(args=["invoices", "import", str(plain)])
    assert result.exit_code == 1 and "carries no Factur-X or ZUGFeRD XML" in result.output
    broken = tmp_path / "broken.pdf"
    xml = XML.format(number="FX-1", due="1200.00").replace(
        "<ram:TypeCode>380</ram:TypeCode>",
        "<ram:TypeCode>380</ram:TypeCode><ram:Unknown>?</ram:Unknown>").encode()
    broken.write_bytes(facturx.generate_from_binary(plain_pdf(), xml, flavor="factur-x",
                                                    level="minimum", check_xsd=False))
    result = runner.invoke(args=["invoices", "import", str(broken)])
    assert result.exit_code == 1 and "its Factur-X XML is not valid" in result.output
    assert db.session.scalar(select(func.count(Invoice.id))) == 0
