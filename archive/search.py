"""Looking messages up by filters and text (archive.fulltext keeps the text index).

A query says whether its asker may see personal numbers (`personal`). Without the grant the query is masked
as the documents were (parsers.privacy) and matched against the masked text only: a search for any spelling
or piece of a hidden number finds exactly what a search for its masked form finds, so no answer depends on a
hidden digit. With the grant, a term made of digits is also looked for among the documents' numbers, and a
term holding a number among other text (`13912345678@163.com`, `tel13912345678`: the stored text holds it
masked) is found where the text holds its masked form and the numbers hold each of its numbers' digits, so
another number that masks the same way is not. A number written in groups is one term, whoever asks."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    TextClause,
    and_,
    bindparam,
    case,
    column,
    desc,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session, load_only, selectinload

from archive.fulltext import SEARCH_DOC, digit_term, digit_term_grams, masked_term, term_grams
from archive.models import FormReadingRow, Message
from parsers.errors import InputError
from parsers.privacy import find_personal, mask_personal
from parsers.searchdoc import masked_sender, normalise
from parsers.searchterms import split_terms

ORDERS = ("newest", "relevance")
_LOAD_BATCH = 10_000
_INDEX_MATCH_COST = 5  # a match read through PostgreSQL's GIN index, in documents tested on a walk
# What a list of results shows; the rest (body, headers, problems) loads when a message is opened.
LISTED = (
    Message.id,
    Message.sha256,
    Message.mailbox,
    Message.arrival,
    Message.arrival_trusted,
    Message.unit,
    Message.kind,
    Message.month,
    Message.from_addr,
    Message.from_name,
    Message.registered,
    Message.subject,
)

_fts = table("search_fts", column("rowid"))
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Query:
    text: str = ""  # terms apart by spaces or punctuation, "a phrase" whole (parsers.searchterms), each found anywhere
    unit: str | None = None
    kind: str | None = None
    month: str | None = None
    sender: str | None = None
    order: str = "newest"  # or "relevance": terms in the subject and file names first, then the body
    limit: int = 50  # 0: no limit
    offset: int = 0
    personal: bool = True  # False: the asker may not see personal numbers (see the module's docstring)
    since: datetime | None = None  # arrived at or after this instant (aware)
    until: datetime | None = None  # arrived at or before this instant (aware)


def arrival_day(text: str) -> date:
    """A day of arrival as a person writes it for --since/--until or the web's 到达日期: YYYY-MM-DD, a day
    the calendar has; an InputError saying so (in Chinese) otherwise."""
    if not _DAY.fullmatch(text):
        raise InputError(f"日期应写作 YYYY-MM-DD，例如 2020-05-01，而不是 {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"日历上没有 {text} 这一天") from None


def arrival_bounds(since: date | None, until: date | None, zone: tzinfo) -> tuple[datetime | None, datetime | None]:
    """Query.since and Query.until for arrivals on local days `since` to `until`, both days included."""
    return (
        datetime.combine(since, datetime.min.time(), zone) if since else None,
        datetime.combine(until, datetime.max.time(), zone) if until else None,
    )


@dataclass(frozen=True)
class Term:
    """One term of a query: its text (normalised), the grams that find it in the text and whether they
    prove it; for a granted asker, the digits it asks for among the numbers, their grams and proof; or, for a
    granted asker's term holding numbers among other text, its masked text and those numbers' digits, which a
    document must hold together (found by the numbers' grams, `masked_grams`, never proof)."""

    text: str
    grams: frozenset[str]
    proven: bool
    digits: str | None = None
    digit_grams: frozenset[str] = frozenset()
    digits_proven: bool = True
    masked: str | None = None
    numbers: tuple[str, ...] = ()
    masked_grams: frozenset[str] = frozenset()

    @classmethod
    def of(cls, text: str, personal: bool) -> Term:
        found, proven = term_grams(text)
        digits = digit_term(text) if personal else None
        if digits is not None:
            number_grams, digits_proven = digit_term_grams(digits)
            return cls(text, frozenset(found), proven, digits, frozenset(number_grams), digits_proven)
        masked = masked_term(text) if personal else None
        if masked is None or masked[0] == text:
            return cls(text, frozenset(found), proven)
        # The numbers' grams alone find its documents: a number is rare, and the text's grams beside it are
        # mostly common ones (com, 163, 联系电话) whose matches the index would read for nothing; the masked
        # text is confirmed against the stored text (_holds_term).
        masked_text, numbers = masked
        grams = frozenset().union(*(digit_term_grams(number)[0] for number in numbers))
        return cls(text, frozenset(found), proven, masked=masked_text, numbers=numbers, masked_grams=grams)

    @property
    def alternatives(self) -> tuple[frozenset[str], ...]:
        """The sets of grams of which a document holding the term holds at least one whole: the text's, the
        digits' among the numbers, the numbers' of a term holding them among other text. A term of no letters
        or digits has none."""
        return tuple(grams for grams in (self.grams, self.digit_grams, self.masked_grams) if grams)

    @property
    def required(self) -> frozenset[str]:
        """The grams every document holding the term holds, whichever way it holds it."""
        alternatives = self.alternatives
        return alternatives[0].intersection(*alternatives[1:]) if alternatives else frozenset()

    @property
    def confirmed_by_grams(self) -> bool:
        return self.proven and self.digits_proven and bool(self.grams) and self.masked is None


def query_terms(query: Query) -> list[Term]:
    """The query's terms; for an asker without the grant, of the query text masked as documents are."""
    text = _numbers_whole(query.text) if query.personal else mask_personal(query.text)
    return [Term.of(word, query.personal) for word in split_terms(normalise(text))]


def _numbers_whole(text: str) -> str:
    """A granted asker's query with each personal number in it written as its digits, so a number written in
    groups is one term, the number (`183 4295 9141`, `139~1234~5678`), as a masked asker's query masked is."""
    parts, at = [], 0
    for number in find_personal(text):
        parts += [text[at : number.start], number.digits]
        at = number.end
    return "".join(parts) + text[at:]


def search(session: Session, query: Query) -> list[Message]:
    """Messages matching every filter and containing every term, newest (or most relevant) first; the
    columns of LISTED are loaded, any other loads on first use."""
    terms = query_terms(query)
    if _absent(session, terms):
        return []
    ids = list(session.scalars(_matching(session, query, terms)))
    found: dict[int, Message] = {}
    for start in range(0, len(ids), _LOAD_BATCH):  # PostgreSQL takes at most 65,535 parameters a statement
        batch = ids[start : start + _LOAD_BATCH]
        found.update(
            (message.id, message)
            for message in session.scalars(select(Message).where(Message.id.in_(batch)).options(load_only(*LISTED)))
        )
    return [found[id_] for id_ in ids]


def count(session: Session, query: Query) -> int:
    """How many messages match, whatever the query's limit: what a list cut at its limit says it was cut from."""
    terms = query_terms(query)
    if _absent(session, terms):
        return 0
    statement = _matching(session, replace(query, limit=0, offset=0), terms).order_by(None)
    return session.scalar(select(func.count()).select_from(statement.subquery())) or 0


def _absent(session: Session, terms: list[Term]) -> bool:
    """Whether the index says at once that no document holds every term's grams: a query for something
    nobody wrote is answered by one lookup that stops at the first document, before any statement is built
    (notmuch answers those in 0.2 ms; building, planning and running the whole query took 0.25-0.4 ms on
    SQLite and 3.4 on PostgreSQL, bench/README.md).

    On PostgreSQL only the grams outside its statistics' most common ones are looked up: each is in under
    0.3 % of documents (migration 0011), so the planner reads them through the GIN index. Grams common
    together and rare at once would let it walk the table instead, which is what _walk_is_cheaper is for."""
    indexed = [term for term in terms if term.alternatives]
    if not indexed:
        return False
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        found = connection.exec_driver_sql(
            "SELECT 1 FROM search_fts WHERE search_fts MATCH ? LIMIT 1", (_fts_match(indexed),)
        ).first()
        return found is None
    common = _common_grams(connection)
    rare = sorted({gram for term in indexed for gram in term.required if gram not in common})
    if not rare:
        return False
    # MATERIALIZED: planned without the LIMIT, so through the index. The grams behind a sub-select: the
    # planner sees no value to estimate, which spares it unpacking the statistics' thousands of most common
    # grams to do so (0.25 ms a search, now 0.12, at 100,000 messages), and with the default estimate it
    # reads the index.
    found = connection.exec_driver_sql(
        "WITH hits AS MATERIALIZED (SELECT id FROM search_doc WHERE grams @> (SELECT CAST(%(grams)s AS text[]))) "
        "SELECT 1 FROM hits LIMIT 1",
        {"grams": rare},
    ).first()
    return found is None


_COMMON_SECONDS = 600.0  # how long a process keeps PostgreSQL's most common grams (ANALYZE renews them)
_common: dict[str, tuple[float, frozenset[str]]] = {}


def _common_grams(connection: Connection) -> frozenset[str]:
    """The grams PostgreSQL's statistics list as the index's most common, read again every _COMMON_SECONDS."""
    key = str(connection.engine.url)
    kept = _common.get(key)
    if kept is None or time.monotonic() - kept[0] > _COMMON_SECONDS:
        listed = connection.exec_driver_sql(
            "SELECT most_common_elems::text::text[] FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = 'search_doc' AND attname = 'grams'"
        ).scalar()
        kept = _common[key] = (time.monotonic(), frozenset(listed or ()))
    return kept[1]


def carrying_forms(session: Session, messages: Sequence[Message]) -> set[int]:
    """Those of the messages that are replies carrying forms (of_kind's 月度报表 too), as their lists label them."""
    replies = [message.id for message in messages if message.kind == "reply"]
    if not replies:
        return set()
    found = select(FormReadingRow.message_id).where(
        FormReadingRow.message_id.in_(replies), FormReadingRow.form.is_not(None)
    )
    return set(session.scalars(found))


def of_kind(kind: str) -> ColumnElement[bool]:
    """Messages of a kind, as their receipts word it: a reply carrying forms (回复 pressed on the notice, the package
    attached) is a 月度报表, which its receipt says and the standings count (archive.evidence.submission)."""
    if kind != "report":
        return Message.kind == kind
    forms = select(FormReadingRow.id).where(FormReadingRow.message_id == Message.id, FormReadingRow.form.is_not(None))
    return or_(Message.kind == kind, and_(Message.kind == "reply", forms.exists()))


def _matching(session: Session, query: Query, terms: list[Term]) -> Select:
    """The ids of the messages a query (whose terms are `terms`) finds, in its order, limited and offset."""
    filters = [field == value for field, value in ((Message.unit, query.unit), (Message.month, query.month)) if value]
    filters += [of_kind(query.kind)] if query.kind else []
    filters += [Message.arrival >= query.since] if query.since else []
    filters += [Message.arrival <= query.until] if query.until else []
    if query.sender:
        filters.append(_from(query.sender, query.personal))
    if terms:
        wanted = query.limit + query.offset if query.limit else 0
        statement = _text_search(session, terms, query.order, wanted, filters)
    else:
        statement = select(Message.id).where(*filters).order_by(Message.arrival.desc(), Message.id.desc())
    if query.limit:
        statement = statement.limit(query.limit)
    if query.offset:
        statement = statement.offset(query.offset)
    return statement


def sender_address(asked: str) -> str:
    """The address (or part of one) a sender filter asks for, as people paste it: from "枣强县残联 <zqxcl@163.com>",
    "zqxcl@163.com;" (a To: list), "mailto:zqxcl@163.com" or "zqxcl@163.com (枣强县残联)"; "" when it holds none."""
    address = normalise(asked).strip()
    if (bracketed := re.search(r"<([^<>]*)>", address)) is not None:
        address = bracketed.group(1)
    address = re.sub(r"\(.*?\)", "", address).strip().removeprefix("mailto:")
    return address.strip(" ,;，；、")


def _from(asked: str, personal: bool) -> ColumnElement[bool]:
    """The sender filter: an address as people write it (full-width, any case, "景县残联 <jxcl2020@163.com>" as a
    message shows it) is that address; a part of one (jxcl2020, @163.com) finds every address holding it. A
    viewer without the grant compares the masked address, as shown to them."""
    address = sender_address(asked)
    whole = re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address) is not None
    column: ColumnElement[Any] = Message.from_addr.expression if personal else SEARCH_DOC.c.sender
    value = address if personal else masked_sender(address)
    part = "%" + re.sub(r"([\\%_])", r"\\\1", value) + "%"  # LIKE's wildcards in it taken as written
    matching = column == value if whole else column.like(part, escape="\\")
    return matching if personal else Message.id.in_(select(SEARCH_DOC.c.message_id).where(matching))


