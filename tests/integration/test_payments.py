"""Payments: the demo gateway from the portal, and Stripe webhooks signed exactly as Stripe signs
them (t=...,v1=HMAC-SHA256), posted over HTTP; every test counts cents."""
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import clock
from portal.extensions import db
from portal.links import make_token
from portal.models import Allocation, Hold, Payment, ProcessedEvent
from portal.payments.lifecycle import customer_credit_cents
from tests.conftest import make_customer, make_invoice, named
from tests.helpers import CAL, SECRET, business_day, checkout, csrf, paid_cents, post_event, run, sign

@pytest.fixture
def webhooks(app):
    app.config["STRIPE_WEBHOOK_SECRET"] = SECRET
    return app


def debtor(amounts=(100_000, 50_000), prefix="R"):
    customer = make_customer(name="Fromagerie Roux")
    invoices = [make_invoice(customer, clock.today() - timedelta(days=30), cents, number=f"{prefix}-{n}")
                for n, cents in enumerate(amounts, start=1)]
    db.session.commit()
    return customer, invoices


def session(payment, status="paid", intent="pi_1"):
    return {"id": payment.external_id, "object": "checkout.session",
            "amount_total": payment.amount_cents, "currency": "eur", "payment_status": status,
            "payment_intent": intent}


# --- the demo gateway, from the portal -------------------------------------------------------

def pay_in_portal(client, token, invoice_ids, outcome):
    page = client.get(f"/p/{token}").get_data(as_text=True)
    response = client.post(f"/p/{token}/pay", data={"csrf_token": csrf(page),
                                                    "invoice_ids": invoice_ids})
    assert response.status_code == 303
    demo = client.get(response.headers["Location"])
    assert demo.status_code == 200 and "DEMO" in demo.get_data(as_text=True)
    result = client.post(response.headers["Location"], data={
        "csrf_token": csrf(demo.get_data(as_text=True)), "outcome": outcome})
    assert result.status_code == 302
    return db.session.scalar(select(Payment).order_by(Payment.id.desc()))


def test_card_payment_in_the_demo_pays_the_invoices_and_the_reminders_stop(app, client, smtp):
    customer, invoices = debtor()
    payment = pay_in_portal(client, make_token(customer), [i.id for i in invoices], "card")
    assert (payment.state, payment.amount_cents, payment.source) == ("succeeded", 150_000, "demo")
    db.session.expire_all()
    assert [i.status for i in invoices] == ["paid", "paid"] and paid_cents() == 150_000
    assert run(app, smtp, business_day(1)) == []


def test_sepa_pending_holds_the_reminders_then_clears_at_the_next_run(app, client, smtp):
    customer, invoices = debtor()
    payment = pay_in_portal(client, make_token(customer), [invoices[0].id], "sepa")
    assert payment.state == "pending" and paid_cents() == 0
    assert {h.kind for h in db.session.scalars(select(Hold))} == {"payment_pending"}
    sent = run(app, smtp, business_day(1))  # R-2 is reminded, R-1 is not; then the debit clears
    assert len(sent) == 1 and named(sent[0][2]) == {"R-2"}
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == "succeeded"
    assert paid_cents() == 100_000


def test_a_failed_sepa_debit_brings_a_reminder_back(app, client, smtp):
    customer, invoices = debtor(amounts=(100_000,))
    token = make_token(customer)
    before = clock.today()  # the first reminder went out on the last business day up to today
    while not CAL.is_business_day(before):
        before -= timedelta(days=1)
    first = run(app, smtp, before)
    assert [level for _, level, _ in first] == [1]
    payment = pay_in_portal(client, token, [invoices[0].id], "sepa_fails")
    assert payment.state == "failed" and paid_cents() == 0
    sent = run(app, smtp, business_day(1))
    assert [level for _, level, _ in sent] == [2]
    assert "n'a pas abouti" in sent[0][2]


def test_the_portal_computes_amounts_itself(client):
    customer, invoices = debtor()
    token = make_token(customer)
    page = client.get(f"/p/{token}").get_data(as_text=True)
    response = client.post(f"/p/{token}/pay", data={
        "csrf_token": csrf(page), "invoice_ids": [invoices[1].id], "amount": "0.01"})
    assert response.status_code == 303
    assert db.session.scalar(select(Payment)).amount_cents == 50_000
    other = make_customer()
    theirs = make_invoice(other, clock.today(), 1_000)
    db.session.commit()
    response = client.post(f"/p/{token}/pay", data={"csrf_token": csrf(page),
                                                    "invoice_ids": [theirs.id]})
    assert response.status_code == 404


# --- Stripe webhooks -----------------------------------------------------------------------

def test_signature_is_required(webhooks, client):
    customer, invoices = debtor()
    payment = checkout(customer, invoices)
    payload = json.dumps({"id": "evt_x", "type": "checkout.session.completed",
                          "data": {"object": session(payment)}})
    for headers in ({}, {"Stripe-Signature": sign(payload, "whsec_wrong")},
                    {"Stripe-Signature": sign(payload, at=time.time() - 3600)},  # too old
                    {"Stripe-Signature": sign(payload + " ")}):
        response = client.post("/stripe/webhook", data=payload, headers=headers,
                               content_type="application/json")
        assert response.status_code == 400
    assert paid_cents() == 0 and db.session.scalar(select(ProcessedEvent)) is None


