"""附件2 目标任务完成情况汇总表: the sending unit's row, for the six tasks 目标数/完成数/百分比.

A unit may send the whole city template with only its own row filled; the row is found by the unit's
name or alias in the 地区 column (`景 县` included), never by its position. A unit may also break its
figures down by town: the towns' rows are never its own, its 合计 row is. Data are cumulative: a
累计 完成数 column wins over a 本月 one, and a 本月 one alone is not read."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from parsers.cells import cell_text, column_letter, parse_count, parse_percent, written_count
from parsers.checks import percent_problem
from parsers.form_layouts import TASK_LABELS
from parsers.forms import Problem, TaskFigures
from parsers.months import UNDATED
from parsers.records import TASKS, fold
from parsers.sheet import Layout, Row, SheetContext, SheetResult
from parsers.unit_names import find_unit

_TASKS = (
    ("college", re.compile(r"大学|高等院校")),
    ("barrier_free", re.compile(r"无障碍")),
    ("day_care", re.compile(r"托养")),
    ("rural_training", re.compile(r"培训|实用技术")),
    ("devices", re.compile(r"辅助器具|辅具")),
    ("rehab", re.compile(r"康复")),
)
# Checked in order: 完成率/完成进度 is the percent, 计划完成数 the target, then any 完成 is the done count
# (完成任务数 included), and only then 目标/任务数/计划 name the target.
_FIELDS = (
    ("percent", re.compile(r"百分比|比例|完成率|进度|%")),
    ("target", re.compile(r"(?:计划|应)完成")),
    ("done", re.compile(r"完成")),
    ("target", re.compile(r"目标|任务数|计划")),
)
_HEADING_WORDS = re.compile(r"(?:目标任务)?完成情况")  # a task heading's wording, not a column's field
_CUMULATIVE = re.compile(r"累计|累积|截至|至今|年初")
_MONTHLY = re.compile(r"本月|当月|本期")
# A column beside the figures that is not them: an earlier period's (上月累计完成数, 2019年完成数) or a part's (其中…)
_NOT_THE_FIGURE = re.compile(r"上月|上期|上季|上年|去年|前月|同期|其中")
_YEAR = re.compile(r"((?:19|20)\d\d)年")
_REGION = re.compile(r"地区|单位|县|区域|名称|市区")
_END = re.compile(r"^(?:备注|填表说明|说明|注[:：]|附注|填表人|填报人|审核人|负责人)")
_TOTALS = re.compile(r"合计|总计|全县|全区|全市")
_SKIPPED = re.compile(r"小计|市级|市直")
_PART = re.compile(r"^其中|(?:镇|乡|街道|办事处)(?:\(.*\))?$")
_FIELD_NAMES = {"target": "目标数", "done": "完成数", "percent": "百分比"}


@dataclass(frozen=True)
class UnitRow:
    """One row of the table with numbers in it; unit None when its 地区 cell names no unit; total when
    it is a 合计/总计 row (the sum of a one-county breakdown, or of the whole city)."""

    unit: str | None
    number: int
    cells: dict[tuple[str, str], object]  # (task, field) → raw cell value
    total: bool = False

    def has(self, field: str) -> bool:
        return any(value not in ("", None) for (_, name), value in self.cells.items() if name == field)


@dataclass(frozen=True)
class Columns:
    """Where the header puts each figure: the 地区 column, the column of each (task, field), the tasks the
    header names, a task's 本月/当月 完成数 column when it has no cumulative one (never read), and the other
    columns a task's 完成数 could equally be read from (two 累计完成数: said, the first read)."""

    region: int
    found: dict[tuple[str, str], int]
    tasks: frozenset[str]
    monthly_only: dict[str, int]
    also_done: dict[str, list[int]]


