"""The run reports itself (issue 23, item 4), through the public surface: `flask reminders run`
and `status` (CLI runner), `/healthz/run` and the dashboard (HTTP), the accountants' alert (real
SMTP, the sink), a run killed mid-way (a real process), on SQLite and PostgreSQL."""
import json
import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import clock
from portal.extensions import db
from portal.models import Creditor, RunAlert, RunLog
from portal.users import create_user
from tests.conftest import make_customer, make_invoice
from tests.helpers import CAL, PASSWORD, login

ACCOUNTANT = "compta@atelier.example"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["reminders", *args])


def days_ago(n):
    """The business day `n` business days before today."""
    day = clock.today()
    for _ in range(n):
        day -= timedelta(days=1)
        while not CAL.is_business_day(day):
            day -= timedelta(days=1)
    return day


@pytest.fixture
def books(any_app):
    """Two debtors overdue long enough for a first reminder, and an accountant of the
    creditor (who gets the alerts)."""
    create_user(ACCOUNTANT, PASSWORD, "accountant")
    a = make_customer(name="Alice SARL", email="alice@example.org")
    b = make_customer(name="Bob & Co", email="bob@example.org")
    make_invoice(a, clock.today() - timedelta(days=40), 123_456, number="A-1")
    make_invoice(b, clock.today() - timedelta(days=20), 50_000, number="B-1")
    db.session.commit()
    return any_app


def alerts(smtp):
    return [m for m in smtp.messages if m["X-Relance-Alert"]]


def test_each_run_is_recorded_with_what_it_sent(books, smtp):
    day = days_ago(0) if CAL.is_business_day(clock.today()) else days_ago(1)
    result = cli(books, "run", "--date", day.isoformat())
    assert result.exit_code == 0, result.output
    row = db.session.scalar(select(RunLog))
    assert (row.kind, row.run_date, row.outcome, row.error) == ("run", day, "succeeded", None)
    assert row.started_at.tzinfo is not None and row.finished_at >= row.started_at
    assert row.counts["channels"] == {"email": {"1": 2}} and row.failures == []
    status = cli(books, "status")
    assert status.exit_code == 0, status.output
    assert f"{day.isoformat()}  started" in status.output and "succeeded" in status.output
    assert "email L1: 2" in status.output and "not late" in status.output
    dry = cli(books, "run", "--date", day.isoformat(), "--dry-run")
    assert dry.exit_code == 0 and db.session.scalar(select(func.count(RunLog.id))) == 1


def refuse_reminders(message):
    """The relay defers the reminders (a 4xx: the run stops, what is left stays due) and
    accepts the alert."""
    return "451 4.3.0 Try again later" if message["X-Relance-Level"] else None


def test_a_failed_run_alerts_the_accountants_once_per_incident(books, smtp):
    other = Creditor(slug="bistro", name="Bistro", email="c@bistro.example")
    db.session.add(other)
    db.session.flush()
    create_user("other@bistro.example", PASSWORD, "accountant", [other])
    create_user("accounts@atelier.example", PASSWORD, "accountant").language = "en"
    db.session.commit()
    first, second = days_ago(2), days_ago(1)
    smtp.on_message = refuse_reminders
    for attempt in range(3):  # the cron retries: one alert
        result = cli(books, "run", "--date", first.isoformat(), "--creditor", "default")
        assert result.exit_code == 1, result.output
    failed = db.session.scalars(select(RunLog).order_by(RunLog.id)).all()
    assert [r.outcome for r in failed] == ["failed"] * 3
    assert failed[0].failures[0]["what"] == "email" and "451" in failed[0].failures[0]["reason"]
    alert, english = sorted(alerts(smtp), key=lambda m: m["To"] != ACCOUNTANT)
    assert alert["To"] == ACCOUNTANT and alert["X-Relance-Alert"] == "failed"
    assert "échoué" in alert["Subject"] and "Atelier" in alert["Subject"]
    assert english["To"] == "accounts@atelier.example"  # in the language she chose
    assert english["Subject"] == "Relance: the reminder run failed (Atelier Martin SARL)"
    text = alert.get_body(("plain",)).get_content()
    assert "451" in text and "status --creditor default" in text
    assert "alice@" not in text
    assert not [m for m in alerts(smtp) if "bistro" in m["To"]]  # not another creditor's
    # fixed: the next run sends each reminder once and succeeds
    smtp.on_message = None
    smtp.clear()
    assert cli(books, "run", "--date", first.isoformat()).exit_code == 0
    assert sorted(m["To"] for m in smtp.messages) == ["alice@example.org", "bob@example.org"]
    # a new failure after a success is a new incident: one more alert
    smtp.on_message = refuse_reminders
    make_invoice(make_customer(email="carol@example.org"), second - timedelta(days=8), 9_900)
    db.session.commit()
    smtp.clear()
    for attempt in range(2):
        assert cli(books, "run", "--date", second.isoformat()).exit_code == 1
    assert len(alerts(smtp)) == 2  # one for each language, once
    assert db.session.scalar(select(func.count(RunAlert.id))) == 2


def test_missed_days_alert_once_from_the_cron_line_and_the_next_run(books, smtp):
    assert cli(books, "run", "--date", days_ago(3).isoformat()).exit_code == 0
    smtp.clear()
    status = cli(books, "status", "--alert")
    assert status.exit_code == 1 and "LATE: no successful run since" in status.output
    assert f"alert e-mailed to {ACCOUNTANT}" in status.output
    [alert] = alerts(smtp)
    assert alert["X-Relance-Alert"] == "missing" and "aucune relance" in alert["Subject"].lower()
    again = cli(books, "status", "--alert")
    assert again.exit_code == 1
    assert "alert: already e-mailed for this incident on" in again.output
    assert cli(books, "run").exit_code == 0  # today's run: the cure, no mail
    assert len(alerts(smtp)) == 1
    assert cli(books, "status").exit_code == 0


