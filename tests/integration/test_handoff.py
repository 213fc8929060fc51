"""The hand-over dossier, end to end on SQLite and PostgreSQL: a debtor taken through every
level to the formal notice by the real run (CLI, SMTP sink), handed over through the back
office once the deadline has passed, the ZIP opened and each part checked against the ledger
and `portal.rules.penalties`, the next run silent for that debtor, and a payment through the JSON
API that closes the case. Before the deadline the action is not offered and a POST is refused."""
import email
import io
import zipfile
from datetime import timedelta
from email import policy as email_policy

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portal import clock
from portal.documents import pdf_text
from portal.extensions import db
from portal.i18n import money
from portal.models import Attachment, Customer, Event, Reminder
from portal.settings import current as current_settings
from portal.users import create_user
from portal.rules.penalties import penalty_for
from tests.conftest import make_customer, make_invoice
from tests.helpers import CAL, PASSWORD, csrf, level_days, login, run

AUTH = {"Authorization": "Bearer test-api-token"}


@pytest.fixture
def noticed(any_app, smtp, today):
    """Girard SARL: H-1 (1,200.00, 400.00 paid) taken through every level to the formal
    notice by the run; H/2 (300.00) due 20 days ago, not yet due on the formal notice's day:
    never formally noticed, so left out of the hand-over."""
    customer = make_customer(name="Girard SARL", email="girard@example.org",
                             address="3 rue Neuve\n69001 Lyon")
    due = today - timedelta(days=110)
    first = make_invoice(customer, due, 120_000, number="H-1")
    second = make_invoice(customer, today - timedelta(days=20), 30_000, number="H/2")
    db.session.commit()
    payment = {"invoice_number": "H-1", "amount": "400.00", "currency": "EUR",
               "external_id": "BANK-H1-PART", "date": (due + timedelta(days=2)).isoformat()}
    assert any_app.test_client().post("/api/v1/payments", json=payment,
                                      headers=AUTH).status_code == 201
    days = level_days(due)
    for level, day in enumerate(days, start=1):
        sent = run(any_app, smtp, day)
        assert [(to, lv) for to, lv, _ in sent] == [("girard@example.org", level)], day
    create_user("compta@atelier.example", PASSWORD, "accountant")
    db.session.commit()
    return customer, first, second, days[-1]


def _page(client, customer):
    return client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)


def _hand_over(client, customer, to="injonction", siren="552 100 554"):
    page = _page(client, customer)
    return client.post(f"/admin/customers/{customer.id}/handoff", data={
        "csrf_token": csrf(page), "to": to, "siren": siren,
        "address": "3 rue Neuve, 69001 Lyon"}, follow_redirects=True)


def _zip(customer):
    facts = db.session.get(Customer, customer.id).handover
    return zipfile.ZipFile(io.BytesIO(db.session.get(Attachment, facts["attachment_id"]).data))


def _text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _figures(invoice, as_of):
    legal = current_settings().legal
    return penalty_for("business", invoice.balance_cents, invoice.due_date, as_of, legal.rates,
                       contract_rate_percent=legal.contract_rate_percent,
                       indemnity_cents=legal.indemnity_cents)


