"""The early-payment discount (escompte) end to end: the policy's keys checked by their TOML
path and round-tripped, the portal's offer, the demo gateway's card and SEPA payments before and
after the last day, refunds, and what the API, the CSV export and the timeline show. Every test
counts cents: money and discount allocations together make the invoice's total exactly."""
import csv
import io
import tomllib
from datetime import timedelta

import pytest
import tomli_w
from sqlalchemy import select

from portal import clock, settings
from portal.extensions import db
from portal.links import make_token
from portal.models import Allocation, Invoice, Payment
from portal.payments.lifecycle import customer_credit_cents, refund
from tests.conftest import make_customer, make_invoice
from tests.helpers import business_day, csrf, login, run

AUTH = {"Authorization": "Bearer test-api-token"}


def grant(percent="2", days=10):
    """The default policy with an early-payment discount, in force."""
    document = settings.default_document()
    document["policies"][0].update(discount_percent=percent, discount_days=days)
    settings.save(document, author="test")
    db.session.commit()
    settings.forget()


def invoice(total=123_456, issued_days_ago=3, due_in=27, number="E-1"):
    customer = make_customer(name="Boulangerie Perret", email="perret@example.org")
    today = clock.today()
    made = make_invoice(customer, today + timedelta(days=due_in), total,
                        issued=today - timedelta(days=issued_days_ago), number=number)
    db.session.commit()
    return customer, made


def pay(client, customer, invoice_ids, outcome="card"):
    """The portal's pay button, then the demo checkout's button: the payment row."""
    token = make_token(customer)
    page = client.get(f"/p/{token}").get_data(as_text=True)
    started = client.post(f"/p/{token}/pay", data={"csrf_token": csrf(page),
                                                   "invoice_ids": invoice_ids})
    assert started.status_code == 303
    demo = client.get(started.headers["Location"]).get_data(as_text=True)
    done = client.post(started.headers["Location"], data={"csrf_token": csrf(demo),
                                                         "outcome": outcome})
    assert done.status_code == 302
    db.session.expire_all()
    return db.session.scalar(select(Payment).order_by(Payment.id.desc())), demo


def settled(invoice_id):
    """{kind: cents} of the allocations of succeeded payments to the invoice."""
    rows = db.session.execute(select(Allocation.kind, Allocation.amount_cents)
                              .join(Payment, Payment.id == Allocation.payment_id)
                              .where(Allocation.invoice_id == invoice_id,
                                     Payment.state == "succeeded")).all()
    out = {}
    for kind, cents in rows:
        out[kind] = out.get(kind, 0) + cents
    return out


# --- the policy's keys ------------------------------------------------------------------------

@pytest.mark.parametrize("values,path,words", [
    ({"discount_percent": "0"}, "policies[0].discount_percent", "more than 0"),
    ({"discount_percent": "100"}, "policies[0].discount_percent", "less than 100"),
    ({"discount_percent": "1.555"}, "policies[0].discount_percent", "two decimals"),
    ({"discount_percent": "deux"}, "policies[0].discount_percent", "as text"),
    ({"discount_percent": 2}, "policies[0].discount_percent", "a text"),  # never a number
    ({"discount_percent": "2", "discount_days": -1}, "policies[0].discount_days", "whole"),
    ({"discount_days": 10}, "policies[0].discount_days", "needs a discount_percent"),
])
def test_a_wrong_discount_is_refused_by_its_path(app, values, path, words):
    document = settings.default_document()
    document["policies"][0].update(values)
    with pytest.raises(settings.SettingsInvalid) as refused:
        settings.save(document, author="test")
    found = dict(refused.value.errors)
    assert path in found and words in found[path], refused.value.errors


def test_the_discount_round_trips_through_export_and_import(app, tmp_path):
    grant("1.5", 10)
    runner = app.test_cli_runner()
    exported = runner.invoke(args=["settings", "export"])
    assert exported.exit_code == 0, exported.output
    document = tomllib.loads(exported.output)
    default = next(p for p in document["policies"] if p["name"] == "default")
    assert (default["discount_percent"], default["discount_days"]) == ("1.5", 10)
    path = tmp_path / "relance.toml"
    path.write_text(tomli_w.dumps(document, multiline_strings=True), encoding="utf-8")
    again = runner.invoke(args=["settings", "import", str(path)])
    assert again.exit_code == 0 and "nothing to change" in again.output, again.output
    default["discount_percent"] = "0"
    path.write_text(tomli_w.dumps(document, multiline_strings=True), encoding="utf-8")
    refused = runner.invoke(args=["settings", "import", str(path)])
    assert refused.exit_code == 1 and "policies[0].discount_percent" in refused.output