def _text_search(
    session: Session, terms: list[Term], order: str, wanted: int, filters: list[ColumnElement[bool]]
) -> Select:
    """Documents holding every term: by the index's grams, each term confirmed in the stored text (or
    numbers) unless its grams prove it. On PostgreSQL a term common enough is found instead by walking the
    newest documents and testing their text alone (see _walk_is_cheaper): a term that is one run of letters
    or digits is in the text exactly when its grams are in the index, so both ways find the same documents."""
    needed = set().union(*(term.grams for term in terms))
    unproven = [term for term in terms if not term.confirmed_by_grams]
    docs: FromClause = SEARCH_DOC
    newest = SEARCH_DOC.c.id.desc()
    sqlite = session.get_bind().dialect.name == "sqlite"
    indexed = [term for term in terms if term.alternatives]  # a term of no letters has none
    if not indexed or (not sqlite and _walk_is_cheaper(session, sorted(needed), wanted)):
        where = [_holds_term(docs, term) for term in terms]  # no grams to look up, or the walk: the text says
    elif sqlite:
        where = [
            _fts.c.rowid == SEARCH_DOC.c.id,
            literal_column("search_fts").op("MATCH")(_fts_match(indexed)),
            *(_holds_term(docs, term) for term in unproven),
        ]
        newest = _fts.c.rowid.desc()  # FTS5 reads its index backwards and stops at the page
    else:  # every match from the index, then sorted; MATERIALIZED keeps the planner from walking instead
        kept = [
            SEARCH_DOC.c.id,
            SEARCH_DOC.c.message_id,
            *((SEARCH_DOC.c.head, SEARCH_DOC.c.body) if order == "relevance" else ()),
        ]
        docs = (
            select(*kept)
            .where(*(_indexed(term) for term in indexed), *(_holds_term(SEARCH_DOC, term) for term in unproven))
            .cte("hits")
            .prefix_with("MATERIALIZED")
        )
        where, newest = [], docs.c.id.desc()
    statement = select(docs.c.message_id).where(*where)
    if filters:  # without them a document's message_id is all a hit needs
        statement = statement.join(Message, Message.id == docs.c.message_id).where(*filters)
    if order == "relevance":
        in_head = sum(case((_in_column(docs.c.head, term), 1), else_=0) for term in terms)
        in_body = sum(case((_in_column(docs.c.body, term), 1), else_=0) for term in terms)
        # terms is never empty here, so each sum is a SQL expression, not sum()'s 0
        return statement.order_by(desc(in_head), desc(in_body), newest)  # type: ignore[arg-type]
    return statement.order_by(newest)


