"""An empty schema for each test app, built once per session instead of once per test.

`drop_all()` + `create_all()` cost 0.05 s on SQLite and 0.5-1 s on PostgreSQL (plus the
`drop_all()` after the test), before each integration test's first line. Instead:
- SQLite: the schema is built once per process into a template file, copied (a file copy, ~1 ms)
  to each test's fresh database file;
- PostgreSQL: the schema is built once per process in the database RELANCE_TEST_PG_URL names,
  then each test empties it: DELETE of every table in dependency order and the sequences set
  back to their start (~50 ms; TRUNCATE makes new files for 24 tables and their indexes, 0.7-1 s
  on this machine; `CREATE DATABASE ... TEMPLATE` 0.4-30 s, by the checkpoints of the others).
  A fingerprint of the catalogue (tables, columns, defaults, constraints, indexes, sequences,
  types) tells whether the schema is still the one built: a test that ran migrations, dropped
  the tables or altered one leaves another fingerprint, and the next test rebuilds.
Either way each test starts from what `flask init-db` makes, with the ids starting at 1.
"""
import atexit
import os
import shutil
import tempfile

from sqlalchemy import create_engine, make_url, text

from portal.extensions import db

_template = []  # the SQLite template file of this process, once built
_built = {}  # PostgreSQL URL -> fingerprint of the schema this process built there

FINGERPRINT = text("""
SELECT md5(string_agg(item, '|' ORDER BY item)) FROM (
  SELECT format('col %s.%s %s %s %s', c.relname, a.attname,
                format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(d.adbin, d.adrelid)) AS item
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
     AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT format('con %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
  UNION ALL
  SELECT format('idx %s', pg_get_indexdef(indexrelid)) FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
   WHERE c.relnamespace = current_schema()::regnamespace
  UNION ALL
  SELECT format('seq %s', sequencename) FROM pg_sequences WHERE schemaname = current_schema()
  UNION ALL
  SELECT format('type %s', typname) FROM pg_type
   WHERE typnamespace = current_schema()::regnamespace AND typtype IN ('e', 'd')
) AS parts
""")

WIPE = text("""
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT relname, relkind FROM pg_class
            WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('v', 'm') LOOP
    EXECUTE format(CASE r.relkind WHEN 'v' THEN 'DROP VIEW IF EXISTS %I CASCADE'
                   ELSE 'DROP MATERIALIZED VIEW IF EXISTS %I CASCADE' END, r.relname);
  END LOOP;
  FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
  END LOOP;
  FOR r IN SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS %I CASCADE', r.sequencename);
  END LOOP;
  FOR r IN SELECT typname FROM pg_type WHERE typnamespace = current_schema()::regnamespace
              AND typtype IN ('e', 'd') LOOP
    EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
  END LOOP;
END $$
""")

RESTART_SEQUENCES = text("""
SELECT count(setval(format('%I.%I', schemaname, sequencename), start_value, false))
  FROM pg_sequences WHERE schemaname = current_schema()
""")


def empty_schema(url):
    """Give the current app's database (`url`) the models' schema with no rows, the cheapest
    way for its kind; called inside the app context, before the app opened a connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        _empty_postgres(url)
    elif _fresh_sqlite_file(parsed):
        shutil.copyfile(_sqlite_template(), parsed.database)
    else:  # an in-memory SQLite, or a file that already exists (another app may hold it)
        db.drop_all()
        db.create_all()


def _fresh_sqlite_file(parsed):
    """A SQLite file that does not exist yet: copying the template there changes nobody's view
    of a database (a file in use is emptied the old way, by drop_all/create_all)."""
    name = parsed.database
    return (parsed.get_backend_name() == "sqlite" and name not in (None, "", ":memory:")
            and not name.startswith("file:") and not os.path.exists(name)
            and not os.path.exists(name + "-wal"))


def _sqlite_template():
    """The path of a SQLite file holding the empty schema, built at the first call of the
    process (in a folder removed at exit)."""
    if not _template:
        folder = tempfile.mkdtemp(prefix="relance-schema-")
        atexit.register(shutil.rmtree, folder, True)
        path = os.path.join(folder, "schema.db")
        engine = create_engine(f"sqlite:///{path}")
        db.metadata.create_all(engine)
        with engine.connect() as conn:  # everything in the main file, nothing in a -wal
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        _template.append(path)
    return _template[0]


def _empty_postgres(url):
    """Delete every row and restart the sequences when the schema is the one this process
    built; else (first test of the session, or a test changed the schema) build it again."""
    with db.engine.begin() as conn:
        # A connection a failed test left inside a transaction would hold its rows: say so.
        conn.exec_driver_sql("SET LOCAL lock_timeout = '20s'")
        if _built.get(url) is not None and conn.scalar(FINGERPRINT) == _built[url]:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(RESTART_SEQUENCES)
            return
        conn.execute(WIPE)
        db.metadata.create_all(conn)
        _built[url] = conn.scalar(FINGERPRINT)
