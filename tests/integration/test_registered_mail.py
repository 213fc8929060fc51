"""The formal notice as a registered letter through Maileva's API (Relance's own client over
real HTTP to a local stand-in of that API), on SQLite and PostgreSQL: handed over by the run,
followed to its deposit proof and delivery (by the run and by Maileva's callbacks), kept on the
timeline; refused or unreachable, nothing is lost and the accountant can still post it."""
from datetime import date

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Attachment, Event, Task
from tests.conftest import make_customer, make_invoice

DUE = date(2026, 1, 5)
LEVELS = [date(2026, 1, 12), date(2026, 1, 26), date(2026, 2, 25)]  # levels 1 to 3
NOTICE = date(2026, 3, 6)  # level 4, the formal notice: letter + e-mail


def run(app, day):
    return app.test_cli_runner().invoke(args=["reminders", "run", "--date", day.isoformat()])


@pytest.fixture
def girard(any_app, smtp, maileva):
    customer = make_customer(name="Menuiserie Girard", email="girard@example.org",
                             address="Bâtiment B, 12 rue des Tanneurs, 69002 Lyon")
    make_invoice(customer, DUE, 123_456, number="G-1")
    db.session.commit()
    for day in LEVELS:
        assert run(any_app, day).exit_code == 0
    return customer


def kinds(customer):
    return [e.kind for e in db.session.scalars(
        select(Event).where(Event.customer_id == customer.id).order_by(Event.id))]


def test_the_formal_notice_goes_by_registered_letter_and_comes_back_with_its_proof(
        any_app, smtp, maileva, girard):
    smtp.clear()
    result = run(any_app, NOTICE)
    assert result.exit_code == 0, result.output
    assert "1 handed to the postal provider" in result.output
    assert len(smtp.to("girard")) == 1  # the e-mail of the formal notice goes too
    [(sending_id, sending)] = maileva.sendings.items()
    assert sending["status"] == "PENDING" and sending["acknowledgement_of_receipt"] is True
    [document] = sending["documents"]
    assert document["pdf"].startswith(b"%PDF")
    [recipient] = sending["recipients"]
    assert [recipient[f"address_line_{i}"] for i in (1, 3, 4, 6)] == [
        "Menuiserie Girard", "Bâtiment B", "12 rue des Tanneurs", "69002 Lyon"]
    assert (sending["sender_address_line_1"], sending["sender_address_line_6"]) == (
        "Atelier Martin SARL", "69002 Lyon")
    task = db.session.scalar(select(Task).where(Task.kind == "letter"))
    assert task.state == "sent" and task.details["sending_id"] == sending_id
    assert "letter_posted" in kinds(girard)
    # Not on the accountant's list: the provider posts it.
    from portal.backoffice.inbox import inbox_items as collect
    assert not [i for i in collect(NOTICE) if i.kind == "letter"]

    # La Poste accepts it; the next run reads it back (no callback needed).
    maileva.advance(sending_id, "ACCEPTED")
    assert run(any_app, date(2026, 3, 9)).exit_code == 0
    statuses = db.session.scalars(select(Event).where(Event.kind == "letter_status")
                                  .order_by(Event.id)).all()
    assert [e.details["status"] for e in statuses] == ["PENDING", "ACCEPTED"]
    assert statuses[-1].details["registered_number"] == "1A 123 456 7890 1"

    # Printed and posted, then delivered: Maileva's callback brings the proof at once.
    maileva.advance(sending_id, "PROCESSED")
    maileva.deliver(sending_id, "Distribué")
    client = any_app.test_client()
    from portal.webhooks.post import callback_key
    url = f"/post/maileva/default/{callback_key('default', any_app.config['SECRET_KEY'])}"
    body = maileva.notification(sending_id, "ON_DEPOSIT_PROOF_RECEIVED")
    answer = client.post(url, json=body)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert client.post(url, json=body).status_code == 200  # replayed: nothing new
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert task.state == "done" and task.details["delivery"] == "Distribué"
    [proof] = db.session.scalars(select(Attachment)).all()
    assert proof.data.startswith(b"%PDF") and proof.filename.startswith("preuve-de-depot-")
    assert kinds(girard).count("letter_deposit_proof") == 1
    assert kinds(girard).count("letter_delivery") == 1
    # The hand-over dossier takes the deposit proof with the formal notice.
    from portal.handover import proofs
    assert proofs(db.session.get(type(girard), girard.id)) == [(proof, "La Poste 1A 123 456 "
                                                                      "7890 1")]


