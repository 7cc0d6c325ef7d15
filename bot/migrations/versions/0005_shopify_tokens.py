"""Shopify tokens from the authorization-code install, encrypted at rest

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import bot.schema


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('shopify_tokens',
    sa.Column('shop', sa.String(length=255), nullable=False),
    sa.Column('access_token', sa.Text(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('issued_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('refresh_token', sa.Text(), nullable=True),
    sa.Column('refresh_expires_at', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('refresh_holder', sa.String(length=128), nullable=True),
    sa.Column('refresh_claimed_until', bot.schema.UtcDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', bot.schema.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('shop', name=op.f('pk_shopify_tokens'))
    )


def downgrade() -> None:
    op.drop_table('shopify_tokens')
