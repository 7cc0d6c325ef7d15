"""clicks as they arrive: a narrow table written before the ack, moved into jobs after

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:00:00

A click used to be a `jobs` row inserted before its ack (six indexes and a foreign key on
the path a person's click waits for). It is now a `click_intents` row (payload and time,
the primary key only); the clicks lane moves intents into `click` jobs. Click jobs already
queued keep running as they are.
"""
from alembic import op
import sqlalchemy as sa

import bot.schema


revision = '0011'
down_revision = '0010'  # main's money_holder
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'click_intents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('created_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_click_intents')),
    )


def downgrade() -> None:
    # Dropping waiting clicks would lose them after their 200: refuse, change nothing.
    waiting = op.get_bind().execute(sa.text("SELECT count(*) FROM click_intents")).scalar()
    if waiting:
        raise RuntimeError(f"{waiting} click(s) not yet moved into jobs: start a worker of revision 0011 "
                           "until `click_intents` is empty, then downgrade")
    op.drop_table('click_intents')
