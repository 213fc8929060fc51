"""The back office's "Réglages": edit a policy with its impact on tomorrow's run shown before
saving, edit a template with a preview for a real debtor, reset it, revert a revision."""
import html
import re
from datetime import timedelta

from portal import clock, settings
from portal.extensions import db
from tests.conftest import make_customer, make_invoice
from tests.helpers import CAL, csrf, login


def policy_form(page, **changes):
    """The policy form's fields as a browser would send them, with `changes` applied."""
    form = re.search(r'<form method="post">.*?</form>', page, re.S).group(0)
    data = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        value = re.search(r'value="([^"]*)"', tag).group(1)
        if 'type="checkbox"' not in tag or " checked" in tag:
            data[name] = value
    for name, value in re.findall(
            r'<select id="[^"]+" name="([^"]+)">.*?<option value="([^"]+)" selected', form):
        data[name] = value
    data.update(changes)
    return data


def test_a_policy_change_shows_its_impact_then_saves_and_reverts(app, client, accountant):
    tomorrow = CAL.next_business_day(clock.today() + timedelta(days=1))
    # Two invoices whose level 1 (+7) falls tomorrow; with +9 it would not.
    for n in (1, 2):
        make_invoice(make_customer(name=f"Client {n}"), tomorrow - timedelta(days=7), 10_000)
    db.session.commit()
    login(client)
    page = client.get("/admin/settings/policies/default").get_data(as_text=True)
    assert 'name="levels-1-offset_days"' in page and 'value="7"' in page
    shown = client.post("/admin/settings/policies/default", data=policy_form(
        page, **{"levels-1-offset_days": "9", "action": "impact"})).get_data(as_text=True)
    impact = re.search(r'<table class="schedule" id="impact">.*?</table>', shown, re.S).group(0)
    cells = re.findall(r"<tr><td>(\d+)</td><td class=\"num\">(\d+)</td><td class=\"num\">(\d+)",
                       impact)
    assert ("1", "2", "0") in cells
    assert settings.current().policy_for().first_reminder.offset_days == 7  # nothing saved yet
    saved = client.post("/admin/settings/policies/default", data=policy_form(
        page, **{"levels-1-offset_days": "9", "action": "save"}))
    assert saved.status_code == 302
    settings.forget()
    assert settings.current().policy_for().first_reminder.offset_days == 9
    history = client.get("/admin/settings").get_data(as_text=True)
    assert "policies.default.levels[1].offset_days: 7 -&gt; 9" in history
    assert "compta@atelier.example" in history
    first = settings.revisions()[-1].number
    client.post(f"/admin/settings/revisions/{first}/revert", data={"csrf_token": csrf(history)})
    settings.forget()
    assert settings.current().policy_for().first_reminder.offset_days == 7


def test_a_wrong_policy_is_refused_beside_its_fields(app, client, accountant):
    login(client)
    page = client.get("/admin/settings/policies/default").get_data(as_text=True)
    response = client.post("/admin/settings/policies/default", data=policy_form(
        page, **{"levels-2-offset_days": "3", "levels-1-formal_notice": "y", "action": "save"}))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Rien n'a été enregistré" in body
    assert "each level must come at least one day after the previous one" in body
    assert "only the last level may be the formal notice" in body
    assert not settings.revisions()


def test_a_template_is_previewed_for_a_real_debtor_refused_with_its_line_and_reset(
        app, client, accountant):
    customer = make_customer(name="Quincaillerie <Martin>", email="q@example.org")
    make_invoice(customer, clock.today() - timedelta(days=10), 42_000, number="Q-1")
    db.session.commit()
    login(client)
    url = "/admin/settings/templates/cordial/fr"
    page = client.get(url).get_data(as_text=True)
    # The preview (HTML in a sandboxed frame's srcdoc: escaped, then escaped as an attribute).
    assert "Bonjour Quincaillerie &amp;lt;Martin&amp;gt;" in page and "Q-1" in page
    assert "<Martin>" not in page
    fields = {p: settings.current().template("cordial", "fr")[p] for p in ("subject", "text",
                                                                          "html")}
    broken = dict(fields, csrf_token=csrf(page), action="save",
                  text="Bonjour {{ debtor.name }},\n\n{% if invoice_count %}\nsans fin")
    body = client.post(url, data=broken).get_data(as_text=True)
    assert "line 4" in body or "line 3" in body
    assert not settings.revisions()
    renamed = dict(fields, csrf_token=csrf(page), action="preview",
                   subject="Votre facture {{ invoices[0].number }} attend")
    body = client.post(url, data=renamed).get_data(as_text=True)
    assert "Votre facture Q-1 attend" in body and not settings.revisions()
    client.post(url, data=dict(renamed, action="save"))
    settings.forget()
    assert settings.current().template("cordial", "fr")["subject"] == \
        "Votre facture {{ invoices[0].number }} attend"
    reset = client.post(url, data=dict(renamed, action="reset")).get_data(as_text=True)
    assert "Relance : {{ what }} en attente de règlement" in reset.replace("&#34;", '"')


def test_a_level_gets_a_variant_b_in_the_editor(app, client, accountant):
    """An A/B test is set up beside the level's template; the same template twice is refused."""
    login(client)
    page = client.get("/admin/settings/policies/default").get_data(as_text=True)
    assert 'name="levels-2-variant_template"' in page
    refused = client.post("/admin/settings/policies/default", data=policy_form(
        page, **{"levels-1-variant_template": "cordial", "action": "save"}))
    assert "another template than the level" in refused.get_data(as_text=True)
    # "firm" states a deadline that level 1 does not give: tried on level 1's facts, refused.
    refused = client.post("/admin/settings/policies/default", data=policy_form(
        page, **{"levels-1-variant_template": "firm", "action": "save"}))
    assert "templates.firm.fr.text : at level 1" in refused.get_data(as_text=True)
    # Level 2 also sends an SMS: its variant must have an SMS text, which "cordial" has not.
    refused = client.post("/admin/settings/policies/default", data=policy_form(
        page, **{"levels-2-variant_template": "cordial", "action": "save"}))
    assert "templates.cordial.fr.sms : missing" in refused.get_data(as_text=True)
    saved = client.post("/admin/settings/policies/default", data=policy_form(
        page, **{"levels-3-variant_template": "cordial", "action": "save"}))
    assert saved.status_code == 302
    settings.forget()
    levels = settings.current().policy_for().levels
    assert [lv.variant_template for lv in levels] == ["", "", "", "cordial", ""]
    page = client.get("/admin/settings/policies/default").get_data(as_text=True)
    assert re.search(r'name="levels-3-variant_template">(?:(?!</select>).)*'
                     r'<option value="cordial" selected', page, re.S)


def test_the_ladder_is_chosen_in_the_policy_form(app, client, accountant):
    login(client)
    page = client.get("/admin/settings/policies/default").get_data(as_text=True)
    assert "une seule progression par client" in page or "par client" in page
    assert settings.current().policy_for().ladder == "account"
    saved = client.post("/admin/settings/policies/default", data=policy_form(
        page, ladder="invoice", action="save"))
    assert saved.status_code == 302
    settings.forget()
    assert settings.current().policy_for().ladder == "invoice"
    refused = html.unescape(client.post("/admin/settings/policies/default", data=policy_form(
        page, ladder="both", action="save")).get_data(as_text=True))
    assert "Rien n'a été enregistré" in refused and "not 'both'" in refused
