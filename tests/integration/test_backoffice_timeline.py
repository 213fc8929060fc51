"""The debtor's timeline written for people: a sentence per event, amounts and dates formatted,
a link to the message as sent, filters by kind, the same sentences in the CSV, what the debtor
wrote quoted and escaped."""
from datetime import timedelta

from portal import clock
from portal.extensions import db
from portal.i18n import day
from portal.bookkeeping import place_hold, record_event, record_payment
from sqlalchemy import select
from tests.conftest import make_customer, make_invoice
from tests.helpers import login


def promised():
    """A date the debtor promised, ahead of today whatever day the suite runs on."""
    return clock.today() + timedelta(days=20)


def history():
    customer = make_customer(name="Menuiserie Girard")
    invoice = make_invoice(customer, clock.today() - timedelta(days=30), 397_786,
                           number="FA-2026-0014")
    record_event(customer.id, "reminder_sent", channel="email", level=2,
                 invoices=["FA-2026-0014", "FA-2026-0013"], message_id="<relance.343.1@x.fr>",
                 subject="Deuxième relance")
    place_hold(invoice, "promise", clock.today(), until=promised(), actor="debtor")
    record_event(customer.id, "message", actor="debtor", invoice_id=invoice.id,
                 number="FA-2026-0014", reason="other", text="<b>Payé</b> hier & demain")
    record_payment(customer=customer, source="csv", external_id="VIR-1", amount_cents=123_456,
                   received_on=clock.today(), invoices=[invoice])
    db.session.commit()
    return customer


def test_the_timeline_reads_as_sentences(client, accountant):
    customer = history()
    login(client)
    page = client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
    assert "Relance niveau 2 envoyée par e-mail — FA-2026-0014, FA-2026-0013" in page
    assert 'href="/admin/messages/%3Crelance.343.1@x.fr%3E"' in page
    assert f"A promis de payer la facture FA-2026-0014 le {day(promised(), 'fr')}" in page
    assert "Paiement de 1\u202f234,56\u00a0€ reçu — FA-2026-0014" in page
    assert "« &lt;b&gt;Payé&lt;/b&gt; hier &amp; demain »" in page  # quoted, escaped
    assert "amount_cents" not in page and "message_id=" not in page  # no log dump
    payments = client.get(f"/admin/customers/{customer.id}?show=payments").get_data(
        as_text=True)
    assert "Paiement de 1\u202f234,56" in payments and "Relance niveau 2" not in payments


def test_the_csv_carries_the_same_sentences(client, accountant):
    customer = history()
    login(client)
    csv = client.get(f"/admin/customers/{customer.id}/timeline.csv").get_data(as_text=True)
    assert "Relance niveau 2 envoyée par e-mail — FA-2026-0014, FA-2026-0013" in csv
    assert "reminder_sent" in csv  # and the raw kind, for machines


def test_states_and_holds_read_in_the_readers_language(client, accountant):
    customer = history()
    record_event(customer.id, "message", actor="debtor", text="Pouvez-vous m'appeler ?")
    db.session.commit()
    login(client)
    page = client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
    assert ">ouverte (30 j de retard)</td>" in page  # not "open"
    assert (f"En pause : paiement promis jusqu'au {promised():%d/%m/%Y} (facture FA-2026-0014)"
            in page)
    inbox = client.get("/admin/").get_data(as_text=True)
    assert "Message : Pouvez-vous m&#39;appeler ?" in inbox and "Facture None" not in inbox


def test_a_promise_whose_date_passed_reads_as_not_kept(client, accountant):
    customer = make_customer(name="Garage Lefèvre")
    invoice = make_invoice(customer, clock.today() - timedelta(days=40), 22_112, number="G-11")
    # A week ago: past its date and its grace (one business day) whatever today's weekday; three
    # days ago was still within the grace on a Monday, as the schedule says (issue 20).
    place_hold(invoice, "promise", clock.today() - timedelta(days=10),
               until=clock.today() - timedelta(days=7), actor="debtor")
    db.session.commit()
    login(client)
    page = client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
    assert "Promesse non tenue : paiement annoncé pour le" in page and "(facture G-11)" in page
    assert "En pause : paiement promis" not in page


def test_a_note_with_a_file_on_the_timeline(any_app):
    """The accountant adds a note with a letter received: the timeline says it, links the file,
    which comes back as a download (never shown inline); a note without text is refused."""
    import html
    import io
    from sqlalchemy import select as _select
    from portal.models import Attachment, Event
    from portal.users import create_user as _create_user
    from tests.conftest import make_customer as _make_customer
    from tests.helpers import PASSWORD as _PASSWORD, csrf as _csrf, login as _login
    customer = _make_customer(name="Menuiserie Girard")
    _create_user("compta@atelier.example", _PASSWORD)
    db.session.commit()
    client = any_app.test_client()
    _login(client)
    page = client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
    empty = client.post(f"/admin/customers/{customer.id}/notes",
                        data={"csrf_token": _csrf(page), "text": " "})
    assert empty.status_code == 302 and db.session.scalar(_select(Event).where(
        Event.kind == "note")) is None
    letter = b"%PDF-1.4 lettre recommandee <script>alert(1)</script>"
    added = client.post(f"/admin/customers/{customer.id}/notes", data={
        "csrf_token": _csrf(page), "text": "Reçu un courrier : conteste <b>la</b> quantité",
        "file": (io.BytesIO(letter), "Courrier reçu.pdf")}, content_type="multipart/form-data")
    assert added.status_code == 302
    page = client.get(f"/admin/customers/{customer.id}?show=notes").get_data(as_text=True)
    assert "conteste &lt;b&gt;la&lt;/b&gt; quantité" in page
    assert "Note : « Reçu un courrier : conteste <b>la</b> quantité »" in html.unescape(page)
    assert "pièce jointe : Courrier reçu.pdf" in html.unescape(page)
    kept = db.session.scalar(_select(Attachment))
    assert f"/admin/attachments/{kept.id}" in page and "Courrier reçu.pdf" in html.unescape(page)
    download = client.get(f"/admin/attachments/{kept.id}")
    assert download.data == letter
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_an_invoice_event_links_to_the_invoice_pdf(any_app, tmp_path):
    from portal.users import create_user as _create_user
    from tests.helpers import PASSWORD as _PASSWORD, login as _login
    path = tmp_path / "f.csv"
    path.write_text("customer_ref,customer_name,email,language,invoice_number,issue_date,"
                    "due_date,amount\nC1,Dupont,c@dupont.fr,fr,F-77,2026-10-01,2026-10-31,10\n")
    assert any_app.test_cli_runner().invoke(args=["invoices", "import", str(path)]
                                            ).exit_code == 0
    _create_user("compta@atelier.example", _PASSWORD)
    db.session.commit()
    client = any_app.test_client()
    _login(client)
    from portal.models import Invoice as _Invoice
    invoice = db.session.scalar(select(_Invoice))
    page = client.get(f"/admin/customers/{invoice.customer_id}").get_data(as_text=True)
    assert f'href="/admin/invoices/{invoice.id}.pdf">la facture (PDF)</a>' in page
    pdf = client.get(f"/admin/invoices/{invoice.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Type"] == "application/pdf"
