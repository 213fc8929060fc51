"""The hand-over's rules without a request: eligibility and its reasons, the claim's amounts to
the day (the same figures as `portal.rules.penalties`, consumers' interest from the formal
notice), safe names in the ZIP, and the case closing when the claimed invoices are paid by
any source (here the CSV/bank path through `record_payment`)."""
import io
import zipfile

from pypdf import PdfReader
from datetime import timedelta

import pytest
from portal.handover.dossier import safe_name
from portal.extensions import db
from portal.handover import HandoffRefused, claim, dossier_zip, eligible, hand_over
from portal.bookkeeping import place_hold, record_event, record_payment
from portal.models import Reminder, Task, utcnow
from portal.settings import current as current_settings
from portal.rules.penalties import penalty_for
from tests.conftest import make_customer, make_invoice


@pytest.fixture(autouse=True)
def _words(any_app):
    """The reasons are words, read in a request's language (French by default)."""
    with any_app.test_request_context("/?lang=en"):
        yield


def _notice(customer, invoice, on, level=4):
    """What the run leaves when it sends the formal notice (level 4 of the default policy)."""
    db.session.add(Reminder(customer_id=customer.id, invoice_id=invoice.id, level=level,
                            state="sent", scheduled_for=on, sent_at=utcnow(),
                            message_id=f"<n.{invoice.id}.{level}@test>"))
    db.session.flush()


def _debtor(today, debtor_type="business"):
    customer = make_customer(name="Rules SARL", debtor_type=debtor_type)
    invoice = make_invoice(customer, today - timedelta(days=90), 250_000, number="R-1")
    return customer, invoice


def test_eligibility_says_why_not(any_app, today):
    customer, invoice = _debtor(today)
    verdict = eligible(customer, today)
    assert not verdict.ok and "formal notice" in verdict.reason
    _notice(customer, invoice, today - timedelta(days=8), level=3)  # not the formal notice
    assert not eligible(customer, today).ok
    _notice(customer, invoice, today - timedelta(days=8))
    verdict = eligible(customer, today)  # deadline = today: the debtor still has today
    assert not verdict.ok and "day after" in verdict.reason
    assert eligible(customer, today + timedelta(days=1)).ok
    with pytest.raises(HandoffRefused):
        hand_over(customer, today, by="x@example.org", to="bailiff")
    with pytest.raises(HandoffRefused):
        hand_over(customer, today + timedelta(days=1), by="x@example.org", to="elsewhere")
    record_payment(customer=customer, source="csv", external_id="T-1", amount_cents=250_000,
                   received_on=today, invoices=[invoice])
    verdict = eligible(customer, today + timedelta(days=1))
    assert not verdict.ok and "owes nothing" in verdict.reason


@pytest.mark.parametrize("debtor_type", ["business", "consumer", "public"])
def test_claim_amounts_to_the_day_are_the_penalties(any_app, today, debtor_type):
    customer, invoice = _debtor(today, debtor_type)
    record_payment(customer=customer, source="csv", external_id="P-1", amount_cents=50_000,
                   received_on=today, invoices=[invoice])
    notice_on = today - timedelta(days=30)
    _notice(customer, invoice, notice_on)
    legal = current_settings().legal
    for as_of in (today, today + timedelta(days=1), today + timedelta(days=200)):
        line, = claim(customer, as_of).lines
        expected = penalty_for(debtor_type, 200_000, invoice.due_date, as_of, legal.rates,
                               contract_rate_percent=legal.contract_rate_percent,
                               indemnity_cents=legal.indemnity_cents,
                               formal_notice_on=notice_on)
        assert (line.balance_cents, line.paid_cents) == (200_000, 50_000)
        assert (line.interest_cents, line.indemnity_cents, line.days_late) == (
            expected.interest_cents, expected.indemnity_cents, expected.days_late)
        assert line.interest_cents > 0  # a consumer's too: the formal notice was sent
    assert claim(customer, today + timedelta(days=1)).lines[0].interest_cents < \
        claim(customer, today + timedelta(days=200)).lines[0].interest_cents
    if debtor_type == "consumer":
        assert line.indemnity_cents == 0


