"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from archive.db import Database
from archive.models import Base


def _modelled(object_, name, type_, reflected, compare_to) -> bool:
    # The search index (search_doc, SQLite's search_fts and its shadow tables) differs by database and is
    # written in SQL by archive.fulltext, not described by a model.
    table = object_ if type_ == "table" else getattr(object_, "table", None)
    return not (table is not None and table.name.startswith("search_"))


def test_migrations_match_the_models(database_url):
    db = Database(database_url)
    assert db.upgrade() is True
    assert db.upgrade() is False  # already at head: nothing applied twice
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": _modelled})
        differences = compare_metadata(context, Base.metadata)
        tables = set(connection.dialect.get_table_names(connection))
        if connection.dialect.name == "postgresql":  # rare grams planned by the GIN index (0007)
            target = connection.exec_driver_sql(
                "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'search_doc'::regclass "
                "AND attname = 'grams'").scalar()
            assert target == 10000
    db.dispose()
    assert differences == []
    assert "search_doc" in tables
