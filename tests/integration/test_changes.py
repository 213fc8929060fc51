"""The books' version (portal.changes) and the preview kept by it: the version moves with every
committed change to what reminders are decided from, whoever makes it, and only then; a kept
preview is served while it holds, and recomputed as soon as anything it shows could differ."""
from datetime import timedelta

import pytest
from sqlalchemy import insert, text, update

from portal import changes
from portal.extensions import db
from portal.models import Customer, Event, Hold, Invoice
from tests.conftest import make_customer, make_invoice
from tests.helpers import CAL, business_day, csrf, login


def test_a_committed_change_moves_the_version_and_nothing_else_does(any_app):
    start = changes.version()
    customer = make_customer()
    invoice = make_invoice(customer, "2026-01-31", 10_000)
    assert changes.version() == start  # not committed yet
    db.session.commit()
    one = changes.version()
    assert one == start + 1  # one commit, one step, however many rows

    db.session.add(Event(customer_id=customer.id, kind="portal_visit", actor="debtor",
                         details={}))
    db.session.commit()
    assert changes.version() == one  # a visit changes no reminder: no step

    db.session.execute(update(Invoice).values(total_cents=20_000))  # Core, not the ORM
    db.session.rollback()
    assert changes.version() == one  # rolled back: nothing happened

    db.session.execute(text("UPDATE customer SET name = 'Renamed' WHERE id = :id"),
                       {"id": customer.id})  # plain SQL
    db.session.commit()
    two = changes.version()
    assert two == one + 1

    db.session.execute(insert(Hold), [dict(customer_id=customer.id, invoice_id=invoice.id,
                                           kind="manual_pause",
                                           starts_on=business_day(0), details={})])
    db.session.commit()
    assert changes.version() == two + 1


@pytest.fixture
def books(app, accountant):
    customer = make_customer(name="Pressing Lumière")
    make_invoice(customer, business_day(0) - timedelta(days=40), 30_000, number="PV-1")
    db.session.commit()
    return customer


def _preview(client, day):
    return client.get(f"/admin/preview?date={day.isoformat()}").get_data(as_text=True)


def test_the_preview_is_kept_until_the_books_change(app, client, books, monkeypatch):
    from portal.backoffice import preview as preview_module
    computed = []
    real = preview_module.preview_rows
    monkeypatch.setattr(preview_module, "preview_rows",
                        lambda as_of: computed.append(as_of) or real(as_of))
    login(client)
    day = business_day(1)
    page = _preview(client, day)
    assert "PV-1" in page and len(computed) == 1
    assert "PV-1" in _preview(client, day) and len(computed) == 1  # kept
    other = CAL.next_business_day(day + timedelta(days=1))  # (business_day(2) may be `day`)
    assert "PV-1" in _preview(client, other) and len(computed) == 2  # another day

    # A new invoice: the preview shows it at once.
    make_invoice(books, business_day(0) - timedelta(days=40), 12_000, number="PV-2")
    db.session.commit()
    page = _preview(client, day)
    assert "PV-2" in page and len(computed) == 3

    # Held by the accountant through the page: gone from the preview.
    invoice = db.session.scalar(db.select(Invoice).where(Invoice.number == "PV-1"))
    client.post(f"/admin/preview/hold/{invoice.id}", data={"csrf_token": csrf(page)})
    _preview(client, day)  # the page that says it was held
    page = _preview(client, day)
    assert "PV-1" not in page and "PV-2" in page

    # The customer paused: nothing for it.
    db.session.execute(update(Customer).values(paused_until=day + timedelta(days=30)))
    db.session.commit()
    assert "PV-2" not in _preview(client, day)
    calls = len(computed)
    _preview(client, day)
    assert len(computed) == calls  # and that is kept too


def test_a_kept_preview_is_recomputed_after_keep_seconds(app, client, books, monkeypatch):
    from portal.backoffice import preview as preview_module
    login(client)
    day = business_day(1)
    assert "PV-1" in _preview(client, day)
    # A change behind Relance's back (not through SQLAlchemy): seen once the time is up.
    with db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        cursor = raw.cursor()
        cursor.execute("UPDATE invoice SET status = 'paid'")
        raw.commit()
    assert "PV-1" in _preview(client, day)  # still the kept one
    monkeypatch.setattr(changes, "KEEP_SECONDS", 0)
    assert "PV-1" not in _preview(client, day)
    assert preview_module.KEEP >= 1


def test_the_kept_preview_follows_the_settings_and_the_language(app, client, books):
    from flask import g

    from portal import settings
    login(client)
    day = business_day(1)
    assert "e-mail + appel" not in _preview(client, day)
    document = settings.editable()
    for level in document["policies"][0]["levels"]:
        if level["template"] == "cordial":
            level["channels"] = ["email", "call"]
    settings.save(document, author="test")
    db.session.commit()
    g.pop("relance_state", None)  # the test's context is the requests' too
    assert "e-mail + appel" in _preview(client, day)
    client.post("/admin/language", data={"csrf_token": csrf(_preview(client, day)),
                                         "language": "en", "next": "/admin/preview"})
    assert "e-mail + call" in _preview(client, day)


def test_a_lock_that_changes_nothing_leaves_the_version(any_app):
    from portal.bookkeeping import lock_customer
    customer = make_customer()
    db.session.commit()
    before = changes.version()
    lock_customer(customer.id)
    db.session.commit()
    assert changes.version() == before
