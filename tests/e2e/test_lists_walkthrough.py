"""The accountant finds a debtor: by an invoice number in the search box, then by filtering the
61-90 days overdue bucket, and opens the debtor's page (desktop, then the same list on a phone,
where rows read as labelled blocks)."""
from datetime import timedelta

from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import accountant_pages, log_in, scrolls_sideways, shot, submit

PASSWORD = "correct horse battery staple"


def test_find_a_debtor_by_invoice_number_and_by_lateness(live_app, browser):
    app, base = live_app
    with app.app_context():
        today = clock.today()
        girard = make_customer(name="Menuiserie Girard")
        make_invoice(girard, today - timedelta(days=75), 240_000, number="MG-2026-075")
        roux = make_customer(name="Garage Roux")
        make_invoice(roux, today - timedelta(days=12), 50_000, number="GR-2026-012")
        create_user("compta@atelier.example", PASSWORD)
        db.session.commit()
    for name, page in accountant_pages(browser, base, "compta@atelier.example", PASSWORD):
        submit(page, page.get_by_role("link", name="Débiteurs"))
        table = page.locator("#debtors")
        expect(table.get_by_role("link", name="Menuiserie Girard")).to_be_visible()
        expect(table.get_by_role("link", name="Garage Roux")).to_be_visible()
        page.get_by_label("Rechercher").fill("MG-2026-075")
        submit(page, page.get_by_role("button", name="Voir"))
        expect(table.get_by_role("link", name="Menuiserie Girard")).to_be_visible()
        expect(table.get_by_role("link", name="Garage Roux")).to_have_count(0)
        page.get_by_label("Rechercher").fill("")
        page.get_by_label("En retard").select_option(value="61-90")
        submit(page, page.get_by_role("button", name="Voir"))
        expect(table).to_contain_text("relance de niveau")
        expect(table.get_by_role("link", name="Garage Roux")).to_have_count(0)
        shot(page, f"lists-1-debtors-61-90-{name}")
        wide = scrolls_sideways(page)
        assert wide <= 0, f"the debtors list scrolls sideways by {wide}px ({name})"
        submit(page, table.get_by_role("link", name="Menuiserie Girard"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Menuiserie Girard")
        if name == "desktop":  # the debtor's page: a note, then the timeline in both languages
            page.get_by_label("Note").fill(f"Appelé le comptable : règlement prévu ({name})")
            submit(page, page.get_by_role("button", name="Ajouter la note"))
            timeline = page.locator("ol.timeline")
            expect(timeline).to_contain_text("Note : « Appelé le comptable : règlement prévu")
            submit(page, page.get_by_role("button", name="English"))
            expect(page.get_by_role("heading", name="History")).to_be_visible()
            expect(page.locator("ol.timeline")).to_contain_text("Note: “Appelé le comptable")
            shot(page, "lists-2-debtor-timeline-english")
            submit(page, page.get_by_role("button", name="Français"))


def test_upload_a_file_with_an_error_then_a_good_one(live_app, browser, tmp_path):
    app, base = live_app
    with app.app_context():
        create_user("compta@atelier.example", PASSWORD)
        db.session.commit()
    header = "customer_ref,customer_name,email,language,invoice_number,issue_date,due_date,amount\n"
    good = header + "C1,Dupont & Fils,c@dupont.fr,fr,F-1,2026-10-01,2026-10-31,1234.56\n"
    bad_file, good_file = tmp_path / "erreur.csv", tmp_path / "factures.csv"
    bad_file.write_text(good + "C2,Garage Roux,x@roux.fr,fr,F-2,2026-10-01,31/02/2026,10\n")
    good_file.write_text(good)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    log_in(page, base, "compta@atelier.example", PASSWORD)
    submit(page, page.get_by_role("link", name="Importer"))
    page.get_by_label("Fichier de factures : CSV, FEC ou PDF Factur-X").set_input_files(str(bad_file))
    submit(page, page.get_by_role("button", name="Vérifier le fichier"))
    expect(page.get_by_role("heading", level=2)).to_contain_text("rien n'a été importé")
    expect(page.locator("#import-errors")).to_contain_text("ligne 3")
    shot(page, "upload-1-refused")
    page.get_by_label("Fichier de factures : CSV, FEC ou PDF Factur-X").set_input_files(str(good_file))
    submit(page, page.get_by_role("button", name="Vérifier le fichier"))
    expect(page.get_by_text("1 facture(s) à créer")).to_be_visible()
    submit(page, page.get_by_role("button", name="Importer ces factures"))
    expect(page.locator(".flash-success")).to_contain_text("1 facture(s) créée(s)")
    expect(page.locator("#invoices")).to_contain_text("F-1")
    shot(page, "upload-2-imported")
    context.close()
