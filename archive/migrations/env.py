"""Alembic environment: runs on the connection archive.db hands it (or on sqlalchemy.url when run by hand)."""

from alembic import context
from sqlalchemy import create_engine

from archive.models import Base

config = context.config
connection = config.attributes.get("connection")


def run(connection) -> None:
    context.configure(
        connection=connection, target_metadata=Base.metadata, render_as_batch=connection.dialect.name == "sqlite"
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    # No URL: create_engine refuses None with a clear ArgumentError ("Expected string or URL object, got None").
    with create_engine(url).begin() as own:  # type: ignore[arg-type]
        run(own)
