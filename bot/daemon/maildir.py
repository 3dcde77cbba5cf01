"""Reading a department mailbox kept as a local Maildir (the embedded default and the demo).

Maildir's own convention does the bookkeeping: a message in new/ has not been seen; once archived it is
moved to cur/ with the S flag, so a poll reads only new/ and its cost grows with new mail alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from archive.ingest import Incoming, Intake, Outcome
from bot.config import Mailbox
from parsers.errors import MailroomError


def ensure_maildir(path: Path) -> None:
    """The configured Maildir must be there (its cur/ and new/): a mistyped path is an error, never a new empty
    mailbox polled as "取回 0 封". Only a missing tmp/, which some tools never make, is made."""
    if not (path / "cur").is_dir() or not (path / "new").is_dir():
        what = "不是 Maildir（缺少 cur、new 子文件夹）" if path.is_dir() else "不存在"
        raise MailroomError(f"邮箱文件夹 {path} {what}；请检查配置中的 path")
    (path / "tmp").mkdir(exist_ok=True)


def create_maildir(path: Path) -> None:
    """A new, empty Maildir (for the demo and the tests)."""
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)


def poll_maildir(box: Mailbox, intake: Intake) -> list[Outcome]:
    assert box.path is not None
    maildir = box.path  # a local keeps the narrowing inside batches()
    ensure_maildir(maildir)

    def batches() -> Iterator[tuple[list[Incoming], None, list[Path]]]:
        for batch in _batches(sorted((maildir / "new").iterdir()), box.batch):
            yield (
                [
                    Incoming(raw=path.read_bytes(), mailbox=box.key, source="maildir", origin=path.name)
                    for path in batch
                ],
                None,
                batch,
            )

    outcomes: list[Outcome] = []
    for batch, done in intake.stream(batches()):  # the next batch is read by the readers while this is written
        outcomes.extend(done)
        for path in batch:
            os.replace(path, maildir / "cur" / f"{path.name}:2,S")
    return outcomes


def _batches(paths: list[Path], size: int) -> Iterator[list[Path]]:
    files = [path for path in paths if path.is_file() and not path.name.startswith(".")]
    for start in range(0, len(files), size):
        yield files[start : start + size]
