"""SMS through the official `twilio` package to a local stand-in of Twilio's API (real HTTP), on
SQLite and PostgreSQL: the level that asks for it sends it with its e-mail, within the allowed
hours (a run at 21:00 sends it at 08:00 the next allowed day), never twice; STOP replies and the
provider's refusals opt the debtor out; delivery reports land on the timeline; the short link
opens the portal until the debtor's links are revoked."""
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal import clock, tenancy
from portal.extensions import db
from portal.models import Customer, Event, Reminder, SmsMessage
from portal.rules.sms_length import length
from tests.conftest import make_customer, make_invoice
from tests.helpers import use_ladder

PARIS = ZoneInfo("Europe/Paris")
DUE = date(2026, 3, 2)  # a Monday: level 1 on 03-09, level 2 (e-mail + SMS) on 03-23
LEVEL_1, LEVEL_2 = date(2026, 3, 9), date(2026, 3, 23)


def at(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), PARIS)


@pytest.fixture
def girard(any_app, smtp, twilio):
    customer = make_customer(name="Menuiserie Girard", email="girard@example.org",
                             phone="06 12 34 56 78")
    make_invoice(customer, DUE, 123_456, number="G-1")
    db.session.commit()
    return customer


def run(app, day, instant, *extra):
    with clock.pin_instant(instant):
        return app.test_cli_runner().invoke(args=["reminders", "run", "--date", day.isoformat(),
                                                  *extra])


def kinds(customer):
    return [e.kind for e in db.session.scalars(
        select(Event).where(Event.customer_id == customer.id).order_by(Event.id))]


def test_the_level_that_asks_for_it_sends_an_sms_with_its_email(any_app, smtp, twilio, girard):
    result = run(any_app, LEVEL_1, at(LEVEL_1, 10))
    assert result.exit_code == 0, result.output
    assert twilio.messages == []  # level 1 is e-mail only
    result = run(any_app, LEVEL_2, at(LEVEL_2, 10))
    assert result.exit_code == 0, result.output
    assert "level 2 sms: 1 queued" in result.output and "SMS: 1 sent" in result.output
    [sms] = twilio.messages
    assert sms["to"] == "+33612345678" and sms["from"] == twilio.sender
    assert sms["status_callback"] == "http://portal.test/sms/twilio/default/status"
    body = sms["body"]
    # True facts: the creditor, the invoice, the amount, the days late, the deadline (8 days).
    assert body.startswith("Atelier Martin SARL : facture G-1 impayée (1 234,56 €, 21 j de "
                           "retard). A régler avant le 31/03/2026.\nPayer ou répondre : "
                           "http://portal.test/s/")
    assert length(body).segments == 1
    assert "\u202f" not in body and "\xa0" not in body  # plain spaces: one GSM-7 segment each
    [row] = db.session.scalars(select(SmsMessage)).all()
    assert (row.state, row.level, row.provider_id) == ("sent", 2, sms["sid"])
    assert kinds(girard)[-1] == "sms_sent"
    # The hand-over dossier lists the SMS with the e-mail of level 2.
    from portal.handover.facts import history
    from portal.handover import claim
    sent = history(claim(db.session.get(Customer, girard.id), LEVEL_2)).reminders
    assert [(s.level, s.channels) for s in sent] == [(1, ["email"]), (2, ["email", "sms"])]
    # "What gets paid" tells the reminders that went with an SMS from the others.
    assert db.session.scalars(select(Reminder.channel).order_by(Reminder.level)).all() == [
        "email", "email+sms"]
    # The same day again: nothing new, by e-mail or SMS.
    smtp.clear()
    assert run(any_app, LEVEL_2, at(LEVEL_2, 11)).exit_code == 0
    assert len(twilio.messages) == 1 and smtp.messages == []


def test_a_run_at_21_00_sends_the_sms_at_the_next_allowed_time(any_app, smtp, twilio, girard):
    run(any_app, LEVEL_1, at(LEVEL_1, 10))
    result = run(any_app, LEVEL_2, at(LEVEL_2, 21))
    assert result.exit_code == 0, result.output
    assert len(smtp.to("girard")) == 2  # the e-mail goes at once
    assert twilio.messages == [] and "1 waiting for the allowed hours" in result.output
    [row] = db.session.scalars(select(SmsMessage)).all()
    assert row.state == "queued" and row.send_after == at(date(2026, 3, 24), 8)
    runner = any_app.test_cli_runner()
    with clock.pin_instant(at(date(2026, 3, 24), 7, 59)):
        waiting = runner.invoke(args=["reminders", "sms"]).output
    assert "1 waiting for the allowed hours" in waiting and "from 2026-03-24 08:00" in waiting
    assert twilio.messages == []
    with clock.pin_instant(at(date(2026, 3, 24), 8)):
        result = runner.invoke(args=["reminders", "sms"])
    assert result.exit_code == 0 and "SMS: 1 sent" in result.output
    assert len(twilio.messages) == 1


