"""One formal notice, one set of facts, on SQLite and PostgreSQL: a debtor's overdue invoices
taken together to the formal notice by the real run (CLI, SMTP sink, the registered letter
through the Maileva stand-in), a partial payment after it, then the hand-over through the back
office once the deadline has passed. The three documents are read as their readers read them
(the e-mail received, the letter's PDF as the e-mail attaches it and as Maileva received it,
the dossier's summary and request sheet) and compared: the same invoices and the same amounts
as of the notice's day, the balance today apart where it changed. An invoice that fell due
after the notice is not claimed, and said so; before the deadline the hand-over is refused with
the reason, in the user's language."""
import io
import re
import zipfile
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portal import clock
from portal.documents import pdf_text
from portal.extensions import db
from portal.i18n import money
from portal.models import Attachment, Customer, Task, User
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.helpers import PASSWORD, csrf, level_days, login, run

AUTH = {"Authorization": "Bearer test-api-token"}
AMOUNTS = {"MD-1": 147_685, "MD-2": 250_000, "MD-3": 290_007}  # due the same day
LATE = ("MD-4", 62_244)  # falls due after the formal notice


@pytest.fixture
def fournier(any_app, smtp, maileva, today):
    """Imprimerie Fournier: three invoices due 110 days ago climb the levels together to the
    formal notice; MD-4 falls due after it. Returns (customer, notice day, e-mail)."""
    customer = make_customer(name="Imprimerie Fournier", email="compta@fournier.example",
                             address="8 quai des Imprimeurs\n69005 Lyon")
    due = today - timedelta(days=110)
    for number, cents in AMOUNTS.items():
        make_invoice(customer, due, cents, number=number)
    make_invoice(customer, today - timedelta(days=20), LATE[1], number=LATE[0])
    db.session.commit()
    days = level_days(due)
    for level, day in enumerate(days, start=1):
        sent = run(any_app, smtp, day)
        assert [(to, lv) for to, lv, _ in sent] == [("compta@fournier.example", level)], day
    notice = smtp.messages[-1]
    create_user("compta@atelier.example", PASSWORD, "accountant")
    db.session.commit()
    return customer, days[-1], notice


def _pdf_text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _amount(text):
    """Cents of an amount as the documents write it ("1 476,85 €", "1 476,85 EUR")."""
    euros, cents = re.sub(r"[^\d,]", "", text).split(",")
    return int(euros) * 100 + int(cents)


AMOUNT = r"(\d[\d\s\u202f\u00a0]*,\d\d)\s*(?:€|EUR)"


def _email_facts(message):
    """{invoice: cents due} and the total the e-mail's text states."""
    text = message.get_body(("plain",)).get_content()
    rows = dict(re.findall(r"- facture (\S+) \|.*?\| reste dû " + AMOUNT, text))
    total, = re.findall(r"^Total : " + AMOUNT, text, re.M)
    demanded, = re.findall(r"régler\s+la\s+somme\s+de\s+" + AMOUNT, text)
    assert _amount(total) == _amount(demanded)
    return {n: _amount(a) for n, a in rows.items()}, _amount(total)


def _letter_facts(pdf):
    """{invoice: cents due} and the total the letter's table and body state."""
    text = _pdf_text(pdf)
    rows = {}
    for line in text.splitlines():
        found = re.match(r"(MD-\d) \S+ \S+ " + AMOUNT, line)
        if found:
            rows[found.group(1)] = _amount(found.group(2))
    total, = re.findall(r"^Total " + AMOUNT, text, re.M)
    demanded, = re.findall(r"la\s+somme\s+de\s+" + AMOUNT, text)
    assert _amount(total) == _amount(demanded)
    return rows, _amount(total)


def _dossier_facts(summary):
    """{invoice: cents demanded by the formal notice} and their total, as resume.pdf says."""
    rows = {n: _amount(a) for n, a in re.findall(
        r"Facture (MD-\d) : " + AMOUNT + r" réclamés par la mise en demeure\n", summary)}
    total, = re.findall(r"Total réclamé par la mise en demeure du \S+ : " + AMOUNT, summary)
    return rows, _amount(total)


def _hand_over(client, customer):
    page = client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
    return client.post(f"/admin/customers/{customer.id}/handoff", data={
        "csrf_token": csrf(page), "to": "injonction", "siren": "552 100 554",
        "address": customer.address}, follow_redirects=True).get_data(as_text=True)


