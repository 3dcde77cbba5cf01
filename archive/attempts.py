"""Derivation written down before it starts, so that no message can kill the process for ever.

The readers run in sandboxed processes (bot/services/sandbox.py), but a message may still take the main
process down with it (a bug below Python, the kernel's OOM killer). Its raw bytes are already stored, and it
stays where it came from (spooled, or in a Maildir's new/), so on the next start the same message comes again:
without a record, it would kill every start. So each batch's messages are written down (committed) before
their derivation starts and struck off when it ends. On the next start a message still written down was in a
batch that never finished: it is derived again by itself, so that an innocent batch merely interrupted (a
kill -9, a power cut) loses nothing. A message whose derivation by itself never ended either is not derived a third
time: it is stored raw, with a problem for staff (and `rederive` keeps what it had), until staff ask for it
again (`mailroom rederive --all`, a correction: `retry`), since two deaths in a row may be two kills of an
innocent message; `status` counts them (given_up), and one read at last is owed its receipt (archive.rederive).
An exception, Ctrl-C included, is not a death: what it interrupted is struck off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Generic, TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from archive.db import Database
from archive.models import DerivationAttempt, Message

CRASHED = (
    "处理此邮件时程序两次异常终止，已归档原件，未作识别，请工作人员人工核对"
    "（更正此邮件，或运行 mailroom rederive --all，会再识别一次）"
)
log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
# Starts deriving some items (in the reader processes, or not at all yet) and gives what waits for the results.
Begin = Callable[[list[T]], Callable[[], list[R]]]


class Watched(Generic[T, R]):
    """A batch's derivation under way, written down: `results()` waits for it (None for a message that
    already failed to finish by itself); `abandon()` strikes it off when the batch is given up."""

    def __init__(self, db: Database, shas: Sequence[str], items: Sequence[T], begin: Begin[T, R]):
        self.db, self.shas, self.items, self.begin = db, list(shas), list(items), begin
        with db.session() as session:
            earlier: dict[str, bool] = {}
            for sha, alone in session.execute(
                select(DerivationAttempt.sha256, DerivationAttempt.alone).where(
                    DerivationAttempt.sha256.in_(set(self.shas))
                )
            ):
                earlier[sha] = earlier.get(sha, False) or alone
            given_up = [sha for sha in self.shas if earlier.get(sha)]
            known: dict[str, tuple[int, bool]] = {}
            if given_up:  # rare: no query more for every batch of ingest
                found = session.execute(
                    select(Message.sha256, Message.id, Message.from_addr.is_(None)).where(Message.sha256.in_(given_up))
                )
                known = {sha: (message_id, raw) for sha, message_id, raw in found}
        self.fresh = [n for n, sha in enumerate(self.shas) if sha not in earlier]
        self.suspects = [n for n, sha in enumerate(self.shas) if earlier.get(sha) is False]
        for sha in given_up:  # named as `show` takes it when it has an id (a re-derivation), else by its bytes
            message_id, raw = known.get(sha, (None, False))
            named = f"#{message_id}" if message_id is not None else f"（SHA-256 {sha}）"
            if raw:  # given up before, and stored raw then: no death now, the message is passed over again
                log.warning("邮件 %s 此前识别时程序两次异常终止，仍只保存原件（mailroom rederive --all 可重试）", named)
                continue
            log.error(
                "邮件 %s 单独识别时程序再次异常终止：不再识别，已保存原件（mailroom rederive --all 可重试）", named
            )
        self._pending = self._start(self.fresh, alone=False) if self.fresh else None

    def _start(self, group: list[int], alone: bool) -> Callable[[], list[R]]:
        _write_down(self.db, [self.shas[n] for n in group], alone)
        return self.begin([self.items[n] for n in group])

    def results(self) -> list[R | None]:
        found: list[R | None] = [None] * len(self.items)
        try:
            if self._pending is not None:
                for n, result in zip(self.fresh, self._pending(), strict=True):
                    found[n] = result
                _strike_off(self.db, [self.shas[n] for n in self.fresh])
            for n in self.suspects:
                (found[n],) = self._start([n], alone=True)()
                _strike_off(self.db, [self.shas[n]])
        except BaseException:
            self.abandon()
            raise
        return found

    def abandon(self) -> None:
        _strike_off(self.db, [self.shas[n] for n in (*self.fresh, *self.suspects)])


def derive_watched(
    db: Database, shas: Sequence[str], items: Sequence[T], derive: Callable[[list[T]], list[R]], retry: bool = False
) -> list[R | None]:
    """`derive` run over `items` (whose messages are `shas`), written down first; with `retry` (staff asked for
    them), a message given up for killing the process twice is derived again too: by itself, as after one death,
    so that a message that does kill the process is given up again without its batch."""
    if retry:
        _forgive(db, list(shas))
    return Watched(db, shas, items, lambda group: lambda: derive(group)).results()


def given_up(session: Session) -> int:
    """How many stored messages were given up (stored raw, unread and unanswered, their derivation by itself never
    having ended) and wait for staff to ask for them again."""
    alone = select(DerivationAttempt.sha256).where(DerivationAttempt.alone.is_(True))
    return (
        session.scalar(
            select(func.count()).select_from(Message).where(Message.from_addr.is_(None), Message.sha256.in_(alone))
        )
        or 0
    )


def _write_down(db: Database, shas: list[str], alone: bool) -> None:
    now = datetime.now(UTC)
    with db.session() as session:
        session.add_all(DerivationAttempt(sha256=sha, alone=alone, started_at=now) for sha in shas)
        session.commit()


def _forgive(db: Database, shas: list[str]) -> None:
    """The messages given up (written down alone) written down as after one death: the next derivation of them
    is by itself. Rows of a batch under way elsewhere (alone=False) are left as they are."""
    with db.session() as session:
        session.execute(
            update(DerivationAttempt)
            .where(DerivationAttempt.sha256.in_(shas), DerivationAttempt.alone.is_(True))
            .values(alone=False)
        )
        session.commit()


def _strike_off(db: Database, shas: list[str]) -> None:
    if not shas:
        return
    with db.session() as session:
        session.execute(delete(DerivationAttempt).where(DerivationAttempt.sha256.in_(shas)))
        session.commit()
