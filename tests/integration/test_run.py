"""The reminder run through the CLI and real SMTP (aiosmtpd on loopback), on SQLite and PostgreSQL:
a scripted calendar, idempotency, grouping, escaping, tasks and letters, SMTP outages."""
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.links import verify_token
from portal.models import Event, Reminder, SentMessage, Task
from tests.conftest import make_customer, make_invoice, named
from tests.helpers import use_ladder


@pytest.fixture
def ledger(any_app):
    a = make_customer(name="Alice SARL", email="alice@example.org")
    b = make_customer(name="Bob & Co", email="bob@example.org")
    c = make_customer(name="<b>Dupont & Fils</b>", email="dupont@example.org", language="fr")
    make_invoice(a, "2026-03-02", 123_456, number="A-1")
    make_invoice(b, "2026-02-02", 50_000, number="B-1")
    make_invoice(b, "2026-02-20", 70_000, number="B-2")
    make_invoice(c, "2026-04-01", 10_000, number="C-1")
    db.session.commit()
    return {"alice": a, "bob": b, "dupont": c}


def set_smtp_port(app, port):
    app.config["MAIL_PORT"] = port
    app.extensions["mail"].port = port


def run(app, smtp, day, *extra):
    smtp.clear()
    result = app.test_cli_runner().invoke(args=["reminders", "run", "--date", day, *extra])
    got = []
    for m in smtp.messages:
        text = m.get_body(("plain",)).get_content()
        numbers = sorted(named(text))
        got.append((m["To"].split("@")[0], int(m["X-Relance-Level"]), numbers))
    return result, sorted(got)


def test_scripted_calendar(any_app, smtp, ledger):
    """The account ladder (shipped): Bob's two invoices climb one ladder together, from the day
    the first fell due, a week at least between two messages; each message names both."""
    expected = [
        ("2026-02-27", [("alice", 0, ["A-1"]), ("bob", 1, ["B-1", "B-2"])]),
        ("2026-02-28", []),  # Saturday
        ("2026-03-02", []),  # nothing reaches its date (7 days between reminders)
        # Bob's level 2 fell on Friday 6 (21 days after B-1 fell due, 7 after level 1), with no
        # run that day: the run of Monday 9 sends it, naming B-2 as well.
        ("2026-03-09", [("alice", 1, ["A-1"]), ("bob", 2, ["B-1", "B-2"])]),
        ("2026-03-09", []),  # same day again: nothing new
        ("2026-03-16", []),  # B-2 has no ladder of its own: nothing for Bob alone
        ("2026-03-23", [("alice", 2, ["A-1"])]),
        ("2026-03-30", [("bob", 3, ["B-1", "B-2"]), ("dupont", 0, ["C-1"])]),
    ]
    for day, messages in expected:
        result, got = run(any_app, smtp, day)
        assert result.exit_code == 0, result.output
        assert got == messages, day
    assert db.session.scalar(select(func.count()).select_from(Task)
                             .where(Task.kind == "call")) == 1


def test_scripted_calendar_per_invoice(any_app, smtp, ledger):
    """ladder = "invoice": each invoice climbs its own levels (Tryton's dunning)."""
    use_ladder("invoice")
    expected = [
        ("2026-02-27", [("alice", 0, ["A-1"]), ("bob", 1, ["B-1", "B-2"])]),
        ("2026-02-28", []),  # Saturday
        ("2026-03-02", []),  # nothing reaches its date (7 days between reminders)
        ("2026-03-09", [("alice", 1, ["A-1"]), ("bob", 2, ["B-1"])]),
        ("2026-03-09", []),  # same day again: nothing new
        ("2026-03-16", [("bob", 2, ["B-2"])]),
        ("2026-03-23", [("alice", 2, ["A-1"])]),
        ("2026-03-30", [("bob", 3, ["B-1"]), ("dupont", 0, ["C-1"])]),
    ]
    for day, messages in expected:
        result, got = run(any_app, smtp, day)
        assert result.exit_code == 0, result.output
        assert got == messages, day


