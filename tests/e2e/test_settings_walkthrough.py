"""The accountant shapes the relance in a browser: changes the first reminder's delay and its
French subject, reads the impact on the next run before saving, saves; `flask reminders preview`
and the run follow; reverting in the history restores the old settings."""
from datetime import timedelta

from playwright.sync_api import expect

from portal import clock, settings
from portal.extensions import db
from portal.users import create_user
from portal.rules.schedule import calendar_for
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import shot, submit

CAL = calendar_for("FR")
PASSWORD = "correct horse battery staple"


def test_the_accountant_changes_a_delay_and_a_subject_then_reverts(live_app, browser, smtp):
    app, base = live_app
    tomorrow = CAL.next_business_day(clock.today() + timedelta(days=1))
    later = CAL.next_business_day(tomorrow + timedelta(days=3))
    shift = (later - tomorrow).days  # the new delay moves the first reminder to `later`
    with app.app_context():
        create_user("compta@atelier.example", PASSWORD)
        customer = make_customer(name="Imprimerie Vasseur", email="vasseur@example.org")
        make_invoice(customer, tomorrow - timedelta(days=7), 64_000, number="IV-1")
        db.session.commit()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{base}/admin/login")
    page.get_by_label("E-mail").fill("compta@atelier.example")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    submit(page, page.get_by_role("button", name="Se connecter"))
    submit(page, page.get_by_role("link", name="Réglages"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Réglages des relances")

    submit(page, page.get_by_role("link", name="Modifier").first)
    page.get_by_label("Délai du niveau 1").fill(str(7 + shift))
    submit(page, page.get_by_role("button", name="Voir l'impact"))
    impact = page.locator("#impact")
    expect(impact).to_contain_text("Impact sur le passage")
    expect(impact.get_by_role("row").nth(1)).to_have_text("110")  # level 1: 1 before, 0 after
    shot(page, "30-settings-impact")
    submit(page, page.get_by_role("button", name="Enregistrer"))
    expect(page.locator(".flash-success")).to_contain_text("Politique enregistrée")

    page.goto(f"{base}/admin/settings/templates/cordial/fr")
    page.get_by_label("Objet").fill("Un petit oubli ? {{ what }}")
    # The preview follows the typing (static/js/template-editor.js), no click needed...
    expect(page.locator("#preview")).to_contain_text("Un petit oubli ? facture IV-1")
    page.get_by_label("Objet").fill("Un petit oubli ? {{ whot }}")
    expect(page.locator("#subject-errors")).to_contain_text("unknown variable 'whot'")
    page.get_by_label("Objet").fill("Un petit oubli ? {{ what }}")
    expect(page.locator("#subject-errors")).to_be_empty()
    # ...and the button does the same without JavaScript.
    submit(page, page.get_by_role("button", name="Prévisualiser"))
    expect(page.get_by_text("Un petit oubli ? facture IV-1")).to_be_visible()
    # The HTML part shown as the debtor's mail client would, in a sandboxed frame.
    frame = page.frame_locator("iframe.mail-preview")
    expect(frame.get_by_text("Bonjour Imprimerie Vasseur")).to_be_visible()
    expect(frame.get_by_role("link", name="Voir mes factures et payer")).to_be_visible()
    shot(page, "31-settings-template-preview")
    submit(page, page.get_by_role("button", name="Enregistrer"))
    expect(page.locator(".flash-success")).to_contain_text("Modèle enregistré")

    runner = app.test_cli_runner()
    with app.app_context():
        preview = runner.invoke(args=["reminders", "preview", "--date", tomorrow.isoformat()])
        assert "level 1" not in preview.output
        preview = runner.invoke(args=["reminders", "preview", "--date", later.isoformat()])
        assert "level 1" in preview.output
        result = runner.invoke(args=["reminders", "run", "--date", later.isoformat()])
        assert result.exit_code == 0, result.output
    assert [m["Subject"] for m in smtp.messages] == ["Un petit oubli ? facture IV-1"]

    page.goto(f"{base}/admin/settings")
    shot(page, "32-settings-history")
    rows = page.get_by_role("row").filter(has_text="the shipped settings")
    submit(page, rows.get_by_role("button", name="Rétablir"))
    expect(page.locator(".flash-success")).to_contain_text("Révision 1 rétablie")
    with app.app_context():
        current = settings.current()
        assert current.policy_for().first_reminder.offset_days == 7
        assert current.template("cordial", "fr")["subject"] == \
            "Relance : {{ what }} en attente de règlement"
    context.close()
