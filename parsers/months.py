"""The months a subject, a file name or a form's title names: a subject's and a file name's reporting month
(parsers.recognize), a month without a year placed near the mail's arrival, and the one rule for ranges of months
that subjects and forms' titles share.

A range from January ("1-12月", "2020年1月-12月", "1至9月份") is the year so far, as a 附件2's cumulative figures
are: it names one month, its last. Any other range ("7-9月") names each of its months (a unit catching up).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from parsers.records import fold

_CN_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
# A month's number as written: 1–12 in digits, or 一 … 十二.
MONTH_NUMBER = r"(?:\d{1,2}|十[一二]?|[一二三四五六七八九])"
# "7-9月", "7月-9月", "7至8月份", "2020年1月—12月", "2020年1月至2020年12月"; the year before either end. The first
# number is no day's or year's ("2020年…" is read from its year), and the range ends in 月.
_RANGE = re.compile(
    rf"(?<![\d年])(?:(\d{{4}})年度?)?({MONTH_NUMBER})(?:月份?)?\s*[-~～〜至到—–―－]\s*"
    rf"(?:(\d{{4}})年度?)?({MONTH_NUMBER})月"
)

_YEAR_MONTH = re.compile(r"(?<!\d)(\d{4})年(\d{1,2})月")
# A year and month in digits, as file names and hurried subjects write them: "2020.12", "2020-12", "2020/12",
# "2020_12", "202012". Never a day's ("2020.12.15", "20201215"), an amount or a document's number, nor a part of
# a longer number: read with the spaces kept ("附件2 2020.12"), where fold would glue the numbers together. Beside a
# month written with 月, the one written first is the report's ("12月报表（2021.01补报）", "2020.12汇总表（截至11月
# 底）").
_DIGITS_YEAR_MONTH = re.compile(
    r"(?<![\d.])(20\d\d)(?:[.\-/_](0?[1-9]|1[0-2])|(0[1-9]|1[0-2]))"
    # not an amount or a count, nor a document's or an issue's number (2020.5万元, 发2020-12号, 第2020-1期, 202012人);
    # 人员, 户籍, 名单 and 项目 are words of their own ("2020.12人员名单")
    r"(?![\d]|[.\-/_]\d|[万亿千百元角%‰号期次个件台套]|人(?!员)|户(?!籍)|名(?!单)|项(?!目))"
)
# A bare month: not glued to a preceding number, not the month of a day ("4月15日"), and not the
# 一 of a word such as 统一/唯一/同一 ("统一月报格式").
_MONTH = re.compile(
    r"(?<!\d)(\d{1,2}|十[一二]?|(?<![统唯同之万逐单划均第])一|[二三四五六七八九])月(份)?(?!\d{1,2}[日号])"
)

# Several months named together in a subject, as a unit catching up sends them: "7、8月份报表", "7月、8月",
# "七、八月份", "7和8月" (as a range, "7-9月", "7至8月份": _RANGE). Each number is a month only when the list ends
# in 月.
_MONTH_LIST = re.compile(
    rf"(?<![\d年统唯同之万逐单划均第])(?:(\d{{4}})年)?({MONTH_NUMBER}(?:月份?)?(?:\s*(?:[、,，/和及与]|以及)\s*{MONTH_NUMBER}(?:月份?)?)+)"
)


@dataclass(frozen=True)
class MonthRange:
    """Months `first` to `last` of one year; `year` None when the text writes none (its reader places it);
    `written`: the range as the text writes it, folded ("10-12月", "2020年1月-12月"), for telling it back."""

    year: int | None
    first: int
    last: int
    written: str = field(default="", compare=False)

    @property
    def year_so_far(self) -> bool:
        """From January: the year so far, which names one month, its last."""
        return self.first == 1


def month_number(token: str) -> int:
    """A MONTH_NUMBER token's number: "12" → 12, "十一" → 11."""
    if token.isdigit():
        return int(token)
    if token.startswith("十"):
        return 10 + (_CN_NUMBERS[token[1]] if len(token) > 1 else 0)
    return _CN_NUMBERS[token]


def month_ranges(text: str) -> tuple[MonthRange, ...]:
    """The ranges of months of one year that text writes, in order; none spanning two years or running back."""
    folded = fold(text)
    ranges = []
    for match in _RANGE.finditer(folded):
        first_year, first, last_year, last = match.groups()
        first_number, last_number = month_number(first), month_number(last)
        if first_year and last_year and first_year != last_year:
            continue
        if 1 <= first_number < last_number <= 12:
            year = first_year or last_year
            ranges.append(MonthRange(int(year) if year else None, first_number, last_number, match.group(0)))
    return tuple(ranges)


def year_so_far(text: str) -> MonthRange | None:
    """The first range from January that text writes ("2020年1月-12月汇总表"): it names its last month."""
    return next((span for span in month_ranges(text) if span.year_so_far), None)


