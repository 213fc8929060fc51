"""Fixtures: an app on SQLite (and on PostgreSQL where it answers), a loopback SMTP server that
records what it receives, factories for customers and invoices."""
import email
import functools
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from datetime import date
from email import policy as email_policy

import pytest
from aiosmtpd.controller import Controller
from flask import g
from flask.testing import FlaskClient
from jinja2 import BytecodeCache

from portal import clock, create_app
from portal.config import TestConfig
from portal.extensions import db
from portal.models import Customer, Invoice
from portal.settings import ensure_creditor
from tests.schema import empty_schema

PG_URL = os.environ.get("RELANCE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_pg_reason = None


def pg_available():
    """None when PostgreSQL answers, else the reason to skip (CI sets RELANCE_REQUIRE_PG=1 to
    turn that skip into a failure)."""
    global _pg_reason
    if _pg_reason is None:
        try:
            import psycopg
            with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=3):
                _pg_reason = ""
        except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
            _pg_reason = f"PostgreSQL at {PG_URL} does not answer ({exc.__class__.__name__})"
    return _pg_reason or None


def require_pg():
    reason = pg_available()
    if reason:
        if os.environ.get("RELANCE_REQUIRE_PG") == "1":
            pytest.fail(f"{reason}, and RELANCE_REQUIRE_PG=1 (CI) requires it")
        pytest.skip(reason)


class Sink:
    """What the loopback SMTP server received, parsed."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.on_message = None  # optional callback(message) run before answering 250

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email_policy.default)
        with self.lock:
            self.messages.append(message)
        if self.on_message:
            answer = self.on_message(message)
            if answer:
                return answer
        return "250 OK"

    def clear(self):
        with self.lock:
            self.messages.clear()

    def to(self, address):
        return [m for m in self.messages if address in m["To"]]


def named(text):
    """The invoice numbers a message names, as whole words, links left out: a signed token is
    random-looking text that can contain "B-1" by chance (it did, under faketime)."""
    return set(re.findall(r"(?<![\w-])[A-Z]{1,4}-\d+(?![\w-])",
                          re.sub(r"https?://\S+", " ", text)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    sink = Sink()
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


class FreshClient(FlaskClient):
    """The fixtures keep an application context open (for db.session), which Flask would share
    with every request of the test client; start each request with an empty `g`, as a real
    request has (no logged-in user, CSRF token or debtor left over from the previous one)."""

    def open(self, *args, **kwargs):
        for name in list(g):
            g.pop(name)
        return super().open(*args, **kwargs)


class SharedBytecode(BytecodeCache):
    """Each test's app has its own Jinja environment, which compiled every page it rendered
    again (a fifth of an integration test's time). Keep the compiled code in memory for the
    whole session, as Jinja's file cache does across processes: a bucket is keyed by the
    template's name and path and checked against its source, so an edited page compiles again.
    Every app here comes from the same `create_app`, with the same Jinja settings."""

    def __init__(self):
        self.compiled = {}

    def load_bytecode(self, bucket):
        code = self.compiled.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED_PAGES = SharedBytecode()


def _make_app(url, smtp_port=1, **overrides):
    """An app on `url`, its database emptied to the models' schema (built once per session:
    tests/schema.py) with the first creditor in it."""
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": url, "MAIL_PORT": smtp_port,
                                  **overrides})
    app.test_client_class = FreshClient
    app.jinja_env.bytecode_cache = _COMPILED_PAGES
    with app.app_context():
        empty_schema(url)
        ensure_creditor()  # as `flask init-db` makes it: the first creditor, from CREDITOR_*
        db.session.commit()
    return app


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db_url(request, tmp_path):
    """Run the test on SQLite and on PostgreSQL."""
    if request.param == "postgres":
        require_pg()
        return PG_URL
    return f"sqlite:///{tmp_path / 'relance.db'}"


@pytest.fixture(autouse=True)
def today():
    """The creditor's date, pinned for the whole test (portal.clock.pin): a test that runs
    across midnight in Paris sees one day. Tests that need the date take this fixture."""
    with clock.pin(clock.today()) as day:
        yield day


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'relance.db'}"


def _smtp_port(request):
    """The loopback SMTP sink's port when the test asked for one; else nothing listens (the
    test configuration's port 1), so a test that sends by mistake fails."""
    return request.getfixturevalue("smtp").port if "smtp" in request.fixturenames else 1


