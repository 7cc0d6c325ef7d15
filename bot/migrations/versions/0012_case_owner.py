"""the system that owns a case's decision, when it is not the case's source

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:45:00

A return started in Loop whose Shopify return was reported first is one case: its source
stays Shopify, its decision is carried out in Loop (`owner`, on Loop's return `owner_ref`).
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'  # click_intents
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('owner', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('owner_ref', sa.String(length=255), nullable=True))
    op.create_index('ix_cases_owner', 'cases', ['owner', 'owner_ref'])


def downgrade() -> None:
    op.drop_index('ix_cases_owner', table_name='cases')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('owner_ref')
        batch.drop_column('owner')