def _in_text(docs: FromClause, term: str) -> ColumnElement[bool]:
    return (
        docs.c.head.contains(term, autoescape=True)
        | docs.c.body.contains(term, autoescape=True)
        | docs.c.rows.contains(term, autoescape=True)
    )


def _in_column(column: ColumnElement[str], term: Term) -> ColumnElement[bool]:
    """A column of the text holds the term, as written or (a number among other text) masked: for ranking."""
    found = column.contains(term.text, autoescape=True)
    return found | column.contains(term.masked, autoescape=True) if term.masked else found


def _holds_term(docs: FromClause, term: Term) -> ColumnElement[bool]:
    """The stored text holds the term, or (a granted asker's digits) one of the numbers holds its digits, or
    (a granted asker's number among other text) the text holds it masked and the numbers hold its numbers."""
    found = _in_text(docs, term.text)
    if term.digits:
        found = found | docs.c.numbers.contains(term.digits, autoescape=True)
    if term.masked:
        numbers = [docs.c.numbers.contains(number, autoescape=True) for number in term.numbers]
        found = found | and_(_in_text(docs, term.masked), *numbers)
    return found


def _fts_match(terms: list[Term]) -> str:
    """An FTS5 query: each term's grams, or another of its alternatives, all terms together."""

    def every(grams: frozenset[str]) -> str:
        return "(" + " AND ".join('"' + gram.replace('"', '""') + '"' for gram in sorted(grams)) + ")"

    return " AND ".join("(" + " OR ".join(every(grams) for grams in term.alternatives) + ")" for term in terms)


def _indexed(term: Term) -> ColumnElement[bool]:
    return or_(*(_holds(sorted(grams)) for grams in term.alternatives))


def _holds(grams: list[str]) -> TextClause:
    return text("search_doc.grams @> CAST(:grams AS text[])").bindparams(bindparam("grams", grams, unique=True))


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
    plan = (
        session.connection()
        .exec_driver_sql(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM search_doc WHERE grams @> CAST(%(grams)s AS text[]) "
            "UNION ALL SELECT 1 FROM search_doc",
            {"grams": grams},
        )
        .scalar()
    )
    assert plan is not None  # EXPLAIN always answers one row
    matches, documents = (child["Plan Rows"] for child in plan[0]["Plan"]["Plans"])
    walked = documents if not wanted else min(documents, wanted * documents / max(matches, 1))
    return walked < _INDEX_MATCH_COST * matches


def get_message(session: Session, message_id: int) -> Message | None:
    return session.get(
        Message, message_id, options=[selectinload(Message.attachments), selectinload(Message.sightings)]
    )
