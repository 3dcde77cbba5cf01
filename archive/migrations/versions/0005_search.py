"""search index: one document per message, indexed by overlapping character bigrams

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    columns: list[sa.Column] = [
        # The document's key orders documents by arrival, so newest-first reads the index backwards.
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("message.id", ondelete="CASCADE"), nullable=False),
        sa.Column("head", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("rows", sa.Text(), nullable=False),
    ]
    if not sqlite:
        columns.append(sa.Column("grams", postgresql.ARRAY(sa.Text()), nullable=False))
    op.create_table("search_doc", *columns)
    op.create_index("ix_search_doc_message_id", "search_doc", ["message_id"], unique=True)
    if sqlite:
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5(grams, content='', detail=none, "
            "tokenize='unicode61 remove_diacritics 0')"
        )
    else:
        op.execute("CREATE INDEX ix_search_doc_grams ON search_doc USING gin (grams)")
    # Messages archived before this revision are indexed with the current indexer.
    from archive.fulltext import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE search_fts")
    op.drop_table("search_doc")
