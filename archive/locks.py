"""One instance at a time per mailbox and for the outbox, however many instances run; and a lock every
instance holds together (`shared`) that tells whether any runs (`held`).

On PostgreSQL (several instances, several machines) a session-level advisory lock, named within the
database and schema (advisory locks are server-wide: two archives on one server must not share them); on the embedded
default (one machine: `serve` and a `poll --once` typed by hand) a lock file beside the archive.
Neither waits: whoever finds the lock taken skips that work until the next pass. An advisory lock ends with
its session (a server restart, a terminated backend): `shared` lets its holder find that out and take it again.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError
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
                    _unlock(connection, "pg_advisory_unlock", key)
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


@contextmanager
def shared(db: Database, folder: Path, name: str) -> Iterator[Callable[[], bool]]:
    """Holds `name` together with every other holder, for as long as the block runs (a running `serve`).
    Yields `keep`, for the holder to call now and then: on PostgreSQL the lock lives as long as the session
    that took it, which a server restart or a terminated backend ends; `keep()` finds that out (one round
    trip) and takes the lock again on a new connection, True when it had to (SQLAlchemyError while the
    server is away). The lock file of the embedded default cannot be lost so: there `keep()` is False."""
    if db.engine.dialect.name == "postgresql":
        hold = _SessionShare(db, lock_key(f"{db.lock_namespace}:{name}"))
        try:
            yield hold.keep
        finally:
            hold.release()
        return
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH)  # waits only while `held` tests it, an instant
        yield lambda: False
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


class _SessionShare:
    """A shared advisory lock and the one connection whose session holds it."""

    def __init__(self, db: Database, key: int) -> None:
        self.db, self.key = db, key
        self.connection: Connection | None = None
        self._take()

    def _take(self) -> None:
        connection = self.db.engine.connect()
        try:
            connection.execute(text("SELECT pg_advisory_lock_shared(:key)"), {"key": self.key})
            connection.commit()
        except BaseException:
            with suppress(SQLAlchemyError):  # never pooled: the session may have the lock all the same
                connection.invalidate()
                connection.close()
            raise
        self.connection = connection

    def keep(self) -> bool:
        """Whether the lock had to be taken again: its session was gone, and the lock with it."""
        if self.connection is not None:
            try:
                self.connection.execute(text("SELECT 1"))
                self.connection.commit()
                return False
            except SQLAlchemyError:
                self._drop()
        self._take()
        return True

    def release(self) -> None:
        if self.connection is None:  # lost, and not yet taken again: nothing is held
            return
        _unlock(self.connection, "pg_advisory_unlock_shared", self.key)
        self._drop()

    def _drop(self) -> None:
        """Close the connection for good, not back into the pool: a session that might still hold the lock
        must not live on in another caller's hands."""
        assert self.connection is not None
        with suppress(SQLAlchemyError):
            self.connection.invalidate()
            self.connection.close()
        self.connection = None


def _unlock(connection: Connection, function: str, key: int) -> None:
    """Release an advisory lock. A connection gone (the server restarted, the backend terminated) took the
    lock with its session: nothing to release, and no error for the caller, whose work is done. It is then
    invalidated, never pooled: a session that might still hold the lock must not outlive this block."""
    try:
        connection.execute(text(f"SELECT {function}(:key)"), {"key": key})
        connection.commit()
    except SQLAlchemyError:
        with suppress(SQLAlchemyError):
            connection.invalidate()


def held(db: Database, folder: Path, name: str) -> bool:
    """Whether anyone holds `name` (`shared`) now, tested without keeping it from anyone: on PostgreSQL by
    reading pg_locks (on any machine), on the embedded default by trying the lock file for an instant."""
    if db.engine.dialect.name == "postgresql":
        key = lock_key(f"{db.lock_namespace}:{name}") & 0xFFFF_FFFF_FFFF_FFFF  # shown as two unsigned halves
        with db.engine.connect() as connection:
            found = connection.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    " AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1)"
                ),
                {"high": key >> 32, "low": key & 0xFFFF_FFFF},
            ).scalar()
        return bool(found)
    try:
        descriptor = os.open(folder / f"{name}.lock", os.O_RDONLY)
    except FileNotFoundError:  # never held
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


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
