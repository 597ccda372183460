"""acceptance checks against payroll, rollout stages and targets, the old system's results

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 11:30:00
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

STAGE = sa.Enum(
    "environment",
    "data",
    "trained",
    "trial",
    "accepted",
    "live",
    name="stage",
    native_enum=False,
    length=16,
)


def upgrade() -> None:
    op.create_table(
        "acceptance_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.Column("actor_label", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("checksum_intact", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_acceptance_checks_period_id_periods")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acceptance_checks")),
    )
    op.create_index(
        op.f("ix_acceptance_checks_period_id"), "acceptance_checks", ["period_id"], unique=False
    )
    op.create_table(
        "acceptance_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=True),
        sa.Column("institution_name", sa.String(length=200), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("mismatched", sa.Integer(), nullable=False),
        sa.Column("unexpected", sa.Integer(), nullable=False),
        sa.Column("unpaid", sa.Integer(), nullable=False),
        sa.Column("system_total", models.base.ExactDecimal(), nullable=False),
        sa.Column("paid_total", models.base.ExactDecimal(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["acceptance_checks.id"],
            name=op.f("fk_acceptance_results_check_id_acceptance_checks"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_acceptance_results_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acceptance_results")),
    )
    op.create_index(
        op.f("ix_acceptance_results_check_id"), "acceptance_results", ["check_id"], unique=False
    )
    op.create_index(
        op.f("ix_acceptance_results_institution_id"),
        "acceptance_results",
        ["institution_id"],
        unique=False,
    )
    op.create_table(
        "rollout_stages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("stage", STAGE, nullable=False),
        sa.Column("reached_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_rollout_stages_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollout_stages")),
        sa.UniqueConstraint(
            "institution_id", "stage", name=op.f("uq_rollout_stages_institution_id_stage")
        ),
    )
    op.create_table(
        "rollout_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("stage", STAGE, nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_rollout_targets_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollout_targets")),
        sa.UniqueConstraint(
            "institution_id", "stage", name=op.f("uq_rollout_targets_institution_id_stage")
        ),
    )
    op.create_table(
        "legacy_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("total", models.base.ExactDecimal(), nullable=True),
        sa.Column("grade", sa.String(length=16), nullable=True),
        sa.Column("pay", models.base.ExactDecimal(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("imported_at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("explained_at", models.base.AwareDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employees.id"], name=op.f("fk_legacy_results_employee_id_employees")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_legacy_results_period_id_periods")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legacy_results")),
        sa.UniqueConstraint(
            "period_id", "employee_id", name=op.f("uq_legacy_results_period_id_employee_id")
        ),
    )
    op.create_index(
        op.f("ix_legacy_results_employee_id"), "legacy_results", ["employee_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_legacy_results_employee_id"), table_name="legacy_results")
    op.drop_table("legacy_results")
    op.drop_table("rollout_targets")
    op.drop_table("rollout_stages")
    op.drop_index(op.f("ix_acceptance_results_institution_id"), table_name="acceptance_results")
    op.drop_index(op.f("ix_acceptance_results_check_id"), table_name="acceptance_results")
    op.drop_table("acceptance_results")
    op.drop_index(op.f("ix_acceptance_checks_period_id"), table_name="acceptance_checks")
    op.drop_table("acceptance_checks")
