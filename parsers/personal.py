"""The one recogniser of personal numbers: 身份证号 and 残疾人证号, mobile and landline phone numbers, in any
spelling a unit or an attacker may write them. Masking (parsers.privacy), the search index (archive.fulltext)
and the explanation's evidence (scoring.components) all find numbers here, so they agree on what a number is.

A spelling is read as NFKC folds it (full-width, superscript, subscript and circled digits are digits), with
zero-width and direction characters ignored and separators inside a number (spaces, dashes, dots, slashes,
parentheses) dropped: `１３９１２３４５６７８`, `139.1234.5678`, `(139)12345678`, `139\u200b1234\u200b5678`,
`tel13912345678`, `131127 19800101 0011` and `131127/1980/0101/0011` are all the same kind of number.

False hits are kept down by shape: a number written in pieces must be a well-formed one (a mobile number
1[3-9] + 9 digits, a landline with its area code, an ID with a real birth date) made of pieces of at least
three digits, so dates (`2020-09-20`), amounts (`1.5`, `173 人`) and runs of small figures are left alone;
a single unbroken run of 15 or more digits (or 14 and an X) is always someone's number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache

_ASCII_DIGITS = frozenset("0123456789")
# Characters that are not there for a reader: zero-width spaces and joiners, the word joiner, invisible
# operators, the BOM, the soft hyphen, the bidirectional controls (which reorder digits on screen), the
# variation selectors and the combining enclosing marks (a keycap 1️⃣ is 1, U+FE0F, U+20E3).
IGNORABLE = "\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u20dd-\u20e4\ufe00-\ufe0f\ufeff"
# Separators that list things (commas, the enumeration comma 、, a tab, a line break): a number written with
# them is 139，1234，5678, but 156、234、178、23 is a list of figures, so a piece after one of them continues a
# number only when it has ENUMERATED_PIECE digits or more (or is a final 1–2, an ID's category and grade; but
# not a line's own list number, 1–2 digits starting a line and followed by a list mark: "10、李四", "4. 赵六"),
# and only when what comes before it is no whole number yet: a number cut short is never left partly shown (an
# 8-digit landline whose last digit wraps as "9、" is read as the 7-digit one, one digit shown).
LINE_BREAK = "\n"  # every line break, as parsers.privacy spells it
_LIST_MARKS = frozenset("、.．:：\uff64")  # not ")": a number in brackets ends in one
ENUMERATORS = "\t,\uff0c\u3001\uff64" + LINE_BREAK
ENUMERATED_PIECE = 4
# Separators a number may be written with, as they are before NFKC (full-width forms included): spaces,
# dashes, dots (the middle dots · and ・ too), slashes, parentheses, and the ENUMERATORS.
SEPARATORS = (
    " \u00a0\u2000-\u200a\u202f\u205f\u3000\\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d.\u2024\uff0e/\uff0f()\uff08\uff09"
    "\u00b7\u30fb\uff65" + ENUMERATORS
)
_ENUMERATOR_SET = frozenset(ENUMERATORS)
_CHECK_CHARACTERS = "Xx\uff38\uff58"
MAX_SEPARATORS = 3  # more separators than this between two pieces: two numbers, not one
MIN_PIECE = 3  # a piece of a number written in pieces; a final 1–2 (ID category and grade, +86) allowed too


# Every non-ASCII character whose NFKC form is made of ASCII digits (and separators): full-width,
# superscript, subscript, circled, parenthesised, mathematical digits… as ranges of code points. Scanning
# the code points for them took 10 ms of every process's start; tests/test_privacy_property.py scans them.
DIGIT_LIKE_RANGES = (
    (0xB2, 0xB3), (0xB9, 0xB9), (0x2070, 0x2070), (0x2074, 0x2079), (0x2080, 0x2089), (0x2460, 0x249B),
    (0x24EA, 0x24EA), (0x3251, 0x325F), (0x32B1, 0x32BF), (0xFF10, 0xFF19), (0x1D7CE, 0x1D7FF), (0x1F100, 0x1F100),
)  # fmt: skip
DIGIT_LIKE = {  # each such character: its NFKC form
    chr(point): unicodedata.normalize("NFKC", chr(point))
    for first, last in DIGIT_LIKE_RANGES
    for point in range(first, last + 1)
}
# \d: the decimal digits of every script too (Arabic-Indic ٠١٢, Devanagari ०१२…), which NFKC leaves as they are.
_DIGIT_CLASS = "\\d" + "".join(re.escape(char) for char in DIGIT_LIKE)
_OTHER_DECIMAL = re.compile(r"(?![0-9])\d")
# A stretch that may hold numbers: digits, with separators (at most MAX_SEPARATORS in a row), ignorable
# characters and check characters (X, not followed by another letter) between them.
_STRETCH = re.compile(
    f"[{_DIGIT_CLASS}](?:[{_DIGIT_CLASS}{IGNORABLE}]|[{_CHECK_CHARACTERS}](?![A-Za-z])"
    f"|[{SEPARATORS}{IGNORABLE}]{{1,{MAX_SEPARATORS + 2}}}(?=[{_DIGIT_CLASS}]))*"
)
_IGNORED = re.compile(f"[{IGNORABLE}]")
_IGNORABLE_SET = frozenset(  # IGNORABLE's characters and ranges spelt out (testing 65,000 code points: 13 ms)
    chr(point)
    for first, last in re.findall(r"(.)(?:-(.))?", IGNORABLE)
    for point in range(ord(first), ord(last or first) + 1)
)

_DATE = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
_ID18 = re.compile(rf"[0-9]{{6}}(?:18|19|20)[0-9]{{2}}{_DATE}[0-9]{{3}}[0-9X]")
_ID15 = re.compile(rf"[0-9]{{8}}{_DATE}[0-9]{{3}}")
_ID20 = re.compile(rf"{_ID18.pattern}[0-9]{{2}}")
_ANY_ID = re.compile(r"[0-9]{14,}[0-9X]|[0-9]{17}X[0-9]{0,2}")
_MOBILE = re.compile(r"(?:0{0,2}86)?(1[3-9][0-9]{9})")
_LANDLINE = re.compile(r"(0(?:10|2[0-9]))([0-9]{8})|(0[3-9][0-9]{2})([2-9][0-9]{6,7})")
_MAX_DIGITS = 22


@dataclass(frozen=True)
class PersonalNumber:
    """A number found in a text: its kind, its canonical digits (ASCII, no separators, no +86, X upper case)
    and where it is written in the text (`start` to `end`, in the text's own characters)."""

    kind: str  # "id", "mobile" or "landline"
    digits: str
    start: int
    end: int
    area: str = ""  # a landline's area code

    def masked(self) -> str:
        """What a viewer without the grant sees: an ID's first 6 and last 4 characters, a mobile number's
        first 3 and last 4 digits, a landline's area code and last 4 digits."""
        if self.kind == "id":
            return mask_id(self.digits)
        if self.kind == "mobile":
            return f"{self.digits[:3]}****{self.digits[-4:]}"
        local = self.digits[len(self.area) :]
        return f"{self.area}-{'*' * (len(local) - 4)}{local[-4:]}"


def mask_id(number: str) -> str:
    """An ID or 残疾人证号: the first 6 (the region) and the last 4 characters kept."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


@dataclass(frozen=True)
class _Piece:
    digits: str
    start: int
    end: int
    listed: bool = False  # after a separator that lists things (ENUMERATORS)
    broken: bool = False  # on a line after the one before (LINE_BREAK)
    numbered: bool = False  # a line's own list number: broken, short and followed by a list mark


def fold(text: str) -> str:
    """`text` as numbers are compared: NFKC, every script's decimal digits as ASCII ones, ignorable characters
    removed, X upper case."""
    folded = _IGNORED.sub("", unicodedata.normalize("NFKC", text)).replace("x", "X")
    return folded if folded.isascii() else _OTHER_DECIMAL.sub(_ascii_digit, folded)


def _ascii_digit(match: re.Match[str]) -> str:
    return str(unicodedata.decimal(match.group()))


def _pieces(stretch: str, offset: int) -> list[_Piece]:
    """The runs of digits of a stretch, each with where it starts and ends in the text."""
    if stretch.isdigit() and stretch.isascii():  # the usual cell: one plain run
        return [_Piece(stretch, offset, offset + len(stretch))]
    pieces: list[_Piece] = []
    digits: list[str] = []
    start, end, listed, broken = -1, -1, False, False
    for index, char in enumerate(stretch):
        folded = char if char.isascii() else DIGIT_LIKE.get(char) or unicodedata.normalize("NFKC", char)
        if char in _IGNORABLE_SET:
            continue
        for part in folded:
            if not part.isascii() and part.isdecimal():
                part = str(unicodedata.decimal(part))
            if part in _ASCII_DIGITS or (part in "Xx" and digits):
                if not digits:
                    start = offset + index
                digits.append(part.upper())
                end = offset + index + 1
            else:
                if digits:
                    pieces.append(_Piece("".join(digits), start, end, listed, broken))
                    digits, listed, broken = [], False, False
                listed = listed or char in _ENUMERATOR_SET
                broken = broken or char == LINE_BREAK
    if digits:
        pieces.append(_Piece("".join(digits), start, end, listed, broken))
    return pieces


def _classify(digits: str, whole: bool) -> tuple[str, str, str] | None:
    """(kind, canonical digits, area) when `digits` is a personal number. `whole`: written in one unbroken run,
    where any long run counts as an ID; written in pieces, only a well-formed number does."""
    if mobile := _MOBILE.fullmatch(digits):
        return "mobile", mobile.group(1), ""
    if landline := _LANDLINE.fullmatch(digits):
        return "landline", digits, landline.group(1) or landline.group(3)
    if (
        whole
        and _ANY_ID.fullmatch(digits)
        or _ID18.fullmatch(digits)
        or _ID20.fullmatch(digits)
        or _ID15.fullmatch(digits)
    ):
        return "id", digits, ""
    return None


def _piece_fits(piece: _Piece, first: bool, last: bool) -> bool:
    return (
        len(piece.digits) >= MIN_PIECE
        or (first and piece.digits in ("86", "0086"))
        or (last and 1 <= len(piece.digits) <= 2)
    )


def _longest_at(pieces: list[_Piece], first: int) -> tuple[int, tuple[str, str, str], bool] | None:
    """The longest number starting at pieces[first]: the index of its last piece, its classification and
    whether a final X was left out (a letter after the number, not a check character)."""
    best, digits = None, ""
    for last in range(first, len(pieces)):
        piece = pieces[last]
        if last > first and piece.numbered and _classify(digits, False) is not None and not _id_goes_on(digits, piece):
            break  # the next line's own list number ("…0011⏎10、李四"), not the rest of a number already whole
        digits += piece.digits
        if len(digits) > _MAX_DIGITS and last > first:
            break
        whole = last == first
        found, stripped = _classify(digits, whole), False
        if found is None and digits.endswith("X"):
            found, stripped = _classify(digits[:-1], whole), True
        if found is not None and (whole or _piece_fits(pieces[first], True, False)):
            best = (last, found, stripped)
        if last > first and not _piece_fits(piece, False, False):
            break  # a short piece ends a number
        following = pieces[last + 1] if last + 1 < len(pieces) else None
        if (
            following is not None
            and following.listed
            and MIN_PIECE <= len(following.digits) < ENUMERATED_PIECE
            and not _id_goes_on(digits, following)
        ):
            break  # a list of figures (156、234、178): no number goes on into it
    return best


def _id_goes_on(digits: str, following: _Piece) -> bool:
    """Whether the next line's first digits end an ID the line broke ("131127198001010⏎011、张三"): the two make a
    well-formed 18-digit one. Read as a list's number instead, they left the ID's last digits shown. (An ID of 18
    and the next line's "10、" stay apart: that is a list's number more often than a 残疾人证号's last two.)"""
    return following.broken and _ID18.fullmatch(digits + following.digits) is not None


def _numbers_in(text: str, stretch: re.Match[str]) -> list[PersonalNumber]:
    pieces = [
        replace(piece, numbered=True)
        if piece.broken and len(piece.digits) < ENUMERATED_PIECE and text[piece.end : piece.end + 1] in _LIST_MARKS
        else piece
        for piece in _pieces(stretch.group(), stretch.start())
    ]
    found, index = [], 0
    while index < len(pieces):
        longest = _longest_at(pieces, index)
        if longest is None:
            index += 1
            continue
        last, (kind, digits, area), stripped = longest
        start, end = pieces[index].start, pieces[last].end - (1 if stripped else 0)
        if kind == "mobile" and pieces[index].digits[0] in "08" and start and text[start - 1] in "+\uff0b":
            start -= 1  # +86: the plus sign goes with the number
        if start and text[start - 1] in "(\uff08" and any(char in ")\uff09" for char in text[start:end]):
            start -= 1  # (139)12345678: the area's parentheses go with it
        found.append(PersonalNumber(kind, digits, start, end, area))
        index = last + 1
    return found


def find_numbers(text: str) -> list[PersonalNumber]:
    """Every personal number in `text`, in order, none overlapping."""
    found = []
    for stretch in _STRETCH.finditer(text):
        if stretch.end() - stretch.start() >= 10 or not stretch.group().isascii():
            found.extend(_numbers_in(text, stretch))
    return found


@lru_cache(maxsize=4096)
def number_digits(text: str) -> str | None:
    """The canonical digits when `text` is (only) a personal number in any spelling, else None."""
    found = find_numbers(text.strip())
    if len(found) == 1 and found[0].start == 0 and found[0].end == len(text.strip()):
        return found[0].digits
    return None
