"""Finding a form inside one sheet by its content, never by fixed positions: a title row, a
填报单位/填表人/联系电话 row, one or two header rows (merged cells included), data rows, then
备注/填表说明 rows. The data rows are read by parsers.registry (附件3–10) or parsers.summary (附件2)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from parsers.cells import cell_text
from parsers.form_layouts import FORM_TITLES, form_from_name, form_from_title, header_form, map_columns, settle_form
from parsers.forms import Person, Problem, TaskFigures
from parsers.months import month_in
from parsers.records import Unit, fold
from parsers.unit_names import find_unit

_HEAD_ROWS = 30  # non-empty rows searched for the header
_TASK_WORDS = re.compile(r"康复|辅助器具|辅具|培训|托养|无障碍|大学")
_SUMMARY_SUB = re.compile(r"目标|完成|百分比|比例")
_REGISTRY_SUB = re.compile(r"建档")
HEADERLESS_ROWS = "headerless-rows"  # the code of persons' rows on a sheet without a header, said unread
_PERSON_NAME = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff·]{1,5}")
_ID_DIGITS = re.compile(r"[0-9]{15}")
_NOTE_ROW = re.compile(r"^(?:备注|填表说明|说明|注[:：]|附注)")
FILL_ROW = re.compile(r"填报单位|填表单位|报送单位|填表人|填报人")
_FILL_UNIT = re.compile(r"(?:填报单位|填表单位|报送单位)[:：]?(.*?)(?:填表人|填报人|审批单位|联系电话|日期|$)")

Merged = Sequence[tuple[tuple[int, int], tuple[int, int]]]
Row = list


@dataclass(frozen=True)
class SheetContext:
    """What a sheet reader needs besides the rows: units, plan year, hints from outside the sheet."""

    units: tuple[Unit, ...]
    year: int = 2020
    sender_unit: str | None = None
    name_form: int | None = None  # the form the file name names, if any
    formulas: Callable[[], frozenset[str]] | None = None  # formula cells without a value, on demand


@dataclass
class SheetResult:
    """One sheet's form: persons (附件3–10) or the unit's figures (附件2), with its problems."""

    sheet: str
    form: int | None
    unit: str | None
    month: str | None
    rows: int = 0
    persons: list[Person] = field(default_factory=list)
    tasks: tuple[tuple[str, TaskFigures], ...] = ()
    problems: list[Problem] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # key → column letter
    id_keys: list[str] = field(default_factory=list)  # per person: the ID as compared for duplicates
    training_hint: int | None = None  # 5 or 6 when only the content could tell


@dataclass(frozen=True)
class Layout:
    """Where the table starts: its header labels per column, the first data row, and the title facts."""

    sheet: str
    form: int
    labels: list[str]
    col0: int  # absolute index of the first column calamine gives
    title_form: int | None
    unit: str | None
    month: str | None
    first_row: int = 0  # the spreadsheet row of the first data row
    merged: Merged = ()  # the sheet's merged ranges, ((first row, first column), (last row, last column)), 0-based


def locate_table(
    sheet: str, rows: Iterator[Row], col0: int, merged: Merged, ctx: SheetContext
) -> tuple[Layout, Iterator[Row]] | SheetResult | None:
    """The table's layout and its data rows (the first of them is layout.first_row); a SheetResult
    when a title names a form whose header cannot be found; None when the sheet holds no form."""
    head, header_at, kind = _find_header(rows)
    if header_at is None:
        return _without_header(sheet, head, ctx)
    number, _, labels = head[header_at]
    following = next(rows, None)
    if following is not None and _is_sub_header(following, kind, number, merged):
        labels = _combine(labels, [fold(cell_text(v)) for v in following], number - 1, col0, merged)
        data, first_row = rows, number + 2
    else:
        data, first_row = itertools.chain([following] if following is not None else [], rows), number + 1
    title_form, unit, month = _title_facts(head[:header_at], ctx)
    if title_form is None:
        title_form = _mark_form(head[:header_at])
    return Layout(sheet, kind, labels, col0, title_form, unit, month, first_row, tuple(merged)), data


def _find_header(rows: Iterator[Row]) -> tuple[list[tuple[int, Row, list[str]]], int | None, int]:
    """The non-empty rows read before the header (the header last), its index and its kind."""
    head: list[tuple[int, Row, list[str]]] = []
    for number, row in enumerate(rows, 1):
        labels = [fold(cell_text(v)) if v != "" else "" for v in row]
        if not any(labels):
            continue
        head.append((number, row, labels))
        kind = header_kind(labels)
        if kind is not None:
            return head, len(head) - 1, kind
        if len(head) >= _HEAD_ROWS:
            break
    return head, None, 0


def header_kind(labels: list[str]) -> int | None:
    """2 for 附件2's header, 3–10 for a registry's (5 standing for 5 or 6), None for any other row."""
    joined = "|".join(labels)
    if "姓名" not in joined:
        tasks = sum(1 for label in labels if label and _TASK_WORDS.search(label))
        return 2 if tasks >= 3 else None
    form = header_form(labels)
    if form is None:
        return None
    found = map_columns(labels, form)
    has_name = "name" in found or "student_name" in found
    return form if has_name and len(found) >= 3 else None


def _is_sub_header(row: Row, kind: int, number: int, merged: Merged) -> bool:
    """A second header row: sub-labels under merged cells (目标数/完成数/百分比, 建档立卡…)."""
    labels = [fold(cell_text(v)) for v in row if v != ""]
    sub = _SUMMARY_SUB if kind == 2 else _REGISTRY_SUB
    if any(sub.search(label) for label in labels):
        return True
    header_row = number - 1  # 0-based
    return bool(labels) and any(r0 == header_row and r1 > r0 for (r0, _), (r1, _) in merged)


def _combine(top: list[str], sub: list[str], header_row: int, col0: int, merged: Merged) -> list[str]:
    """One label per column from two header rows: a merged top cell names every column under it."""
    top = list(top)
    width = len(top)
    for (r0, c0), (r1, c1) in merged:
        if r0 <= header_row <= r1 and c1 > c0 and 0 <= c0 - col0 < width:
            for column in range(max(c0 - col0, 0), min(c1 - col0 + 1, width)):
                top[column] = top[c0 - col0]
    last = ""
    for column in range(width):
        if top[column]:
            last = top[column]
        elif column < len(sub) and sub[column]:
            top[column] = last
    return [t + (sub[i] if i < len(sub) and sub[i] != t else "") for i, t in enumerate(top)]


def _title_facts(pre: list[tuple[int, Row, list[str]]], ctx: SheetContext) -> tuple[int | None, str | None, str | None]:
    """(form named by the title, unit, month) from the rows above the header."""
    title = ""
    fill: list[str] = []
    others: list[str] = []
    for _, _, labels in pre:
        text = "".join(labels)
        if _NOTE_ROW.match(text):
            continue
        if FILL_ROW.search(text):
            fill.append(text)
        elif not title and form_from_title(text):
            title = text
        else:
            others.append(text)
    fill_units = [m.group(1) for text in fill for m in [_FILL_UNIT.search(text)] if m]
    unit = None
    for text in (title, *fill_units, *others):
        found = find_unit(text, ctx.units) if text else None
        if found is not None:
            unit = found.name
            break
    month = next((m for text in (title, *others) if text and (m := month_in(text, ctx.year))), None)
    return (form_from_title(title) if title else None), unit, month


def _mark_form(pre: list[tuple[int, Row, list[str]]]) -> int | None:
    """The form a bare "附件7" mark above the header names: the template's own mark, which says what the
    sheet is meant to be when its title row was cleared or rewritten in words that name no form."""
    for _, _, labels in pre:
        text = "".join(labels)
        if text.startswith("附件") and len(text) <= len("附件10"):
            return form_from_name(text)
    return None


# The header each form is read by, as the message about a missing one names it.
_EXPECTED_HEADER = {
    2: "附件2 的表头是每个单位一行、每项任务的“目标数”“完成数”“百分比”横向排开，"
    "如模板的“地区｜康复服务（人）：目标数 完成数 百分比｜适配辅助器具（人）：…”",
    10: "如“学生姓名”“身份证号”“父（母）姓名”",
}


def _without_header(sheet: str, head: list[tuple[int, Row, list[str]]], ctx: SheetContext) -> SheetResult | None:
    """A sheet with no header: a form only if its title names one (then the header is the problem). Without
    such a title, rows of persons under no header at all (a registry's second page pasted on a sheet of its own)
    are said unread, as problems only (form None): they were dropped without a word."""
    title_form, unit, month = _title_facts(head, ctx)
    if title_form == 1:
        return None
    if title_form is None:
        person = next((number for number, _, labels in head if _person_like(labels)), None)
        if person is None or any("姓名" in "".join(labels) for number, _, labels in head if number < person):
            return None  # no persons, or under a header of another's (a national system's export): not ours
        said = (
            f"工作表“{sheet}”从第 {person} 行起像是人员名单（有姓名和证件号码），但没有表头，未读取；"
            "如是前一张表的续页，请把这些行移到那张表中，否则请加上模板的表头后重新发送"
        )
        return SheetResult(sheet, None, unit, month, problems=[Problem(sheet, person, None, HEADERLESS_ROWS, said)])
    problem = Problem(
        sheet,
        None,
        None,
        "no-header",
        f"工作表“{sheet}”的标题是附件{title_form}{FORM_TITLES[title_form]}，但没有找到表头"
        f"（{_EXPECTED_HEADER.get(title_form, '如“姓名”“残疾人证号”')}），无法读取数据；请使用模板的表头后重新发送",
    )
    return SheetResult(sheet, title_form, unit, month, problems=[problem])


def _person_like(labels: list[str]) -> bool:
    """A row holding a Chinese name and an ID's digits (15 at least), each in a cell of its own."""
    return any(_ID_DIGITS.search(label.replace(" ", "")) for label in labels) and any(
        _PERSON_NAME.fullmatch(label) for label in labels
    )


def decide_form(layout: Layout, ctx: SheetContext, problems: list[Problem]) -> int | None:
    """The title decides when the header agrees with it (settle_form: a column a unit added does not make
    its 附件7 an 附件8); otherwise the header does, its columns being the data. The title or the names tell
    附件5 from 附件6, whose headers are the same."""
    title = layout.title_form
    if title is not None and settle_form(title, layout.labels) == title:
        return title
    if layout.form == 5:
        for hint in (title, form_from_name(layout.sheet), ctx.name_form):
            if hint in (5, 6):
                return hint
        return None
    if title not in (None, layout.form, 1):
        problems.append(
            Problem(
                layout.sheet,
                None,
                None,
                "title-mismatch",
                f"工作表“{layout.sheet}”的标题是附件{title}，但表头是附件{layout.form}"
                f"{FORM_TITLES[layout.form]}的格式，已按附件{layout.form}读取；请核对标题",
            )
        )
    return layout.form
