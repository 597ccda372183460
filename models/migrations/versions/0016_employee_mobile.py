"""employees.mobile: the employee's mobile (11 digits), imported with the org file and
used to bind Feishu users by the mobile on their profile when HR turns that on

Revision ID: 0016
Revises: 0014
Create Date: 2026-11-30 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("employees") as batch:
        batch.add_column(sa.Column("mobile", sa.String(length=32), nullable=True))
        batch.create_index("ix_employees_mobile", ["mobile"])


def downgrade() -> None:
    with op.batch_alter_table("employees") as batch:
        batch.drop_index("ix_employees_mobile")
        batch.drop_column("mobile")
