"""Text messages: the SMS queue, short links, the debtor's opt-out, the creditor's provider,
and a reminder's channels as sent ("email+sms").

Revision ID: a6c1e5f0b927
Revises: d4f7a2c9e813
Create Date: 2026-12-06 06:30:00
"""
import sqlalchemy as sa
from alembic import op

UTCDateTime = sa.DateTime(timezone=True)  # what portal.models.base.UTCDateTime stores

revision = "a6c1e5f0b927"
down_revision = "d4f7a2c9e813"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sms_message",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customer.id"), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False, unique=True),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("to_number", sa.String(20), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("send_after", UTCDateTime, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("provider_id", sa.String(64)),
        sa.Column("error", sa.String(300)),
        sa.Column("claimed_by", sa.String(120)),
        sa.Column("claimed_at", UTCDateTime),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_sms_message_customer_id", "sms_message", ["customer_id"])
    op.create_index("ix_sms_message_provider_id", "sms_message", ["provider_id"])
    op.create_index("ix_sms_message_to_number", "sms_message", ["to_number"])
    op.create_index("ix_sms_waiting", "sms_message", ["state", "send_after"],
                    postgresql_where=sa.text("state IN ('queued', 'sending')"),
                    sqlite_where=sa.text("state IN ('queued', 'sending')"))
    op.create_table(
        "short_link",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customer.id"), nullable=False),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_short_link_customer_id", "short_link", ["customer_id"])
    with op.batch_alter_table("reminder") as batch:  # "email+sms+letter+call" at most
        batch.alter_column("channel", type_=sa.String(32), existing_type=sa.String(16),
                           existing_nullable=False)
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("sms_opt_out_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("sms_opt_out_by", sa.String(16), nullable=True))
    with op.batch_alter_table("creditor") as batch:
        batch.add_column(sa.Column("sms_provider", sa.String(16), nullable=True))
        batch.add_column(sa.Column("sms_account", sa.String(64), nullable=True))
        batch.add_column(sa.Column("sms_token", sa.String(255), nullable=True))
        batch.add_column(sa.Column("sms_sender", sa.String(20), nullable=True))


def downgrade():
    with op.batch_alter_table("creditor") as batch:
        for column in ("sms_sender", "sms_token", "sms_account", "sms_provider"):
            batch.drop_column(column)
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("sms_opt_out_by")
        batch.drop_column("sms_opt_out_at")
    with op.batch_alter_table("reminder") as batch:
        batch.alter_column("channel", type_=sa.String(16), existing_type=sa.String(32),
                           existing_nullable=False)
    op.drop_table("short_link")
    op.drop_index("ix_sms_waiting", table_name="sms_message")
    op.drop_table("sms_message")
