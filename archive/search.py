"""Looking messages up by filters and text (archive.fulltext keeps the text index)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (ColumnElement, FromClause, Select, TextClause, case, column, desc, literal_column, select,
                        table, text)
from sqlalchemy.orm import Session, load_only, selectinload

from archive.fulltext import SEARCH_DOC, normalise, term_grams
from archive.models import Message

ORDERS = ("newest", "relevance")
_LOAD_BATCH = 10_000
_INDEX_MATCH_COST = 5  # a match read through PostgreSQL's GIN index, in documents tested on a walk
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
    filters = [field == value for field, value in
               ((Message.unit, query.unit), (Message.kind, query.kind), (Message.month, query.month)) if value]
    if query.sender:
        filters.append(Message.from_addr == query.sender.lower())
    if terms:
        wanted = query.limit + query.offset if query.limit else 0
        statement = _text_search(session, terms, query.order, wanted, filters)
    else:
        statement = select(Message.id).where(*filters).order_by(Message.arrival.desc(), Message.id.desc())
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


def _text_search(session: Session, terms: list[str], order: str, wanted: int,
                 filters: list[ColumnElement[bool]]) -> Select:
    """Documents holding every term: by the index's grams, each term confirmed in the stored text unless its
    gram proves it. On PostgreSQL a term common enough is found instead by walking the newest documents
    and testing their text alone (see _walk_is_cheaper): a term that is one run of letters or digits is
    in the text exactly when its grams are in the index, so both ways find the same documents."""
    needed: set[str] = set()
    unproven = []
    for term in terms:
        grams, proven = term_grams(term)
        needed |= grams
        if not proven:
            unproven.append(term)
    docs, newest = SEARCH_DOC, SEARCH_DOC.c.id.desc()
    sqlite = session.get_bind().dialect.name == "sqlite"
    if not needed or (not sqlite and _walk_is_cheaper(session, sorted(needed), wanted)):
        where = [_in_text(docs, term) for term in terms]  # no grams to look up, or the walk: the text says
    elif sqlite:
        match = " ".join('"' + gram.replace('"', '""') + '"' for gram in sorted(needed))
        where = [_fts.c.rowid == SEARCH_DOC.c.id, literal_column("search_fts").op("MATCH")(match),
                 *(_in_text(docs, term) for term in unproven)]
        newest = _fts.c.rowid.desc()  # FTS5 reads its index backwards and stops at the page
    else:  # every match from the index, then sorted; MATERIALIZED keeps the planner from walking instead
        kept = [SEARCH_DOC.c.id, SEARCH_DOC.c.message_id, *((SEARCH_DOC.c.head, SEARCH_DOC.c.body)
                                                            if order == "relevance" else ())]
        docs = (select(*kept).where(_holds(sorted(needed)), *(_in_text(SEARCH_DOC, term) for term in unproven))
                .cte("hits").prefix_with("MATERIALIZED"))
        where, newest = [], docs.c.id.desc()
    statement = select(docs.c.message_id).where(*where)
    if filters:  # without them a document's message_id is all a hit needs
        statement = statement.join(Message, Message.id == docs.c.message_id).where(*filters)
    if order == "relevance":
        in_head = sum(case((docs.c.head.contains(term, autoescape=True), 1), else_=0) for term in terms)
        in_body = sum(case((docs.c.body.contains(term, autoescape=True), 1), else_=0) for term in terms)
        return statement.order_by(desc(in_head), desc(in_body), newest)
    return statement.order_by(newest)


def _in_text(docs: FromClause, term: str) -> ColumnElement[bool]:
    return (docs.c.head.contains(term, autoescape=True) | docs.c.body.contains(term, autoescape=True)
            | docs.c.rows.contains(term, autoescape=True))


def _holds(grams: list[str]) -> TextClause:
    return text("search_doc.grams @> CAST(:grams AS text[])").bindparams(grams=grams)


def _walk_is_cheaper(session: Session, grams: list[str], wanted: int) -> bool:
    """Whether walking the newest documents, testing each one's text, finds `wanted` hits (0: all) sooner
    than reading every match through the GIN index and sorting them.

    PostgreSQL's planner counts testing a document's grams as one cheap operator, but unpacking the
    array takes 15-25 us a document at 100,000 (bench/README.md): left to itself, it walked 12,000
    documents (300 ms) for a gram 442 of them hold. Its estimates are good (the statistics target of
    migration 0011), so they decide here: a match read through the index costs about five times a
    document's text tested on a walk, and a walk tests documents / matches of them for each hit.
    """
    # One EXPLAIN gives both estimates: the Append's first child is the matches, the second the table.
    plan = session.connection().exec_driver_sql(
        "EXPLAIN (FORMAT JSON) SELECT 1 FROM search_doc WHERE grams @> CAST(%(grams)s AS text[]) "
        "UNION ALL SELECT 1 FROM search_doc", {"grams": grams}).scalar()
    matches, documents = (child["Plan Rows"] for child in plan[0]["Plan"]["Plans"])
    walked = documents if not wanted else min(documents, wanted * documents / max(matches, 1))
    return walked < _INDEX_MATCH_COST * matches


def get_message(session: Session, message_id: int) -> Message | None:
    return session.get(Message, message_id,
                       options=[selectinload(Message.attachments), selectinload(Message.sightings)])