def test_the_email_the_letter_and_the_dossier_state_the_same_facts(any_app, smtp, maileva,
                                                                    fournier, today):
    customer, notice_day, notice = fournier
    assert "Mise en demeure" in notice["Subject"]
    emailed, emailed_total = _email_facts(notice)
    assert emailed == AMOUNTS and emailed_total == sum(AMOUNTS.values())  # all three, as due
    # The letter: attached to the e-mail, kept on the task, and handed to Maileva, unchanged.
    attached, = [part.get_content() for part in notice.iter_attachments()]
    task = db.session.scalar(select(Task).where(Task.kind == "letter",
                                                Task.customer_id == customer.id))
    [sending] = maileva.sendings.values()
    [document] = sending["documents"]
    assert attached == task.pdf == document["pdf"]
    assert _letter_facts(document["pdf"]) == (emailed, emailed_total)

    # A partial payment after the notice; then, past the deadline, the hand-over.
    assert any_app.test_client().post("/api/v1/payments", headers=AUTH, json={
        "invoice_number": "MD-2", "amount": "500.00", "currency": "EUR",
        "external_id": "VIR-MD2", "date": (notice_day + timedelta(days=2)).isoformat()}
    ).status_code == 201
    assert today > notice_day + timedelta(days=8)
    client = any_app.test_client()
    login(client)
    page = client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
    claimed = re.search(r'id="handoff-claimed">(.*?)</ul>', page, re.S).group(1)
    assert all(number in claimed for number in AMOUNTS) and LATE[0] not in claimed
    apart = re.search(r'id="handoff-apart">(.*?)</ul>', page, re.S).group(1)
    assert f"{LATE[0]} ({money(LATE[1], 'fr')}, échéance" in apart
    assert "pas encore mise en demeure" in apart
    assert "Dossier transmis : téléchargez-le" in _hand_over(client, customer)
    facts = db.session.get(Customer, customer.id).handover
    assert facts["invoices"] == list(AMOUNTS) and facts["left_out"] == [LATE[0]]
    assert facts["claimed_cents"] == sum(AMOUNTS.values()) - 50_000

    archive = zipfile.ZipFile(io.BytesIO(db.session.get(Attachment, facts["attachment_id"]).data))
    summary = _pdf_text(archive.read("resume.pdf"))
    # What the formal notice demanded on its day: the e-mail's invoices and amounts.
    assert _dossier_facts(summary) == (emailed, emailed_total)
    # The balance today, apart, where a payment changed it since.
    on = notice_day.strftime("%d/%m/%Y")
    assert pdf_text(f"Facture MD-2 : {money(250_000, 'fr')} réclamés par la mise en demeure du "
                    f"{on} ; {money(200_000, 'fr')} restant dus au {today.strftime('%d/%m/%Y')} "
                    f"({money(50_000, 'fr')} réglés depuis).") in summary.replace("\n", " ")
    assert pdf_text(f"Facture {LATE[0]} ({money(LATE[1], 'fr')}, échéance "
                    f"{(today - timedelta(days=20)).strftime('%d/%m/%Y')}) : pas encore mise "
                    "en demeure.") in summary
    # The letter in the dossier is the one posted.
    letters = [n for n in archive.namelist() if n.startswith("mise-en-demeure/")]
    assert [archive.read(n) for n in letters] == [task.pdf]
    # The request sheet: what the notice demanded, what is claimed today.
    sheet = archive.read("injonction-de-payer.txt").decode()
    demanded = dict(re.findall(r"- (MD-\d) émise .*montant mis en demeure " + AMOUNT, sheet))
    assert {n: _amount(a) for n, a in demanded.items()} == emailed
    assert f"Principal : {(sum(AMOUNTS.values()) - 50_000) // 100}," \
        f"{(sum(AMOUNTS.values()) - 50_000) % 100:02d} EUR" in sheet
    assert f"- {LATE[0]} échue le" in sheet and "pas encore mise en demeure" in sheet


@pytest.mark.parametrize("language", ["fr", "en"])
def test_before_the_deadline_refused_with_the_reason(any_app, smtp, maileva, fournier,
                                                     language):
    customer, notice_day, _notice = fournier
    user = db.session.scalar(select(User).where(User.email == "compta@atelier.example"))
    user.language = language
    db.session.commit()
    client = any_app.test_client()
    login(client)
    deadline = notice_day + timedelta(days=8)
    with clock.pin(deadline):  # the deadline's last day: still the debtor's
        page = client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
        refused = _hand_over(client, customer)
    page, refused = (text.replace("&#39;", "'") for text in (page, refused))
    day, last = notice_day.strftime("%d/%m/%Y"), deadline.strftime("%d/%m/%Y")
    if language == "fr":
        reason = (f"La mise en demeure du {day} laisse jusqu'au {last} pour payer : le "
                  "dossier pourra être transmis dès le lendemain.")
        assert "Transmettre le dossier" in page and reason in page
        assert "Dossier non transmis" in refused and reason in refused
        assert f"délai en cours jusqu'au {last}" in page
    else:
        reason = (f"The formal notice of {day} gives until {last} to pay: the file can be "
                  "handed over from the day after.")
        assert reason in page and "Not handed over" in refused and reason in refused
        assert f"deadline running until {last}" in page
    assert 'id="handoff-not-yet"' in page and "/handoff" not in page
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).handed_over_on is None
