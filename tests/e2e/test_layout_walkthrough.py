"""The back office on a desktop (1366 and 1920 px) and on a phone (390 px), in the browser: the
pages use the screen's width (up to 1,440 px), the header stays at the top of a desktop's
screen without hiding the focus, names and "E-mail" stay on one line where there is room, the
effectiveness table is not cut, the chart's labels never overlap its bars or values, every page
passes the accessibility audit and fits the phone; the header's menus work without JavaScript.
Screenshots in test-artifacts/screenshots/layout-*.png."""
from datetime import datetime, time, timedelta, timezone

import pytest
from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.models import Allocation, Creditor, Payment, Reminder, Task
from portal.settings import creditor_from_config
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import log_in, shot, submit
from tests.e2e.test_accessibility import audit

PASSWORD = "correct horse battery staple"
WIDTHS = {"1366": {"width": 1366, "height": 900}, "1920": {"width": 1920, "height": 1080},
          "390": {"width": 390, "height": 844}}
NAMES = ("Cabinet Bernard Architectes Associés", "Clinique Vétérinaire André",
         "Boulangerie Dupont & Fils", "Agence Faure Immobilier", "Électricité Blanc",
         "SARL Chevalier Paysages")
PAGES = ("/admin/debtors", "/admin/invoices", "/admin/effectiveness", "/admin/dashboard",
         "/admin/preview", "/admin/settings", "/admin/settings/policies/default",
         "/admin/import", "/admin/bank", "/admin/users", "/admin/creditors")


@pytest.fixture
def books(live_app):
    """Two creditors (the header has a switcher); six debtors with long names, each with an
    invoice 70 days late reminded at level 2 forty days ago and paid in full a week later (the
    chart: a 100 % bar from 6 reminders), and one call to make."""
    app, base = live_app
    with app.app_context():
        second = creditor_from_config(app.config)
        second.slug, second.name = "bistro", "Bistro Lyonnais SARL"
        db.session.add(second)
        db.session.flush()
        create_user("compta@atelier.example", PASSWORD, role="admin",
                    creditors=db.session.query(Creditor).order_by(Creditor.id).all())
        today = clock.today()
        sent_on = today - timedelta(days=40)
        for k, name in enumerate(NAMES):
            customer = make_customer(name=name, email=f"compta{k}@client.example")
            invoice = make_invoice(customer, today - timedelta(days=70), 125_000 + k * 10_001,
                                   number=f"F-2026-{k:04d}")
            make_invoice(customer, today - timedelta(days=3), 9_990, number=f"F-2026-{k:04d}B")
            db.session.add(Reminder(customer_id=customer.id, invoice_id=invoice.id, level=2,
                                    state="sent", scheduled_for=sent_on,
                                    sent_at=datetime.combine(sent_on, time(9), timezone.utc),
                                    message_id=f"<layout.{invoice.id}@x>"))
            payment = Payment(customer_id=customer.id, source="csv", external_id=f"L-{k}",
                              amount_cents=invoice.total_cents,
                              received_on=sent_on + timedelta(days=7))
            db.session.add(payment)
            db.session.flush()
            db.session.add(Allocation(payment_id=payment.id, invoice_id=invoice.id,
                                      amount_cents=invoice.total_cents))
        late = make_customer(name="Serrurerie Noël", phone="+33 5 56 00 00 02")
        make_invoice(late, today - timedelta(days=55), 64_000, number="SN-1")
        db.session.flush()
        db.session.add(Task(customer_id=late.id, kind="call", level=3, due_on=today,
                            message_id="<seed>", details={"invoices": ["SN-1"]}))
        db.session.commit()
    return base


def _page(browser, base, size, **options):
    context = browser.new_context(viewport=WIDTHS[size], locale="fr-FR", **options)
    page = context.new_page()
    log_in(page, base, "compta@atelier.example", PASSWORD)
    return context, page


def _box(locator):
    box = locator.bounding_box()
    assert box, f"{locator} is not shown"
    return box


def _apart(a, b):
    """True when two boxes do not overlap (touching edges allowed)."""
    return (a["x"] + a["width"] <= b["x"] + 0.5 or b["x"] + b["width"] <= a["x"] + 0.5
            or a["y"] + a["height"] <= b["y"] + 0.5 or b["y"] + b["height"] <= a["y"] + 0.5)


def _lines(locator):
    """How many lines an inline element's text takes."""
    return locator.evaluate("e => new Set([...e.getClientRects()].map(r => Math.round(r.top)))"
                            ".size")


def _chart_never_overlaps(page, size):
    bars = page.locator(".bar-chart li")
    assert bars.count() >= 1
    for i in range(bars.count()):
        bar = bars.nth(i)
        label, track, value = (_box(bar.locator(c)) for c in (".bar-label", ".bar-track",
                                                              ".bar-value"))
        filled = bar.locator(".bar")
        parts = {"label": label, "track": track, "value": value}
        if filled.count():
            parts["bar"] = _box(filled)
            assert parts["bar"]["x"] + parts["bar"]["width"] <= track["x"] + track["width"] + 0.5
        for one in parts:
            for other in parts:
                if one < other and {one, other} != {"bar", "track"}:
                    assert _apart(parts[one], parts[other]), (size, i, one, other, parts)


