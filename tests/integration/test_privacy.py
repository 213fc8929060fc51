"""A debtor's personal data (RGPD), on SQLite and PostgreSQL: the rules without a request, the
erasure scanned over every text column of every table, the back office (export ZIP, erasure
with its confirmation, refusal while something is owed, another creditor's debtor a 404), the
retention sweep and the export from the command line, the retention period in the settings."""
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from flask_babel import force_locale
from sqlalchemy import JSON, LargeBinary, String, Text, func, select

from portal import clock, tenancy
from portal.extensions import db
from portal.bookkeeping import place_hold, record_event, release_hold
from portal.bookkeeping import record_payment
from portal.models import (Allocation, Attachment, BankCredit, Creditor, Customer, Event,
                           InstalmentPlan, Invoice, Payment, SentMessage, ShortLink, SmsMessage,
                           Task)
from portal.privacy import ERASED, erase, verdict
from portal.privacy.erase import ErasureRefused
from portal.privacy.rules import add_months
from portal.settings import current as current_settings
from portal.settings.document import SettingsInvalid, parse
from portal.settings.defaults import default_document
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.helpers import PASSWORD, csrf, login

NAME = "Josiane Vermeulen"
EMAIL = "josiane.vermeulen@courriel.example"
PHONE = "+33612345678"
ADDRESS = "12 rue des Lilas\n59000 Lille"
IP = "203.0.113.77"
# What must be gone after the erasure, wherever it was (compared case-insensitively).
TRACES = (NAME, "Vermeulen", EMAIL, PHONE, "rue des Lilas", IP, "cus_J0S1ANE")


def settled_debtor(today, ref="K-77"):
    """A consumer who owed 123.45 and 200.00 and paid both about a year ago, with a trace of
    her in every table that can hold one: messages, SMS, call and letter tasks, a note and its
    file, a hold's reason, a plan, a bank statement's line, the portal's visit."""
    customer = make_customer(ref=ref, name=NAME, email=EMAIL, phone=PHONE, address=ADDRESS,
                             debtor_type="consumer", stripe_customer_id="cus_J0S1ANE")
    year_ago = today - timedelta(days=380)
    first = make_invoice(customer, year_ago - timedelta(days=20), 12_345, number="V-1")
    second = make_invoice(customer, year_ago, 20_000, number="V-2")
    first.pdf = f"%PDF facture {NAME} {ADDRESS}".encode()
    record_payment(customer=customer, source="api", external_id="BANK-V1", amount_cents=12_345,
                   received_on=year_ago - timedelta(days=5), invoices=[first])
    paid = record_payment(customer=customer, source="bank", external_id="BANK-V2",
                          amount_cents=20_000, received_on=year_ago + timedelta(days=3),
                          invoices=[second]).payment
    at = datetime.now(timezone.utc) - timedelta(days=400)
    mid = "<relance-1@relance.example>"
    db.session.add_all([
        SentMessage(message_id=mid, customer_id=customer.id, level=1, sent_at=at,
                    recipients=EMAIL, subject=f"Relance : facture V-1 ({NAME})",
                    body_text=f"Bonjour {NAME},\nla facture V-1 est échue.",
                    body_html=f"<p>Bonjour {NAME}</p>"),
        SmsMessage(customer_id=customer.id, message_id=mid, level=1, to_number=PHONE,
                   body=f"{NAME}, facture V-1 échue", send_after=at, provider="twilio",
                   state="delivered"),
        Task(customer_id=customer.id, kind="call", level=3, due_on=year_ago, message_id=mid,
             details={"invoices": ["V-1"], "phone": PHONE, "target_cents": 12_345}),
        Task(customer_id=customer.id, kind="letter", level=4, due_on=year_ago, message_id=mid,
             details={"invoices": ["V-1"], "formal_notice": True},
             pdf=f"%PDF {NAME}\n{ADDRESS}".encode()),
        ShortLink(code="AbCd1234", customer_id=customer.id, token="signed-token"),
        InstalmentPlan(customer_id=customer.id, state="completed", count=2,
                       first_date=year_ago, reason=f"{NAME} : trésorerie tendue",
                       total_cents=12_345, accepted_at=at, accepted_ip=IP,
                       accepted_user_agent="Mozilla/5.0 (Vermeulen's phone)"),
        BankCredit(creditor_id=customer.creditor_id, external_id="BANK-V2",
                   amount_cents=20_000, booked_on=year_ago, debtor_name=NAME.upper(),
                   remittance=f"V-2 {NAME}", state="assigned", payment_id=paid.id)])
    kept = Attachment(customer_id=customer.id, filename=f"courrier-{NAME}.pdf",
                      media_type="application/pdf", size=20, data=f"Lettre de {NAME}".encode())
    db.session.add(kept)
    db.session.flush()
    record_event(customer.id, "reminder_sent", level=1, message_id=mid, invoices=["V-1"])
    record_event(customer.id, "sms_sent", level=1, to=PHONE, message_id=mid)
    record_event(customer.id, "message", actor="debtor", invoice_id=first.id, number="V-1",
                 reason="question", text=f"Ici {NAME}, rappelez-moi au {PHONE}")
    record_event(customer.id, "contact_changed", actor="accountant", by="compta@atelier.example",
                 before=["ancienne@courriel.example", "—"], after=[EMAIL, PHONE])
    record_event(customer.id, "note", actor="accountant", by="compta@atelier.example",
                 text=f"Mme Vermeulen a appelé", attachment_id=kept.id, filename=kept.filename)
    record_event(customer.id, "portal_visit", actor="debtor", user_agent=f"Mozilla {IP}")
    hold = place_hold(first, "manual_pause", year_ago, actor="accountant",
                      by="compta@atelier.example", number="V-1", reason=f"Litige {NAME}")
    release_hold(hold, actor="accountant", reason="lifted")
    db.session.commit()
    return customer


