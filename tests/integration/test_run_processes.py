"""The run as real processes (`flask reminders run`): a crash in the middle, and two runs at once
on PostgreSQL."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Reminder
from tests.conftest import _make_app, make_customer, make_invoice

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def flask_run(url, smtp_port, day, **env):
    environ = dict(os.environ, FLASK_APP="wsgi", DATABASE_URL=url, MAIL_PORT=str(smtp_port),
                   SECRET_KEY="test-secret", RELANCE_ENV="development", **env)
    environ.pop("MAIL_OUTBOX_DIR", None)
    return subprocess.Popen([sys.executable, "-m", "flask", "reminders", "run", "--date", day],
                            cwd=ROOT, env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def seed(customers, invoices_each=1):
    for n in range(customers):
        customer = make_customer(name=f"Client {n}", email=f"c{n}@example.org")
        for k in range(invoices_each):
            make_invoice(customer, "2026-02-02", 10_000 + n, number=f"P-{n}-{k}")
    db.session.commit()


@pytest.mark.parametrize("connections", [1, 4])
def test_a_crash_resends_at_most_the_messages_in_flight(app, smtp, sqlite_url, connections):
    """SIGKILL while the server holds the third message: on the next run every debtor is
    reminded, and only the messages in flight, at most one per connection, go out twice, each
    with the Message-ID it had."""
    seed(12)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    victim = {}

    def kill_on_third(message):
        if len(smtp.messages) == 3:
            os.kill(victim["pid"], signal.SIGKILL)  # before the server answers 250

    smtp.on_message = kill_on_third
    proc = flask_run(url, smtp.port, "2026-03-02", MAIL_CONNECTIONS=str(connections))
    victim["pid"] = proc.pid
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    smtp.on_message = None
    first = [m["Message-ID"] for m in smtp.messages]
    db.session.expire_all()
    recorded = db.session.scalar(select(func.count(Reminder.id)).where(Reminder.state == "sent"))
    in_flight = len(first) - recorded
    assert 1 <= in_flight <= connections
    again = flask_run(url, smtp.port, "2026-03-02", MAIL_CONNECTIONS=str(connections))
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(set(ids)) == 12  # every debtor reminded
    assert len(ids) == 12 + in_flight  # ...and only the messages in flight twice
    twice = {i for i in ids if ids.count(i) == 2}
    assert len(twice) == in_flight and twice <= set(first)  # with the same Message-ID
    assert db.session.scalar(select(func.count(Reminder.id)).where(Reminder.state == "sent")) == 12


def test_two_runs_at_once_send_each_reminder_once(any_db_url, smtp):
    app = _make_app(any_db_url, smtp.port)
    with app.app_context():
        seed(120, invoices_each=2)
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        lock = threading.Lock()

        def slow(message):  # make the two senders overlap
            with lock:
                time.sleep(0.002)

        smtp.on_message = slow
        procs = [flask_run(url, smtp.port, "2026-03-02", MAIL_BATCH_SIZE="10") for _ in range(2)]
        outputs = [p.communicate(timeout=120) for p in procs]
        for p, (out, err) in zip(procs, outputs):
            assert p.returncode == 0, err
        ids = [m["Message-ID"] for m in smtp.messages]
        assert len(ids) == 120 and len(set(ids)) == 120
        per_message = {}
        for m in smtp.messages:
            per_message[m["To"]] = per_message.get(m["To"], 0) + 1
        assert set(per_message.values()) == {1}
        db.session.expire_all()
        assert db.session.scalar(select(func.count(Reminder.id))
                                 .where(Reminder.state == "sent")) == 240
        sent_by = [int(o.split("level 1 email: ")[1].split()[0]) if "level 1 email" in o else 0
                   for o, _ in outputs]
        assert sum(sent_by) == 120
        print("messages sent by each process:", sent_by)
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
