"""Double clicks and requests at once against a served app (threaded HTTP server, separate
sessions), on SQLite and PostgreSQL: every state change is won by one request only, and the
others are answered without a second effect. Findings F2, F3, F6, F10, F11, F13 of
shared/FINDINGS.md."""
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import clock
from portal.extensions import db
from portal.links import make_token
from portal.models import (Allocation, Event, Hold, InstalmentPlan, Invoice, LoginAttempt,
                           Payment)
from portal.instalments import propose, request_plan
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.helpers import Browser, at_once, csrf, served

AT_ONCE = 8
PASSWORD = "correct horse battery staple"


@pytest.fixture
def debtor(any_app):
    today = clock.today()
    customer = make_customer(name="Boulangerie Morel")
    invoices = [make_invoice(customer, today - timedelta(days=40), cents, number=f"R-{n}")
                for n, cents in enumerate((120_000, 30_000), start=1)]
    db.session.commit()
    return customer, invoices, f"/p/{make_token(customer)}"


def portal_answer(base, landing, path, fields):
    """Each worker opens the page in its own session, then all post at once."""
    browsers = [Browser(base) for _ in range(AT_ONCE)]
    tokens = [b.token(landing) for b in browsers]
    return at_once(AT_ONCE, lambda i: browsers[i].post(
        landing + path, dict(fields, csrf_token=tokens[i])))


def statuses(results):
    assert not [r for r in results if isinstance(r, Exception)], results
    return sorted(r[0] for r in results)


def active(kind):
    return db.session.scalar(select(func.count(Hold.id)).where(
        Hold.kind == kind, Hold.released_at.is_(None)))


def test_f3_eight_plan_requests_at_once_make_one_plan(any_app, debtor):
    customer, invoices, landing = debtor
    first = clock.today() + timedelta(days=10)
    with served(any_app) as base:
        results = portal_answer(base, landing, "/plan", {
            "invoice_ids": [i.id for i in invoices], "instalment_count": "3",
            "first_instalment_date": first.isoformat(), "accept": "y"})
    assert statuses(results) == [302] * AT_ONCE  # every click is answered as a success
    db.session.expire_all()
    assert db.session.scalar(select(func.count(InstalmentPlan.id))) == 1
    assert active("plan") == 2  # one per invoice, for the one plan


def test_f3_eight_promises_at_once_are_one_promise(any_app, debtor):
    customer, invoices, landing = debtor
    day = clock.today() + timedelta(days=10)
    with served(any_app) as base:
        same = portal_answer(base, landing, "/promise", {
            "invoice_ids": [invoices[0].id], "promise_date": day.isoformat()})
        assert statuses(same) == [302] * AT_ONCE
        db.session.expire_all()
        assert active("promise") == 1
        # Different dates at once: one change at most, never two promises in force.
        invoice_id = invoices[0].id  # (read here: the workers have no application context)
        browsers = [Browser(base) for _ in range(AT_ONCE)]
        tokens = [b.token(landing) for b in browsers]
        results = at_once(AT_ONCE, lambda i: browsers[i].post(landing + "/promise", {
            "csrf_token": tokens[i], "invoice_ids": [invoice_id],
            "promise_date": (day + timedelta(days=i + 1)).isoformat()}))
    assert set(statuses(results)) <= {302, 422}
    db.session.expire_all()
    holds = db.session.scalars(select(Hold).where(Hold.kind == "promise",
                                                  Hold.released_at.is_(None))).all()
    assert len(holds) == 1 and holds[0].details["changes"] == 1


def test_f3_eight_never_received_at_once_send_one_copy(any_app, debtor, smtp):
    customer, invoices, landing = debtor
    with served(any_app) as base:
        results = portal_answer(base, landing, f"/invoices/{invoices[0].id}/not-received", {})
    assert statuses(results) == [302] * AT_ONCE
    db.session.expire_all()
    assert active("not_received") == 1
    assert len(smtp.messages) == 1


def test_f3_eight_pay_clicks_open_one_checkout(any_app, debtor):
    customer, invoices, landing = debtor
    with served(any_app) as base:
        results = portal_answer(base, landing, "/pay",
                                {"invoice_ids": [i.id for i in invoices]})
        assert statuses(results) == [303] * AT_ONCE
        assert len({r[1]["Location"] for r in results}) == 1  # all sent to the same checkout
        db.session.expire_all()
        assert db.session.scalar(select(func.count(Payment.id))) == 1
        # F6: that checkout confirmed eight times at once is applied once.
        checkout = results[0][1]["Location"].replace(base, "")
        browsers = [Browser(base) for _ in range(AT_ONCE)]
        tokens = [b.token(checkout) for b in browsers]
        confirmed = at_once(AT_ONCE, lambda i: browsers[i].post(checkout, {
            "csrf_token": tokens[i], "outcome": "card"}))
    assert statuses(confirmed) == [302] * AT_ONCE
    db.session.expire_all()
    payment = db.session.scalar(select(Payment))
    assert payment.state == "succeeded" and payment.amount_cents == 150_000
    assert db.session.scalar(select(func.sum(Allocation.amount_cents))) == 150_000
    assert db.session.scalar(select(func.count(Event.id)).where(
        Event.kind == "payment_succeeded")) == 1
    assert {i.status for i in db.session.scalars(select(Invoice))} == {"paid"}