def test_the_callback_is_only_a_hint(any_app, smtp, maileva, girard):
    run(any_app, NOTICE)
    [sending_id] = maileva.sendings
    client = any_app.test_client()
    assert client.post("/post/maileva/default/not-the-key",
                       json=maileva.notification(sending_id, "ON_STATUS_PROCESSED")
                       ).status_code == 404
    from portal.webhooks.post import callback_key
    url = f"/post/maileva/default/{callback_key('default', any_app.config['SECRET_KEY'])}"
    # A body that says "processed" changes nothing: Maileva itself says PENDING.
    assert client.post(url, json=maileva.notification(sending_id, "ON_STATUS_PROCESSED")
                       ).status_code == 200
    assert db.session.scalar(select(Task.state).where(Task.kind == "letter")) == "sent"
    assert client.post(url, json=maileva.notification("other", "ON_STATUS_PROCESSED")
                       ).get_json()["status"] == "unknown sending"
    assert client.post(url, data="not json").status_code == 400


def test_no_address_the_accountant_posts_it(any_app, smtp, maileva):
    customer = make_customer(name="Garage Roux", email="roux@example.org", address=None)
    make_invoice(customer, DUE, 20_000, number="R-1")
    db.session.commit()
    for day in LEVELS:
        run(any_app, day)
    result = run(any_app, NOTICE)
    assert result.exit_code == 0, result.output
    assert "1 refused by the provider" in result.output and maileva.sendings == {}
    task = db.session.scalar(select(Task).where(Task.kind == "letter"))
    assert task.state == "open" and "no postal address" in task.details["refused"]
    from portal.backoffice.inbox import inbox_items as collect
    assert "letter" in [i.kind for i in collect(NOTICE)
                        if i.customer and i.customer.id == customer.id]
    reason = db.session.scalar(select(Event).where(Event.kind == "letter_not_posted"))
    assert "no postal address on file" in reason.details["reason"]


def test_an_outage_keeps_the_letter_for_the_next_run(any_app, smtp, maileva, girard):
    maileva.outage = True
    result = run(any_app, NOTICE)
    assert result.exit_code == 1
    assert "registered letters not sent: Maileva answered 503" in result.output
    assert db.session.scalar(select(Task.state).where(Task.kind == "letter")) == "to_send"
    maileva.outage = False
    assert run(any_app, date(2026, 3, 9)).exit_code == 0
    assert len(maileva.sendings) == 1
    assert db.session.scalar(select(Task.state).where(Task.kind == "letter")) == "sent"


def test_wrong_credentials_say_what_to_check(any_app, smtp, maileva, girard):
    maileva.user = ("compta", "another password")
    result = run(any_app, NOTICE)
    assert result.exit_code == 1 and "check the credentials" in result.output
    assert maileva.sendings == {}


