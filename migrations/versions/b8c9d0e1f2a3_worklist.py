"""The worklist as the accountant works it: what became of each task (done with an outcome,
snoozed to a date, assigned to a user), and each debtor's collector.

Existing data: no task has been touched yet and no debtor has a collector.

Revision ID: b8c9d0e1f2a3
Revises: a7b8c9d0e1f2
Create Date: 2026-12-08 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "b8c9d0e1f2a3"
down_revision = "a7b8c9d0e1f2"
branch_labels = None
depends_on = None

UTCDateTime = sa.DateTime(timezone=True)  # what portal.models.base.UTCDateTime stores


def upgrade():
    op.create_table(
        "work_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("creditor_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("ref", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(24), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("updated_by", sa.String(320), nullable=True),
        sa.ForeignKeyConstraint(["creditor_id"], ["creditor.id"],
                                name="fk_work_item_creditor_id_creditor"),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"],
                                name="fk_work_item_customer_id_customer"),
        sa.ForeignKeyConstraint(["assignee_id"], ["user_account.id"],
                                name="fk_work_item_assignee_id_user_account"),
        sa.PrimaryKeyConstraint("id", name="pk_work_item"),
        sa.UniqueConstraint("creditor_id", "kind", "ref", name="uq_work_item_creditor_kind_ref"),
    )
    op.create_index("ix_work_item_customer_id", "work_item", ["customer_id"])
    op.create_index("ix_work_item_assignee_id", "work_item", ["assignee_id"])
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("collector_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_customer_collector_id_user_account", "user_account",
                                 ["collector_id"], ["id"])


def downgrade():
    with op.batch_alter_table("customer") as batch:
        batch.drop_constraint("fk_customer_collector_id_user_account", type_="foreignkey")
        batch.drop_column("collector_id")
    op.drop_index("ix_work_item_assignee_id", table_name="work_item")
    op.drop_index("ix_work_item_customer_id", table_name="work_item")
    op.drop_table("work_item")
