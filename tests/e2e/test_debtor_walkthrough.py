"""A debtor on a phone: opens the link, flags an invoice never received, promises a date for
another, writes about a third, switches to English. Screenshots go to test-artifacts/."""
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from portal import clock
from portal.extensions import db
from portal.links import portal_url
from portal.models import Event, Hold
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import promise, shot, submit

def test_debtor_answers_from_a_phone(live_app, phone, smtp):
    app, base = live_app
    with app.app_context():
        customer = make_customer(name="Boulangerie Dupont & Fils", email="compta@dupont.example")
        lost = make_invoice(customer, clock.today() - timedelta(days=30), 120_000, number="FA-1")
        later = make_invoice(customer, clock.today() - timedelta(days=12), 45_050, number="FA-2")
        make_invoice(customer, clock.today() - timedelta(days=5), 9_990, number="FA-3")
        db.session.commit()
        link = portal_url(customer)
        ids = (lost.id, later.id)
    page = phone
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour Boulangerie Dupont & Fils")
    expect(page.locator(".total")).to_contain_text("1\u202f750,40\u00a0€")
    shot(page, "01-landing-phone")

    card = page.locator(f"#invoice-{ids[0]}")
    submit(page, card.get_by_role("button", name="Je n'ai jamais reçu cette facture"))
    expect(page.locator(".flash-success")).to_contain_text("Une copie de la facture FA-1")
    expect(page.locator(f"#invoice-{ids[0]}")).to_contain_text("Copie envoyée")
    shot(page, "02-never-received")
    assert smtp.messages[-1]["Subject"] == "Copie de la facture FA-1"

    promise(page, "FA-2", clock.today() + timedelta(days=10))
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator(f"#invoice-{ids[1]}")).to_contain_text("Paiement annoncé le")
    shot(page, "03-promise")

    promise(page, "FA-2", clock.today() + timedelta(days=90))
    expect(page.locator(".field .error")).to_contain_text("au plus tard le")
    shot(page, "04-promise-too-far")

    _plan_request(page, 2, only="FA-3")
    page.get_by_label("J'accepte cet échéancier").check()
    submit(page, page.get_by_role("button", name="Confirmer ma demande"))
    expect(page.locator(".flash-success")).to_be_visible()
    schedule = page.get_by_role("region", name="Votre échéancier")
    expect(schedule.locator("tbody tr")).to_have_count(2)
    expect(schedule).to_contain_text("49,95\u00a0€")
    shot(page, "05-plan-approved")

    submit(page, page.get_by_role("link", name="English"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello Boulangerie Dupont & Fils")
    shot(page, "06-english")

    with app.app_context():
        kinds = {h.kind for h in db.session.scalars(select(Hold))}
        assert kinds == {"not_received", "promise", "plan"}
        visits = db.session.scalars(select(Event).where(Event.kind == "portal_visit")).all()
        assert len(visits) == 1  # many page views within 30 minutes: one visit on the timeline


def _plan_request(page, count, only=None):
    region = page.get_by_role("region", name="Payer en plusieurs fois")
    if only:
        for box in region.get_by_role("checkbox").all():
            box.uncheck()
        region.get_by_label(only).check()
    region.get_by_label("Nombre d'échéances").fill(str(count))
    region.get_by_label("Première échéance le").fill((clock.today() + timedelta(days=10)).isoformat())
    region.get_by_label("Pourquoi avez-vous besoin de délais ? (facultatif)").fill(
        "Un gros client nous paie en retard.")
    submit(page, region.get_by_role("button", name="Voir l'échéancier"))
    expect(page.locator("table.schedule")).to_be_visible()


def test_plans_from_a_phone_one_approved_at_once_one_for_the_accountant(live_app, phone):
    app, base = live_app
    with app.app_context():
        quick = make_customer(name="Garage Lefèvre", email="compta@lefevre.example")
        make_invoice(quick, clock.today() - timedelta(days=20), 90_000, number="GL-1")
        make_invoice(quick, clock.today() - timedelta(days=10), 30_001, number="GL-2")
        slow = make_customer(name="Hôtel Beau Rivage", email="compta@beaurivage.example",
                             tier="risky")
        make_invoice(slow, clock.today() - timedelta(days=45), 250_000, number="HB-1")
        db.session.commit()
        links = portal_url(quick), portal_url(slow)
    page = phone
    page.goto(links[0])
    _plan_request(page, 3)
    table = page.locator("table.schedule")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table).to_contain_text("400,00\u00a0€")
    expect(table).to_contain_text("400,01\u00a0€")
    expect(page.locator(".hint")).to_contain_text("accepté immédiatement")
    shot(page, "07-plan-schedule-to-accept")
    page.get_by_label("J'accepte cet échéancier").check()
    submit(page, page.get_by_role("button", name="Confirmer ma demande"))
    expect(page.locator(".flash-success")).to_be_visible()
    plan = page.get_by_role("region", name="Votre échéancier")
    expect(plan).to_contain_text("Accepté le")
    expect(plan).to_contain_text("Prochaine échéance")
    expect(plan.locator("tbody tr")).to_have_count(3)
    shot(page, "08-plan-approved-another-debtor")

    page.goto(links[1])
    _plan_request(page, 4)
    expect(page.locator(".hint")).to_contain_text("examinera cette demande")
    page.get_by_label("J'accepte cet échéancier").check()
    submit(page, page.get_by_role("button", name="Confirmer ma demande"))
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.get_by_role("region", name="Votre échéancier")).to_contain_text(
        "vous répondra par e-mail")
    expect(page.locator("#content")).to_contain_text("Échéancier demandé")
    shot(page, "09-plan-waiting-for-the-accountant")
    with app.app_context():
        from portal.models import InstalmentPlan
        states = sorted(p.state for p in db.session.scalars(select(InstalmentPlan)))
        assert states == ["approved", "requested"]
