"""A fresh PostgreSQL schema for a benchmark, and what its tables weigh."""

from __future__ import annotations

import os

DEFAULT = os.environ.get("MAILROOM_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def fresh_schema(base: str, schema: str) -> str:
    """`schema` emptied (dropped and made again) in the database of `base`; the URL that works in it."""
    import psycopg

    with psycopg.connect(_plain(base), autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {schema}")
    return f"{base}?options=-csearch_path%3D{schema}"


def drop_schema(base: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(_plain(base), autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def table_sizes(base: str, schema: str) -> list[tuple[str, int, int]]:
    """(table, rows estimated, bytes with indexes and TOAST), largest first."""
    import psycopg

    with psycopg.connect(_plain(base)) as connection:
        connection.execute("ANALYZE")
        return connection.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r' "
            "ORDER BY 3 DESC", (schema,)).fetchall()