def test_message_format(any_app, smtp, ledger):
    result, _ = run(any_app, smtp, "2026-02-27")
    assert "level 0 email: 1 sent" in result.output and "level 1 email: 1 sent" in result.output
    bob = smtp.to("bob@example.org")[0]
    assert "multipart/alternative" in [part.get_content_type() for part in bob.walk()]
    text = bob.get_body(("plain",)).get_content()
    html = bob.get_body(("html",)).get_content()
    link = next(w for w in text.split() if "/p/" in w)
    assert link in html
    assert verify_token(link.rsplit("/", 1)[1]).id == ledger["bob"].id
    assert "500,00\u00a0€" in text and "700,00\u00a0€" in text and "1\u202f200,00\u00a0€" in text
    assert bob["Reply-To"] == any_app.config["CREDITOR_EMAIL"]
    assert bob["Auto-Submitted"] == "auto-generated"
    rows = db.session.scalars(select(Reminder).where(Reminder.customer_id == ledger["bob"].id)).all()
    assert {r.message_id for r in rows} == {bob["Message-ID"]} and len(rows) == 2
    assert all(r.state == "sent" for r in rows)
    snapshot = db.session.get(SentMessage, bob["Message-ID"])
    assert snapshot.subject == bob["Subject"] and snapshot.level == 1
    assert "Bob &amp; Co" in snapshot.body_html and snapshot.body_text.split() == text.split()


def test_debtor_name_is_escaped_in_html(any_app, smtp, ledger):
    run(any_app, smtp, "2026-03-30")
    message = smtp.to("dupont@example.org")[0]
    html = message.get_body(("html",)).get_content()
    assert "&lt;b&gt;Dupont &amp; Fils&lt;/b&gt;" in html
    assert "<b>Dupont" not in html
    assert "<b>Dupont & Fils</b>" in message.get_body(("plain",)).get_content()


