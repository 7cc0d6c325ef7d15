"""who holds an order's money when the store does not: the case's money system and payment

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00

A Stripe-direct order (paid through the processor, only recorded in the store) is refunded
in the processor; the case keeps which system and which payment from its context, so every
path that refunds it (approval, receipt, follow-up) routes the money the same way.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'  # main's dispute_cases
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('money_system', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('money_payment_id', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('money_payment_id')
        batch_op.drop_column('money_system')
