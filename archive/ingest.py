"""Ingest: raw bytes to the store first, then derive (parse, recognise, read, make the search document:
in the reader processes, bot/services/sandbox.py), then one database commit per batch.

Every source hands batches of `Incoming` to an `Intake`: Maildir folders and imported files directly, IMAP
mail from the spool it was archived raw into (archive/spool.py). A message already stored (same SHA-256)
is not stored again; only the new place it was seen is recorded. Nor is a copy of a stored message (the
same mail delivered to another of our mailboxes: parsers.copies): its bytes are kept and named by the place
it was seen, and it is neither derived nor answered again. The commit that stores a message also
records the receipt it is owed (archive/owed.py) and the caller's bookkeeping (the spool rows it
empties). If that commit fails for the batch, its messages are stored one by one, and one that still
fails is stored raw with what failed; one whose derivation killed the process twice is stored raw
(archive/attempts.py): no message can hold its mailbox up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError, StatementError
from sqlalchemy.orm import Session

from archive.attempts import CRASHED, Watched
from archive.db import Database
from archive.evidence import article_keys
from archive.fulltext import index_messages
from archive.locks import claim_for_write
from archive.models import ArticleRow, Attachment, Message, Sighting
from archive.owed import owe_receipts
from archive.readings import insert_persons, reading_row
from archive.staff_senders import confirmed_senders
from archive.store import RawStore, sha256_hex
from parsers.copies import copy_key
from parsers.derive import Derived, Incoming, Recognizer, derive_message, raw_only
from parsers.records import Kind
from replies.attention import attention_reasons

log = logging.getLogger(__name__)
T = TypeVar("T")

STORE_FAILED = "保存识别结果时出错（{error}），已归档原件，请工作人员人工核对"
# How a batch's messages are derived: in this process, or in the reader sandbox's workers (bot/services/sandbox.py).
Deriver = Callable[[Recognizer, Sequence[Incoming]], list[Derived]]
# The same begun without waiting: the reader processes work while the caller writes the batch before.
Beginner = Callable[[Recognizer, Sequence[Incoming]], Callable[[], list[Derived]]]


def derive_here(recognizer: Recognizer, items: Sequence[Incoming]) -> list[Derived]:
    return [derive_message(recognizer, item) for item in items]


@dataclass(frozen=True)
class Intake:
    """Where incoming mail goes: the database, the raw store, what recognition needs, and who derives the
    messages (this process, or the reader sandbox's workers, which can be begun without waiting)."""

    db: Database
    store: RawStore
    recognizer: Recognizer
    derive: Deriver = derive_here
    begin: Beginner | None = None

    def batch(
        self, items: Sequence[Incoming], in_same_commit: Callable[[Session], None] | None = None
    ) -> list[Outcome]:
        """Archive a batch: files written and synced, then every row in one transaction, with the receipts
        the new messages are owed."""
        return self.start(items).finish(in_same_commit)

    def start(self, items: Sequence[Incoming]) -> Started:
        """The batch's raw bytes stored and its derivation begun."""
        shas = [sha256_hex(item.raw) for item in items]
        keys = {sha: copy_key(item.raw) for sha, item in zip(shas, items)}
        with self.db.session() as session:
            stored = _known_messages(session, shas, keys)
        todo: dict[str, Incoming] = {}
        taken = set(stored)  # the shas and copy keys of the messages stored or to be
        for item, sha in zip(items, shas):
            if sha not in taken:
                taken.add(sha)
                self.store.put_message(item.raw, sha)  # a copy's bytes too: they are what that mailbox held
                if (key := keys[sha]) is None or key not in taken:
                    todo[sha] = item
                    taken.add(key or sha)
        begin = self.begin or (lambda recognizer, group: partial(self.derive, recognizer, group))
        return Started(
            self,
            items,
            shas,
            keys,
            todo,
            Watched(self.db, list(todo), list(todo.values()), partial(begin, self.recognizer)),
        )

    def stream(
        self, batches: Iterable[tuple[Sequence[Incoming], Callable[[Session], None] | None, T]]
    ) -> Iterator[tuple[T, list[Outcome]]]:
        """Each batch (its messages, what its commit also records, a tag of the caller's) archived as `batch`
        does, and given back with its tag and outcomes; the next batch's derivation is begun before this
        one is written, so the reader processes and this one work at once. A batch is asked for only when
        the one before it is under way."""
        pending: tuple[Started, Callable[[Session], None] | None, T] | None = None
        try:
            for items, in_same_commit, tag in batches:
                previous, pending = pending, (self.start(items), in_same_commit, tag)
                if previous is not None:
                    yield previous[2], previous[0].finish(previous[1])
            if pending is not None:
                last, pending = pending, None
                yield last[2], last[0].finish(last[1])
        finally:
            if pending is not None:  # given up (an error, or the caller stopped): not a death
                pending[0].watched.abandon()


@dataclass(frozen=True)
class Started:
    """A batch whose raw bytes are stored and whose new messages are being derived."""

    intake: Intake
    items: Sequence[Incoming]
    shas: list[str]
    keys: dict[str, str | None]  # each message's copy key (parsers.copies) by its SHA-256
    todo: dict[str, Incoming]
    watched: Watched

    def finish(self, in_same_commit: Callable[[Session], None] | None = None) -> list[Outcome]:
        """The derivation awaited, the files synced, every row in one transaction. Another instance may
        store the same message, or another copy of it, at the same moment (one mail Cc'd to two departments):
        the write re-checks under a lock, so the second is a sighting, not an error."""
        intake, todo = self.intake, self.todo
        recognizer = intake.recognizer
        derived = {
            sha: result or raw_only(recognizer, todo[sha], CRASHED) for sha, result in zip(todo, self.watched.results())
        }
        for result in derived.values():
            for attachment in result.parsed.attachments:
                intake.store.put_file(attachment.data, attachment.sha256)
        intake.store.sync()
        write = partial(_write, intake.db, recognizer, self.items, self.shas, self.keys, todo)
        try:
            rows, fresh = write(derived, in_same_commit)
        except StatementError as error:
            if isinstance(error, NOT_THE_MESSAGES):
                raise
            log.error("保存一批 %d 封邮件失败（%s）：改为逐封保存", len(self.items), error)
            for sha, result in derived.items():
                _write_alone(write, recognizer, todo[sha], sha, result)
            rows, _ = write({}, in_same_commit)
            fresh = set(derived)
        reported: set[str] = set()
        outcomes = []
        for sha in self.shas:
            outcomes.append(_outcome(rows[sha], sha in fresh and sha not in reported))
            reported.add(sha)
        return outcomes


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


def ingest_batch(
    db: Database,
    store: RawStore,
    recognizer: Recognizer,
    items: Sequence[Incoming],
    in_same_commit: Callable[[Session], None] | None = None,
    derive: Deriver = derive_here,
) -> list[Outcome]:
    return Intake(db, store, recognizer, derive).batch(items, in_same_commit)


# Failures that say the database is away, not that a message cannot be stored: the batch is fetched again.
NOT_THE_MESSAGES = (OperationalError, InterfaceError)


def _write(
    db: Database,
    recognizer: Recognizer,
    items: Sequence[Incoming],
    shas: list[str],
    keys: dict[str, str | None],
    todo: dict[str, Incoming],
    derived: dict[str, Derived],
    in_same_commit: Callable[[Session], None] | None,
) -> tuple[dict[str, Message], set[str]]:
    """One transaction: the derived messages not stored meanwhile by another instance (nor a copy of
    them), their index rows and owed receipts, every sighting of the batch, and the caller's bookkeeping;
    returns the message each SHA-256 of the batch is, and which of them were stored now."""
    with db.session() as session:
        # The messages themselves, and the seconds their search keys are numbered within (archive.fulltext
        # hands out the next key of the arrival's second: two writers must not hand out the same).
        claim_for_write(
            db,
            session,
            [
                *(f"message:{sha}" for sha in derived),
                *(f"copy:{keys[sha]}" for sha in derived if keys[sha] is not None),
                *(f"search-second:{int(result.arrival.timestamp())}" for result in derived.values()),
            ],
        )
        known = _known_messages(session, shas, keys)
        fresh = {
            sha: message_row(todo[sha], sha, result, recognizer.stamp)
            for sha, result in derived.items()
            if sha not in known and keys[sha] not in known
        }
        _due_if_confirmed_meanwhile(session, recognizer, fresh.values())
        session.add_all(fresh.values())
        session.flush()
        insert_persons(  # registries hold thousands: in bulk, not an object each
            session,
            [
                (row.id, reading)
                for sha, message in fresh.items()
                for row, (_, reading, _) in zip(message.readings, derived[sha].readings)
            ],
        )
        index_messages(
            session, fresh.values(), [(derived[sha].document or derived[sha].with_document().document) for sha in fresh]
        )
        owe_receipts(session, fresh.values(), recognizer.own_addresses, recognizer.receipt_max_age)
        stored = known | fresh | {keys[sha]: message for sha, message in fresh.items() if keys[sha] is not None}
        rows = {sha: message for sha in shas if (message := stored.get(sha) or stored.get(keys[sha] or ""))}
        _add_sightings(session, [(item, sha, rows[sha]) for item, sha in zip(items, shas) if sha in rows])
        if in_same_commit is not None:
            in_same_commit(session)
        session.commit()
    return rows, set(fresh)


def _due_if_confirmed_meanwhile(session: Session, recognizer: Recognizer, messages: Iterable[Message]) -> None:
    """Staff confirmed or revoked a sender while the batch was derived (a clerk's resend after the phone call): its
    messages from that address are stored due for derivation (derived_with cleared, as a decision leaves them,
    for serve's watch or `rederive`); stamped, they stayed as the sender was before, for good (decisions tester)."""
    confirmed = confirmed_senders(session)
    if confirmed == recognizer.confirmed:
        return
    changed = {address for _, address, _ in set(confirmed) ^ set(recognizer.confirmed)}
    for message in messages:
        if message.from_addr in changed:
            message.derived_with = None


def _write_alone(write: Callable, recognizer: Recognizer, item: Incoming, sha: str, result: Derived) -> None:
    """A message its batch could not be stored with: alone, or else raw with what failed, so it can
    never hold its mailbox up (the raw bytes are already in the store)."""
    try:
        write({sha: result}, None)
    except StatementError as error:
        if isinstance(error, NOT_THE_MESSAGES):
            raise
        log.error("保存邮件 %s 失败：%s", sha, error)
        write({sha: raw_only(recognizer, item, STORE_FAILED.format(error=str(error.orig or error)[:200]))}, None)


def _known_messages(session: Session, shas: Iterable[str], keys: dict[str, str | None]) -> dict[str, Message]:
    """The stored messages that are these SHA-256 or have these copy keys, by both."""
    wanted = {key for key in keys.values() if key is not None}
    found = session.scalars(select(Message).where(Message.sha256.in_(set(shas)) | Message.copy_key.in_(wanted)))
    known: dict[str, Message] = {}
    for message in sorted(found, key=lambda m: m.id):  # the first stored is the message its copies are
        known.setdefault(message.sha256, message)
        if message.copy_key is not None:
            known.setdefault(message.copy_key, message)
    return known


def message_row(item: Incoming, sha: str, derived: Derived, stamp: str) -> Message:
    """The rows of a derived message; `stamp` says what derived it."""
    parsed, recognition = derived.parsed, derived.recognition
    attachments = [
        Attachment(
            ordinal=n,
            filename=a.filename,
            declared_type=a.declared_type[:255],
            sniffed_type=a.sniffed_type,
            size=a.size,
            sha256=a.sha256,
        )
        for n, a in enumerate(parsed.attachments)
    ]
    readings = [reading_row(reading, attachments[n], checks) for n, reading, checks in derived.readings]
    articles = (
        []
        if recognition.kind is not Kind.BRIEFING
        else [
            ArticleRow(key=key)
            for key in article_keys(parsed.subject, parsed.body_text, attachments, dict(derived.article_keys))
        ]
    )
    message = Message(
        sha256=sha,
        size=len(item.raw),
        message_id=parsed.message_id,
        copy_key=copy_key(item.raw),
        mailbox=derived.mailbox,
        arrival=derived.arrival,
        arrival_trusted=derived.arrival_trusted,
        date_header=parsed.date_header,
        sent_at=parsed.date,
        from_addr=parsed.from_addr,
        from_name=parsed.from_name,
        to_addrs=", ".join(parsed.to_addrs),
        cc_addrs=", ".join(parsed.cc_addrs),
        subject=parsed.subject,
        body_text=parsed.body_text,
        in_reply_to=parsed.in_reply_to,
        unit=recognition.unit,
        kind=recognition.kind.value,
        month=derived.month,
        month_source=derived.month_source,
        registered=recognition.registered,
        problems=list(derived.problems),
        archived_at=item.archived_at or datetime.now(UTC),
        attachments=attachments,
        readings=readings,
        articles=articles,
        derived_with=stamp,
    )
    message.attention = " ".join(attention_reasons(message)) or None  # what the queue (待处理) reads
    return message


def _add_sightings(session: Session, seen_now: list[tuple[Incoming, str, Message]]) -> None:
    """Where each message of the batch (an incoming mail, its SHA-256, the message it is) was seen."""
    now = datetime.now(UTC)
    # A sighting's columns: message_id, mailbox, source, folder, uidvalidity, uid, origin, sha256
    wanted: dict[tuple[int, str | None, str, str | None, int | None, int | None, str | None, str | None], None] = {}
    for item, sha, message in seen_now:
        wanted.setdefault(
            (
                message.id,
                item.mailbox or message.mailbox,
                item.source,
                item.folder,
                item.uidvalidity,
                item.uid,
                item.origin,
                sha if sha != message.sha256 else None,
            )
        )
    seen = set(
        session.execute(
            select(
                Sighting.message_id,
                Sighting.mailbox,
                Sighting.source,
                Sighting.folder,
                Sighting.uidvalidity,
                Sighting.uid,
                Sighting.origin,
                Sighting.sha256,
            ).where(Sighting.message_id.in_({key[0] for key in wanted}))
        ).all()
    )
    session.add_all(
        Sighting(
            message_id=key[0],
            mailbox=key[1],
            source=key[2],
            folder=key[3],
            uidvalidity=key[4],
            uid=key[5],
            origin=key[6],
            sha256=key[7],
            seen_at=now,
        )
        for key in wanted
        if key not in seen
    )


def _outcome(message: Message, new: bool) -> Outcome:
    return Outcome(
        id=message.id,
        sha256=message.sha256,
        new=new,
        kind=message.kind,
        unit=message.unit,
        month=message.month,
        registered=message.registered,
        subject=message.subject,
    )