def traces():
    """(table.column, trace) of every trace of the debtor left in any text, JSON or binary
    column of any table."""
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON,
                                                                    LargeBinary))]
        for column in columns:
            for value in db.session.execute(select(column)).scalars():
                if value is None:
                    continue
                if isinstance(value, bytes):
                    text = value.decode("latin-1")
                elif isinstance(value, str):
                    text = value
                else:
                    text = json.dumps(value, ensure_ascii=False)
                found += [(f"{table.name}.{column.name}", t) for t in TRACES
                          if t.casefold() in text.casefold()]
    return found


def books():
    """What the books say: invoices (number, dates, total, status), payments, allocations."""
    return (db.session.execute(select(Invoice.number, Invoice.issue_date, Invoice.due_date,
                                      Invoice.total_cents, Invoice.status)
                               .order_by(Invoice.number)).all(),
            db.session.execute(select(Payment.external_id, Payment.amount_cents,
                                      Payment.received_on, Payment.state)
                               .order_by(Payment.external_id)).all(),
            db.session.scalar(select(func.sum(Allocation.amount_cents))))


def test_months_are_added_to_the_day_kept_where_the_month_has_it():
    from datetime import date
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 12, 7), 36) == date(2030, 12, 7)
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_the_retention_period_is_a_settings_key_checked_with_the_others():
    assert parse(default_document()).privacy.retention_months == 36
    older = {k: v for k, v in default_document().items() if k != "privacy"}
    assert parse(older).privacy.retention_months == 36  # a revision saved before the key
    for wrong in (0, 121, "36", True):
        document = dict(default_document(), privacy={"retention_months": wrong})
        with pytest.raises(SettingsInvalid) as caught:
            parse(document)
        assert [p for p, _ in caught.value.errors] == ["privacy.retention_months"], wrong
    with pytest.raises(SettingsInvalid) as caught:
        parse(dict(default_document(), privacy={"retention_months": 24, "keep": 1}))
    assert [p for p, _ in caught.value.errors] == ["privacy.keep"]


def test_erasure_leaves_no_trace_and_the_books_add_up(any_app, today):
    customer = settled_debtor(today)
    before_books, version = books(), customer.link_version
    assert {t for _, t in traces()} == set(TRACES)  # the scan sees every trace before
    found = verdict(customer, today, 36)
    assert found.on_request and not found.expired  # paid a year ago: 36 months not over
    assert found.settled_on == today - timedelta(days=377)

    assert erase(customer, today, "compta@atelier.example", 36, on_request=True) is True
    db.session.commit()
    assert traces() == []
    assert books() == before_books
    customer = db.session.get(Customer, customer.id)
    assert (customer.name, customer.email, customer.phone, customer.address) == (
        ERASED, "", None, None)
    assert customer.ref == "K-77" and customer.erased_at is not None
    assert customer.link_version == version + 1
    assert db.session.scalar(select(func.count()).select_from(ShortLink)) == 0
    message = db.session.scalar(select(SentMessage))
    assert (message.level, message.sent_at is not None, message.body_text) == (1, True, ERASED)
    events = {e.kind: e.details for e in db.session.scalars(select(Event))}
    assert events["message"] == {"number": "V-1", "reason": "question", "text": ERASED}
    assert events["reminder_sent"]["invoices"] == ["V-1"]
    assert events["data_erased"] == {"by": "compta@atelier.example", "on_request": True}
    # A second erasure changes nothing and says so.
    assert erase(customer, today, "compta@atelier.example", 36, on_request=True) is False
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(Event.kind == "data_erased")) == 1


