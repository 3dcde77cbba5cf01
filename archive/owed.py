"""What senders are owed: the receipt decision, recorded in the same commit that stores a message, and
the queue of owed replies that the sender works through (bot/outgoing/receipts.py composes them into the outbox).

A crash between storing and composing loses nothing: the owed row waits for the next sender pass. A
crash between composing and the owed row's `queued_at` cannot happen: both are one commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.models import Message, OwedReply
from parsers.document import text_characters
from replies.problems import problem_lines
from replies.receipt import FileFacts, MessageFacts, reply_owed


def owe_receipts(
    session: Session, messages: Iterable[Message], own_addresses: frozenset[str], max_age: timedelta | None
) -> int:
    """Record, in the caller's transaction, the reply owed to each newly stored message that is owed one
    (decided as of the moment it was archived: a receipt, or a 自查's answer); returns how many. One reply
    per message, whatever happens: its cause ("receipt:12", "selfcheck:12") is unique."""
    owed = [
        (message, kind)
        for message in messages
        if (kind := reply_owed(message_facts(message), own_addresses, message.archived_at, max_age))
    ]
    session.add_all(
        OwedReply(cause=f"{kind}:{message.id}", kind=kind, message_id=message.id, owed_at=message.archived_at)
        for message, kind in owed
    )
    return len(owed)


def owe_change(session: Session, message: Message, because: str) -> None:
    """Record, in the caller's transaction, a notice owed to the sender of a message a staff decision has
    made count (once for that message)."""
    cause = f"change:{message.id}"
    if session.scalar(select(OwedReply.id).where(OwedReply.cause == cause)) is None:
        session.add(
            OwedReply(cause=cause, kind="change", message_id=message.id, owed_at=datetime.now(UTC), note=because)
        )


def owed_replies(session: Session, limit: int = 100) -> list[OwedReply]:
    """Owed replies not yet composed into the outbox, oldest first."""
    return list(
        session.scalars(select(OwedReply).where(OwedReply.queued_at.is_(None)).order_by(OwedReply.id).limit(limit))
    )


def owed_waiting(session: Session) -> tuple[int, datetime | None]:
    """How many owed replies wait to be composed, and since when the oldest."""
    count, oldest = session.execute(
        select(func.count(), func.min(OwedReply.owed_at)).where(OwedReply.queued_at.is_(None))
    ).one()
    return count, oldest


def message_facts(message: Message) -> MessageFacts:
    """What the receipt rules need to know of a stored message."""
    files = tuple(
        FileFacts(
            r.source,
            r.form,
            r.readable,
            r.rows,
            {t: f.get("done") for t, f in r.tasks.items()} if r.form == 2 else None,
            tuple(problem_lines(r.problems)),
            text_characters(r.text) if r.form == 1 else 0,
            r.unit,
            r.month,
        )
        for r in message.readings
    )
    return MessageFacts(
        id=message.id,
        kind=message.kind,
        unit=message.unit,
        month=message.month,
        registered=message.registered,
        sender=message.from_addr,
        subject=message.subject,
        message_id=message.message_id,
        references=(),
        arrival=message.arrival,
        body_text=message.body_text,
        attachment_names=tuple(a.filename for a in message.attachments),
        files=files,
        month_source=message.month_source,
    )
