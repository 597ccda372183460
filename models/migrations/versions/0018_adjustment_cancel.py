"""adjustments.cancelled_at/by, cancel_reason: an adjustment entered by mistake is
cancelled before it is paid, and kept with who cancelled it, when and why

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 16:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("adjustments") as batch:
        batch.add_column(
            sa.Column("cancelled_at", models.base.AwareDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("cancelled_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("adjustments") as batch:
        batch.drop_column("cancel_reason")
        batch.drop_column("cancelled_by")
        batch.drop_column("cancelled_at")
