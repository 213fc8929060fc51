"""Creditors as tenants: the ledger's rows belong to a creditor; users get grants; API tokens.

An existing installation (one creditor, made by e7d41a9c3b20) keeps every row: its customers,
invoices and payments become that creditor's; invoice numbers and customer refs become unique
per creditor; each user is granted that creditor with the role they had; the "review before
sending" switch moves from the `setting` table onto the creditor.

Revision ID: f3a8c2d19e47
Revises: b4c19e5a7d62
Create Date: 2026-12-02 05:00:00
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "f3a8c2d19e47"
down_revision = "b4c19e5a7d62"
branch_labels = None
depends_on = None


def _first_creditor(conn):
    creditor_id = conn.execute(sa.text("SELECT min(id) FROM creditor")).scalar()
    if creditor_id is None:  # e7d41a9c3b20 always writes one; a hand-emptied table gets it back
        from flask import current_app

        from portal.settings import creditor_from_config
        row = creditor_from_config(current_app.config)
        conn.execute(sa.text(
            "INSERT INTO creditor (id, slug, name, address, siren, vat_number, iban, bic, email,"
            " phone, sender, reply_to, timezone, holiday_country, language, created_at) VALUES "
            "(1, :slug, :name, :address, :siren, :vat_number, :iban, :bic, :email, :phone, "
            ":sender, :reply_to, :timezone, :holiday_country, :language, :now)"),
            dict({k: getattr(row, k) for k in (
                "slug", "name", "address", "siren", "vat_number", "iban", "bic", "email",
                "phone", "sender", "reply_to", "timezone", "holiday_country", "language")},
                now=datetime.now(timezone.utc)))
        creditor_id = 1
    return creditor_id


def upgrade():
    conn = op.get_bind()
    with op.batch_alter_table("creditor") as batch:
        batch.add_column(sa.Column("logo_type", sa.String(16), nullable=True))
        batch.add_column(sa.Column("colour", sa.String(7), nullable=False, server_default=""))
        batch.add_column(sa.Column("signature", sa.String(500), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("mail_server", sa.String(255), nullable=True))
        batch.add_column(sa.Column("mail_port", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("mail_username", sa.String(255), nullable=True))
        batch.add_column(sa.Column("mail_password", sa.String(255), nullable=True))
        batch.add_column(sa.Column("mail_use_tls", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("stripe_secret_key", sa.String(255), nullable=True))
        batch.add_column(sa.Column("stripe_webhook_secret", sa.String(255), nullable=True))
        batch.add_column(sa.Column("review_before_sending", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    first = _first_creditor(conn)

    for table in ("customer", "invoice", "payment"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("creditor_id", sa.Integer(), nullable=True))
        conn.execute(sa.text(f"UPDATE {table} SET creditor_id = :id"), {"id": first})
    with op.batch_alter_table("customer") as batch:
        batch.alter_column("creditor_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key("fk_customer_creditor_id_creditor", "creditor",
                                 ["creditor_id"], ["id"])
        batch.drop_constraint("uq_customer_ref", type_="unique")
        batch.create_unique_constraint("uq_customer_creditor_ref", ["creditor_id", "ref"])
        batch.create_index("ix_customer_creditor_id", ["creditor_id"])
    with op.batch_alter_table("invoice") as batch:
        batch.alter_column("creditor_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key("fk_invoice_creditor_id_creditor", "creditor",
                                 ["creditor_id"], ["id"])
        batch.drop_constraint("uq_invoice_number", type_="unique")
        batch.create_unique_constraint("uq_invoice_creditor_number", ["creditor_id", "number"])
        batch.create_index("ix_invoice_creditor_scan", ["creditor_id", "status", "id",
                                                        "customer_id", "due_date", "total_cents"])
    with op.batch_alter_table("payment") as batch:
        batch.alter_column("creditor_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key("fk_payment_creditor_id_creditor", "creditor",
                                 ["creditor_id"], ["id"])
        batch.drop_constraint("uq_payment_source_external_id", type_="unique")
        batch.create_unique_constraint("uq_payment_creditor_source_external_id",
                                       ["creditor_id", "source", "external_id"])

    grant = op.create_table(
        "creditor_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("creditor_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name="fk_creditor_grant_user_id_user_account"),
        sa.ForeignKeyConstraint(["creditor_id"], ["creditor.id"],
                                name="fk_creditor_grant_creditor_id_creditor"),
        sa.PrimaryKeyConstraint("id", name="pk_creditor_grant"),
        sa.UniqueConstraint("user_id", "creditor_id", name="uq_creditor_grant_user"),
    )
    op.create_index("ix_creditor_grant_creditor_id", "creditor_grant", ["creditor_id"])
    now = datetime.now(timezone.utc)
    users = conn.execute(sa.text("SELECT id, role FROM user_account ORDER BY id")).all()
    if users:
        op.bulk_insert(grant, [dict(user_id=u, creditor_id=first, role=r, created_at=now)
                               for u, r in users])
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("role")

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("creditor_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["creditor_id"], ["creditor.id"],
                                name="fk_api_token_creditor_id_creditor"),
        sa.PrimaryKeyConstraint("id", name="pk_api_token"),
        sa.UniqueConstraint("digest", name="uq_api_token_digest"),
    )
    op.create_index("ix_api_token_creditor_id", "api_token", ["creditor_id"])

    review = conn.execute(sa.text(
        "SELECT value FROM setting WHERE key = 'review_before_sending'")).scalar()
    if review == "on":
        conn.execute(sa.text("UPDATE creditor SET review_before_sending = :on WHERE id = :id"),
                     {"on": True, "id": first})
    op.drop_table("setting")


def downgrade():
    op.create_table(
        "setting",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_setting"),
    )
    op.drop_index("ix_api_token_creditor_id", table_name="api_token")
    op.drop_table("api_token")
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=False,
                                   server_default="accountant"))
    op.drop_index("ix_creditor_grant_creditor_id", table_name="creditor_grant")
    op.drop_table("creditor_grant")
    with op.batch_alter_table("payment") as batch:
        batch.drop_constraint("uq_payment_creditor_source_external_id", type_="unique")
        batch.create_unique_constraint("uq_payment_source_external_id", ["source", "external_id"])
        batch.drop_constraint("fk_payment_creditor_id_creditor", type_="foreignkey")
        batch.drop_column("creditor_id")
    with op.batch_alter_table("invoice") as batch:
        batch.drop_index("ix_invoice_creditor_scan")
        batch.drop_constraint("uq_invoice_creditor_number", type_="unique")
        batch.create_unique_constraint("uq_invoice_number", ["number"])
        batch.drop_constraint("fk_invoice_creditor_id_creditor", type_="foreignkey")
        batch.drop_column("creditor_id")
    with op.batch_alter_table("customer") as batch:
        batch.drop_index("ix_customer_creditor_id")
        batch.drop_constraint("uq_customer_creditor_ref", type_="unique")
        batch.create_unique_constraint("uq_customer_ref", ["ref"])
        batch.drop_constraint("fk_customer_creditor_id_creditor", type_="foreignkey")
        batch.drop_column("creditor_id")
    with op.batch_alter_table("creditor") as batch:
        for column in ("review_before_sending", "stripe_webhook_secret", "stripe_secret_key",
                       "mail_use_tls", "mail_password", "mail_username", "mail_port",
                       "mail_server", "signature", "colour", "logo_type"):
            batch.drop_column(column)
