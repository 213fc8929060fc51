"""What every request and response goes through, whatever the blueprint: ids in URLs within the
database's range, no NUL byte in any field, security headers, the client's address behind a
trusted proxy."""
from flask import abort, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the largest id an INTEGER primary key holds on PostgreSQL

# The portal and the back office load nothing from elsewhere; no page may be framed.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


class IdConverter(IntegerConverter):
    """`<id:name>`: a row id, 1 to 2**31-1; anything else does not match (404)."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=MAX_ID)


def parse_id(value):
    """A row id from a form or query value, or None when it is not one (²,  -1, 10**20...)."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() \
            or len(value) > 10:
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def _refuse_nul():
    """PostgreSQL cannot store a NUL byte in text, and no person types one: refuse it early,
    alike on every database. In a URL's path (a short link's code, a webhook's creditor) it
    names nothing that exists: 404, as on SQLite, where the lookup simply finds nothing."""
    if "\x00" in request.path:
        abort(404)
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400, "A field contains a NUL byte; remove it and send the form again.")


def _headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path.startswith(("/p/", "/admin")):
        # The portal's URL is the debtor's key; the back office shows a ledger: keep neither in
        # a shared cache or the browser's back-forward cache.
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app):
    app.url_map.converters["id"] = IdConverter
    app.before_request(_refuse_nul)
    app.after_request(_headers)
    hops = app.config.get("PROXY_HOPS", 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
