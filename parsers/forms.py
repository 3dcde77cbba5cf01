"""What the readers return, and what each form of the monthly package (附件1–10) looks like.

The column definitions come from the plan (衡残联字〔2020〕20号, 附件1–10): each column is found by
the words of its header, never by its position, because every unit edits the template a little.
"""

from __future__ import annotations

import gc
import re
import threading
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby, repeat
from operator import itemgetter

from parsers.months import month_near, month_number, year_so_far
from parsers.records import fold


@dataclass(frozen=True)
class Problem:
    """Something the sender should fix; row is the spreadsheet row (1-based), column its letter."""

    sheet: str | None
    row: int | None
    column: str | None
    code: str
    message: str


@dataclass(frozen=True)
class TaskFigures:
    """One task of 附件2: 目标数, 完成数, 百分比 (in percent, 50.0 for 50%), and where they were."""

    target: int | None
    done: int | None
    percent: float | None
    sheet: str | None = None
    row: int | None = None
    target_column: str | None = None
    done_column: str | None = None
    percent_column: str | None = None


_UNIT_SEPARATOR = "\x1f"


class Person(tuple):
    """One row of a real-name registry, Person(row, sheet, fields): fields are (key, value) pairs,
    each value the cell text exactly as the sender sees it.

    A registry may hold 50,000 rows, so a person is kept small and made cheaply: an immutable tuple
    (row, sheet, keys, cells) whose keys are the table's, shared, and whose cells are the values
    joined by the ASCII unit separator (the values themselves in the rare row whose text holds that
    character). One tuple and one string per person, made a block at a time by C-level calls
    (persons_in_bulk), is less to allocate, to free and for the garbage collector to walk than a
    record and a string per cell; values, fields and get() unpack on demand. Two persons are equal
    when their row, sheet and fields are."""

    __slots__ = ()

    def __new__(cls, row: int, sheet: str, fields: tuple[tuple[str, str], ...]) -> Person:
        pairs = tuple(fields)
        return tuple.__new__(
            cls, (row, sheet, tuple(key for key, _ in pairs), _pack(tuple(value for _, value in pairs)))
        )

    @property
    def row(self) -> int:
        """The spreadsheet row, 1-based."""
        return self[0]

    @property
    def sheet(self) -> str:
        return self[1]

    @property
    def keys(self) -> tuple[str, ...]:
        return self[2]

    @property
    def values(self) -> tuple[str, ...]:
        cells = self[3]
        return tuple(cells.split(_UNIT_SEPARATOR)) if cells.__class__ is str else cells

    @property
    def fields(self) -> tuple[tuple[str, str], ...]:
        return tuple(zip(self[2], self.values))

    def get(self, key: str, default: str = "") -> str:
        try:
            at = self[2].index(key)
        except ValueError:
            return default
        return self.values[at]

    def __repr__(self) -> str:
        return f"Person(row={self.row!r}, sheet={self.sheet!r}, fields={self.fields!r})"

    def __reduce__(self) -> tuple:
        # As stored, not as fields: a reader process sends 50,000 of them back, and the keys tuple they
        # share is pickled once (pickle remembers it), the cells as the one string they are.
        return _stored_person, tuple(self)


def _stored_person(row: int, sheet: str, keys: tuple[str, ...], cells: str | tuple[str, ...]) -> Person:
    return tuple.__new__(Person, (row, sheet, keys, cells))


def _pack(values: tuple[str, ...]) -> str | tuple[str, ...]:
    """The values joined by the unit separator, or the tuple itself when the joined text could not
    be split back into them (no values, a value holding the separator, a value that is not text).
    Every person's cells are made by this rule, so equal fields make equal cells."""
    try:
        packed = _UNIT_SEPARATOR.join(values)
    except TypeError:
        return values
    return packed if values and packed.count(_UNIT_SEPARATOR) == len(values) - 1 else values