def test_the_editor_shows_saves_and_refuses_the_discount(app, client, accountant):
    login(client)
    url = "/admin/settings/policies/default"
    page = client.get(url).get_data(as_text=True)
    assert 'name="discount_percent"' in page and 'name="discount_days"' in page
    token = csrf(page)
    base = {"csrf_token": token, "level_count": "5", "action": "save"}
    for i, lv in enumerate(settings.current().policy_for().levels):
        base.update({f"levels-{i}-number": str(lv.number),
                     f"levels-{i}-offset_days": str(lv.offset_days),
                     f"levels-{i}-template": lv.template,
                     f"levels-{i}-deadline_days": str(lv.deadline_days),
                     **{f"levels-{i}-channel-{c}": "y" for c in lv.channels},
                     **({f"levels-{i}-penalties": "y"} if lv.penalties else {}),
                     **({f"levels-{i}-formal_notice": "y"} if lv.formal_notice else {})})
    refused = client.post(url, data=dict(base, discount_percent="150"))
    assert refused.status_code == 200 and "less than 100" in refused.get_data(as_text=True)
    saved = client.post(url, data=dict(base, discount_percent="1,5", discount_days="8"))
    assert saved.status_code == 302
    settings.forget()
    policy = settings.current().policy_for()
    assert (policy.discount_percent, policy.discount_days) == ("1,5", 8)
    assert 'value="1,5"' in client.get(url).get_data(as_text=True)


# --- the portal and the demo gateway -----------------------------------------------------------

def test_no_discount_without_the_setting(app, client):
    customer, bill = invoice()
    page = client.get(f"/p/{make_token(customer)}").get_data(as_text=True)
    assert "escompte" not in page
    payment, _demo = pay(client, customer, [bill.id])
    assert payment.amount_cents == 123_456 and settled(bill.id) == {"payment": 123_456}


def test_a_card_payment_before_the_last_day_is_charged_the_discounted_amount(app, client,
                                                                              accountant):
    grant("2", 10)
    customer, bill = invoice(total=123_456, issued_days_ago=10)  # today is the last day
    last_day = clock.today()
    page = client.get(f"/p/{make_token(customer)}").get_data(as_text=True)
    # 2 % of 1 234,56 = 24,6912 -> 24,69 (half up): 1 209,87 until today included.
    assert "1\u202f209,87\u00a0€ si payée au plus tard le" in page
    assert "(escompte de 2\u00a0%)" in page or "(escompte de 2 %)" in page
    payment, demo = pay(client, customer, [bill.id])
    assert "Escompte pour paiement anticipé sur la facture E-1" in demo
    assert (payment.state, payment.amount_cents) == ("succeeded", 120_987)
    assert settled(bill.id) == {"payment": 120_987, "discount": 2_469}
    assert sum(settled(bill.id).values()) == bill.total_cents
    db.session.expire_all()
    assert db.session.get(Invoice, bill.id).status == "paid"
    assert customer_credit_cents(customer.id) == 0  # a discount is no money received
    # The API, the CSV export and the timeline show the discount apart from the money.
    got = client.get("/api/v1/invoices/E-1", headers=AUTH).json
    assert (got["amount"], got["amount_paid"], got["discount"], got["balance"]) == (
        "1234.56", "1209.87", "24.69", "0.00")
    assert [(a["kind"], a["amount"]) for a in got["allocations"]] == [
        ("payment", "1209.87"), ("discount", "24.69")]
    login(client)
    exported = client.get("/admin/invoices.csv?status=all").get_data(as_text=True)
    row = next(csv.DictReader(io.StringIO(exported.lstrip("\ufeff"))))
    assert (row["invoice_number"], row["balance"], row["discount"]) == ("E-1", "0.00", "24.69")
    timeline = client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
    assert "escompte pour paiement anticipé de 24,69" in timeline
    assert last_day == clock.today()


def test_the_day_after_the_last_day_the_full_amount_is_charged(app, client):
    grant("2", 10)
    customer, bill = invoice(total=100_000, issued_days_ago=11)  # the last day was yesterday
    page = client.get(f"/p/{make_token(customer)}").get_data(as_text=True)
    assert "escompte" not in page
    payment, _demo = pay(client, customer, [bill.id])
    assert payment.amount_cents == 100_000 and settled(bill.id) == {"payment": 100_000}


