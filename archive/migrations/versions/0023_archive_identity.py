"""the identity of the archive folder a database belongs to (archive/pairing.py)

The folder holds it in its archive-id file, the database in this one row: a command given another database than
the archive's (the config's own SQLite file where MAILROOM_DATABASE_URL was meant) is refused before it archives
and answers every message again. Filled in by the first command after the upgrade.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("archive_identity", sa.Column("archive_id", sa.String(36), primary_key=True))


def downgrade() -> None:
    op.drop_table("archive_identity")
