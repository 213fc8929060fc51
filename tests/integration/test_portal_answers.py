"""The debtor's answers through HTTP (with real CSRF tokens and real SMTP), and what they change in
the next reminder runs."""
import re
import time
from datetime import timedelta

from sqlalchemy import select

from portal import clock
from portal.extensions import db
from portal.links import make_token
from portal.models import Event, Hold, Reminder
from tests.conftest import make_customer, make_invoice, named
from tests.helpers import CAL, business_day, csrf, run

def setup_debtor(language="fr", **kw):
    customer = make_customer(language=language, **kw)
    late = make_invoice(customer, clock.today() - timedelta(days=40), 120_000, number="L-1")
    other = make_invoice(customer, clock.today() - timedelta(days=40), 30_000, number="L-2")
    db.session.commit()
    return customer, late, other


def test_landing_shows_states_totals_and_is_french_by_default(client):
    customer, late, _ = setup_debtor(name="Dupont & Fils")
    page = client.get(f"/p/{make_token(customer)}").get_data(as_text=True)
    assert "Bonjour Dupont &amp; Fils" in page and "1\u202f500,00\u00a0€" in page
    assert "40 jours de retard" in page and "jamais reçu cette facture" in page


def test_language_follows_the_debtor_and_can_be_switched(client):
    customer, _, _ = setup_debtor(language="en")
    token = make_token(customer)
    page = client.get(f"/p/{token}").get_data(as_text=True)
    assert "Hello" in page and "€1,500.00" in page and 'lang="en"' in page
    switched = client.get(f"/p/{token}?lang=fr")
    assert "Bonjour" in switched.get_data(as_text=True)
    assert any("lang=fr" in c for c in switched.headers.getlist("Set-Cookie"))
    assert "Bonjour" in client.get(f"/p/{token}").get_data(as_text=True)  # the cookie sticks


def test_every_form_needs_its_csrf_token(client):
    customer, late, _ = setup_debtor()
    token = make_token(customer)
    client.get(f"/p/{token}")
    for path, data in ((f"/p/{token}/promise", {"invoice_ids": late.id,
                                                "promise_date": business_day(5).isoformat()}),
                       (f"/p/{token}/invoices/{late.id}/not-received", {}),
                       (f"/p/{token}/invoices/{late.id}/message", {f"m{late.id}-reason": "other",
                                                                   f"m{late.id}-text": "x"})):
        for token_value in (None, "forged"):
            sent = dict(data, csrf_token=token_value) if token_value else data
            assert client.post(path, data=sent).status_code == 400, path
    assert db.session.scalar(select(Hold)) is None


def test_another_debtors_invoice_is_not_found(client):
    mine, _, _ = setup_debtor()
    other = make_customer()
    theirs = make_invoice(other, clock.today(), 5_000, number="THEIRS")
    db.session.commit()
    token = make_token(mine)
    page = client.get(f"/p/{token}").get_data(as_text=True)
    assert client.get(f"/p/{token}/invoices/{theirs.id}.pdf").status_code == 404
    response = client.post(f"/p/{token}/invoices/{theirs.id}/not-received",
                           data={"csrf_token": csrf(page)})
    assert response.status_code == 404
    response = client.post(f"/p/{token}/promise", data={
        "csrf_token": csrf(page), "invoice_ids": theirs.id,
        "promise_date": business_day(5).isoformat()})
    assert response.status_code == 404 and "THEIRS" not in response.get_data(as_text=True)
    response = client.post(f"/p/{token}/plan", data={
        "csrf_token": csrf(page), "invoice_ids": [theirs.id], "instalment_count": 3,
        "first_instalment_date": business_day(5).isoformat(), "accept": "y"})
    assert response.status_code == 404
    response = client.post(f"/p/{token}/promise", data={
        "csrf_token": csrf(page), "invoice_ids": "1 OR 1=1", "promise_date": "2026-12-01"})
    assert response.status_code == 400
    assert db.session.scalar(select(Hold)) is None


def test_invoice_copy_download(client):
    customer, late, _ = setup_debtor()
    response = client.get(f"/p/{make_token(customer)}/invoices/{late.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")