def test_penalties_call_task_and_formal_notice_letter(any_app, smtp, ledger):
    for day in ("2026-02-27", "2026-03-09", "2026-03-16", "2026-03-30"):
        run(any_app, smtp, day)
    level3 = smtp.to("bob@example.org")[0]
    text = level3.get_body(("plain",)).get_content()
    # B-1: 500.00 EUR, 56 days late at 12.15 %: 9.32 EUR interest + 40 EUR indemnity.
    assert "L441-10" in text and "49,32\u00a0€" in text
    call = db.session.scalar(select(Task).where(Task.kind == "call"))
    # One ladder for Bob's account: the call is about both invoices, what is late on them.
    assert call.details["invoices"] == ["B-1", "B-2"] and call.details["target_cents"] == 120_000
    result, got = run(any_app, smtp, "2026-04-08")
    assert ("bob", 4, ["B-1", "B-2"]) in got
    notice = smtp.to("bob@example.org")[0]
    assert "Mise en demeure" in notice["Subject"]
    pdfs = [p for p in notice.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdfs and pdfs[0].get_content().startswith(b"%PDF")
    letter = db.session.scalar(select(Task).where(Task.kind == "letter"))
    # The formal notice's e-mail and its letter name the same invoices.
    assert letter.pdf.startswith(b"%PDF") and letter.details["invoices"] == ["B-1", "B-2"]
    assert "level 4 letter: 1 queued" in result.output


def test_dry_run_and_preview_send_nothing(any_app, smtp, ledger):
    runner = any_app.test_cli_runner()
    preview = runner.invoke(args=["reminders", "preview", "--date", "2026-02-27"])
    assert "2 e-mail(s), 3 invoice(s)" in preview.output and "B-2  level 1" in preview.output
    dry = runner.invoke(args=["reminders", "run", "--date", "2026-02-27", "--dry-run"])
    assert "would send" in dry.output
    assert smtp.messages == [] and db.session.scalar(select(func.count(Reminder.id))) == 0
    _, got = run(any_app, smtp, "2026-02-27")
    assert len(got) == 2


def test_smtp_down_then_up_loses_nothing(any_app, smtp, ledger):
    port = any_app.config["MAIL_PORT"]
    set_smtp_port(any_app, 1)  # nothing listens there
    result, got = run(any_app, smtp, "2026-02-27")
    assert result.exit_code == 1 and got == []
    assert "cannot reach the mail server 127.0.0.1:1" in result.output
    assert "Nothing is lost" in result.output
    assert db.session.scalar(select(func.count()).select_from(Reminder)
                             .where(Reminder.state != "pending")) == 0
    set_smtp_port(any_app, port)
    result, got = run(any_app, smtp, "2026-03-02")  # the next run, on the next business day
    assert result.exit_code == 0
    assert got == [("alice", 0, ["A-1"]), ("bob", 1, ["B-1", "B-2"])]


def test_server_failing_mid_batch_keeps_the_rest_due(any_app, smtp, ledger):
    calls = []

    def refuse_second(message):
        calls.append(message["Message-ID"])
        if len(calls) == 2:
            return "451 4.3.0 Mail server temporarily overloaded"

    smtp.on_message = refuse_second
    result, got = run(any_app, smtp, "2026-02-27")
    assert result.exit_code == 1 and "451 4.3.0 Mail server temporarily overloaded" in result.output
    smtp.on_message = None
    sent_first = {m["Message-ID"] for m in smtp.messages[:1]}
    result, got = run(any_app, smtp, "2026-02-27")
    assert result.exit_code == 0
    assert len(got) == 1 and {m["Message-ID"] for m in smtp.messages}.isdisjoint(sent_first)
    assert db.session.scalar(select(func.count()).select_from(Reminder)
                             .where(Reminder.state == "sent")) == 3


def test_paid_meanwhile_is_not_reminded(any_app, smtp, ledger):
    from portal.bookkeeping import record_payment
    invoice = ledger["bob"].invoices[0]
    record_payment(customer=ledger["bob"], source="api", external_id="T1", amount_cents=50_000,
                   received_on=date(2026, 2, 2), invoices=[invoice])
    db.session.commit()
    _, got = run(any_app, smtp, "2026-02-27")
    assert ("bob", 1, ["B-2"]) in got


def test_payment_habits_shift_the_start(any_app, smtp, ledger):
    from portal.bookkeeping import record_payment
    invoice = ledger["bob"].invoices[0]
    # B-1 was paid 18 days late: Bob's habit shifts his reminders by 10 days (standard bound).
    record_payment(customer=ledger["bob"], source="api", external_id="T1", amount_cents=50_000,
                   received_on=date(2026, 2, 20), invoices=[invoice])
    db.session.commit()
    _, got = run(any_app, smtp, "2026-02-27")
    assert got == [("alice", 0, ["A-1"])]
    _, got = run(any_app, smtp, "2026-03-09")
    assert ("bob", 1, ["B-2"]) in got


def test_a_refused_address_does_not_stop_the_run(any_app, smtp, ledger):
    ledger["alice"].email = "bounce@example.org"
    db.session.commit()
    result, got = run(any_app, smtp, "2026-02-27")
    assert result.exit_code == 0, result.output
    assert got == [("bob", 1, ["B-1", "B-2"])]
    assert "1 e-mail(s) refused by the mail server" in result.output
    rejected = db.session.scalar(select(Event).where(Event.kind == "reminder_rejected"))
    assert rejected.customer_id == ledger["alice"].id and "550" in rejected.details["reason"]
    assert db.session.scalar(select(Reminder.state).where(Reminder.customer_id == rejected.customer_id)) == "failed"
    # The next level still comes (and level 3 will add a phone call): the schedule goes on.
    _, got = run(any_app, smtp, "2026-03-09")
    assert ("bob", 2, ["B-1", "B-2"]) in got
