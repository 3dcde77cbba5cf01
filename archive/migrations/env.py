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
    with create_engine(config.get_main_option("sqlalchemy.url")).begin() as own:
        run(own)
