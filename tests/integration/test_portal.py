"""Portal landing /p/<token>: the link's debtor only; tampered -> 404 page; expired -> 410 page."""
import time
from datetime import timedelta

from portal.extensions import db
from portal.links import make_token
from portal.models import Event
from tests.conftest import make_customer, make_invoice


def test_landing_lists_only_this_debtors_open_invoices(client):
    mine = make_customer(name="<script>alert(1)</script> SARL")
    other = make_customer(name="Other")
    make_invoice(mine, "2026-01-31", 123_456, number="MINE-1")
    make_invoice(other, "2026-01-31", 999, number="OTHER-1")
    db.session.commit()
    response = client.get(f"/p/{make_token(mine)}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "MINE-1" in page and "1\u202f234,56\u00a0€" in page
    assert "OTHER-1" not in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert db.session.query(Event).filter_by(customer_id=mine.id, kind="portal_visit").count() == 1


def test_tampered_link_gives_a_clear_404(client):
    customer = make_customer()
    db.session.commit()
    token = make_token(customer)
    response = client.get(f"/p/{token[:-3]}xyz")
    assert response.status_code == 404 and "n'est pas valide" in response.get_data(as_text=True)


def test_expired_link_says_so(client, monkeypatch):
    customer = make_customer()
    db.session.commit()
    token = make_token(customer)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61 * 86400)
    response = client.get(f"/p/{token}")
    assert response.status_code == 410 and "a expiré" in response.get_data(as_text=True)


def test_link_of_a_deleted_customer_is_invalid(client):
    customer = make_customer()
    db.session.commit()
    token = make_token(customer)
    db.session.delete(customer)
    db.session.commit()
    assert client.get(f"/p/{token}").status_code == 404


def settings_policy():
    from portal import settings
    return settings.current().policy_for("standard", None)


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_the_landing_page_costs_the_same_queries_whatever_the_number_of_invoices(any_app):
    """As many statements for 2 invoices as for 40 (the open invoices with their balances,
    holds, plan, credit, last visit...): nothing is loaded per invoice."""
    from flask import g
    from sqlalchemy import event as sa_event

    from portal import clock
    counts = {}
    for count in (2, 40):
        customer = make_customer()
        for n in range(count):
            make_invoice(customer, clock.today() - timedelta(days=n), 10_000 + n)
        db.session.commit()
        client, url = any_app.test_client(), f"/p/{make_token(customer)}"
        client.get(url)  # the visit of the day is written once; count a page view after it
        # The test's app context is the requests' too: start this one as a request does.
        db.session.remove()
        g.pop("relance_state", None)
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa_event.listen(db.engine, "before_cursor_execute", listener)
        try:
            page = client.get(url)
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", listener)
        assert page.status_code == 200 and page.get_data(True).count('class="card"') == count
        counts[count] = len(statements)
        # After a change of the books, the facts are read again: as many statements too.
        make_invoice(db.session.merge(customer), clock.today(), 5_000)
        db.session.commit()
        db.session.remove()
        g.pop("relance_state", None)
        statements.clear()
        sa_event.listen(db.engine, "before_cursor_execute", listener)
        try:
            page = client.get(url)
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", listener)
        assert page.get_data(True).count('class="card"') == count + 1
        counts[f"{count} after a change"] = len(statements)
    # a reload: the customer, then the books' version with the last visit; after a change,
    # the creditor and its settings, the page's facts and the payments received lately, one
    # statement each
    assert counts[2] == counts[40] == 2, counts
    assert counts["2 after a change"] == counts["40 after a change"] == 5, counts


def _card_balance(page, number):
    block = page.split(f"Facture {number}</h3>")[1].split("</li>")[0]
    return block.split('class="balance">')[1].split("<")[0]


