"""a support ticket joined to another case (a return ticket about a return already open)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 14:00:00

A `return` ticket about an order whose return already has an undecided case joins that case
instead of opening its own; the link finds it again for the ticket's later messages.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'  # moments
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_tickets',
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('ticket_id', sa.String(length=255), nullable=False),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('cases.id', ondelete='CASCADE'), nullable=False),
        sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('source', 'ticket_id'),
    )
    op.create_index('ix_case_tickets_case_id', 'case_tickets', ['case_id'])


def downgrade() -> None:
    op.drop_index('ix_case_tickets_case_id', table_name='case_tickets')
    op.drop_table('case_tickets')
