"""one correction in force per message: a partial unique index, so two submitted at once can never both stand

A message that already has several (a double submit before this revision) keeps its latest, which is the one
re-derivation applied (archive.corrections.in_force: the last by id); the earlier ones are revoked, on record,
by "mailroom" with the reason said below.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

REVOKED_BY = "mailroom"
REVOKE_REASON = "同一邮件另有更晚登记的现行更正（重复提交）：升级时撤销这一条，以更晚的一条为准"


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    bind.execute(
        sa.text(
            "UPDATE correction SET revoked_at = :at, revoked_by = :by, revoke_reason = :why"
            " WHERE revoked_at IS NULL AND EXISTS (SELECT 1 FROM correction AS later"
            " WHERE later.message_sha256 = correction.message_sha256 AND later.revoked_at IS NULL"
            " AND later.id > correction.id)"
        ).bindparams(
            # as archive.models.UTCDateTime stores an instant: naive UTC on SQLite, timestamptz on PostgreSQL
            sa.bindparam("at", now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now, sa.DateTime(True)),
            by=REVOKED_BY,
            why=REVOKE_REASON,
        )
    )
    op.create_index(
        "uq_correction_in_force",
        "correction",
        ["message_sha256"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_correction_in_force", table_name="correction")
