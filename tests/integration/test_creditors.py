"""One installation, several creditors (issue 9): the same invoice numbers at two creditors, each
debtor reminded from its own creditor, a portal link that never shows the other's data, a user
of creditor A who gets a 404 for every id of creditor B (back office and API), webhooks checked
with each creditor's own secret, a failing relay that stops one creditor only."""
import re
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from portal import clock, tenancy
from portal.extensions import db
from portal.models import (Creditor, Customer, Hold, InstalmentPlan, Invoice, Payment, Reminder,
                           SentMessage, Task, utcnow)
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.helpers import PASSWORD, WEBHOOK_SECRET, business_day, csrf, event_body, login, sign

BISTRO_IBAN = "FR76 1027 8073 0000 0201 2340 145"
HEADER = "customer_ref,customer_name,email,language,invoice_number,issue_date,due_date,amount\n"


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    return result


def ledger_csv(tmp_path, name, prefix, names):
    """Two debtors with invoices F-2026-001 and F-2026-002, 30 days late, at `prefix` e-mails."""
    due = clock.today() - timedelta(days=30)
    issued = due - timedelta(days=30)
    lines = [f"C{n},{who},{prefix}-c{n}@example.org,fr,F-2026-00{n},{issued},{due},"
             f"{n * 1000}.00" for n, who in enumerate(names, start=1)]
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def two(any_app, tmp_path):
    """Creditor A (the first, from CREDITOR_*: Atelier Martin) and B (Bistro Lyonnais), each with
    the same customer refs and invoice numbers, imported from the command line."""
    made = cli(any_app, "creditors", "create", "bistro", "--name", "Bistro Lyonnais SARL",
               "--email", "compta@bistro.example", "--iban", BISTRO_IBAN, "--bic", "CMCIFRPP",
               "--sender", "Bistro Lyonnais <relances@bistro.example>",
               "--reply-to", "recouvrement@bistro.example")
    assert made.exit_code == 0, made.output
    for slug, prefix, names in (("default", "a", ("Menuiserie Girard", "Garage Roux")),
                                ("bistro", "b", ("Primeurs Zanetti", "Cave Oberlin"))):
        result = cli(any_app, "invoices", "import",
                     ledger_csv(tmp_path, f"{slug}.csv", prefix, names), "--creditor", slug)
        assert result.exit_code == 0, result.output
    a, b = db.session.scalars(select(Creditor).order_by(Creditor.id)).all()
    return a, b


def test_an_import_with_several_creditors_must_name_one(two, tmp_path):
    result = cli(current_app, "invoices", "import", ledger_csv(tmp_path, "x.csv", "x", ("X",)))
    assert result.exit_code == 1
    assert "say which with --creditor (default, bistro)" in result.output
    listed = cli(current_app, "creditors", "list")
    assert "bistro\tBistro Lyonnais SARL\t2 customer(s), 2 open invoice(s)" in listed.output
    assert "/stripe/webhook/bistro" in listed.output


def test_same_numbers_at_two_creditors_each_debtor_reminded_by_its_own(two, smtp, any_app):
    a, b = two
    assert db.session.scalar(select(func.count()).select_from(Invoice)
                             .where(Invoice.number == "F-2026-001")) == 2
    result = cli(any_app, "reminders", "run", "--date", business_day(0).isoformat())
    assert result.exit_code == 0, result.output
    assert "== Atelier Martin SARL (default)" in result.output
    assert "== Bistro Lyonnais SARL (bistro)" in result.output
    received = {m["To"]: m for m in smtp.messages}
    assert sorted(received) == ["a-c1@example.org", "a-c2@example.org", "b-c1@example.org",
                                "b-c2@example.org"]  # one e-mail each
    client = any_app.test_client()
    for to, message in received.items():
        text = message.get_body(("plain",)).get_content()
        mine, other = (("Bistro Lyonnais", "Atelier Martin") if to.startswith("b-")
                       else ("Atelier Martin", "Bistro Lyonnais"))
        if to.startswith("b-"):
            assert message["From"] == "Bistro Lyonnais <relances@bistro.example>"
            assert message["Reply-To"] == "recouvrement@bistro.example"
            assert BISTRO_IBAN in text
        else:
            assert message["From"] == "relances@example.fr"
            assert message["Reply-To"] == "compta@atelier-martin.example.fr"
            assert "FR76 3000 6000 0112 3456 7890 189" in text
        assert mine in text and other not in text
        link = re.search(r"http://portal\.test(/p/\S+)", text).group(1)
        page = client.get(link).get_data(as_text=True)
        assert mine in page and other not in page
        number = "F-2026-001" if to.endswith("c1@example.org") else "F-2026-002"
        assert number in page
        names = {"a-c1": "Menuiserie Girard", "a-c2": "Garage Roux", "b-c1": "Primeurs Zanetti",
                 "b-c2": "Cave Oberlin"}
        for who, name in names.items():
            assert (name in page) == to.startswith(who + "@"), (to, name)