def test_refused_while_anything_is_owed_and_before_the_period_for_the_sweep(any_app, today):
    customer = make_customer(name=NAME, email=EMAIL, debtor_type="consumer")
    invoice = make_invoice(customer, today - timedelta(days=10), 5_000, number="W-1")
    db.session.commit()
    assert [code for code, _ in verdict(customer, today, 36).owed] == ["balance"]
    with pytest.raises(ErasureRefused) as refused:
        erase(customer, today, "compta@atelier.example", 36, on_request=True)
    db.session.rollback()
    with force_locale("en"):  # no request here: the words in a language named
        assert str(refused.value) == "invoices still owe 50.00 EUR"
    # Paid by a SEPA debit still clearing: nothing owed on paper, but the money may not come.
    record_payment(customer=customer, source="stripe", external_id="pi_1", amount_cents=5_000,
                   received_on=today, invoices=[invoice], state="pending")
    plan = InstalmentPlan(customer_id=customer.id, state="approved", count=2, first_date=today,
                          total_cents=5_000, accepted_at=datetime.now(timezone.utc))
    db.session.add(plan)
    db.session.commit()
    assert [c for c, _ in verdict(customer, today, 36).owed] == ["balance", "plan", "payment"]
    plan.state = "completed"
    record_payment(customer=customer, source="api", external_id="T-1", amount_cents=6_000,
                   received_on=today, invoices=[invoice])
    db.session.commit()
    assert [c for c, _ in verdict(customer, today, 36).owed] == ["payment", "credit"]
    db.session.get(Payment, db.session.scalar(select(Payment.id).where(
        Payment.external_id == "pi_1"))).state = "failed"
    db.session.commit()
    assert [c for c, _ in verdict(customer, today, 36).owed] == ["credit"]
    db.session.execute(Payment.__table__.update().where(Payment.external_id == "T-1")
                       .values(refunded_cents=1_000))
    db.session.commit()
    found = verdict(customer, today, 36)
    assert found.on_request and not found.expired
    with pytest.raises(ErasureRefused) as refused:
        erase(customer, today, "relance", 36)  # the sweep's door: not before the period
    db.session.rollback()
    with force_locale("en"):
        assert str(refused.value) == (f"The retention period runs until "
                                      f"{add_months(today, 36).strftime('%d/%m/%Y')}.")
    assert db.session.get(Customer, customer.id).name == NAME


def _accountant(any_app):
    create_user("compta@atelier.example", PASSWORD, "accountant")
    db.session.commit()
    client = any_app.test_client()
    assert login(client).status_code == 302
    return client


def test_back_office_export_zip(any_app, today):
    customer = settled_debtor(today)
    client = _accountant(any_app)
    page = client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
    assert "Exporter les données" in page and "Effacer les données personnelles" in page
    response = client.post(f"/admin/customers/{customer.id}/privacy/export",
                           data={"csrf_token": csrf(page)})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert f'filename="donnees-K-77-{today.isoformat()}.zip"' in \
        response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = set(archive.namelist())
    assert {"LISEZMOI.txt", "identite.json", "identite.txt", "factures.csv", "factures/V-1.pdf",
            "factures/V-2.pdf", "paiements.csv", "echeanciers.json", "sms.csv",
            "historique.csv", "historique.json", "notes.csv"} <= names
    identity = json.loads(archive.read("identite.json"))
    assert (identity["name"], identity["email"], identity["phone"]) == (NAME, EMAIL, PHONE)
    assert "Nom : " + NAME in archive.read("identite.txt").decode() or \
        f"Nom: {NAME}" in archive.read("identite.txt").decode()
    eml = [n for n in names if n.startswith("messages/")]
    assert eml == [f"messages/{(datetime.now(timezone.utc) - timedelta(days=400)).date()}"
                   "-niveau-1-1.eml"]
    assert f"Bonjour {NAME}" in archive.read(eml[0]).decode()
    assert [n for n in names if n.startswith("courriers/")] and \
        [n for n in names if n.startswith("pieces-jointes/")] == [
            f"pieces-jointes/{db.session.scalar(select(Attachment.id))}-courrier-Josiane_"
            "Vermeulen.pdf"]
    invoices = archive.read("factures.csv").decode("utf-8-sig").splitlines()
    assert invoices[1].split(",")[:1] + invoices[1].split(",")[4:] == [
        "V-1", "123.45", "123.45", "0.00", "paid"]
    timeline = archive.read("historique.csv").decode("utf-8-sig")
    assert "Relance niveau 1 envoyée par e-mail" in timeline  # the page's sentence, too
    assert archive.read("notes.csv").decode("utf-8-sig").count("Mme Vermeulen a appelé") == 1
    # The export is on the timeline: who, when.
    assert db.session.scalar(select(Event.details).where(Event.kind == "data_exported")) == {
        "by": "compta@atelier.example"}
    # Without the form's token: refused, nothing given.
    assert client.post(f"/admin/customers/{customer.id}/privacy/export").status_code == 400


