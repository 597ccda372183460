"""grade quota rules (强制分布) with each scheme version; calibrations (校准) of results

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 11:06:22
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quota_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('grades', sa.JSON(), nullable=False),
    sa.Column('bound', sa.Enum('at_most', 'at_least', name='quotabound', native_enum=False, length=16), nullable=False),
    sa.Column('ratio', models.base.ExactDecimal(), nullable=True),
    sa.Column('head_count', sa.Integer(), nullable=True),
    sa.Column('scope', sa.Enum('institution', 'department', 'period', name='quotascope', native_enum=False, length=16), nullable=False),
    sa.Column('rounding', sa.Enum('default', 'half_up', name='quotarounding', native_enum=False, length=16), nullable=False),
    sa.ForeignKeyConstraint(['scheme_id'], ['schemes.id'], name=op.f('fk_quota_rules_scheme_id_schemes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_rules'))
    )
    with op.batch_alter_table('quota_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quota_rules_scheme_id'), ['scheme_id'], unique=False)

    op.create_table('calibrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('computed_grade', sa.String(length=16), nullable=False),
    sa.Column('computed_total', models.base.ExactDecimal(), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=True),
    sa.Column('total_adjust', models.base.ExactDecimal(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('role', sa.Enum('head', 'hr', name='calibrationrole', native_enum=False, length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=64), nullable=False),
    sa.Column('at', models.base.AwareDateTime(timezone=True), nullable=False),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.Column('removed_at', models.base.AwareDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['employees.id'], name=op.f('fk_calibrations_actor_id_employees')),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.id'], name=op.f('fk_calibrations_employee_id_employees')),
    sa.ForeignKeyConstraint(['period_id'], ['periods.id'], name=op.f('fk_calibrations_period_id_periods')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibrations'))
    )
    with op.batch_alter_table('calibrations', schema=None) as batch_op:
        batch_op.create_index('ix_calibrations_period_id_employee_id', ['period_id', 'employee_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('calibrations', schema=None) as batch_op:
        batch_op.drop_index('ix_calibrations_period_id_employee_id')

    op.drop_table('calibrations')
    with op.batch_alter_table('quota_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quota_rules_scheme_id'))

    op.drop_table('quota_rules')
