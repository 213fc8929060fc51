"""The accountant takes money in by hand, in a real browser (desktop and phone, French):
- records a cheque on the debtor's page ("Enregistrer un règlement reçu"): the invoice's
  balance goes down and the history says how it was paid;
- finds a bank statement credit whose reference is already known for another amount marked
  "Même référence qu'un paiement ..." on the Bank page, and decides it."""
from datetime import timedelta

from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.models import Invoice
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import accountant_pages, scrolls_sideways, shot, submit
from tests.integration.test_camt import entry, statement

PASSWORD = "correct horse battery staple"


def test_the_accountant_records_a_cheque_and_decides_a_conflicting_credit(live_app, browser,
                                                                         tmp_path):
    app, base = live_app
    with app.app_context():
        today = clock.today()
        customer = make_customer(name="Quincaillerie Blanc", email="blanc@example.org")
        invoice = make_invoice(customer, today - timedelta(days=25), 240_000, number="QB-1")
        create_user("compta@atelier.example", PASSWORD)
        db.session.commit()
        customer_id, invoice_id = customer.id, invoice.id
        runner = app.test_cli_runner()
        # The transfer came by the API (1,000.00), then the statement shows the same reference
        # for 1,400.00: not counted, not dropped.
        client = app.test_client()
        answer = client.post("/api/v1/payments", headers={
            "Authorization": "Bearer test-api-token"}, json={
            "invoice_number": "QB-1", "amount": "1000.00", "currency": "EUR",
            "external_id": "VIR-2026-7781", "date": today.isoformat()})
        assert answer.status_code == 201
        path = tmp_path / "releve.xml"
        path.write_bytes(statement(entry("VIR-2026-7781", "1400.00", today.isoformat(),
                                         "QUINCAILLERIE BLANC", "QB-1")))
        assert runner.invoke(args=["payments", "import", str(path)]).exit_code == 0
    for name, page in accountant_pages(browser, base, "compta@atelier.example", PASSWORD):
        page.goto(f"{base}/admin/bank")
        expect(page.get_by_text("Même référence qu'un paiement de 1 000,00")).to_be_visible()
        shot(page, f"bank-conflict-{name}")
        assert scrolls_sideways(page) <= 0, name
        page.goto(f"{base}/admin/customers/{customer_id}")
        expect(page.get_by_role("group", name="Enregistrer un règlement reçu")).to_be_visible()
        if name == "desktop":
            page.get_by_label("Montant reçu").fill("200,00")
            page.get_by_label("Référence bancaire (pour un virement)").fill("CHQ 0045512")
            shot(page, "payment-entry-desktop")
            submit(page, page.get_by_role("button", name="Enregistrer le règlement"))
            expect(page.get_by_text("Règlement de 200,00 € enregistré sur la facture QB-1")
                   ).to_be_visible()
        shot(page, f"payment-entry-done-{name}")
        assert scrolls_sideways(page) <= 0, name
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).paid_cents == 120_000
