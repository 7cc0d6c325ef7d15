"""which policy made a snapshot's assessment

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 14:30:00

`case_snapshots.policy_fingerprint`: bot.policy_fingerprint of the effective policy (and
the policy code) that assessed the snapshot at ingest. The simulator reads the stored
verdict instead of recomputing it when the running policy has the same fingerprint.
NULL (older rows, other writers): recomputed.
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'  # case tickets
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_snapshots') as batch:
        batch.add_column(sa.Column('policy_fingerprint', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('case_snapshots') as batch:
        batch.drop_column('policy_fingerprint')