@pytest.fixture
def twilio():
    """A local stand-in of Twilio's API (tests/standins/twilio_api.py); a test that asks for
    it gets an app whose first creditor sends SMS through the real `twilio` client to it."""
    from tests.standins.twilio_api import TwilioStandIn
    standin = TwilioStandIn()
    standin.base = standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def maileva():
    """A local stand-in of Maileva's registered-mail API (tests/standins/maileva_api.py); a
    test that asks for it gets an app whose first creditor sends its letters through it."""
    from tests.standins.maileva_api import MailevaStandIn
    standin = MailevaStandIn()
    standin.base = standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def localstripe(tmp_path):
    """A localstripe server (a Stripe-compatible API) on a free port, started clean."""
    binary = shutil.which("localstripe") or os.path.join(os.path.dirname(os.sys.executable),
                                                         "localstripe")
    if not os.path.exists(binary):
        pytest.skip("localstripe is not installed (make test installs it)")
    port = free_port()
    env = dict(os.environ, HOME=str(tmp_path))
    if os.path.exists("/tmp/localstripe.pickle"):
        os.remove("/tmp/localstripe.pickle")  # it keeps its state there: start clean
    proc = subprocess.Popen([binary, "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("localstripe did not start")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def _overrides(request):
    found = {}
    if "twilio" in request.fixturenames:
        twilio = request.getfixturevalue("twilio")
        found.update(SMS_PROVIDER="twilio", SMS_ACCOUNT=twilio.account, SMS_TOKEN=twilio.token,
                     SMS_SENDER=twilio.sender, TWILIO_API_BASE=twilio.base)
    if "maileva" in request.fixturenames:
        maileva = request.getfixturevalue("maileva")
        found.update(POST_PROVIDER="maileva", POST_CLIENT_ID=maileva.client[0],
                     POST_CLIENT_SECRET=maileva.client[1], POST_USERNAME=maileva.user[0],
                     POST_PASSWORD=maileva.user[1], MAILEVA_API_BASE=maileva.base,
                     MAILEVA_AUTH_URL=maileva.base + "/auth/token")
    return found


@pytest.fixture
def app(request, sqlite_url):
    app = _make_app(sqlite_url, _smtp_port(request), **_overrides(request))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def any_app(request, any_db_url):
    app = _make_app(any_db_url, _smtp_port(request), **_overrides(request))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()  # the rows stay: the next test's _make_app empties the database


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def any_client(any_app):
    return any_app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def accountant(app):
    """A back-office accountant, compta@atelier.example, password tests.helpers.PASSWORD."""
    from portal import users
    from tests.helpers import PASSWORD
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "generate_password_hash", _password_hash)
        user = users.create_user("compta@atelier.example", PASSWORD, "accountant")
    db.session.commit()
    return user


@functools.cache
def _password_hash(password):
    """A real scrypt hash of the fixture's password, made once per session and with a lower
    work factor (n = 2**10 instead of 2**15): 30 tests ask for an accountant and most log in,
    0.1-0.3 s each way. Logging in still checks it with the production code, which reads the
    work factor from the hash; the hash of a user created through the app or the CLI keeps
    production's (test_passwords_are_hashed_and_the_cli_creates_users)."""
    from werkzeug.security import generate_password_hash
    return generate_password_hash(password, method="scrypt:1024:8:1")


_counter = iter(range(1, 10**9))


def make_customer(**kw):
    n = next(_counter)
    values = dict(ref=f"C{n}", name=f"Client {n}", email=f"client{n}@example.org", language="fr")
    values.update(kw)
    customer = Customer(**values)
    db.session.add(customer)
    db.session.flush()
    return customer


def make_invoice(customer, due, amount_cents=100_000, issued=None, number=None):
    due = date.fromisoformat(due) if isinstance(due, str) else due
    invoice = Invoice(number=number or f"F-{next(_counter)}", customer=customer,
                      issue_date=issued or due.replace(day=1), due_date=due,
                      total_cents=amount_cents)
    db.session.add(invoice)
    db.session.flush()
    return invoice
