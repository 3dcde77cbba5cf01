"""Opening the database and bringing its schema up to date with the Alembic migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from parsers.errors import ServiceError

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x6D61696C726F6F6D  # pg_advisory_xact_lock key of the schema upgrade ("mailroom")


class Database:
    """An engine and a session factory; `upgrade()` applies any migration not yet applied."""

    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite:///") and not url.endswith(":memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.session: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self) -> bool:
        """Bring the schema to the newest revision; True when anything was applied."""
        config = _alembic_config()
        head = ScriptDirectory.from_config(config).get_current_head()
        try:
            with self.engine.begin() as connection:
                _one_migrator(connection)
                current = MigrationContext.configure(connection).get_current_revision()
                if current == head:
                    return False
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except SQLAlchemyError as error:
            raise ServiceError(f"cannot open the database {self.engine.url!r}: {error}") from error
        return True

    def dispose(self) -> None:
        self.engine.dispose()


def _one_migrator(connection: Connection) -> None:
    """Two processes starting on a new database (`serve` and a command typed beside it) must not both
    migrate it: the second waits for the first, then finds the schema current."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets `mailroom search` read while a poll writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
