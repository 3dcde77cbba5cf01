"""search grams: a statistics target of 1,000 on PostgreSQL

With grams of up to four characters, 10,000 (0007) kept 33,672 grams down to 0.03 % of documents, and
every search paid 2-4 ms planning with them; 1,000 keeps 7,538 down to 0.3 % (0.6 ms). A gram outside
them is estimated at half that, which is all archive.search needs: rarer than about 1 % of documents
it reads a gram's matches through the index, commoner it walks the newest documents.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_doc ALTER COLUMN grams SET STATISTICS 1000")
        op.execute("ANALYZE search_doc")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_doc ALTER COLUMN grams SET STATISTICS 10000")
