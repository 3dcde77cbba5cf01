"""Derivation written down before it starts, so that no message can kill the process for ever.

The readers run in sandboxed processes (bot/sandbox.py), but a message may still take the main process
down with it (a bug below Python, the kernel's OOM killer). Its raw bytes are already stored, and its
mailbox's position does not move, so on the next start the same message comes again: without a record,
it would kill every start. So each batch's messages are written down (committed) before their derivation
starts and struck off when it ends. On the next start a message still written down was in a batch that
never finished: it is derived again by itself, so that an innocent batch merely interrupted (a kill -9, a
power cut) loses nothing. A message whose derivation by itself never ended either is not derived a third
time: it is stored raw, with a problem for staff (and `rederive` keeps what it had).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Sequence, TypeVar

from sqlalchemy import delete, select

from archive.db import Database
from archive.models import DerivationAttempt

CRASHED = "处理此邮件时程序两次异常终止，已归档原件，未作识别，请工作人员人工核对"

T = TypeVar("T")
R = TypeVar("R")


def derive_watched(db: Database, shas: Sequence[str], items: Sequence[T],
                   derive: Callable[[list[T]], list[R]]) -> list[R | None]:
    """`derive` run over `items` (whose messages are `shas`) with each run written down first; None for a
    message that already failed to finish by itself."""
    with db.session() as session:
        earlier = {}
        for sha, alone in session.execute(select(DerivationAttempt.sha256, DerivationAttempt.alone)
                                          .where(DerivationAttempt.sha256.in_(set(shas)))):
            earlier[sha] = earlier.get(sha, False) or alone
    results: list[R | None] = [None] * len(items)
    fresh = [n for n, sha in enumerate(shas) if sha not in earlier]
    suspects = [n for n, sha in enumerate(shas) if earlier.get(sha) is False]
    for group, alone in ((fresh, False), *(([n], True) for n in suspects)):
        if not group:
            continue
        group_shas = [shas[n] for n in group]
        _write_down(db, group_shas, alone)
        for n, result in zip(group, derive([items[n] for n in group]), strict=True):
            results[n] = result
        _strike_off(db, group_shas)
    return results


def _write_down(db: Database, shas: list[str], alone: bool) -> None:
    now = datetime.now(timezone.utc)
    with db.session() as session:
        session.add_all(DerivationAttempt(sha256=sha, alone=alone, started_at=now) for sha in shas)
        session.commit()


def _strike_off(db: Database, shas: list[str]) -> None:
    with db.session() as session:
        session.execute(delete(DerivationAttempt).where(DerivationAttempt.sha256.in_(shas)))
        session.commit()
