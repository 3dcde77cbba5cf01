"""Personal numbers masked inside free text, for everything shown to people who may not see them whole:
digests, exports, web pages. Names stay: without the number a name alone identifies nobody's record.

The numbers are found by parsers.personal, in every spelling it knows, read through `find_personal`, which adds
the spellings it does not: a number broken across line breaks (`139\\n1234\\n5678`) or written with underscores
or tildes (`139_1234_5678`, `139~1234~5678`), one digit at a time (`1 3 9 1 2 3 4 5 6 7 8`), in Chinese digits
(`一三九一二三四五六七八`), and a landline without its area code where the words before it say it is a
phone (`座机：2662889 或 26628890`) or a bracketed phone word after it does (`2662889（宅电）`). Each is replaced
by its masked canonical form (`131127********0017`, `138****5678`, `0318-***2889`, `***2889`), whatever
separators, widths or invisible characters it was written with, so the masked text holds no hidden digit in any
form. Masking, the search index (parsers.searchdoc, archive.fulltext) and a masked viewer's query all find numbers
here."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from parsers.personal import DIGIT_LIKE, IGNORABLE, LINE_BREAK, PersonalNumber, find_numbers, fold, mask_id

__all__ = [
    "mask_id",
    "mask_personal",
    "mask_cell",
    "cell_digits",
    "find_personal",
    "personal_digits",
    "masked_and_numbers",
    "NUMBER_KEYS",
    "PHONE_KEYS",
    "BIRTH_KEYS",
]

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

# ---------------------------------------------------------------------------------------------------------
# The text as the recogniser reads it: the same length, character for character, so what it finds is where
# it is in the text itself.
#
# Every line break reads as parsers.personal.LINE_BREAK and a tilde as a tab, separators that list things
# (parsers.personal.ENUMERATORS): a piece after one continues a number only when it has 4 digits or more, so
# `139\n1234\n5678` is a number, and neither a column of figures (`156\n234\n178`) nor the next line's own
# number (`…0011\n10、李四`) is part of one. An underscore reads as a space. Full-width ASCII and every
# character that is one digit (superscript, circled, another script's) read as the ASCII character.
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_TILDES = "~\u223c\u301c\uff5e"
_SPELLING = str.maketrans(
    {
        **{chr(point): chr(point - 0xFEE0) for point in range(0xFF01, 0xFF5F)},
        **{char: digit for char, digit in DIGIT_LIKE.items() if len(digit) == 1},
        **dict.fromkeys(_LINE_BREAKS, LINE_BREAK),
        **dict.fromkeys(_TILDES, "\t"),
        **dict.fromkeys("_\uff3f", " "),
    }
)
_OTHER_DECIMAL = re.compile(r"(?![0-9])\d")
# Chinese digits, read as digits in a run of at least CHINESE_RUN of them (a phone spelt out, 一三九一二三四五六七八),
# or of MIXED_RUN digits of both kinds (139 一二三四 5678): shorter runs are words and dates (一一对应, 二〇二〇年).
# ○ (a circle) is often written for 〇.
_CHINESE_DIGITS = {
    char: str(digit)
    for digit, chars in enumerate(
        ["〇○零", "一幺壹", "二贰貳", "三叁參", "四肆", "五伍", "六陆陸", "七柒", "八捌", "九玖"]
    )
    for char in chars
}
_CHINESE = "".join(_CHINESE_DIGITS)
_CHINESE_TABLE = str.maketrans(_CHINESE_DIGITS)
CHINESE_RUN = 7
MIXED_RUN = 11  # a mobile number's digits
_CHINESE_CHAR = re.compile(f"[{_CHINESE}]")
_ASCII_DIGIT = re.compile("[0-9]")
_CHINESE_STRETCH = re.compile(  # ASCII digits, then from a Chinese digit on
    f"(?:[0-9](?:[0-9]|[ \t\n\\-./·・]{{1,2}}(?=[{_CHINESE}0-9]))*)?"
    f"[{_CHINESE}](?:[{_CHINESE}0-9]|[Xx](?![A-Za-z])|[ \t\n\\-./·・]{{1,2}}(?=[{_CHINESE}0-9]))*"
)
_MAYBE_DIGITS = re.compile("[\\d" + "".join(re.escape(char) for char in DIGIT_LIKE) + _CHINESE + "]")


def _chinese_as_digits(text: str) -> str:
    """`text` with each run of CHINESE_RUN or more Chinese digits, or of MIXED_RUN digits one of them Chinese
    (separators, ASCII digits and an ID's check character X among them allowed), written in ASCII digits."""
    if not _CHINESE_CHAR.search(text):
        return text

    def spelt(stretch: re.Match[str]) -> str:
        found = stretch.group()
        chinese = len(_CHINESE_CHAR.findall(found))
        mixed = chinese + len(_ASCII_DIGIT.findall(found)) >= MIXED_RUN
        return found.translate(_CHINESE_TABLE) if chinese >= CHINESE_RUN or mixed else found

    return _CHINESE_STRETCH.sub(spelt, text)


def _spelt(text: str) -> str:
    """`text` as the recogniser reads it (see above): as long as `text`, each character in its place."""
    spelt = text.translate(_SPELLING)
    if not spelt.isascii():
        spelt = _OTHER_DECIMAL.sub(lambda digit: str(unicodedata.decimal(digit.group())), spelt)
    return _chinese_as_digits(spelt)


# A number written one digit at a time (1 3 9 1 2 3 4 5 6 7 8): 11 or more single digits apart by a space, a
# dash, a dot, a slash or a middle dot (not by line breaks or commas: a column or a list of small figures).
# Such a run is a number only where it is a well-formed one (a mobile, a landline with its area code, an ID
# with a real birth date), so single figures in a row are left alone.
_SINGLE_APART = " \u00a0\u2000-\u200a\u202f\u205f\u3000\\-\u2010-\u2015\u2212./\u00b7\u30fb"
_SINGLE_DIGITS = re.compile(f"(?<![0-9])[0-9](?:[{_SINGLE_APART}]{{1,2}}(?:[0-9](?![0-9])|[Xx](?![A-Za-z0-9]))){{10,}}")
_WELL_FORMED_LENGTHS = (20, 18, 15, 12, 11)

# A landline without its area code (2662889, 2662-8890) is a phone only where the words before it say so:
# 完成数 2662889 is a figure, 座机：2662889 或 26628890 two phones. After a word of PHONE_WORDS, labels and
# joining words (号码, 是, 或, 、, （办）) may come between the numbers of a list, and numbers with an area code.
_PHONE_WORDS = re.compile(
    r"电话|座机|固话|手机|宅电|联系方式|传真|热线|(?<![A-Za-z])(?:tel(?:ephone)?|phone|fax|mobile|mob)(?![A-Za-z])",
    re.I,
)
_BETWEEN = re.compile(
    r"(?:号码|号|是|为|為|或者|或|和|及|与|or(?![A-Za-z])|[\s:=#,;/、.\-]|[(\[【][^\d()\[\]【】]{0,6}[)\]】])*", re.I
)
_LOCAL = re.compile(f"[0-9][0-9{IGNORABLE}]*(?:[ \\-.][0-9][0-9{IGNORABLE}]*)?")
# …or where a phone word in brackets right after it says so: 2662889（宅电）, 2662 8890 (tel), 2662890（办公电话）;
# not 2662889（电话回访）, a figure of calls.
_LOCAL_NAMED_AFTER = re.compile(
    f"(?<![0-9{IGNORABLE}])(?={_LOCAL.pattern}\\s*[(（【\\[][^\\d()（）【】\\[\\]]{{0,4}}?(?:{_PHONE_WORDS.pattern})"
    "(?:号码|号)?\\s*[)）】\\]])",
    re.I,
)
_LOCAL_APART = re.compile(r"[ \-.]")
_IGNORED = re.compile(f"[{IGNORABLE}]")


@dataclass(frozen=True)
class LocalLandline(PersonalNumber):
    """A landline without its area code, written after a word that says it is a phone."""

    def masked(self) -> str:
        """Its last 4 digits, as a 联系电话 cell holding one shows it."""
        return "*" * (len(self.digits) - 4) + self.digits[-4:]


def find_personal(text: str) -> list[PersonalNumber]:
    """Every personal number in `text`, in order, none overlapping: parsers.personal's, and those written in
    the spellings above (line breaks, underscores, tildes, one digit at a time, Chinese digits, a landline
    without its area code after a word saying it is a phone)."""
    if not _MAYBE_DIGITS.search(text):
        return []
    spelt = _spelt(text)
    found = find_numbers(spelt)
    found += _one_digit_at_a_time(spelt, found)
    found.sort(key=lambda number: number.start)
    found += _local_landlines(spelt, found)
    found += _landlines_named_after(spelt, found)
    return sorted(found, key=lambda number: number.start)


def _overlaps(start: int, end: int, found: list[PersonalNumber]) -> bool:
    return any(number.start < end and start < number.end for number in found)


def _well_formed(digits: str) -> PersonalNumber | None:
    """The number `digits` is when it is a well-formed one, as parsers.personal reads a number in pieces."""
    found = find_numbers(f"{digits[:3]} {digits[3:]}")
    if len(found) == 1 and found[0].start == 0 and found[0].end == len(digits) + 1:
        return found[0]
    return None


def _one_digit_at_a_time(spelt: str, found: list[PersonalNumber]) -> list[PersonalNumber]:
    more: list[PersonalNumber] = []
    for run in _SINGLE_DIGITS.finditer(spelt):
        places = [run.start() + index for index, char in enumerate(run.group()) if char.isalnum()]
        digits = "".join(spelt[place] for place in places).upper()
        first = 0
        while first + min(_WELL_FORMED_LENGTHS) <= len(digits):
            for length in _WELL_FORMED_LENGTHS:
                number = _well_formed(digits[first : first + length]) if first + length <= len(digits) else None
                if number is not None:
                    start, end = places[first], places[first + length - 1] + 1
                    if not _overlaps(start, end, found):
                        more.append(PersonalNumber(number.kind, number.digits, start, end, number.area))
                    first += length
                    break
            else:
                first += 1
    return more


def _local_landlines(spelt: str, found: list[PersonalNumber]) -> list[PersonalNumber]:
    """The landlines without an area code in the lists after phone words. Any 7 or 8 digits are one, whatever
    they begin with: those are the digits masking hides, and a rule on them would show which they are."""
    starts = {number.start: number for number in found}
    more: list[PersonalNumber] = []
    at = 0
    for word in _PHONE_WORDS.finditer(spelt):
        if word.start() < at:
            continue  # inside the list of the word before
        at = word.end()
        while True:
            at = _BETWEEN.match(spelt, at).end()  # type: ignore[union-attr]  # matches the empty string
            if at in starts:
                at = starts[at].end
                continue
            number = _local_number(spelt, at)
            if number is None or _overlaps(number.start, number.end, found):
                break
            more.append(number)
            at = number.end
    return more


def _landlines_named_after(spelt: str, found: list[PersonalNumber]) -> list[PersonalNumber]:
    """The landlines without an area code that a bracketed phone word follows: 2662889（宅电）."""
    more: list[PersonalNumber] = []
    for named in _LOCAL_NAMED_AFTER.finditer(spelt):
        number = _local_number(spelt, named.start())
        if number is not None and not _overlaps(number.start, number.end, found + more):
            more.append(number)
    return more


def _local_number(spelt: str, at: int) -> LocalLandline | None:
    """The landline without an area code written at `at`: 7 or 8 digits (2662889, or 26628890 followed by
    something else), or 3–4 and 4 apart (266-2889, 2662 8890); None when the digits there are none of these."""
    local = _LOCAL.match(spelt, at)
    if local is None:
        return None
    written = _LOCAL_APART.split(local.group())
    pieces = [_IGNORED.sub("", piece) for piece in written]
    if 7 <= len(pieces[0]) <= 8:
        return LocalLandline("landline", pieces[0], at, at + len(written[0]))
    if len(pieces) == 2 and 3 <= len(pieces[0]) <= 4 and len(pieces[1]) == 4:
        return LocalLandline("landline", "".join(pieces), at, local.end())
    return None


def personal_digits(text: str) -> str | None:
    """The canonical digits when `text` is (only) a personal number in any spelling find_personal knows."""
    return _personal_digits(text.strip())


@lru_cache(maxsize=4096)
def _personal_digits(text: str) -> str | None:
    found = find_personal(text)
    if len(found) == 1 and found[0].start == 0 and found[0].end == len(text):
        return found[0].digits
    return None


def mask_personal(text: str) -> str:
    """`text` with every 身份证号 / 残疾人证号, mobile number, landline with its area code, and landline
    without it after a word saying it is a phone, masked; everything else unchanged. Masking masked text
    changes nothing."""
    return _masked(text, find_personal(text))


def masked_and_numbers(text: str) -> tuple[str, list[str]]:
    """`text` masked (mask_personal) and the canonical digits of the numbers masking hid, from one look."""
    found = find_personal(text)
    return _masked(text, found), [number.digits for number in found]


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
    too (a malformed ID, a landline without its area code, a run of Chinese digits); when none is recognised,
    a phone keeps its last 4 digits. A birth date's every digit is hidden. Every other column is masked as
    free text."""
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
    found = find_personal(text)
    numbers = [number.digits for number in found]
    if key not in NUMBER_KEYS and key not in PHONE_KEYS:
        return _masked(text, found), tuple(numbers)
    text = _chinese_as_digits(text)  # as long as the text: the numbers' places hold
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
