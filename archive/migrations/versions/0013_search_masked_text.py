"""search documents hold masked text; personal numbers in their own column and grams

Search answered a viewer without the personal grant from the unmasked text, so digit queries rebuilt hidden
numbers. Documents now store the text masked (parsers.privacy), the masked sender address, and every
personal number's canonical digits in `numbers`, indexed by grams of their own that only granted viewers'
queries look at. Every message is indexed again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("search_doc") as batch:
        batch.add_column(sa.Column("sender", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("numbers", sa.Text(), nullable=False, server_default=""))
    from archive.fulltext import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    # The older revisions' indexer stores the text unmasked: run `mailroom reindex` after downgrading.
    with op.batch_alter_table("search_doc") as batch:
        batch.drop_column("numbers")
        batch.drop_column("sender")
