"""`mailroom import`: backfill from .eml files, Maildir folders and mbox files."""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from archive.ingest import Incoming, Outcome
from bot.deps import Deps
from parsers.errors import MailroomError

BATCH = 200


@dataclass(frozen=True)
class Source:
    """One message to import: where it is and how to read its bytes."""

    origin: str
    read: Callable[[], bytes]


def find_sources(paths: list[Path]) -> list[Source]:
    """Every message under the given paths: .eml files, Maildir folders, mbox files, folders of these."""
    sources: list[Source] = []
    for path in paths:
        if not path.exists():
            raise MailroomError(f"{path}: no such file or folder")
        sources.extend(_sources(path))
    return sources


def _sources(path: Path) -> Iterator[Source]:
    if path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir():
        box = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(box.keys()):
            yield Source(f"{path}#{key}", lambda key=key: box.get_bytes(key))
    elif path.is_dir():
        for child in sorted(path.iterdir()):
            if child.is_dir() or child.suffix.lower() in (".eml", ".mbox", ".mbx") or _is_mbox(child):
                yield from _sources(child)
    elif _is_mbox(path):
        box = mailbox.mbox(path, factory=None, create=False)
        for key in box.keys():
            yield Source(f"{path}#{key}", lambda key=key: box.get_bytes(key))
    else:
        yield Source(str(path), path.read_bytes)


def _is_mbox(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        return handle.read(5) == b"From "


def import_sources(deps: Deps, sources: list[Source], mailbox_key: str | None,
                   advance: Callable[[int], None] = lambda n: None) -> list[Outcome]:
    """Archive every source in batches; each message goes to `mailbox_key` or to the mailbox it was sent to."""
    outcomes: list[Outcome] = []
    for start in range(0, len(sources), BATCH):
        chunk = sources[start:start + BATCH]
        items = [Incoming(raw=source.read(), mailbox=mailbox_key, source="import", origin=source.origin)
                 for source in chunk]
        outcomes.extend(deps.intake.batch(items))
        advance(len(chunk))
    return outcomes
