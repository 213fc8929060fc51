"""Column types shared by the ledger tables: aware UTC timestamps and integer cents."""
from datetime import datetime, timezone

from sqlalchemy import BigInteger
from sqlalchemy.types import DateTime, TypeDecorator


# Where `portal.tenancy` keeps the creditor a request or run step works for (on flask.g).
TENANT_KEY = "relance_creditor"


def utcnow():
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware timestamp stored in UTC, also on SQLite which keeps no offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; pass an aware datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


Money = BigInteger
