"""What an allocation is: money of its payment ("payment"), or the early-payment discount
(escompte) granted with it ("discount"), which settles the invoice without being money received.

Revision ID: a5e2c8d71f90
Revises: e5a8c3d1f047
Create Date: 2026-12-06 06:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "a5e2c8d71f90"
down_revision = "e5a8c3d1f047"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("allocation") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False,
                                   server_default="payment"))


def downgrade():
    with op.batch_alter_table("allocation") as batch:
        batch.drop_column("kind")
