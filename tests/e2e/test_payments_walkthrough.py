"""A debtor pays two invoices by card through the demo gateway on a phone; the next run reminds
them of nothing. Another pays by SEPA: pending holds the reminders, a failure brings one back."""
from datetime import timedelta

from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.links import portal_url
from portal.rules.schedule import calendar_for
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import shot, submit

CAL = calendar_for("FR")


def reminders_on(app, smtp, day):
    smtp.clear()
    result = app.test_cli_runner().invoke(args=["reminders", "run", "--date", day.isoformat()])
    assert result.exit_code == 0, result.output
    return [m["To"] for m in smtp.messages]


def test_card_then_sepa_failure(live_app, phone, smtp):
    app, base = live_app
    with app.app_context():
        card = make_customer(name="Librairie Vincent", email="compta@vincent.example")
        make_invoice(card, clock.today() - timedelta(days=25), 48_000, number="LV-1")
        make_invoice(card, clock.today() - timedelta(days=15), 12_500, number="LV-2")
        sepa = make_customer(name="Caves Legrand", email="compta@legrand.example")
        make_invoice(sepa, clock.today() - timedelta(days=25), 80_000, number="CL-1")
        db.session.commit()
        links = portal_url(card), portal_url(sepa)
    page = phone
    page.goto(links[0])
    submit(page, page.get_by_role("button", name="Payer par carte ou prélèvement SEPA"))
    expect(page.locator("#content")).to_contain_text("DEMO")
    expect(page.get_by_role("heading", level=1)).to_contain_text("605,00\u00a0€")
    shot(page, "10-demo-checkout")
    submit(page, page.get_by_role("button", name="Carte : le paiement réussit"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Merci")
    shot(page, "11-paid")
    submit(page, page.get_by_role("link", name="Retour à mes factures"))
    expect(page.locator("#content")).to_contain_text("aucune facture en attente")

    page.goto(links[1])
    submit(page, page.get_by_role("button", name="Payer par carte ou prélèvement SEPA"))
    submit(page, page.get_by_role("button", name="Prélèvement SEPA : le prélèvement échoue"))
    page.goto(links[1])
    shot(page, "12-sepa-failed")
    day = CAL.next_business_day(clock.today() + timedelta(days=1))
    with app.app_context():
        sent = reminders_on(app, smtp, day)
    assert sent == ["compta@legrand.example"]  # the card payer hears nothing, the failure does
    assert "n'a pas abouti" in smtp.messages[0].get_body(("plain",)).get_content()


def test_sepa_pending_holds_then_clears(live_app, phone, smtp):
    app, base = live_app
    with app.app_context():
        customer = make_customer(name="Optique Perrin", email="compta@perrin.example")
        make_invoice(customer, clock.today() - timedelta(days=25), 33_300, number="OP-1")
        db.session.commit()
        link = portal_url(customer)
    page = phone
    page.goto(link)
    submit(page, page.get_by_role("button", name="Payer par carte ou prélèvement SEPA"))
    submit(page, page.get_by_role(
        "button", name="Prélèvement SEPA : en attente, encaissé au prochain passage"))
    page.goto(link)
    expect(page.locator("#invoice-1")).to_contain_text("Paiement en cours")
    shot(page, "13-sepa-pending")
    day = CAL.next_business_day(clock.today() + timedelta(days=1))
    with app.app_context():
        assert reminders_on(app, smtp, day) == []  # pending: no reminder, and it clears now
    page.goto(link)
    expect(page.locator("#content")).to_contain_text("aucune facture en attente")
