"""Integrity of the raw store against the database: every recorded file present and unaltered."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import Attachment, Message, Sighting, Spooled
from archive.store import FILES, MESSAGES, RawStore

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Finding:
    """A recorded file that is missing, or whose bytes no longer hash to its address."""

    problem: str  # missing | altered
    path: Path
    sha256: str
    actual: str | None  # the SHA-256 the file has now (altered)
    rows: tuple[str, ...]  # the database rows that name the file, e.g. "邮件 #12"


@dataclass
class Report:
    checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    unrecorded: list[Path] = field(default_factory=list)  # files no row names (a batch whose commit failed)


def recorded_files(session: Session, store: RawStore) -> dict[Path, tuple[str, list[str]]]:
    """Every file the database names, with its address and the rows naming it."""
    files: dict[Path, tuple[str, list[str]]] = {}
    for id_, sha in session.execute(select(Message.id, Message.sha256).order_by(Message.id)):
        files.setdefault(store.message_path(sha), (sha, []))[1].append(f"邮件 #{id_}")
    copies = select(Sighting.message_id, Sighting.sha256).where(Sighting.sha256.is_not(None)).order_by(Sighting.id)
    for id_, copy in session.execute(copies):  # the bytes another mailbox held of the same mail (parsers.copies)
        files.setdefault(store.message_path(str(copy)), (str(copy), []))[1].append(f"邮件 #{id_} 的副本")
    attachments = select(Attachment.message_id, Attachment.filename, Attachment.sha256).order_by(Attachment.id)
    for message_id, filename, sha in session.execute(attachments):
        files.setdefault(store.file_path(sha), (sha, []))[1].append(f"邮件 #{message_id} 的附件“{filename}”")
    for id_, sha in session.execute(select(Spooled.id, Spooled.sha256).order_by(Spooled.id)):
        # archived raw and not yet derived (archive/spool.py): the only copy of that mail here
        files.setdefault(store.message_path(sha), (sha, []))[1].append(f"待识别邮件 #{id_}")
    return files


def verify(
    files: dict[Path, tuple[str, list[str]]], store: RawStore, advance: Callable[[int], None] = lambda n: None
) -> Report:
    """Hash every recorded file (`recorded_files`) again; `advance` hears of each one (a progress bar)."""
    report = Report()
    for path, (sha, rows) in files.items():
        actual = _hash(path)
        if actual is None:
            report.findings.append(Finding("missing", path, sha, None, tuple(rows)))
        elif actual != sha:
            report.findings.append(Finding("altered", path, sha, actual, tuple(rows)))
        report.checked += 1
        advance(1)
    report.unrecorded = sorted(path for path in _stored(store) if path not in files)
    return report


def _hash(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def _stored(store: RawStore) -> Iterator[Path]:
    for sub in (MESSAGES, FILES):
        for folder, _, names in os.walk(store.root / sub):
            # A .tmp- file is a write cut off before its rename: it never had an address.
            yield from (Path(folder) / name for name in names if not name.startswith(".tmp-"))
