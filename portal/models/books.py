"""The books' version (`portal.changes`)."""
from ..extensions import db


class BooksVersion(db.Model):
    """One row (id 1): a number that moves with every committed change to what reminders are
    decided from. Written only by `portal.changes`, below the ORM."""

    __tablename__ = "books_version"
    id = db.Column(db.Integer, primary_key=True)
    n = db.Column(db.BigInteger, nullable=False, default=0)
