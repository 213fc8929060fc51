"""Credits of bank statements waiting for the accountant to assign them.

Revision ID: c5e2b8a4d107
Revises: a91d0e6f2c35
Create Date: 2026-12-02 07:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c5e2b8a4d107"
down_revision = "a91d0e6f2c35"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bank_credit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("creditor_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("debtor_name", sa.String(200), nullable=False),
        sa.Column("remittance", sa.String(500), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["creditor_id"], ["creditor.id"],
                                name="fk_bank_credit_creditor_id_creditor"),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"],
                                name="fk_bank_credit_payment_id_payment"),
        sa.PrimaryKeyConstraint("id", name="pk_bank_credit"),
        sa.UniqueConstraint("creditor_id", "external_id",
                            name="uq_bank_credit_creditor_external_id"),
    )
    op.create_index("ix_bank_credit_creditor_id", "bank_credit", ["creditor_id"])


def downgrade():
    op.drop_index("ix_bank_credit_creditor_id", table_name="bank_credit")
    op.drop_table("bank_credit")