def test_stop_reply_opts_the_debtor_out_and_is_respected(any_app, smtp, twilio, girard):
    use_ladder("invoice")  # G-2 climbs its own levels: a second level 2, after STOP
    later = make_invoice(girard, LEVEL_1, 10_000, number="G-2")  # its level 2 comes on 03-30
    db.session.commit()
    for day in (LEVEL_1, date(2026, 3, 16), LEVEL_2):
        assert run(any_app, day, at(day, 10)).exit_code == 0
    assert len(twilio.messages) == 1  # G-1's level 2
    path, form, headers = twilio.inbound("http://portal.test/sms/twilio/default/inbound",
                                         "+33612345678", "Stop")
    answer = any_app.test_client().post(path, data=form, headers=headers)
    assert answer.status_code == 200 and answer.mimetype == "text/xml"
    db.session.expire_all()
    assert db.session.get(Customer, girard.id).sms_opt_out_by == "debtor"
    assert "sms_opted_out" in kinds(girard)
    smtp.clear()
    result = run(any_app, date(2026, 3, 30), at(date(2026, 3, 30), 10))
    assert result.exit_code == 0, result.output
    [mail] = smtp.to("girard")
    assert mail["X-Relance-Level"] == "2" and later.number in mail.get_body(("plain",)).get_content()
    assert len(twilio.messages) == 1  # no SMS after STOP
    event = db.session.scalar(select(Event).where(Event.kind == "sms_not_sent"))
    assert event.details["reason"] == "the debtor asked for no more SMS"


def test_a_reply_that_is_not_stop_lands_on_the_timeline(any_app, twilio, girard):
    run(any_app, LEVEL_1, at(LEVEL_1, 10))
    run(any_app, LEVEL_2, at(LEVEL_2, 10))
    path, form, headers = twilio.inbound("http://portal.test/sms/twilio/default/inbound",
                                         "+33612345678", "Je paie vendredi <b>promis</b>")
    assert any_app.test_client().post(path, data=form, headers=headers).status_code == 200
    reply = db.session.scalar(select(Event).where(Event.kind == "sms_reply"))
    assert reply.details["text"] == "Je paie vendredi <b>promis</b>" and reply.actor == "debtor"
    assert db.session.get(Customer, girard.id).sms_opt_out_at is None


def test_provider_refusal_for_a_stopped_number_opts_out(any_app, smtp, twilio, girard):
    twilio.stopped.add("+33612345678")  # the debtor said STOP to Twilio's number earlier
    run(any_app, LEVEL_1, at(LEVEL_1, 10))
    result = run(any_app, LEVEL_2, at(LEVEL_2, 10))
    assert result.exit_code == 0, result.output
    assert "1 refused by the provider" in result.output
    row = db.session.scalar(select(SmsMessage))
    assert row.state == "failed" and "21610" in row.error
    db.session.expire_all()
    assert db.session.get(Customer, girard.id).sms_opt_out_by == "provider"
    assert {"sms_failed", "sms_opted_out"} <= set(kinds(girard))


def test_delivery_reports_are_signed_applied_once_and_shown(any_app, twilio, girard):
    run(any_app, LEVEL_1, at(LEVEL_1, 10))
    run(any_app, LEVEL_2, at(LEVEL_2, 10))
    client = any_app.test_client()
    sid = twilio.messages[0]["sid"]
    path, form, headers = twilio.status_callback(sid, "delivered")
    forged = client.post(path, data=dict(form, MessageStatus="failed"), headers=headers)
    assert forged.status_code == 403  # the signature covers the fields
    assert client.post(path, data=form).status_code == 403  # no signature
    assert client.post(path, data=form, headers=headers).status_code == 200
    assert client.post(path, data=form, headers=headers).status_code == 200  # replayed
    assert db.session.scalar(select(SmsMessage.state)) == "delivered"
    assert kinds(girard).count("sms_delivered") == 1
    late = twilio.status_callback(sid, "sent")  # a late report never goes backwards
    assert client.post(late[0], data=late[1], headers=late[2]).status_code == 200
    assert db.session.scalar(select(SmsMessage.state)) == "delivered"
    assert client.post("/sms/twilio/nobody/status", data=form,
                       headers=headers).status_code == 404


