"""Property-based: random well-formed and malformed requests to every portal, back-office, API
and webhook route (hypothesis), on SQLite and PostgreSQL. After each request: no 500; a portal
request under debtor A's link changed nothing of debtor B; the money invariants hold (no
invoice paid beyond its total or below zero, no payment allocating more than it received, no
negative credit) and the money received changed only when a payment was really recorded."""
import hashlib
import os
import json
import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal import clock
from portal.extensions import db
from portal.links import make_token
from portal.models import (Allocation, Customer, Event, Hold, Invoice, InstalmentPlan, Payment)
from portal.payments.lifecycle import customer_credit_cents, start_checkout
from portal.instalments import propose, request_plan
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.helpers import WEBHOOK_SECRET, csrf, sign

PASSWORD = "correct horse battery staple"
AUTH = {"Authorization": "Bearer test-api-token"}
EXAMPLES = int(os.environ.get("RELANCE_FUZZ_EXAMPLES", "60"))  # per route family and database

# Form values: any text an HTTP client can send (a lone surrogate cannot be encoded as UTF-8;
# JSON bodies below carry it escaped).
TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.sampled_from(["", "0", "-1", "²", "2147483648", "99999999999999999999", "1e30", "1_000",
                     "٣", "a\x00b", "x" * 5000, "2026-13-45", "9999-12-31", "0001-01-01",
                     "<script>alert(1)</script>", "{{7*7}}", "y", "approve", "reject", "counter",
                     "card", "sepa", "sepa_fails", "next", "accept", "decline", "reached",
                     "risky", "gentle", "\r\nBcc: x@evil.example"]),
    st.integers(min_value=-2**70, max_value=2**70).map(str),
    st.dates().map(lambda d: d.isoformat()),
)
FIELDS = ["invoice_ids", "promise_date", "instalment_count", "first_instalment_date", "reason",
          "accept", "outcome", "decision", "note", "count", "first_date", "until", "tier",
          "policy", "reached", "notes", "text", "answer", "instalment", "email", "password"]
JSON = st.recursive(st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
                    | st.floats(allow_nan=False) | TEXT | st.just("\ud800"),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(FIELDS + ["id", "amount", "amount_total"]),
                                      inner, max_size=5), max_leaves=12)


