"""Bearer tokens of the JSON API, one creditor each. The token is shown once, when made; only
its SHA-256 is stored (a token is 32 random bytes: a salted slow hash would add nothing), so a
copy of the database gives no access. A revoked token answers 401 at once."""
import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import or_, select, update

from .extensions import db
from .models import ApiToken, utcnow

PREFIX = "rl_"


def _digest(token):
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create_token(creditor, label=""):
    """(the ApiToken row, the token to hand over): the only time the token is seen."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(creditor_id=creditor.id, digest=_digest(token), prefix=token[:10],
                   label=label[:120])
    db.session.add(row)
    db.session.flush()
    return row, token


USED_EVERY = timedelta(hours=1)  # "last used" is kept to the hour: no write per request


def token_creditor(token):
    """The creditor id a presented token works for, or None (unknown, revoked, malformed).
    Notes when it was last used, at most once an hour (committed at once)."""
    if not token or len(token) > 200 or not token.isascii():
        return None
    digest = _digest(token)
    row = db.session.scalar(select(ApiToken).where(ApiToken.digest == digest))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.digest, digest):
        return None
    now = utcnow()
    if row.last_used_at is None or row.last_used_at < now - USED_EVERY:
        db.session.execute(update(ApiToken).where(
            ApiToken.id == row.id, or_(ApiToken.last_used_at.is_(None),
                                       ApiToken.last_used_at < now - USED_EVERY))
            .values(last_used_at=now))
        db.session.commit()
    return row.creditor_id


def revoke(prefix, creditor):
    """Revoke the creditor's live tokens starting with `prefix`; returns how many."""
    rows = db.session.scalars(select(ApiToken).where(
        ApiToken.creditor_id == creditor.id, ApiToken.revoked_at.is_(None),
        ApiToken.prefix == prefix[:10])).all()
    for row in rows:
        row.revoked_at = utcnow()
    return len(rows)


def tokens(creditor):
    return db.session.scalars(select(ApiToken).where(ApiToken.creditor_id == creditor.id)
                              .order_by(ApiToken.created_at)).all()
