"""one job runner: the jobs table replaces the outbox, receipt claims, card claims and leases

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 05:00:00

Work in flight moves over: outbox rows become `action` jobs (failed ones `dead`, so the
card's Retry still works), pending webhook receipts get an `inbox` job, and every case whose
card is behind its state gets a `card` job.
"""
from alembic import op
import sqlalchemy as sa
import bot.schema


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('system', sa.String(length=32), nullable=False),
    sa.Column('operation', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('order_key', sa.String(length=128), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('token', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=True),
    sa.Column('claimed_until', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('budget_started_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('dead_reason', sa.Text(), nullable=True),
    sa.Column('result_summary', sa.Text(), nullable=True),
    sa.Column('result_external_id', sa.String(length=255), nullable=True),
    sa.Column('correlation_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_jobs_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_jobs_idempotency_key'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_result_external_id'), ['result_external_id'], unique=False)
        batch_op.create_index('ix_jobs_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_jobs_order', ['order_key', 'id'], unique=False)
        batch_op.create_index('ix_jobs_kind_status', ['kind', 'status'], unique=False)

    _move_work_in_flight()

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next')
        batch_op.drop_index(batch_op.f('ix_outbox_result_external_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_case_id'))
    op.drop_table('outbox')
    op.drop_table('job_leases')
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=True)
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('attempts')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('card_claimed_until')


def _move_work_in_flight() -> None:
    conn = op.get_bind()
    meta = sa.MetaData()
    outbox = sa.Table('outbox', meta, autoload_with=conn)
    receipts = sa.Table('webhook_receipts', meta, autoload_with=conn)
    cases = sa.Table('cases', meta, autoload_with=conn)
    jobs = sa.Table('jobs', meta, autoload_with=conn)
    status = {'pending': 'pending', 'running': 'pending', 'done': 'done', 'failed': 'dead'}
    for r in conn.execute(sa.select(outbox, cases.c.source).join(cases, cases.c.id == outbox.c.case_id)):
        conn.execute(jobs.insert().values(
            kind='action', system=r.source, operation=r.operation, case_id=r.case_id,
            order_key=f'case:{r.case_id}', seq=r.seq, payload=r.payload, idempotency_key=r.idempotency_key,
            status=status.get(r.status, 'pending'), attempts=r.attempts, token=0,
            next_attempt_at=r.next_attempt_at, last_error=r.last_error,
            dead_reason=r.last_error if r.status == 'failed' else None,
            result_summary=r.result_summary, result_external_id=r.result_external_id,
            created_at=r.created_at, updated_at=r.updated_at,
        ))
    for r in conn.execute(sa.select(receipts).where(receipts.c.status == 'pending')):
        conn.execute(jobs.insert().values(
            kind='inbox', system=r.source, operation=r.topic, payload={'receipt_id': r.id},
            idempotency_key=f'inbox:{r.id}', status='pending', attempts=0, token=0, seq=0,
            next_attempt_at=r.received_at, created_at=r.received_at, updated_at=r.received_at,
        ))
    behind = sa.select(cases.c.id, cases.c.version, cases.c.updated_at).where(
        cases.c.channel.is_not(None), cases.c.card_version < cases.c.version)
    for r in conn.execute(behind):
        conn.execute(jobs.insert().values(
            kind='card', system='slack', operation='sync_card', case_id=r.id, order_key=f'card:{r.id}',
            payload={'version': r.version}, idempotency_key=f'card:{r.id}:v{r.version}', status='pending',
            attempts=0, token=0, seq=0, next_attempt_at=r.updated_at, created_at=r.updated_at,
            updated_at=r.updated_at,
        ))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_claimed_until', bot.schema.UtcDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('webhook_receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('claimed_until', bot.schema.UtcDateTime(timezone=True), nullable=True))
    op.create_table('job_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('until', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_leases'))
    )
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
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_kind_status')
        batch_op.drop_index('ix_jobs_order')
        batch_op.drop_index('ix_jobs_due')
        batch_op.drop_index(batch_op.f('ix_jobs_result_external_id'))
        batch_op.drop_index(batch_op.f('ix_jobs_case_id'))
    op.drop_table('jobs')
