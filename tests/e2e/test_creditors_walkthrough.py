"""An accounting firm's assistant works for two creditors, on a phone: logs in, sees the first
creditor's to-do list, switches to the second with the header's switcher (a plain form: no
JavaScript needed), reads the overview of both, and never sees one creditor's debtor while
working on the other."""
from datetime import timedelta

from playwright.sync_api import expect

from portal import clock, tenancy
from portal.extensions import db
from portal.models import Creditor, Task
from portal.settings import creditor_from_config
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import PHONE, log_in, shot, submit

PASSWORD = "correct horse battery staple"


def _call_task(name, number, creditor_id):
    with tenancy.scope(creditor_id):
        customer = make_customer(name=name, phone="+33 4 72 00 00 01", creditor_id=creditor_id)
        make_invoice(customer, clock.today() - timedelta(days=55), 45_000, number=number)
        db.session.add(Task(customer_id=customer.id, kind="call", level=3, due_on=clock.today(),
                            message_id=f"<seed-{number}>", details={"invoices": [number]}))
        db.session.commit()


def test_two_creditors_on_a_phone(live_app, browser):
    app, base = live_app
    with app.app_context():
        first = db.session.query(Creditor).one()
        second = creditor_from_config(app.config)
        second.slug, second.name = "bistro", "Bistro Lyonnais SARL"
        db.session.add(second)
        db.session.commit()
        _call_task("Coiffure Rousseau", "CR-1", first.id)
        _call_task("Primeurs Zanetti", "PZ-1", second.id)
        create_user("assistante@cabinet.example", PASSWORD, creditors=[first, second])
        db.session.commit()
    context = browser.new_context(**PHONE)
    page = context.new_page()
    log_in(page, base, "assistante@cabinet.example", PASSWORD)
    expect(page.get_by_text("Coiffure Rousseau")).to_be_visible()
    assert "Primeurs Zanetti" not in page.content()
    menu = page.locator("#creditor-menu")
    menu.get_by_text("Changer de créancier").click()  # a <details>: opens without JavaScript
    switcher = menu.locator("#creditor-switch")
    expect(switcher.locator("[aria-current]")).to_have_text("Atelier Martin SARL")
    expect(switcher.get_by_role("button", name="Atelier Martin SARL")).to_have_count(0)
    shot(page, "creditors-1-first-creditor-phone")
    submit(page, switcher.get_by_role("button", name="Bistro Lyonnais SARL"))
    expect(page.get_by_text("Primeurs Zanetti")).to_be_visible()
    assert "Coiffure Rousseau" not in page.content()
    expect(page.locator(".brand")).to_contain_text("Bistro Lyonnais SARL")
    shot(page, "creditors-2-second-creditor-phone")
    page.locator("#creditor-menu").get_by_text("Changer de créancier").click()
    submit(page, page.get_by_role("link", name="Tous les créanciers"))
    table = page.get_by_role("table")
    expect(table.get_by_role("rowheader", name="Atelier Martin SARL")).to_be_visible()
    expect(table.get_by_role("rowheader", name="Bistro Lyonnais SARL")).to_be_visible()
    shot(page, "creditors-3-overview-phone")
    wide = page.evaluate("document.scrollingElement.scrollWidth - "
                         "document.scrollingElement.clientWidth")
    assert wide <= 0, f"the overview scrolls sideways by {wide}px on a phone"
    submit(page, page.get_by_role("button", name="Travailler sur Atelier Martin SARL"))
    expect(page.get_by_text("Coiffure Rousseau")).to_be_visible()
    context.close()
