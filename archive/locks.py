"""One instance at a time per mailbox and for the outbox, however many instances run; and a lock every
instance holds together (`shared`) that tells whether any runs (`held`).

On PostgreSQL (several instances, several machines) a session-level advisory lock, named within the
database and schema (advisory locks are server-wide: two archives on one server must not share them); on the embedded
default (one machine: `serve` and a `poll --once` typed by hand) a lock file beside the archive.
Neither waits: whoever finds the lock taken skips that work until the next pass. An advisory lock ends with
its session (a server restart, a terminated backend): a holder that keeps a lock a long time (a running `serve`,
a mailbox worker in IMAP IDLE) calls `Lock.keep()` now and then to find that out and take it again, unless
another instance (of an exclusive lock) took it meanwhile.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from archive.db import Database
from archive.store import write_problem
from parsers.errors import ServiceError

# What making a lock file meets in an archive folder that cannot be written (a read-only mount, permissions, a
# full disk, the folder gone with its disk): an exclusive lock then opens the file read-only (flock needs no
# write access); a shared one, which only `serve` takes, refuses: the daemon could archive nothing.
_UNWRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.ENOENT)


def lock_key(name: str) -> int:
    """A signed 64-bit advisory lock key for a name, stable across processes and machines."""
    return int.from_bytes(hashlib.sha256(f"mailroom:{name}".encode()).digest()[:8], "big", signed=True)


class Lock:
    """What `exclusive` and `shared` yield: whether this holder holds the lock now (`held`), and `keep()`, for
    a holder that keeps it a long time to call now and then (it answers whether the lock had to be taken
    again). The lock file of the embedded default cannot be lost while its block runs: there `keep()` is False
    and `held` stays as it was."""

    def __init__(self, held: bool) -> None:
        self.held = held

    def keep(self) -> bool:
        return False


class _SessionLock(Lock):
    """An advisory lock, shared or exclusive, and the one connection whose session holds it."""

    def __init__(self, db: Database, key: int, *, shared: bool) -> None:
        super().__init__(False)
        self.db, self.key, self.shared = db, key, shared
        self.connection: Connection | None = None
        self._take()

    def _take(self) -> None:
        """Take the lock on a new connection: a shared one waits for it (only an exclusive holder of the same
        name would keep it, and none does), an exclusive one does not (`held` False when another holds it)."""
        function = "pg_advisory_lock_shared" if self.shared else "pg_try_advisory_lock"
        connection = self.db.engine.connect()
        try:
            taken = connection.execute(text(f"SELECT {function}(:key)"), {"key": self.key}).scalar()
            connection.commit()
        except BaseException:
            with suppress(SQLAlchemyError):  # never pooled: the session may have the lock all the same
                connection.invalidate()
                connection.close()
            raise
        self.held = self.shared or bool(taken)
        if self.held:
            self.connection = connection
        else:
            connection.close()  # its session holds nothing: back into the pool

    def keep(self) -> bool:
        """Whether the lock had to be taken again: its session was gone (one round trip finds out), and the
        lock with it; it is then taken on a new connection, and `held` says whether that worked: an exclusive
        lock another holder took meanwhile is theirs now (`held` False; a later `keep()` tries again).
        SQLAlchemyError while the server is away (`held` then False: nothing is held)."""
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
        if self.connection is None:  # never held, or lost and not taken again: nothing to release
            return
        _unlock(self.connection, "pg_advisory_unlock_shared" if self.shared else "pg_advisory_unlock", self.key)
        with suppress(SQLAlchemyError):  # pooled again only if the unlock went through (`_unlock`)
            self.connection.close()
        self.connection, self.held = None, False

    def _drop(self) -> None:
        """Close the connection for good, not back into the pool: a session that might still hold the lock
        must not live on in another caller's hands."""
        assert self.connection is not None
        with suppress(SQLAlchemyError):
            self.connection.invalidate()
            self.connection.close()
        self.connection, self.held = None, False


@contextmanager
def exclusive(db: Database, folder: Path, name: str) -> Iterator[Lock]:
    """Holds `name` for as long as the block runs if no other holder does; never waits. Yields the `Lock`:
    `held` True while this process alone holds `name`, False when another instance holds it. A holder that
    keeps it long (a mailbox worker in IMAP IDLE) calls `keep()` now and then: on PostgreSQL the lock lives
    as long as the session that took it, and another instance may take it once that session is gone."""
    with _holding(db, folder, name, shared=False) as lock:
        yield lock


@contextmanager
def shared(db: Database, folder: Path, name: str) -> Iterator[Lock]:
    """Holds `name` together with every other holder, for as long as the block runs (a running `serve`).
    Yields the `Lock` (always `held`), whose `keep()` the holder calls now and then: on PostgreSQL the lock
    lives as long as the session that took it, which a server restart or a terminated backend ends; `keep()`
    finds that out (one round trip) and takes the lock again on a new connection, True when it had to
    (SQLAlchemyError while the server is away). A holder is one that archives: an archive folder where no
    file can be made (read-only, its permissions) is refused first, ServiceError, on either database."""
    _writable(folder)
    with _holding(db, folder, name, shared=True) as lock:
        yield lock


@contextmanager
def _holding(db: Database, folder: Path, name: str, *, shared: bool) -> Iterator[Lock]:
    """An advisory lock on PostgreSQL, else a lock file: a shared one waits only while `held` tests it (an
    instant), an exclusive one never waits."""
    if db.engine.dialect.name == "postgresql":
        lock = _SessionLock(db, lock_key(f"{db.lock_namespace}:{name}"), shared=shared)
        try:
            yield lock
        finally:
            lock.release()
        return
    descriptor = _lock_file(folder, name, shared=shared)
    if descriptor is None:  # a read-only folder without the file: nobody can hold it
        yield Lock(True)
        return
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH if shared else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield Lock(False)
            return
        yield Lock(True)
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


def _writable(folder: Path) -> None:
    """ServiceError, in one line saying what to check, unless a file can be made in `folder` (the archive's
    locks/) and removed again."""
    probe = folder / f".probe-{os.getpid()}-{uuid.uuid4().hex}"
    try:
        folder.mkdir(exist_ok=True)
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as error:
        raise ServiceError(write_problem(folder.parent, error)) from error


def _lock_file(folder: Path, name: str, *, shared: bool) -> int | None:
    """The lock file's descriptor, the file (and its folder, inside the archive folder) made on first use.

    An archive folder that cannot be written (mounted read-only, its permissions, its disk full or gone): an
    exclusive lock opens the file read-only, or, when it is not there and cannot be made, is held without one
    (None: no other process can hold a file that does not exist), so that `status` still reports and a poll,
    or a running daemon's worker, says per mailbox why it archives nothing (archive.store.write_problem) and
    tries again later. A shared lock is the daemon's presence: ServiceError, in one line saying what to check,
    as for any other failure."""
    path = folder / f"{name}.lock"
    try:
        folder.mkdir(exist_ok=True)  # not `parents`: an archive folder gone is no folder to make here
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        if error.errno not in _UNWRITABLE or shared:
            raise ServiceError(write_problem(folder.parent, error)) from error  # folder: the archive's locks/
    try:
        return os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None


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
