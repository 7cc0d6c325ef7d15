"""connectors: a correlation key beside the natural key

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 05:30:00

The same return or order reported by two systems (Shopify and Loop) is one case. Existing
cases get no key (they were opened by one system); new ones get it from their context.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correlation_key', sa.String(length=512), nullable=True))
        batch_op.create_index('uq_cases_correlation', ['kind', 'correlation_key'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('uq_cases_correlation')
        batch_op.drop_column('correlation_key')
