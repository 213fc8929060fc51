"""The accountant in a desktop browser: logs in, approves one plan and counters another, works a
call task, pauses a debtor, and sees the effect in `flask reminders preview`."""
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from portal import clock
from portal.extensions import db
from portal.models import InstalmentPlan, Task
from portal.users import create_user
from portal.rules.schedule import calendar_for
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import shot, submit, waiting_plan


def task_link(page, debtor, label):
    """The link of `debtor`'s task called `label` on the worklist (one block per debtor)."""
    body = page.locator("tbody.worklist-debtor", has=page.get_by_role("link", name=debtor,
                                                                       exact=True))
    return body.locator("tr.task-row", has_text=label).get_by_role("link")

CAL = calendar_for("FR")
PASSWORD = "correct horse battery staple"


def test_accountant_day(live_app, browser, smtp):
    app, base = live_app
    with app.app_context():
        create_user("compta@atelier.example", PASSWORD)
        first = waiting_plan("Pâtisserie Lambert", "PL-1", 90_000)
        second = waiting_plan("Épicerie Fine Masson", "EM-1", 60_000)
        caller = make_customer(name="Coiffure Rousseau", phone="+33 4 72 00 00 01")
        make_invoice(caller, clock.today() - timedelta(days=55), 45_000, number="CR-1")
        db.session.flush()
        db.session.add(Task(customer_id=caller.id, kind="call", level=3, due_on=clock.today(),
                            message_id="<seed>", details={"invoices": ["CR-1"]}))
        paused = make_customer(name="Fleurs Gauthier")
        make_invoice(paused, clock.today() - timedelta(days=20), 12_000, number="FG-1")
        db.session.commit()
        ids = first.id, second.id, caller.id, paused.id
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{base}/admin/")
    assert "/admin/login" in page.url
    page.get_by_label("E-mail").fill("compta@atelier.example")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    submit(page, page.get_by_role("button", name="Se connecter"))
    expect(page.get_by_role("heading", level=1)).to_have_text("À traiter aujourd'hui")
    shot(page, "20-backoffice-inbox")

    submit(page, task_link(page, "Pâtisserie Lambert", "Échéancier à décider"))
    page.get_by_label("Décision").select_option("approve")
    submit(page, page.get_by_role("button", name="Enregistrer et prévenir le client"))
    expect(page.locator(".flash-success")).to_contain_text("Décision enregistrée")

    submit(page, task_link(page, "Épicerie Fine Masson", "Échéancier à décider"))
    page.get_by_label("Décision").select_option("counter")
    page.get_by_label("Contre-proposition : nombre d'échéances").fill("3")
    page.get_by_label("Contre-proposition : première échéance le").fill(
        (clock.today() + timedelta(days=15)).isoformat())
    page.get_by_label("Message au client").fill("Sur trois mois, c'est possible.")
    shot(page, "21-backoffice-counter")
    submit(page, page.get_by_role("button", name="Enregistrer et prévenir le client"))
    expect(page.locator(".flash-success")).to_contain_text("Décision enregistrée")

    submit(page, task_link(page, "Coiffure Rousseau", "Appel à passer"))
    expect(page.locator("#content")).to_contain_text("+33 4 72 00 00 01")
    page.get_by_label("Résultat").select_option("reached")
    page.get_by_label("Date de paiement promise").fill((clock.today() + timedelta(days=7)).isoformat())
    page.get_by_label("Notes").fill("Virement la semaine prochaine.")
    shot(page, "22-backoffice-call-sheet")
    submit(page, page.get_by_role("button", name="Enregistrer", exact=True))
    expect(page.locator(".flash-success")).to_contain_text("Appel enregistré")

    page.goto(f"{base}/admin/customers/{ids[3]}")
    submit(page, page.get_by_role("button", name="Suspendre les relances"))
    expect(page.locator(".flash-success")).to_contain_text("Relances suspendues")
    shot(page, "23-backoffice-debtor-paused")
    page.goto(f"{base}/admin/dashboard")
    expect(page.locator("#content")).to_contain_text("Balance âgée")
    shot(page, "24-backoffice-dashboard")
    context.close()

    day = CAL.next_business_day(clock.today() + timedelta(days=1))
    with app.app_context():
        states = sorted(p.state for p in db.session.scalars(select(InstalmentPlan)))
        assert states == ["approved", "countered"]
        preview = app.test_cli_runner().invoke(args=["reminders", "preview", "--date",
                                                     day.isoformat()])
    # Nothing for the plans (approved: instalments; countered: waiting), the promise obtained
    # by phone, or the paused debtor.
    for number in ("PL-1", "EM-1", "CR-1", "FG-1"):
        assert number not in preview.output
