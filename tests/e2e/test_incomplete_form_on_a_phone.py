"""A debtor on a phone (390 px wide) sends the promise form without ticking an invoice or giving a
date: the page comes back opened at that form, an error summary at its top has the focus and
names what to correct; each error leads to its field. Screenshots go to test-artifacts/."""
from datetime import timedelta

from playwright.sync_api import expect

from portal import clock
from portal.extensions import db
from portal.links import portal_url
from tests.conftest import make_customer, make_invoice
from tests.e2e.conftest import shot, submit


def test_an_incomplete_form_on_a_phone_says_so_where_the_debtor_is_looking(live_app, phone):
    app, base = live_app
    with app.app_context():
        customer = make_customer(name="Caves Legrand", email="compta@caves-legrand.example")
        for n in range(1, 7):  # enough invoices for the forms to sit screens below the top
            make_invoice(customer, clock.today() - timedelta(days=10 * n), 10_000 * n,
                         number=f"CL-{n}")
        db.session.commit()
        link = portal_url(customer)
    page = phone
    assert page.viewport_size["width"] == 390
    page.goto(link)
    region = page.get_by_role("region", name="Indiquez-nous quand vous paierez")
    region.scroll_into_view_if_needed()
    shot(page, "incomplete-form-01-before")
    submit(page, region.get_by_role("button", name="Je m'engage sur cette date"))

    summary = page.locator("#promise-form .error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Ce formulaire n'a pas été envoyé")
    expect(summary).to_contain_text("Choisissez au moins une facture.")
    expect(summary).to_contain_text("Choisissez une date.")
    # Where the debtor is looking: the summary is on the screen, far below the page's top.
    box = summary.bounding_box()
    assert 0 <= box["y"] < 844 and box["y"] + min(box["height"], 200) <= 844, box
    assert page.evaluate("window.scrollY") > 844, "the page opened at its top"
    assert page.evaluate("document.scrollingElement.scrollWidth - "
                         "document.scrollingElement.clientWidth") == 0
    page.screenshot(path=_viewport_shot("incomplete-form-02-errors-in-view"))
    shot(page, "incomplete-form-03-errors-full-page")

    # Each error leads to its field.
    summary.get_by_role("link", name="Choisissez une date.").click()
    expect(page.locator("#promise_date")).to_be_in_viewport()


def _viewport_shot(name):
    """What the phone's screen shows (not the whole page): the proof of "where it looks"."""
    import os
    from tests.e2e.conftest import SHOTS
    os.makedirs(SHOTS, exist_ok=True)
    return os.path.join(SHOTS, f"{name}.png")
