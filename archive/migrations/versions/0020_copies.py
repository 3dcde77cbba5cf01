"""copies: one mail delivered to several of our mailboxes is one message seen in each (parsers.copies)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("message", sa.Column("copy_key", sa.String(length=64), nullable=True))
    op.create_index("ix_message_copy_key", "message", ["copy_key"])
    op.add_column("sighting", sa.Column("sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN, SQLite's own since 3.35: a batch copy of `message` would drop the old table,
    # and with it, by their foreign keys' cascade, every attachment, reading and sighting.
    op.drop_column("sighting", "sha256")
    op.drop_index("ix_message_copy_key", table_name="message")
    op.drop_column("message", "copy_key")
