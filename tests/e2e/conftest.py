"""Browser tests: Debian's Chromium driven by Playwright (never a downloaded browser), against the
app served on loopback by a real WSGI server, with mail going to the loopback SMTP sink."""
import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from portal import create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.settings import ensure_creditor
from tests.conftest import _overrides, free_port

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "test-artifacts", "screenshots")
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "fr-FR"}


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:
        pytest.skip("no Chromium on this machine (install Debian's 'chromium' package; "
                    ".ci/run does) — browser tests skipped")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (make test installs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


@pytest.fixture
def live_app(request, tmp_path, smtp):
    """(app, base URL): the portal served by werkzeug in a thread, on its own SQLite file (with
    SMS through the Twilio stand-in when the test asks for `twilio`)."""
    port = free_port()
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'e2e.db'}",
                                  "MAIL_PORT": smtp.port,
                                  "PORTAL_BASE_URL": f"http://127.0.0.1:{port}",
                                  **_overrides(request)})
    with app.app_context():
        db.create_all()
        ensure_creditor()
        db.session.commit()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    yield page
    context.close()


def submit(page, control):
    """Click a button or link that loads another page and wait until that page has loaded.

    Playwright's click returns once the click is dispatched, not when the navigation it starts is
    done; reading the page right after could read the previous one (a CI run did exactly that)."""
    with page.expect_navigation():
        control.click()


def promise(page, number, day):
    """The debtor promises to pay invoice `number` on `day` (the portal in French)."""
    region = page.get_by_role("region", name="Indiquez-nous quand vous paierez")
    region.get_by_label(number).check()
    region.get_by_label("Je paierai le").fill(day.isoformat())
    submit(page, page.get_by_role("button", name="Je m'engage sur cette date"))


def log_in(page, base, email, password):
    """The back office's login form, in French."""
    page.goto(f"{base}/admin/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mot de passe").fill(password)
    submit(page, page.get_by_role("button", name="Se connecter"))


DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def accountant_pages(browser, base, email, password):
    """("desktop" or "phone", a page logged in to the back office in French), one after the
    other; each context closed once the caller is done with its page."""
    for name, options in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(**{**options, "locale": "fr-FR"})
        page = context.new_page()
        log_in(page, base, email, password)
        yield name, page
        context.close()


def scrolls_sideways(page):
    """How many pixels the page scrolls sideways (0: it fits its screen)."""
    return page.evaluate("document.scrollingElement.scrollWidth - "
                         "document.scrollingElement.clientWidth")


def shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def waiting_plan(name, number, cents):
    """A customer whose 9-instalment request waits for the accountant."""
    from datetime import timedelta

    from portal import clock
    from portal.instalments import propose, request_plan
    from tests.conftest import make_customer, make_invoice
    today = clock.today()
    customer = make_customer(name=name)
    invoice = make_invoice(customer, today - timedelta(days=30), cents, number=number)
    db.session.flush()
    proposal = propose(customer, [invoice], 9, today + timedelta(days=10), today)
    request_plan(customer, [invoice], proposal, "Trésorerie", today)
    return customer
