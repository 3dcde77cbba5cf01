"""Reading a department mailbox kept as a local Maildir (the embedded default and the demo).

Maildir's own convention does the bookkeeping: a message in new/ has not been seen; once archived it is
moved to cur/ with the S flag, so a poll reads only new/ and its cost grows with new mail alone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from archive.ingest import Incoming, Intake, Outcome
from bot.config import Mailbox


def ensure_maildir(path: Path) -> None:
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)


def poll_maildir(box: Mailbox, intake: Intake) -> list[Outcome]:
    assert box.path is not None
    ensure_maildir(box.path)
    outcomes: list[Outcome] = []
    for batch in _batches(sorted((box.path / "new").iterdir()), box.batch):
        items = [Incoming(raw=path.read_bytes(), mailbox=box.key, source="maildir", origin=path.name)
                 for path in batch]
        outcomes.extend(intake.batch(items))
        for path in batch:
            os.replace(path, box.path / "cur" / f"{path.name}:2,S")
    return outcomes


def _batches(paths: list[Path], size: int) -> Iterator[list[Path]]:
    files = [path for path in paths if path.is_file() and not path.name.startswith(".")]
    for start in range(0, len(files), size):
        yield files[start:start + size]
