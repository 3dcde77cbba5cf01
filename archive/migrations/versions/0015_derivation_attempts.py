"""derivation attempts: a batch's messages are written down before their derivation starts and struck
off when it ends, so a message whose processing kills the process is known on the next start

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "derivation_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("alone", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_derivation_attempt_sha256", "derivation_attempt", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_derivation_attempt_sha256", table_name="derivation_attempt")
    op.drop_table("derivation_attempt")
