"""A bank credit is known by its reference and its amount: a credit whose reference is already
recorded for another amount waits on the bank page as a conflict under its own reference (it
was stored under a made-up key that a real reference could equal, review R2).

Revision ID: e9c4b7a2d5f1
Revises: b1d2e3f4a5c6
Create Date: 2026-12-07 20:30:00
"""
from alembic import op

revision = "e9c4b7a2d5f1"
down_revision = "b1d2e3f4a5c6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bank_credit") as batch:
        batch.drop_constraint("uq_bank_credit_creditor_external_id", type_="unique")
        batch.create_unique_constraint("uq_bank_credit_creditor_external_id_amount_cents",
                                       ["creditor_id", "external_id", "amount_cents"])


def downgrade():
    with op.batch_alter_table("bank_credit") as batch:
        batch.drop_constraint("uq_bank_credit_creditor_external_id_amount_cents",
                              type_="unique")
        batch.create_unique_constraint("uq_bank_credit_creditor_external_id",
                                       ["creditor_id", "external_id"])
