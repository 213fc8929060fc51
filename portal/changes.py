"""The books' version: a number that moves with every committed change to what the reminders
are decided from, so that a result computed from the books (the preview of the next run) can be
kept until it would differ.

How: an engine event notes, per database connection, any INSERT, UPDATE or DELETE of one of the
`WATCHED` tables (ORM, Core or plain SQL alike, whoever issues it: a page, the run, an import, a
webhook); when that transaction commits, one `UPDATE books_version SET n = n + 1` goes with it,
as its last statement. So the number moves if and only if such a change is committed, in the
same transaction as the change: a reader that reads the number *before* the books can never keep
a result under a number that a newer change also carries. (It may compute from books newer than
the number it read; the next reader then computes again: wasted work, never a stale page.)

On PostgreSQL the counter's row lock is taken by the last statement before COMMIT and held only
for the commit: a transaction holding it waits for nothing else, so no deadlock can form. A
change made outside Relance (psql) is not seen: `KEEP_SECONDS` bounds how long it can be ignored.

The table is `portal.models.BooksVersion`. Core layer: imports only the extensions.
"""
import threading
import time
from collections import OrderedDict

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from .extensions import db

WATCHED = frozenset({"invoice", "customer", "payment", "allocation", "hold", "reminder",
                     "instalment_plan", "instalment", "plan_invoice", "settings_revision",
                     "creditor"})
KEEP_SECONDS = 600  # what a change made behind Relance's back may go unseen at most
_FLAG = "relance_books_changed"
_WRITES = ("insert", "update", "delete")


def _written_table(context, statement):
    compiled = getattr(context, "compiled", None)
    dml = getattr(compiled, "statement", None) if compiled is not None else None
    table = getattr(dml, "table", None)
    if table is not None and getattr(dml, "is_dml", False):
        return getattr(table, "name", None)
    head = statement.lstrip()[:6].lower()
    return "?" if head in _WRITES else None  # plain SQL that writes: assume it matters


UNCHANGED = {"relance_changes_nothing": True}  # execution options of a write that is a lock


@event.listens_for(Engine, "before_cursor_execute")
def _note_write(conn, cursor, statement, parameters, context, executemany):
    if conn.info.get(_FLAG) or (context is not None
                                and context.execution_options.get("relance_changes_nothing")):
        return
    table = _written_table(context, statement)
    if table is not None and (table == "?" or table in WATCHED):
        conn.info[_FLAG] = True


_EXISTS = {"sqlite": "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'books_version'",
           "postgresql": "SELECT to_regclass('books_version')"}
_BUMP = ("INSERT INTO books_version (id, n) VALUES (1, 1) "
         "ON CONFLICT (id) DO UPDATE SET n = books_version.n + 1")


@event.listens_for(Engine, "commit")
def _bump(conn):
    if not conn.info.pop(_FLAG, False):
        return
    cursor = conn.connection.dbapi_connection.cursor()  # below the events: no recursion
    try:
        if not conn.info.get("relance_books_table"):  # a database not yet migrated: nothing
            cursor.execute(_EXISTS.get(conn.dialect.name, _EXISTS["postgresql"]))
            found = cursor.fetchone()
            if not found or found[0] is None:
                return
            conn.info["relance_books_table"] = True
        cursor.execute(_BUMP)
    finally:
        cursor.close()


@event.listens_for(Engine, "rollback")
def _forget(conn):
    conn.info.pop(_FLAG, None)


class Kept:
    """The last `keep` values by key, the oldest used forgotten first (safe across threads):
    what was read or computed from the books, kept with the version it was read at."""

    def __init__(self, keep):
        self.keep, self.values, self.lock = keep, OrderedDict(), threading.Lock()

    def get(self, key, max_age=None):
        """The value kept under `key`, or None (none, or kept more than `max_age` s ago)."""
        with self.lock:
            found = self.values.get(key)
            if found is None or (max_age is not None
                                 and time.monotonic() - found[1] >= max_age):
                return None
            self.values.move_to_end(key)
            return found[0]

    def put(self, key, value):
        with self.lock:
            self.values[key] = (value, time.monotonic())
            self.values.move_to_end(key)
            while len(self.values) > self.keep:
                self.values.popitem(last=False)
        return value

    def clear(self):
        with self.lock:
            self.values.clear()


def version():
    """The books' version as committed now (read it before reading the books); 0 before the
    first change."""
    return db.session.execute(text("SELECT n FROM books_version WHERE id = 1")).scalar() or 0
