"""The early-payment discount through Stripe: the Checkout Session Relance asks for carries the
discounted amount before the last day and the full amount after it; the card is charged that
amount on localstripe (a Stripe-compatible server started here); the signed webhook settles the
invoice with money and discount allocations that make its total exactly.

localstripe has no Checkout: a small relay in front of it answers `POST /v1/checkout/sessions`
as Stripe does (recording what was asked) and passes every other call to localstripe; the card
payment Checkout would make is made on localstripe with the session's amount."""
import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import stripe
from sqlalchemy import select

from portal import clock, settings
from portal.extensions import db
from portal.links import make_token
from portal.models import Allocation, Invoice, Payment
from tests.conftest import free_port, make_customer, make_invoice
from tests.helpers import SECRET, csrf, post_event


@pytest.fixture
def relay(localstripe):
    """(base URL, the Checkout Sessions asked for): localstripe, plus Checkout Sessions."""
    sessions = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status, body):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _pass(self, method):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if method == "POST" and self.path == "/v1/checkout/sessions":
                sessions.append(parse_qs(body.decode()))
                n = len(sessions)
                return self._answer(200, json.dumps({
                    "id": f"cs_test_{n}", "object": "checkout.session",
                    "url": f"https://checkout.stripe.com/c/pay/cs_test_{n}"}).encode())
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() in ("authorization", "content-type", "idempotency-key")}
            forwarded = urllib.request.Request(localstripe + self.path, data=body or None,
                                               method=method, headers=headers)
            try:
                with urllib.request.urlopen(forwarded, timeout=10) as got:
                    return self._answer(got.status, got.read())
            except urllib.error.HTTPError as refused:
                return self._answer(refused.code, refused.read())

        def do_POST(self):
            self._pass("POST")

        def do_GET(self):
            self._pass("GET")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", sessions
    server.shutdown()
    server.server_close()


def grant():
    document = settings.default_document()
    document["policies"][0].update(discount_percent="2", discount_days=10)
    settings.save(document, author="test")
    db.session.commit()
    settings.forget()


def card_payment(api, amount, customer_id):
    """What Stripe's Checkout does with a card: a PaymentIntent for the session's amount."""
    method = api.v1.payment_methods.create(params={
        "type": "card", "card": {"number": "4242424242424242", "exp_month": 12,
                                 "exp_year": clock.today().year + 2, "cvc": "123"}})
    return api.v1.payment_intents.create(params={
        "amount": amount, "currency": "eur", "customer": customer_id,
        "payment_method": method.id, "payment_method_types": ["card"], "confirm": True})


@pytest.mark.parametrize("issued_days_ago,charged,discount", [
    (10, 98_000, 2_000),   # the last day: the discounted amount
    (11, 100_000, 0),      # the day after: the full amount
])
def test_a_card_payment_through_stripe_is_charged_the_discounted_amount_until_the_last_day(
        app, client, relay, issued_days_ago, charged, discount):
    base, sessions = relay
    app.config.update(STRIPE_SECRET_KEY="sk_test_local", STRIPE_API_BASE=base,
                      STRIPE_WEBHOOK_SECRET=SECRET)
    api = stripe.StripeClient("sk_test_local", base_addresses={"api": base})
    grant()
    customer = make_customer(name="Imprimerie Fournier", email="ap@fournier.example")
    bill = make_invoice(customer, clock.today() + timedelta(days=20), 100_000,
                        issued=clock.today() - timedelta(days=issued_days_ago), number="S-1")
    db.session.commit()
    token = make_token(customer)
    page = client.get(f"/p/{token}").get_data(as_text=True)
    started = client.post(f"/p/{token}/pay", data={"csrf_token": csrf(page),
                                                   "invoice_ids": [bill.id]})
    assert started.status_code == 303
    [asked] = sessions
    assert asked["line_items[0][price_data][unit_amount]"] == [str(charged)]
    db.session.expire_all()
    payment = db.session.scalar(select(Payment))
    assert payment.amount_cents == charged
    intent = card_payment(api, int(asked["line_items[0][price_data][unit_amount]"][0]),
                          asked["customer"][0])
    assert intent.status == "succeeded" and intent.amount == charged
    assert api.v1.payment_intents.retrieve(intent.id).amount == charged  # what the card paid
    answer = post_event(client, "evt_1", "checkout.session.completed", {
        "id": payment.external_id, "object": "checkout.session", "amount_total": intent.amount,
        "currency": "eur", "payment_status": "paid", "payment_intent": intent.id})
    assert answer.status_code == 200
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == "succeeded"
    parts = dict(db.session.execute(select(Allocation.kind, Allocation.amount_cents)
                                    .where(Allocation.invoice_id == bill.id)).all())
    assert parts == ({"payment": charged, "discount": discount} if discount
                     else {"payment": charged})
    assert sum(parts.values()) == 100_000
    assert db.session.get(Invoice, bill.id).status == "paid"
