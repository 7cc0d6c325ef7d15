"""the shop's own facts: its currency and time zone, as the store last reported them

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 08:00:00

`[store] currency` and `timezone` became optional: the shop's own are asked at start-up and
kept here, so a restart while the shop is unreachable still knows them.
"""
from alembic import op
import sqlalchemy as sa

import bot.schema


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'shop_facts',
        sa.Column('system', sa.String(length=32), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('fetched_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('system', name=op.f('pk_shop_facts')),
    )


def downgrade() -> None:
    op.drop_table('shop_facts')
