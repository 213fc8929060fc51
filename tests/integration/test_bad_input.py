"""Odd input through the public surface (portal, back office, API, CLI): a clear 4xx or a named
row, never a 500 or a traceback, and nothing half-written. Findings F5, F7, F9, F14, F15, F16,
F19 of shared/FINDINGS.md."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import clock
from portal.extensions import db
from portal.links import make_token
from portal.models import Customer, Event, Hold, Invoice, Payment
from reminders.mime import Outgoing
from tests.conftest import make_customer, make_invoice
from tests.helpers import csrf

AUTH = {"Authorization": "Bearer test-api-token"}
HEADER = ("customer_ref,customer_name,email,phone,language,invoice_number,issue_date,due_date,"
          "currency,amount,amount_paid\n")


def row(number="F-1", amount="100.00", ref="C1", name="Dupont", email="c@dupont.fr",
        issue="2026-01-05", due="2026-02-04", paid="0"):
    return f'{ref},{name},{email},,fr,"{number}",{issue},{due},EUR,"{amount}",{paid}\n'


def import_csv(runner, tmp_path, text, command=("invoices", "import")):
    path = tmp_path / "file.csv"
    path.write_bytes(text.encode("utf-8"))
    return runner.invoke(args=[*command, str(path)])


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


# --- F5: headers from clean values only ----------------------------------------------------

def test_f5_control_characters_in_an_invoice_number_are_refused_with_the_line(runner, tmp_path):
    result = import_csv(runner, tmp_path, HEADER + row() + row(
        number="HDR-1\r\nBcc: evil@evil.example"))
    assert result.exit_code == 1 and "line 3: invoice_number" in result.output
    assert "control character" in result.output and count(Invoice) == 0


def test_f5_a_non_ascii_invoice_number_gets_its_copy_and_no_data_in_the_message_id(
        any_app, any_client, smtp):
    response = any_client.post("/api/v1/invoices", headers=AUTH, json={
        "customer_ref": "C39", "customer_name": "Café Lumière", "email": "cafe@example.org",
        "invoice_number": "N°2026-001", "issue_date": "2026-10-01", "due_date": "2026-10-31",
        "amount": "250.00"})
    assert response.status_code == 201
    invoice = db.session.scalar(select(Invoice))
    token = make_token(invoice.customer)
    page = any_client.get(f"/p/{token}").get_data(as_text=True)
    answer = any_client.post(f"/p/{token}/invoices/{invoice.id}/not-received",
                             data={"csrf_token": csrf(page)})
    assert answer.status_code == 302
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert "N°2026-001" in message["Subject"] and "2026" not in message["Message-ID"]


def test_f5_a_message_id_with_data_in_it_is_never_written():
    message = Outgoing(msg_id="<relance.copy.1.X\r\nBcc: e@evil.example@x>", sender="a@b.fr",
                       recipients=["c@d.fr"], subject="s", text="t", html="<p>h</p>")
    with pytest.raises(ValueError):
        message.as_bytes()


# --- F7: 500s anyone could trigger ---------------------------------------------------------

@pytest.fixture
def debtor(any_app):
    customer = make_customer(name="Fromagerie Roux")
    invoice = make_invoice(customer, clock.today() - timedelta(days=20), 50_000, number="G-1")
    db.session.commit()
    return customer, invoice, f"/p/{make_token(customer)}"


def test_f7_ids_out_of_range_are_not_found(any_client, debtor):
    customer, invoice, landing = debtor
    page = any_client.get(landing).get_data(as_text=True)
    token = csrf(page)
    for big in ("2147483648", "99999999999999999999"):
        assert any_client.get(f"{landing}/invoices/{big}.pdf").status_code == 404
        for path in ("not-received", "message"):
            response = any_client.post(f"{landing}/invoices/{big}/{path}",
                                       data={"csrf_token": token})
            assert response.status_code == 404
        for path in ("promise", "plan", "pay"):
            response = any_client.post(f"{landing}/{path}", data={
                "csrf_token": token, "invoice_ids": big, "promise_date": "2030-01-01"})
            assert response.status_code == 400, (path, big)
    for odd in ("²", "-1", "1.0", "0x1"):
        response = any_client.post(f"{landing}/promise", data={"csrf_token": token,
                                                               "invoice_ids": odd})
        assert response.status_code == 400


def test_f7_a_signed_link_naming_an_id_out_of_range_is_invalid(any_app, any_client):
    from portal.links import _serializer
    for big in (2**31, 2**63, 10**20):
        token = _serializer().dumps([big, 1])
        assert any_client.get(f"/p/{token}").status_code == 404


def test_f7_nul_bytes_and_long_fields_are_refused(any_client, debtor):
    customer, invoice, landing = debtor
    page = any_client.get(landing).get_data(as_text=True)
    response = any_client.post(f"{landing}/plan", data={
        "csrf_token": csrf(page), "invoice_ids": invoice.id, "instalment_count": "3",
        "first_instalment_date": (clock.today() + timedelta(days=5)).isoformat(),
        "reason": "a\x00b", "accept": "y"})
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    assert count(Hold) == 0
    login = any_client.get("/admin/login").get_data(as_text=True)
    for email in ("x\x00@example.com", "a" * 400 + "@example.com"):
        response = any_client.post("/admin/login", data={"csrf_token": csrf(login),
                                                         "email": email, "password": "p"})
        assert response.status_code in (200, 400), email


def test_f7_the_error_page_renders_after_a_failed_flush(any_client, debtor, monkeypatch):
    """An unexpected error after a failed write still gets the error page, not a bare 500."""
    import portal.debtor.views as views
    customer, invoice, landing = debtor

    def broken(*args, **kwargs):
        db.session.add(Customer(ref=customer.ref, name="duplicate", email="x@y.fr"))
        db.session.flush()  # IntegrityError: the session needs a rollback before any read

    monkeypatch.setattr(views, "_landing", broken)
    response = any_client.get(landing)
    assert response.status_code == 500 and "Une erreur est survenue" in response.get_data(True)


# --- F9: external ids per source -------------------------------------------------------------

def test_f9_an_api_id_that_looks_like_an_import_is_its_own_payment(any_client, debtor):
    customer, invoice, landing = debtor
    response = any_client.post("/api/v1/payments", headers=AUTH, json={
        "invoice_number": "G-1", "amount": "1.00", "external_id": "import:G-1",
        "date": clock.today().isoformat()})
    assert response.status_code == 201 and response.json["replayed"] is False
    conflict = any_client.post("/api/v1/payments", headers=AUTH, json={
        "invoice_number": "G-1", "amount": "2.00", "external_id": "import:G-1"})
    assert conflict.status_code == 409


def test_f9_a_reimport_never_moves_a_transfer(runner, tmp_path):
    assert import_csv(runner, tmp_path, HEADER + row("FA-13", ref="C001") + row(
        "FA-21", ref="C002", name="Other", email="o@other.fr")).exit_code == 0
    transfers = "invoice_number,amount,date,external_id\nFA-21,50.00,2026-11-20,import:FA-13\n"
    assert import_csv(runner, tmp_path, transfers, ("payments", "import")).exit_code == 0
    again = import_csv(runner, tmp_path, HEADER + row("FA-13", ref="C001", paid="30.00")
                       + row("FA-21", ref="C002", name="Other", email="o@other.fr"))
    assert again.exit_code == 0, again.output
    fa13, fa21 = db.session.scalars(select(Invoice).order_by(Invoice.number)).all()
    assert (fa13.paid_cents, fa21.paid_cents) == (3_000, 5_000)
    transfer = db.session.scalar(select(Payment).where(Payment.source == "csv"))
    assert (transfer.customer_id, transfer.amount_cents) == (fa21.customer_id, 5_000)


# --- F14: import validation ------------------------------------------------------------------

@pytest.mark.parametrize("text,line,expected", [
    (HEADER + row(amount="1e30"), 2, "not an amount"),
    (HEADER + row(amount="99999999999999999999"), 2, "largest amount"),
    (HEADER + row(amount="92233720368547758.07"), 2, "largest amount"),
    (HEADER + row(amount="1_000"), 2, "not an amount"),
    (HEADER + row(amount="٣"), 2, "not an amount"),
    (HEADER + row(name="N" * 200_000), 2, "cannot be read"),
    (HEADER.replace("amount_paid", "amount_paid,amount") + row().rstrip("\n") + ',"5.00"\n',
     1, "named twice"),
    (HEADER + row() + row(number="F-2", name="Dupont SA"), 3, "another customer_name"),
    (HEADER + row() + row(number="F-2", email="x@dupont.fr"), 3, "another email"),
    (HEADER + row(issue="0001-01-01"), 2, "out of range"),
    (HEADER + row(due="9999-12-31"), 2, "out of range"),
    (HEADER + row(number="F\x001"), 2, "control character"),
    (HEADER + 'C1,"Dupont,c@dupont.fr,,fr,F-1,2026-01-05,2026-02-04,EUR,1.00,0\n' + row("F-2")
     + row("F-3"), 2, ""),
    (HEADER, 1, "no rows"),
])
def test_f14_bad_files_are_refused_whole_with_the_line(runner, tmp_path, text, line, expected):
    result = import_csv(runner, tmp_path, text)
    assert result.exit_code == 1 and f"line {line}:" in result.output and expected in result.output
    assert "Traceback" not in result.output and count(Invoice) == 0


def test_f14_transfers_header_only_and_huge_amounts(runner, tmp_path):
    for text in ("invoice_number,amount,date,external_id\n",
                 "invoice_number,amount,date,external_id\nF-1,1e30,2026-11-20,V1\n"):
        result = import_csv(runner, tmp_path, text, ("payments", "import"))
        assert result.exit_code == 1 and "Traceback" not in result.output


def test_f14_the_preview_refuses_a_date_out_of_range(app, client):
    from portal.users import create_user
    create_user("compta@atelier.example", "correct horse battery staple")
    db.session.commit()
    page = client.get("/admin/login").get_data(as_text=True)
    client.post("/admin/login", data={"csrf_token": csrf(page), "email": "compta@atelier.example",
                                      "password": "correct horse battery staple"})
    assert client.get("/admin/preview?date=9999-12-31").status_code == 400
    assert client.get("/admin/preview?date=2026-13-45").status_code == 400


# --- F15: the API ----------------------------------------------------------------------------

def test_f15_api_refuses_deep_odd_and_oversized_bodies(any_client, debtor):
    deep = "[" * 100_000 + "]" * 100_000
    response = any_client.post("/api/v1/invoices", data=deep, headers=AUTH,
                               content_type="application/json")
    assert response.status_code == 400
    invoice = {"customer_ref": "C1", "customer_name": "Dupont", "email": "c@dupont.fr",
               "invoice_number": "F-1", "issue_date": "2026-01-05", "due_date": "2026-02-04",
               "amount": "10.00"}
    too_many = [dict(invoice, invoice_number=f"B-{n}") for n in range(1001)]
    assert any_client.post("/api/v1/invoices", json=too_many, headers=AUTH).status_code == 413
    for odd in ({"invoice_number": ["a"]}, {"amount": True}, {"email": {"a": 1}},
                {"amount": "1_000"}, {"amount": "٣"}, {"customer_name": "\ud800"},
                {"invoice_number": "A\x00B"}, {"email": ("a" * 320) + "@x.fr"},
                {"due_date": "9999-12-31"}):
        response = any_client.post("/api/v1/invoices", json=dict(invoice, **odd), headers=AUTH)
        assert response.status_code == 422, odd
    for odd in ({"external_id": ["x"]}, {"external_id": "x" * 300}, {"date": "0001-01-01"},
                {"amount": "1e30"}, {"invoice_number": ["G-1"]}, {"external_id": "a\x00"}):
        body = dict({"invoice_number": "G-1", "amount": "1.00", "external_id": "E-1"}, **odd)
        response = any_client.post("/api/v1/payments", json=body, headers=AUTH)
        assert response.status_code == 422, odd
    assert count(Invoice) == 1 and count(Payment) == 0


def test_f15_invoice_numbers_with_a_slash_are_reachable(client):
    response = client.post("/api/v1/invoices", headers=AUTH, json={
        "customer_ref": "C1", "customer_name": "Dupont", "email": "c@dupont.fr",
        "invoice_number": "FA/2026/001", "issue_date": "2026-01-05", "due_date": "2026-02-04",
        "amount": "10.00"})
    assert response.status_code == 201
    found = client.get("/api/v1/invoices/FA%2F2026%2F001", headers=AUTH)
    assert found.status_code == 200 and found.json["number"] == "FA/2026/001"
    assert client.get("/api/v1/invoices/A%00B", headers=AUTH).status_code == 404


# --- F16: security headers -------------------------------------------------------------------

def test_f16_security_headers(any_client, debtor):
    customer, invoice, landing = debtor
    client = any_client
    assert client.get(landing).status_code == 200
    for path in (landing, "/admin/login", "/healthz"):
        headers = client.get(path).headers
        assert headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(landing).headers["Cache-Control"] == "no-store"
    assert client.get("/admin/login").headers["Cache-Control"] == "no-store"


# --- F19: a visit is not a write per page view -----------------------------------------------

def test_f19_fifty_reloads_are_one_visit(any_client, debtor):
    customer, invoice, landing = debtor
    for _ in range(50):
        assert any_client.get(landing).status_code == 200
    assert db.session.scalar(select(func.count(Event.id)).where(
        Event.kind == "portal_visit")) == 1


def test_the_dashboard_counts_online_money_on_postgresql_too(any_app, any_client, debtor):
    """Found by the property test: SUM of a BIGINT is a Decimal on PostgreSQL, which the
    amount formatter refused (500 on /admin/dashboard once a card payment had arrived)."""
    from portal.payments.lifecycle import start_checkout, transition
    from portal.users import create_user
    customer, invoice, landing = debtor
    payment = start_checkout(customer, [(invoice, 50_000)], "demo", "demo_cs_dash")
    transition(payment, "succeeded", clock.today(), actor="demo")
    create_user("compta@atelier.example", "correct horse battery staple")
    db.session.commit()
    page = any_client.get("/admin/login").get_data(as_text=True)
    any_client.post("/admin/login", data={"csrf_token": csrf(page),
                                          "email": "compta@atelier.example",
                                          "password": "correct horse battery staple"})
    response = any_client.get("/admin/dashboard")
    assert response.status_code == 200 and "500,00" in response.get_data(as_text=True)


def test_f10_an_expired_link_of_a_revoked_version_mails_nothing(any_client, debtor, smtp,
                                                                 monkeypatch):
    import time
    customer, invoice, landing = debtor
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 61 * 86400)
    old = make_token(customer)  # signed 61 days ago, with link version 1
    monkeypatch.undo()
    customer.link_version = 2  # the accountant revoked every link since
    db.session.commit()
    page = any_client.get(f"/p/{old}")
    assert page.status_code == 410
    renewed = any_client.post(f"/p/{old}/renew", data={"csrf_token": csrf(page.get_data(True))})
    assert renewed.status_code == 200 and smtp.messages == []


def test_one_bank_reference_is_one_transfer_by_api_or_csv(runner, client, tmp_path):
    """Review finding: with ids unique per source, the same transfer sent by the API and then
    in a bank CSV was counted twice."""
    assert import_csv(runner, tmp_path, HEADER + row("FA-13")).exit_code == 0
    response = client.post("/api/v1/payments", headers=AUTH, json={
        "invoice_number": "FA-13", "amount": "40.00", "external_id": "VIR-2026-0001",
        "date": "2026-11-20"})
    assert response.status_code == 201
    transfers = "invoice_number,amount,date,external_id\nFA-13,40.00,2026-11-20,VIR-2026-0001\n"
    result = import_csv(runner, tmp_path, transfers, ("payments", "import"))
    assert result.exit_code == 0 and "1 already known" in result.output
    assert db.session.scalar(select(func.count(Payment.id))) == 1
