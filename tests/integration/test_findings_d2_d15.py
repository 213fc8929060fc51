"""The second review's findings (../shared/FINDINGS.md) D2, D4-D7, D9, D10, D12-D15, each with the
input that broke ccd446f: a fresh PostgreSQL install, NUL in URL paths, oversized bodies, FEC and
Factur-X text, numbers and dates, query parameters, a login's `next`, production settings, a deep
JSON callback, tiny instalments, a debtors list of more than 65,535 ids."""
import gc
import io
import os
import secrets
import subprocess
import sys
import uuid
import warnings
from datetime import timedelta

import facturx
import psycopg
import pytest
from fpdf import FPDF
from sqlalchemy import func, select

from portal import clock, create_app
from portal.config import ConfigError, ProductionConfig, TestConfig
from portal.extensions import db
from portal.imports.fec import COLUMNS
from portal.links import make_token
from portal.models import Customer, Invoice, InstalmentPlan, SettingsRevision
from portal.webhooks.post import callback_key
from portal.users import create_user
from reminders.scan import upcoming_of
from tests.conftest import PG_URL, FreshClient, make_customer, make_invoice, require_pg
from tests.helpers import PASSWORD, ask, csrf, debtor, login

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOOD_KEY = "k3J9-pQ2_vX7wLm8nR4sT6yZ0aB1cD5eF"
HTTPS = "https://relance.atelier-martin.example"


def _accountant():
    user = create_user("compta@atelier.example", PASSWORD, "accountant")
    db.session.commit()
    return user


# --- D2: a fresh PostgreSQL install works at the first try ------------------------------------

@pytest.fixture
def fresh_pg():
    """A brand-new PostgreSQL database (dropped after the test), as a new deployment has."""
    require_pg()
    name = f"test_defects_fresh_{uuid.uuid4().hex[:10]}"
    admin = PG_URL.replace("+psycopg", "").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_URL.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_d2_a_fresh_postgresql_creates_a_creditor_and_saves_settings_at_the_first_try(fresh_pg):
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": fresh_pg})
    app.test_client_class = FreshClient
    runner = app.test_cli_runner()
    try:
        with app.app_context():
            done = runner.invoke(args=["init-db"])
            assert done.exit_code == 0, done.output
            made = runner.invoke(args=["creditors", "create", "bistro", "--name", "Bistro",
                                       "--email", "c@b.example"])
            assert made.exit_code == 0, made.output
            user = runner.invoke(args=["users", "create", "compta@atelier.example", "--role",
                                       "admin", "--creditor", "default", "--password",
                                       PASSWORD])
            assert user.exit_code == 0, user.output
            client = app.test_client()
            assert login(client).status_code == 302
            url = "/admin/settings/templates/cordial/fr"
            page = client.get(url).get_data(as_text=True)
            saved = client.post(url, data={
                "csrf_token": csrf(page), "action": "save",
                "subject": "Relance : {{ creditor.name }}",
                "text": "Bonjour {{ debtor.name }},\n\nmerci.", "html": "<p>Bonjour</p>"})
            assert saved.status_code == 302
            assert db.session.scalar(select(func.count(SettingsRevision.id))) == 2
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --- D4: NUL in a URL path segment is a 404 ---------------------------------------------------

def test_d4_nul_in_a_path_segment_is_not_found(any_app, any_client):
    for method, url in (("get", "/s/%00"), ("get", "/s/a%00b"), ("get", "/s/AbCd1234%00"),
                        ("post", "/stripe/webhook/%00"), ("post", "/sms/twilio/%00/status"),
                        ("post", "/sms/twilio/default%00/inbound"),
                        ("post", "/post/maileva/%00/abc"), ("post", "/post/maileva/default/a%00")):
        answer = getattr(any_client, method)(url, data=b"{}")
        assert answer.status_code == 404, (url, answer.status_code)


# --- D5: a body over MAX_CONTENT_LENGTH is a 413 page, anonymous or logged in -----------------

