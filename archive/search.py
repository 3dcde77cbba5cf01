"""Looking messages up by filters and text."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from archive.models import Attachment, Message


@dataclass(frozen=True)
class Query:
    text: str = ""
    unit: str | None = None
    kind: str | None = None
    month: str | None = None
    sender: str | None = None
    limit: int = 50  # 0: no limit


def search(session: Session, query: Query) -> list[Message]:
    """Messages matching every filter given, newest first."""
    statement = select(Message).order_by(Message.arrival.desc(), Message.id.desc())
    if query.text:
        pattern = f"%{_escape(query.text)}%"
        in_names = select(Attachment.message_id).where(Attachment.filename.like(pattern, escape="\\"))
        statement = statement.where(or_(Message.subject.like(pattern, escape="\\"),
                                        Message.body_text.like(pattern, escape="\\"),
                                        Message.id.in_(in_names)))
    for column, value in ((Message.unit, query.unit), (Message.kind, query.kind), (Message.month, query.month)):
        if value:
            statement = statement.where(column == value)
    if query.sender:
        statement = statement.where(Message.from_addr == query.sender.lower())
    if query.limit:
        statement = statement.limit(query.limit)
    return list(session.scalars(statement))


def get_message(session: Session, message_id: int) -> Message | None:
    return session.get(Message, message_id,
                       options=[selectinload(Message.attachments), selectinload(Message.sightings)])


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
