"""Sequences after explicit ids: e7d41a9c3b20 and f3a8c2d19e47 insert the first creditor and
the first settings revision with id 1, which leaves PostgreSQL's sequences at 1; the first
`flask creditors create` and the first settings save then failed on a new installation
(FINDINGS D2). Every serial or identity column of every table gets its sequence set after the
column's largest id, so this also mends any other row written with an explicit id. SQLite
(and any database without sequences) has nothing to mend.

Revision ID: b1d2e3f4a5c6
Revises: a5e2c8d71f90
Create Date: 2026-12-07 19:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "b1d2e3f4a5c6"
down_revision = "a5e2c8d71f90"
branch_labels = None
depends_on = None

# Every column of the current schema that owns a sequence (serial or identity).
SEQUENCES = sa.text("""
    SELECT table_name, column_name, sequence
    FROM (SELECT c.table_name, c.column_name,
                 pg_get_serial_sequence(format('%I.%I', c.table_schema, c.table_name),
                                        c.column_name) AS sequence
          FROM information_schema.columns c
          JOIN information_schema.tables t
            ON t.table_schema = c.table_schema AND t.table_name = c.table_name
          WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE') owned
    WHERE sequence IS NOT NULL
""")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    quote = bind.dialect.identifier_preparer.quote
    for table, column, sequence in bind.execute(SEQUENCES).all():
        # The next id is the largest one + 1 (1 for an empty table): is_called = false.
        bind.execute(sa.text(
            f"SELECT setval(:sequence, COALESCE((SELECT MAX({quote(column)}) "
            f"FROM {quote(table)}), 0) + 1, false)"), {"sequence": sequence})


def downgrade():
    pass  # a sequence ahead of its ids is what every later insert needs
