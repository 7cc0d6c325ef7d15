"""the return after approval: each stage it reached, and the case's stage and follow-up

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:45:00

Connectors report a return's progress (label attached, delivered back, disposed, refunded) as
stage facts; each is kept once per (source, stage, ref), and the case carries its current
stage and, after an exception at receipt, the open follow-up decision.
"""
from alembic import op
import sqlalchemy as sa

import bot.schema


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'return_stages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('stage', sa.String(length=16), nullable=False),
        sa.Column('at', bot.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('ref', sa.String(length=255), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('recorded_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column('current', sa.Boolean(), nullable=False),
        sa.Column('posted_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_return_stages_case_id_cases'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_return_stages')),
        sa.UniqueConstraint('case_id', 'source', 'stage', 'ref', name='uq_return_stages_fact'),
    )
    with op.batch_alter_table('return_stages', schema=None) as batch_op:
        batch_op.create_index('ix_return_stages_case', ['case_id', 'id'], unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('stage_at', bot.schema.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('followup', sa.JSON(), nullable=True))
        batch_op.create_index('ix_cases_stage_at', ['stage', 'stage_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_stage_at')
        batch_op.drop_column('followup')
        batch_op.drop_column('stage_at')
        batch_op.drop_column('stage')
    with op.batch_alter_table('return_stages', schema=None) as batch_op:
        batch_op.drop_index('ix_return_stages_case')
    op.drop_table('return_stages')