def test_one_creditors_failing_relay_stops_only_its_reminders(two, smtp, any_app):
    a, b = two
    changed = cli(any_app, "creditors", "set", "bistro", "--mail-server", "127.0.0.1",
                  "--mail-port", "1")
    assert changed.exit_code == 0, changed.output
    result = cli(any_app, "reminders", "run", "--date", business_day(0).isoformat())
    assert result.exit_code == 1
    assert sorted(m["To"] for m in smtp.messages) == ["a-c1@example.org", "a-c2@example.org"]
    assert "Error for Bistro Lyonnais SARL (bistro): cannot reach the mail server 127.0.0.1:1" \
        in result.output
    assert "its 2 reminder(s) not sent stay due" in result.output
    assert "Not finished for: bistro (mail relay failed)" in result.output
    with tenancy.scope(b.id):
        assert db.session.scalar(select(func.count(Reminder.id))
                                 .where(Reminder.state == "pending")) == 2
    # Its relay back: the next run sends its two, and nothing twice for the first creditor.
    cli(any_app, "creditors", "set", "bistro", "--mail-server", "127.0.0.1",
        "--mail-port", str(smtp.port))
    smtp.clear()
    again = cli(any_app, "reminders", "run", "--date", business_day(0).isoformat())
    assert again.exit_code == 0, again.output
    assert sorted(m["To"] for m in smtp.messages) == ["b-c1@example.org", "b-c2@example.org"]
    assert {m["From"] for m in smtp.messages} == {"Bistro Lyonnais <relances@bistro.example>"}


def test_run_and_preview_for_one_creditor(two, smtp, any_app):
    day = business_day(0).isoformat()
    preview = cli(any_app, "reminders", "preview", "--date", day, "--creditor", "bistro")
    assert preview.exit_code == 0, preview.output
    assert "Primeurs Zanetti" in preview.output and "Menuiserie Girard" not in preview.output
    result = cli(any_app, "reminders", "run", "--date", day, "--creditor", "bistro")
    assert result.exit_code == 0, result.output
    assert sorted(m["To"] for m in smtp.messages) == ["b-c1@example.org", "b-c2@example.org"]
    unknown = cli(any_app, "reminders", "run", "--creditor", "nobody")
    assert unknown.exit_code == 1 and "no creditor 'nobody'" in unknown.output