def test_replayed_event_is_applied_once(any_app, any_client):
    any_app.config["STRIPE_WEBHOOK_SECRET"] = SECRET
    client = any_client
    customer, invoices = debtor()
    payment = checkout(customer, invoices)
    for _ in range(3):
        response = post_event(client, "evt_1", "checkout.session.completed", session(payment))
        assert response.status_code == 200
    assert response.json["status"] == "duplicate"
    assert paid_cents() == 150_000 and db.session.scalar(func.count(ProcessedEvent.id)) == 1
    # Another event id saying the same thing changes nothing either: the state machine knows.
    post_event(client, "evt_2", "checkout.session.async_payment_succeeded", session(payment))
    assert paid_cents() == 150_000


def test_events_in_any_order(any_app, any_client):
    any_app.config["STRIPE_WEBHOOK_SECRET"] = SECRET
    client = any_client
    customer, invoices = debtor()
    payment = checkout(customer, invoices)
    post_event(client, "evt_a", "checkout.session.async_payment_succeeded", session(payment))
    post_event(client, "evt_b", "checkout.session.completed", session(payment, "unpaid"))
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == "succeeded"
    assert db.session.scalar(select(Hold).where(Hold.released_at.is_(None))) is None
    assert paid_cents() == 150_000


def test_sepa_pending_then_failed_days_later(webhooks, app, client, smtp):
    customer, invoices = debtor()
    payment = checkout(customer, invoices)
    post_event(client, "evt_1", "checkout.session.completed", session(payment, "unpaid"))
    assert run(app, smtp, business_day(1)) == []  # pending: no reminders
    post_event(client, "evt_2", "payment_intent.payment_failed",
               {"id": "pi_1", "object": "payment_intent"})
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == "failed" and paid_cents() == 0
    sent = run(app, smtp, business_day(2))
    assert len(sent) == 1 and "n'a pas abouti" in sent[0][2]


def test_a_session_for_invoices_paid_meanwhile_becomes_credit(webhooks, client):
    from portal.bookkeeping import record_payment
    customer, invoices = debtor()
    payment = checkout(customer, invoices)
    record_payment(customer=customer, source="api", external_id="BANK-9", amount_cents=100_000,
                   received_on=clock.today(), invoices=[invoices[0]])  # R-1 paid by transfer meanwhile
    db.session.commit()
    post_event(client, "evt_1", "checkout.session.completed", session(payment))
    db.session.expire_all()
    assert paid_cents() == 150_000  # each invoice exactly paid...
    assert customer_credit_cents(customer.id) == 100_000  # ...and the rest is credit, not lost
    allocated = db.session.scalar(select(func.sum(Allocation.amount_cents)))
    assert allocated == 100_000 + 50_000
    landing = client.get(f"/p/{make_token(customer)}").get_data(as_text=True)
    assert "crédit de 1\u202f000,00\u00a0€" in landing


def test_refunds_and_disputes_reopen_the_amount(webhooks, client):
    customer, invoices = debtor()
    payment = checkout(customer, invoices)
    post_event(client, "evt_1", "checkout.session.completed", session(payment))
    post_event(client, "evt_2", "charge.refunded", {"id": "ch_1", "object": "charge",
                                                    "payment_intent": "pi_1",
                                                    "amount_refunded": 20_000})
    db.session.expire_all()
    assert paid_cents() == 130_000 and invoices[1].status == "open"
    post_event(client, "evt_3", "charge.refunded", {"id": "ch_1", "object": "charge",
                                                    "payment_intent": "pi_1",
                                                    "amount_refunded": 20_000})  # same total
    assert paid_cents() == 130_000
    other_customer, others = debtor(amounts=(70_000,), prefix="S")
    disputed = checkout(other_customer, others, session_id="cs_test_2")
    post_event(client, "evt_4", "checkout.session.completed", session(disputed, intent="pi_2"))
    post_event(client, "evt_5", "charge.dispute.created", {"id": "dp_1", "object": "dispute",
                                                           "payment_intent": "pi_2",
                                                           "reason": "fraudulent"})
    db.session.expire_all()
    assert db.session.get(Payment, disputed.id).state == "disputed"
    assert others[0].status == "open" and paid_cents() == 130_000
    post_event(client, "evt_6", "charge.refunded", {"id": "ch_1", "object": "charge",
                                                    "payment_intent": "pi_1",
                                                    "amount_refunded": 150_000})
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == "refunded" and paid_cents() == 0


def test_unknown_objects_and_types_are_acknowledged(webhooks, client):
    assert post_event(client, "evt_1", "checkout.session.completed",
                      {"id": "cs_nope", "payment_status": "paid"}).json["outcome"].startswith(
                          "ignored")
    assert post_event(client, "evt_2", "customer.created", {"id": "cus_1"}).status_code == 200


def test_webhooks_disabled_without_a_secret(client):
    response = client.post("/stripe/webhook", data="{}", content_type="application/json")
    assert response.status_code == 503


def test_production_without_stripe_offers_no_online_payment(app, client):
    app.config["PAYMENTS_DEMO"] = False  # as ProductionConfig has it
    customer, invoices = debtor()
    token = make_token(customer)
    page = client.get(f"/p/{token}").get_data(as_text=True)
    assert "Payer en ligne" not in page and "IBAN" in page  # transfers still shown
    response = client.post(f"/p/{token}/pay", data={"csrf_token": csrf(page),
                                                    "invoice_ids": [invoices[0].id]})
    assert response.status_code == 404
    assert client.get(f"/p/{token}/demo-checkout/demo_cs_x").status_code == 404
    assert db.session.scalar(select(Payment)) is None