def _columns(labels: list[str], year: int) -> Columns:
    """The 地区 column and the column of each (task, field). Data are cumulative, so of several 完成数
    columns of one task the 累计 one wins and a 本月/当月 one is never the 完成数; a column that looks like an
    earlier period's (上月累计, an earlier year's than `year` or than another column's) or a part's (其中…) is read
    only when the task has no other (截至上月底累计完成数 may be a package's own figure). `year`: the report's, when
    known (its title's; UNDATED when not). A column naming a field but no task (a 百分比 header merged down on its
    own) belongs to the task before it."""
    region = next((i for i, label in enumerate(labels) if _REGION.search(label) and not _task_of(label)), None)
    candidates: dict[tuple[str, str], list[tuple[int, int]]] = {}
    tasks: set[str] = set()
    last_task: str | None = None
    for index, label in enumerate(labels):
        task = _task_of(label)
        field = _field_of(label)
        if task:
            tasks.add(task)
            last_task = task
        elif field and index != region:
            task = last_task
        if task and field:
            candidates.setdefault((task, field), []).append((_period_rank(label), index))
    # another year's: one before the report's (that unknown, before the newest a header names: 2019年 beside 2020年),
    # or, the report's unknown, any beside a header naming none (2019年完成数 beside 完成数)
    reference = year if year != UNDATED else max((int(y) for label in labels for y in _YEAR.findall(label)), default=0)
    for options in candidates.values():
        plain = year == UNDATED and any(not _YEAR.search(labels[index]) for _, index in options)
        for n, (_, index) in enumerate(options):
            named = [int(named) for named in _YEAR.findall(labels[index])]
            if any(each < reference for each in named) or (plain and named):
                options[n] = (3, index)
    found: dict[tuple[str, str], int] = {}
    monthly_only: dict[str, int] = {}
    also_done: dict[str, list[int]] = {}
    for (task, field), options in candidates.items():
        usable = [option for option in options if not (field == "done" and option[0] == 2)]
        if usable:
            best = min(usable)
            found[(task, field)] = best[1]
            if field == "done" and (twins := [index for rank, index in usable if rank == best[0] and index != best[1]]):
                also_done[task] = twins
        elif field == "done" and any(rank == 2 for rank, _ in options):
            monthly_only[task] = next(index for rank, index in options if rank == 2)
    if region is None:
        region = next((i for i, label in enumerate(labels) if label), 0)
    return Columns(region, found, frozenset(tasks), monthly_only, also_done)


def _task_of(label: str) -> str | None:
    return next((task for task, pattern in _TASKS if pattern.search(label)), None)


def _field_of(label: str) -> str | None:
    """target, done or percent; a heading such as 康复服务完成情况 over 目标数 is not a 完成数."""
    words = _HEADING_WORDS.sub("", label)
    return next((name for name, pattern in _FIELDS if pattern.search(words)), None)


def _period_rank(label: str) -> int:
    """0 for a cumulative column (累计完成数), 1 for a plain one (完成数), 2 for this month's (本月完成数), 3 for one
    that looks like no figure of the report (上月累计完成数, 其中…; another year's: _columns)."""
    if _NOT_THE_FIGURE.search(label):
        return 3
    if _CUMULATIVE.search(label):
        return 0
    return 2 if _MONTHLY.search(label) else 1


def _column_problems(columns: Columns, layout: Layout) -> list[Problem]:
    """A task whose 完成数 cannot be read: only a monthly column, or none at all. Said, never skipped
    silently, since a missing 完成数 would otherwise look like a unit that did nothing."""
    problems = []
    for task in TASKS:
        label = TASK_LABELS[task]
        if task in columns.monthly_only:
            letter = column_letter(layout.col0 + columns.monthly_only[task])
            problems.append(
                Problem(
                    layout.sheet,
                    None,
                    letter,
                    "done-monthly-only",
                    f"{label}只有本月（当月）完成数一列（{letter} 列），没有累计完成数，未读取{label}的完成数；"
                    f"附件2 的完成数应为自年初以来的累计数，请增加“累计完成数”一列并填写",
                )
            )
        elif task in columns.also_done:
            letters = [
                column_letter(layout.col0 + index)
                for index in (columns.found[(task, "done")], *columns.also_done[task])
            ]
            problems.append(
                Problem(
                    layout.sheet,
                    None,
                    letters[0],
                    "done-columns",
                    f"{label}有 {len(letters)} 列完成数（{'、'.join(letters)} 列），已读取 {letters[0]} 列；"
                    f"请只保留本月的累计完成数一列（其他时期的数字请在表头写明，如“上月累计完成数”）",
                )
            )
        elif task in columns.tasks and (task, "done") not in columns.found:
            problems.append(
                Problem(
                    layout.sheet,
                    None,
                    None,
                    "done-column-missing",
                    f"表头中找不到{label}的“完成数”一列（应在“{label}”下写“完成数”或“累计完成数”），"
                    f"未读取{label}的完成数；请使用模板的表头“目标数、完成数、百分比”",
                )
            )
    return problems


