"""The accountant reads what gets paid: from the menu, the share of the reminded amount paid
within 30 days per level (chart and table), on a desktop and on a phone."""
from datetime import datetime, time, timedelta, timezone

from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.models import Allocation, Payment, Reminder
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import accountant_pages, scrolls_sideways, shot, submit

PASSWORD = "correct horse battery staple"


def test_the_share_paid_within_30_days_per_level(live_app, browser):
    app, base = live_app
    with app.app_context():
        today = clock.today()
        sent_on = today - timedelta(days=40)
        sent_at = datetime.combine(sent_on, time(9), timezone.utc)
        for name, level, cents, paid_after in (("Menuiserie Girard", 1, 100_000, 5),
                                               ("Garage Roux", 2, 50_000, None)):
            invoice = make_invoice(make_customer(name=name), sent_on - timedelta(days=20),
                                   cents)
            db.session.add(Reminder(customer_id=invoice.customer_id, invoice_id=invoice.id,
                                    level=level, state="sent", scheduled_for=sent_on,
                                    sent_at=sent_at, message_id=f"<e2e.{invoice.id}@x>"))
            if paid_after is not None:
                payment = Payment(customer_id=invoice.customer_id, source="csv",
                                  external_id=f"E2E-{invoice.id}", amount_cents=cents,
                                  received_on=sent_on + timedelta(days=paid_after))
                db.session.add(payment)
                db.session.flush()
                db.session.add(Allocation(payment_id=payment.id, invoice_id=invoice.id,
                                          amount_cents=cents))
        create_user("compta@atelier.example", PASSWORD)
        db.session.commit()
    for name, page in accountant_pages(browser, base, "compta@atelier.example", PASSWORD):
        submit(page, page.get_by_role("link", name="Ce qui se fait payer"))
        expect(page.get_by_role("heading", name="Ce qui se fait payer")).to_be_visible()
        chart = page.get_by_role("img", name="Part du montant relancé payée sous 30 jours")
        expect(chart).to_contain_text("100,0\u00a0%")
        expect(chart).to_contain_text("0,0\u00a0%")
        rows = page.locator("#effectiveness tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("1 000,00\u00a0€")
        shot(page, f"effectiveness-{name}")
        wide = scrolls_sideways(page)
        assert wide <= 0, f"the page scrolls sideways by {wide}px ({name})"
