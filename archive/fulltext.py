"""The full-text index: one document per message, found by the character grams it contains.

Chinese has no spaces, so no word tokenizer finds a two-character name inside a longer run (measured:
FTS5's default tokenizer finds nothing, trigram finds nothing under three characters, pg_trgm scans).
Each document is therefore indexed by every string of one to four characters inside its runs of letters
and digits. A query term of up to four characters is one gram, found exactly by the index alone; a longer
term needs all its four-character grams, and the stored normalised text confirms the term itself. Pairs
alone were measured not to be enough: a four-character term whose pairs are all common but which is rare
itself (人联系电) made every message a candidate to confirm (0.2-1 s at 100,000, bench/README.md). SQLite
keeps the grams in a contentless FTS5 table, PostgreSQL in a text[] column with a GIN index: the same
grams and the same confirmation give the same hits on both.

Personal numbers are never in the stored text or its grams: the text is masked first (parsers.privacy), so
what a viewer without the personal grant searches is what that viewer sees. The numbers themselves, found
by the same recogniser (parsers.privacy.find_personal) in canonical digits, are kept in their own column
(`numbers`) and indexed by grams of their own (`pn` + up to four digits, padded with `q` to six characters:
no gram of the text is longer than four, so the two never meet); only the queries of viewers who may see
the numbers look at them (archive.search). The masked sender address is kept too, for a masked viewer's
sender filter.

A document's key orders documents by arrival (seconds since 1970, shifted left 20 bits, plus a sequence),
so the newest hits are read first and a page of results stops early.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, column, insert, inspect, select, table, text
from sqlalchemy.orm import Session, load_only, selectinload

from archive.models import FormReadingRow, Message
from parsers.privacy import find_personal, mask_personal, personal_digits
from parsers.searchdoc import GRAM, RUN, Document, build_document, normalise, number_gram

_SEQUENCE_BITS = 20
_BATCH = 500
# The document table as archive.search queries it (written by migration 0005; `grams` on PostgreSQL only).
SEARCH_DOC = table(
    "search_doc",
    column("id"),
    column("message_id"),
    column("head"),
    column("body"),
    column("rows"),
    column("grams"),
    column("sender"),
    column("numbers"),
)
_DIGIT_TERM = re.compile(r"[0-9x]+(?:[\s\-./()_~]+[0-9x]+)*")


def document_rows(session: Session, message_id: int) -> str:
    """What the message's search document holds of its attachments' readings (masked, normalised, a line per
    registry row): whether a term is anywhere in them, asked without reading the rows themselves."""
    return session.scalar(select(SEARCH_DOC.c.rows).where(SEARCH_DOC.c.message_id == message_id)) or ""


def term_grams(term: str) -> tuple[set[str], bool]:
    """The grams a document must hold to contain `term` (normalised), and whether they prove it: a term
    that is one run of at most GRAM characters is itself a gram."""
    runs = RUN.findall(term)
    needed = {run[i : i + GRAM] for run in runs for i in range(max(1, len(run) - GRAM + 1))}
    return needed, len(runs) == 1 and runs[0] == term and len(term) <= GRAM


def digit_term(term: str) -> str | None:
    """The digits a term (normalised) asks for among the personal numbers: the canonical digits when it is a
    number in any spelling (`139-1234-5678`, `+86 139…`), else its digits when it is made of digits and
    separators only (a piece of a number), else None."""
    digits = personal_digits(term)
    if digits is not None:
        return digits.casefold()
    if _DIGIT_TERM.fullmatch(term) and any(char.isdigit() for char in term):
        return re.sub(r"[^0-9x]", "", term)
    return None


def masked_term(term: str) -> tuple[str, tuple[str, ...]] | None:
    """A term (normalised) holding personal numbers, as the documents keep it: its text masked as the stored
    text is (`13912345678@163.com` is `139****5678@163.com` there) and each number's canonical digits as the
    numbers column holds them; None when the term holds no personal number."""
    found = find_personal(term)
    if not found:
        return None
    return normalise(mask_personal(term)), tuple(dict.fromkeys(number.digits.casefold() for number in found))


def digit_term_grams(digits: str) -> tuple[set[str], bool]:
    """The number grams a document must hold to hold `digits` in a number, and whether they prove it."""
    needed = {number_gram(digits[i : i + GRAM]) for i in range(max(1, len(digits) - GRAM + 1))}
    return needed, len(digits) <= GRAM


def document_of(message: Message) -> Document:
    """The document of a stored message (with its attachments, readings and persons loaded)."""
    return build_document(
        message.subject,
        message.from_name,
        message.from_addr,
        (attachment.filename for attachment in message.attachments),
        message.body_text,
        ((r.source, r.form, r.text, (person.fields.items() for person in r.persons)) for r in message.readings),
    )


def index_messages(
    session: Session, messages: Iterable[Message], made: Iterable[tuple[Document, list[str]] | None] | None = None
) -> None:
    """Add the documents of messages just flushed, in one insert: those `made` beside each message (by a
    reader process, with their grams), else made here from the message's rows."""
    connection = session.connection()
    documents: list[dict[str, Any]] = []
    grams_of: list[list[str]] = []
    taken: dict[int, int] = {}
    messages = list(messages)
    for message, ready in zip(messages, made or [None] * len(messages)):
        document, found = ready or _made_here(message)
        key = _next_key(connection, message.arrival, taken)
        documents.append(
            {
                "id": key,
                "message_id": message.id,
                "head": document.head,
                "body": document.body,
                "rows": document.rows,
                "sender": document.sender,
                "numbers": " ".join(document.numbers),
            }
        )
        grams_of.append(found)
    if not documents:
        return
    if connection.dialect.name == "sqlite":
        connection.execute(insert(SEARCH_DOC), documents)
        connection.execute(
            text("INSERT INTO search_fts(rowid, grams) VALUES (:id, :grams)"),
            [{"id": doc["id"], "grams": " ".join(found)} for doc, found in zip(documents, grams_of)],
        )
    else:  # PostgreSQL keeps the grams beside the text, in a GIN-indexed array
        connection.execute(insert(SEARCH_DOC), [doc | {"grams": found} for doc, found in zip(documents, grams_of)])


