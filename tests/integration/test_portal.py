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


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_the_landing_page_costs_the_same_queries_whatever_the_number_of_invoices(any_app):
    """As many statements for 2 invoices as for 40 (the open invoices with their balances,
    holds, plan, credit, last visit...): nothing is loaded per invoice."""
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
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa_event.listen(db.engine, "before_cursor_execute", listener)
        try:
            page = client.get(url)
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", listener)
        assert page.status_code == 200 and page.get_data(True).count('class="card"') == count
        counts[count] = len(statements)
    assert counts[2] == counts[40] <= 6, counts