def test_back_office_erasure_with_confirmation(any_app, today):
    customer = settled_debtor(today)
    before_books = books()
    client = _accountant(any_app)
    url = f"/admin/customers/{customer.id}/privacy/erase"
    page = client.get(url).get_data(as_text=True)
    assert "Ce qui sera effacé" in page and "Ce qui est conservé" in page
    assert "L123-22" in page and "323,45" in page  # 123.45 + 200.00 kept
    assert "si le débiteur l" in page  # the period runs: erase only on request
    # Not confirmed: nothing erased.
    answer = client.post(url, data={"csrf_token": csrf(page)}, follow_redirects=True)
    assert "Cochez la case" in answer.get_data(as_text=True)
    assert db.session.get(Customer, customer.id).erased_at is None
    answer = client.post(url, data={"csrf_token": csrf(page), "confirm": "yes"})
    assert answer.status_code == 302 and answer.location.endswith(f"/admin/customers/"
                                                                  f"{customer.id}")
    db.session.expire_all()
    assert traces() == [] and books() == before_books
    page = client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
    assert "Données personnelles effacées le" in page and NAME not in page
    event = db.session.scalar(select(Event).where(Event.kind == "data_erased"))
    assert (event.actor, event.details["by"]) == ("accountant", "compta@atelier.example")


def test_back_office_refuses_while_owed_and_says_why(any_app, today):
    customer = make_customer(name=NAME, email=EMAIL, debtor_type="consumer")
    make_invoice(customer, today - timedelta(days=10), 5_000, number="W-1")
    db.session.commit()
    client = _accountant(any_app)
    url = f"/admin/customers/{customer.id}/privacy/erase"
    page = client.get(url).get_data(as_text=True)
    assert "Effacement impossible" in page and "50.00 EUR" in page
    assert 'name="confirm"' not in page
    answer = client.post(url, data={"csrf_token": csrf(page), "confirm": "yes"},
                         follow_redirects=True)
    assert "Non effacé" in answer.get_data(as_text=True)
    assert db.session.get(Customer, customer.id).name == NAME


def test_another_creditors_debtor_is_a_404(any_app, today):
    other = Creditor(slug="bistro", name="Bistro Lyonnais SARL", email="c@bistro.example")
    db.session.add(other)
    db.session.flush()
    other = other.id
    with tenancy.scope(other):
        theirs = settled_debtor(today, ref="B-1").id
    client = _accountant(any_app)  # granted the first creditor only
    db.session.remove()  # as a real request: nothing of the setup in its session
    token = csrf(client.get("/admin/").get_data(as_text=True))
    base = f"/admin/customers/{theirs}/privacy"
    assert client.get(base + "/erase").status_code == 404
    assert client.post(base + "/erase", data={"csrf_token": token,
                                              "confirm": "yes"}).status_code == 404
    assert client.post(base + "/export", data={"csrf_token": token}).status_code == 404
    with tenancy.scope(other):
        assert db.session.get(Customer, theirs).name == NAME