def test_the_short_link_opens_the_portal_until_links_are_revoked(any_app, twilio,
                                                                  girard):
    run(any_app, LEVEL_1, at(LEVEL_1, 10))
    run(any_app, LEVEL_2, at(LEVEL_2, 10))
    link = next(w for w in twilio.messages[0]["body"].split() if "/s/" in w)
    code = link.rsplit("/", 1)[1]
    assert len(code) == 8
    client = any_app.test_client()
    answer = client.get(f"/s/{code}")
    assert answer.status_code == 302 and answer.location.startswith("/p/")
    page = client.get(answer.location)
    assert page.status_code == 200 and "G-1" in page.get_data(as_text=True)
    assert client.get("/s/AAAAAAAA").status_code == 404
    assert client.get("/s/" + "x" * 40).status_code == 404
    customer = db.session.get(Customer, girard.id)
    customer.link_version += 1  # what "revoke every link" does in the back office
    db.session.commit()
    answer = client.get(f"/s/{code}")
    assert client.get(answer.location).status_code == 404


def test_a_provider_outage_keeps_the_sms_queued(any_app, smtp, twilio, girard):
    run(any_app, LEVEL_1, at(LEVEL_1, 10))
    twilio.outage = True
    result = run(any_app, LEVEL_2, at(LEVEL_2, 10))
    assert result.exit_code == 1
    assert "SMS not sent: Twilio answered 503" in result.output
    assert len(smtp.to("girard")) == 2  # the e-mails are not held back by the SMS
    assert db.session.scalar(select(SmsMessage.state)) == "queued"
    twilio.outage = False
    with clock.pin_instant(at(LEVEL_2, 11)):
        result = any_app.test_cli_runner().invoke(args=["reminders", "sms"])
    assert result.exit_code == 0 and len(twilio.messages) == 1


def test_no_mobile_no_sms_and_the_timeline_says_why(any_app, smtp, twilio):
    use_ladder("invoice")  # two level-2 reminders of one debtor, one per invoice
    landline = make_customer(name="Bureau Vallée", email="bv@example.org",
                             phone="04 78 00 00 00")
    make_invoice(landline, DUE, 50_000, number="L-1")
    db.session.commit()
    run(any_app, LEVEL_1, at(LEVEL_1, 10))
    result = run(any_app, LEVEL_2, at(LEVEL_2, 10))
    assert result.exit_code == 0 and twilio.messages == []
    assert len(smtp.to("bv@")) == 2
    event = db.session.scalar(select(Event).where(Event.kind == "sms_not_sent"))
    assert event.details["reason"] == "no mobile number on file"
    # Said once: the next level 2 of this debtor does not repeat it.
    make_invoice(landline, LEVEL_1, 30_000, number="L-2")
    db.session.commit()
    for day in (date(2026, 3, 16), date(2026, 3, 30)):
        assert run(any_app, day, at(day, 10)).exit_code == 0
    assert len(db.session.scalars(select(Reminder.id).where(
        Reminder.customer_id == landline.id, Reminder.level == 2,
        Reminder.state == "sent")).all()) == 2  # two level-2 reminders, one explanation
    assert kinds(landline).count("sms_not_sent") == 1


def test_without_a_provider_level_2_is_an_email_as_before(any_app, smtp):
    customer = make_customer(name="Menuiserie Girard", email="girard@example.org",
                             phone="06 12 34 56 78")
    make_invoice(customer, DUE, 123_456, number="G-1")
    db.session.commit()
    run(any_app, LEVEL_1, at(LEVEL_1, 10))
    result = run(any_app, LEVEL_2, at(LEVEL_2, 10))
    assert result.exit_code == 0 and "sms" not in result.output.lower()
    assert db.session.scalars(select(SmsMessage)).all() == []
    assert "sms_not_sent" not in kinds(customer)  # no provider: nothing to explain


# -- the accountant's side ---------------------------------------------------------------------