def _b_world(b):
    """One of everything at creditor B, for the walk: {url parameter: B's id}."""
    with tenancy.scope(b.id):
        customer = make_customer(name="Brasserie Zinc", creditor_id=b.id, ref="Z1")
        invoice = make_invoice(customer, clock.today() - timedelta(days=40), 90_000,
                               number="Z-ONLY-1")
        now = utcnow()
        plan = InstalmentPlan(customer_id=customer.id, state="requested", count=3,
                              first_date=clock.today() + timedelta(days=10),
                              total_cents=90_000, accepted_at=now, invoices=[invoice])
        hold = Hold(customer_id=customer.id, invoice_id=invoice.id, kind="manual_pause",
                    starts_on=clock.today())
        message = SentMessage(message_id="<relance.z.1@bistro.example>",
                              customer_id=customer.id, level=1, recipients="z@example.org",
                              subject="Relance Zinc", body_text="Zinc", body_html="<p>Zinc</p>")
        task = Task(customer_id=customer.id, kind="letter", level=4, due_on=clock.today(),
                    message_id=message.message_id, details={"invoices": ["Z-ONLY-1"]},
                    pdf=b"%PDF-1.4 zinc")
        payment = Payment(creditor_id=b.id, customer_id=customer.id, source="csv",
                          external_id="Z-PAY-1", amount_cents=5_000, state="review",
                          received_on=clock.today(), review_reason="to check")
        reminder = Reminder(customer_id=customer.id, invoice_id=invoice.id, level=1,
                            state="review", scheduled_for=clock.today())
        from portal.models import Attachment, BankCredit
        attachment = Attachment(customer_id=customer.id, filename="lettre.pdf",
                                media_type="application/pdf", size=4, data=b"%PDF")
        credit = BankCredit(creditor_id=b.id, external_id="BQ-Z", amount_cents=90_000,
                            booked_on=clock.today(), debtor_name="Brasserie Zinc",
                            remittance="Z-ONLY-1 ?")
        db.session.add_all([plan, hold, message, task, payment, reminder, attachment, credit])
        db.session.commit()
        return {"customer_id": customer.id, "invoice_id": invoice.id, "plan_id": plan.id,
                "hold_id": hold.id, "message_id": message.message_id, "task_id": task.id,
                "payment_id": payment.id, "reminder_id": reminder.id,
                "attachment_id": attachment.id, "credit_id": credit.id}


def _b_state(b, ids):
    """What the walk must not have changed at B."""
    db.session.expire_all()
    with tenancy.scope(b.id):
        return (db.session.get(InstalmentPlan, ids["plan_id"]).state,
                db.session.get(Hold, ids["hold_id"]).released_at,
                db.session.get(Task, ids["task_id"]).state,
                db.session.get(Payment, ids["payment_id"]).state,
                db.session.get(Reminder, ids["reminder_id"]).state,
                db.session.get(Customer, ids["customer_id"]).paused_until,
                db.session.get(Customer, ids["customer_id"]).link_version,
                db.session.get(Customer, ids["customer_id"]).tier)


def test_a_user_of_creditor_a_gets_404_for_every_id_of_creditor_b(two, any_app):
    a, b = two
    ids = _b_world(b)
    with tenancy.scope(b.id):  # B has a settings history that A has not
        from portal import settings
        document = settings.editable()
        document["policies"][0]["levels"][1]["offset_days"] = 9
        settings.save(document, author="b@bistro.example")
        db.session.commit()
    create_user("admin@atelier.example", PASSWORD, "admin", creditors=[a])
    db.session.commit()
    before = _b_state(b, ids)
    client = any_app.test_client()
    assert login(client, "admin@atelier.example").status_code == 302
    token = csrf(client.get("/admin/").get_data(as_text=True))
    walked = 0
    for rule in any_app.url_map.iter_rules():
        params = rule.arguments
        if not rule.endpoint.startswith("backoffice.") or not params:
            continue
        if params <= {"name", "key", "lang"}:
            continue  # the creditor's own policies and templates, by name: no ids
        values = dict(ids, number=2)
        url = rule.rule
        for param in params:
            url = re.sub(rf"<[^>]*:?{param}>", str(values[param]), url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={
                "csrf_token": token, "until": "2027-01-01", "tier": "risky", "decision": "approve",
                "debtor_type": "consumer", "policy": "default", "reached": "reached",
                "accept": "y", "reminder_ids": [str(ids["reminder_id"])]})
            assert response.status_code == 404, (method, url, response.status_code)
            walked += 1
    assert walked >= 15
    # Pages without ids show A's rows only; the bulk release cannot reach B's reminder.
    for page in ("/admin/", "/admin/preview", "/admin/dashboard", "/admin/exports/aging.csv",
                 "/admin/users", "/admin/settings"):
        text = client.get(page).get_data(as_text=True)
        assert "Brasserie Zinc" not in text and "Primeurs Zanetti" not in text, page
        assert "b@bistro.example" not in text, page
    client.post("/admin/review/release", data={"csrf_token": token})
    # The switcher refuses a creditor the user is not granted.
    assert client.post("/admin/creditor", data={"csrf_token": token,
                                                "creditor": str(b.id)}).status_code == 400
    assert _b_state(b, ids) == before


