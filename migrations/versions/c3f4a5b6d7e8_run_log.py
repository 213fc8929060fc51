"""The run reports itself: one row per creditor and run (run_log), and the alerts sent to the
accountants when runs fail or stop coming, once per incident (run_alert).

Revision ID: c3f4a5b6d7e8
Revises: d5e6f7a8b9c0
Create Date: 2026-12-07 19:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c3f4a5b6d7e8"
down_revision = "d5e6f7a8b9c0"
branch_labels = None
depends_on = None

UTCDateTime = sa.DateTime(timezone=True)  # what portal.models.base.UTCDateTime stores


def upgrade():
    op.create_table(
        "run_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("creditor_id", sa.Integer, sa.ForeignKey("creditor.id"), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("run_date", sa.Date, nullable=False),
        sa.Column("owner", sa.String(120), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("failures", sa.JSON, nullable=False),
        sa.Column("error", sa.String(1000)),
    )
    op.create_index("ix_run_log_creditor_id", "run_log", ["creditor_id"])
    op.create_index("ix_run_log_creditor_started", "run_log", ["creditor_id", "started_at"])
    op.create_table(
        "run_alert",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("creditor_id", sa.Integer, sa.ForeignKey("creditor.id"), nullable=False),
        sa.Column("incident", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("run_log_id", sa.Integer, sa.ForeignKey("run_log.id")),
        sa.Column("recipients", sa.String(2000), nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("creditor_id", "incident", name="uq_run_alert_incident"),
    )


def downgrade():
    op.drop_table("run_alert")
    op.drop_index("ix_run_log_creditor_started", table_name="run_log")
    op.drop_index("ix_run_log_creditor_id", table_name="run_log")
    op.drop_table("run_log")