def test_d5_an_oversized_body_answers_413_with_the_error_page(app, client):
    big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1024 * 1024)
    answer = client.post("/admin/login", data=b"email=" + big,
                         content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 413 and b"<html" in answer.data.lower()
    _accountant()
    assert login(client).status_code == 302
    customer = make_customer()
    db.session.commit()
    answer = client.post(f"/admin/customers/{customer.id}/notes",
                         data={"text": "note", "file": (io.BytesIO(big), "big.pdf")},
                         content_type="multipart/form-data")
    assert answer.status_code == 413 and b"<html" in answer.data.lower()
    del answer  # its request holds the test client's spooled body, never read (413): close
    with warnings.catch_warnings():  # it here, not in whichever test collects it next
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


# --- D6, D7: FEC and Factur-X go through the CSV's checks -------------------------------------

def fec(rows, header=COLUMNS):
    """A "|"-separated FEC whose lines are customer-account debits: (aux, name, piece, debit)."""
    lines = ["|".join(header)]
    for aux, name, piece, debit in rows:
        values = dict(JournalCode="VT", JournalLib="Ventes", EcritureNum="1",
                      EcritureDate="20261001", CompteNum="411000", CompteLib="Clients",
                      CompAuxNum=aux, CompAuxLib=name, PieceRef=piece, PieceDate="20261001",
                      EcritureLib="Facture", Debit=debit, Credit="", EcritureLet="", DateLet="",
                      ValidDate="20261001", Montantdevise="", Idevise="")
        lines.append("|".join(values.get(h, "") for h in header))
    return ("\n".join(lines) + "\n").encode()


XML = """<?xml version='1.0' encoding='UTF-8'?>
<rsm:CrossIndustryInvoice xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:factur-x.eu:1p0:minimum</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>
<rsm:ExchangedDocument><ram:ID>{number}</ram:ID><ram:TypeCode>380</ram:TypeCode><ram:IssueDateTime><udt:DateTimeString format="102">{issued}</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument>
<rsm:SupplyChainTradeTransaction>
<ram:ApplicableHeaderTradeAgreement>
<ram:SellerTradeParty><ram:Name>Atelier Martin SARL</ram:Name><ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">123456789</ram:ID></ram:SpecifiedLegalOrganization><ram:PostalTradeAddress><ram:CountryID>FR</ram:CountryID></ram:PostalTradeAddress><ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">FR00123456789</ram:ID></ram:SpecifiedTaxRegistration></ram:SellerTradeParty>
<ram:BuyerTradeParty><ram:Name>{buyer}</ram:Name><ram:SpecifiedLegalOrganization><ram:ID schemeID="0002">987654321</ram:ID></ram:SpecifiedLegalOrganization></ram:BuyerTradeParty>
</ram:ApplicableHeaderTradeAgreement>
<ram:ApplicableHeaderTradeDelivery/>
<ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
<ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:TaxBasisTotalAmount>1000.00</ram:TaxBasisTotalAmount><ram:TaxTotalAmount currencyID="EUR">200.00</ram:TaxTotalAmount><ram:GrandTotalAmount>1200.00</ram:GrandTotalAmount><ram:DuePayableAmount>1200.00</ram:DuePayableAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation>
</ram:ApplicableHeaderTradeSettlement>
</rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"""


def facturx_pdf(number="FX-1", buyer="Dupont &amp; Fils", issued="20261102"):
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "Facture")
    xml = XML.format(number=number, buyer=buyer, issued=issued).encode()
    return facturx.generate_from_binary(bytes(pdf.output()), xml, flavor="factur-x",
                                        level="minimum")


def _import(app, tmp_path, data, name):
    path = tmp_path / name
    path.write_bytes(data)
    return app.test_cli_runner().invoke(args=["invoices", "import", str(path)])


def _invoices():
    return db.session.scalar(select(func.count(Invoice.id)))


@pytest.mark.parametrize("aux,name,piece,field", [
    ("C-1", "Client", "FEC-4\x1b[31m", "invoice_number"),
    ("C-1", "Client", "FEC-5\tX", "invoice_number"),
    ("C-1", "Cli\x00ent", "FEC-6", "customer_name"),
    ("C\x072", "Client", "FEC-7", "customer_ref"),
])
def test_d6_fec_text_is_checked_as_the_csv_checks_it(any_app, tmp_path, aux, name, piece, field):
    result = _import(any_app, tmp_path, fec([(aux, name, piece, "100,00")]), "books.txt")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert field in result.output and "control character" in result.output
    assert _invoices() == 0