def test_handed_over_dossier_then_paid_closes(any_app, smtp, noticed, today):
    customer, first, second, notice_day = noticed
    client = any_app.test_client()
    login(client)
    # A proof of posting attached to a note on the timeline.
    page = _page(client, customer)
    assert client.post(f"/admin/customers/{customer.id}/notes", data={
        "csrf_token": csrf(page), "text": "Accusé de réception signé",
        "file": (io.BytesIO(b"%PDF-1.4 AR"), "../../AR recommandé.pdf")},
        content_type="multipart/form-data").status_code == 302
    assert "Hand the file over" in _page(client, customer) or \
        "Transmettre le dossier" in _page(client, customer)
    bad = _hand_over(client, customer, siren="55210055").get_data(as_text=True)
    assert "9 digits" in bad or "9 chiffres" in bad
    assert db.session.get(Customer, customer.id).handed_over_on is None
    done = _hand_over(client, customer).get_data(as_text=True)
    assert 'id="handoff-status"' in done and "Download the dossier" in done or \
        "Télécharger le dossier" in done
    archive = _zip(customer)
    names = archive.namelist()
    assert {"resume.pdf", "injonction-de-payer.txt", "factures/H-1.pdf"} <= set(names)
    assert "factures/H_2.pdf" not in names  # no formal notice yet: not claimed
    assert all(".." not in n and not n.startswith("/") for n in names)
    assert any(n.startswith("mise-en-demeure/") and archive.read(n).startswith(b"%PDF")
               for n in names)
    proofs = [n for n in names if n.startswith("preuves/")]
    assert len(proofs) == 1 and archive.read(proofs[0]) == b"%PDF-1.4 AR"
    assert proofs[0].endswith("AR_recommande.pdf")
    messages = sorted(n for n in names if n.startswith("messages/"))
    assert len(messages) == 4
    notice = email.message_from_bytes(archive.read(messages[-1]), policy=email_policy.default)
    assert "Mise en demeure" in notice["Subject"] and notice["To"] == "girard@example.org"
    assert notice["Message-ID"] == db.session.scalar(select(Reminder.message_id).where(
        Reminder.customer_id == customer.id, Reminder.level == 4))
    assert notice.get_body(("html",)) is not None
    # The summary: every figure from the ledger and portal.rules.penalties, to the day.
    summary = _text(archive.read("resume.pdf"))
    one = _figures(first, today)
    assert one.interest_cents > 0 and one.indemnity_cents == 4000
    for cents in (80_000, 40_000, one.interest_cents, 4000,
                  80_000 + one.interest_cents + 4000):
        assert pdf_text(money(cents, "fr")) in summary, cents
    assert "Factures non comprises dans ce dossier" in summary
    assert pdf_text(f"Facture H/2 ({money(30_000, 'fr')}, échéance "
                    f"{second.due_date.strftime('%d/%m/%Y')}) : pas encore mise en demeure."
                    ) in summary
    assert "Girard SARL" in summary and "SIREN 552100554" in summary
    assert "Atelier Martin SARL" in summary and "SIREN 123 456 789" in summary
    assert notice_day.strftime("%d/%m/%Y") in summary  # the formal notice's date
    assert (notice_day + timedelta(days=8)).strftime("%d/%m/%Y") in summary  # its deadline
    assert "niveau 4 - e-mail + lettre recommandée - H-1" in summary
    # The injonction de payer sheet.
    sheet = archive.read("injonction-de-payer.txt").decode()
    assert "SIREN : 552100554" in sheet and "Principal : 800,00 EUR" in sheet
    interest = one.interest_cents
    assert f"Intérêts de retard au {today.strftime('%d/%m/%Y')} : " \
        f"{interest // 100},{interest % 100:02d} EUR" in sheet
    assert "Indemnité forfaitaire pour frais de recouvrement : 40,00 EUR" in sheet
    assert "- H/2 échue le" in sheet and "pas encore mise en demeure" in sheet
    assert "JURIDICTION COMPÉTENTE" in sheet and "À COMPLÉTER" in sheet
    assert "factures/H-1.pdf" in sheet and "messages/" in sheet
    # Reminders stop: the next run sends nothing to this debtor (H/2 would be reminded).
    next_day = CAL.next_business_day(today + timedelta(days=1))
    assert run(any_app, smtp, next_day) == []
    listed = client.get("/admin/debtors?handed_over=yes").get_data(as_text=True)
    assert "Girard SARL" in listed and "transmis (injonction de payer) le" in listed
    assert "Girard SARL" not in client.get("/admin/debtors?handed_over=yes&q=zzz").get_data(
        as_text=True)
    invoices = client.get("/admin/invoices?q=Girard").get_data(as_text=True)
    assert "transmis le" in invoices and "plus de relances" in invoices
    page = _page(client, customer)
    assert "Dossier transmis (pour une injonction de payer)" in page
    preview = client.get(f"/admin/preview?date={next_day.isoformat()}").get_data(as_text=True)
    assert 'id="handed-over"' in preview and "Girard SARL" in preview
    # A payment afterwards still counts; once the claimed invoice is paid the case closes.
    for number, amount, ref in (("H-1", "800.00", "BANK-H1"),):
        response = client.post("/api/v1/payments", headers=AUTH, json={
            "invoice_number": number, "amount": amount, "currency": "EUR",
            "external_id": ref, "date": today.isoformat()})
        assert response.status_code == 201, response.get_json()
    db.session.expire_all()
    closed = db.session.get(Customer, customer.id)
    assert closed.handed_over_on is None and closed.handover["closed_on"] == today.isoformat()
    assert db.session.scalar(select(Event.kind).where(
        Event.customer_id == customer.id, Event.kind == "handover_closed")) is not None
    page = _page(client, customer)
    assert "case closed" in page or "dossier clos" in page
    assert client.get(f"/admin/attachments/{closed.handover['attachment_id']}").data \
        == db.session.get(Attachment, closed.handover["attachment_id"]).data


def test_refused_before_the_deadline(any_app, smtp, noticed):
    customer, _first, _second, notice_day = noticed
    client = any_app.test_client()
    login(client)
    with clock.pin(notice_day + timedelta(days=8)):  # the deadline's last day
        page = _page(client, customer)
        assert 'id="handoff-not-yet"' in page and "/handoff" not in page
        refused = _hand_over(client, customer).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).handed_over_on is None
    assert "Not handed over" in refused or "Dossier non transmis" in refused
    assert db.session.scalar(select(Event).where(Event.kind == "handed_over")) is None


def test_the_worklist_names_the_invoices_a_hand_over_would_claim(any_app, smtp, noticed):
    """Once a notice's deadline has passed, the worklist offers the hand-over and names the
    invoices it would claim (the demo's worklist answered 500 on such a task: it had none)."""
    client = any_app.test_client()
    login(client)
    page = client.get("/admin/?assignee=all")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    task = text[text.index("task-handover"):]
    task = task[:task.index("</tr>")]
    assert "H-1" in task and "H/2" not in task