def test_never_received_sends_the_copy_now_and_restarts_the_clock(any_app, any_client, smtp):
    app, client = any_app, any_client
    customer, late, other = setup_debtor()
    token = make_token(customer)
    page = client.get(f"/p/{token}").get_data(as_text=True)
    response = client.post(f"/p/{token}/invoices/{late.id}/not-received",
                           data={"csrf_token": csrf(page)}, follow_redirects=True)
    assert response.status_code == 200
    assert "Une copie de la facture L-1" in response.get_data(as_text=True)
    copy = smtp.messages[0]
    assert copy["Subject"] == "Copie de la facture L-1"
    assert any(p.get_content_type() == "application/pdf" for p in copy.iter_attachments())
    hold = db.session.scalar(select(Hold).where(Hold.kind == "not_received"))
    assert hold.invoice_id == late.id
    # The next runs remind L-2 as usual but say nothing of L-1 until 7 business days later;
    # then L-1 joins the account's next message (one ladder per debtor: never a gentler level),
    # said to restart after the copy.
    restart = CAL.add_business_days(clock.today(), 7)
    first = business_day(1)
    sent = run(app, smtp, first)
    assert len(sent) == 1 and named(sent[0][2]) == {"L-2"}
    levels, day = [int(sent[0][1])], first + timedelta(days=1)
    while day < restart:
        for _, level, text in run(app, smtp, day):
            assert "L-1" not in named(text), day
            levels.append(int(level))
        day += timedelta(days=1)
    while True:
        sent = run(app, smtp, day)
        if sent:
            break
        day += timedelta(days=1)
    assert len(sent) == 1 and named(sent[0][2]) == {"L-1", "L-2"}
    assert "nouvelle copie de la facture L-1, que vous nous aviez signalée" in sent[0][2]
    again = db.session.scalar(select(Reminder).where(Reminder.invoice_id == late.id,
                                                     Reminder.cycle == 1))
    assert (again.level, again.reason, again.scheduled_for) == (max(levels) + 1, "restart", day)


def test_promise_pauses_then_a_broken_promise_escalates(app, client, smtp):
    customer, late, other = setup_debtor()
    token = make_token(customer)
    first = run(app, smtp, business_day(0) if CAL.is_business_day(clock.today()) else business_day(1))
    page = client.get(f"/p/{token}").get_data(as_text=True)
    promised = clock.today() + timedelta(days=10)
    response = client.post(f"/p/{token}/promise", data={
        "csrf_token": csrf(page), "invoice_ids": [late.id, other.id],
        "promise_date": promised.isoformat()}, follow_redirects=True)
    assert "Nous ne vous relancerons pas avant le" in response.get_data(as_text=True)
    broken = CAL.next_business_day(CAL.add_business_days(promised, 1) + timedelta(days=1))
    day = clock.today() + timedelta(days=1)
    while day < broken:
        assert run(app, smtp, day) == [], day
        day += timedelta(days=1)
    sent = run(app, smtp, broken)
    level_before = first[0][1] if first else 0
    assert len(sent) == 1 and sent[0][1] == level_before + 1
    assert "Vous nous aviez annoncé un règlement" in sent[0][2]


def test_promise_input_is_checked(app, client):
    customer, late, other = setup_debtor()
    token = make_token(customer)
    page = client.get(f"/p/{token}").get_data(as_text=True)

    def promise(when, ids=(late.id,)):
        return client.post(f"/p/{token}/promise", data={
            "csrf_token": csrf(page), "invoice_ids": list(ids), "promise_date": when})

    for when, message in ((clock.today().isoformat(), "postérieure à aujourd&#39;hui"),
                          ((clock.today() + timedelta(days=31)).isoformat(), "au plus tard le"),
                          ("", "Choisissez une date"), ("31/02/2026", "")):
        response = promise(when)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    response = promise((clock.today() + timedelta(days=5)).isoformat(), ids=())
    assert response.status_code == 422 and "au moins une facture" in response.get_data(True)
    assert db.session.scalar(select(Hold)) is None
    assert promise((clock.today() + timedelta(days=5)).isoformat()).status_code == 302
    assert promise((clock.today() + timedelta(days=8)).isoformat()).status_code == 302  # one change
    response = promise((clock.today() + timedelta(days=9)).isoformat())
    assert response.status_code == 422 and "déjà été modifiée une fois" in response.get_data(True)
    holds = db.session.scalars(select(Hold).where(Hold.kind == "promise")).all()
    assert sorted((h.until - clock.today()).days for h in holds if h.released_at is None) == [8]


