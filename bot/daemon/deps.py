"""What every command needs, built once from the config: the database, the raw store, the recogniser."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from imapclient import IMAPClient

from archive.db import Database, sqlite_file
from archive.ingest import Intake, Recognizer, derive_here
from archive.locks import Lock, exclusive
from archive.pairing import bind_pair, check_pair, refuse_new_database
from archive.staff_senders import confirmed_senders
from archive.store import RawStore
from bot.config import Config, Mailbox, masked_url
from bot.daemon.imap import connect
from bot.outgoing.outbox import ServerRest, Transport
from bot.services.sandbox import Sandbox


@dataclass(frozen=True)
class Deps:
    """The parts a pass works with; tests pass their own (a fake clock, a client factory)."""

    db: Database
    store: RawStore
    recognizer: Recognizer
    open_client: Callable[[Mailbox], IMAPClient] = connect
    sleep: Callable[[float], None] = time.sleep
    retries: int = 3
    backoff: float = 2.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    transport: Transport | None = None  # None: the config's (SMTP, or the folder stand-in)
    stop: threading.Event = field(default_factory=threading.Event)  # set: finish the batch in hand, then stop
    sandbox: Sandbox | None = field(default_factory=Sandbox)  # None: derive in this process (trusted input only)
    # The owed replies this process failed to compose (a bug, logged whole): set aside until it starts again,
    # so one reply cannot stop every mailbox; they stay owed, and `status` counts them among those waiting.
    set_aside: set[int] = field(default_factory=set)
    smtp_rest: ServerRest = field(default_factory=ServerRest)  # the sending server left alone after it failed

    @property
    def intake(self) -> Intake:
        """Where mail goes now: recognition as configured, with the senders staff have confirmed so far."""
        with self.db.session() as session:
            recognizer = replace(self.recognizer, confirmed=confirmed_senders(session))
        if self.sandbox is None:
            return Intake(self.db, self.store, recognizer, derive_here)
        return Intake(self.db, self.store, recognizer, self.sandbox.derive, self.sandbox.begin)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """True while this instance alone does `name` (a mailbox's poll, the outbox), for a short piece of work."""
        with self.hold(name) as lock:
            yield lock.held

    def hold(self, name: str) -> AbstractContextManager[Lock]:
        """The lock on `name` itself, for work that keeps it long (a mailbox worker in IMAP IDLE): `held`, and
        `keep()` to make sure now and then that it holds it still (archive.locks)."""
        return exclusive(self.db, self.store.root / "locks", name)

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
        self.store.close()
        self.db.dispose()


def recognizer_for(config: Config) -> Recognizer:
    days = config.outgoing.receipts_max_age_days
    return Recognizer(
        units=config.units,
        timezone=config.timezone,
        plans=tuple((plan.year, plan.units) for plan in config.plans.plans),
        mailboxes=tuple((box.address, box.key) for box in config.mailboxes),
        receipt_max_age=timedelta(days=days) if days else None,
    )


def open_deps(config: Config, *, create_folders: bool = False, adopt: bool = False, **overrides) -> Deps:
    """Open (creating or upgrading on first use) the database and the archive folder. A SQLite database whose
    folder is missing is refused (archive.db.Database) unless `create_folders`, which `mailroom init` passes,
    or the folder lies under the configuration's own (the example's var/mailroom.db, on a first start): a
    folder elsewhere that is not there is far likelier a mistyped path than a first use. The database and the
    archive folder must be each other's (archive.pairing: no archive folder beside a database holding mail, no
    other database than the archive's); `adopt` (`mailroom init --pair`) pairs them on purpose."""
    store, shown = RawStore(config.archive_path), masked_url(config.database_url)
    if not adopt and (file := sqlite_file(config.database_url)) is not None and not Path(file).exists():
        refuse_new_database(store, shown)
    db = Database(config.database_url, create_folders=create_folders or _beside_config(config))
    try:
        check_pair(db, store, shown, adopt=adopt)  # before any migration: a refused command changes nothing
        db.upgrade()
        bind_pair(db, store)
    except BaseException:
        db.dispose()
        raise
    return Deps(db=db, store=store, recognizer=recognizer_for(config), **overrides)


def _beside_config(config: Config) -> bool:
    """Whether the database is a SQLite file under the folder of the configuration that names it."""
    file = sqlite_file(config.database_url)
    return file is not None and Path(file).resolve().is_relative_to(config.path.parent.resolve())