def test_retention_sweep_from_the_command_line(any_app, today, tmp_path):
    customer = settled_debtor(today)
    owing = make_customer(ref="K-78", name="Owen Owing", email="owen@example.org")
    make_invoice(owing, today - timedelta(days=2000), 9_900, number="W-9")
    db.session.commit()
    runner = any_app.test_cli_runner()
    settled = today - timedelta(days=377)
    # The period not over: nothing to erase.
    result = runner.invoke(args=["debtors", "erase-expired"])
    assert result.exit_code == 0, result.output
    assert result.output == f"default: 0 debtor(s) erased on {today.isoformat()}.\n"
    later = add_months(settled, 36)
    with clock.pin(later - timedelta(days=1)):  # the eve of the day: not yet
        result = runner.invoke(args=["debtors", "erase-expired"])
        assert "default: 0 debtor(s) erased" in result.output
    with clock.pin(later):
        result = runner.invoke(args=["debtors", "erase-expired", "--dry-run"])
        assert result.output == (f"default: would erase K-77 (last settled {settled}, 36 "
                                 f"months)\ndefault: 1 debtor(s) would erase on {later}.\n")
        assert db.session.get(Customer, customer.id).erased_at is None
        result = runner.invoke(args=["debtors", "erase-expired", "--creditor", "default"])
        assert result.exit_code == 0, result.output
        assert "default: erased K-77" in result.output
        result = runner.invoke(args=["debtors", "erase-expired"])  # once only
        assert "default: 0 debtor(s) erased" in result.output
    db.session.expire_all()
    assert traces() == []
    assert db.session.get(Customer, owing.id).name == "Owen Owing"  # owes: kept
    event = db.session.scalar(select(Event).where(Event.kind == "data_erased"))
    assert (event.actor, event.details) == ("system", {"by": "relance", "on_request": False})
    assert runner.invoke(args=["debtors", "erase-expired", "--creditor", "nope"]).exit_code == 1


def test_export_from_the_command_line(any_app, today, tmp_path):
    settled_debtor(today)
    runner = any_app.test_cli_runner()
    path = tmp_path / "k77.zip"
    result = runner.invoke(args=["debtors", "export", "K-77", "--creditor", "default",
                                 "-o", str(path)])
    assert result.exit_code == 0, result.output
    archive = zipfile.ZipFile(path)
    assert json.loads(archive.read("identite.json"))["email"] == EMAIL
    assert "Relance niveau 1 envoyée par e-mail" in archive.read("historique.csv").decode()
    result = runner.invoke(args=["debtors", "export", "NOPE", "-o", str(path)])
    assert result.exit_code == 1 and "no debtor 'NOPE'" in result.output


def test_the_retention_period_is_edited_on_the_settings_page(any_app):
    client = _accountant(any_app)
    page = client.get("/admin/settings").get_data(as_text=True)
    assert 'name="retention_months"' in page and 'value="36"' in page
    answer = client.post("/admin/settings/privacy", data={"csrf_token": csrf(page),
                                                          "retention_months": "0"},
                         follow_redirects=True)
    assert "de 1 à 120" in answer.get_data(as_text=True)
    assert current_settings().privacy.retention_months == 36
    answer = client.post("/admin/settings/privacy", data={"csrf_token": csrf(page),
                                                          "retention_months": "24"})
    assert answer.status_code == 302
    db.session.expire_all()
    from portal import settings
    settings.forget()
    assert settings.current().privacy.retention_months == 24
    assert "retention_months = 24" in any_app.test_cli_runner().invoke(
        args=["settings", "export"]).output


def test_an_import_that_names_the_debtor_again_can_be_erased_again(any_app, today, tmp_path):
    """The accounting tool sends the old invoice again, with the name: the identity is back
    (imports update the customer), and the debtor may be erased again, not "already erased"."""
    customer = settled_debtor(today)
    assert erase(customer, today, "compta@atelier.example", 36, on_request=True)
    db.session.commit()
    v1 = db.session.scalar(select(Invoice).where(Invoice.number == "V-1"))
    path = tmp_path / "again.csv"
    path.write_text("customer_ref,customer_name,email,language,invoice_number,issue_date,"
                    f"due_date,amount,amount_paid\nK-77,{NAME},{EMAIL},fr,V-1,"
                    f"{v1.issue_date},{v1.due_date},123.45,123.45\n", encoding="utf-8")
    result = any_app.test_cli_runner().invoke(args=["invoices", "import", str(path)])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    customer = db.session.get(Customer, customer.id)
    assert customer.name == NAME and not verdict(customer, today, 36).erased
    assert erase(customer, today, "compta@atelier.example", 36, on_request=True) is True
    db.session.commit()
    assert traces() == []
