"""messages a staff decision marked due for derivation: a partial index, so a running daemon finds them cheaply

A decision (a correction, its revocation, a sender confirmed or revoked) clears the messages' derivation stamp in
its own transaction; should its command stop before deriving them, `serve` derives them. It looks every minute,
and with this index the look costs what is waiting, not the archive's size.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_message_derive_due",
        "message",
        ["id"],
        sqlite_where=sa.text("derived_with IS NULL"),
        postgresql_where=sa.text("derived_with IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_message_derive_due", table_name="message")
