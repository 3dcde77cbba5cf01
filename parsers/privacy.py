"""Personal numbers masked inside free text, for everything shown to people who may not see them whole:
digests, exports, web pages. Names stay: without the number a name alone identifies nobody's record.

The numbers are found by parsers.personal, in every spelling it knows; each is replaced by its masked
canonical form (`131127********0017`, `138****5678`, `0318-***2889`), whatever separators, widths or
invisible characters it was written with, so the masked text holds no hidden digit in any form."""

from __future__ import annotations

import re
from functools import lru_cache

from parsers.personal import PersonalNumber, find_numbers, fold, mask_id

__all__ = ["mask_id", "mask_personal", "mask_cell", "cell_digits", "NUMBER_KEYS", "PHONE_KEYS", "BIRTH_KEYS"]

NUMBER_KEYS = ("disability_id", "id_number")  # registry columns that hold an ID, however malformed
PHONE_KEYS = ("phone",)
# Registry columns of a birth date (附件9, 附件10: 出生年月). An ID's hidden digits are its birth date and a
# sequence number, and its last one, shown, is a check of them all: a birth date beside a masked ID leaves two
# or three IDs it can be. Every digit of such a cell is hidden, like an ID's.
BIRTH_KEYS = ("born",)
_RUNS = re.compile(r"[0-9][0-9X]*")
_NOT_DIGITS = re.compile(r"[^0-9]+")

# Our own check of an ID says which check character it should have (parsers.checks): that character is a
# function of the hidden digits, so it is hidden too.
_CHECK_HINT = re.compile(r"(校验位不对（第 18 位应为 )[0-9X]")


def mask_personal(text: str) -> str:
    """`text` with every 身份证号 / 残疾人证号, mobile number and landline with its area code masked;
    everything else unchanged. Masking masked text changes nothing."""
    return _masked(text, find_numbers(text))


def _masked(text: str, found: list[PersonalNumber]) -> str:
    if found:
        parts, at = [], 0
        for number in found:
            parts += [text[at : number.start], number.masked()]
            at = number.end
        parts.append(text[at:])
        text = "".join(parts)
    return _CHECK_HINT.sub(r"\1*", text) if "校验位" in text else text


def _hide_digits(text: str, keep: int) -> str:
    """Every digit but the last `keep` starred: for a number in its own column, however it was written (a digit
    of any script, or any other character Unicode gives a digit value: str.isdigit)."""
    total = sum(char.isdigit() for char in text)
    seen, out = 0, []
    for char in text:
        if char.isdigit():
            seen += 1
            char = char if seen > total - keep else "*"
        out.append(char)
    return "".join(out)


def mask_cell(key: str, value: object) -> str:
    """A registry cell masked. In an ID or phone column every digit outside a recognised number is hidden
    too (a malformed ID, a landline without its area code); when none is recognised, a phone keeps its
    last 4 digits. A birth date's every digit is hidden. Every other column is masked as free text."""
    return read_cell(key, "" if value is None else str(value))[0]


def cell_digits(key: str, value: object) -> list[str]:
    """The numbers of a cell in canonical digits, and in an ID or phone column every other run of digits too
    (however malformed), and a birth date's digits as one run (1980.01 is 198001): what the search index keeps
    of the cell for the viewers who may see it."""
    return list(read_cell(key, "" if value is None else str(value))[1])


@lru_cache(maxsize=65536)  # a registry repeats its categories, services and places on every row
def read_cell(key: str, text: str) -> tuple[str, tuple[str, ...]]:
    """A cell masked, and its numbers (see mask_cell and cell_digits), from one look for numbers."""
    if key in BIRTH_KEYS:  # the whole cell hidden: no personal number is in it, only what narrows one down
        folded = fold(text)
        digits = _NOT_DIGITS.sub("", folded)
        return _hide_digits(folded, 0), (digits,) if digits else ()
    found = find_numbers(text)
    numbers = [number.digits for number in found]
    if key not in NUMBER_KEYS and key not in PHONE_KEYS:
        return _masked(text, found), tuple(numbers)
    if not found:
        return _hide_digits(fold(text), 4 if key in PHONE_KEYS else 0), tuple(_RUNS.findall(fold(text)))
    parts, runs, at = [], [], 0
    for number in found:
        between = fold(text[at : number.start])
        parts += [_hide_digits(between, 0), number.masked()]
        runs += [*_RUNS.findall(between), number.digits]
        at = number.end
    rest = fold(text[at:])
    return "".join(parts + [_hide_digits(rest, 0)]), tuple(runs + _RUNS.findall(rest))