def persons_in_bulk(
    rows: Sequence[int], sheet: str, keys: tuple[str, ...], columns: Sequence[Sequence[str]]
) -> list[Person]:
    """Person records for whole columns of text at once, equal to Person(row, sheet, tuple(zip(keys, values))).

    Calling Person costs about a microsecond in bytecode; for 50,000 rows the values are joined and
    the tuples made here by C-level maps instead. A block where some value holds the separator is
    made person by person."""
    packed = list(map(_UNIT_SEPARATOR.join, zip(*columns))) if keys else []
    if len(packed) != len(rows) or "".join(packed).count(_UNIT_SEPARATOR) != len(rows) * (len(keys) - 1):
        return [
            Person(row, sheet, tuple(zip(keys, values)))
            for row, values in zip(rows, zip(*columns) if keys else repeat(()))
        ]
    return list(map(tuple.__new__, repeat(Person), zip(rows, repeat(sheet), repeat(keys), packed)))


@dataclass(frozen=True)
class FormReading:
    """What one form in one file says; several sheets holding the same form make one reading."""

    source: str
    form: int | None
    unit: str | None
    month: str | None
    rows: int
    tasks: tuple[tuple[str, TaskFigures], ...] = ()
    persons: tuple[Person, ...] = ()
    text: str = ""
    problems: tuple[Problem, ...] = ()
    readable: bool = True

    def __reduce__(self) -> tuple:
        # A reader process sends readings back to ingest: a registry's persons go as blocks (a sheet's
        # rows as packed integers, its cells as one string), pickled and made again by C-level calls,
        # instead of 50,000 objects each pickled and rebuilt by a call of its own (100+ ms each way).
        values = [getattr(self, name) for name in self.__dataclass_fields__]
        values[_PERSONS_AT] = _person_blocks(self.persons)
        return _reading_from_blocks, (tuple(values),)

    @property
    def done(self) -> dict[str, int | None]:
        """附件2's 完成数 per task ({} for any other form)."""
        return {task: figures.done for task, figures in self.tasks}

    def distinct_persons(self) -> int:
        """People on a registry, each 残疾人证号 (or 身份证号) once; rows without one count alone."""
        key = "id_number" if self.form == 10 else "disability_id"
        seen: set[str] = set()
        anonymous = 0
        for person in self.persons:
            identity = id_key(person.get(key))
            if identity:
                seen.add(identity)
            else:
                anonymous += 1
        return len(seen) + anonymous


def unreadable(
    source: str, message: str, code: str = "reader", form: int | None = None, sheet: str | None = None
) -> FormReading:
    """A file no form could be read from (refused, broken, not a form, its reader dead), as a reading that
    says why: `code` and `message` its one problem, `form` what its name says it was meant to be."""
    return FormReading(
        source, form, None, None, 0, problems=(Problem(sheet, None, None, code, message),), readable=False
    )


_PERSONS_AT = list(FormReading.__dataclass_fields__).index("persons")
_BLOCK_SEPARATOR = "\x1e"


def _person_blocks(persons: Sequence[Person]) -> list:
    """Persons as blocks of (sheet, keys, rows packed, cells joined), one for each run of persons of the same
    sheet and keys, made by C-level calls; a run where some person's cells are not one string, or hold the
    separator, goes as its persons themselves."""
    blocks: list = []
    for (sheet, keys), run in groupby(persons, key=itemgetter(1, 2)):
        people = list(run)
        cells = list(map(itemgetter(3), people))
        try:
            joined = _BLOCK_SEPARATOR.join(cells)
        except TypeError:  # some person's cells are a tuple
            joined = None
        if joined is not None and joined.count(_BLOCK_SEPARATOR) == len(cells) - 1:
            blocks.append((sheet, keys, array("q", map(itemgetter(0), people)).tobytes(), joined))
        else:
            blocks.extend(people)
    return blocks


def _reading_from_blocks(values: tuple) -> FormReading:
    persons: list[Person] = []
    with _uncollected:
        for block in values[_PERSONS_AT]:
            if block.__class__ is Person:
                persons.append(block)
                continue
            sheet, keys, packed, cells = block
            rows = array("q")
            rows.frombytes(packed)
            persons.extend(
                map(
                    tuple.__new__,
                    repeat(Person),
                    zip(rows.tolist(), repeat(sheet), repeat(keys), cells.split(_BLOCK_SEPARATOR)),
                )
            )
    fields = (*values[:_PERSONS_AT], tuple(persons), *values[_PERSONS_AT + 1 :])
    return FormReading(*fields)


