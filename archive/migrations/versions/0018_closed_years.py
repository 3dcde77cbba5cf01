"""closed years: a plan year's standings, explanations and matrix kept as they were when it was closed, with
the plan and derivation they came from (`mailroom year close`)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "closed_year",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(length=64), nullable=False),
        sa.Column("plan_hash", sa.String(length=64), nullable=False),
        sa.Column("derived_with", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "closed_month",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("standings", sa.JSON(), nullable=False),
        sa.Column("matrix", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["year"], ["closed_year.year"]),
        sa.PrimaryKeyConstraint("month"),
    )
    op.create_index("ix_closed_month_year", "closed_month", ["year"])


def downgrade() -> None:
    op.drop_index("ix_closed_month_year", table_name="closed_month")
    op.drop_table("closed_month")
    op.drop_table("closed_year")