def test_api_token_sees_its_creditor_only(two, any_app):
    a, b = two
    _b_world(b)  # B-only rows the token must not reach
    made = cli(any_app, "api-tokens", "create", "--creditor", "default")
    assert made.exit_code == 0, made.output
    auth = {"Authorization": f"Bearer {made.stdout.splitlines()[0]}"}
    client = any_app.test_client()
    assert client.get("/api/v1/invoices/Z-ONLY-1", headers=auth).status_code == 404
    assert client.get("/api/v1/customers/Z1/timeline", headers=auth).status_code == 404
    refused = client.post("/api/v1/payments", headers=auth, json={
        "invoice_number": "Z-ONLY-1", "amount": "10.00", "external_id": "T-1"})
    assert refused.status_code == 422
    assert refused.json["error"]["fields"]["invoice_number"] == "no invoice with this number"
    # Same number at both: A's is read and paid, B's is untouched.
    mine = client.get("/api/v1/invoices/F-2026-001", headers=auth).json
    assert mine["customer_ref"] == "C1" and mine["amount"] == "1000.00"
    paid = client.post("/api/v1/payments", headers=auth, json={
        "invoice_number": "F-2026-001", "amount": "1000.00", "external_id": "Z-PAY-1"})
    assert paid.status_code == 201, paid.json  # B's payment id is no replay for A
    db.session.expire_all()
    with tenancy.scope(b.id):
        theirs = db.session.scalar(select(Invoice).where(Invoice.number == "F-2026-001"))
        assert theirs.status == "open" and theirs.balance_cents == 100_000
    with tenancy.scope(a.id):
        assert db.session.scalar(select(Invoice).where(
            Invoice.number == "F-2026-001")).status == "paid"
    # B's token reads B's.
    made_b = cli(any_app, "api-tokens", "create", "--creditor", "bistro")
    auth_b = {"Authorization": f"Bearer {made_b.stdout.splitlines()[0]}"}
    assert client.get("/api/v1/invoices/Z-ONLY-1", headers=auth_b).status_code == 200


