"""The back office in French or English, chosen by each user with the switch in the header (a POST
with its CSRF token), kept on the account: the other users keep theirs, the choice survives a new
login, and the switch only ever sends back to a back-office page. On SQLite and PostgreSQL."""
import html
import re
from datetime import timedelta

import pytest
from babel.dates import format_date
from sqlalchemy import select

from portal import clock
from portal.backoffice.preview import next_run_day
from portal.extensions import db
from portal.links import make_token
from portal.models import Event, InstalmentPlan, Task, User
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.helpers import PASSWORD, ask, csrf, debtor, login

OTHER = "autre@atelier.example"


@pytest.fixture
def staff(any_app):
    """The accountant tests.helpers.login logs in as (no language chosen yet)."""
    user = create_user("compta@atelier.example", PASSWORD)
    db.session.commit()
    return user


@pytest.fixture
def client(any_client):
    return any_client


def switch_form(page):
    """(csrf token, next) of the language switch in the header."""
    form = re.search(r'<form method="post" action="/admin/language"[^>]*>.*?</form>', page, re.S)
    assert form, "no language switch in the header"
    form = form.group(0)
    return csrf(form), html.unescape(re.search(r'name="next" value="([^"]*)"', form).group(1))


def switch(client, language, page_path="/admin/"):
    """Press the header's button for `language` on the page at `page_path`."""
    token, back = switch_form(text(client, page_path))
    return client.post("/admin/language", data={"csrf_token": token, "language": language,
                                                 "next": back})


