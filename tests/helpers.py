"""Helpers shared by test modules: a served app, independent HTTP sessions, requests at once,
Stripe-style signatures. (Fixtures live in conftest.py; plain functions here.)"""
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

from werkzeug.serving import make_server

from tests.conftest import free_port

WEBHOOK_SECRET = "whsec_test_secret"


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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
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
