"""why each message needs a person (the attention queue, read through a partial index), a record of the
batches re-derivation rewrote (what the findings are kept by), and form readings indexed by form (every
附件2, which the findings read)

Existing messages get their reasons when they are derived again: the derivation version moved with this
revision, so `mailroom serve` re-derives them in the background (or `mailroom rederive` does).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("message", sa.Column("attention", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_message_attention",
        "message",
        ["attention"],
        sqlite_where=sa.text("attention IS NOT NULL"),
        postgresql_where=sa.text("attention IS NOT NULL"),
    )
    op.create_index("ix_form_reading_form", "form_reading", ["form"])
    op.create_table(
        "rewrite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("rewrite")
    op.drop_index("ix_form_reading_form", table_name="form_reading")
    op.drop_index("ix_message_attention", table_name="message")
    # Not a batch (see 0014): SQLite ≥ 3.35 drops a column in place.
    op.execute("ALTER TABLE message DROP COLUMN attention")
