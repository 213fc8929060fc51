"""Signed portal links (DESIGN.md 6): itsdangerous, salt "portal-link", payload (customer id,
link version). Bumping `Customer.link_version` revokes every older link."""
import secrets
from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from sqlalchemy import select

from .extensions import db
from .models import Customer, ShortLink

SALT = "portal-link"
MAX_ID = 2**31 - 1


class LinkInvalid(Exception):
    """Tampered, revoked, or for a customer that no longer exists. `creditor_id`: whose link it
    was, when the link is authentic (revoked) and its customer still exists; None when it cannot
    be known (a tampered link says nothing that can be trusted)."""

    def __init__(self, creditor_id=None):
        super().__init__("link invalid")
        self.creditor_id = creditor_id


class LinkExpired(Exception):
    """Authentic but older than LINK_MAX_AGE_DAYS; `customer_id` tells whom to send a fresh one."""

    def __init__(self, customer_id=None, creditor_id=None):
        super().__init__("link expired")
        self.customer_id = customer_id
        self.creditor_id = creditor_id


def _serializer(secret_key=None):
    return _serializer_for(secret_key or current_app.config["SECRET_KEY"])


@lru_cache(maxsize=8)
def _serializer_for(secret_key):
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def make_token(customer, secret_key=None):
    return _serializer(secret_key).dumps([customer.id, customer.link_version])


def portal_url(customer, base_url=None, secret_key=None):
    base = (base_url or current_app.config["PORTAL_BASE_URL"]).rstrip("/")
    return f"{base}/p/{make_token(customer, secret_key)}"


def verify_token(token, max_age_days=None):
    """Return the link's Customer, or raise LinkInvalid / LinkExpired."""
    if max_age_days is None:
        max_age_days = current_app.config["LINK_MAX_AGE_DAYS"]
    serializer = _serializer()
    try:
        payload = serializer.loads(token, max_age=max_age_days * 86400)
    except SignatureExpired as exc:
        try:
            payload = serializer.load_payload(exc.payload)
        except BadSignature:
            payload = None
        customer = _current(payload)
        # A revoked link, once expired, must not become a way to mail the debtor either; it
        # still names, authentically, the creditor the debtor can turn to.
        raise LinkExpired(customer.id if customer else None,
                          customer.creditor_id if customer else _creditor_of(payload)) from None
    except BadSignature:
        raise LinkInvalid() from None
    customer = _current(payload)
    if customer is None:
        raise LinkInvalid(_creditor_of(payload))
    return customer


def _creditor_of(payload):
    """The creditor of the customer an authentic payload names (whatever its link version),
    or None (no such customer, or not a payload of ours)."""
    if not (isinstance(payload, list) and len(payload) == 2
            and all(type(x) is int and 0 < x <= MAX_ID for x in payload)):  # noqa: E721
        return None
    return db.session.scalar(select(Customer.creditor_id).where(Customer.id == payload[0]))


def _current(payload):
    """The customer a payload names, if the link version it carries is still the current one."""
    if not (isinstance(payload, list) and len(payload) == 2
            and all(type(x) is int and 0 < x <= MAX_ID for x in payload)):  # noqa: E721
        return None
    customer = db.session.get(Customer, payload[0])
    return customer if customer is not None and customer.link_version == payload[1] else None


SHORT_CODE_BYTES = 6  # 8 characters of base64url: 2^48 codes, none guessable


def short_url(customer, base_url=None):
    """A short link (`/s/<code>`, for text messages) standing for a fresh signed portal link of
    `customer`; the row is added to the caller's transaction."""
    code = secrets.token_urlsafe(SHORT_CODE_BYTES)
    db.session.add(ShortLink(code=code, customer_id=customer.id, token=make_token(customer)))
    base = (base_url or current_app.config["PORTAL_BASE_URL"]).rstrip("/")
    return f"{base}/s/{code}"


def short_token(code):
    """The signed portal token a short code stands for, or None (unknown code)."""
    if not (0 < len(code) <= 16):
        return None
    return db.session.scalar(select(ShortLink.token).where(ShortLink.code == code))
