"""One instance at a time per mailbox and for the outbox, however many instances run.

On PostgreSQL (several instances, several machines) a session-level advisory lock, named within the
database and schema (advisory locks are server-wide: two archives on one server must not share them); on the embedded
default (one machine: `serve` and a `poll --once` typed by hand) a lock file beside the archive.
Neither waits: whoever finds the lock taken skips that work until the next pass.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from archive.db import Database


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for a name, stable across processes and machines."""
    return int.from_bytes(hashlib.sha256(f"mailroom:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def exclusive(db: Database, folder: Path, name: str) -> Iterator[bool]:
    """Yields True while this process alone holds `name`, False when another instance holds it."""
    if db.engine.dialect.name == "postgresql":
        key = lock_key(f"{db.lock_namespace}:{name}")
        with db.engine.connect() as connection:
            held = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
            connection.commit()
            try:
                yield bool(held)
            finally:
                if held:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    connection.commit()
        return
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


def claim_for_write(db: Database, session: Session, names: Iterable[str]) -> None:
    """Begin the caller's transaction holding what makes a check-then-insert of `names` safe against every
    other writer until it commits: SQLite's write lock (BEGIN IMMEDIATE, taken before anything is read),
    or on PostgreSQL a transaction-level advisory lock per name, taken in one order so two writers never
    deadlock. A message another instance stored a moment ago is then seen, not inserted twice."""
    if session.get_bind().dialect.name == "sqlite":
        driver = session.connection().connection.driver_connection
        assert driver is not None  # None only once the connection is closed; this one is in use
        if not driver.in_transaction:  # else it holds the lock
            session.execute(text("BEGIN IMMEDIATE"))
        return
    for key in sorted({lock_key(f"{db.lock_namespace}:{name}") for name in names}):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
