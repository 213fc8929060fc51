"""Files the accountant attaches to a debtor's timeline with a note.

Revision ID: a91d0e6f2c35
Revises: f3a8c2d19e47
Create Date: 2026-12-02 06:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "a91d0e6f2c35"
down_revision = "f3a8c2d19e47"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"],
                                name="fk_attachment_customer_id_customer"),
        sa.PrimaryKeyConstraint("id", name="pk_attachment"),
    )
    op.create_index("ix_attachment_customer_id", "attachment", ["customer_id"])


def downgrade():
    op.drop_index("ix_attachment_customer_id", table_name="attachment")
    op.drop_table("attachment")
