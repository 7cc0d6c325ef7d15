"""a ticket case's priority, SLA and rating on its row

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 14:00:00

`priority_rank` (0 urgent … 3 low) and `reply_due_at` order the App Home queue in SQL and
give the first card post its place in line; `ticket_created_at` is when the customer wrote
(first-response time starts there); `csat` / `csat_at` the helpdesk's satisfaction score
(1–5) and when we learned it, for the digest. NULL on every case that is not a ticket.
`ix_decisions_decided_at`: the digest reads the week's ticket replies from their decisions
(a reopened ticket's case has no `decided_at` until it is sent again).
"""
from alembic import op
import sqlalchemy as sa

import bot.schema


revision = '0017'
down_revision = '0016'  # snapshot policy fingerprint
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('priority_rank', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('reply_due_at', bot.schema.UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('ticket_created_at', bot.schema.UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('csat', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('csat_at', bot.schema.UtcDateTime(timezone=True), nullable=True))
    op.create_index('ix_cases_csat_at', 'cases', ['csat_at'])
    op.create_index('ix_decisions_decided_at', 'decisions', ['decided_at'])


def downgrade() -> None:
    op.drop_index('ix_decisions_decided_at', table_name='decisions')
    op.drop_index('ix_cases_csat_at', table_name='cases')
    with op.batch_alter_table('cases') as batch:
        for name in ('csat_at', 'csat', 'ticket_created_at', 'reply_due_at', 'priority_rank'):
            batch.drop_column(name)
