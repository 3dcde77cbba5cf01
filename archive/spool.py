"""The spool: mail archived raw at the disk's speed, derived behind it.

An IMAP mailbox's mail is archived in two steps, each its own commit:

1. `spool`: a batch's raw bytes written and synced to the store, then one commit of a spool row per
   message (where it was seen, the server's arrival time) with the mailbox's new position. Only bytes and
   a row per message: the mailbox is archived as fast as the disk takes files.
2. `derive_spooled`: the spooled messages derived a batch at a time through the `Intake`
   (archive/ingest.py), whose commit stores each message's rows, its sightings and the receipt it is owed
   (archive/owed.py), and deletes its spool row.

A kill at any instant leaves each fetched message spooled (derived at the next look) or stored, never
both and never neither; its receipt is owed by the commit that recognises it, as before. Derivation is
a function of the raw bytes, so deriving later changes nothing in what it makes (the arrival is the
server's, kept in the row).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from archive.ingest import Intake, Outcome
from archive.models import Spooled
from archive.store import sha256_hex
from parsers.derive import Incoming

log = logging.getLogger(__name__)
WHERE = ("mailbox", "source", "arrival", "folder", "uidvalidity", "uid", "origin")


def spool(intake: Intake, items: Sequence[Incoming], in_same_commit: Callable[[Session], None] | None = None) -> None:
    """A batch archived raw: its files written and synced, then its spool rows and the caller's
    bookkeeping (a mailbox's position) in one commit."""
    now = datetime.now(UTC)
    rows = [
        {
            "sha256": intake.store.put_message(item.raw),
            "spooled_at": now,
            **{name: getattr(item, name) for name in WHERE},
        }
        for item in items
    ]
    intake.store.sync()
    with intake.db.session() as session:
        if rows:
            session.execute(insert(Spooled), rows)
        if in_same_commit is not None:
            in_same_commit(session)
        session.commit()


def derive_spooled(
    intake: Intake,
    mailbox: str | None,
    batch: int,
    stopping: Callable[[], bool] = lambda: False,
    between: Callable[[], None] = lambda: None,
) -> Iterator[Outcome]:
    """Derive and store what a mailbox has spooled, oldest first, a batch per commit (the next batch read
    while this one is written). `stopping()` and `between()` (a connection kept alive) come between
    batches; a stop leaves the rest spooled. A message whose raw file cannot be read is logged and left
    spooled (status counts it): the others go on."""

    def batches() -> Iterator[tuple[list[Incoming], Callable[[Session], None], None]]:
        after = 0  # the batch before is still being written: read past it
        while not stopping():
            between()
            with intake.db.session() as session:
                rows = session.scalars(
                    select(Spooled)
                    .where(Spooled.mailbox == mailbox, Spooled.id > after)
                    .order_by(Spooled.id)
                    .limit(batch)
                ).all()
            if not rows:
                return
            after = rows[-1].id
            items, ids = [], []
            for row in rows:
                try:
                    raw = intake.store.read_message(row.sha256)
                except OSError as error:  # the archive folder damaged, or restored apart from the database
                    log.error("暂存的邮件 %s 无法从归档目录读取（%s）：留待下次识别", row.sha256, error)
                    continue
                if sha256_hex(raw) != row.sha256:  # deriving it would store what someone wrote, not what came
                    log.error(
                        "暂存的邮件 %s 的原件 %s 已被改动，与收取时的内容不同：未识别，留待核对"
                        "（mailroom verify；从备份恢复后下次识别）",
                        row.sha256,
                        intake.store.message_path(row.sha256),
                    )
                    continue
                where = {name: getattr(row, name) for name in WHERE}
                items.append(Incoming(raw=raw, archived_at=row.spooled_at, **where))
                ids.append(row.id)
            if items:
                yield items, partial(_unspool, ids=ids), None

    for _, outcomes in intake.stream(batches()):
        yield from outcomes


def spooled_counts(session: Session) -> dict[str | None, int]:
    """How many messages each mailbox has archived and not yet derived."""
    rows = session.execute(select(Spooled.mailbox, func.count()).group_by(Spooled.mailbox))
    return {mailbox: count for mailbox, count in rows}


def _unspool(session: Session, ids: list[int]) -> None:
    session.execute(delete(Spooled).where(Spooled.id.in_(ids)))
