"""What of a message is searchable, as the search index stores it: its text normalised and masked, the
personal numbers apart, and the grams of both (archive/fulltext.py says why grams). Pure, so a reader
process makes a message's document beside its parse (parsers/derive.py), and archive/fulltext.py only
writes it; a document rebuilt from the stored rows is the same.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from parsers.form_layouts import FORM_TITLES
from parsers.privacy import mask_personal, masked_and_numbers, read_cell
from parsers.searchterms import join_han_spaces

RUN = re.compile(r"[^\W_]+")  # letters and digits of every script: FTS5 unicode61's token characters
GRAM = 4  # the longest gram: a term this long or shorter is found by the index alone
NUMBER_GRAM_PREFIX = "pn"


def normalise(value: str) -> str:
    """Full-width forms to ASCII, case folded: what is stored and what queries are compared with."""
    return unicodedata.normalize("NFKC", value).casefold()


def grams(normalised: str) -> set[str]:
    """Every string of one to GRAM characters inside a run of letters and digits."""
    found: set[str] = set()
    update = found.update
    for run in set(RUN.findall(normalised)):  # a registry repeats its names, places and categories
        # A run's grams cut by C-level calls with the slices of its length (twice as fast as a loop of
        # slices per run: search documents are most of a reader process's time).
        length = len(run)
        update(map(run.__getitem__, _GRAM_SLICES[length] if length < len(_GRAM_SLICES) else _gram_slices(length)))
    return found


def _gram_slices(length: int) -> list[slice]:
    return [slice(i, i + size) for size in range(1, min(GRAM, length) + 1) for i in range(length - size + 1)]


_GRAM_SLICES = [_gram_slices(length) for length in range(65)]  # runs up to 64 characters: most of them


def number_gram(gram: str) -> str:
    """A gram of a personal number as indexed: never equal to a gram of the text (those are at most GRAM)."""
    return NUMBER_GRAM_PREFIX + gram.ljust(GRAM, "q")


def number_grams(numbers: Iterable[str]) -> set[str]:
    return {number_gram(gram) for gram in grams(" ".join(numbers))}


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


# One reading as the document sees it: its source, its form (None: none recognised), its text, and each person's
# (key, value) fields.
ReadingText = tuple[str, int | None, str, Iterable[Iterable[tuple[str, object]]]]


def build_document(
    subject: str,
    from_name: str,
    from_addr: str | None,
    filenames: Iterable[str],
    body: str,
    readings: Iterable[ReadingText],
) -> Document:
    head = "\n".join([subject, from_name, from_addr or "", *filenames])
    numbers: list[str] = []
    lines = list(_reading_lines(readings, numbers))
    (masked_head, in_head), (masked_body, in_body) = masked_and_numbers(head), masked_and_numbers(body)
    numbers += in_head + in_body
    return Document(
        head=join_han_spaces(normalise(masked_head)),
        body=join_han_spaces(normalise(masked_body)),
        rows=join_han_spaces(normalise("\n".join(lines))),
        sender=masked_sender(from_addr or ""),
        numbers=tuple(dict.fromkeys(number.casefold() for number in numbers)),
    )


def _reading_lines(readings: Iterable[ReadingText], numbers: list[str]) -> Iterable[str]:
    """Each reading's lines, masked, its form recognised among them (a 附件2 sent as 新建 Microsoft Excel 工作表.xlsx
    is found by 附件2, as a clerk phoning about it names it); the numbers found in them are added to `numbers`."""
    for source, form, text, persons in readings:
        if form is not None:
            yield f"附件{form} {FORM_TITLES.get(form, '')}"
        for value in (source, text):
            if value:
                masked, found = masked_and_numbers(value)
                numbers.extend(found)
                yield masked
        for fields in persons:
            cells = [read_cell(key, str(value)) for key, value in fields if value not in (None, "")]
            for _, digits in cells:
                numbers.extend(digits)
            # a tab, never joined (join_han_spaces joins spaces): one cell's words run into no other's, and a
            # quoted phrase (spaces) spans no two cells
            yield "\t".join(masked for masked, _ in cells)
