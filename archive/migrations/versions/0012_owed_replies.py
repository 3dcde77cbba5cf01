"""owed replies and job runs: what a message is owed is recorded in the commit that stores it, and a
scheduled job's run (reminders, digest for a month) in the commit that queues its mail; mailbox_state
says how the running daemon watches each mailbox and when it looks next; outbox says when it last failed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "owed_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("owed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cause"),
    )
    op.create_index("ix_owed_reply_queued_at", "owed_reply", ["queued_at"])
    op.create_index("ix_owed_reply_message_id", "owed_reply", ["message_id"])
    op.create_table(
        "job_run",
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("job", "period"),
    )
    with op.batch_alter_table("mailbox_state") as batch:
        batch.add_column(sa.Column("watch", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("last_error_at")
    with op.batch_alter_table("mailbox_state") as batch:
        batch.drop_column("next_poll_at")
        batch.drop_column("watch")
    op.drop_table("job_run")
    op.drop_table("owed_reply")