def test_webhooks_are_checked_with_each_creditors_secret(two, any_app):
    a, b = two
    any_app.config["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET  # the first creditor's
    assert cli(any_app, "creditors", "set", "bistro", "--stripe-webhook-secret",
               "whsec_bistro").exit_code == 0
    with tenancy.scope(a.id):
        invoice = db.session.scalar(select(Invoice).where(Invoice.number == "F-2026-001"))
        from portal.payments.lifecycle import start_checkout
        payment = start_checkout(invoice.customer, [(invoice, 100_000)], "stripe", "cs_a_1")
        db.session.commit()
    obj = {"id": "cs_a_1", "object": "checkout.session", "payment_status": "paid",
           "amount_total": 100_000, "currency": "eur", "payment_intent": "pi_a_1"}
    client = any_app.test_client()

    def post(url, event_id, secret):
        body = event_body(event_id, "checkout.session.completed", obj)
        return client.post(url, data=body, content_type="application/json",
                           headers={"Stripe-Signature": sign(body, secret)})

    # Signed with A's secret, posted on B's URL: refused.
    refused = post("/stripe/webhook/bistro", "evt_1", WEBHOOK_SECRET)
    assert refused.status_code == 400 and refused.json["error"]["code"] == "bad_signature"
    # Signed with B's secret on B's URL: B's own event, which cannot reach A's payment.
    theirs = post("/stripe/webhook/bistro", "evt_2", "whsec_bistro")
    assert theirs.status_code == 200 and "ignored" in theirs.json["outcome"]
    db.session.expire_all()
    with tenancy.scope(a.id):
        assert db.session.get(Payment, payment.id).state == "created"
    assert post("/stripe/webhook/nobody", "evt_3", "whsec_bistro").status_code == 404
    # A's event on A's URLs (the slug, or the old address of the first creditor).
    done = post("/stripe/webhook/default", "evt_4", WEBHOOK_SECRET)
    assert done.status_code == 200, done.json
    db.session.expire_all()
    with tenancy.scope(a.id):
        assert db.session.get(Payment, payment.id).state == "succeeded"


def test_a_user_of_both_switches_and_sees_the_overview(two, any_app):
    a, b = two
    ids = _b_world(b)
    created = cli(any_app, "users", "create", "both@cabinet.example", "--role", "accountant",
                  "--creditor", "default", "--creditor", "bistro", "--password", PASSWORD)
    assert created.exit_code == 0, created.output
    assert "accountant of default, bistro" in created.output
    client = any_app.test_client()
    login(client, "both@cabinet.example")
    overview = client.get("/admin/creditors").get_data(as_text=True)
    assert "Atelier Martin SARL" in overview and "Bistro Lyonnais SARL" in overview
    assert "3\u202f000,00\xa0€" in overview  # A: 1,000 + 2,000 outstanding, all overdue
    page = client.get("/admin/").get_data(as_text=True)
    assert 'id="creditor-switch"' in page and "Brasserie Zinc" not in page
    assert client.get(f"/admin/plans/{ids['plan_id']}").status_code == 404
    switched = client.post("/admin/creditor", data={"csrf_token": csrf(page),
                                                    "creditor": str(b.id)})
    assert switched.status_code == 302
    page = client.get("/admin/").get_data(as_text=True)
    assert "Relance — Bistro Lyonnais SARL" in page and "Brasserie Zinc" in page
    assert client.get(f"/admin/plans/{ids['plan_id']}").status_code == 200
    # Granted later to one creditor only: the other disappears from the switcher.
    single = cli(any_app, "users", "create", "solo@cabinet.example", "--creditor", "bistro",
                 "--password", PASSWORD)
    assert single.exit_code == 0, single.output
    other = any_app.test_client()
    login(other, "solo@cabinet.example")
    page = other.get("/admin/").get_data(as_text=True)
    assert 'id="creditor-switch"' not in page and "Brasserie Zinc" in page
    assert other.get("/admin/users").status_code == 403  # an accountant there, not an admin


def test_each_creditor_has_its_own_look_and_signature(two, smtp, any_app, tmp_path):
    """Colour, signature and logo of creditor B on its e-mails, portal and letters; creditor A's
    messages keep the templates' own sign-off. A logo that is no image is refused."""
    from PIL import Image
    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), (11, 110, 79)).save(logo)
    bad = tmp_path / "logo.txt"
    bad.write_text("not an image")
    refused = cli(any_app, "creditors", "set", "bistro", "--logo", str(bad))
    assert refused.exit_code == 1 and "--logo: not a PNG or JPEG image" in refused.output
    wrong = cli(any_app, "creditors", "set", "bistro", "--colour", "green")
    assert wrong.exit_code == 1 and "#rrggbb" in wrong.output
    done = cli(any_app, "creditors", "set", "bistro", "--logo", str(logo), "--colour", "#0b6e4f",
               "--signature", "Julie Perrin, recouvrement - Bistro Lyonnais")
    assert done.exit_code == 0, done.output
    result = cli(any_app, "reminders", "run", "--date", business_day(0).isoformat())
    assert result.exit_code == 0, result.output
    for message in smtp.messages:
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        if message["To"].startswith("b-"):
            assert "Julie Perrin, recouvrement - Bistro Lyonnais" in text
            assert "border-top:4px solid #0b6e4f" in html
        else:
            assert "Le service comptabilité - Atelier Martin SARL" in text
            assert "Julie Perrin" not in text and "#0b6e4f" not in html
    b_message = next(m for m in smtp.messages if m["To"] == "b-c1@example.org")
    link = re.search(r"http://portal\.test(/p/\S+)", b_message.get_body(("plain",)).get_content())
    client = any_app.test_client()
    page = client.get(link.group(1)).get_data(as_text=True)
    assert "border-top: 4px solid #0b6e4f" in page and 'class="logo"' in page
    image = client.get(link.group(1) + "/logo")
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    assert image.data == logo.read_bytes()
    pdf_path = re.search(r'href="(/p/[^"]+/invoices/\d+\.pdf)"', page).group(1)
    copy = client.get(pdf_path)
    assert copy.status_code == 200 and b"/Subtype /Image" in copy.data
    a_message = next(m for m in smtp.messages if m["To"] == "a-c1@example.org")
    a_link = re.search(r"http://portal\.test(/p/\S+)",
                       a_message.get_body(("plain",)).get_content()).group(1)
    assert 'class="logo"' not in client.get(a_link).get_data(as_text=True)
    assert client.get(a_link + "/logo").status_code == 404