@pytest.fixture
def world(any_app, smtp):
    """Debtor A (whose link the portal requests carry) and debtor B (who must stay untouched),
    with plans, promises and checkouts to aim at; an admin logged in."""
    any_app.config["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    today = clock.today()
    ids = {}
    for name in ("A", "B"):
        customer = make_customer(name=f"Débiteur {name}", ref=f"REF-{name}")
        invoices = [make_invoice(customer, today - timedelta(days=days), cents,
                                 number=f"{name}-{n}")
                    for n, (days, cents) in enumerate(((40, 120_000), (10, 30_001), (-5, 7_700)))]
        plan = request_plan(customer, invoices[:1], propose(customer, invoices[:1], 8,
                                                            today + timedelta(days=9), today),
                            "besoin de temps", today)
        payment = start_checkout(customer, [(invoices[1], invoices[1].balance_cents)], "demo",
                                 f"demo_cs_{name}")
        ids[name] = dict(customer=customer.id, invoices=[i.id for i in invoices], plan=plan.id,
                         payment=payment.id, session=payment.external_id,
                         token=make_token(customer))
    create_user("admin@atelier.example", PASSWORD, "admin")
    db.session.commit()
    client = any_app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    assert client.post("/admin/login", data={"csrf_token": csrf(page),
                                             "email": "admin@atelier.example",
                                             "password": PASSWORD}).status_code == 302
    return any_app, client, ids


def snapshot(customer_id):
    """A hash of every row that belongs to one debtor."""
    rows = []
    for model in (Invoice, Hold, Event, Payment, InstalmentPlan):
        for obj in db.session.scalars(select(model).where(model.customer_id == customer_id)
                                      .order_by(model.id)):
            rows.append(repr(sorted((k, str(v)) for k, v in vars(obj).items()
                                    if not k.startswith("_"))))
    customer = db.session.get(Customer, customer_id)
    rows.append(repr((customer.link_version, customer.paused_until, customer.tier)))
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def received_cents():
    return db.session.scalar(select(func.coalesce(func.sum(Allocation.amount_cents), 0))
                             .join(Payment).where(Payment.state == "succeeded"))


def money_recorded_events():
    return db.session.scalar(select(func.count(Event.id)).where(
        Event.kind.in_(("payment_succeeded", "payment_recorded", "payment_partly_refunded",
                        "payment_refunded", "payment_disputed", "invoice_updated"))))


def check_money():
    for invoice in db.session.scalars(select(Invoice)):
        assert 0 <= invoice.paid_cents <= invoice.total_cents, invoice.number
    for payment in db.session.scalars(select(Payment).where(Payment.state == "succeeded")):
        assert sum(a.amount_cents for a in payment.allocations) <= \
            payment.amount_cents - payment.refunded_cents
        assert all(a.amount_cents >= 0 for a in payment.allocations)
    for customer_id in db.session.scalars(select(Customer.id)):
        assert customer_credit_cents(customer_id) >= 0


def fill(rule, ids, data):
    """A URL for `rule`: A's token, ids drawn from A's, B's and out-of-range values."""
    def value(match):
        name = match.group(1).split(":")[-1]
        if name == "token":
            return ids["A"]["token"]
        if name == "session_id":
            return data.draw(st.sampled_from([ids["A"]["session"], ids["B"]["session"], "x"]))
        pool = [str(v) for who in "AB" for v in
                ids[who]["invoices"] + [ids[who]["customer"], ids[who]["plan"],
                                        ids[who]["payment"]]]
        return data.draw(st.sampled_from(pool + ["1", "2147483647", "A-1", "B%2F1", "REF-B"]))
    return re.sub(r"<([^>]+)>", value, rule.rule)


def form(data, token, ids):
    fields = data.draw(st.dictionaries(st.sampled_from(FIELDS), st.lists(TEXT, max_size=3),
                                       max_size=6))
    if data.draw(st.booleans()):  # real invoice ids, A's or B's, to get past the id checks
        fields["invoice_ids"] = data.draw(st.lists(st.sampled_from(
            [str(i) for who in "AB" for i in ids[who]["invoices"]]), max_size=3))
    if data.draw(st.integers(0, 9)):  # mostly a valid CSRF token, to reach the logic
        fields["csrf_token"] = token
    return fields


def routes(app, prefix):
    return [(rule, method) for rule in app.url_map.iter_rules() if rule.rule.startswith(prefix)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
            if rule.endpoint not in ("backoffice.logout", "static")]


def exercise(world, prefix, data, json_body=False):
    app, client, ids = world
    rule, method = data.draw(st.sampled_from(routes(app, prefix)))
    url = fill(rule, ids, data)
    token = csrf(client.get(f"/p/{ids['A']['token']}" if prefix == "/p/" else "/admin/")
                 .get_data(as_text=True))
    b_before = snapshot(ids["B"]["customer"])
    money, events = received_cents(), money_recorded_events()
    if json_body:
        body = data.draw(JSON)
        response = client.open(url, method=method, headers=AUTH, data=json.dumps(body),
                               content_type="application/json")
    else:
        response = client.open(url, method=method, data=form(data, token, ids)
                               if method == "POST" else None)
    assert response.status_code < 500, (method, url, response.get_data(as_text=True)[:300])
    db.session.expire_all()
    check_money()
    if prefix == "/p/":
        assert snapshot(ids["B"]["customer"]) == b_before, (method, url)
    if received_cents() != money:
        assert money_recorded_events() > events, (method, url)


SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


@SETTINGS
@given(data=st.data())
def test_portal_routes_never_500_and_never_touch_another_debtor(world, data):
    exercise(world, "/p/", data)


@SETTINGS
@given(data=st.data())
def test_back_office_routes_never_500(world, data):
    exercise(world, "/admin/", data)


@SETTINGS
@given(data=st.data())
def test_api_routes_never_500(world, data):
    exercise(world, "/api/", data, json_body=True)


@SETTINGS
@given(data=st.data())
def test_signed_webhooks_never_500_and_move_money_only_by_what_was_received(world, data):
    app, client, ids = world
    session_ids = [ids["A"]["session"], ids["B"]["session"], "cs_unknown"]
    obj = data.draw(st.fixed_dictionaries({}, optional={
        "id": st.sampled_from(session_ids) | TEXT, "object": st.sampled_from(
            ["checkout.session", "payment_intent", "charge"]) | TEXT,
        "amount_total": st.sampled_from([120_000, 30_001, 0, 1, -1]) | JSON,
        "amount_refunded": JSON, "amount": JSON, "currency": st.sampled_from(["eur", "usd"]),
        "payment_status": st.sampled_from(["paid", "unpaid"]), "payment_intent": TEXT,
        "mode": st.sampled_from(["payment", "setup"]), "metadata": JSON}))
    kind = data.draw(st.sampled_from([
        "checkout.session.completed", "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed", "payment_intent.succeeded",
        "payment_intent.processing", "payment_intent.payment_failed", "charge.refunded",
        "charge.dispute.created", "customer.created"]))
    event = {"id": data.draw(TEXT | st.uuids().map(lambda u: f"evt_{u.hex}")), "type": kind,
             "data": {"object": obj}}
    body = json.dumps(data.draw(st.sampled_from([event, event, event, data.draw(JSON)])))
    money, events = received_cents(), money_recorded_events()
    response = client.post("/stripe/webhook", data=body, content_type="application/json",
                           headers={"Stripe-Signature": sign(body)})
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
    db.session.expire_all()
    check_money()
    if received_cents() != money:
        assert money_recorded_events() > events
        succeeded = db.session.scalars(select(Payment).where(Payment.state == "succeeded"))
        assert all(p.amount_cents in (120_000, 30_001) for p in succeeded
                   if p.source == "demo")  # only a checkout's own amount was applied
