"""The books' version, moved by every committed change to what reminders are decided from.

Revision ID: b7d3e9a1c264
Revises: c5e2b8a4d107
Create Date: 2026-12-06 04:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "b7d3e9a1c264"
down_revision = "c5e2b8a4d107"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "books_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_books_version"),
    )
    op.execute("INSERT INTO books_version (id, n) VALUES (1, 0)")


def downgrade():
    op.drop_table("books_version")