def test_a_part_paid_invoice_owes_its_full_balance(app, client):
    grant("2", 10)
    customer, bill = invoice(total=100_000)
    client.post("/api/v1/payments", headers=AUTH, json={
        "invoice_number": "E-1", "amount": "100.00", "currency": "EUR", "external_id": "vir-1",
        "date": clock.today().isoformat()})
    payment, _demo = pay(client, customer, [bill.id])
    assert payment.amount_cents == 90_000
    assert settled(bill.id) == {"payment": 100_000}


def test_a_sepa_debit_started_in_time_keeps_the_discount_when_it_clears_later(app, client, smtp):
    grant("2", 10)
    customer, bill = invoice(total=100_000, issued_days_ago=10)
    payment, _demo = pay(client, customer, [bill.id], outcome="sepa")
    assert (payment.state, payment.amount_cents) == ("pending", 98_000)
    run(app, smtp, business_day(2))  # the demo's debit clears at a run after the last day
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == "succeeded"
    assert settled(bill.id) == {"payment": 98_000, "discount": 2_000}
    assert db.session.get(Invoice, bill.id).status == "paid"


def test_a_failed_sepa_debit_takes_the_discount_away(app, client):
    grant("2", 10)
    customer, bill = invoice(total=100_000)
    payment, _demo = pay(client, customer, [bill.id], outcome="sepa_fails")
    assert payment.state == "failed" and settled(bill.id) == {}
    db.session.expire_all()
    fresh = db.session.get(Invoice, bill.id)
    assert (fresh.status, fresh.balance_cents) == ("open", 100_000)
    got = client.get("/api/v1/invoices/E-1", headers=AUTH).json
    assert (got["discount"], got["balance"]) == ("0.00", "1000.00")


def test_refunds_of_a_discounted_payment_reopen_the_invoice_in_full(app, client):
    grant("2", 10)
    customer, bill = invoice(total=100_000)
    payment, _demo = pay(client, customer, [bill.id])
    assert refund(payment, 10_000, clock.today(), actor="test")  # part of it back
    db.session.commit()
    db.session.expire_all()
    assert settled(bill.id) == {"payment": 88_000, "discount": 0}
    assert db.session.get(Invoice, bill.id).balance_cents == 12_000
    payment = db.session.get(Payment, payment.id)
    assert refund(payment, 98_000, clock.today(), actor="test")  # all of it
    db.session.commit()
    db.session.expire_all()
    fresh = db.session.get(Invoice, bill.id)
    assert (fresh.status, fresh.balance_cents) == ("open", 100_000)
    assert customer_credit_cents(customer.id) == 0


# --- the heads-up ---------------------------------------------------------------------------------

def test_the_heads_up_states_the_discounted_amount_and_its_last_day(app, smtp):
    grant("2", 0)  # until the due date
    day = business_day(1)
    customer = make_customer(name="Boulangerie Perret", email="perret@example.org")
    make_invoice(customer, day + timedelta(days=3), 50_000, issued=clock.today(),
                 number="E-9")
    other = make_customer(name="Garage Roux", email="roux@example.org")
    make_invoice(other, day + timedelta(days=3), 50_000, issued=clock.today(), number="E-10")
    db.session.add(Payment(customer_id=other.id, source="api", external_id="part",
                           amount_cents=1_000, received_on=clock.today()))
    db.session.flush()
    roux_payment = db.session.scalar(select(Payment).where(Payment.external_id == "part"))
    roux_payment.allocations = [Allocation(invoice=db.session.scalar(
        select(Invoice).where(Invoice.number == "E-10")), amount_cents=1_000)]
    db.session.commit()
    sent = {to: (level, text) for to, level, text in run(app, smtp, day)}
    level, text = sent["perret@example.org"]
    due = (day + timedelta(days=3))
    assert level == 0
    assert "Escompte pour paiement anticipé : réglée au plus tard le" in text
    assert "la facture E-9 est soldée par 490,00" in text and "(escompte de 2 %)" in text
    assert due.strftime("%Y") in text
    html = next(m for m in smtp.messages if m["To"] == "perret@example.org").get_body(
        ("html",)).get_content()
    assert "soldée par 490,00" in html
    assert "Escompte" not in sent["roux@example.org"][1]  # part-paid: no discount
