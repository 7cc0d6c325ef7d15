"""dispute cases: assignee, the dispute's own status, and its evidence due date

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:30:00

A dispute card can be assigned to someone; the dispute's status after the decision (won,
lost) is shown on it; reminders before the evidence is due read cases by `due_at`.
"""
from alembic import op
import sqlalchemy as sa

import bot.schema


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('assignee', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('external_status', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('due_at', bot.schema.UtcDateTime(timezone=True), nullable=True))
    op.create_index('ix_cases_due_at', 'cases', ['due_at'])


def downgrade() -> None:
    op.drop_index('ix_cases_due_at', table_name='cases')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('due_at')
        batch.drop_column('external_status')
        batch.drop_column('assignee')