def test_stripe_keys_are_each_creditors_own(two, any_app):
    """The STRIPE_* variables are the first creditor's; another creditor takes online payments
    only with keys of its own (else its debtors pay by transfer)."""
    from portal.payments.gateways import NoGateway, StripeGateway, gateway_for
    from portal import settings
    a, b = two
    any_app.config.update(PAYMENTS_DEMO=False, STRIPE_SECRET_KEY="sk_test_first")

    def gateway(creditor):
        with tenancy.scope(creditor.id):
            settings.forget()
            return gateway_for()

    first = gateway(a)
    assert isinstance(first, StripeGateway) and first.client._requestor.api_key == "sk_test_first"
    assert isinstance(gateway(b), NoGateway)
    cli(any_app, "creditors", "set", "bistro", "--stripe-secret-key", "sk_test_bistro")
    own = gateway(b)
    assert isinstance(own, StripeGateway) and own.client._requestor.api_key == "sk_test_bistro"
    listed = cli(any_app, "creditors", "list").output
    assert "sk_test" not in listed and "own Stripe account" in listed  # never shown back


def test_each_creditor_has_its_own_today_and_holidays(two, any_app):
    """"Today" is the date in each creditor's time zone, and each skips its own country's
    public holidays (the run plans each creditor on its own date and calendar)."""
    from datetime import date, datetime, timezone

    from reminders.scan import book
    a, b = two
    assert cli(any_app, "creditors", "set", "bistro", "--timezone", "America/New_York",
               "--country", "DE").exit_code == 0
    late_evening_in_paris = datetime(2026, 12, 2, 23, 30, tzinfo=timezone.utc)
    with tenancy.scope(a.id):
        assert clock.today(late_evening_in_paris) == date(2026, 12, 3)
        assert not book(date(2026, 7, 14)).calendar.is_business_day(date(2026, 7, 14))
    with tenancy.scope(b.id):
        assert clock.today(late_evening_in_paris) == date(2026, 12, 2)
        assert book(date(2026, 7, 14)).calendar.is_business_day(date(2026, 7, 14))
        assert not book(date(2026, 4, 3)).calendar.is_business_day(date(2026, 4, 3))  # Good Friday
    with tenancy.scope(a.id):
        assert book(date(2026, 4, 3)).calendar.is_business_day(date(2026, 4, 3))
    bad = cli(any_app, "creditors", "set", "bistro", "--timezone", "Mars/Olympus")
    assert bad.exit_code == 1 and "--timezone" in bad.output and "not a time zone" in bad.output


def test_a_user_granted_no_creditor_is_told_whom_to_ask(two, any_app):
    a, b = two
    create_user("nouveau@cabinet.example", PASSWORD, creditors=[])
    db.session.commit()
    client = any_app.test_client()
    assert login(client, "nouveau@cabinet.example").status_code == 302
    page = client.get("/admin/")
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert "Demandez à un administrateur" in text and "--creditor SLUG" in text
    assert "Menuiserie Girard" not in text and "Primeurs Zanetti" not in text
    for path in ("/admin/dashboard", "/admin/exports/aging.csv", "/admin/preview"):
        assert client.get(path).status_code == 403, path
    overview = client.get("/admin/creditors")
    assert overview.status_code == 200 and "Aucun créancier" in overview.get_data(as_text=True)


