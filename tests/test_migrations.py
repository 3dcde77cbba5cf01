"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from archive.db import Database
from archive.models import Base


def test_migrations_match_the_models(database_url):
    db = Database(database_url)
    assert db.upgrade() is True
    assert db.upgrade() is False  # already at head: nothing applied twice
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    db.dispose()
    assert differences == []
