"""Instalments collected automatically from a SEPA mandate: the pre-notification goes out first,
the run debits on the date, and no "overdue" reminder is sent while the debit is on its way.
With the demo gateway, and against localstripe (a Stripe-compatible server started here) for the
off-session PaymentIntents and their signed webhooks."""
import json
import threading
import time
import urllib.request
from datetime import timedelta

import pytest
import stripe
from sqlalchemy import select
from werkzeug.serving import make_server

from portal import clock
from portal.extensions import db
from portal.links import make_token
from portal.models import Event, InstalmentPlan, Payment, ProcessedEvent
from tests.conftest import free_port
from tests.helpers import CAL, ask, csrf, debtor, run


def approved_plan(client, count=3, days=8):
    customer, invoices = debtor()
    token = make_token(customer)
    ask(client, token, invoices, count, clock.today() + timedelta(days=days), accept=True)
    plan = db.session.scalar(select(InstalmentPlan))
    assert plan.state == "approved"
    return customer, token, plan


def walk(app, smtp, until):
    """Run the reminder run every day up to `until`; return [(day, level, text)]."""
    log, day = [], clock.today() + timedelta(days=1)
    while day <= until:
        log += [(day, level, text) for _, level, text in run(app, smtp, day)]
        day += timedelta(days=1)
    return log


def test_demo_mandate_prenotifies_then_debits_and_sends_no_overdue_reminder(app, client, smtp):
    customer, token, plan = approved_plan(client)
    page = client.get(f"/p/{token}").get_data(as_text=True)
    response = client.post(f"/p/{token}/mandate", data={"csrf_token": csrf(page)})
    assert response.status_code == 303
    mandate_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "DEMO" in mandate_page and "Mandat de prélèvement SEPA" in mandate_page
    client.post(response.headers["Location"], data={"csrf_token": csrf(mandate_page)})
    db.session.expire_all()
    assert plan.mandate_payment_method == f"demo_pm_seti_{plan.id}"
    first = plan.instalments[0]
    log = walk(app, smtp, first.due_date + timedelta(days=12))
    prenotice = CAL.heads_up_day(first.due_date, 5)
    assert [(day, level) for day, level, _ in log] == [(prenotice, 0)]
    assert "sera prélevée sur votre compte" in log[0][2] and "500,00" in log[0][2]
    payment = db.session.scalar(select(Payment).where(Payment.instalment_id == first.id))
    assert payment.state == "succeeded" and payment.amount_cents == 50_000
    assert payment.received_on == first.due_date  # debited on the date the notice announced
    db.session.expire_all()
    assert db.session.get(InstalmentPlan, plan.id).state == "approved"  # not broken


# --- against localstripe ------------------------------------------------------------------

@pytest.fixture
def stripe_app(app, localstripe):
    """The app on localstripe, served over HTTP so that localstripe can post its webhooks."""
    secret = "whsec_localstripe"
    app.config.update(STRIPE_SECRET_KEY="sk_test_local", STRIPE_API_BASE=localstripe,
                      STRIPE_WEBHOOK_SECRET=secret)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    request = urllib.request.Request(
        f"{localstripe}/_config/webhooks/relance", method="POST",
        data=json.dumps({"url": f"http://127.0.0.1:{port}/stripe/webhook",
                         "secret": secret}).encode(),
        headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).close()
    yield app, stripe.StripeClient("sk_test_local", base_addresses={"api": localstripe})
    server.shutdown()


def sign_mandate(client_api, customer, plan, iban):
    """What Stripe's setup-mode Checkout does (localstripe has no Checkout): a SEPA payment
    method confirmed on a SetupIntent for the debtor's Stripe customer."""
    created = client_api.v1.customers.create(params={"name": customer.name,
                                                     "email": customer.email})
    method = client_api.v1.payment_methods.create(params={
        "type": "sepa_debit", "sepa_debit": {"iban": iban},
        "billing_details": {"name": customer.name, "email": customer.email}})
    setup = client_api.v1.setup_intents.create(params={"customer": created.id,
                                                       "payment_method_types": ["sepa_debit"]})
    client_api.v1.setup_intents.confirm(setup.id, params={"payment_method": method.id})
    customer.stripe_customer_id = created.id
    plan.mandate_payment_method = method.id
    db.session.commit()


def wait_for(condition, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        db.session.expire_all()
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_off_session_debit_succeeds_on_localstripe(stripe_app, client, smtp):
    app, api = stripe_app
    customer, token, plan = approved_plan(client)
    sign_mandate(api, customer, plan, "DE89370400440532013000")
    first = plan.instalments[0]
    walk(app, smtp, first.due_date)  # pre-notification, then the debit on the date
    payment = db.session.scalar(select(Payment).where(Payment.instalment_id == first.id))
    assert payment.state == "succeeded" and payment.payment_intent_id.startswith("pi_")
    intent = api.v1.payment_intents.retrieve(payment.payment_intent_id)
    assert intent.amount == 50_000 and intent.metadata["instalment_id"] == str(first.id)
    assert intent.customer == customer.stripe_customer_id
    # localstripe's signed webhook arrives about a second later and changes nothing.
    assert wait_for(lambda: db.session.scalar(select(ProcessedEvent).where(
        ProcessedEvent.type == "payment_intent.succeeded")) is not None)
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == "succeeded"
    assert sum(i.paid_cents for i in plan.invoices) == 50_000


def test_failed_debit_on_localstripe_brings_the_instalment_reminder(stripe_app, client, smtp):
    app, api = stripe_app
    customer, token, plan = approved_plan(client)
    sign_mandate(api, customer, plan, "DE62370400440532013001")  # processing, then fails
    first = plan.instalments[0]
    walk(app, smtp, first.due_date)
    payment = db.session.scalar(select(Payment).where(Payment.instalment_id == first.id))
    assert payment.state == "pending"
    assert wait_for(lambda: db.session.get(Payment, payment.id).state == "failed")
    assert db.session.scalar(select(Event).where(Event.kind == "payment_failed")) is not None
    log = walk_from(app, smtp, first.due_date + timedelta(days=1),
                    first.due_date + timedelta(days=6))
    assert [level for _, level, _ in log] == [1]
    assert "Échéance 1/3" in log[0][2]


def walk_from(app, smtp, start, until):
    log, day = [], start
    while day <= until:
        log += [(day, level, text) for _, level, text in run(app, smtp, day)]
        day += timedelta(days=1)
    return log


def test_no_debit_while_the_debtor_pays_the_instalment_online(app, client, smtp):
    """Review finding: the run's debit cancelled the debtor's open checkout in the database
    but not at Stripe, so the instalment could be charged twice. The debit now waits."""
    customer, token, plan = approved_plan(client)
    page = client.get(f"/p/{token}").get_data(as_text=True)
    response = client.post(f"/p/{token}/mandate", data={"csrf_token": csrf(page)})
    mandate_page = client.get(response.headers["Location"]).get_data(as_text=True)
    client.post(response.headers["Location"], data={"csrf_token": csrf(mandate_page)})
    page = client.get(f"/p/{token}").get_data(as_text=True)
    opened = client.post(f"/p/{token}/pay", data={"csrf_token": csrf(page),
                                                  "instalment": "next"})
    assert opened.status_code == 303  # a checkout for the first instalment, left open
    first = db.session.get(InstalmentPlan, plan.id).instalments[0]
    walk(app, smtp, first.due_date)
    payments = db.session.scalars(select(Payment).where(Payment.instalment_id == first.id)).all()
    assert [p.state for p in payments] == ["created"]  # the checkout only, no debit on top
