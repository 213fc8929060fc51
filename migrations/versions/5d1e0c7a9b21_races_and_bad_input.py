"""races and bad input: payment ids per source, payments held for review, one open checkout per
set of invoices, one promise and one plan in force per invoice, revocable back-office sessions

Revision ID: 5d1e0c7a9b21
Revises: c902ea1f333f
Create Date: 2026-11-23 11:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5d1e0c7a9b21'
down_revision = 'c902ea1f333f'
branch_labels = None
depends_on = None

PROMISE = "kind = 'promise' AND released_at IS NULL"
PLAN = "kind IN ('plan', 'instalment_request') AND released_at IS NULL"


def upgrade():
    with op.batch_alter_table('payment') as batch:
        batch.add_column(sa.Column('received_cents', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('review_reason', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('checkout_key', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('checkout_url', sa.Text(), nullable=True))
        batch.drop_constraint('uq_payment_external_id', type_='unique')
        batch.create_unique_constraint('uq_payment_source_external_id',
                                       ['source', 'external_id'])
    op.create_index('uq_payment_open_checkout', 'payment', ['checkout_key'], unique=True,
                    postgresql_where=sa.text("state = 'created'"),
                    sqlite_where=sa.text("state = 'created'"))
    # Duplicates made before these rules (double clicks) are released, the newest kept.
    for name, where in (('uq_hold_one_promise', PROMISE), ('uq_hold_one_plan', PLAN)):
        op.execute(f"UPDATE hold SET released_at = CURRENT_TIMESTAMP WHERE {where} AND id NOT IN "
                   f"(SELECT max(id) FROM hold WHERE {where} GROUP BY invoice_id)")
        op.create_index(name, 'hold', ['invoice_id'], unique=True,
                        postgresql_where=sa.text(where), sqlite_where=sa.text(where))
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('session_version', sa.Integer(), server_default='1',
                                   nullable=False))


def downgrade():
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('session_version')
    op.drop_index('uq_hold_one_plan', table_name='hold')
    op.drop_index('uq_hold_one_promise', table_name='hold')
    op.drop_index('uq_payment_open_checkout', table_name='payment')
    with op.batch_alter_table('payment') as batch:
        batch.drop_constraint('uq_payment_source_external_id', type_='unique')
        batch.create_unique_constraint('uq_payment_external_id', ['external_id'])
        batch.drop_column('checkout_url')
        batch.drop_column('checkout_key')
        batch.drop_column('review_reason')
        batch.drop_column('received_cents')