def text(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def language_of(email):
    db.session.expire_all()
    return db.session.scalar(select(User.language).where(User.email == email))


def waiting_request(client):
    """A debtor whose 9-instalment request waits in the inbox; (customer, plan id)."""
    customer, invoices = debtor()
    ask(client, make_token(customer), invoices, 9, clock.today() + timedelta(days=10),
        accept=True)
    return customer, db.session.scalar(select(InstalmentPlan.id))


def test_a_user_switches_to_english_and_sees_every_page_in_english(client, staff):
    customer, plan_id = waiting_request(client)
    login(client)
    inbox = text(client, "/admin/")
    assert "À traiter aujourd'hui" in inbox and '<html lang="fr">' in inbox
    token, back = switch_form(inbox)
    assert back == "/admin/"
    assert client.post("/admin/language", data={"language": "en", "next": back}
                       ).status_code == 400  # no CSRF token
    response = client.post("/admin/language", data={"csrf_token": token, "language": "en",
                                                    "next": back})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert language_of(staff.email) == "en"

    inbox = text(client, "/admin/")
    assert '<html lang="en">' in inbox
    assert "To do today" in inbox and "Instalment plan to decide" in inbox
    assert "9 instalments, €1,500.00" in inbox and "1 debtor, 1 task" in inbox
    assert ">Settings</a>" in inbox and "Réglages" not in inbox and "À traiter" not in inbox
    assert "Log out" in inbox and 'lang="fr" class="linklike">Français</button>' in inbox

    page = text(client, f"/admin/customers/{customer.id}")
    assert "Suspend reminders" in page and "Issue date" in page and "€1,000.00" in page
    assert "(30 days late)" in page and "Key account" in page and "Reminder policy" in page
    assert "Instalment plan requested: 9 instalments, €1,500.00." in page
    assert "Suspendre" not in page and "Factures" not in page
    paused = client.post(f"/admin/customers/{customer.id}/pause",
                         data={"csrf_token": csrf(page)}, follow_redirects=True)
    shown = paused.get_data(as_text=True)
    assert "Reminders suspended." in shown and "Reminders suspended with no end date." in shown

    dashboard = text(client, "/admin/dashboard")
    assert "Total outstanding" in dashboard and "Aged balance" in dashboard
    assert "1-30 days" in dashboard and "Over 90 days" in dashboard
    assert "Tableau de bord" not in dashboard and "Balance âgée" not in dashboard

    as_of = next_run_day(clock.today())
    preview = text(client, "/admin/preview")
    assert f"Next run: {format_date(as_of, 'long', locale='en_GB')}" in preview
    assert format_date(as_of, "long", locale="fr_FR") not in preview
    assert "Review before sending" in preview and "Send nothing without my approval" in preview
    released = client.post("/admin/review/release", data={"csrf_token": csrf(preview)},
                           follow_redirects=True).get_data(as_text=True)
    assert "0 reminders released: they will go out with the next run." in released

    settings_page = text(client, "/admin/settings")
    assert "Reminder settings" in settings_page and "Legal rules" in settings_page
    assert "Réglages" not in settings_page and "Politiques" not in settings_page
    assert "7 days after the due date" in settings_page
    policy = text(client, "/admin/settings/policies/default")
    assert "← Settings" in policy and "See the impact" in policy and "Key account" in policy
    assert "Minimum gap between two reminders to one debtor (days)" in policy
    template = text(client, "/admin/settings/templates/cordial/fr")
    assert "Show the preview" in template and "Back to the default text" in template

    plan_page = text(client, f"/admin/plans/{plan_id}")
    assert "Instalment plan request — Menuiserie Girard" in plan_page
    assert "Counter-proposal: number of instalments" in plan_page
    assert f"Requested on {format_date(clock.today(), 'medium', locale='en_GB')}, " in plan_page


def test_another_user_keeps_french(any_app, client, staff):
    waiting_request(client)
    create_user(OTHER, PASSWORD)
    db.session.commit()
    login(client)
    assert switch(client, "en").status_code == 302
    assert "To do today" in text(client, "/admin/")

    other = any_app.test_client()
    login(other, OTHER)
    inbox = text(other, "/admin/")
    assert "À traiter aujourd'hui" in inbox and "Échéancier à décider" in inbox
    assert "9 échéances, 1\u202f500,00\u00a0€" in inbox and ">Réglages</a>" in inbox
    as_of = next_run_day(clock.today())
    preview = text(other, "/admin/preview")
    assert f"Prochain passage : {format_date(as_of, 'long', locale='fr_FR')}" in preview
    assert "Réglages des relances" in text(other, "/admin/settings")
    assert language_of(OTHER) is None and language_of(staff.email) == "en"


def test_the_users_choice_wins_over_the_browser_and_french_comes_back(client, staff):
    login(client)
    english_browser = {"Accept-Language": "en-GB,en;q=0.9"}
    # No choice yet: the browser's language, as before.
    assert "To do today" in client.get("/admin/", headers=english_browser).get_data(as_text=True)
    assert switch(client, "fr").status_code == 302
    page = client.get("/admin/", headers=english_browser).get_data(as_text=True)
    assert "À traiter aujourd'hui" in page and '<html lang="fr">' in page
    assert switch(client, "en").status_code == 302
    page = client.get("/admin/", headers={"Accept-Language": "fr-FR"}).get_data(as_text=True)
    assert "To do today" in page


def test_the_switch_goes_back_to_the_page_and_never_elsewhere(client, staff):
    login(client)
    day = clock.today() + timedelta(days=3)
    token, back = switch_form(text(client, f"/admin/preview?date={day.isoformat()}"))
    assert back == f"/admin/preview?date={day.isoformat()}"
    response = client.post("/admin/language", data={"csrf_token": token, "language": "en",
                                                    "next": back})
    assert response.headers["Location"] == back
    for foreign in ("https://evil.example/admin/", "//evil.example/admin/", "/\\evil.example",
                    "/p/some-token", "/admin/../p/some-token", "/administrator",
                    "javascript:alert(1)", "http:/admin/", "/admin/\r\nSet-Cookie: x=1", ""):
        response = client.post("/admin/language", data={"csrf_token": token, "language": "fr",
                                                        "next": foreign})
        assert response.status_code == 302, foreign
        assert response.headers["Location"] == "/admin/", foreign
    for wrong in ("de", "", "english"):
        assert client.post("/admin/language", data={"csrf_token": token, "language": wrong,
                                                    "next": "/admin/"}).status_code == 400
    assert language_of(staff.email) == "fr"


def test_the_switch_needs_a_login(client, staff):
    token = csrf(text(client, "/admin/login"))
    response = client.post("/admin/language", data={"csrf_token": token, "language": "en",
                                                    "next": "/admin/"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")
    assert language_of(staff.email) is None


def test_the_choice_survives_a_new_login(any_app, client, staff):
    login(client)
    assert switch(client, "en").status_code == 302
    client.post("/admin/logout", data={"csrf_token": csrf(text(client, "/admin/"))})
    # Nobody logged in: the browser's language, else French.
    assert "Connexion" in text(client, "/admin/login")
    fresh = any_app.test_client()
    assert login(fresh).status_code == 302
    inbox = text(fresh, "/admin/")
    assert "To do today" in inbox and "Nothing to do." in inbox


def test_what_debtors_wrote_stays_escaped_in_english(client, staff):
    customer = make_customer(name="Quincaillerie <Roux>")
    make_invoice(customer, clock.today() - timedelta(days=40), 30_000, number="QR-1")
    db.session.flush()
    db.session.add(Event(customer_id=customer.id, actor="debtor", kind="message",
                         details={"number": "QR-1", "text": "<b>déjà payé</b>"}))
    task = Task(customer_id=customer.id, kind="call", level=3, due_on=clock.today(),
                message_id="<m>", details={"invoices": ["QR-1"]})
    db.session.add(task)
    db.session.commit()
    login(client)
    assert switch(client, "en").status_code == 302
    inbox = text(client, "/admin/")
    for page in (inbox, text(client, f"/admin/tasks/{task.id}")):
        assert "&lt;b&gt;déjà payé&lt;/b&gt;" in page and "<b>déjà payé" not in page
        assert "Quincaillerie &lt;Roux&gt;" in page and "<Roux>" not in page
    assert "Invoice QR-1: &lt;b&gt;déjà payé" in inbox