def test_healthz_run_says_whether_the_run_is_late(books, smtp):
    client = books.test_client()
    fresh = client.get("/healthz/run")
    assert fresh.status_code == 200
    assert fresh.get_json() == {"late": False, "last_run": None, "last_success": None,
                                "creditors": 1, "late_creditors": 0}
    old = days_ago(3)
    assert cli(books, "run", "--date", old.isoformat()).exit_code == 0
    late = client.get("/healthz/run")
    assert late.status_code == 503 and late.headers["Cache-Control"] == "no-store"
    body = late.get_json()
    assert body["late"] is True and body["last_run"]["date"] == old.isoformat()
    assert body["last_run"]["outcome"] == "succeeded" and body["last_success"] == old.isoformat()
    text = json.dumps(body)
    for secret in ("Alice", "alice@", "A-1", "Atelier", "default", "1 234"):
        assert secret not in text
    assert cli(books, "run").exit_code == 0
    assert client.get("/healthz/run").status_code == 200
    assert client.get("/healthz/run?creditor=default").get_json()["late"] is False
    unknown = client.get("/healthz/run?creditor=nobody")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "unknown_creditor"
    assert client.get("/healthz").get_json() == {"status": "ok"}


@pytest.mark.parametrize("lang, words", [
    ("fr", ("Dernière relance automatique", "(échec)", "Niveau 1, e-mail : 2",
            "n'est pas allée jusqu'au bout")),
    ("en", ("Last reminder run", "(failure)", "Level 1, e-mail: 2", "did not finish")),
])
def test_the_dashboard_shows_the_last_run_and_warns(books, smtp, lang, words):
    client = books.test_client()
    login(client)
    page = client.get(f"/admin/dashboard?lang={lang}").get_data(as_text=True)
    assert 'id="run-warning"' not in page and words[0] in page
    day = days_ago(1)
    assert cli(books, "run", "--date", day.isoformat()).exit_code == 0
    page = client.get(f"/admin/dashboard?lang={lang}").get_data(as_text=True)
    assert words[2] in page and 'id="run-warning"' not in page
    smtp.on_message = refuse_reminders
    make_invoice(make_customer(email="carol@example.org"), day - timedelta(days=8), 9_900)
    db.session.commit()
    assert cli(books, "run", "--date", day.isoformat()).exit_code == 1
    page = client.get(f"/admin/dashboard?lang={lang}").get_data(as_text=True)
    assert 'id="run-warning"' in page and words[1] in page and words[3] in page
    assert "451" in page


def test_the_hourly_sms_command_is_recorded_too(books):
    result = cli(books, "sms")
    assert result.exit_code == 0, result.output
    row = db.session.scalar(select(RunLog))
    assert (row.kind, row.outcome) == ("sms", "succeeded")
    assert "[sms]" in cli(books, "status").output
    # the SMS command is not a run: it does not make the run "on time"
    assert db.session.scalar(select(func.count(RunLog.id)).where(RunLog.kind == "run")) == 0


def test_an_unexpected_error_closes_the_run_as_failed_and_alerts(books, smtp, monkeypatch):
    import reminders.run

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(reminders.run, "plan", broken)
    result = cli(books, "run", "--date", days_ago(1).isoformat())
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError)
    row = db.session.scalar(select(RunLog))
    assert row.outcome == "failed" and row.error == "RuntimeError: disk full"
    assert row.finished_at is not None
    [alert] = alerts(smtp)
    assert "disk full" in alert.get_body(("plain",)).get_content()


def flask_run(url, smtp_port, day):
    """`flask reminders run --date DAY` as a real process (as cron starts it)."""
    environ = dict(os.environ, FLASK_APP="wsgi", DATABASE_URL=url, MAIL_PORT=str(smtp_port),
                   SECRET_KEY="test-secret", RELANCE_ENV="development")
    environ.pop("MAIL_OUTBOX_DIR", None)
    return subprocess.Popen([sys.executable, "-m", "flask", "reminders", "run", "--date", day],
                            cwd=ROOT, env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_run_killed_midway_is_read_as_interrupted_then_closed(books, smtp):
    """SIGKILL while the relay holds the first message: the row stays "running", status and
    the dashboard call it interrupted, the next run closes it as failed and sends the rest."""
    day = days_ago(1).isoformat()
    victim = {}

    def kill_on_first(message):
        os.kill(victim["pid"], signal.SIGKILL)  # before the server answers 250

    smtp.on_message = kill_on_first
    proc = flask_run(books.config["SQLALCHEMY_DATABASE_URI"], smtp.port, day)
    victim["pid"] = proc.pid
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    smtp.on_message = None
    db.session.expire_all()
    row = db.session.scalar(select(RunLog))
    assert row.outcome == "running" and row.finished_at is None
    status = cli(books, "status")
    assert "interrupted" in status.output
    client = books.test_client()
    login(client)
    page = client.get("/admin/dashboard?lang=en").get_data(as_text=True)
    assert 'id="run-warning"' in page and "interrupted" in page
    smtp.clear()
    assert cli(books, "run", "--date", day).exit_code == 0
    db.session.expire_all()
    first, second = db.session.scalars(select(RunLog).order_by(RunLog.id)).all()
    assert first.outcome == "failed" and first.error.startswith("interrupted")
    assert second.outcome == "succeeded"
    assert {m["To"] for m in smtp.messages if m["X-Relance-Level"]} <= {
        "alice@example.org", "bob@example.org"}
