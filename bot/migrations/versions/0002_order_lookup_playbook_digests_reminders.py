"""order lookup, playbook, digests, reminders

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:25:37.777206
"""
from alembic import op
import sqlalchemy as sa
import bot.schema


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digest_runs',
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('posted_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('ts', sa.String(length=32), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('period', name=op.f('pk_digest_runs'))
    )
    op.create_table('orders_seen',
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=255), nullable=False),
    sa.Column('order_name', sa.String(length=64), nullable=True),
    sa.Column('placed_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.PrimaryKeyConstraint('source', 'order_id', name=op.f('pk_orders_seen'))
    )
    with op.batch_alter_table('orders_seen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_seen_placed_at'), ['placed_at'], unique=False)

    op.create_table('slack_events',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_slack_events'))
    )
    with op.batch_alter_table('slack_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slack_events_received_at'), ['received_at'], unique=False)

    op.create_table('case_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('ts', sa.String(length=32), nullable=False),
    sa.Column('thread_ts', sa.String(length=32), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('edited_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_notes_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes')),
    sa.UniqueConstraint('channel', 'ts', name='uq_case_notes_message')
    )
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_notes_case_id'), ['case_id'], unique=False)

    op.create_table('playbook_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('signal_codes', sa.String(length=512), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('created_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('promoted_by', sa.String(length=64), nullable=True),
    sa.Column('retired_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('retired_by', sa.String(length=64), nullable=True),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.Column('last_used_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_playbook_entries_case_id_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['note_id'], ['case_notes.id'], name=op.f('fk_playbook_entries_note_id_case_notes'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playbook_entries')),
    sa.UniqueConstraint('note_id', name=op.f('uq_playbook_entries_note_id'))
    )
    with op.batch_alter_table('playbook_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_playbook_entries_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_playbook_entries_kind'), ['kind'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', bot.schema.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_escalated_at', bot.schema.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('return_reasons', sa.String(length=256), server_default='', nullable=False))
        batch_op.create_index('ix_cases_card', ['slack_channel', 'slack_ts'], unique=False)
        batch_op.create_index('ix_cases_escalation_card', ['escalation_channel', 'escalation_ts'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_escalation_card')
        batch_op.drop_index('ix_cases_card')
        batch_op.drop_column('return_reasons')
        batch_op.drop_column('sla_escalated_at')
        batch_op.drop_column('reminded_at')

    with op.batch_alter_table('playbook_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_playbook_entries_kind'))
        batch_op.drop_index(batch_op.f('ix_playbook_entries_case_id'))

    op.drop_table('playbook_entries')
    with op.batch_alter_table('case_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_notes_case_id'))

    op.drop_table('case_notes')
    with op.batch_alter_table('slack_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slack_events_received_at'))

    op.drop_table('slack_events')
    with op.batch_alter_table('orders_seen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_seen_placed_at'))

    op.drop_table('orders_seen')
    op.drop_table('digest_runs')
