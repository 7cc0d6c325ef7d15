"""stalled returns: the ledger of reminder, alert and expiry steps

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 12:30:00

One row per (case, stage, step), inserted before the step is carried out: the primary key
makes a step happen once across replicas.

Follows core's 0007_return_stages (on the i9-pipe branch a stand-in of it, dropped at merge).
"""
from alembic import op
import sqlalchemy as sa

import bot.schema


revision = '0008'
down_revision = '0007'  # core's return_stages
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'return_stall_reminders',
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('stage', sa.String(length=16), nullable=False),
        sa.Column('step', sa.String(length=16), nullable=False),
        sa.Column('stage_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_return_stall_reminders_case_id_cases'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('case_id', 'stage', 'step', name=op.f('pk_return_stall_reminders')),
    )


def downgrade() -> None:
    op.drop_table('return_stall_reminders')
