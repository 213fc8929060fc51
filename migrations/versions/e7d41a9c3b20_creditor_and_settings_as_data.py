"""The creditor row, its settings as revisions, and the debtor's category.

An existing installation keeps working: its creditor is made from the CREDITOR_* variables (as
the application read them until now) and its first settings revision is the shipped policies,
templates and legal rules, as the code applied them.

Revision ID: e7d41a9c3b20
Revises: 5d1e0c7a9b21
Create Date: 2026-12-02 02:30:00
"""
import os
from datetime import datetime, timezone
from decimal import Decimal

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "e7d41a9c3b20"
down_revision = "5d1e0c7a9b21"
branch_labels = None
depends_on = None

IDENTITY = ("slug", "name", "address", "siren", "vat_number", "iban", "bic", "email", "phone",
            "sender", "reply_to", "timezone", "holiday_country", "language")


def upgrade():
    creditor = op.create_table(
        "creditor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("siren", sa.String(20), nullable=False),
        sa.Column("vat_number", sa.String(20), nullable=False),
        sa.Column("iban", sa.String(42), nullable=False),
        sa.Column("bic", sa.String(11), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("reply_to", sa.String(320), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("holiday_country", sa.String(2), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creditor")),
        sa.UniqueConstraint("slug", name=op.f("uq_creditor_slug")),
    )
    revision_table = op.create_table(
        "settings_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("creditor_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(320), nullable=False),
        sa.Column("note", sa.String(300), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["creditor_id"], ["creditor.id"],
                                name=op.f("fk_settings_revision_creditor_id_creditor")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_revision")),
        sa.UniqueConstraint("creditor_id", "number", name="uq_settings_revision_number"),
    )
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("debtor_type", sa.String(16), nullable=False,
                                   server_default="business"))

    from portal.settings import creditor_from_config, default_document
    row = creditor_from_config(current_app.config)
    now = datetime.now(timezone.utc)
    document = default_document()
    document["creditor"] = {k: getattr(row, k) for k in IDENTITY if k != "slug"}
    # The two variables that set penalties until now become settings: a rate other than the
    # L441-10 default of the time (12.15) was a contract rate; the indemnity carries over.
    rate = os.environ.get("LATE_INTEREST_RATE_PERCENT", "").strip()
    if rate and Decimal(rate) != Decimal("12.15"):
        document["legal"]["contract_rate_percent"] = rate
    indemnity = os.environ.get("RECOVERY_INDEMNITY_CENTS", "").strip()
    if indemnity:
        document["legal"]["indemnity_cents"] = int(indemnity)
    op.bulk_insert(creditor, [dict({k: getattr(row, k) for k in IDENTITY}, id=1,
                                   created_at=now)])
    op.bulk_insert(revision_table, [dict(id=1, creditor_id=1, number=1, created_at=now,
                                         author="migration", note="the shipped settings",
                                         document=document,
                                         changes=[])])


def downgrade():
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("debtor_type")
    op.drop_table("settings_revision")
    op.drop_table("creditor")
