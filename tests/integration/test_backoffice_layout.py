"""The back office's frame and its effectiveness chart, read through HTTP: the header's menus
(a creditor switcher of buttons, the language, the user's menu) are plain forms; the page being
read is marked in the menu; the stylesheet is our own, served from static/ with nothing loaded
from elsewhere; the chart names each level and gives the sample size beside each share."""
import re
from datetime import date, timedelta
from html import unescape

from portal import clock
from portal.backoffice.effectiveness import level_name
from portal.effectiveness import outcomes
from portal.extensions import db
from portal.models import Creditor
from portal.settings import creditor_from_config
from portal.settings.defaults import default_document
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.helpers import PASSWORD, csrf, login
from tests.integration.test_effectiveness import AS_OF, _paid, _reminder, history  # noqa: F401


def _text(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _bars(page):
    """[(label, value)] of the chart's bars, as plain text."""
    chart = re.search(r'<ul class="bar-chart">(.*?)</ul>', page, re.S).group(1)
    bars = []
    for item in re.findall(r"<li>(.*?)</li>", chart, re.S):
        label = re.search(r'<span class="bar-label">(.*?)</span>\s*<span class="bar-track">',
                          item, re.S).group(1)
        value = re.search(r'<span class="bar-value">(.*)</span>', item, re.S).group(1)
        bars.append(tuple(" ".join(unescape(re.sub(r"<[^>]+>", " ", part)).split())
                          for part in (label, value)))
    return bars


def test_the_header_marks_the_page_and_switches_creditor_with_buttons(app, client, accountant):
    second = creditor_from_config(app.config)
    second.slug, second.name = "bistro", "Bistro Lyonnais SARL"
    db.session.add(second)
    db.session.flush()
    create_user("both@cabinet.example", PASSWORD, role="admin",
                creditors=db.session.query(Creditor).order_by(Creditor.id).all())
    db.session.commit()
    login(client, "both@cabinet.example")
    page = _text(client, "/admin/debtors")
    nav = re.search(r'<nav class="bo-nav".*?</nav>', page, re.S).group(0)
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', nav) == ["/admin/debtors"]
    assert 'href="/admin/users"' in nav  # an admin of both: the users' page is a section
    switch = re.search(r'<form method="post" action="/admin/creditor" id="creditor-switch">'
                       r'(.*?)</form>', page, re.S).group(1)
    assert "<select" not in switch and ">Switch<" not in page and ">Changer<" not in page
    assert '<span class="menu-item current" aria-current="true">Atelier Martin SARL</span>' \
        in switch  # the creditor worked on: marked, not a button
    button = re.search(r'<button type="submit" name="creditor" value="(\d+)" class="menu-item">'
                       r'Bistro Lyonnais SARL</button>', switch)
    assert button and int(button.group(1)) == second.id
    assert "Changer de créancier" in page and "Tous les créanciers" in page
    moved = client.post("/admin/creditor", data={"csrf_token": csrf(page), "next": "/admin/debtors",
                                                 "creditor": button.group(1)})
    assert moved.status_code == 302
    assert "Relance — Bistro Lyonnais SARL" in _text(client, "/admin/")
    # The sections covered by one entry: a debtor's page is in "Débiteurs", a policy in "Réglages".
    page = _text(client, "/admin/settings/policies/default")
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', page) == ["/admin/settings"]


def test_a_single_creditor_has_no_switcher_and_the_user_menu_logs_out(app, client, accountant):
    login(client)
    page = _text(client, "/admin/invoices")
    assert 'id="creditor-switch"' not in page and 'id="creditor-menu"' not in page
    menu = re.search(r'<details class="menu menu-end" id="user-menu">(.*?)</details>', page,
                     re.S).group(1)
    assert "compta@atelier.example" in menu and "Se déconnecter" in menu
    assert 'action="/admin/logout"' in menu
    assert 'href="/admin/users"' not in page  # an accountant: no users' page


def test_the_stylesheet_is_our_own_and_loads_nothing_from_elsewhere(app, client, accountant):
    login(client)
    page = _text(client, "/admin/")
    assert '<link rel="stylesheet" href="/static/css/backoffice.css">' in page
    assert '<script src="/static/js/menus.js" defer></script>' in page
    for path in ("/static/css/backoffice.css", "/static/css/portal.css", "/static/js/menus.js"):
        response = client.get(path)
        body = response.get_data(as_text=True)
        response.close()  # a static file's response holds the file open
        assert response.status_code == 200 and body, path
        assert not re.search(r"https?://|@import|url\(", body), path
        if path.endswith("backoffice.css"):
            assert "max-width: var(--bo-width)" in body and "--bo-width: 90rem" in body
    # The debtor's portal keeps its own narrow page: it never loads the back office's sheet.
    login_page = client.get("/admin/login").get_data(as_text=True)
    assert "backoffice.css" in login_page
    from portal.links import portal_url
    customer = make_customer(name="Serrurerie Noël")
    make_invoice(customer, clock.today() - timedelta(days=5), 10_000)
    db.session.commit()
    assert "backoffice.css" not in client.get(portal_url(customer)).get_data(as_text=True)


def test_the_header_in_english(app, client, accountant):
    login(client)
    page = client.get("/admin/")
    token = csrf(page.get_data(as_text=True))
    client.post("/admin/language", data={"csrf_token": token, "language": "en", "next": "/admin/"})
    page = _text(client, "/admin/dashboard")
    nav = re.search(r'<nav class="bo-nav".*?</nav>', page, re.S).group(0)
    assert ">Dashboard</a>" in nav and "Tableau de bord" not in nav
    assert '<strong lang="en" aria-current="true">English</strong>' in page
    assert "Log out" in page and "Your account:" in page


def test_the_chart_names_the_levels_and_gives_each_share_its_sample(app, client, accountant,
                                                                     history):  # noqa: F811
    login(client)
    with clock.pin(AS_OF):
        page = _text(client, "/admin/effectiveness?since=2026-01-01&until=2026-04-30")
    assert not re.search(r"\br\d+\b", re.sub(r"<[^>]+>", " ", page))  # no raw "r2" tag
    # The period spans two settings revisions (the shipped ones, then revision 2 of 1 April):
    # they are told apart by their date, never by a code.
    assert _bars(page) == [
        ("Niveau 1 — relance courtoise e-mail · réglages d'origine", "71,4 % n = 2"),
        ("Niveau 1 e-mail · réglages du 01/04/2026", "trop récentes n = 0"),
        ("Niveau 2 — relance ferme e-mail · réglages d'origine", "100,0 % n = 1"),
        ("Niveau 3 — relance avec pénalités lettre · réglages d'origine", "0,0 % n = 1")]
    # Revision 2 of the history is an empty document: its level has no name to give.
    assert 'style="width: 71.4%"' in page and 'style="width: 100.0%"' in page
    assert "n : le nombre de relances d'au moins 30 jours" in page
    table = re.search(r'<table class="schedule stack wide" id="effectiveness">.*?</table>', page,
                      re.S).group(0)
    assert "D'au moins 30 jours" in table and "relance courtoise" in table


def test_a_full_bar_from_six_reminders_says_n_6(app, client, accountant):
    """Six invoices reminded on 2 March at level 2, all paid on 10 March: a 100 % bar, read
    with its sample (n = 6), in French and in English."""
    for _ in range(6):
        invoice = make_invoice(make_customer(), date(2026, 2, 1), 10_000)
        _reminder(invoice, 2, date(2026, 3, 2))
        _paid(invoice, date(2026, 3, 10), 10_000)
    db.session.commit()
    [row] = outcomes(date(2026, 3, 1), date(2026, 3, 31), AS_OF)
    assert (row.sent, row.mature, row.share(30)) == (6, 6, 100)
    login(client)
    with clock.pin(AS_OF):
        page = _text(client, "/admin/effectiveness?since=2026-03-01&until=2026-03-31")
        assert _bars(page) == [("Niveau 2 — relance ferme e-mail", "100,0 % n = 6")]
        label = re.search(r'<p id="paid-title" class="visually-hidden">(.*?)</p>', page,
                          re.S).group(1)
        assert "Niveau 2 — relance ferme · e-mail : 100,0\u00a0% (n = 6)" in unescape(label)
        client.post("/admin/language", data={"csrf_token": csrf(page), "language": "en",
                                              "next": "/admin/"})
        english = _text(client, "/admin/effectiveness?since=2026-03-01&until=2026-03-31")
    assert _bars(english) == [("Level 2 — firm reminder e-mail", "100.0% n = 6")]


def test_a_level_is_named_from_the_settings_in_force():
    document = default_document()
    assert [level_name(document, n) for n in range(6)] == [
        "heads-up", "friendly reminder", "firm reminder", "reminder with penalties",
        "formal notice", ""]
    document["policies"][0]["levels"][2]["template"] = "firm-lyon"  # the accountant's own
    assert level_name(document, 2) == "firm-lyon / firm reminder"  # default, then gentle
    document["policies"][0]["levels"][1]["formal_notice"] = True
    assert level_name(document, 1).startswith("formal notice")
    assert level_name({}, 1) == "" and level_name(None, 1) == ""
