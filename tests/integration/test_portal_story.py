"""The portal tells the debtor's story as the schedule decides it: a promise stays a promise
through its grace, a payment received is said, the pay form states each amount and the total, a
form sent back incomplete says so at its top; the pages of a link that does not open the
portal name the creditor and how to reach it wherever that can be known (issue 20, item 4)."""
import html
import re
import time
from datetime import timedelta

from portal import clock
from portal.extensions import db
from portal.bookkeeping import place_hold, record_payment
from portal.links import make_token
from portal.models import Creditor
from portal.tenancy import scope
from portal.rules.schedule import calendar_for, promise_broken_on
from tests.conftest import make_customer, make_invoice
from tests.helpers import csrf

CREDITOR = ("Atelier Martin SARL", "compta@atelier-martin.example.fr", "+33 4 78 00 00 00")


def text(response):
    return html.unescape(response.get_data(as_text=True))


def card(page, number):
    return page.split(f"Facture {number}</h3>", 1)[1].split("</li>", 1)[0]


def test_a_promise_is_kept_through_its_grace_and_broken_after_it(any_client):
    customer = make_customer()
    invoice = make_invoice(customer, clock.today() - timedelta(days=20), 10_000, number="G-1")
    promised = clock.today() + timedelta(days=3)
    place_hold(invoice, "promise", clock.today(), until=promised)
    db.session.commit()
    url = f"/p/{make_token(customer)}"
    from portal import settings
    last_day = promise_broken_on(promised, settings.current().policy_for("standard", None),
                                 calendar_for("FR"))
    for on, says in ((promised, "Paiement annoncé le"),
                     (promised + timedelta(days=1), "Paiement annoncé le"),
                     (last_day, "Paiement annoncé le"),
                     (last_day + timedelta(days=1), "non reçu")):
        with clock.pin(on):
            badge = card(text(any_client.get(url)), "G-1")
            assert says in badge, (on, badge)
            if says != "non reçu":
                assert "non reçu" not in badge


def test_payments_received_and_the_pay_forms_amounts(any_app, any_client):
    any_app.config["PAYMENTS_DEMO"] = True  # the demo checkout: the pay form shows
    customer = make_customer()
    first = make_invoice(customer, clock.today() - timedelta(days=10), 474_751, number="R-1")
    make_invoice(customer, clock.today() - timedelta(days=5), 100_050, number="R-2")
    make_invoice(customer, clock.today() + timedelta(days=20), 20_000, number="R-3")
    old = make_invoice(customer, clock.today() - timedelta(days=90), 5_000, number="R-0")
    record_payment(customer=customer, source="manual", external_id="VIR-1",
                   amount_cents=474_751, received_on=clock.today() - timedelta(days=2),
                   invoices=[first], actor="accountant")
    record_payment(customer=customer, source="manual", external_id="VIR-OLD",
                   amount_cents=5_000, received_on=clock.today() - timedelta(days=45),
                   invoices=[old], actor="accountant")
    db.session.commit()
    page = text(any_client.get(f"/p/{make_token(customer)}"))
    day = (clock.today() - timedelta(days=2)).strftime("%d/%m/%Y")
    assert f"Paiement de 4\u202f747,51\u00a0€ reçu le {day}" in page
    assert "Paiement de 50,00" not in page  # received 45 days ago: no longer news
    # The pay form: each invoice's amount, and the total.
    form = page.split('id="pay-form"', 1)[1].split("</form>", 1)[0]
    assert re.search(r"R-2 — <span class=\"amount\">1\u202f000,50\u00a0€</span>", form)
    assert "R-3 — <span class=\"amount\">200,00\u00a0€</span>" in form
    assert "Total de ces factures : <strong>1\u202f200,50\u00a0€</strong>" in form


def test_an_incomplete_form_says_so_at_its_top(any_app, any_client):
    any_app.config["PAYMENTS_DEMO"] = True
    customer = make_customer()
    make_invoice(customer, clock.today() - timedelta(days=10), 10_000, number="E-1")
    db.session.commit()
    url = f"/p/{make_token(customer)}"
    page = text(any_client.get(url))
    assert "error-summary" not in page
    sent = any_client.post(f"{url}/promise", data={"csrf_token": csrf(page)})
    assert sent.status_code == 422
    page = text(sent)
    form = page.split('id="promise-form"', 1)[1].split("</form>", 1)[0]
    summary = form.split('<div class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert 'role="alert"' in summary and "autofocus" in summary and 'tabindex="-1"' in summary
    assert "Ce formulaire n'a pas été envoyé" in summary
    assert '<a href="#invoice_ids-0">Choisissez au moins une facture.</a>' in summary
    assert '<a href="#promise_date">Choisissez une date.</a>' in summary
    assert page.count("error-summary") == 1  # the other forms say nothing

    # The pay form sent with no invoice ticked: the page again (not a redirect to its top).
    sent = any_client.post(f"{url}/pay", data={"csrf_token": csrf(page)})
    assert sent.status_code == 422
    page = text(sent)
    form = page.split('id="pay-form"', 1)[1].split("</form>", 1)[0]
    assert '<a href="#pay-invoice_ids-0">Choisissez au moins une facture.</a>' in form
    assert page.count("error-summary") == 1


def _expired(monkeypatch):
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61 * 86400)


def _names(page, name, email, phone):
    return (f'<span class="brand">{name}</span>' in page and f"mailto:{email}" in page
            and phone in page)


def test_an_expired_link_names_its_creditor(any_client, monkeypatch):
    customer = make_customer()
    db.session.commit()
    token = make_token(customer)
    customer.link_version += 1  # revoked too: still authentic, still its creditor's
    revoked = make_token(customer)
    db.session.commit()
    _expired(monkeypatch)
    for link in (token, revoked):
        response = any_client.get(f"/p/{link}")
        page = text(response)
        assert response.status_code == 410 and "Ce lien a expiré" in page
        assert _names(page, *CREDITOR), page
        assert "Vos factures vous sont adressées par Atelier Martin SARL." in page
        assert ">Relance<" not in page


def test_an_invalid_link_names_the_only_creditor_else_stays_neutral(any_client):
    customer = make_customer()
    db.session.commit()
    token = make_token(customer)
    tampered = f"/p/{token[:-3]}xyz"
    for path in (tampered, "/s/unknown1"):
        response = any_client.get(path)
        page = text(response)
        assert response.status_code == 404 and "n'est pas valide" in page
        assert _names(page, *CREDITOR), page

    other = Creditor(slug="bistro", name="Bistro Lyonnais SARL", email="c@bistro.example",
                     phone="+33 4 72 00 00 00")
    db.session.add(other)
    db.session.flush()
    with scope(other.id):
        theirs = make_customer()
    db.session.commit()
    revoked = make_token(theirs)
    theirs.link_version += 1
    db.session.commit()
    page = text(any_client.get(f"/p/{revoked}"))  # authentic: whose it was is known
    assert _names(page, "Bistro Lyonnais SARL", "c@bistro.example", "+33 4 72 00 00 00")
    assert "Atelier Martin" not in page
    for path in (tampered, "/s/unknown1"):  # two creditors, nothing to trust: neutral
        response = any_client.get(path)
        page = text(response)
        assert response.status_code == 404 and "n'est pas valide" in page
        assert "Atelier Martin" not in page and "Bistro" not in page
        assert '<span class="brand">Espace de règlement des factures</span>' in page
        assert ">Relance<" not in page
        assert "coordonnées imprimées sur sa facture" in page
