"""Accessibility of the pages debtors and the accountant use, checked in the browser: every control
has a label, text contrast meets WCAG AA, the page fits a phone without sideways scrolling, the
language is declared, and the portal works from the keyboard alone.

The audit runs in the page (computed styles, not the CSS source), so it sees what a debtor sees."""
import time
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal import clock
from portal.extensions import db
from portal.links import portal_url
from portal.models import InstalmentPlan, Task
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import promise, submit, waiting_plan

AUDIT = (Path(__file__).parent / "audit.js").read_text(encoding="utf-8")


def audit(page, where):
    problems = page.evaluate(AUDIT)
    assert isinstance(problems, list), problems
    assert problems == [], f"{where}: {problems}"


def focus_by_keyboard(page, accessible_name, presses=80):
    """Tab through the page until the control called accessible_name has the focus."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused = page.evaluate("() => (document.activeElement.innerText || document.activeElement"
                                ".value || '').trim()")
        if focused == accessible_name:
            return
    pytest.fail(f"{accessible_name!r} cannot be reached with the Tab key")


def outline_of_focused(page):
    return page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                         " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }")


def test_portal_pages_pass_the_audit_and_work_from_the_keyboard(live_app, phone, monkeypatch):
    app, base = live_app
    with app.app_context():
        customer = make_customer(name="Menuiserie Girard", email="compta@girard.example")
        make_invoice(customer, clock.today() - timedelta(days=40), 180_000, number="MG-1")
        make_invoice(customer, clock.today() - timedelta(days=3), 24_990, number="MG-2")
        db.session.commit()
        link = portal_url(customer)
        real_time = time.time
        with monkeypatch.context() as past:
            past.setattr(time, "time", lambda: real_time() - 90 * 86400)
            expired = portal_url(customer)  # signed 90 days ago, older than LINK_MAX_AGE_DAYS
    page = phone
    page.goto(link)
    audit(page, "landing")

    # The first Tab shows the skip link; it takes the focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip"
    expect(page.locator(".skip")).to_be_in_viewport()

    # A promise too far away: the error is announced next to its field, and still passes.
    promise(page, "MG-1", clock.today() + timedelta(days=90))
    expect(page.locator(".field .error")).to_be_visible()
    audit(page, "promise refused")
    field = page.get_by_label("Je paierai le")
    assert field.get_attribute("aria-invalid") == "true"
    described = [page.locator(f"#{i}") for i in field.get_attribute("aria-describedby").split()]
    assert [d.get_attribute("role") for d in described] == [None, "alert"]  # hint, then error
    assert "Choisissez une date au plus tard le" in described[1].inner_text()

    # The plan preview, in English, reached and submitted from the keyboard only.
    page.goto(link + "?lang=en")
    audit(page, "landing in English")
    region = page.get_by_role("region", name="Pay in instalments")
    region.get_by_label("Number of instalments").fill("2")
    region.get_by_label("First instalment on").fill((clock.today() + timedelta(days=7)).isoformat())
    focus_by_keyboard(page, "See the schedule")
    style, width = outline_of_focused(page)
    assert style != "none" and width >= 2, "the focused button shows no focus ring"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("table.schedule tbody tr")).to_have_count(2)
    audit(page, "plan preview")

    # Paying (the portal stays in English, the language chosen): Tab, Enter, the demo checkout.
    page.goto(link)
    focus_by_keyboard(page, "Pay by card or SEPA Direct Debit")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#content")).to_contain_text("DEMO")
    audit(page, "demo checkout")

    page.goto(f"{base}/p/not-a-valid-token")
    audit(page, "invalid link")
    page.goto(expired)
    expect(page.get_by_role("button")).to_have_count(1)
    audit(page, "expired link")


def test_back_office_pages_pass_the_audit(live_app, browser):
    app, base = live_app
    with app.app_context():
        from portal.models import Creditor
        from portal.settings import creditor_from_config
        second = creditor_from_config(app.config)  # two creditors: the header has a switcher
        second.slug, second.name = "bistro", "Bistro Lyonnais SARL"
        db.session.add(second)
        db.session.flush()
        create_user("compta@atelier.example", "correct horse battery staple", role="admin",
                    creditors=db.session.query(Creditor).order_by(Creditor.id).all())
        customer = make_customer(name="Serrurerie Noël", email="compta@noel.example",
                                 phone="+33 5 56 00 00 02")
        make_invoice(customer, clock.today() - timedelta(days=70), 64_000, number="SN-1")
        db.session.flush()
        task = Task(customer_id=customer.id, kind="call", level=3, due_on=clock.today(),
                    message_id="<seed>", details={"invoices": ["SN-1"]})
        db.session.add(task)
        waiting = waiting_plan("Pâtisserie Lambert", "PL-1", 90_000)
        plan = db.session.scalar(select(InstalmentPlan).where(InstalmentPlan.customer_id == waiting.id))
        db.session.commit()
        paths = ("/admin/", f"/admin/customers/{customer.id}", f"/admin/tasks/{task.id}",
                 f"/admin/plans/{plan.id}", "/admin/dashboard", "/admin/preview", "/admin/users",
                 "/admin/settings", "/admin/settings/policies/default",
                 "/admin/settings/templates/formal-notice/fr",
                 "/admin/settings/templates/legal-consumer/en", "/admin/creditors",
                 # the pages of the back office's layout (tests/e2e/test_layout_walkthrough.py)
                 "/admin/debtors", "/admin/invoices", "/admin/effectiveness", "/admin/import",
                 "/admin/bank")
    for width, height in ((1366, 900), (390, 844)):  # a desktop (the header sticky), a phone
        context = browser.new_context(viewport={"width": width, "height": height},
                                      locale="fr-FR")
        page = context.new_page()
        page.goto(f"{base}/admin/login")
        audit(page, f"login at {width} px")
        page.get_by_label("E-mail").fill("compta@atelier.example")
        page.get_by_label("Mot de passe").fill("correct horse battery staple")
        submit(page, page.get_by_role("button", name="Se connecter"))
        for path in paths:
            assert page.goto(base + path).status == 200, path
            audit(page, f"{path} at {width} px")
        context.close()


def test_the_portal_works_with_javascript_turned_off(live_app, browser, smtp):
    app, base = live_app
    with app.app_context():
        customer = make_customer(name="Plomberie Caron", email="compta@caron.example")
        lost = make_invoice(customer, clock.today() - timedelta(days=30), 52_000, number="PC-1")
        make_invoice(customer, clock.today() - timedelta(days=12), 8_000, number="PC-2")
        db.session.commit()
        link, lost_id = portal_url(customer), lost.id
    context = browser.new_context(java_script_enabled=False, locale="fr-FR",
                                  viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(link)
    submit(page, page.locator(f"#invoice-{lost_id}").get_by_role(
        "button", name="Je n'ai jamais reçu cette facture"))
    expect(page.locator(".flash-success")).to_contain_text("Une copie de la facture PC-1")
    assert smtp.messages[-1]["Subject"] == "Copie de la facture PC-1"
    promise(page, "PC-2", clock.today() + timedelta(days=5))
    expect(page.locator(".flash-success")).to_be_visible()
    submit(page, page.get_by_role("button", name="Payer par carte ou prélèvement SEPA"))
    submit(page, page.get_by_role("button", name="Carte : le paiement réussit"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Merci")
    context.close()