def _fields(page, action):
    """The hidden fields of the form posting to `action` in `page`."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', page,
                     re.S).group(1)
    fields = {}
    for tag in re.findall(r"<input [^>]*>", form):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag))
        if attrs.get("type") == "hidden":
            fields[attrs["name"]] = attrs.get("value", "")
    return fields


def test_a_form_saved_after_switching_in_another_tab_applies_to_its_own_creditor(two, any_app):
    a, b = two
    create_user("both@cabinet.example", PASSWORD, creditors=[a, b])
    db.session.commit()
    client = any_app.test_client()
    login(client, "both@cabinet.example")
    page = client.get("/admin/").get_data(as_text=True)
    client.post("/admin/creditor", data={"csrf_token": csrf(page), "creditor": str(b.id)})
    tab_one = client.get("/admin/preview").get_data(as_text=True)  # B's preview, left open
    review = _fields(tab_one, "/admin/settings/review")
    assert review["for_creditor"] == str(b.id)
    client.post("/admin/creditor", data={"csrf_token": csrf(page), "creditor": str(a.id)})
    saved = client.post("/admin/settings/review", data=dict(review, review="on"))
    assert saved.status_code == 302
    from portal import settings
    with tenancy.scope(b.id):
        settings.forget()
        assert settings.review_before_sending() is True
    with tenancy.scope(a.id):
        settings.forget()
        assert settings.review_before_sending() is False
    after = client.get("/admin/preview").get_data(as_text=True)
    assert "Relance — Bistro Lyonnais SARL" in after  # the creditor just worked on
    # A form naming a creditor this user may not work for is refused.
    create_user("solo@atelier.example", PASSWORD, creditors=[a])
    db.session.commit()
    other = any_app.test_client()
    login(other, "solo@atelier.example")
    token = csrf(other.get("/admin/").get_data(as_text=True))
    assert other.post("/admin/settings/review", data={
        "csrf_token": token, "for_creditor": str(b.id), "review": "on"}).status_code == 404


def test_every_back_office_form_says_which_creditor_it_is_for(two, any_app):
    a, b = two
    ids = _b_world(b)
    create_user("admin@bistro.example", PASSWORD, "admin", creditors=[b])
    db.session.commit()
    client = any_app.test_client()
    login(client, "admin@bistro.example")
    pages = ["/admin/", "/admin/preview", "/admin/settings", "/admin/settings/policies/default",
             "/admin/settings/templates/cordial/fr", f"/admin/customers/{ids['customer_id']}",
             f"/admin/plans/{ids['plan_id']}", f"/admin/tasks/{ids['task_id']}",
             "/admin/dashboard", "/admin/users"]
    forms = 0
    for path in pages:
        page = client.get(path)
        assert page.status_code == 200, path
        for form in re.findall(r'<form method="post".*?</form>', page.get_data(as_text=True),
                               re.S):
            assert f'name="for_creditor" value="{b.id}"' in form, (path, form[:200])
            forms += 1
    assert forms >= 15


def test_switching_keeps_the_list_page_and_another_creditors_page_says_what_to_do(two, any_app):
    a, b = two
    ids = _b_world(b)
    create_user("both@cabinet.example", PASSWORD, creditors=[a, b])
    db.session.commit()
    client = any_app.test_client()
    login(client, "both@cabinet.example")
    page = client.get("/admin/dashboard").get_data(as_text=True)
    switch = _fields(page, "/admin/creditor")
    assert switch["next"] == "/admin/dashboard" and page.count('id="csrf_token"') <= 1
    moved = client.post("/admin/creditor", data=dict(switch, creditor=str(b.id)))
    assert moved.headers["Location"] == "/admin/dashboard"
    page = client.get(f"/admin/customers/{ids['customer_id']}").get_data(as_text=True)
    switch = _fields(page, "/admin/creditor")
    moved = client.post("/admin/creditor", data=dict(switch, creditor=str(a.id)))
    assert moved.headers["Location"] == "/admin/"  # that debtor is the other creditor's
    missing = client.get(f"/admin/customers/{ids['customer_id']}")
    text = missing.get_data(as_text=True)
    assert missing.status_code == 404
    assert "Cette page n'existe pas pour Atelier Martin SARL" in text
    assert "choisissez ce créancier dans l'en-tête" in text and 'id="creditor-switch"' in text