def month_near(number: int, local: datetime) -> str:
    """Month `number` in the one year that puts it from ten months before `local`'s month to one month after
    it, the months a report sent at `local` can be for: December's report sent in January belongs to
    December's year, January's sent early, in December, to January's."""
    offset = (number - local.month + 10) % 12 - 10  # -10 … 1: months after local's month
    index = local.year * 12 + local.month - 1 + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def report_month(text: str, arrival_local: datetime) -> str | None:
    """The reporting month text names, as "YYYY-MM", or None.

    A range from January ("2020年1月-12月", "1-12月") is the year so far, its last month (year_so_far); then
    "2020年4月" wins over "4月份", which wins over a bare "4月"; one in digits alone ("2020.4") beside either is
    taken when written first (digits_month); a month without a year is placed near the arrival (month_near): from
    ten months before the arrival month to one month after it, so December's report sent in January is last
    December's and January's sent in December next January's.
    """
    folded = fold(text)
    if (span := year_so_far(folded)) is not None:
        return _placed(span.last, span.year, arrival_local)
    for match in _YEAR_MONTH.finditer(folded):
        year, month = int(match.group(1)), int(match.group(2))
        if 1 <= month <= 12:
            return f"{year:04d}-{month:02d}"
    bare = [m for m in _MONTH.finditer(folded) if 1 <= month_number(m.group(1)) <= 12]
    chosen = next((m for m in bare if m.group(2)), bare[0] if bare else None)  # "4月份" before a bare "4月"
    digits = digits_month(text)
    if digits is not None and (chosen is None or digits[0] < chosen.start()):
        return digits[1]
    return None if chosen is None else month_near(month_number(chosen.group(1)), arrival_local)


def digits_month(text: str) -> tuple[int, str] | None:
    """The first year and month written in digits alone ("2020.12", "202012"): where it starts in the folded text
    (its characters but whitespace before it) and "YYYY-MM"; or None."""
    written = unicodedata.normalize("NFKC", text)
    match = _DIGITS_YEAR_MONTH.search(written)
    if match is None:
        return None
    return len(fold(written[: match.start()])), f"{match.group(1)}-{int(match.group(2) or match.group(3)):02d}"


def named_months(text: str, arrival_local: datetime) -> tuple[str, ...]:
    """The months a subject names together ("7、8月份报表", "7-9月"), ascending, as "YYYY-MM" (a month without
    a year placed near the arrival, as report_month places it, a range by its last month: "10-12月" sent in
    January is last year's three); () unless it names two or more. A range from January ("1-12月") is the
    year so far, one month: report_month reads it."""
    folded = fold(text)
    found: set[str] = set()
    for span in month_ranges(folded):
        if not span.year_so_far:
            year = _placed(span.last, span.year, arrival_local)[:4]
            found.update(f"{year}-{number:02d}" for number in range(span.first, span.last + 1))
    for match in _MONTH_LIST.finditer(folded):
        numbers = [month_number(token) for token in re.findall(MONTH_NUMBER, match.group(2))]
        if match.group(2).endswith(("月", "月份")) and all(1 <= number <= 12 for number in numbers):
            found.update(_placed(number, match.group(1), arrival_local) for number in numbers)
    return tuple(sorted(found)) if len(found) > 1 else ()


def _placed(number: int, year: str | int | None, arrival_local: datetime) -> str:
    return f"{int(year):04d}-{number:02d}" if year else month_near(number, arrival_local)


# A title's month: "2020年度4月", "4 月份", "四月"; never a day's ("4月15日").
_TITLE_YEAR_MONTH = re.compile(r"(?<!\d)(\d{4})年(?:度)?(" + MONTH_NUMBER + r")月(?!\d{1,2}[日号])")
_TITLE_MONTH = re.compile(r"(?<![\d十])(" + MONTH_NUMBER + r")月(?:份)?(?!\d{1,2}[日号])")
_CN_YEAR = re.compile(r"([〇零一二三四五六七八九]{4})年")
_CN_YEAR_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")


# The year a reader is given when its caller places a title's month without a year itself (by the mail's
# arrival: `placed`): such a month is read as "0000-04".
UNDATED = 0


def placed(month: str | None, local: datetime) -> str | None:
    """A month read with the year UNDATED placed near `local` (month_near); any other month as it is."""
    if month is None or not month.startswith(f"{UNDATED:04d}-"):
        return month
    return month_near(int(month[5:]), local)


def month_in(text: str, year: int) -> str | None:
    """ "YYYY-MM" from a title: "2020年4月", "4 月份", "四月份"; the year given when none is written. A range from
    January ("2020年1月-12月…汇总表") is the year so far, its last month, as a subject's is (year_so_far)."""
    folded = _CN_YEAR.sub(lambda m: m.group(1).translate(_CN_YEAR_DIGITS) + "年", fold(text))
    if (span := year_so_far(folded)) is not None:
        return f"{span.year or year:04d}-{span.last:02d}"
    for match in _TITLE_YEAR_MONTH.finditer(folded):
        month = month_number(match.group(2))
        if 1 <= month <= 12:
            return f"{int(match.group(1)):04d}-{month:02d}"
    digits = digits_month(text)
    for match in _TITLE_MONTH.finditer(folded):
        month = month_number(match.group(1))
        if 1 <= month <= 12:
            return digits[1] if digits is not None and digits[0] < match.start() else f"{year:04d}-{month:02d}"
    return None if digits is None else digits[1]
