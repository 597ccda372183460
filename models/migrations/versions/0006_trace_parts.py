"""trace parts, shared by result traces; results lose an index the unique one covers;
commented marks get a partial index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 19:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trace_parts",
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["schemes.id"], name=op.f("fk_trace_parts_scheme_id_schemes")
        ),
        sa.PrimaryKeyConstraint("scheme_id", "digest", name=op.f("pk_trace_parts")),
    )
    op.drop_index(op.f("ix_results_period_id"), table_name="results")
    op.create_index(
        "ix_score_entries_commented",
        "score_entries",
        ["task_id"],
        sqlite_where=sa.text("comment != ''"),
        postgresql_where=sa.text("comment != ''"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_score_entries_commented",
        table_name="score_entries",
        sqlite_where=sa.text("comment != ''"),
        postgresql_where=sa.text("comment != ''"),
    )
    op.create_index(op.f("ix_results_period_id"), "results", ["period_id"], unique=False)
    op.drop_table("trace_parts")