def read_summary(layout: Layout, data: Iterator[Row], ctx: SheetContext) -> SheetResult:
    columns = _columns(layout.labels, int(layout.month[:4]) if layout.month else ctx.year)
    region = columns.region
    unit_rows: list[UnitRow] = []
    parts = 0
    for number, row in enumerate(data, layout.first_row):
        label = fold(cell_text(row[region])) if region < len(row) else ""
        if _END.match(label):
            break
        cells = {key: row[index] for key, index in columns.found.items() if index < len(row)}
        if not any(value != "" for value in cells.values()):
            continue
        kind, unit = _row_kind(label, ctx)
        if kind == "part":
            parts += 1
        elif kind != "skipped":
            unit_rows.append(UnitRow(unit, number, cells, total=kind == "total"))
    result = SheetResult(layout.sheet, 2, None, layout.month)
    result.problems.extend(_column_problems(columns, layout))
    chosen = _choose(unit_rows, layout, ctx, result, parts)
    if chosen is not None:
        result.unit = chosen.unit or layout.unit or ctx.sender_unit
        result.tasks = _figures(chosen, columns.found, layout, ctx, result.problems)
    return result


def _row_kind(label: str, ctx: SheetContext) -> tuple[str, str | None]:
    """What a row's 地区 cell says it is, and the unit it names: "part" (a town, 街道 or 其中：…, never a
    unit's own figures however like its county it is named: 枣强镇, 景县龙华镇), "skipped" (小计, 市级),
    "unit" (景县, 景县残联, 景县合计), "total" (合计, 总计, 全县合计) or "other" (blank, 本单位, …)."""
    if _PART.search(label):
        return "part", None
    if _SKIPPED.search(label):
        return "skipped", None
    unit = find_unit(label, ctx.units) if label and len(label) <= 16 else None
    if unit is not None:
        return "unit", unit.name
    return ("total" if _TOTALS.search(label) else "other"), None


def _choose(
    rows: Sequence[UnitRow], layout: Layout, ctx: SheetContext, result: SheetResult, parts: int = 0
) -> UnitRow | None:
    """The sender's row: the sending unit's, else the unit the title names, else the only unit filled.
    With no row naming a unit the table is one unit's own (broken down by town, or its row unnamed):
    its 合计 row, else its only row. A 合计 beside rows of units is the city's and never read."""
    named = [row for row in rows if row.unit]
    filled = _one_per_unit([row for row in named if row.has("done")] or named)
    wanted = ctx.sender_unit or layout.unit
    if named and wanted:
        mine = [row for row in named if row.unit == wanted]
        chosen = next((row for row in mine if row.has("done")), mine[0] if mine else None)
        if chosen is None and not ctx.sender_unit and len(filled) == 1:  # a title naming another unit than the row
            chosen = filled[0]
            result.problems.append(
                Problem(
                    layout.sheet,
                    chosen.number,
                    None,
                    "title-unit",
                    f"附件2 的标题写的单位是{wanted}，填写了数字的一行写的是{chosen.unit}，已按{chosen.unit}读取；"
                    f"请核对标题和“地区”列，都写本单位的名称",
                )
            )
    elif named:
        chosen = filled[0] if len(filled) == 1 else None
    else:
        chosen = _own_row(rows)
    result.rows = len(filled) if named else int(chosen is not None)
    if len(filled) > 1:
        units = "、".join(str(row.unit) for row in filled)
        tail = f"已按{chosen.unit}的一行读取" if chosen else "无法确定是哪个单位报送的，未读取数字"
        result.problems.append(
            Problem(
                layout.sheet,
                None,
                None,
                "several-units",
                f"附件2 中填写了 {len(filled)} 个单位的数据（{units}），{tail}；每个单位只需填写本单位的一行",
            )
        )
    if chosen is not None and chosen.unit:  # of its rows, the last filled: the newest, kept below an old one
        chosen = next((row for row in reversed(named) if row.unit == chosen.unit and row.has("done")), chosen)
        result.problems.extend(_rows_twice(chosen, named, layout))
    if chosen is None and (wanted or not filled):
        who = wanted or "本单位"
        towns = "（乡镇、街道的行不是本单位的数字）" if parts else ""
        result.problems.append(
            Problem(
                layout.sheet,
                None,
                None,
                "unit-row-missing",
                f"附件2 中没有找到{who}填写了数字的一行{towns}；请在“地区”列写明单位名称，"
                f"填写本单位的目标数、完成数和百分比",
            )
        )
    return chosen


def _rows_twice(chosen: UnitRow, named: Sequence[UnitRow], layout: Layout) -> list[Problem]:
    """The chosen unit's other rows with other 完成数 (last month's row kept above, hidden or filtered out): said,
    with the row read (the last), where the first was read silently."""
    figures = _done_cells(chosen)
    others = [row for row in named if row.unit == chosen.unit and row.has("done") and _done_cells(row) != figures]
    if not others:
        return []
    numbers = "、".join(str(row.number) for row in sorted((chosen, *others), key=lambda row: row.number))
    said = f"附件2 中{chosen.unit}有 {len(others) + 1} 行填写了完成数（第 {numbers} 行），数字不同，"
    return [
        Problem(
            layout.sheet,
            chosen.number,
            None,
            "unit-rows",
            said + f"已按最后一行（第 {chosen.number} 行）读取；请只保留本月的一行（隐藏或筛选掉的行也请删除）",
        )
    ]


