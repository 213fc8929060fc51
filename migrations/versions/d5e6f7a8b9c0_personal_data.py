"""A debtor whose personal data were erased (portal.privacy): when. Names, addresses, e-mails,
phones and free texts are replaced; amounts, dates and invoice numbers stay for the books.

Revision ID: d5e6f7a8b9c0
Revises: e9c4b7a2d5f1
Create Date: 2026-12-07 19:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "d5e6f7a8b9c0"
down_revision = "e9c4b7a2d5f1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("erased_at")