def test_the_debtor_page_shows_and_switches_sms(any_app, smtp, twilio):
    from portal.users import create_user
    from tests.helpers import PASSWORD, csrf, login
    app, client = any_app, any_app.test_client()
    create_user("compta@atelier.example", PASSWORD, "accountant")
    customer = make_customer(name="Menuiserie Girard", email="girard@example.org",
                             phone="06 12 34 56 78")
    make_invoice(customer, DUE, 123_456, number="G-1")
    db.session.commit()
    run(app, LEVEL_1, at(LEVEL_1, 10))
    run(app, LEVEL_2, at(LEVEL_2, 10))
    login(client)
    url = f"/admin/customers/{customer.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Les SMS partent au +33612345678" in page
    assert "SMS envoyé au +33612345678 (niveau 2, 1 segment(s))" in page
    assert client.post(f"{url}/sms-off", data={}).status_code == 400  # no CSRF token
    answer = client.post(f"{url}/sms-off", data={"csrf_token": csrf(page)})
    assert answer.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Pas de SMS : arrêtés par le service comptable le" in page
    db.session.expire_all()
    assert db.session.get(Customer, customer.id).sms_opt_out_by == "accountant"
    assert "Plus de SMS (décidé par compta@atelier.example)" in page
    client.post(f"{url}/sms-on", data={"csrf_token": csrf(page)})
    page = client.get(url).get_data(as_text=True)
    assert "Les SMS partent au +33612345678" in page and "SMS de nouveau autorisés" in page


def test_the_editor_shows_the_sms_and_its_segments_and_refuses_a_long_one(
        app, client, accountant, twilio):
    from tests.helpers import csrf, login
    from portal import settings
    customer = make_customer(name="Menuiserie Girard", email="girard@example.org",
                             phone="06 12 34 56 78")
    make_invoice(customer, clock.today(), 123_456, number="G-1")
    db.session.commit()
    login(client)
    url = "/admin/settings/templates/firm/fr"
    page = client.get(url).get_data(as_text=True)
    assert 'name="sms"' in page and "160 caractères" in page
    assert "1 segment (GSM-7, 160 caractères par segment)" in page
    assert "http://portal.test/s/AbCd1234" in page  # a short link of this installation
    cordial = client.get("/admin/settings/templates/cordial/fr").get_data(as_text=True)
    assert 'name="sms"' not in cordial  # no level sends an SMS with it
    fields = dict(settings.current().template("firm", "fr"), csrf_token=csrf(page),
                  action="save", sms="{{ debtor.name }} " * 60 + "{{ link }}")
    refused = client.post(url, data=fields).get_data(as_text=True)
    assert "the SMS takes" in refused and "keep it within 3" in refused
    assert not settings.revisions()


def test_an_email_refused_by_the_relay_still_gets_its_sms(any_app, smtp, twilio):
    customer = make_customer(name="Garage Roux", email="bounce@example.org",
                             phone="07 81 23 45 67")
    make_invoice(customer, DUE, 20_000, number="R-1")
    db.session.commit()
    run(any_app, LEVEL_1, at(LEVEL_1, 10))
    result = run(any_app, LEVEL_2, at(LEVEL_2, 10))
    assert result.exit_code == 0, result.output
    assert "refused by the mail server" in result.output
    [sms] = twilio.messages
    assert sms["to"] == "+33781234567" and "R-1" in sms["body"]


def test_each_creditor_sends_through_its_own_twilio_account(any_app, smtp, twilio):
    """A second creditor set up from the command line: its own account, sender and callback
    address; the first keeps the installation's SMS_* settings."""
    from portal.models import Creditor
    other_account, other_token = "AC" + "1" * 32, "other-token"
    twilio.add_account(other_account, other_token)
    runner = any_app.test_cli_runner()
    made = runner.invoke(args=["creditors", "create", "bistro", "--name", "Bistro Lyonnais",
                               "--sms-provider", "twilio", "--sms-account", other_account,
                               "--sms-token", other_token, "--sms-sender", "BISTRO"])
    assert made.exit_code == 0, made.output
    bad = runner.invoke(args=["creditors", "set", "bistro", "--sms-provider", "carrier"])
    assert bad.exit_code == 1 and "--sms-provider: one of twilio, outbox" in bad.output
    listed = runner.invoke(args=["creditors", "list"]).output
    assert "SMS by twilio (callbacks http://portal.test/sms/twilio/bistro/status" in listed
    bistro = db.session.scalar(select(Creditor).where(Creditor.slug == "bistro"))
    for creditor_id, name in ((None, "Menuiserie Girard"), (bistro.id, "Primeurs Zanetti")):
        customer = make_customer(name=name, email=f"{name[:4].lower()}@example.org",
                                 phone="06 12 34 56 78",
                                 **({"creditor_id": creditor_id} if creditor_id else {}))
        make_invoice(customer, DUE, 10_000)
    db.session.commit()
    run(any_app, LEVEL_1, at(LEVEL_1, 10))
    assert run(any_app, LEVEL_2, at(LEVEL_2, 10)).exit_code == 0
    mine, theirs = sorted(twilio.messages, key=lambda m: m["account_sid"])
    assert mine["account_sid"] == twilio.account and mine["from"] == twilio.sender
    assert mine["body"].startswith("Atelier Martin SARL :")
    assert theirs["account_sid"] == other_account and theirs["from"] == "BISTRO"
    assert theirs["body"].startswith("Bistro Lyonnais :")
    assert theirs["status_callback"] == "http://portal.test/sms/twilio/bistro/status"
    path, form, headers = twilio.status_callback(theirs["sid"], "delivered")
    client = any_app.test_client()
    # The first creditor's token does not sign for the second's address.
    forged = twilio._signed("http://portal.test/sms/twilio/bistro/status", form, twilio.account)
    assert client.post(path, data=form, headers=forged[2]).status_code == 403
    assert client.post(path, data=form, headers=headers).status_code == 200
    with tenancy.scope(bistro.id):
        assert db.session.scalar(select(SmsMessage.state)) == "delivered"