def test_the_accountant_reads_the_letter_and_downloads_its_proof(app, client, accountant, smtp,
                                                                 maileva):
    from tests.helpers import login
    customer = make_customer(name="Menuiserie Girard", email="girard@example.org",
                             address="12 rue des Tanneurs, 69002 Lyon")
    make_invoice(customer, DUE, 123_456, number="G-1")
    db.session.commit()
    for day in LEVELS + [NOTICE]:
        assert run(app, day).exit_code == 0
    [sending_id] = maileva.sendings
    maileva.advance(sending_id, "PROCESSED")
    maileva.deliver(sending_id, "Distribué")
    assert run(app, date(2026, 3, 9)).exit_code == 0
    login(client)
    page = client.get(f"/admin/customers/{customer.id}").get_data(as_text=True)
    assert "Lettre préparée pour le prestataire postal — G-1" in page
    assert "Lettre recommandée confiée à Maileva (niveau 4) — G-1" in page
    assert "Lettre recommandée 1A 123 456 7890 1 : imprimée et remise à La Poste" in page
    assert "Lettre recommandée 1A 123 456 7890 1 : Distribué" in page
    assert "Preuve de dépôt de la lettre recommandée 1A 123 456 7890 1" in page
    proof = db.session.scalar(select(Attachment))
    download = client.get(f"/admin/attachments/{proof.id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    listed = app.test_cli_runner().invoke(args=["creditors", "list"]).output
    assert "registered letters by Maileva (callbacks http://portal.test/post/maileva/default/" \
        in listed


def test_an_answer_lost_after_submitting_never_makes_a_second_letter(any_app, smtp, maileva,
                                                                      girard):
    maileva.fail_submit_once = True  # Maileva takes the letter, its answer is lost
    result = run(any_app, NOTICE)
    assert result.exit_code == 1 and "Maileva answered 504" in result.output
    task = db.session.scalar(select(Task).where(Task.kind == "letter"))
    assert task.state == "submitting" and task.details["sending_id"] in maileva.sendings
    assert run(any_app, date(2026, 3, 9)).exit_code == 0  # Maileva says it is PENDING
    assert len(maileva.sendings) == 1
    db.session.expire_all()
    assert db.session.get(Task, task.id).state == "sent"


def test_the_delivery_is_followed_after_the_deposit_proof(any_app, smtp, maileva, girard):
    run(any_app, NOTICE)
    [sending_id] = maileva.sendings
    maileva.advance(sending_id, "PROCESSED")
    assert run(any_app, date(2026, 3, 9)).exit_code == 0
    assert db.session.scalar(select(Task.state).where(Task.kind == "letter")) == "sent"
    maileva.deliver(sending_id, "Avisé et non réclamé")  # the receipt comes back days later
    assert run(any_app, date(2026, 3, 23)).exit_code == 0
    delivery = db.session.scalar(select(Event).where(Event.kind == "letter_delivery"))
    assert delivery.details["status"] == "Avisé et non réclamé"
    assert db.session.scalar(select(Task.state).where(Task.kind == "letter")) == "done"


def test_a_sending_cancelled_or_forgotten_goes_back_to_the_accountant(any_app, smtp, maileva,
                                                                       girard):
    from portal.backoffice.inbox import inbox_items
    run(any_app, NOTICE)
    [sending_id] = maileva.sendings
    maileva.advance(sending_id, "CANCELED")
    assert run(any_app, date(2026, 3, 9)).exit_code == 0
    assert db.session.scalar(select(Task.state).where(Task.kind == "letter")) == "open"
    assert [i for i in inbox_items(date(2026, 3, 9)) if i.kind == "letter"]
    reason = db.session.scalar(select(Event).where(Event.kind == "letter_not_posted"))
    assert reason.details["reason"] == "Maileva: CANCELED"


def test_a_sending_maileva_no_longer_knows_stops_nothing(any_app, smtp, maileva, girard):
    run(any_app, NOTICE)
    [sending_id] = maileva.sendings
    del maileva.sendings[sending_id]  # purged on Maileva's side
    from portal.webhooks.post import callback_key
    url = f"/post/maileva/default/{callback_key('default', any_app.config['SECRET_KEY'])}"
    task_id = db.session.scalar(select(Task.id).where(Task.kind == "letter"))
    answer = any_app.test_client().post(url, json=maileva.notification(sending_id, "X"))
    assert answer.status_code == 200
    db.session.expire_all()
    task = db.session.get(Task, task_id)
    assert task.state == "open" and "no longer answers" in task.details["refused"]
    assert run(any_app, date(2026, 3, 9)).exit_code == 0
