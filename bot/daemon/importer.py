"""`mailroom import`: backfill from .eml files, Maildir folders and mbox files."""

from __future__ import annotations

import itertools
import mailbox
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from archive.ingest import Incoming, Outcome
from bot.daemon.deps import Deps
from parsers.errors import MailroomError
from parsers.sniff import sniff_type

BATCH = 200


_HEAD = 65536  # header blocks are far shorter; a message of Received lines and DKIM keys fits
_FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")
_MAIL_FIELD = re.compile(
    rb"(from|to|cc|subject|date|message-id|received|return-path|mime-version|delivered-to|"
    rb"sender|reply-to)[ \t]*:",
    re.I,
)


@dataclass(frozen=True)
class Source:
    """One message to import: where it is and how to read its bytes (a file of its own, or a Maildir's or an
    mbox's message)."""

    origin: str
    read: Callable[[], bytes]
    single_file: bool = False

    def read_head(self) -> bytes:
        with open(self.origin, "rb") as handle:
            return handle.read(_HEAD)


def find_sources(paths: list[Path], force: bool = False) -> list[Source]:
    """Every message under the given paths: .eml files, Maildir folders, mbox files, folders of these. A file
    that is not mail (no header block) is refused, saying why, unless `force`: archived, it would stay a
    headerless "message" for ever."""
    sources: list[Source] = []
    for path in paths:
        if not path.exists():
            raise MailroomError(f"{path}：没有这个文件或文件夹")
        sources.extend(_sources(path))
    for source in sources if not force else ():
        if source.single_file and (reason := not_mail(source.read_head())):
            raise MailroomError(f"{source.origin} 不是邮件：{reason}；确实要把它当作邮件导入请加 --force")
    return sources


def not_mail(head: bytes) -> str | None:
    """Why the start of a file is not a mail message (None when it is): a message starts with a block of
    header lines ("From: …", "Subject: …", folded lines) naming at least one field mail has."""
    if not head.strip():
        return "文件是空的"
    kind = sniff_type(head)
    if kind == "unknown":
        return "内容不是文字，是某种其他格式的文件"
    if kind not in ("eml", "text"):
        return f"这是一个 {kind} 文件"
    lines = re.split(rb"\r?\n", head.removeprefix(b"\xef\xbb\xbf"))
    if lines[0].startswith(b"From "):  # an mbox separator line before the headers
        lines = lines[1:]
    block = list(itertools.takewhile(bool, lines))
    if not block:
        return "开头是空行，没有邮件头（邮件应以“From: …”“Subject: …”这样的行开头）"
    if not _FIELD.match(block[0]):
        first = block[0].decode("utf-8", "replace")[:40]
        return f"开头没有邮件头（第一行是“{first}”，邮件应以“From: …”“Subject: …”这样的行开头）"
    bad = next((line for line in block if not (_FIELD.match(line) or line[:1] in (b" ", b"\t"))), None)
    if bad is not None:
        return f"邮件头中有一行不是“名称: 内容”的形式：“{bad.decode('utf-8', 'replace')[:40]}”"
    if not any(_MAIL_FIELD.match(line) for line in block):
        return "邮件头中没有 From、To、Subject、Date 等任何邮件字段"
    return None


def _sources(path: Path) -> Iterator[Source]:
    if path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir():
        maildir = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(maildir.keys()):
            yield Source(f"{path}#{key}", partial(maildir.get_bytes, key))
    elif path.is_dir():
        for child in sorted(path.iterdir()):
            if child.is_dir() or child.suffix.lower() in (".eml", ".mbox", ".mbx") or _is_mbox(child):
                yield from _sources(child)
    elif _is_mbox(path):
        mbox = mailbox.mbox(path, factory=None, create=False)
        for key in mbox.iterkeys():  # a mailbox iterates messages, not keys
            yield Source(f"{path}#{key}", partial(mbox.get_bytes, key))
    else:
        yield Source(str(path), path.read_bytes, single_file=True)


def _is_mbox(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        return handle.read(5) == b"From "


def import_sources(
    deps: Deps, sources: list[Source], mailbox_key: str | None, advance: Callable[[int], None] = lambda n: None
) -> list[Outcome]:
    """Archive every source in batches; each message goes to `mailbox_key` or to the mailbox it was sent to."""

    def batches() -> Iterator[tuple[list[Incoming], None, None]]:
        for start in range(0, len(sources), BATCH):
            yield (
                [
                    Incoming(raw=source.read(), mailbox=mailbox_key, source="import", origin=source.origin)
                    for source in sources[start : start + BATCH]
                ],
                None,
                None,
            )

    outcomes: list[Outcome] = []
    for _, done in deps.intake.stream(batches()):  # the readers derive a batch while the one before is written
        outcomes.extend(done)
        advance(len(done))
    return outcomes