def test_d6_a_fec_with_a_column_named_twice_is_refused(app, tmp_path):
    header = list(COLUMNS) + ["Debit"]
    result = _import(app, tmp_path, fec([("C-1", "Client", "FEC-1", "100,00")], header),
                     "books.txt")
    assert result.exit_code == 1 and "Debit" in result.output and "twice" in result.output
    assert _invoices() == 0


@pytest.mark.parametrize("number,buyer,issued,field", [
    ("FX-2&#13;&#10;Bcc: evil@evil.example", "Dupont", "20261102", "invoice_number"),
    ("FX-3", "Evil&#9;Name&#13;&#10;X", "20261102", "customer_name"),
    ("FX-4", "Dupont", "00010101", "IssueDateTime"),
    ("FX-5", "Dupont", "99991231", "IssueDateTime"),
])
def test_d6_d7_facturx_text_and_dates_are_checked(any_app, tmp_path, number, buyer, issued,
                                                  field):
    result = _import(any_app, tmp_path, facturx_pdf(number, buyer, issued), "fx.pdf")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert field in result.output
    assert _invoices() == 0


@pytest.mark.parametrize("amount", ["NaN", "sNaN", "Infinity", "-Infinity", "1" + "0" * 30,
                                    "1e30"])
def test_d7_fec_amounts_that_are_not_numbers_are_a_line_error(app, tmp_path, amount):
    result = _import(app, tmp_path, fec([("C-1", "Client", "FEC-1", amount)]), "books.txt")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "line 2" in result.output and "Debit" in result.output
    assert _invoices() == 0


@pytest.mark.parametrize("data", [fec([("C-1", "Client", "FEC-1", "NaN")]),
                                  fec([("C-1", "Client", "FEC-1", "1e30")]),
                                  fec([("C-1", "Cli\x00ent", "FEC-1", "10,00")])])
def test_d6_d7_the_upload_page_reports_bad_fec_lines(any_app, any_client, data):
    _accountant()
    assert login(any_client).status_code == 302
    page = any_client.get("/admin/import").get_data(as_text=True)
    answer = any_client.post("/admin/import", data={
        "csrf_token": csrf(page), "file": (io.BytesIO(data), "books.txt")},
        content_type="multipart/form-data")
    assert answer.status_code == 422
    assert _invoices() == 0


def test_d6_the_invoice_pdf_has_a_safe_file_name_whatever_its_number(any_app, any_client):
    _accountant()
    assert login(any_client).status_code == 302
    invoice = make_invoice(make_customer(), clock.today(), number="FX-2\r\nBcc: evil@x.example")
    db.session.commit()
    answer = any_client.get(f"/admin/invoices/{invoice.id}.pdf")
    assert answer.status_code == 200
    assert "\n" not in answer.headers["Content-Disposition"]
    assert "FX-2" in answer.headers["Content-Disposition"]


# --- D9: out-of-range customer_id on the template editor --------------------------------------

def test_d9_an_out_of_range_customer_id_is_ignored(any_app, any_client):
    _accountant()
    assert login(any_client).status_code == 302
    for value in ("99999999999999999999", "2147483648", "-1", "abc", "²"):
        answer = any_client.get(f"/admin/settings/templates/cordial/fr?customer_id={value}")
        assert answer.status_code == 200, value


# --- D10: a `next` with CR/LF goes to the inbox -----------------------------------------------

def test_d10_a_next_with_a_line_break_goes_to_the_inbox(app, client):
    _accountant()
    answer = login(client, next_url="%2Fadmin%2F%0D%0ALocation%3A+http%3A%2F%2Fevil")
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/"


# --- D12: production refuses settings that cannot work ----------------------------------------

def _production(**overrides):
    values = dict(SECRET_KEY=GOOD_KEY, SQLALCHEMY_DATABASE_URI=PG_URL, PORTAL_BASE_URL=HTTPS,
                  LINK_MAX_AGE_DAYS=60)
    values.update(overrides)
    return create_app(ProductionConfig, values)


@pytest.mark.parametrize("key", ["0123456789012345678901234567890123456789", "abcdefghij" * 4,
                                 "abcdefghijklmnopqrstuvwxyz0123456789ABCD", "k3J9-pQ2_vX7" * 4])
def test_d12_low_entropy_keys_are_refused(key):
    with pytest.raises(ConfigError, match="SECRET_KEY.*bits"):
        _production(SECRET_KEY=key)


