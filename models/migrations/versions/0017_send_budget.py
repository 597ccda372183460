"""send budget: a platform's overall send limit shared by every sender

Revision ID: 0017
Revises: 0014
Create Date: 2026-11-30 14:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('send_budgets',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('rate', sa.Float(), nullable=False),
    sa.Column('capacity', sa.Float(), nullable=False),
    sa.Column('tokens', sa.Float(), nullable=False),
    sa.Column('refilled_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_send_budgets'))
    )


def downgrade() -> None:
    op.drop_table('send_budgets')
