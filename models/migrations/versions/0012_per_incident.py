"""indicators: points per incident, for bonus and deduction items counted by incidents;
outbox: an index on sent_at, for the sending rate /metrics reports

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("indicators") as batch:
        batch.add_column(sa.Column("per_incident", models.base.ExactDecimal(), nullable=True))
    op.create_index("ix_outbox_sent_at", "outbox", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_sent_at", table_name="outbox")
    with op.batch_alter_table("indicators") as batch:
        batch.drop_column("per_incident")
