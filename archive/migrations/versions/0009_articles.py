"""briefing articles by key, so a receipt counts its month's articles without reading the whole archive

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    article = op.create_table(
        "article",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_article_message_id", "article", ["message_id"])
    op.create_index("ix_article_key", "article", ["key"])
    # The briefings archived before this revision, keyed as the ingest of this revision keys them.
    from archive.evidence import article_keys

    connection = op.get_bind()
    message = sa.table("message", sa.column("id"), sa.column("kind"), sa.column("subject"), sa.column("body_text"))
    attachment = sa.table(
        "attachment",
        sa.column("message_id"),
        sa.column("ordinal"),
        sa.column("filename"),
        sa.column("sniffed_type"),
        sa.column("sha256"),
    )
    briefings = connection.execute(
        sa.select(message.c.id, message.c.subject, message.c.body_text)
        .where(message.c.kind == "briefing")
        .order_by(message.c.id)
    ).all()
    files: dict[int, list] = {}
    for row in connection.execute(
        sa.select(attachment)
        .where(attachment.c.message_id.in_(sa.select(message.c.id).where(message.c.kind == "briefing")))
        .order_by(attachment.c.ordinal)
    ):
        files.setdefault(row.message_id, []).append(row)
    rows = [
        {"message_id": id_, "key": key}
        for id_, subject, body in briefings
        for key in article_keys(subject, body, files.get(id_, []))
    ]
    if rows:
        op.bulk_insert(article, rows)


def downgrade() -> None:
    op.drop_table("article")
