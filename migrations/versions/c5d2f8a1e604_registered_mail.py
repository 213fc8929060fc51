"""Registered letters by API: the creditor's postal provider and its credentials.

Revision ID: c5d2f8a1e604
Revises: a6c1e5f0b927
Create Date: 2026-12-06 07:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c5d2f8a1e604"
down_revision = "a6c1e5f0b927"
branch_labels = None
depends_on = None

COLUMNS = (("post_provider", 16), ("post_client_id", 255), ("post_client_secret", 255),
           ("post_username", 255), ("post_password", 255))


def upgrade():
    with op.batch_alter_table("creditor") as batch:
        for name, size in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(size), nullable=True))


def downgrade():
    with op.batch_alter_table("creditor") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
