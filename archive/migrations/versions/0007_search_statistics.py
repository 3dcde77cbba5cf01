"""search grams: fuller statistics on PostgreSQL

ANALYZE keeps by default the 1,000 most common array elements; a gram outside them is estimated at 0.5 %
of documents, so a rare name was planned as a backward walk of the whole key (1 s at 100,000 messages,
bench/README.md) instead of a GIN lookup (under 1 ms). With 10,000 it keeps grams down to 0.016 %.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_doc ALTER COLUMN grams SET STATISTICS 10000")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_doc ALTER COLUMN grams SET STATISTICS -1")
