"""A manual hold with a reason and an end date, per invoice or for the whole debtor: the run
skips those invoices, the lists and the debtor page say why and until when, and the to-do list
says when the hold is over (until the accountant lifts it)."""
import html
from datetime import timedelta

from sqlalchemy import select

from portal import clock
from portal.extensions import db
from portal.models import Hold
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.helpers import PASSWORD, business_day, csrf, login, run


def _page(client, path):
    return html.unescape(client.get(path).get_data(as_text=True))


def test_hold_with_a_reason_and_a_date_then_the_inbox_says_it_is_over(any_app, smtp):
    today = clock.today()
    debtor = make_customer(name="Menuiserie Girard")
    held = make_invoice(debtor, today - timedelta(days=30), 100_000, number="MG-1")
    make_invoice(debtor, today - timedelta(days=30), 50_000, number="MG-2")
    create_user("compta@atelier.example", PASSWORD)
    db.session.commit()
    client = any_app.test_client()
    login(client)
    page = client.get(f"/admin/customers/{debtor.id}").get_data(as_text=True)
    until = today + timedelta(days=10)
    refused = client.post(f"/admin/customers/{debtor.id}/hold", data={
        "csrf_token": csrf(page), "invoice_ids": [held.id], "reason": ""})
    assert refused.status_code == 302 and db.session.scalar(select(Hold)) is None
    done = client.post(f"/admin/customers/{debtor.id}/hold", data={
        "csrf_token": csrf(page), "invoice_ids": [held.id],
        "reason": "Attente du bon de commande", "until": until.isoformat()})
    assert done.status_code == 302
    day = until.strftime("%d/%m/%Y")
    assert f"En pause : Attente du bon de commande jusqu'au {day} (facture MG-1)" in _page(
        client, f"/admin/customers/{debtor.id}")
    listed = _page(client, "/admin/invoices?hold=manual_pause")
    assert "MG-1" in listed and "MG-2" not in listed
    assert f"en attente (Attente du bon de commande) jusqu'au {day}" in listed
    timeline = _page(client, f"/admin/customers/{debtor.id}")
    assert "Facture MG-1 mise en attente jusqu'au" in timeline
    assert ": Attente du bon de commande" in timeline
    # The run reminds MG-2 only.
    got = run(any_app, smtp, business_day(0))
    assert len(got) == 1 and "MG-2" in got[0][2] and "MG-1" not in got[0][2]
    # Once the end date has passed, the to-do list says so, until the hold is lifted.
    with clock.pin(until + timedelta(days=1)):
        inbox = _page(client, "/admin/")
        assert "Fin de mise en attente" in inbox and "Attente du bon de commande" in inbox
        hold = db.session.scalar(select(Hold))
        page = client.get(f"/admin/customers/{debtor.id}").get_data(as_text=True)
        client.post(f"/admin/holds/{hold.id}/release", data={"csrf_token": csrf(page)})
        assert "Fin de mise en attente" not in _page(client, "/admin/")


def test_none_ticked_holds_every_open_invoice_and_a_new_hold_replaces_the_old(any_app):
    today = clock.today()
    debtor = make_customer(name="Garage Roux")
    for n in (1, 2, 3):
        make_invoice(debtor, today - timedelta(days=10 * n), 10_000, number=f"GR-{n}")
    create_user("compta@atelier.example", PASSWORD)
    db.session.commit()
    client = any_app.test_client()
    login(client)
    for reason in ("Litige", "Accord commercial en cours"):
        page = client.get(f"/admin/customers/{debtor.id}").get_data(as_text=True)
        client.post(f"/admin/customers/{debtor.id}/hold",
                    data={"csrf_token": csrf(page), "reason": reason})
    live = db.session.scalars(select(Hold).where(Hold.released_at.is_(None))).all()
    assert len(live) == 3 and {h.details["reason"] for h in live} == {"Accord commercial en cours"}
    assert all(h.until is None for h in live)
    listed = _page(client, "/admin/debtors?hold=manual_pause")
    assert "Garage Roux" in listed and "en attente (Accord commercial en cours)" in listed