def test_f2_eight_decisions_at_once_apply_one(any_app, smtp):
    today = clock.today()
    customer = make_customer(name="Garage Lemaire")
    invoices = [make_invoice(customer, today - timedelta(days=30), 100_000, number=f"D-{n}")
                for n in (1, 2)]
    proposal = propose(customer, invoices, 8, today + timedelta(days=10), today)
    assert not proposal.auto  # 8 instalments: the accountant decides
    plan = request_plan(customer, invoices, proposal, None, today)
    create_user("compta@atelier.example", PASSWORD, "admin")
    db.session.commit()
    plan_id = plan.id
    with served(any_app) as base:
        browsers = [Browser(base) for _ in range(AT_ONCE)]
        for b in browsers:
            status, _, _ = b.post("/admin/login", {"csrf_token": b.token("/admin/login"),
                                                   "email": "compta@atelier.example",
                                                   "password": PASSWORD})
            assert status == 302
        tokens = [b.token(f"/admin/plans/{plan_id}") for b in browsers]
        results = at_once(AT_ONCE, lambda i: browsers[i].post(
            f"/admin/plans/{plan_id}/decision", {
                "csrf_token": tokens[i], "decision": "approve" if i % 2 == 0 else "reject",
                "note": f"n{i}"}))
    assert statuses(results) == [302] * AT_ONCE
    db.session.expire_all()
    decided = db.session.scalars(select(Event.kind).where(
        Event.kind.in_(("plan_approved", "plan_rejected")))).all()
    assert len(decided) == 1 and len(smtp.messages) == 1
    state = db.session.get(InstalmentPlan, plan_id).state
    # Approved: the plan's holds replace the request's; rejected: nothing holds the invoices.
    assert (active("plan"), active("instalment_request")) == (
        (2, 0) if state == "approved" else (0, 0))


def test_f10_eight_fresh_link_requests_at_once_send_one_mail(any_app, debtor, smtp,
                                                             monkeypatch):
    customer, invoices, _ = debtor
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 61 * 86400)
    landing = f"/p/{make_token(customer)}"  # signed 61 days ago: expired
    monkeypatch.undo()
    with served(any_app) as base:
        browsers = [Browser(base) for _ in range(AT_ONCE)]
        tokens = []
        for b in browsers:
            status, _, page = b.get(landing)
            assert status == 410
            tokens.append(csrf(page))
        results = at_once(AT_ONCE, lambda i: browsers[i].post(landing + "/renew",
                                                              {"csrf_token": tokens[i]}))
    assert statuses(results) == [200] * AT_ONCE
    assert len(smtp.messages) == 1


def test_f11_eight_replays_of_one_api_payment_at_once(any_app, debtor):
    customer, invoices, landing = debtor
    body = ('{"invoice_number": "R-1", "amount": "100.00", "external_id": "VIR-42", '
            '"date": "%s"}' % clock.today().isoformat()).encode()
    headers = {"Authorization": "Bearer test-api-token", "Content-Type": "application/json"}
    with served(any_app) as base:
        results = at_once(AT_ONCE, lambda i: Browser(base).request(
            "POST", "/api/v1/payments", body=body, headers=headers))
    assert statuses(results) == [200] * (AT_ONCE - 1) + [201]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Payment.id))) == 1


def test_f13_parallel_wrong_passwords_check_at_most_the_limit(any_app):
    create_user("compta@atelier.example", PASSWORD, "accountant")
    db.session.commit()
    count = 16
    with served(any_app) as base:
        browsers = [Browser(base) for _ in range(count)]
        tokens = [b.token("/admin/login") for b in browsers]
        results = at_once(count, lambda i: browsers[i].post("/admin/login", {
            "csrf_token": tokens[i], "email": "compta@atelier.example",
            "password": f"wrong password {i}"}))
    codes = statuses(results)
    assert set(codes) <= {401, 429} and codes.count(401) <= 5
    db.session.expire_all()
    assert db.session.scalar(select(func.count(LoginAttempt.id))) == count
