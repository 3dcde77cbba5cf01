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
what a viewer without the personal grant searches is what that viewer sees. The numbers themselves, in
canonical digits (parsers.personal), are kept in their own column (`numbers`) and indexed by grams of their
own (`pn` + up to four digits, padded with `q` to six characters: no gram of the text is longer than four,
so the two never meet); only the queries of viewers who may see the numbers look at them (archive.search).
The masked sender address is kept too, for a masked viewer's sender filter.

A document's key orders documents by arrival (seconds since 1970, shifted left 20 bits, plus a sequence),
so the newest hits are read first and a page of results stops early.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import Connection, column, insert, inspect, select, table, text
from sqlalchemy.orm import Session, selectinload

from archive.models import FormReadingRow, Message
from parsers.personal import find_numbers, number_digits
from parsers.privacy import mask_personal, read_cell

_RUN = re.compile(r"[^\W_]+")  # letters and digits of every script: FTS5 unicode61's token characters
GRAM = 4  # the longest gram: a term this long or shorter is found by the index alone
_SEQUENCE_BITS = 20
_BATCH = 500
# The document table as archive.search queries it (written by migration 0005; `grams` on PostgreSQL only).
SEARCH_DOC = table("search_doc", column("id"), column("message_id"), column("head"), column("body"),
                   column("rows"), column("grams"), column("sender"), column("numbers"))
NUMBER_GRAM_PREFIX = "pn"
_DIGIT_TERM = re.compile(r"[0-9x]+(?:[\s\-./()]+[0-9x]+)*")


def normalise(value: str) -> str:
    """Full-width forms to ASCII, case folded: what is stored and what queries are compared with."""
    return unicodedata.normalize("NFKC", value).casefold()


def grams(normalised: str) -> set[str]:
    """Every string of one to GRAM characters inside a run of letters and digits."""
    found: set[str] = set()
    for run in set(_RUN.findall(normalised)):  # a registry repeats its names, places and categories
        for size in range(1, min(GRAM, len(run)) + 1):
            found.update(run[i:i + size] for i in range(len(run) - size + 1))
    return found


def term_grams(term: str) -> tuple[set[str], bool]:
    """The grams a document must hold to contain `term` (normalised), and whether they prove it: a term
    that is one run of at most GRAM characters is itself a gram."""
    runs = _RUN.findall(term)
    needed = {run[i:i + GRAM] for run in runs for i in range(max(1, len(run) - GRAM + 1))}
    return needed, len(runs) == 1 and runs[0] == term and len(term) <= GRAM


def number_gram(gram: str) -> str:
    """A gram of a personal number as indexed: never equal to a gram of the text (those are at most GRAM)."""
    return NUMBER_GRAM_PREFIX + gram.ljust(GRAM, "q")


def number_grams(numbers: Iterable[str]) -> set[str]:
    return {number_gram(gram) for gram in grams(" ".join(numbers))}


def digit_term(term: str) -> str | None:
    """The digits a term (normalised) asks for among the personal numbers: the canonical digits when it is a
    number in any spelling (`139-1234-5678`, `+86 139…`), else its digits when it is made of digits and
    separators only (a piece of a number), else None."""
    digits = number_digits(term)
    if digits is not None:
        return digits.casefold()
    if _DIGIT_TERM.fullmatch(term) and any(char.isdigit() for char in term):
        return re.sub(r"[^0-9x]", "", term)
    return None


def digit_term_grams(digits: str) -> tuple[set[str], bool]:
    """The number grams a document must hold to hold `digits` in a number, and whether they prove it."""
    needed = {number_gram(digits[i:i + GRAM]) for i in range(max(1, len(digits) - GRAM + 1))}
    return needed, len(digits) <= GRAM


def masked_sender(address: str) -> str:
    """A sender address as a masked viewer sees it and filters by it."""
    return normalise(mask_personal(address.strip()))


@dataclass(frozen=True)
class Document:
    """What is searchable of one message, normalised and masked: where a term is found decides its rank."""

    head: str  # subject, sender, attachment names
    body: str
    rows: str  # what was read from the attachments: a report's text, registry rows, one per line
    sender: str  # the sender's address, masked
    numbers: tuple[str, ...]  # every personal number's canonical digits (and the digits of ID and phone cells)

    @property
    def grams(self) -> set[str]:
        return grams(self.head) | grams(self.body) | grams(self.rows) | number_grams(self.numbers)


def document_of(message: Message) -> Document:
    head = "\n".join([message.subject, message.from_name, message.from_addr or "",
                      *(attachment.filename for attachment in message.attachments)])
    numbers: list[str] = []
    lines = list(_reading_lines(message.readings, numbers))
    for text in (head, message.body_text):
        numbers.extend(number.digits for number in find_numbers(text))
    return Document(head=normalise(mask_personal(head)), body=normalise(mask_personal(message.body_text)),
                    rows=normalise("\n".join(lines)), sender=masked_sender(message.from_addr or ""),
                    numbers=tuple(dict.fromkeys(number.casefold() for number in numbers)))


def _reading_lines(readings: Iterable[FormReadingRow], numbers: list[str]) -> Iterable[str]:
    """Each reading's lines, masked; the numbers found in them are added to `numbers`."""
    for reading in readings:
        for text in (reading.source, reading.text):
            if text:
                numbers.extend(number.digits for number in find_numbers(text))
                yield mask_personal(text)
        for person in reading.persons:
            cells = [read_cell(key, str(value)) for key, value in person.fields.items() if value not in (None, "")]
            for _, found in cells:
                numbers.extend(found)
            yield " ".join(masked for masked, _ in cells)


def index_messages(session: Session, messages: Iterable[Message]) -> None:
    """Add the documents of messages just flushed (with their attachments and readings), in one insert."""
    connection = session.connection()
    documents, grams_of, taken = [], [], {}
    for message in messages:
        document = document_of(message)
        key = _next_key(connection, message.arrival, taken)
        documents.append({"id": key, "message_id": message.id, "head": document.head, "body": document.body,
                          "rows": document.rows, "sender": document.sender, "numbers": " ".join(document.numbers)})
        grams_of.append(sorted(document.grams))
    if not documents:
        return
    if connection.dialect.name == "sqlite":
        connection.execute(insert(SEARCH_DOC), documents)
        connection.execute(text("INSERT INTO search_fts(rowid, grams) VALUES (:id, :grams)"),
                           [{"id": doc["id"], "grams": " ".join(found)} for doc, found in zip(documents, grams_of)])
    else:  # PostgreSQL keeps the grams beside the text, in a GIN-indexed array
        connection.execute(insert(SEARCH_DOC),
                           [doc | {"grams": found} for doc, found in zip(documents, grams_of)])


def _next_key(connection: Connection, arrival: datetime, taken: dict[int, int]) -> int:
    """The next free key of the arrival's second; `taken` holds the keys given out by this insert."""
    second = max(0, int(arrival.timestamp()))
    while True:
        low, high = second << _SEQUENCE_BITS, (second + 1) << _SEQUENCE_BITS
        last = taken.get(second)
        if last is None:
            last = connection.execute(text("SELECT max(id) FROM search_doc WHERE id >= :low AND id < :high"),
                                      {"low": low, "high": high}).scalar()
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
                select(Message).where(Message.id.in_(ids[start:start + _BATCH]))
                .options(selectinload(Message.attachments),
                         selectinload(Message.readings).selectinload(FormReadingRow.persons)))
            index_messages(session, batch)
            session.expunge_all()
        if connection.dialect.name == "postgresql":  # archive.search plans by the grams' statistics
            connection.execute(text("ANALYZE search_doc"))
        return len(ids)