def unindex_messages(session: Session, message_ids: list[int]) -> None:
    """Remove the documents of these messages (a re-derivation indexes them again). SQLite's contentless
    index forgets a row only when told the grams it was given, which the stored document gives back."""
    connection = session.connection()
    rows = connection.execute(
        select(
            SEARCH_DOC.c.id,
            SEARCH_DOC.c.head,
            SEARCH_DOC.c.body,
            SEARCH_DOC.c.rows,
            SEARCH_DOC.c.sender,
            SEARCH_DOC.c.numbers,
        ).where(SEARCH_DOC.c.message_id.in_(message_ids))
    ).all()
    if not rows:
        return
    if connection.dialect.name == "sqlite":
        connection.execute(
            text("INSERT INTO search_fts(search_fts, rowid, grams) VALUES ('delete', :id, :grams)"),
            [
                {
                    "id": row.id,
                    "grams": " ".join(
                        sorted(Document(row.head, row.body, row.rows, row.sender, tuple(row.numbers.split())).grams)
                    ),
                }
                for row in rows
            ],
        )
    connection.execute(SEARCH_DOC.delete().where(SEARCH_DOC.c.message_id.in_(message_ids)))


def _made_here(message: Message) -> tuple[Document, list[str]]:
    document = document_of(message)
    return document, sorted(document.grams)


def _next_key(connection: Connection, arrival: datetime, taken: dict[int, int]) -> int:
    """The next free key of the arrival's second; `taken` holds the keys given out by this insert."""
    second = max(0, int(arrival.timestamp()))
    while True:
        low, high = second << _SEQUENCE_BITS, (second + 1) << _SEQUENCE_BITS
        last = taken.get(second)
        if last is None:
            last = connection.execute(
                text("SELECT max(id) FROM search_doc WHERE id >= :low AND id < :high"), {"low": low, "high": high}
            ).scalar()
        key = low if last is None else last + 1
        if key < high:
            taken[second] = key
            return key
        # A million documents in one second: the next second's keys are used, the order off by a second.
        second += 1


def rebuild(connection: Connection) -> int:
    """Index every archived message again; returns how many. Used by the migrations and `mailroom reindex`.

    Migrations before 0013 call this too, on a table without the columns of today's documents: they
    index nothing (0 documents), and 0013 indexes every message."""
    if "numbers" not in {found["name"] for found in inspect(connection).get_columns("search_doc")}:
        return 0
    with Session(bind=connection) as session:
        if connection.dialect.name == "sqlite":
            connection.execute(text("INSERT INTO search_fts(search_fts) VALUES ('delete-all')"))
        connection.execute(text("DELETE FROM search_doc"))
        ids = list(session.scalars(select(Message.id).order_by(Message.id)))
        for start in range(0, len(ids), _BATCH):
            batch = session.scalars(
                select(Message)
                .where(Message.id.in_(ids[start : start + _BATCH]))
                # Only the columns a document reads: migrations run this on older schemas than the model's.
                .options(
                    load_only(
                        Message.id,
                        Message.arrival,
                        Message.subject,
                        Message.from_name,
                        Message.from_addr,
                        Message.body_text,
                    ),
                    selectinload(Message.attachments),
                    selectinload(Message.readings).selectinload(FormReadingRow.persons),
                )
            )
            index_messages(session, batch)
            session.expunge_all()
        if connection.dialect.name == "postgresql":  # archive.search plans by the grams' statistics
            connection.execute(text("ANALYZE search_doc"))
        return len(ids)