def _done_cells(row: UnitRow) -> dict[str, object]:
    return {task: value for (task, field), value in row.cells.items() if field == "done"}


def _one_per_unit(rows: Sequence[UnitRow]) -> list[UnitRow]:
    """The first row of each unit, to count the units filled: a unit written twice (景县, 景县合计) is still one
    (of its rows, _choose reads the last)."""
    first: dict[str | None, UnitRow] = {}
    for row in rows:
        first.setdefault(row.unit, row)
    return list(first.values())


def _own_row(rows: Sequence[UnitRow]) -> UnitRow | None:
    """In a table naming no unit: its 合计/总计 row (the first with 完成数), else its only row."""
    totals = [row for row in rows if row.total]
    if totals:
        return next((row for row in totals if row.has("done")), totals[0])
    return rows[0] if len(rows) == 1 else None


def _figures(
    row: UnitRow, columns: dict[tuple[str, str], int], layout: Layout, ctx: SheetContext, problems: list[Problem]
) -> tuple[tuple[str, TaskFigures], ...]:
    letters = {key: column_letter(layout.col0 + index) for key, index in columns.items()}
    # formula cells without a saved result (a blank, or a result not to be trusted: XlsxLayout.recalculate_on_open)
    formulas = ctx.formulas() if ctx.formulas and row.cells else frozenset()
    unread = [letters[key] for key in row.cells if f"{letters[key]}{row.number}" in formulas]
    if unread:
        row = replace(row, cells={key: "" if letters[key] in unread else value for key, value in row.cells.items()})
    for letter in unread:
        problems.append(
            Problem(
                layout.sheet,
                row.number,
                letter,
                "formula-no-value",
                f"单元格 {letter}{row.number} 是公式，但文件里没有保存可用的计算结果（文件可能由其他程序生成）；"
                f"请用 Excel 或 WPS 打开此文件，保存后重新发送（或把公式改为数字）",
            )
        )
    tasks = []
    for task in TASKS:
        target = _count(row, task, "target", letters, layout, problems)
        done = _count(row, task, "done", letters, layout, problems)
        percent = _percent(row, task, target, done, letters, layout, problems)
        tasks.append(
            (
                task,
                TaskFigures(
                    target,
                    done,
                    percent,
                    layout.sheet,
                    row.number,
                    letters.get((task, "target")),
                    letters.get((task, "done")),
                    letters.get((task, "percent")),
                    letters.get((task, "done")) in unread,
                ),
            )
        )
    return tuple(tasks)


def _count(row: UnitRow, task: str, field: str, letters: dict, layout: Layout, problems: list[Problem]) -> int | None:
    value = row.cells.get((task, field), "")
    number, ok = parse_count(value)
    if not ok:
        problems.append(
            Problem(
                layout.sheet,
                row.number,
                letters[(task, field)],
                "bad-number",
                f"{TASK_LABELS[task]}的{_FIELD_NAMES[field]}“{cell_text(value)}”"
                + ("是负数；请填写 0 或正整数" if _negative(value) else "不是整数；请只填写数字"),
            )
        )
    return number


def _negative(value: object) -> bool:
    """A count written below zero (-5, "－5"), which is a whole number all the same: said as such."""
    number = written_count(value)
    return number is not None and number < 0


def _percent(
    row: UnitRow,
    task: str,
    target: int | None,
    done: int | None,
    letters: dict,
    layout: Layout,
    problems: list[Problem],
) -> float | None:
    value = row.cells.get((task, "percent"), "")
    readings, ok = parse_percent(value)
    checkable = target is not None and target > 0 and done is not None
    if not readings:
        if not ok and checkable:
            problems.append(
                Problem(
                    layout.sheet,
                    row.number,
                    letters[(task, "percent")],
                    "bad-number",
                    f"{TASK_LABELS[task]}的百分比“{cell_text(value)}”不是数字；请填写如 52.5%",
                )
            )
        return None
    if not checkable:
        return readings[0] if len(readings) == 1 or readings[1] <= 2 else readings[1]
    expected = done * 100 / target  # type: ignore[operator]
    percent = min(readings, key=lambda reading: abs(reading - expected))
    message = percent_problem(task, percent, done, target)  # type: ignore[arg-type]
    if message:
        problems.append(Problem(layout.sheet, row.number, letters[(task, "percent")], "percent-mismatch", message))
    return round(percent, 6)
