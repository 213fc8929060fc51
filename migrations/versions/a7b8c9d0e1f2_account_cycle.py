"""The account ladder: each debtor's current reminder cycle kept on the customer (level reached,
last message, start), and the run's scan index in debtor order.

Existing data: the cycle of a debtor is taken from the reminders already sent (or attempted) about
its invoices still open: the highest level, the last run date and time; its start is the earliest
due date among those invoices. Debtors with nothing open start without a cycle.

Revision ID: a7b8c9d0e1f2
Revises: c3f4a5b6d7e8
Create Date: 2026-12-07 23:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "a7b8c9d0e1f2"
down_revision = "c3f4a5b6d7e8"
branch_labels = None
depends_on = None

UTCDateTime = sa.DateTime(timezone=True)  # what portal.models.base.UTCDateTime stores

SENT = ("FROM reminder r JOIN invoice i ON i.id = r.invoice_id "
        "WHERE r.customer_id = customer.id AND i.status = 'open' "
        "AND r.state IN ('sent', 'failed') AND r.invoice_id IS NOT NULL")


def upgrade():
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("cycle_level", sa.Integer()))
        batch.add_column(sa.Column("cycle_sent_on", sa.Date()))
        batch.add_column(sa.Column("cycle_sent_at", UTCDateTime))
        batch.add_column(sa.Column("cycle_started_on", sa.Date()))
    op.execute(f"UPDATE customer SET cycle_level = (SELECT max(r.level) {SENT}), "
               f"cycle_sent_on = (SELECT max(r.scheduled_for) {SENT}), "
               f"cycle_sent_at = (SELECT max(r.sent_at) {SENT}), "
               f"cycle_started_on = (SELECT min(i.due_date) {SENT})")
    with op.batch_alter_table("invoice") as batch:
        batch.drop_index("ix_invoice_creditor_scan")
        batch.create_index("ix_invoice_account_scan", ["creditor_id", "status", "customer_id",
                                                       "id", "due_date", "total_cents"])


def downgrade():
    with op.batch_alter_table("invoice") as batch:
        batch.drop_index("ix_invoice_account_scan")
        batch.create_index("ix_invoice_creditor_scan", ["creditor_id", "status", "id",
                                                        "customer_id", "due_date", "total_cents"])
    with op.batch_alter_table("customer") as batch:
        for column in ("cycle_started_on", "cycle_sent_at", "cycle_sent_on", "cycle_level"):
            batch.drop_column(column)
