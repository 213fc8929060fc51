"""Helpers shared by test modules (no test module imports another): the French calendar, a
reminder run read back from the SMTP sink, portal and back-office steps, payments and
Stripe-style signatures, a served app with independent HTTP sessions and requests released at
once. Fixtures live in conftest.py; plain functions here. "Today" is `clock.today()`, which the
autouse `today` fixture pins for each test."""
import contextlib
import hashlib
import hmac
import http.cookiejar
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from datetime import timedelta

from sqlalchemy import func, select
from werkzeug.serving import make_server

from portal import clock
from portal.extensions import db
from portal.models import Invoice
from portal.payments.lifecycle import start_checkout
from portal.rules.schedule import calendar_for
from tests.conftest import free_port, make_customer, make_invoice

WEBHOOK_SECRET = SECRET = "whsec_test_secret"
PASSWORD = "correct horse battery staple"
CAL = calendar_for("FR")


def business_day(offset):
    """The first business day at least `offset` days from today."""
    return CAL.next_business_day(clock.today() + timedelta(days=offset))


def level_days(due):
    """The run dates of levels 1 to 4 of the default policy for an invoice due on `due` (+7,
    +21, +51, +60, at least 7 days apart, business days)."""
    days, last = [], None
    for offset in (7, 21, 51, 60):
        nominal = due + timedelta(days=offset)
        if last is not None:
            nominal = max(nominal, last + timedelta(days=7))
        last = CAL.next_business_day(nominal)
        days.append(last)
    return days


def run(app, smtp, day):
    """`flask reminders run --date DAY`; (To, level, text) of each e-mail the sink received."""
    smtp.clear()
    result = app.test_cli_runner().invoke(args=["reminders", "run", "--date", day.isoformat()])
    assert result.exit_code == 0, result.output
    return [(m["To"], int(m["X-Relance-Level"]), m.get_body(("plain",)).get_content())
            for m in smtp.messages]


def debtor(tier="standard", amounts=(100_000, 50_000)):
    """A customer with invoices 30 days overdue, numbered P-1, P-2..."""
    customer = make_customer(tier=tier, name="Menuiserie Girard")
    invoices = [make_invoice(customer, clock.today() - timedelta(days=30), cents,
                             number=f"P-{n}") for n, cents in enumerate(amounts, start=1)]
    db.session.commit()
    return customer, invoices


def ask(client, token, invoices, count, first, accept=False, reason="Trésorerie tendue"):
    """The portal's instalment form: the schedule shown, or (accept) the request made."""
    page = client.get(f"/p/{token}").get_data(as_text=True)
    data = {"csrf_token": csrf(page), "invoice_ids": [i.id for i in invoices],
            "instalment_count": count, "first_instalment_date": first.isoformat(),
            "reason": reason}
    if accept:
        data["accept"] = "y"
    return client.post(f"/p/{token}/plan", data=data,
                       headers={"User-Agent": "Mozilla/5.0 (iPhone) test"})


def login(client, email="compta@atelier.example", password=PASSWORD, next_url=None):
    page = client.get("/admin/login").get_data(as_text=True)
    url = "/admin/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"csrf_token": csrf(page), "email": email,
                                  "password": password})


def checkout(customer, invoices, session_id="cs_test_1", source="stripe"):
    payment = start_checkout(customer, [(i, i.balance_cents) for i in invoices], source,
                             session_id)
    db.session.commit()
    return payment


def paid_cents():
    return db.session.scalar(select(func.coalesce(func.sum(Invoice.total_cents), 0))) - sum(
        i.balance_cents for i in db.session.scalars(select(Invoice)))


def post_event(client, event_id, kind, obj, secret=SECRET, at=None):
    """A Stripe event signed as Stripe signs it, posted to the webhook."""
    payload = json.dumps({"id": event_id, "object": "event", "type": kind,
                          "api_version": "2025-01-27", "created": int(time.time()),
                          "data": {"object": obj}})
    return client.post("/stripe/webhook", data=payload, content_type="application/json",
                       headers={"Stripe-Signature": sign(payload, secret, at)})


def csrf(page, prefix=""):
    name = f"{prefix}-csrf_token" if prefix else "csrf_token"
    match = re.search(rf'name="{name}" type="hidden" value="([^"]+)"', page)
    assert match, f"no {name} in the page"
    return match.group(1)


@contextlib.contextmanager
def served(app):
    """The app on a real threaded HTTP server on loopback; yields its base URL."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    # shutdown() waits for the loop's next poll: every 0.05 s rather than the default 0.5 s
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One person's session: its own cookies (so its own CSRF token), redirects not followed."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect)

    def request(self, method, path, data=None, headers=None, body=None):
        if data is not None:
            body = urllib.parse.urlencode(data, doseq=True).encode()
            headers = dict(headers or {}, **{"Content-Type":
                                             "application/x-www-form-urlencoded"})
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read().decode()

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, data):
        return self.request("POST", path, data=data)

    def token(self, path):
        status, _, page = self.get(path)
        assert status == 200, (status, path)
        return csrf(page)


def at_once(count, work):
    """Run work(i) for i in range(count) in threads released together; return the results."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def worker(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - reported to the test, which asserts
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def sign(payload, secret=WEBHOOK_SECRET, at=None):
    at = int(at or time.time())
    mac = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def event_body(event_id, kind, obj):
    return json.dumps({"id": event_id, "object": "event", "type": kind,
                       "created": int(time.time()), "data": {"object": obj}})


def use_ladder(ladder):
    """Every policy of the settings in force on one ladder ("account" is the shipped one; a test
    of a per-invoice behaviour, such as an invoice's own second level 2, uses "invoice")."""
    from portal import settings
    document = settings.default_document()
    for policy in document["policies"]:
        policy["ladder"] = ladder
    settings.save(document, author="test")
    db.session.commit()