def test_dispute_pauses_the_invoice_and_free_text_is_kept_verbatim(app, client, smtp):
    customer, late, other = setup_debtor()
    token = make_token(customer)
    page = client.get(f"/p/{token}").get_data(as_text=True)
    script = "<script>alert('x')</script> il manque 3 cartons"
    response = client.post(f"/p/{token}/invoices/{late.id}/message", data={
        f"m{late.id}-csrf_token": csrf(page, f"m{late.id}"), f"m{late.id}-reason": "not_delivered",
        f"m{late.id}-text": script}, follow_redirects=True)
    assert "transmis à notre service comptable" in response.get_data(as_text=True)
    assert "<script>alert" not in response.get_data(as_text=True)
    event = db.session.scalar(select(Event).where(Event.kind == "message"))
    assert event.details["text"] == script and event.details["reason"] == "not_delivered"
    sent = run(app, smtp, business_day(1))
    assert len(sent) == 1 and named(sent[0][2]) == {"L-2"}
    bad = client.post(f"/p/{token}/invoices/{late.id}/message", data={
        f"m{late.id}-csrf_token": csrf(page, f"m{late.id}"), f"m{late.id}-reason": "nope"})
    assert bad.status_code == 422


def test_expired_link_offers_a_fresh_one_by_mail_rate_limited(app, client, smtp, monkeypatch):
    customer, _, _ = setup_debtor(email="secret-address@example.org")
    token = make_token(customer)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61 * 86400)
    page = client.get(f"/p/{token}")
    assert page.status_code == 410
    text = page.get_data(as_text=True)
    assert "Ce lien a expiré" in text and "secret-address" not in text
    renewed = client.post(f"/p/{token}/renew", data={"csrf_token": csrf(text)})
    assert renewed.status_code == 200 and "secret-address" not in renewed.get_data(True)
    assert len(smtp.messages) == 1
    fresh = re.search(r"http://portal.test/p/\S+", smtp.messages[0].get_body(("plain",)).get_content())
    again = client.post(f"/p/{token}/renew", data={"csrf_token": csrf(text)})
    assert again.status_code == 200 and len(smtp.messages) == 1  # rate-limited
    # The new link works (still in the test's shifted "now").
    assert client.get(fresh.group(0).replace("http://portal.test", "")).status_code == 200


def test_revoked_and_deleted(client):
    customer, _, _ = setup_debtor()
    old = make_token(customer)
    customer.link_version += 1
    db.session.commit()
    assert client.get(f"/p/{old}").status_code == 404
    assert client.get(f"/p/{make_token(customer)}").status_code == 200


def test_same_promise_twice_is_one_promise_and_a_paid_invoice_cannot_be_promised(client):
    customer, late, other = setup_debtor()
    token = make_token(customer)
    page = client.get(f"/p/{token}").get_data(as_text=True)
    data = {"csrf_token": csrf(page), "invoice_ids": [late.id],
            "promise_date": (clock.today() + timedelta(days=6)).isoformat()}
    assert client.post(f"/p/{token}/promise", data=data).status_code == 302
    assert client.post(f"/p/{token}/promise", data=data).status_code == 302  # double click
    holds = db.session.scalars(select(Hold).where(Hold.kind == "promise")).all()
    assert len(holds) == 1 and holds[0].details["changes"] == 0
    other.status = "paid"  # settled meanwhile (e.g. by a transfer)
    db.session.commit()
    response = client.post(f"/p/{token}/promise", data=dict(data, invoice_ids=[other.id]))
    assert response.status_code == 422  # no longer offered: only open invoices can be promised


def test_an_older_link_still_works_after_a_newer_one_was_sent(client, monkeypatch):
    customer, _, _ = setup_debtor()
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 20 * 86400)
    older = make_token(customer)  # sent 20 days ago
    monkeypatch.setattr(time, "time", real)
    newer = make_token(customer)
    assert older != newer
    assert client.get(f"/p/{older}").status_code == 200
    assert client.get(f"/p/{newer}").status_code == 200
