"""附件2 目标任务完成情况汇总表: the sending unit's row, for the six tasks 目标数/完成数/百分比.

A unit may send the whole city template with only its own row filled; the row is found by the unit's
name or alias in the 地区 column (`景 县` included), never by its position."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from parsers.cells import cell_text, column_letter, parse_count, parse_percent
from parsers.checks import percent_problem
from parsers.forms import TASK_LABELS, Problem, TaskFigures, fold
from parsers.recognize import find_unit
from parsers.records import TASKS
from parsers.sheet import Layout, Row, SheetContext, SheetResult

_TASKS = (
    ("college", re.compile(r"大学|高等院校")),
    ("barrier_free", re.compile(r"无障碍")),
    ("day_care", re.compile(r"托养")),
    ("rural_training", re.compile(r"培训|实用技术")),
    ("devices", re.compile(r"辅助器具|辅具")),
    ("rehab", re.compile(r"康复")),
)
_FIELDS = (
    ("percent", re.compile(r"百分比|比例|完成率|%")),
    ("target", re.compile(r"目标|任务数|计划")),
    ("done", re.compile(r"完成")),
)
_REGION = re.compile(r"地区|单位|县|区域|名称|市区")
_END = re.compile(r"^(?:备注|填表说明|说明|注[:：]|附注|填表人|填报人|审核人|负责人)")
_TOTALS = re.compile(r"合计|总计|全市|市级|小计")
_FIELD_NAMES = {"target": "目标数", "done": "完成数", "percent": "百分比"}


@dataclass(frozen=True)
class UnitRow:
    """One row of the table with numbers in it; unit None when its 地区 cell names no unit."""

    unit: str | None
    number: int
    cells: dict[tuple[str, str], object]  # (task, field) → raw cell value

    def has(self, field: str) -> bool:
        return any(value not in ("", None) for (_, name), value in self.cells.items() if name == field)


def _columns(labels: list[str]) -> tuple[int, dict[tuple[str, str], int]]:
    """The 地区 column and the column of each (task, field)."""
    region = next((i for i, label in enumerate(labels) if _REGION.search(label) and not _task_of(label)), None)
    found: dict[tuple[str, str], int] = {}
    for index, label in enumerate(labels):
        task = _task_of(label)
        field = next((name for name, pattern in _FIELDS if pattern.search(label)), None)
        if task and field and (task, field) not in found:
            found[(task, field)] = index
    if region is None:
        region = next((i for i, label in enumerate(labels) if label), 0)
    return region, found


def _task_of(label: str) -> str | None:
    return next((task for task, pattern in _TASKS if pattern.search(label)), None)


def read_summary(layout: Layout, data: Iterator[Row], ctx: SheetContext) -> SheetResult:
    region, columns = _columns(layout.labels)
    unit_rows: list[UnitRow] = []
    for number, row in enumerate(data, layout.first_row):
        label = fold(cell_text(row[region])) if region < len(row) else ""
        if _END.match(label):
            break
        cells = {key: row[index] for key, index in columns.items() if index < len(row)}
        if _TOTALS.search(label) or not any(value != "" for value in cells.values()):
            continue
        unit = find_unit(label, ctx.units) if label and len(label) <= 16 else None
        unit_rows.append(UnitRow(unit.name if unit else None, number, cells))
    result = SheetResult(layout.sheet, 2, None, layout.month)
    chosen = _choose(unit_rows, layout, ctx, result)
    if chosen is not None:
        result.unit = chosen.unit or layout.unit or ctx.sender_unit
        result.tasks = _figures(chosen, columns, layout, ctx, result.problems)
    return result


def _choose(rows: Sequence[UnitRow], layout: Layout, ctx: SheetContext, result: SheetResult) -> UnitRow | None:
    """The sender's row: the sending unit's, else the unit the title names, else the only filled row."""
    named = [row for row in rows if row.unit]
    filled = [row for row in named if row.has("done")] or named
    single = rows[0] if not named and len(rows) == 1 else None  # one row, its 地区 blank or 本单位
    result.rows = len(filled) if named else int(single is not None)
    wanted = ctx.sender_unit or layout.unit
    if wanted:
        chosen = next((row for row in named if row.unit == wanted), single)
    else:
        chosen = filled[0] if len(filled) == 1 else single
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
    if chosen is None and (wanted or not filled):
        who = wanted or "本单位"
        result.problems.append(
            Problem(
                layout.sheet,
                None,
                None,
                "unit-row-missing",
                f"附件2 中没有找到{who}填写了数字的一行；请在“地区”列写明单位名称，填写本单位的目标数、完成数和百分比",
            )
        )
    return chosen


def _figures(
    row: UnitRow, columns: dict[tuple[str, str], int], layout: Layout, ctx: SheetContext, problems: list[Problem]
) -> tuple[tuple[str, TaskFigures], ...]:
    letters = {key: column_letter(layout.col0 + index) for key, index in columns.items()}
    empty = [letters[key] for key, value in row.cells.items() if value == ""]
    formulas = ctx.formulas() if empty and ctx.formulas else frozenset()
    for letter in empty:
        if f"{letter}{row.number}" in formulas:
            problems.append(
                Problem(
                    layout.sheet,
                    row.number,
                    letter,
                    "formula-no-value",
                    f"单元格 {letter}{row.number} 是公式，但文件里没有保存计算结果；请用 Excel 或 WPS "
                    f"打开此文件，保存后重新发送（或把公式改为数字）",
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
                f"{TASK_LABELS[task]}的{_FIELD_NAMES[field]}“{cell_text(value)}”不是整数；请只填写数字",
            )
        )
    return number


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
