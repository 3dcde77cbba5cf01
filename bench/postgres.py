"""A PostgreSQL schema of its own for a benchmark, and what its tables weigh."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT = os.environ.get("MAILROOM_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def schema(prefix: str, keep: bool = False, base: str = DEFAULT) -> Iterator[str]:
    """A new schema `prefix_…` in the database of `base`, as the URL that works in it; dropped afterwards
    unless `keep` (then its URL is printed)."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_plain(base), autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
        url = f"{base}?options=-csearch_path%3D{name}"
        try:
            yield url
        finally:
            if keep:
                print(f"kept PostgreSQL schema {name}: {url}")
            else:
                admin.execute(f"DROP SCHEMA {name} CASCADE")


def table_sizes(url: str) -> list[tuple[str, int, int]]:
    """(table, rows estimated, bytes with indexes and TOAST) of the schema `url` works in, largest first."""
    import psycopg

    with psycopg.connect(_plain(url)) as connection:
        connection.execute("ANALYZE")
        return connection.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
            "AND c.relkind = 'r' ORDER BY 3 DESC"
        ).fetchall()
