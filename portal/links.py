"""Signed portal links (DESIGN.md 6): itsdangerous, salt "portal-link", payload (customer id,
link version). Bumping `Customer.link_version` revokes every older link."""
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .extensions import db
from .models import Customer

SALT = "portal-link"


class LinkInvalid(Exception):
    """Tampered, revoked, or for a customer that no longer exists."""


class LinkExpired(Exception):
    """Authentic but older than LINK_MAX_AGE_DAYS; `customer_id` tells whom to send a fresh one."""

    def __init__(self, customer_id=None):
        super().__init__("link expired")
        self.customer_id = customer_id


def _serializer(secret_key=None):
    return URLSafeTimedSerializer(secret_key or current_app.config["SECRET_KEY"], salt=SALT)


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
            customer_id = _payload_customer(serializer.load_payload(exc.payload))
        except BadSignature:
            customer_id = None
        raise LinkExpired(customer_id) from None
    except BadSignature:
        raise LinkInvalid() from None
    customer_id = _payload_customer(payload)
    customer = db.session.get(Customer, customer_id) if customer_id else None
    if customer is None or payload[1] != customer.link_version:
        raise LinkInvalid()
    return customer


def _payload_customer(payload):
    if isinstance(payload, list) and len(payload) == 2 and all(isinstance(x, int) for x in payload):
        return payload[0]
    return None
