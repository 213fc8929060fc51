"""Each invoice's own reminders in its current cycle kept on the invoice (cycle, level, last run
date and time), so that the run's scan reads one row per invoice and never groups the reminder
table; the scan's index carries them.

Existing data: an invoice's cycle is how many "never received" it has had (holds of that kind,
released or not: reminders.schedule.current_cycle); its level and dates are those of the
reminders of that cycle already sent or attempted (the highest level, the latest run date and
time). An invoice with none keeps its cycle with level and dates empty.

Revision ID: c9d0e1f2a3b4
Revises: b8c9d0e1f2a3
Create Date: 2026-12-08 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c9d0e1f2a3b4"
down_revision = "b8c9d0e1f2a3"
branch_labels = None
depends_on = None

UTCDateTime = sa.DateTime(timezone=True)  # what portal.models.base.UTCDateTime stores

SCAN = ["creditor_id", "status", "customer_id", "id", "due_date", "total_cents"]
KEPT = ["reminder_cycle", "reminder_level", "reminder_sent_on", "reminder_sent_at"]

CYCLE = ("(SELECT count(*) FROM hold h WHERE h.invoice_id = invoice.id "
         "AND h.kind = 'not_received')")
SENT = ("FROM reminder r WHERE r.invoice_id = invoice.id AND r.cycle = invoice.reminder_cycle "
        "AND r.state IN ('sent', 'failed')")


def upgrade():
    with op.batch_alter_table("invoice") as batch:
        batch.add_column(sa.Column("reminder_cycle", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("reminder_level", sa.Integer()))
        batch.add_column(sa.Column("reminder_sent_on", sa.Date()))
        batch.add_column(sa.Column("reminder_sent_at", UTCDateTime))
    op.execute(f"UPDATE invoice SET reminder_cycle = {CYCLE} "
               "WHERE EXISTS (SELECT 1 FROM hold h WHERE h.invoice_id = invoice.id "
               "AND h.kind = 'not_received')")
    op.execute(f"UPDATE invoice SET reminder_level = (SELECT max(r.level) {SENT}), "
               f"reminder_sent_on = (SELECT max(r.scheduled_for) {SENT}), "
               f"reminder_sent_at = (SELECT max(r.sent_at) {SENT}) "
               "WHERE EXISTS (SELECT 1 FROM reminder r WHERE r.invoice_id = invoice.id)")
    with op.batch_alter_table("invoice") as batch:
        batch.drop_index("ix_invoice_account_scan")
        batch.create_index("ix_invoice_account_scan", SCAN + KEPT)


def downgrade():
    with op.batch_alter_table("invoice") as batch:
        batch.drop_index("ix_invoice_account_scan")
        batch.create_index("ix_invoice_account_scan", SCAN)
        for column in reversed(KEPT):
            batch.drop_column(column)
