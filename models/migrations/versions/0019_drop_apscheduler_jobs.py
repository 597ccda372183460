"""drop apscheduler_jobs: the scheduler's jobs live in memory, rebuilt by each leader
(bot.notify.scheduler), and nothing has read or written this table since

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("apscheduler_jobs") as batch:
        batch.drop_index(batch.f("ix_apscheduler_jobs_next_run_time"))
    op.drop_table("apscheduler_jobs")


def downgrade() -> None:
    # As 0004 made it: APScheduler 3's SQLAlchemyJobStore table.
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apscheduler_jobs")),
    )
    with op.batch_alter_table("apscheduler_jobs") as batch:
        batch.create_index(
            batch.f("ix_apscheduler_jobs_next_run_time"), ["next_run_time"], unique=False
        )
