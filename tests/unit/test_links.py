"""Signed portal links: round trip, tampering, expiry, revocation by link version."""
import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from portal.links import SALT, LinkExpired, LinkInvalid, make_token, verify_token
from tests.conftest import make_customer


def test_round_trip(app):
    customer = make_customer()
    assert verify_token(make_token(customer)) is customer


def test_tampered_token(app):
    token = make_token(make_customer())
    with pytest.raises(LinkInvalid):
        verify_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    with pytest.raises(LinkInvalid):
        verify_token("not-a-token")


def test_token_signed_with_another_key(app):
    customer = make_customer()
    forged = URLSafeTimedSerializer("guessed-secret", salt=SALT).dumps([customer.id, 1])
    with pytest.raises(LinkInvalid):
        verify_token(forged)


def test_expired_token_names_its_customer(app, monkeypatch):
    customer = make_customer()
    token = make_token(customer)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61 * 86400)
    with pytest.raises(LinkExpired) as caught:
        verify_token(token)
    assert caught.value.customer_id == customer.id


def test_bumping_the_link_version_revokes_older_links(app):
    customer = make_customer()
    token = make_token(customer)
    customer.link_version += 1
    with pytest.raises(LinkInvalid):
        verify_token(token)
    assert verify_token(make_token(customer)) is customer
