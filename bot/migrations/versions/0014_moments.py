"""high-value and VIP moments, and their follow-up tasks

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 14:00:00

`moments`: one row per `[[moments]]` rule firing for an order (its natural key makes a
replay the same moment); `follow_tasks`: the follow-up each one creates.
"""
from alembic import op
import sqlalchemy as sa

import bot.schema


revision = '0014'
down_revision = '0013'  # playbook proposals
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'moments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('order_id', sa.String(length=255), nullable=False),
        sa.Column('rule', sa.String(length=40), nullable=False),
        sa.Column('trigger', sa.String(length=32), nullable=False),
        sa.Column('order_name', sa.String(length=64), nullable=True),
        sa.Column('customer_id', sa.String(length=255), nullable=True),
        sa.Column('customer_name', sa.String(length=255), nullable=True),
        sa.Column('amount_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('owner', sa.String(length=32), nullable=False),
        sa.Column('why', sa.String(length=512), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('slack_channel', sa.String(length=32), nullable=True),
        sa.Column('slack_ts', sa.String(length=32), nullable=True),
        sa.Column('created_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_moments')),
        sa.UniqueConstraint('source', 'order_id', 'rule', name='uq_moments_natural_key'),
    )
    op.create_index('ix_moments_created_at', 'moments', ['created_at'])
    op.create_table(
        'follow_tasks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('moment_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.String(length=300), nullable=False),
        sa.Column('owner', sa.String(length=32), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('first_due_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column('due_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column('dm_after_hours', sa.Integer(), nullable=False),
        sa.Column('thread_reminded_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
        sa.Column('dm_reminded_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
        sa.Column('done_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
        sa.Column('done_by', sa.String(length=32), nullable=True),
        sa.Column('created_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['moment_id'], ['moments.id'], name=op.f('fk_follow_tasks_moment_id_moments'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_tasks')),
        sa.UniqueConstraint('moment_id', name=op.f('uq_follow_tasks_moment_id')),
    )
    op.create_index('ix_follow_tasks_status_due', 'follow_tasks', ['status', 'due_at'])
    op.create_index('ix_follow_tasks_owner', 'follow_tasks', ['owner', 'status'])


def downgrade() -> None:
    op.drop_index('ix_follow_tasks_owner', table_name='follow_tasks')
    op.drop_index('ix_follow_tasks_status_due', table_name='follow_tasks')
    op.drop_table('follow_tasks')
    op.drop_index('ix_moments_created_at', table_name='moments')
    op.drop_table('moments')