def test_the_kept_page_follows_every_fact_it_shows(any_app, today):
    """The landing page is rendered once per set of facts and kept: a payment, a promise, a new
    day, another language, the creditor's name each give a fresh page, never yesterday's."""
    from flask import g

    from portal import clock
    from portal.debtor.page import rendered
    from portal.payments.lifecycle import transition
    from portal.settings import creditor
    from tests.helpers import checkout, csrf

    customer = make_customer(name="Garage Lenoir")
    first = make_invoice(customer, today - timedelta(days=10), 40_000, number="KEEP-1")
    make_invoice(customer, today - timedelta(days=3), 25_000, number="KEEP-2")
    make_invoice(customer, today - timedelta(days=2), 5_000, number="KEEP-3")
    db.session.commit()
    url = f"/p/{make_token(customer)}"
    client = any_app.test_client()
    before = client.get(url).get_data(True)
    hits = rendered.hits
    again = client.get(url).get_data(True)
    assert rendered.hits == hits + 1  # the same facts: the kept page
    assert again.replace(csrf(again), "") == before.replace(csrf(before), "")
    assert "10 jours de retard" in again and _card_balance(again, "KEEP-1") == "400,00\u00a0€"

    payment = checkout(customer, [first], session_id="cs_keep")
    transition(payment, "succeeded", today)
    db.session.commit()
    page = client.get(url).get_data(True)
    assert "KEEP-1" not in page and "KEEP-2" in page  # paid: gone from the page

    page = client.post(f"{url}/promise", data={
        "csrf_token": csrf(page), "invoice_ids": [str(i.id) for i in customer.invoices
                                                  if i.number == "KEEP-2"],
        "promise_date": (today + timedelta(days=5)).isoformat()}, follow_redirects=True)
    assert "Paiement annoncé le" in page.get_data(True)
    assert "Paiement annoncé le" in client.get(url).get_data(True)  # kept with the promise

    # The promised day and its grace (one business day) have passed: the schedule's answer.
    from portal.rules.schedule import calendar_for, promise_broken_on
    broken = promise_broken_on(today + timedelta(days=5), settings_policy(),
                               calendar_for("FR")) + timedelta(days=1)
    with clock.pin(broken):
        later = client.get(url).get_data(True)
        assert "non reçu" in later
        late = (broken - today).days + 2
        assert f"{late} jours de retard" in later.split("Facture KEEP-3")[1].split("</li>")[0]
    assert "2 jours de retard" in client.get(url).get_data(True).split("Facture KEEP-3")[1]

    # The settings: a shorter promise limit shows at once in the promise form.
    from portal import settings
    document = settings.editable()
    document["policies"][0]["promise_max_days"] = 12
    settings.save(document, author="test")
    db.session.commit()
    g.pop("relance_state", None)
    assert (today + timedelta(days=12)).isoformat() in client.get(url).get_data(True)
    english = client.get(f"{url}?lang=en").get_data(True)
    assert "Payment promised for" in english

    from portal.models import Creditor
    db.session.execute(db.update(Creditor).values(name="Atelier Renommé SAS"))
    db.session.commit()
    db.session.expire_all()
    g.pop("relance_state", None)  # the test's own context kept the creditor; a request reads it
    assert creditor().name == "Atelier Renommé SAS"
    assert "Atelier Renommé SAS" in client.get(url).get_data(True)


def test_a_kept_page_carries_each_visitors_own_csrf_token(any_app, today):
    from tests.helpers import csrf

    customer = make_customer()
    invoice = make_invoice(customer, today - timedelta(days=10), 40_000)
    db.session.commit()
    url = f"/p/{make_token(customer)}"
    one, two = any_app.test_client(), any_app.test_client()
    page_one, page_two = one.get(url).get_data(True), two.get(url).get_data(True)
    assert csrf(page_one) != csrf(page_two)
    assert page_two.count(csrf(page_two)) == page_one.count(csrf(page_one)) > 3
    # the second visitor's token, put into the kept page, is good for its own session only
    response = two.post(f"{url}/invoices/{invoice.id}/message", data={
        f"m{invoice.id}-csrf_token": csrf(page_two, f"m{invoice.id}"),
        f"m{invoice.id}-reason": "question", f"m{invoice.id}-text": "Bonjour"})
    assert response.status_code == 302
    stolen = any_app.test_client()
    stolen.get("/healthz")
    response = stolen.post(f"{url}/invoices/{invoice.id}/message", data={
        f"m{invoice.id}-csrf_token": csrf(page_two, f"m{invoice.id}"),
        f"m{invoice.id}-reason": "question", f"m{invoice.id}-text": "Bonjour encore"})
    assert response.status_code == 400


def test_a_flash_message_is_shown_once_and_never_kept(client, today):
    customer = make_customer()
    make_invoice(customer, today - timedelta(days=10), 40_000)
    db.session.commit()
    url = f"/p/{make_token(customer)}"
    client.get(url)
    assert "Paiement annulé" in client.get(f"{url}?cancelled=1").get_data(True)
    assert "Paiement annulé" not in client.get(url).get_data(True)
