"""A debtor handed over to a bailiff or for an injonction de payer: the day, the case's facts,
and the debtor's SIREN the dossier names.

Revision ID: e5a8c3d1f047
Revises: c5d2f8a1e604
Create Date: 2026-12-06 06:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "e5a8c3d1f047"
down_revision = "c5d2f8a1e604"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("siren", sa.String(9), nullable=True))
        batch.add_column(sa.Column("handed_over_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("handover", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("handover")
        batch.drop_column("handed_over_on")
        batch.drop_column("siren")
