"""indicators: metric rule and section; scheme_sections (考核维度); metric_values
(targets and actuals of metric indicators per period and appraisee)

Revision ID: 0014
Revises: 0012
Create Date: 2026-11-30 12:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("indicators") as batch:
        batch.add_column(sa.Column("section", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("rule", sa.JSON(), nullable=True))
    op.create_table(
        "scheme_sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("weight", models.base.ExactDecimal(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["schemes.id"], name="fk_scheme_sections_scheme_id_schemes"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_scheme_sections"),
        sa.UniqueConstraint("scheme_id", "code", name="uq_scheme_sections_scheme_id_code"),
    )
    op.create_index("ix_scheme_sections_scheme_id", "scheme_sections", ["scheme_id"])
    op.create_table(
        "metric_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("employee_id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("target", models.base.ExactDecimal(), nullable=False),
        sa.Column("actual", models.base.ExactDecimal(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("updated_at", models.base.AwareDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["periods.id"], name="fk_metric_values_period_id_periods"
        ),
        sa.ForeignKeyConstraint(
            ["employee_id"], ["employees.id"], name="fk_metric_values_employee_id_employees"
        ),
        sa.ForeignKeyConstraint(
            ["indicator_id"], ["indicators.id"], name="fk_metric_values_indicator_id_indicators"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_metric_values"),
        sa.UniqueConstraint(
            "period_id",
            "employee_id",
            "indicator_id",
            name="uq_metric_values_period_id_employee_id_indicator_id",
        ),
    )
    op.create_index("ix_metric_values_employee_id", "metric_values", ["employee_id"])


def downgrade() -> None:
    op.drop_index("ix_metric_values_employee_id", table_name="metric_values")
    op.drop_table("metric_values")
    op.drop_index("ix_scheme_sections_scheme_id", table_name="scheme_sections")
    op.drop_table("scheme_sections")
    with op.batch_alter_table("indicators") as batch:
        batch.drop_column("rule")
        batch.drop_column("section")
