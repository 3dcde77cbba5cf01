"""Looking messages up by filters and text (archive.fulltext keeps the text index)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, case, column, desc, literal_column, select, table, text
from sqlalchemy.orm import Session, load_only, selectinload

from archive.fulltext import SEARCH_DOC, normalise, term_grams
from archive.models import Message

ORDERS = ("newest", "relevance")
_LOAD_BATCH = 10_000
# What a list of results shows; the rest (body, headers, problems) loads when a message is opened.
LISTED = (Message.id, Message.sha256, Message.mailbox, Message.arrival, Message.arrival_trusted, Message.unit,
          Message.kind, Message.month, Message.from_addr, Message.from_name, Message.registered, Message.subject)

_fts = table("search_fts", column("rowid"))


@dataclass(frozen=True)
class Query:
    text: str = ""  # terms separated by spaces, each found anywhere (subject, body, attachments, rows)
    unit: str | None = None
    kind: str | None = None
    month: str | None = None
    sender: str | None = None
    order: str = "newest"  # or "relevance": terms in the subject and file names first, then the body
    limit: int = 50  # 0: no limit
    offset: int = 0


def search(session: Session, query: Query) -> list[Message]:
    """Messages matching every filter and containing every term, newest (or most relevant) first; the
    columns of LISTED are loaded, any other loads on first use."""
    terms = [normalise(term) for term in query.text.split()]
    if terms:
        statement = _text_search(session, terms, query.order)
    else:
        statement = select(Message.id).order_by(Message.arrival.desc(), Message.id.desc())
    for field, value in ((Message.unit, query.unit), (Message.kind, query.kind), (Message.month, query.month)):
        if value:
            statement = statement.where(field == value)
    if query.sender:
        statement = statement.where(Message.from_addr == query.sender.lower())
    if query.limit:
        statement = statement.limit(query.limit)
    if query.offset:
        statement = statement.offset(query.offset)
    ids = list(session.scalars(statement))
    found: dict[int, Message] = {}
    for start in range(0, len(ids), _LOAD_BATCH):  # PostgreSQL takes at most 65,535 parameters a statement
        batch = ids[start:start + _LOAD_BATCH]
        found.update((message.id, message) for message in session.scalars(
            select(Message).where(Message.id.in_(batch)).options(load_only(*LISTED))))
    return [found[id_] for id_ in ids]


def _text_search(session: Session, terms: list[str], order: str) -> Select:
    needed: set[str] = set()
    statement = select(Message.id).join(SEARCH_DOC, SEARCH_DOC.c.message_id == Message.id)
    for term in terms:
        grams, proven = term_grams(term)
        needed |= grams
        if not proven:  # the pairs are all there; the stored text says whether the term itself is
            statement = statement.where(SEARCH_DOC.c.head.contains(term, autoescape=True)
                                        | SEARCH_DOC.c.body.contains(term, autoescape=True)
                                        | SEARCH_DOC.c.rows.contains(term, autoescape=True))
    sqlite = session.get_bind().dialect.name == "sqlite"
    if needed and sqlite:
        match = " ".join('"' + gram.replace('"', '""') + '"' for gram in sorted(needed))
        statement = (statement.join(_fts, _fts.c.rowid == SEARCH_DOC.c.id)
                     .where(literal_column("search_fts").op("MATCH")(match)))
    elif needed:
        statement = statement.where(text("search_doc.grams @> CAST(:grams AS text[])").bindparams(grams=sorted(needed)))
    newest = (_fts.c.rowid if sqlite and needed else SEARCH_DOC.c.id).desc()
    if order == "relevance":
        in_head = sum(case((SEARCH_DOC.c.head.contains(term, autoescape=True), 1), else_=0) for term in terms)
        in_body = sum(case((SEARCH_DOC.c.body.contains(term, autoescape=True), 1), else_=0) for term in terms)
        return statement.order_by(desc(in_head), desc(in_body), newest)
    return statement.order_by(newest)


def get_message(session: Session, message_id: int) -> Message | None:
    return session.get(Message, message_id,
                       options=[selectinload(Message.attachments), selectinload(Message.sightings)])
