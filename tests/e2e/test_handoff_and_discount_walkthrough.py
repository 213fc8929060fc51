"""Two of the accountant's and the debtor's newer paths in a real browser.
- The accountant hands a debtor over once the formal notice's deadline has passed: the form on
  the debtor's page (desktop), the status and the dossier to download (phone too).
- A debtor on a phone pays an invoice before its discount's last day: the portal and the demo
  checkout show the discounted amount, which is what is charged."""
from datetime import timedelta

from playwright.sync_api import expect

from portal import clock, settings
from portal.extensions import db
from portal.links import portal_url
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import accountant_pages, scrolls_sideways, shot, submit
from tests.helpers import level_days

PASSWORD = "correct horse battery staple"


def test_the_accountant_hands_a_debtor_over(live_app, browser):
    app, base = live_app
    with app.app_context():
        today = clock.today()
        customer = make_customer(name="Girard SARL", email="girard@example.org",
                                 address="3 rue Neuve, 69001 Lyon")
        due = today - timedelta(days=110)
        make_invoice(customer, due, 120_000, number="H-1")
        create_user("compta@atelier.example", PASSWORD)
        db.session.commit()
        for day in level_days(due):
            result = app.test_cli_runner().invoke(
                args=["reminders", "run", "--date", day.isoformat()])
            assert result.exit_code == 0, result.output
        customer_id = customer.id
    for name, page in accountant_pages(browser, base, "compta@atelier.example", PASSWORD):
        page.goto(f"{base}/admin/customers/{customer_id}")
        if name == "desktop":
            expect(page.get_by_role("heading", name="Transmettre le dossier")).to_be_visible()
            page.get_by_label("Transmettre le dossier à").select_option("injonction")
            page.get_by_label("SIREN du débiteur (9 chiffres)").fill("552 100 554")
            shot(page, "handoff-form-desktop")
            submit(page, page.get_by_role("button", name="Transmettre le dossier"))
        expect(page.get_by_text("Transmis (injonction de payer)")).to_be_visible()
        link = page.get_by_role("link", name="Télécharger le dossier (ZIP)").first
        answer = page.request.get(base + link.get_attribute("href"))
        assert answer.ok and answer.body().startswith(b"PK")
        shot(page, f"handoff-status-{name}")
        assert scrolls_sideways(page) <= 0, name


def test_a_debtor_pays_the_discounted_amount_on_a_phone(live_app, phone):
    app, base = live_app
    with app.app_context():
        document = settings.editable()
        for policy in document["policies"]:
            policy.update(discount_percent="2", discount_days=0)  # until the due date
        settings.save(document, author="test")
        customer = make_customer(name="Librairie Vincent", email="compta@vincent.example")
        make_invoice(customer, clock.today() + timedelta(days=12), 100_000, number="LV-9")
        db.session.commit()
        link = portal_url(customer)
    phone.goto(link)
    card = phone.locator("#content")
    expect(card).to_contain_text("980,00\u00a0€ si payée au plus tard le")
    expect(card).to_contain_text("(escompte de 2\u00a0%)")
    shot(phone, "discount-portal-phone")
    submit(phone, phone.get_by_role("button", name="Payer par carte ou prélèvement SEPA"))
    expect(phone.get_by_role("heading", level=1)).to_contain_text("980,00\u00a0€")
    shot(phone, "discount-checkout-phone")
    submit(phone, phone.get_by_role("button", name="Carte : le paiement réussit"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Merci")
    submit(phone, phone.get_by_role("link", name="Retour à mes factures"))
    expect(phone.locator("#content")).to_contain_text("aucune facture en attente")
