"""Portal landing /p/<token>: the link's debtor only; tampered -> 404 page; expired -> 410 page."""
import time

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