def test_outside_the_allowed_hours_nothing_goes_even_what_was_due(any_app, smtp, twilio,
                                                                   girard):
    run(any_app, LEVEL_1, at(LEVEL_1, 10))
    twilio.outage = True  # due at 10:00 on Monday, held back by the outage
    assert run(any_app, LEVEL_2, at(LEVEL_2, 10)).exit_code == 1
    twilio.outage = False
    sunday = date(2026, 3, 29)
    with clock.pin_instant(at(sunday, 23, 30)):
        result = any_app.test_cli_runner().invoke(args=["reminders", "sms"])
    assert result.exit_code == 0 and twilio.messages == []
    assert "from 2026-03-30 08:00" in result.output
    with clock.pin_instant(at(date(2026, 3, 30), 8)):
        assert "SMS: 1 sent" in any_app.test_cli_runner().invoke(args=["reminders", "sms"]).output


def test_an_sms_waiting_for_the_morning_does_not_go_once_paid(any_app, smtp, twilio, girard):
    from portal.bookkeeping import record_payment
    from portal.models import Invoice
    run(any_app, LEVEL_1, at(LEVEL_1, 10))
    run(any_app, LEVEL_2, at(LEVEL_2, 21))
    invoice = db.session.scalar(select(Invoice).where(Invoice.number == "G-1"))
    record_payment(customer=db.session.get(Customer, girard.id), source="api",
                   external_id="paid-at-22", amount_cents=123_456, received_on=LEVEL_2,
                   invoices=[invoice])
    db.session.commit()
    with clock.pin_instant(at(date(2026, 3, 24), 8, 5)):
        result = any_app.test_cli_runner().invoke(args=["reminders", "sms"])
    assert result.exit_code == 0 and twilio.messages == []
    assert db.session.scalar(select(SmsMessage.state)) == "cancelled"
    assert db.session.scalar(select(Event).where(Event.kind == "sms_not_sent")
                             ).details["reason"] == "paid or on hold since the reminder"


def test_a_refusal_about_the_sender_keeps_the_sms_queued(any_app, smtp, twilio, girard):
    twilio.refuse_sender = 21606  # "From" is not SMS-capable: the account's setup, not the debtor
    run(any_app, LEVEL_1, at(LEVEL_1, 10))
    result = run(any_app, LEVEL_2, at(LEVEL_2, 10))
    assert result.exit_code == 1 and "error 21606" in result.output
    assert db.session.scalar(select(SmsMessage.state)) == "queued"
    twilio.refuse_sender = None
    with clock.pin_instant(at(LEVEL_2, 11)):
        any_app.test_cli_runner().invoke(args=["reminders", "sms"])
    assert len(twilio.messages) == 1


def test_no_answer_in_time_is_never_sent_twice(any_app, smtp, twilio, girard):
    any_app.config["SMS_TIMEOUT"] = 1
    twilio.slow_once = 3  # Twilio takes it, answers too late
    run(any_app, LEVEL_1, at(LEVEL_1, 10))
    result = run(any_app, LEVEL_2, at(LEVEL_2, 10))
    assert result.exit_code == 1 and "may have been sent" in result.output
    with clock.pin_instant(at(LEVEL_2, 11)):
        any_app.test_cli_runner().invoke(args=["reminders", "sms"])
    assert len(twilio.messages) == 1
    assert db.session.scalar(select(SmsMessage.state)) == "unknown"