def test_names_in_the_zip_are_safe_and_a_paid_claim_closes(any_app, today):
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("..") == "fichier" and safe_name("F/2026\\01") == "F_2026_01"
    customer, invoice = _debtor(today)
    invoice.number = "../../x"
    other = make_invoice(customer, today - timedelta(days=40), 10_000, number="R-2")
    _notice(customer, invoice, today - timedelta(days=20))
    kept = hand_over(customer, today, by="x@example.org", to="bailiff")
    names = zipfile.ZipFile(io.BytesIO(kept.data)).namelist()
    assert "factures/x.pdf" in names
    assert "factures/R-2.pdf" not in names  # never formally noticed: left out, said so
    assert all(not n.startswith(("/", "..")) and "/../" not in n for n in names)
    assert customer.handed_over_on == today and customer.handover["to"] == "bailiff"
    assert customer.handover["left_out"] == ["R-2"]
    with pytest.raises(HandoffRefused):  # once only
        hand_over(customer, today, by="x@example.org", to="bailiff")
    record_payment(customer=customer, source="csv", external_id="B-2", amount_cents=10_000,
                   received_on=today, invoices=[other])
    assert customer.handed_over_on == today  # the claimed invoice is still owed
    record_payment(customer=customer, source="csv", external_id="B-1", amount_cents=250_000,
                   received_on=today, invoices=[invoice])
    assert customer.handed_over_on is None and customer.handover["closed_on"] == \
        today.isoformat()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_answers_and_broken_promises_in_the_summary(any_app, today, language):
    customer, invoice = _debtor(today)
    customer.language = language
    place_hold(invoice, "promise", today - timedelta(days=60), until=today - timedelta(days=45),
               actor="debtor")
    record_event(customer.id, "message", actor="debtor", invoice_id=invoice.id,
                 reason="other", text="Nous payerons bientôt")
    _notice(customer, invoice, today - timedelta(days=20))
    archive = zipfile.ZipFile(io.BytesIO(dossier_zip(customer, today)))
    summary = "\n".join(p.extract_text() for p in PdfReader(
        io.BytesIO(archive.read("resume.pdf"))).pages)
    promised = (today - timedelta(days=45)).strftime("%d/%m/%Y")
    if language == "fr":
        assert f"Promesse de paiement pour le {promised} (R-1)" in summary
        assert f"pour le {promised} (R-1) : non tenue" in summary
        assert "Nous payerons bient" in summary and "Dossier de recouvrement" in summary
    else:
        assert f"Promised to pay on {promised} (R-1)" in summary
        assert f"for {promised} (R-1): broken" in summary and "Collection file" in summary


def test_what_the_letter_stated_is_what_the_dossier_says(any_app, today):
    """Where the run kept the letter's facts (`reminders.letters.stated`, on the letter
    task), the notice's invoices, deadline and amounts are those, whatever the policy or the
    ledger say since; an invoice the e-mail listed but the letter did not name is left out."""
    customer, invoice = _debtor(today)
    other = make_invoice(customer, today - timedelta(days=80), 40_000, number="R-2")
    on = today - timedelta(days=20)
    for row in (invoice, other):
        db.session.add(Reminder(customer_id=customer.id, invoice_id=row.id, level=4,
                                state="sent", scheduled_for=on, sent_at=utcnow(),
                                message_id="<letter@test>"))
    stated = dict(on=on.isoformat(), deadline=(today - timedelta(days=2)).isoformat(),
                  total_cents=240_000, penalties_cents=0,
                  invoices=[dict(number="R-1", total_cents=250_000, balance_cents=240_000,
                                 currency="EUR", due_date=invoice.due_date.isoformat(),
                                 days_late=70, penalty_cents=0)])
    db.session.add(Task(customer_id=customer.id, kind="letter", level=4, due_on=on,
                        message_id="<letter@test>", pdf=b"%PDF-1.4 letter",
                        details=dict(formal_notice=True, invoices=["R-1"], stated=stated)))
    db.session.flush()
    found = claim(customer, today)
    line, = found.lines
    assert line.invoice == invoice and line.notice.deadline == today - timedelta(days=2)
    assert (line.demanded_cents, line.balance_cents, line.changed) == (240_000, 250_000, True)
    assert [(s.invoice, s.state) for s in found.apart] == [(other, "not_noticed")]
    assert not eligible(customer, today - timedelta(days=2)).ok  # the stated deadline's day
    assert eligible(customer, today - timedelta(days=1)).ok
