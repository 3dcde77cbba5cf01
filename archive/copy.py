"""One archive database copied whole into another: the embedded SQLite moved to PostgreSQL when the federation
outgrows it (or back). Every table of the model, row for row with its ids, in one transaction on the target,
which must be empty; then the search index built there (derived from the rows: archive.fulltext) and each
table counted against the source before the commit. The archive folder stays where it is: the copy holds the
same identity (archive_identity), so the folder pairs with the new database as it did with the old, and every
receipt, digest and decision on record stays on record (none is owed or sent again)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Integer, Table, func, inspect, literal, select, text

from archive.db import Database
from archive.fulltext import rebuild
from archive.models import Base
from parsers.errors import ConfigError

BATCH = 2_000  # rows read and written at a time: memory stays flat however large the archive


def source_counts(source: Database) -> dict[str, int]:
    """Each table's rows in the source, in the order they are copied (a row after the rows it refers to)."""
    with source.engine.connect() as connection:
        return _counts(connection)


def copy_database(
    source: Database,
    target: Database,
    advance: Callable[[int], None] = lambda rows: None,
    indexing: Callable[[], None] = lambda: None,
) -> int:
    """Copy every row of `source`, read as of one moment, into `target` (its schema made or brought to the newest
    first), build the target's search index and return how many messages it indexed. The caller retires the source
    then (archive.pairing.retire). ConfigError, touching nothing, when the target holds any row or another
    program's tables; the target's transaction rolled back when the source was written meanwhile (its tables
    counted again, outside the snapshot: a row added or removed) or a table's count differs. `advance(rows)` after
    each batch written, `indexing()` before the index is built."""
    _refuse_unless_empty(target)
    target.upgrade()
    with source.engine.connect() as reading, target.engine.begin() as writing:
        _one_moment(reading)
        wanted = _counts(reading)
        for table in _tables():
            for rows in reading.execution_options(yield_per=BATCH).execute(select(table)).partitions():
                writing.execute(table.insert(), [dict(row._mapping) for row in rows])
                advance(len(rows))
        _continue_sequences(writing)
        copied, now = _counts(writing), source_counts(source)  # the source as it is now, outside the snapshot
        if copied != wanted or now != wanted:
            differ = "、".join(
                f"{name}（{wanted[name]} → {now[name]}）" for name in wanted if now[name] != wanted[name]
            )
            raise ConfigError(
                f"复制期间源数据库被写入（{differ or '行数不一致'}）：未复制任何数据；请先停止 serve 和 web，再复制一次"
            )
        indexing()
        return rebuild(writing)


def _refuse_unless_empty(target: Database) -> None:
    """A target holding any row of ours, or tables of another program (a URL naming the wrong database), is
    refused before anything in it is made or upgraded."""
    with target.engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        if present and target.revision() is None:
            raise ConfigError(
                f"目标数据库中已有其他程序的表（{'、'.join(sorted(present)[:5])}）：请指定一个新建的空数据库"
            )
        for table in _tables():
            if table.name in present and connection.scalar(select(literal(1)).select_from(table).limit(1)):
                raise ConfigError(
                    f"目标数据库中已有数据（表 {table.name} 不是空的）：请指定一个新建的空数据库，不要覆盖已有的归档"
                )


def _one_moment(connection: Connection) -> None:
    """Every table read as of one moment: one read transaction (SQLite's WAL keeps its snapshot; PostgreSQL's
    REPEATABLE READ)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")
    else:
        connection.execution_options(isolation_level="REPEATABLE READ")


def _counts(connection: Connection) -> dict[str, int]:
    return {table.name: connection.scalar(select(func.count()).select_from(table)) or 0 for table in _tables()}


def _tables() -> list[Table]:
    return Base.metadata.sorted_tables


def _continue_sequences(connection: Connection) -> None:
    """On PostgreSQL, each table's id sequence set past the ids copied, so the next row inserted gets a new one
    (SQLite takes the largest rowid + 1 by itself)."""
    if connection.dialect.name != "postgresql":
        return
    for table in _tables():
        if "id" in table.c and table.c.id.primary_key and isinstance(table.c.id.type, Integer):
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 1), "
                    f"(SELECT MAX(id) FROM {table.name}) IS NOT NULL)"
                )
            )
