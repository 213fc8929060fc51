"""JSON API: bearer token, invoices push (all or nothing), payments (idempotent by external_id)."""
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Invoice, Payment

AUTH = {"Authorization": "Bearer test-api-token"}
INVOICE = {"customer_ref": "C1", "customer_name": "Dupont & Fils", "email": "c@dupont.fr",
           "invoice_number": "F-1", "issue_date": "2026-01-01", "due_date": "2026-01-31",
           "amount": "1234.56"}


def test_token_required(client):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        response = client.post("/api/v1/invoices", json=INVOICE, headers=headers)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"


def test_without_api_token_variable_only_made_tokens_work(app, client):
    """API_TOKEN unset: the old token stops working, and the answer says how to make one;
    a token made with `flask api-tokens create` works, until revoked."""
    app.config["API_TOKEN"] = None
    response = client.get("/api/v1/invoices/F-1", headers=AUTH)
    assert response.status_code == 401
    assert "flask api-tokens create" in response.json["error"]["message"]
    made = app.test_cli_runner().invoke(args=["api-tokens", "create", "--label", "Pennylane"])
    assert made.exit_code == 0, made.output
    token = made.stdout.splitlines()[0]
    assert token.startswith("rl_") and len(token) > 40
    mine = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/invoices/F-1", headers=mine).status_code == 404  # in, no invoice
    listed = app.test_cli_runner().invoke(args=["api-tokens", "list"])
    assert token[:10] in listed.output and "Pennylane" in listed.output and "live" in listed.output
    assert "never used" not in listed.output  # it was used just above
    revoked = app.test_cli_runner().invoke(args=["api-tokens", "revoke", token[:10]])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/invoices/F-1", headers=mine).status_code == 401


def test_push_invoices_then_read_back(client):
    response = client.post("/api/v1/invoices", json=[INVOICE, dict(INVOICE, invoice_number="F-2",
                                                                   amount="10,00")], headers=AUTH)
    assert response.status_code == 201 and response.json["created"] == 2
    again = client.post("/api/v1/invoices", json=INVOICE, headers=AUTH)
    assert again.status_code == 200 and again.json == {"created": 0, "updated": 0, "unchanged": 1}
    got = client.get("/api/v1/invoices/F-1", headers=AUTH).json
    assert got["amount"] == "1234.56" and got["balance"] == "1234.56" and got["status"] == "open"
    assert client.get("/api/v1/invoices/NOPE", headers=AUTH).status_code == 404


def test_bad_invoices_are_all_rejected(client):
    bad = dict(INVOICE, invoice_number="F-9", due_date="31/02/2026", amount="abc")
    response = client.post("/api/v1/invoices", json=[INVOICE, bad], headers=AUTH)
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid_invoices" and "1.due_date" in error["fields"]
    assert db.session.scalar(select(func.count(Invoice.id))) == 0
    assert client.post("/api/v1/invoices", data="nope", headers=AUTH).status_code == 400


def test_payments_allocate_exactly_and_replay_is_a_no_op(client):
    client.post("/api/v1/invoices", json=INVOICE, headers=AUTH)
    payment = {"invoice_number": "F-1", "amount": "1000.00", "currency": "EUR",
               "external_id": "BANK-1", "date": "2026-02-10"}
    first = client.post("/api/v1/payments", json=payment, headers=AUTH)
    assert first.status_code == 201 and first.json["invoice"]["balance"] == "234.56"
    replay = client.post("/api/v1/payments", json=payment, headers=AUTH)
    assert replay.status_code == 200 and replay.json["replayed"] is True
    assert replay.json["invoice"]["balance"] == "234.56"
    over = client.post("/api/v1/payments", json=dict(payment, external_id="BANK-2",
                                                     amount="300.00"), headers=AUTH)
    assert over.json["allocated"] == "234.56" and over.json["credit"] == "65.44"
    assert over.json["invoice"]["status"] == "paid"
    assert db.session.scalar(select(func.sum(Payment.amount_cents))) == 130_000
    timeline = client.get("/api/v1/customers/C1/timeline", headers=AUTH).json
    kinds = [e["kind"] for e in timeline["events"]]
    assert kinds.count("payment_recorded") == 2 and "invoice_imported" in kinds


def test_bad_payment(client):
    response = client.post("/api/v1/payments", json={"invoice_number": "X", "amount": "-1"},
                           headers=AUTH)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"invoice_number", "amount", "external_id"}


def test_an_invoice_names_its_debtor_s_siren(client):
    invoice = {"customer_ref": "C9", "customer_name": "Girard SARL", "email": "g@example.org",
               "siren": "552100554", "invoice_number": "S-1", "issue_date": "2026-01-05",
               "due_date": "2026-02-04", "amount": "100.00"}
    assert client.post("/api/v1/invoices", json=invoice, headers=AUTH).status_code == 201
    from portal.extensions import db
    from portal.models import Customer
    assert db.session.query(Customer.siren).filter_by(ref="C9").scalar() == "552100554"
    wrong = dict(invoice, invoice_number="S-2", siren="5521")
    answer = client.post("/api/v1/invoices", json=wrong, headers=AUTH)
    assert answer.status_code == 422
    assert answer.json["error"]["fields"] == {"0.siren": "siren '5521' is not 9 digits"}
