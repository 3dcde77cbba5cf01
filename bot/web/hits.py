"""The terms of the search a message's page was opened from, marked where the page shows them: an auditor who
searched a name lands on a mail of ten registries and must find the person in it.

The terms are the search's own (archive.search.query_terms: for a viewer without the grant, of the query
masked, as the search matched them), and they are looked for as the search looks: in the text folded (NFKC,
case), spaces ignored (a name padded to width, 王　芳), a number's digits whatever separates their groups
(139-1234-5678). Only text the page shows is looked in, and for a viewer without the grant it is the masked
text the page shows."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

from markupsafe import Markup, escape

from archive.search import Query, query_terms
from bot.web.present import MessageDetail

_DIGIT_GAP = "[-~.]?"  # what may part a number's groups of digits, spaces aside (139-1234-5678, 0318.7221234)
_SPACES = re.compile(r"\s+")


class Hits:
    """Where a search's terms are in the texts of a page; `mark` wraps each in <mark class="hit"> (the first
    with id "hit-1", for the page's link to it)."""

    def __init__(self, text: str, personal: bool):
        terms = query_terms(Query(text=text, personal=personal)) if text.strip() else []
        # a term of no digits (nor the masks' *) is in masked text wherever it is in the text, and so in the
        # search document (archive.fulltext.document_rows) and the unmasked rows
        self.digitless = not any(term.digits or any(c.isdigit() or c == "*" for c in term.text) for term in terms)
        patterns = {_pattern(term.digits or term.text) for term in terms}
        patterns.discard("")
        self.pattern = re.compile("|".join(sorted(patterns, key=len, reverse=True))) if patterns else None
        self.marked = 0

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """Where the terms are in `text`, as (start, end) of its own characters."""
        if self.pattern is None or not text:
            return
        folded, where = _folded(text)
        for found in self.pattern.finditer(folded):
            if found.end() > found.start():
                yield where[found.start()], where[found.end() - 1] + 1

    def found_in(self, texts: Iterable[str]) -> bool:
        """Whether any of `texts` holds a term (folded at once: a registry's rows are asked by the thousand)."""
        return self.pattern is not None and any(self.pattern.search(_fold(text)) for text in texts)

    def in_rows(self, rows: Iterable[Iterable[str]]) -> bool:
        return any(map(self.found_in, rows))

    def count(self, texts: Iterable[str]) -> int:
        return sum(1 for text in texts for _ in self.spans(text))

    def mark(self, text: str) -> Markup:
        out, position = [], 0
        for start, end in self.spans(text):
            self.marked += 1
            anchor = ' id="hit-1"' if self.marked == 1 else ""
            out += [escape(text[position:start]), Markup(f'<mark class="hit"{anchor}>'), escape(text[start:end])]
            out.append(Markup("</mark>"))
            position = end
        return Markup("").join([*out, escape(text[position:])])


def _pattern(term: str) -> str:
    """A term (normalised, as the search holds it) as a pattern over folded text: without its spaces, and
    between two digits whatever may part a number's groups."""
    term = "".join(term.split())
    pieces = []
    for index, char in enumerate(term):
        if index and char.isdigit() and term[index - 1].isdigit():
            pieces.append(_DIGIT_GAP)
        pieces.append(re.escape(char))
    return "".join(pieces)


def _fold(text: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", text).casefold())


def _folded(text: str) -> tuple[str, list[int]]:
    """`text` as the search compares it (each character NFKC-folded and case-folded, spaces dropped), and for
    each folded character the index of the character of `text` it came from."""
    chars: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        for folded in unicodedata.normalize("NFKC", char).casefold():
            if not folded.isspace():
                chars.append(folded)
                where.append(index)
    return "".join(chars), where


def shown_texts(detail: MessageDetail) -> Iterator[str]:
    """What a message's page shows of it where a search may have found it (as message.html marks it): subject,
    headers, body, file names, and each form's source, table and text."""
    yield detail.subject
    yield from (value for _, value in detail.headers)
    yield detail.body
    yield from (attachment.filename for attachment in detail.attachments)
    for reading in detail.readings:
        yield reading.source
        if reading.table:
            yield from (cell for row in reading.table.rows for cell in row)
        yield reading.text