def test_d12_random_keys_are_accepted():
    for _ in range(10):  # 20,000 draws all scored 188 bits or more (MIN_KEY_BITS is 96)
        _production(SECRET_KEY=secrets.token_urlsafe(32))
    _production(SECRET_KEY=GOOD_KEY)


@pytest.mark.parametrize("days", [0, -5])
def test_d12_links_born_expired_are_refused(days):
    with pytest.raises(ConfigError, match="LINK_MAX_AGE_DAYS"):
        _production(LINK_MAX_AGE_DAYS=days)


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000", "http://relance.example.fr",
                                 "https://localhost", "https://127.0.0.2/", "https://[::1]:8443",
                                 "https://app.localhost", "relance.example.fr", "https://"])
def test_d12_a_base_url_not_https_or_on_loopback_is_refused(url):
    with pytest.raises(ConfigError, match="PORTAL_BASE_URL"):
        _production(PORTAL_BASE_URL=url)


def test_d12_the_start_stops_with_one_line_and_exit_3():
    environ = {k: v for k, v in os.environ.items()
               if k not in ("RELANCE_ENV", "SECRET_KEY", "DATABASE_URL", "PAYMENTS_DEMO")}
    environ.update(FLASK_APP="wsgi", RELANCE_ENV="production", SECRET_KEY=GOOD_KEY,
                   DATABASE_URL=PG_URL, PORTAL_BASE_URL=HTTPS, LINK_MAX_AGE_DAYS="0")
    result = subprocess.run([sys.executable, "-m", "flask", "init-db"], cwd=ROOT, env=environ,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "LINK_MAX_AGE_DAYS" in result.stderr and len(result.stderr.strip().splitlines()) == 1


# --- D13: a deeply nested Maileva callback is a 400 -------------------------------------------

def test_d13_a_deeply_nested_callback_is_a_bad_request(any_app, any_client):
    body = "[" * 100_000 + "]" * 100_000
    answer = any_client.post(f"/post/maileva/default/{callback_key('default')}", data=body,
                             content_type="application/json")
    assert answer.status_code == 400


# --- D14: no instalment under the minimum ------------------------------------------------------

@pytest.mark.parametrize("cents,count", [(1, 2), (5, 6), (2, 3), (99, 2), (150, 6)])
def test_d14_the_portal_refuses_instalments_under_the_minimum(app, client, cents, count):
    customer, invoices = debtor(amounts=(cents,))
    first = clock.today() + timedelta(days=14)
    answer = ask(client, make_token(customer), invoices, count, first)
    assert answer.status_code == 422
    assert "au moins 0,50" in answer.get_data(as_text=True)  # in the debtor's French
    assert db.session.scalar(select(InstalmentPlan)) is None


def test_d14_a_small_amount_in_few_instalments_is_still_offered(app, client):
    customer, invoices = debtor(amounts=(300,))
    first = clock.today() + timedelta(days=14)
    done = ask(client, make_token(customer), invoices, 3, first, accept=True)
    assert done.status_code == 302
    plan = db.session.scalar(select(InstalmentPlan))
    assert [i.amount_cents for i in plan.instalments] == [100, 100, 100]


def test_d14_the_accountant_cannot_counter_with_tiny_instalments(app, client):
    from portal.answers import AnswerError
    from portal.instalments import counter, propose, request_plan
    customer, invoices = debtor(amounts=(120,))
    first = clock.today() + timedelta(days=14)
    plan = request_plan(customer, invoices, propose(customer, invoices, 2, first,
                                                    clock.today()), "", clock.today())
    with pytest.raises(AnswerError) as refused:
        counter(plan, 6, first, by="compta@atelier.example")
    with app.test_request_context("/admin/"):
        assert "0,50" in str(refused.value) and "2" in str(refused.value)


# --- D15: more than 65,535 debtor ids on PostgreSQL -------------------------------------------

def test_d15_upcoming_of_takes_more_ids_than_postgresql_has_parameters(any_app):
    customer = make_customer()
    invoice = make_invoice(customer, clock.today() + timedelta(days=10))
    db.session.commit()
    ids = list(range(1, 70_001)) + [customer.id]
    found = upcoming_of(ids, clock.today())
    assert found[invoice.id][0] == customer.id and found[invoice.id][1] is not None
    assert len(found) == 1
