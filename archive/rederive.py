"""Re-derivation: every derived row of a message (recognition, attachments, form readings, persons,
articles, its search document) made again from its raw bytes under the current configuration, staff
decisions and code, through the same intake as new mail (the reader sandbox). Derived data is a cache.

Batch by batch, each batch one transaction that claims its messages as ingest does, so it runs safely
beside `serve`; a message is rewritten only when what it derives to has changed, and stamped with what
derived it, so a run stopped midway resumes where it was (messages already stamped are skipped). A message
whose raw file is missing or unreadable keeps what it had, with the problem for staff, and the run goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from archive.attempts import derive_watched
from archive.closing import closed_years
from archive.corrections import in_force
from archive.decisions import latest_because
from archive.fulltext import index_messages, unindex_messages
from archive.ingest import Intake, message_row
from archive.locks import claim_for_write
from archive.models import ArticleRow, Attachment, FormReadingRow, Message, Rewrite
from archive.owed import Counted, owe_receipts, owed_before, reopen_unsent, settle_notice
from archive.readings import insert_persons
from archive.staff_senders import confirmed_senders
from archive.store import ArchiveUnreadable, RawStore, sha256_hex
from parsers.derive import Derived, Incoming, Recognizer, corrected
from parsers.records import name_as_today
from replies.attention import UNREADABLE_MARK, attention_reasons

# The message columns derivation writes (the rest — sha256, size, arrival as the server said, when it was
# archived — belong to the message as received).
DERIVED_COLUMNS = (
    "message_id",
    "mailbox",
    "date_header",
    "sent_at",
    "from_addr",
    "from_name",
    "to_addrs",
    "cc_addrs",
    "subject",
    "body_text",
    "in_reply_to",
    "unit",
    "kind",
    "month",
    "month_source",
    "registered",
    "problems",
    "attention",
)


# The lock (archive.locks.exclusive) held by whoever re-derives what is due across the archive: `mailroom serve`
# in the background, or `mailroom rederive`. A staff decision re-derives its own few messages without it.
LOCK = "rederive"
# A message whose raw file cannot be read keeps what it had, with this problem (archive.store says why).
UNREADABLE = f"{UNREADABLE_MARK}，保留原有的识别结果："
UNREADABLE_NEXT = "恢复后运行 mailroom rederive --all 重新识别"
EDITED = "已被改动"  # a raw file that no longer holds the bytes archived (_read_raw)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """A message whose recognition or form readings changed."""

    id: int
    subject: str
    before: dict[str, Any]
    after: dict[str, Any]


def summary(message: Message) -> dict[str, Any]:
    """What a change is reported by: unit, kind, month, the registered flag, each form read."""
    return {
        "unit": message.unit,
        "kind": message.kind,
        "month": message.month,
        "registered": message.registered,
        "forms": sorted([r.source, r.form, r.readable, r.rows] for r in message.readings),
    }


def _fingerprint(message: Message) -> tuple:
    """Everything derivation writes, to tell whether a message must be rewritten. A registry's persons are
    known by their reading's row count and problems: loading thousands of them to compare would cost more
    than rewriting (and a fresh message's persons are not objects: ingest inserts them in bulk)."""
    return (
        tuple(getattr(message, name) for name in DERIVED_COLUMNS),
        [a.sha256 for a in message.attachments],
        [
            (r.source, r.form, r.unit, r.month, r.rows, r.readable, r.tasks, r.text, r.problems)
            for r in message.readings
        ],
        [a.key for a in message.articles],
    )


def due(session: Session, stamp: str, everything: bool, ids: Sequence[int] | None) -> list[int]:
    """The messages to derive again: those not derived with `stamp` (or every one), or just `ids`."""
    query = select(Message.id).order_by(Message.id)
    if ids is not None:
        query = query.where(Message.id.in_(ids))
    elif not everything:
        query = query.where(_behind(stamp))
    return list(session.scalars(query))


def behind(session: Session, stamp: str) -> int:
    """How many messages were derived under another configuration or code (what `status` reports)."""
    return session.scalars(select(func.count()).select_from(Message).where(_behind(stamp))).one()


def _behind(stamp: str):
    return or_(Message.derived_with.is_(None), Message.derived_with != stamp)


def rederive(
    intake: Intake,
    session: Session,
    message_ids: Sequence[int],
    batch: int = 50,
    advance: Callable[[int], None] = lambda n: None,
    commit: bool = True,
    because: str | None = None,
    stopping: Callable[[], bool] = lambda: False,
    retry: bool = False,
) -> list[Change]:
    """Derive these messages again; returns those whose summary changed. With `commit` False the caller
    owns the transaction (a dry run rolls it back). `because` is a staff decision's why: a message it
    makes count, stop counting, or count as another unit, month or kind than its sender was last told, is owed
    a short notice to its sender, in the same commit (archive.owed.settle_notice); without it (`serve`, `mailroom
    rederive` after the decision's command died), a message a decision marked due is owed the same notice, its
    why read from the decision records (archive.decisions.latest_because). A rewritten message's
    receipt or notice composed into the outbox and not yet sent is taken back out, to be composed again from
    what it derives to now (archive.owed.reopen_unsent). A correction's unit is taken by today's names and
    aliases (today_name). `stopping` is asked between batches (the daemon's stop): what is done is committed,
    the rest stays due. `retry`: staff asked for these messages (`--all`, a decision), so one given up for
    killing the process twice is derived again (archive.attempts). A message stored raw (nothing read from it: no
    sender) and read now is owed the reply ingest would have owed it, its age counted to now (archive.owed)."""
    changes: list[Change] = []
    stamp = intake.recognizer.stamp
    now = datetime.now(UTC)
    closed: set[int] | None = None  # the closed years, read once a message has changed
    for start in range(0, len(message_ids), batch):
        if stopping():
            break
        chunk = message_ids[start : start + batch]
        messages = list(
            session.scalars(
                select(Message)
                .where(Message.id.in_(chunk))
                .order_by(Message.id)
                .options(
                    selectinload(Message.attachments), selectinload(Message.articles), selectinload(Message.readings)
                )
            )
        )
        raws, lost = _read_raw(intake.store, messages)
        claimed, messages = messages, [m for m in messages if m.id in raws]
        items = [
            Incoming(
                raw=raws[m.id], mailbox=m.mailbox, source="rederive", arrival=m.arrival if m.arrival_trusted else None
            )
            for m in messages
        ]
        results = _derive(intake, messages, items, commit, retry)
        claim_for_write(intake.db, session, [f"message:{m.sha256}" for m in claimed])
        decided = _decided(session, [m.id for m in claimed])
        for message in claimed:
            if message.id in lost:
                _keep_as_it_was(message, lost[message.id], None if message.id in decided else stamp)
        confirmed = confirmed_senders(session)
        if confirmed != intake.recognizer.confirmed:  # staff confirmed or revoked a sender meanwhile
            intake = replace(intake, recognizer=replace(intake.recognizer, confirmed=confirmed))
            results = _derive(intake, messages, items, commit, retry)
        corrections = in_force(session, [m.sha256 for m in messages])
        rewritten = 0
        for message, item, result in zip(messages, items, results):
            if result is None:  # its derivation killed the process twice: what it had stands
                message.derived_with = stamp
                continue
            unread = message.from_addr is None  # stored raw (its parse crashed, or killed the process twice)?
            if not message.arrival_trusted:
                if unread:  # dated by its import then, its Date and Received unread: by them now, as ingest dates
                    message.arrival = result.arrival
                else:  # the time it was archived stands, not the time of this run
                    result = replace(result, arrival=message.arrival)
            recognised = _counted(result)
            if (row := corrections.get(message.sha256)) is not None:
                unit = today_name(intake.recognizer, row.unit, row.month or result.month)
                result = corrected(result, unit, row.kind, row.month, row.counted)
            before = summary(message)
            fresh = message_row(item, message.sha256, result, stamp)
            message.copy_key = fresh.copy_key  # what the sender wrote: no rewrite of the derived rows
            if _fingerprint(fresh) != _fingerprint(message):
                _rewrite(session, message, fresh, result)
                rewritten += 1
                reopen_unsent(session, message.id)  # what was composed from the old derivation is not sent
                if unread and message.from_addr is not None and not owed_before(session, message.id):
                    recognizer = intake.recognizer  # read at last: owed what ingest would have owed it
                    owe_receipts(session, [message], recognizer.own_addresses, recognizer.receipt_max_age, now)
            message.derived_with = stamp
            after = summary(message)
            if after != before:
                changes.append(Change(message.id, message.subject, before, after))
                if closed is None:
                    closed = set(closed_years(session))
                named = partial(today_name, intake.recognizer)
                why = because
                if why is None and message.id in decided:  # the decision's own command died before this
                    why = latest_because(session, message, intake.recognizer.timezone)
                settle_notice(session, message, recognised, why, closed, intake.recognizer.own_addresses, named)
        if rewritten:
            session.add(Rewrite(at=datetime.now(UTC), messages=rewritten))
        session.flush()
        if commit:
            session.commit()
        advance(len(chunk))
    return changes


def _decided(session: Session, ids: list[int]) -> set[int]:
    """Those of the messages a staff decision marked due (archive.corrections.mark_due) and nobody has derived
    since: read afresh under the claim, so that of two deriving one at once (the decision's command, `serve`'s
    background pass) only the first owes what the decision owes."""
    if not ids:
        return set()
    return set(session.scalars(select(Message.id).where(Message.id.in_(ids), Message.derived_with.is_(None))))


def _read_raw(store: RawStore, messages: list[Message]) -> tuple[dict[int, bytes], dict[int, str]]:
    """Each message's raw bytes by id, and why for each one whose file cannot be read, or no longer holds the
    bytes archived (edited since: deriving it would put what someone wrote in place of what the unit sent). The
    whole folder away (a disk not mounted) is raised instead, marking no message: the run stops, and is tried
    again when it is back."""
    raws: dict[int, bytes] = {}
    lost: dict[int, str] = {}
    for message in messages:
        try:
            raw = store.read_message(message.sha256)
        except ArchiveUnreadable as error:
            if store.looks_empty():
                raise
            lost[message.id] = str(error)
            continue
        if sha256_hex(raw) == message.sha256:
            raws[message.id] = raw
        else:
            lost[message.id] = (
                f"归档中的文件 {store.message_path(message.sha256)} {EDITED}，与归档时的内容不同："
                "请运行 mailroom verify 核对，并从备份恢复"
            )
    return raws, lost


def _keep_as_it_was(message: Message, said: str, stamp: str | None) -> None:
    """A message whose raw file is gone or unreadable keeps what it was derived into, with the problem for
    staff (待处理 as failed: replies.attention.FAILURE_MARKS; `show`, the log). Stamped, so that no run tries it
    again (as one whose derivation killed the process twice: archive.attempts), unless a staff decision marked
    it due (`stamp` None): that decision is not applied yet, so it stays due, with the notice it may owe, and
    each run tries it once more (but `serve`'s watch, which passes over it while its file stays unreadable:
    waiting_for_file). `year close` refuses its year meanwhile (unreadable_messages); once the file is
    restored, `rederive --all` derives it again."""
    problem = f"{UNREADABLE}{said}；{UNREADABLE_NEXT}"
    log.error("重新识别：邮件 #%d：%s", message.id, problem)
    kept = [p for p in message.problems or [] if not p.startswith(UNREADABLE)]
    message.problems = [*kept, problem]
    message.attention = " ".join(attention_reasons(message)) or None
    if stamp is not None:
        message.derived_with = stamp


def waiting_for_file(store: RawStore, message: Message) -> bool:
    """Whether the message was kept as it was for its raw file (_keep_as_it_was, the problem on record for staff)
    and that file still cannot be opened, or still differs from what was archived: deriving it again would
    change nothing but say the problem once more. Opened, not read, unless it was found edited."""
    said = [problem for problem in message.problems or () if problem.startswith(UNREADABLE)]
    if not said:
        return False
    try:
        with store.message_path(message.sha256).open("rb") as file:
            return any(EDITED in problem for problem in said) and sha256_hex(file.read()) != message.sha256
    except OSError:
        return True


def unreadable_messages(session: Session) -> list[Message]:
    """The messages kept as they were because their raw file could not be read (_keep_as_it_was): what they say
    was derived under an older configuration, code or decision. Read through the attention index (they are
    failed)."""
    failed = session.scalars(
        select(Message).where(Message.attention.is_not(None), Message.attention.like("%failed%")).order_by(Message.id)
    )
    return [message for message in failed if any(p.startswith(UNREADABLE) for p in message.problems or ())]


def _derive(
    intake: Intake, messages: list[Message], items: list[Incoming], commit: bool, retry: bool = False
) -> Sequence[Derived | None]:
    if not items:  # every message of the batch unreadable
        return []
    derive = partial(intake.derive, intake.recognizer)
    # Written down first (archive/attempts.py) when this run commits its own batches; a caller that holds
    # the transaction (a staff decision, a dry run) derives a few messages and would wait on itself.
    if not commit:
        return derive(items)
    return derive_watched(intake.db, [m.sha256 for m in messages], items, derive, retry)


def _counted(result: Derived) -> Counted:
    """What a message counts as, as recognised (before any correction)."""
    recognition = result.recognition
    forms = any(reading.form is not None for _, reading, _ in result.readings)
    return Counted(recognition.unit, recognition.kind.value, result.month, recognition.registered, forms)


def today_name(recognizer: Recognizer, name: str | None, month: str | None) -> str | None:
    """The unit a correction names, as today's configuration calls it: by its name or an alias among the units
    of the plan year of `month` (else of any plan), so that a unit renamed since (its old name kept as an alias)
    is the renamed one's. A name no unit answers to any more stays as it was given."""
    if name is None:
        return None
    year = int(month[:4]) if month else None
    planned = next((units for each, units in recognizer.plans if each == year), ())
    return name_as_today(recognizer.units, name, planned)


def _rewrite(session: Session, message: Message, fresh: Message, result: Derived) -> None:
    """Replace a stored message's derived rows by freshly derived ones; the message keeps its id."""
    unindex_messages(session, [message.id])
    for table in (FormReadingRow, ArticleRow, Attachment):  # persons go with their readings (cascade)
        session.execute(delete(table).where(table.message_id == message.id))
    session.expire(message, ["attachments", "readings", "articles"])
    for name in DERIVED_COLUMNS:
        setattr(message, name, getattr(fresh, name))
    attachments, readings, articles = list(fresh.attachments), list(fresh.readings), list(fresh.articles)
    fresh.attachments, fresh.readings, fresh.articles = [], [], []
    message.attachments, message.readings, message.articles = attachments, readings, articles
    session.flush()
    insert_persons(session, [(row.id, reading) for row, (_, reading, _) in zip(message.readings, result.readings)])
    index_messages(session, [message], [result.document or result.with_document().document])
