"""The accountant opens the dashboard after a run that failed (the relay deferred the
reminders): the warning and the last run, on a desktop and on a phone, without scrolling
sideways; the monitor's /healthz/run answers in the same browser without a login."""
from datetime import timedelta

from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import accountant_pages, scrolls_sideways, shot
from tests.helpers import CAL

PASSWORD = "correct horse battery staple"


def test_the_accountant_sees_that_the_run_failed(live_app, browser, smtp):
    app, base = live_app
    day = clock.today() - timedelta(days=1)
    while not CAL.is_business_day(day):  # the last business day before today
        day -= timedelta(days=1)
    with app.app_context():
        create_user("compta@atelier.example", PASSWORD, "accountant")
        customer = make_customer(name="Menuiserie Girard", email="girard@example.org")
        make_invoice(customer, day - timedelta(days=10), 120_000, number="MG-1")
        db.session.commit()
        smtp.on_message = lambda m: "451 4.3.0 Try again later" if m["X-Relance-Level"] else None
        result = app.test_cli_runner().invoke(
            args=["reminders", "run", "--date", day.isoformat()])
        assert result.exit_code == 1, result.output
    for name, page in accountant_pages(browser, base, "compta@atelier.example", PASSWORD):
        page.goto(f"{base}/admin/dashboard")
        warning = page.get_by_role("alert")
        expect(warning).to_contain_text("n'est pas allée jusqu'au bout (échec)")
        expect(page.locator("#last-run")).to_contain_text("451")
        assert scrolls_sideways(page) == 0, name
        shot(page, f"run-health-dashboard-{name}")
    answer = browser.new_page()
    response = answer.goto(f"{base}/healthz/run")
    assert response.status == 200 and response.json()["last_run"]["outcome"] == "failed"
    answer.close()
