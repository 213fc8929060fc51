"""Which template variant (A/B test of a level's wording) a reminder went out with.

Revision ID: d4f7a2c9e813
Revises: b7d3e9a1c264
Create Date: 2026-12-06 05:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "d4f7a2c9e813"
down_revision = "b7d3e9a1c264"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reminder") as batch:
        batch.add_column(sa.Column("variant", sa.String(1), nullable=True))


def downgrade():
    with op.batch_alter_table("reminder") as batch:
        batch.drop_column("variant")
