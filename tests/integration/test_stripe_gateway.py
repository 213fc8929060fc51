"""The Stripe gateway through the official `stripe` package against a small server of recorded
responses (localstripe does not serve Checkout Sessions): what we send is checked field by field.
And concurrent webhooks for one session, over HTTP, on SQLite and PostgreSQL."""
import json
from datetime import timedelta
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from portal import clock
from portal.extensions import db
from portal.links import make_token
from portal.models import Customer, InstalmentPlan, Payment
from tests.conftest import free_port, make_customer, make_invoice
from tests.helpers import SECRET, checkout, csrf, paid_cents, sign

RECORDED = {  # answers as Stripe gives them, trimmed to the fields the gateway reads
    "/v1/customers": {"id": "cus_RecOrDeD1", "object": "customer"},
    "/v1/checkout/sessions": {"id": "cs_test_a1B2c3", "object": "checkout.session",
                              "url": "https://checkout.stripe.com/c/pay/cs_test_a1B2c3"},
    "/v1/setup_intents/seti_RecOrDeD": {"id": "seti_RecOrDeD", "object": "setup_intent",
                                        "status": "succeeded", "payment_method": "pm_SePa42"},
}


@pytest.fixture
def stripe_server():
    calls = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            calls.append({"path": self.path, "form": parse_qs(body),
                          "idempotency_key": self.headers.get("Idempotency-Key"),
                          "auth": self.headers.get("Authorization")})
            answer = json.dumps(RECORDED[self.path]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def do_GET(self):
            calls.append({"path": self.path, "form": {}, "idempotency_key": None,
                          "auth": self.headers.get("Authorization")})
            answer = json.dumps(RECORDED[self.path.split("?")[0]]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls
    server.shutdown()
    server.server_close()


def test_checkout_session_carries_server_amounts_metadata_and_idempotency(app, client,
                                                                          stripe_server):
    base, calls = stripe_server
    app.config.update(STRIPE_SECRET_KEY="sk_test_recorded", STRIPE_API_BASE=base)
    customer = make_customer(name="Imprimerie Fournier", email="ap@fournier.example")
    first = make_invoice(customer, clock.today(), 123_456, number="IF-1")
    second = make_invoice(customer, clock.today(), 7_890, number="IF-2")
    db.session.commit()
    token = make_token(customer)
    page = client.get(f"/p/{token}").get_data(as_text=True)
    response = client.post(f"/p/{token}/pay", data={"csrf_token": csrf(page),
                                                    "invoice_ids": [first.id, second.id]})
    assert response.status_code == 303
    assert response.headers["Location"] == RECORDED["/v1/checkout/sessions"]["url"]
    assert [c["path"] for c in calls] == ["/v1/customers", "/v1/checkout/sessions"]
    created, session = calls
    assert created["auth"] == "Bearer sk_test_recorded"
    assert created["idempotency_key"] == f"relance-customer-{customer.id}"
    assert created["form"]["email"] == ["ap@fournier.example"]
    form = session["form"]
    payment = db.session.scalar(select(Payment))
    assert session["idempotency_key"] == f"relance-checkout-{payment.id}"
    assert form["mode"] == ["payment"] and form["customer"] == ["cus_RecOrDeD1"]
    assert form["payment_method_types[0]"] == ["card"]
    assert form["payment_method_types[1]"] == ["sepa_debit"]
    assert form["line_items[0][price_data][unit_amount]"] == ["123456"]
    assert form["line_items[1][price_data][unit_amount]"] == ["7890"]
    assert form["line_items[0][price_data][currency]"] == ["eur"]
    assert form["metadata[invoices]"] == ["IF-1,IF-2"]
    assert form["metadata[payment_id]"] == [str(payment.id)]
    assert form["payment_intent_data[metadata][customer_ref]"] == [customer.ref]
    assert "payment_intent_data[description]" not in form  # real-Stripe-only parameter
    assert form["success_url"][0].endswith("/paid?session_id={CHECKOUT_SESSION_ID}")
    assert payment.external_id == "cs_test_a1B2c3" and payment.amount_cents == 131_346
    # A second payment reuses the Stripe customer.
    page = client.get(f"/p/{token}").get_data(as_text=True)
    calls.clear()
    db.session.delete(payment)  # (the recorded server always answers the same session id)
    db.session.commit()
    client.post(f"/p/{token}/pay", data={"csrf_token": csrf(page), "invoice_ids": [second.id]})
    assert [c["path"] for c in calls] == ["/v1/checkout/sessions"]
    assert db.session.get(Customer, customer.id).stripe_customer_id == "cus_RecOrDeD1"


def test_stripe_unreachable_means_nothing_charged_and_nothing_written(app, client):
    app.config.update(STRIPE_SECRET_KEY="sk_test_x", STRIPE_API_BASE=f"http://127.0.0.1:{free_port()}")
    customer = make_customer()
    invoice = make_invoice(customer, clock.today(), 5_000)
    db.session.commit()
    token = make_token(customer)
    page = client.get(f"/p/{token}").get_data(as_text=True)
    response = client.post(f"/p/{token}/pay", data={"csrf_token": csrf(page),
                                                    "invoice_ids": [invoice.id]},
                           follow_redirects=True)
    assert "indisponible pour le moment" in response.get_data(as_text=True)
    assert db.session.scalar(select(Payment)) is None


def test_concurrent_webhooks_for_one_session(any_app):
    """Many sessions; for each, 'completed' and 'async succeeded' race each other (and each is
    delivered twice). Every cent counts once."""
    any_app.config["STRIPE_WEBHOOK_SECRET"] = SECRET
    port = free_port()
    server = make_server("127.0.0.1", port, any_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    customer = make_customer()
    payments = []
    for n in range(12):
        invoice = make_invoice(customer, clock.today(), 10_000 + n, number=f"CC-{n}")
        db.session.commit()
        payments.append(checkout(customer, [invoice], session_id=f"cs_race_{n}"))

    def deliver(event_id, kind, payment, status):
        payload = json.dumps({"id": event_id, "object": "event", "type": kind, "data": {
            "object": {"id": payment.external_id, "object": "checkout.session",
                       "amount_total": payment.amount_cents, "currency": "eur", "payment_status": status,
                       "payment_intent": f"pi_{payment.external_id}"}}})
        request = urllib.request.Request(f"http://127.0.0.1:{port}/stripe/webhook",
                                         data=payload.encode(), method="POST", headers={
                                             "Content-Type": "application/json",
                                             "Stripe-Signature": sign(payload)})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200

    jobs = []
    for p in payments:
        for copy in range(2):
            jobs.append(("evt_c_" + p.external_id, "checkout.session.completed", p, "unpaid"))
            jobs.append(("evt_s_" + p.external_id, "checkout.session.async_payment_succeeded",
                         p, "paid"))
    threads = [threading.Thread(target=deliver, args=job) for job in jobs]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        server.shutdown()
    db.session.expire_all()
    assert {p.state for p in db.session.scalars(select(Payment))} == {"succeeded"}
    assert paid_cents() == sum(10_000 + n for n in range(12))


def test_mandate_is_a_setup_mode_checkout_and_its_webhook_stores_the_method(app, client,
                                                                           stripe_server):
    from tests.helpers import ask, debtor, post_event
    base, calls = stripe_server
    app.config.update(STRIPE_SECRET_KEY="sk_test_recorded", STRIPE_API_BASE=base,
                      STRIPE_WEBHOOK_SECRET=SECRET)
    customer, invoices = debtor()
    token = make_token(customer)
    ask(client, token, invoices, 3, clock.today() + timedelta(days=7), accept=True)
    plan = db.session.scalar(select(InstalmentPlan))
    page = client.get(f"/p/{token}").get_data(as_text=True)
    response = client.post(f"/p/{token}/mandate", data={"csrf_token": csrf(page)})
    assert response.status_code == 303
    form = calls[-1]["form"]
    assert form["mode"] == ["setup"] and form["payment_method_types[0]"] == ["sepa_debit"]
    assert form["metadata[plan_id]"] == [str(plan.id)]
    assert calls[-1]["idempotency_key"] == f"relance-mandate-{plan.id}"
    post_event(client, "evt_setup", "checkout.session.completed", {
        "id": "cs_setup_1", "object": "checkout.session", "mode": "setup",
        "setup_intent": "seti_RecOrDeD", "metadata": {"plan_id": str(plan.id)}})
    db.session.expire_all()
    assert db.session.get(InstalmentPlan, plan.id).mandate_payment_method == "pm_SePa42"
