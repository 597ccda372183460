"""appeals: the objection window, confirmations, appeals, adjustments after final

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 11:20:00
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OPEN = "state IN ('open', 'revising')"


def upgrade() -> None:
    with op.batch_alter_table("periods") as batch:
        batch.add_column(sa.Column("objection_days", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("window_closes_at", models.base.AwareDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("schemes") as batch:
        batch.add_column(sa.Column("objection_days", sa.Integer(), nullable=True))
    op.create_table(
        "confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employees.id"], name=op.f("fk_confirmations_employee_id_employees")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_confirmations_period_id_periods")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confirmations")),
        sa.UniqueConstraint(
            "period_id", "employee_id", name=op.f("uq_confirmations_period_id_employee_id")
        ),
    )
    op.create_index(
        op.f("ix_confirmations_employee_id"), "confirmations", ["employee_id"], unique=False
    )
    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "revising",
                "upheld",
                "revised",
                "withdrawn",
                name="appealstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("created_at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.Column("due_at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", models.base.AwareDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_as", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("closed_at", models.base.AwareDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["employees.id"], name=op.f("fk_appeals_decided_by_employees")
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employees.id"], name=op.f("fk_appeals_employee_id_employees")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name=op.f("fk_appeals_period_id_periods")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    op.create_index(op.f("ix_appeals_employee_id"), "appeals", ["employee_id"], unique=False)
    op.create_index(op.f("ix_appeals_period_id"), "appeals", ["period_id"], unique=False)
    op.create_index(
        "uq_appeals_one_open",
        "appeals",
        ["period_id", "employee_id"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    op.create_table(
        "adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("origin_id", sa.Integer(), nullable=False),
        sa.Column("into_label", sa.String(length=64), nullable=False),
        sa.Column("amount", models.base.ExactDecimal(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employees.id"], name=op.f("fk_adjustments_employee_id_employees")
        ),
        sa.ForeignKeyConstraint(
            ["origin_id"], ["periods.id"], name=op.f("fk_adjustments_origin_id_periods")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjustments")),
    )
    op.create_index(
        op.f("ix_adjustments_employee_id"), "adjustments", ["employee_id"], unique=False
    )
    op.create_index(op.f("ix_adjustments_origin_id"), "adjustments", ["origin_id"], unique=False)
    with op.batch_alter_table("scoring_tasks") as batch:
        batch.add_column(sa.Column("appeal_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_scoring_tasks_appeal_id_appeals"), "appeals", ["appeal_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("scoring_tasks") as batch:
        batch.drop_constraint(batch.f("fk_scoring_tasks_appeal_id_appeals"), type_="foreignkey")
        batch.drop_column("appeal_id")
    op.drop_table("adjustments")
    op.drop_index("uq_appeals_one_open", table_name="appeals")
    op.drop_table("appeals")
    op.drop_table("confirmations")
    with op.batch_alter_table("schemes") as batch:
        batch.drop_column("objection_days")
    with op.batch_alter_table("periods") as batch:
        batch.drop_column("window_closes_at")
        batch.drop_column("objection_days")
