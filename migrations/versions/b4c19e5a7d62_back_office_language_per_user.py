"""The back office's language, chosen by each user.

Existing users keep what they see today: no language chosen (None), so the browser's preference,
else French.

Revision ID: b4c19e5a7d62
Revises: e7d41a9c3b20
Create Date: 2026-12-03 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "b4c19e5a7d62"
down_revision = "e7d41a9c3b20"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("language", sa.String(2), nullable=True))


def downgrade():
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("language")