@pytest.mark.parametrize("size", ["1366", "390"])
def test_every_back_office_page_uses_the_screen_and_passes_the_audit(books, browser, size):
    context, page = _page(browser, books, size)
    for path in PAGES:
        assert page.goto(books + path).status == 200, path
        audit(page, f"{path} at {size} px")  # includes: no sideways scroll
        shot(page, f"layout-{path.strip('/').replace('/', '-')}-{size}")
    page.goto(books + "/admin/effectiveness")
    chart = page.get_by_role("img", name="Part du montant relancé payée sous 30 jours")
    expect(chart).to_contain_text("Niveau 2 — relance ferme")
    expect(chart.locator(".bar-value")).to_have_text("100,0\u00a0% n\u00a0=\u00a06")
    _chart_never_overlaps(page, size)
    context.close()


def test_a_desktop_page_is_as_wide_as_the_screen_and_keeps_names_on_one_line(books, browser):
    context, page = _page(browser, books, "1366")
    page.goto(books + "/admin/debtors")
    assert _box(page.locator("main"))["width"] >= 1300  # was a 760 px column
    names = page.locator("#debtors tbody th a")
    expect(names).to_have_count(len(NAMES) + 1)
    for i in range(names.count()):
        assert _lines(names.nth(i)) == 1, names.nth(i).inner_text()
    for i in range(names.count()):
        assert _lines(page.locator("#debtors tbody td.next").nth(i)) <= 2
    amounts = page.locator("#debtors tbody td.num")
    assert amounts.first.evaluate("e => [getComputedStyle(e).textAlign,"
                                  " getComputedStyle(e).fontVariantNumeric]") == [
        "right", "tabular-nums"]
    # The header stays on screen; what gets the focus scrolls clear of it.
    header = page.locator("header.bo-header")
    page.mouse.wheel(0, 3000)
    expect(header).to_be_in_viewport()
    assert _box(header)["y"] == 0
    shot(page, "layout-debtors-scrolled-1366")
    # (That the focus scrolls clear of it, the audit checks: scroll-padding-top.)
    # The policy editor: "E-mail" beside each box, whole.
    page.goto(books + "/admin/settings/policies/default")
    labels = page.locator("table.schedule label:not(.visually-hidden)")
    assert labels.count() > 10
    for i in range(labels.count()):
        assert _lines(labels.nth(i)) == 1, labels.nth(i).inner_text()
    page.goto(books + "/admin/effectiveness")
    assert page.locator("#effectiveness").evaluate(
        "t => t.scrollWidth <= t.parentElement.clientWidth")
    context.close()


def test_a_wide_screen_keeps_the_page_to_1440_px(books, browser):
    context, page = _page(browser, books, "1920")
    page.goto(books + "/admin/debtors")
    main = _box(page.locator("main"))
    assert 1400 <= main["width"] <= 1440 and abs(main["x"] * 2 + main["width"] - 1920) <= 20
    audit(page, "debtors at 1920 px")
    shot(page, "layout-debtors-1920")
    page.goto(books + "/admin/effectiveness")
    _chart_never_overlaps(page, "1920")
    context.close()


def test_on_a_phone_the_header_scrolls_away(books, browser):
    context, page = _page(browser, books, "390", is_mobile=True, has_touch=True)
    page.goto(books + "/admin/debtors")
    header = page.locator("header.bo-header")
    assert header.evaluate("h => getComputedStyle(h).position") == "static"
    page.evaluate("window.scrollTo(0, 2000)")
    assert _box(header)["y"] < 0
    context.close()


def test_the_header_menus_work_without_javascript(books, browser):
    context, page = _page(browser, books, "390", java_script_enabled=False)
    page.goto(books + "/admin/debtors")
    menu = page.locator("#creditor-menu")
    expect(menu.get_by_role("button", name="Bistro Lyonnais SARL")).to_be_hidden()
    menu.get_by_text("Changer de créancier").click()
    shot(page, "layout-creditor-menu-no-js-390")
    submit(page, menu.get_by_role("button", name="Bistro Lyonnais SARL"))
    expect(page.locator(".brand")).to_have_text("Relance — Bistro Lyonnais SARL")
    assert page.url == books + "/admin/"  # views.SAME_FOR_EVERY_CREDITOR decides where to
    submit(page, page.get_by_role("button", name="English"))
    nav = page.get_by_role("navigation", name="Back office")
    expect(nav.get_by_role("link", name="To do")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Debtors")).not_to_have_attribute("aria-current", "page")
    page.locator("#user-menu summary").click()
    submit(page, page.get_by_role("button", name="Log out"))
    assert page.url.startswith(books + "/admin/login")
    context.close()


def test_the_menus_from_the_keyboard(books, browser):
    context, page = _page(browser, books, "1366")
    page.goto(books + "/admin/dashboard")
    switch = page.locator("#creditor-menu summary")
    switch.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#creditor-menu")).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Bistro Lyonnais SARL"
    page.keyboard.press("Escape")  # static/js/menus.js: closed, the focus back on its button
    expect(page.locator("#creditor-menu")).not_to_have_attribute("open", "")
    assert page.evaluate("document.activeElement.id || document.activeElement.tagName") \
        == "SUMMARY"
    page.locator("#user-menu summary").click()
    page.locator("#creditor-menu summary").click()  # one menu open at a time
    expect(page.locator("#user-menu")).not_to_have_attribute("open", "")
    page.locator("h1").click()  # a click elsewhere closes it
    expect(page.locator("#creditor-menu")).not_to_have_attribute("open", "")
    context.close()