class _CollectorPause:
    """The cyclic garbage collector paused while tens of thousands of persons are made: tuples of text hold
    no cycle to find, yet every 700 of them start a collection, and now and then one that walks the whole
    heap (a third of the time to make 50,000 in a process as large as ingest's). Threads may pause at once:
    the collector runs again when the last pause ends, if it ran before the first began."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pauses = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._pauses == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._pauses += 1

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._pauses -= 1
            if self._pauses == 0 and self._resume:
                gc.enable()


_uncollected = _CollectorPause()


FORM_TITLES: dict[int, str] = {
    1: "目标任务进展情况报告",
    2: "目标任务完成情况汇总表",
    3: "康复服务实名制登记表",
    4: "辅助器具适配实名制登记表",
    5: "农村实用技术培训实名制登记表",
    6: "职业技能培训实名制登记表",
    7: "托养服务补贴实名制登记表",
    8: "残疾人家庭无障碍改造实名制登记表",
    9: "资助考入高等院校贫困残疾学生汇总表",
    10: "资助考入高等院校贫困残疾人家庭子女汇总表",
}

TASK_LABELS: dict[str, str] = {
    "rehab": "康复服务",
    "devices": "适配辅助器具",
    "rural_training": "实用技术培训",
    "day_care": "托养服务",
    "barrier_free": "残疾人家庭无障碍改造",
    "college": "帮助贫困残疾学生及子女上大学",
}
# The registry whose distinct persons 附件2's 完成数 counts, per task.
REGISTRY_FORMS: dict[str, tuple[int, ...]] = {
    "rehab": (3,),
    "devices": (4,),
    "rural_training": (5,),
    "day_care": (7,),
    "barrier_free": (8,),
    "college": (9, 10),
}


def form_list(numbers: Iterable[int]) -> str:
    """ "附件2、附件5": forms by number, as receipts, reminders, 自查 and the scores name them."""
    return "、".join(f"附件{number}" for number in numbers)


def id_key(value: str) -> str:
    """An ID number as compared for duplicates: trimmed, upper-case X, full-width folded."""
    return fold(value).upper() if value else ""


# ---------------------------------------------------------------------------------------------
# Columns of each form


@dataclass(frozen=True)
class Column:
    """A column of a form: its stable key, its Chinese name, the header words that find it."""

    key: str
    label: str
    pattern: re.Pattern[str]
    required: bool = False


def _col(key: str, label: str, words: str, required: bool = False) -> Column:
    return Column(key, label, re.compile(words), required)


_SERIAL = _col("serial", "序号", r"^序号|^编号$")
_NAME = _col("name", "姓名", r"姓名", True)
_DISABILITY_ID = _col("disability_id", "残疾人证号", r"残疾人?证", True)
_PHONE = _col("phone", "联系电话", r"电话|手机|联系方式")
_CATEGORY_GRADE = _col("category_grade", "残疾类别、等级", r"类别|等级")
_ADDRESS = _col("address", "家庭住址", r"住址|地址")
_REMARK = _col("remark", "备注", r"备注")

FORM_COLUMNS: dict[int, tuple[Column, ...]] = {
    3: (
        _SERIAL,
        _NAME,
        _DISABILITY_ID,
        _col("category", "残疾类别", r"类别"),
        _col("grade", "残疾等级", r"等级"),
        _PHONE,
        _col("detail", "服务细项（内容）", r"细项|服务内容"),
        _col("service", "服务项目", r"服务项目", True),
        _col("registered_poor", "是否建档立卡残疾人", r"建档"),
        _REMARK,
    ),
    4: (
        _SERIAL,
        _NAME,
        _DISABILITY_ID,
        _PHONE,
        _ADDRESS,
        _col("device", "辅助器具名称", r"器具|辅具", True),
        _col("fitted_at", "适配时间", r"时间|日期"),
        _col("in_rehab_db", "是否录入精准康复数据库", r"录入|数据库"),
        _col("other_poor", "非建档立卡贫困残疾人", r"非建档"),
        _col("registered_poor", "建档立卡贫困残疾人", r"建档"),
    ),
    5: (
        _SERIAL,
        _NAME,
        _DISABILITY_ID,
        _CATEGORY_GRADE,
        _PHONE,
        _col("training_type", "培训类型", r"类型", True),
        _col("institution", "培训机构", r"机构"),
        _col("trained_at", "培训时间", r"时间|日期"),
    ),
    7: (
        _SERIAL,
        _NAME,
        _DISABILITY_ID,
        _CATEGORY_GRADE,
        _PHONE,
        _col("care_type", "托养服务类型", r"类型", True),
        _col("institution", "托养服务机构", r"机构"),
        _col("period", "托养服务时间", r"时间|日期"),
    ),
    8: (
        _SERIAL,
        _NAME,
        _DISABILITY_ID,
        _CATEGORY_GRADE,
        _PHONE,
        _col("project", "改造项目", r"改造项目|项目", True),
        _col("subsidy", "补贴金额", r"金额|补贴"),
        _REMARK,
    ),
    9: (
        _SERIAL,
        _NAME,
        _col("gender", "性别", r"性别"),
        _col("ethnicity", "民族", r"民族"),
        _col("born", "出生年月", r"出生"),
        _col("category", "残疾类别", r"类别"),
        _DISABILITY_ID,
        _col("admission", "录取院校及专业", r"院校|专业|录取", True),
        _ADDRESS,
        _PHONE,
    ),
    10: (
        _SERIAL,
        _col("parent_name", "父（母）姓名", r"父|母|家长", True),
        _col("student_name", "学生姓名", r"姓名", True),
        _col("gender", "性别", r"性别"),
        _col("ethnicity", "民族", r"民族"),
        _col("born", "出生年月", r"出生"),
        _col("id_number", "身份证号", r"身份证", True),
        _col("admission", "录取院校及专业", r"院校|专业|录取", True),
        _DISABILITY_ID,
        _ADDRESS,
        _PHONE,
    ),
}
FORM_COLUMNS[6] = FORM_COLUMNS[5]

# Columns whose values make "the same service": one person twice with the same values is a duplicate.
SERVICE_KEYS: dict[int, tuple[str, ...]] = {
    3: ("service", "detail"),
    4: ("device",),
    5: ("training_type",),
    6: ("training_type",),
    7: ("care_type",),
    8: ("project",),
    9: (),
    10: (),
}

# Words that only this form's header has; a header row needs them (and at least three columns). Only
# distinctive words: a unit adds columns of its own (a 补贴金额 on 附件7, a 学生姓名 on 附件9), and a word
# another form may carry as an extra would turn that form into this one. When several forms' signs are
# found the first listed is the header's form, unless the title names one of them (settle_form).
_HEADER_SIGNS: dict[int, re.Pattern[str]] = {
    10: re.compile(r"父|母亲|家长"),
    9: re.compile(r"院校|录取"),
    8: re.compile(r"改造项目|改造内容|改造类型"),
    7: re.compile(r"托养"),
    4: re.compile(r"辅助器具|辅具|适配时间"),
    3: re.compile(r"服务项目|服务细项"),
    5: re.compile(r"培训类型|培训机构"),
}
# Forms whose header holds every sign of another: 附件10's columns include 附件9's 录取院校及专业, so a
# header with only that sign does not contradict a title naming 附件10.
_SIGNS_ALSO_IN: dict[int, frozenset[int]] = {10: frozenset({9})}

# ---------------------------------------------------------------------------------------------
# Titles and names

_TITLE_SIGNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (10, re.compile(r"家庭子女")),
    (9, re.compile(r"残疾学生|高等院校")),
    (8, re.compile(r"无障碍改造实名|无障碍改造登记|家庭无障碍改造.*登记")),
    (7, re.compile(r"托养服务.*登记|托养.*实名")),
    (6, re.compile(r"职业技能培训")),
    (5, re.compile(r"实用技术培训")),
    (4, re.compile(r"辅助器具适配|辅具适配|辅助器具.*登记")),
    (3, re.compile(r"康复服务.*(?:实名|登记)")),
    (2, re.compile(r"完成情况汇总|目标任务.*汇总|任务完成情况")),
    (1, re.compile(r"进展情况")),
)
_ATTACHMENT_NUMBER = re.compile(r"附件[_\-—]?(10|[1-9]|十|[一二三四五六七八九])(?!\d)")
_RESEMBLING = 0.3  # the least share of a form title's character pairs a title must hold to resemble it
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def form_from_title(text: str) -> int | None:
    """The form a title names (folded text), or None."""
    for form, sign in _TITLE_SIGNS:
        if sign.search(text):
            return form
    return None


def form_from_name(name: str) -> int | None:
    """The form a file or sheet name names: "附件3", "附件三", or the form's title words."""
    folded = fold(name)
    match = _ATTACHMENT_NUMBER.search(folded)
    if match:
        token = match.group(1)
        return int(token) if token.isdigit() else _CN_DIGITS[token]
    return form_from_title(folded)


