"""A level-2 reminder goes by e-mail and SMS: the debtor opens the SMS's short link on a phone
and lands on the portal; the accountant reads the SMS on the debtor's timeline, stops SMS for
that debtor, and sees the SMS text with its segment count in the template editor."""
import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import accountant_pages, scrolls_sideways, shot, submit

PASSWORD = "correct horse battery staple"
LEVEL_1, LEVEL_2 = date(2026, 3, 9), date(2026, 3, 23)


def test_sms_from_the_run_to_the_portal_and_the_back_office(live_app, twilio, browser, phone):
    app, base = live_app
    with app.app_context():
        customer = make_customer(name="Menuiserie Girard", email="girard@example.org",
                                 phone="06 12 34 56 78")
        make_invoice(customer, date(2026, 3, 2), 123_456, number="G-1")
        create_user("compta@atelier.example", PASSWORD)
        db.session.commit()
        for day in (LEVEL_1, LEVEL_2):
            with clock.pin_instant(datetime.combine(day, time(10), ZoneInfo("Europe/Paris"))):
                result = app.test_cli_runner().invoke(
                    args=["reminders", "run", "--date", day.isoformat()])
            assert result.exit_code == 0, result.output
        customer_id = customer.id
    [sms] = twilio.messages
    link = re.search(r"https?://\S+/s/\S+", sms["body"]).group(0)
    assert link.startswith(base)
    phone.goto(link)
    expect(phone.get_by_text("G-1").first).to_be_visible()
    assert "/p/" in phone.url
    shot(phone, "sms-short-link-portal-phone")
    for name, page in accountant_pages(browser, base, "compta@atelier.example", PASSWORD):
        page.goto(f"{base}/admin/customers/{customer_id}")
        expect(page.get_by_text("Les SMS partent au +33612345678")).to_be_visible()
        expect(page.get_by_text("SMS envoyé au +33612345678 (niveau 2, 1 segment(s))")
               ).to_be_visible()
        shot(page, f"sms-debtor-{name}")
        assert scrolls_sideways(page) <= 0
        page.goto(f"{base}/admin/settings/templates/firm/fr")
        expect(page.get_by_label("SMS", exact=True)).to_be_visible()
        expect(page.locator(".sms-preview")).to_contain_text("1 segment (GSM-7")
        shot(page, f"sms-editor-{name}")
        if name == "phone":  # last: stop SMS for this debtor
            page.goto(f"{base}/admin/customers/{customer_id}")
            submit(page, page.get_by_role("button", name="Ne plus envoyer de SMS"))
            expect(page.get_by_text("Pas de SMS : arrêtés par le service comptable")
                   ).to_be_visible()
