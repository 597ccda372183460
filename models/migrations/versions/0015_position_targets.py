"""position_targets: a scheme version's default targets of metric indicators per position
(岗位目标)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 15:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "position_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("position", sa.String(length=200), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("target", models.base.ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["schemes.id"], name="fk_position_targets_scheme_id_schemes"
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["indicators.id"], name="fk_position_targets_indicator_id_indicators"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_position_targets"),
        sa.UniqueConstraint(
            "scheme_id",
            "position",
            "indicator_id",
            name="uq_position_targets_scheme_id_position_indicator_id",
        ),
    )
    op.create_index("ix_position_targets_scheme_id", "position_targets", ["scheme_id"])


def downgrade() -> None:
    op.drop_index("ix_position_targets_scheme_id", table_name="position_targets")
    op.drop_table("position_targets")
