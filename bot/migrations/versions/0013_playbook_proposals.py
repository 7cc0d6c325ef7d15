"""playbook proposals: Claude's entry from a decided case's thread notes, saved or ignored

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00

One row per decision (unique `decision_id`): the proposed text, where it was posted in the
card's thread, whether a person saved it (and as which entry) or ignored it.
"""
from alembic import op
import sqlalchemy as sa

import bot.schema


revision = '0013'
down_revision = '0012'  # case owner
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'playbook_proposals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('decision_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('last_note_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=True),
        sa.Column('ts', sa.String(length=32), nullable=True),
        sa.Column('created_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column('answered_by', sa.String(length=64), nullable=True),
        sa.Column('answered_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
        sa.Column('entry_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name='fk_playbook_proposals_case_id_cases',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name='fk_playbook_proposals_decision_id_decisions',
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['entry_id'], ['playbook_entries.id'],
                                name='fk_playbook_proposals_entry_id_playbook_entries', ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_playbook_proposals'),
        sa.UniqueConstraint('decision_id', name='uq_playbook_proposals_decision_id'),
    )
    op.create_index('ix_playbook_proposals_case_id', 'playbook_proposals', ['case_id'])


def downgrade() -> None:
    op.drop_index('ix_playbook_proposals_case_id', table_name='playbook_proposals')
    op.drop_table('playbook_proposals')
