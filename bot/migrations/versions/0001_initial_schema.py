"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 06:06:22.318328
"""
from alembic import op
import sqlalchemy as sa
import bot.schema


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=255), nullable=True),
    sa.Column('order_name', sa.String(length=64), nullable=True),
    sa.Column('customer_id', sa.String(length=255), nullable=True),
    sa.Column('customer_name', sa.String(length=255), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('risk_score', sa.Integer(), nullable=False),
    sa.Column('recommended_action', sa.String(length=16), nullable=False),
    sa.Column('required_tier', sa.Integer(), nullable=False),
    sa.Column('auto_approved', sa.Boolean(), nullable=False),
    sa.Column('signal_codes', sa.String(length=512), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('slack_channel', sa.String(length=32), nullable=True),
    sa.Column('slack_ts', sa.String(length=32), nullable=True),
    sa.Column('card_version', sa.Integer(), nullable=False),
    sa.Column('card_claimed_until', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('card_error', sa.Text(), nullable=True),
    sa.Column('escalation_channel', sa.String(length=32), nullable=True),
    sa.Column('escalation_ts', sa.String(length=32), nullable=True),
    sa.Column('escalation_url', sa.String(length=512), nullable=True),
    sa.Column('escalated_by', sa.String(length=64), nullable=True),
    sa.Column('escalation_note', sa.Text(), nullable=True),
    sa.Column('requested_by', sa.String(length=64), nullable=True),
    sa.Column('snapshot_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_action', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('source', 'external_id', 'kind', name='uq_cases_natural_key')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_customer_id', ['customer_id'], unique=False)
        batch_op.create_index('ix_cases_decided_at', ['decided_at'], unique=False)
        batch_op.create_index('ix_cases_opened_at', ['opened_at'], unique=False)
        batch_op.create_index('ix_cases_order_id', ['order_id'], unique=False)
        batch_op.create_index('ix_cases_status_opened', ['status', 'opened_at'], unique=False)

    op.create_table('integration_health',
    sa.Column('system', sa.String(length=64), nullable=False),
    sa.Column('last_success_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('system', name=op.f('pk_integration_health'))
    )
    op.create_table('job_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('until', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_leases'))
    )
    op.create_table('poller_cursors',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('cursor', sa.String(length=255), nullable=True),
    sa.Column('updated_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_poller_cursors'))
    )
    op.create_table('webhook_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('delivery_id', sa.String(length=255), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('received_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('claimed_until', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_receipts')),
    sa.UniqueConstraint('source', 'delivery_id', name='uq_webhook_receipts_delivery')
    )
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_receipts_status', ['status', 'received_at'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_audit_log_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_case_id'), ['case_id'], unique=False)

    op.create_table('case_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('taken_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('assessment', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_snapshots_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_snapshots'))
    )
    with op.batch_alter_table('case_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_snapshots_case_id'), ['case_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('operation', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('result_summary', sa.Text(), nullable=True),
    sa.Column('result_external_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_outbox_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_idempotency_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_result_external_id'), ['result_external_id'], unique=False)
        batch_op.create_index('ix_outbox_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=False),
    sa.Column('decided_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('followed_recommendation', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_decisions_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['snapshot_id'], ['case_snapshots.id'], name=op.f('fk_decisions_snapshot_id_case_snapshots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions'))
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decisions_case_id'), ['case_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decisions_case_id'))

    op.drop_table('decisions')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next')
        batch_op.drop_index(batch_op.f('ix_outbox_result_external_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_case_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('case_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_snapshots_case_id'))

    op.drop_table('case_snapshots')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_case_id'))

    op.drop_table('audit_log')
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_receipts_status')

    op.drop_table('webhook_receipts')
    op.drop_table('poller_cursors')
    op.drop_table('job_leases')
    op.drop_table('integration_health')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_status_opened')
        batch_op.drop_index('ix_cases_order_id')
        batch_op.drop_index('ix_cases_opened_at')
        batch_op.drop_index('ix_cases_decided_at')
        batch_op.drop_index('ix_cases_customer_id')

    op.drop_table('cases')
