"""Ingest: raw bytes to the store first, then parse and recognise, then one database commit per batch.

Every source (IMAP, Maildir, imported files) hands batches of `Incoming` to `ingest_batch`. A message
already stored (same SHA-256) is not stored again; only the new place it was seen is recorded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import Database
from archive.evidence import article_keys
from archive.fulltext import index_messages
from archive.locks import claim_for_write
from archive.models import ArticleRow, Attachment, FormReadingRow, Message, Sighting
from archive.owed import owe_receipts
from archive.readings import reading_row
from archive.store import RawStore, sha256_hex
from parsers.checks import check_package
from parsers.forms import FormReading
from parsers.mime import parse_message
from parsers.workbook import read_attachment
from parsers.recognize import recognize
from parsers.records import Kind, ParsedMessage, Recognition, Unit

log = logging.getLogger(__name__)

UNTRUSTED_ARRIVAL = "到达时间取自发件人的 Date 头（邮件无服务器接收时间），仅供参考"
NO_ARRIVAL = "邮件既无服务器接收时间也无 Date 头，到达时间按归档时间记录"


@dataclass(frozen=True)
class Incoming:
    """One message as a source delivers it, with where it was seen."""

    raw: bytes
    mailbox: str | None
    source: str  # imap | maildir | import
    arrival: datetime | None = None  # the server's time (IMAP INTERNALDATE) when the source knows it
    folder: str | None = None
    uidvalidity: int | None = None
    uid: int | None = None
    origin: str | None = None


@dataclass(frozen=True)
class Recognizer:
    """What recognition, and the receipt decision made with it, need from the configuration."""

    units: tuple[Unit, ...]
    timezone: ZoneInfo
    mailboxes: tuple[tuple[str, str], ...]  # (address, key) of each department mailbox
    year: int = 2020  # the plan year: a workbook title's month without a year is in it
    receipt_max_age: timedelta | None = None  # mail older than this when archived is owed no receipt

    def unit(self, name: str | None) -> Unit | None:
        return next((unit for unit in self.units if unit.name == name), None)

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset(address for address, _ in self.mailboxes)

    def mailbox_for(self, parsed: ParsedMessage) -> str | None:
        """The department mailbox a message was addressed to (To first, then Cc)."""
        keys = dict(self.mailboxes)
        return next((keys[a] for a in (*parsed.to_addrs, *parsed.cc_addrs) if a in keys), None)


@dataclass(frozen=True)
class Outcome:
    """What became of one incoming message."""

    id: int
    sha256: str
    new: bool
    kind: str
    unit: str | None
    month: str | None
    registered: bool
    subject: str


def ingest_batch(db: Database, store: RawStore, recognizer: Recognizer, items: Sequence[Incoming],
                 in_same_commit: Callable[[Session], None] | None = None) -> list[Outcome]:
    """Archive a batch: files written and synced, then every row in one transaction, with the receipts
    the new messages are owed. Another instance may store the same message at the same moment (one mail
    Cc'd to two departments): the write re-checks under a lock, so the second is a sighting, not an error."""
    shas = [sha256_hex(item.raw) for item in items]
    with db.session() as session:
        stored_before = set(_known_messages(session, set(shas)))
    derived: dict[str, Message] = {}
    for item, sha in zip(items, shas):
        if sha not in stored_before and sha not in derived:
            derived[sha] = _archive_one(store, recognizer, item, sha)
    store.sync()
    with db.session() as session:
        claim_for_write(session, (f"message:{sha}" for sha in derived))
        known = _known_messages(session, set(shas))
        fresh = {sha: message for sha, message in derived.items() if sha not in known}
        session.add_all(fresh.values())
        session.flush()
        index_messages(session, fresh.values())
        owe_receipts(session, fresh.values(), recognizer.own_addresses, recognizer.receipt_max_age)
        rows = known | fresh
        _add_sightings(session, items, [rows[sha] for sha in shas])
        if in_same_commit is not None:
            in_same_commit(session)
        session.commit()
    reported: set[str] = set()
    outcomes = []
    for sha in shas:
        outcomes.append(_outcome(rows[sha], sha in fresh and sha not in reported))
        reported.add(sha)
    return outcomes


def _known_messages(session: Session, shas: set[str]) -> dict[str, Message]:
    return {m.sha256: m for m in session.scalars(select(Message).where(Message.sha256.in_(shas)))}


def _archive_one(store: RawStore, recognizer: Recognizer, item: Incoming, sha: str) -> Message:
    store.put_message(item.raw, sha)
    parsed = parse_message(item.raw)
    for attachment in parsed.attachments:
        store.put_file(attachment.data, attachment.sha256)
    arrival, trusted, arrival_problem = arrival_of(item, parsed)
    recognition = _recognise(recognizer, parsed, arrival)
    problems = [*parsed.problems, *recognition.problems, *([arrival_problem] if arrival_problem else [])]
    mailbox = item.mailbox or recognizer.mailbox_for(parsed)
    if mailbox is None:
        problems.append("邮件的收件人和抄送中没有任何一个部门邮箱，无法确定所属邮箱")
    attachments = [Attachment(ordinal=n, filename=a.filename, declared_type=a.declared_type[:255],
                              sniffed_type=a.sniffed_type, size=a.size, sha256=a.sha256)
                   for n, a in enumerate(parsed.attachments)]
    readings = _read_attachments(recognizer, parsed, attachments, recognition.unit, problems)
    month, month_source = recognition.month, recognition.month_source
    stated = next((reading.month for reading in readings if reading.readable and reading.month), None)
    if month_source == "arrival" and stated:  # a workbook title's month beats the arrival month
        month, month_source = stated, "workbook"
    articles = [] if recognition.kind is not Kind.BRIEFING else \
        [ArticleRow(key=key) for key in article_keys(parsed.subject, parsed.body_text, attachments)]
    return Message(
        sha256=sha, size=len(item.raw), message_id=parsed.message_id, mailbox=mailbox,
        arrival=arrival, arrival_trusted=trusted, date_header=parsed.date_header, sent_at=parsed.date,
        from_addr=parsed.from_addr, from_name=parsed.from_name, to_addrs=", ".join(parsed.to_addrs),
        cc_addrs=", ".join(parsed.cc_addrs), subject=parsed.subject, body_text=parsed.body_text,
        in_reply_to=parsed.in_reply_to, unit=recognition.unit, kind=recognition.kind.value,
        month=month, month_source=month_source, registered=recognition.registered,
        problems=problems, archived_at=datetime.now(timezone.utc), attachments=attachments, readings=readings,
        articles=articles,
    )


def _read_attachments(recognizer: Recognizer, parsed: ParsedMessage, rows: list[Attachment], unit: str | None,
                      problems: list[str]) -> list[FormReadingRow]:
    """Read each attachment once (zip members too); the package's cross-form checks go on its 附件2."""
    found: list[tuple[Attachment, FormReading]] = []
    for attachment, row in zip(parsed.attachments, rows):
        try:
            readings = read_attachment(attachment.filename, attachment.data, recognizer.units,
                                       year=recognizer.year, sender_unit=unit)
        except Exception:  # a bug in a reader must not lose the message: kept, and shown to staff
            log.exception("reading %r failed", attachment.filename)
            problems.append(f"读取附件“{attachment.filename}”时发生内部错误，已归档，请工作人员人工核对")
            continue
        found.extend((row, reading) for reading in readings)
    package = recognizer.unit(unit)
    checks = check_package([reading for _, reading in found], package) if package else ()
    summary = next((reading for _, reading in found if reading.form == 2 and reading.readable), None)
    return [reading_row(reading, row, checks if reading is summary else ()) for row, reading in found]


def arrival_of(item: Incoming, parsed: ParsedMessage) -> tuple[datetime, bool, str | None]:
    """The server's time when known: the source's, else the newest Received header; else the Date header."""
    if item.arrival is not None:
        return item.arrival, True, None
    if parsed.received_dates:
        return parsed.received_dates[0], True, None
    if parsed.date is not None:
        return parsed.date, False, UNTRUSTED_ARRIVAL
    return datetime.now(timezone.utc), False, NO_ARRIVAL


def _recognise(recognizer: Recognizer, parsed: ParsedMessage, arrival: datetime) -> Recognition:
    try:
        return recognize(parsed, recognizer.units, arrival, recognizer.timezone, recognizer.own_addresses)
    except Exception:  # a bug in recognition must not lose the message: it is kept and shown to staff
        log.exception("recognition failed for %r", parsed.subject)
        return Recognition(unit=None, kind=Kind.OTHER, month=None, month_source="arrival", registered=False,
                           problems=("识别时发生内部错误，已归档，请工作人员人工处理",))


def _add_sightings(session: Session, items: Sequence[Incoming], messages: list[Message]) -> None:
    now = datetime.now(timezone.utc)
    wanted = {}
    for item, message in zip(items, messages):
        key = (message.id, item.mailbox or message.mailbox, item.source, item.folder, item.uidvalidity, item.uid, item.origin)
        wanted.setdefault(key, item)
    seen = set(session.execute(
        select(Sighting.message_id, Sighting.mailbox, Sighting.source, Sighting.folder, Sighting.uidvalidity,
               Sighting.uid, Sighting.origin)
        .where(Sighting.message_id.in_({key[0] for key in wanted}))).all())
    session.add_all(
        Sighting(message_id=key[0], mailbox=key[1], source=key[2], folder=key[3], uidvalidity=key[4],
                 uid=key[5], origin=key[6], seen_at=now)
        for key in wanted if key not in seen)


def _outcome(message: Message, new: bool) -> Outcome:
    return Outcome(id=message.id, sha256=message.sha256, new=new, kind=message.kind, unit=message.unit,
                   month=message.month, registered=message.registered, subject=message.subject)