def resembling_form(title: str) -> int | None:
    """The form (2–10) whose title a title naming none resembles most: the one with the largest share of its
    title's character pairs found in it, when that is at least 3 pairs and 30%. “托养服务补贴统计表” resembles
    附件7; a 扶贫开发统计表 none (a unit's name and a month around it change nothing)."""
    pairs = _char_pairs(fold(title))
    shares = {
        form: (len(pairs & own), len(pairs & own) / len(own))
        for form, words in FORM_TITLES.items()
        if form != 1
        for own in [_char_pairs(words)]
    }
    best = max(shares, key=lambda form: shares[form][1])
    shared, share = shares[best]
    return best if shared >= 3 and share >= _RESEMBLING else None


def _char_pairs(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def header_form(labels: list[str]) -> int | None:
    """The registry form (3–10, 5 standing for 5 or 6) whose header these folded labels are."""
    signed = header_forms(labels)
    return signed[0] if signed else None


def header_forms(labels: list[str]) -> tuple[int, ...]:
    """Every registry form (5 standing for 5 or 6) whose signs these folded labels hold, the header's own
    form first: a header may carry another form's column as an extra, and the title then decides."""
    joined = "|".join(labels)
    if "姓名" not in joined:
        return ()
    return tuple(form for form, sign in _HEADER_SIGNS.items() if sign.search(joined))


def settle_form(title_form: int | None, labels: list[str]) -> int | None:
    """The registry form of a table whose title names `title_form` and whose header is `labels`.

    The title wins when the header agrees with it: it holds the title form's own signs (any other form's
    beside them are extra columns, a 改造项目 a unit added), or only signs the title form's header holds
    too. Otherwise the header plainly contradicts the title (its columns are another form's, ones the
    titled form lacks entirely) and the header decides, being what the data are. A sign that another
    form found holds as well is no evidence: a 附件10 header (父（母）姓名, 录取院校) titled 附件9 is 附件10."""
    signed = header_forms(labels)
    if title_form is not None and 3 <= title_form <= 10:
        group = 5 if title_form == 6 else title_form
        explained = any(group in _SIGNS_ALSO_IN.get(other, frozenset()) for other in signed)
        if (group in signed and not explained) or (signed and set(signed) <= _SIGNS_ALSO_IN.get(group, frozenset())):
            return title_form
    return signed[0] if signed else None


def map_columns(labels: list[str], form: int) -> dict[str, int]:
    """Column index of each key of the form, from folded header labels; first match wins."""
    found: dict[str, int] = {}
    for index, label in enumerate(labels):
        if not label:
            continue
        for column in FORM_COLUMNS[form]:
            if column.key not in found and column.pattern.search(label):
                found[column.key] = index
                break
    return found


# ---------------------------------------------------------------------------------------------
# Month

_CN_MONTH = r"十[一二]?|[一二三四五六七八九]"
_YEAR_MONTH = re.compile(r"(?<!\d)(\d{4})年(?:度)?(\d{1,2}|" + _CN_MONTH + r")月(?!\d{1,2}[日号])")
_MONTH_ONLY = re.compile(r"(?<![\d十])(\d{1,2}|" + _CN_MONTH + r")月(?:份)?(?!\d{1,2}[日号])")
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
    January ("2020年1月-12月…汇总表") is the year so far, its last month, as a subject's is (parsers.months)."""
    folded = _CN_YEAR.sub(lambda m: m.group(1).translate(_CN_YEAR_DIGITS) + "年", fold(text))
    if (span := year_so_far(folded)) is not None:
        return f"{span.year or year:04d}-{span.last:02d}"
    for match in _YEAR_MONTH.finditer(folded):
        month = month_number(match.group(2))
        if 1 <= month <= 12:
            return f"{int(match.group(1)):04d}-{month:02d}"
    for match in _MONTH_ONLY.finditer(folded):
        month = month_number(match.group(1))
        if 1 <= month <= 12:
            return f"{year:04d}-{month:02d}"
    return None
