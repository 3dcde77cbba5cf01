"""From the sheets of one opened workbook to FormReadings: each sheet's table located and read, the
sheets holding one form (附件3's 7岁以上 and 0-6岁) merged into one reading, hidden sheets skipped."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain

import python_calamine as calamine

from parsers.cells import cell_text
from parsers.checks import duplicate_problems
from parsers.form_layouts import FORM_TITLES, form_from_name, resembling_form
from parsers.forms import FormReading, Problem
from parsers.months import UNDATED, month_in
from parsers.records import Unit, fold
from parsers.registry import read_registry
from parsers.sheet import FILL_ROW, HEADERLESS_ROWS, SheetContext, SheetResult, locate_table
from parsers.summary import read_summary

_TITLE_ROWS = 3  # non-empty rows looked at for the title of a workbook holding no form
_TITLE_SHOWN = 60  # characters of it quoted back


@dataclass(frozen=True)
class SheetSource:
    """A sheet as the workbook lists it, with what the pre-scan found."""

    name: str
    hidden: bool
    formulas: Callable[[], frozenset[str]] | None
    refused: Problem | None


def readings_of_sheets(
    source: str,
    filename: str,
    workbook: calamine.CalamineWorkbook,
    sheets: Sequence[SheetSource],
    units: tuple[Unit, ...],
    year: int,
    sender_unit: str | None,
) -> tuple[FormReading, ...]:
    name_form = form_from_name(filename)
    results: list[SheetResult] = []
    extra: list[Problem] = []
    unread: list[Problem] = []  # persons' rows on a sheet without a header, said beside the forms read
    for sheet in sheets:
        if sheet.refused is not None:
            extra.append(sheet.refused)
            continue
        ctx = SheetContext(units, year, sender_unit, name_form, sheet.formulas)
        result = _read_sheet(workbook, sheet.name, ctx)
        if result is None:
            continue
        if sheet.hidden:
            extra.append(_hidden(sheet.name, result.form))
            continue
        if [problem.code for problem in result.problems] == [HEADERLESS_ROWS]:
            unread.extend(result.problems)
            continue
        results.append(result)
    if not results and not extra:
        return (_unknown_form(source, filename, _first_title(workbook, sheets)),)
    return _readings(source, filename, results, [*extra, *unread] if results else extra, name_form)


def _read_sheet(workbook: calamine.CalamineWorkbook, name: str, ctx: SheetContext) -> SheetResult | None:
    sheet = workbook.get_sheet_by_name(name)
    start = sheet.start
    if start is None:
        return None
    located = locate_table(name, sheet.iter_rows(), start[1], sheet.merged_cell_ranges or (), ctx)
    if located is None or isinstance(located, SheetResult):
        return located
    layout, data = located
    return read_summary(layout, data, ctx) if layout.form == 2 else read_registry(layout, data, ctx)


def _hidden(sheet: str, form: int | None) -> Problem:
    what = f"附件{form}{FORM_TITLES[form]}" if form else "表格"
    return Problem(
        sheet,
        None,
        None,
        "hidden-sheet",
        f"工作表“{sheet}”是隐藏的，其中的{what}未读取；如需报送，请取消隐藏后重新发送，不需要就请删除该工作表",
    )


def _readings(
    source: str, filename: str, results: list[SheetResult], extra: list[Problem], name_form: int | None
) -> tuple[FormReading, ...]:
    groups: dict[int | None, list[SheetResult]] = {}
    for result in results:
        form = result.form if result.form is not None else result.training_hint
        groups.setdefault(form, []).append(result)
    if not groups and extra:
        readable = all(problem.code == "hidden-sheet" for problem in extra)
        return (FormReading(source, name_form, None, None, 0, problems=tuple(extra), readable=readable),)
    readings = []
    for form, every in groups.items():
        group, earlier, latest = _latest_month(every, sheet_names=form == 2)
        read = _summary_read(group) if form == 2 else group[0]
        extra.extend(_earlier_sheet(result, month, read, latest) for result, month in earlier)
        group, extra_sheets = _without_parts(group)
        extra.extend(_part_sheet(result, group[0]) for result in extra_sheets)
        label = source if len(groups) == 1 else f"{source} › {'、'.join(r.sheet for r in group)}"
        readings.append(_merge(label, form, group))
    first = readings[0]
    readings[0] = FormReading(
        first.source,
        first.form,
        first.unit,
        first.month,
        first.rows,
        first.tasks,
        first.persons,
        first.text,
        (*extra, *first.problems),
        first.readable,
    )
    return tuple(readings)


def _latest_month(
    group: list[SheetResult], sheet_names: bool = False
) -> tuple[list[SheetResult], list[tuple[SheetResult, str]], str | None]:
    """The sheets of one form that are its latest month's (and those naming none), the earlier months' sheets with
    their months, and the latest month: a workbook kept with a sheet per month (4月, 5月…) and sent each month
    reports its newest; read together, April's figures would pass for May's, and its persons for May's registered
    twice. The months are the titles', else, with `sheet_names` (附件2's figures, cumulative by definition; a registry's
    sheets named 1-6月 and 7-9月 may each hold their months' persons), when the titles name fewer than two, the
    sheets' names (9月, 10月 with one title copied on each). At the year's turn a January workbook may keep
    December's sheet: the latest is the month the others lead up to, not the larger number (_month_order)."""
    months = [result.month for result in group]
    if sheet_names and len(set(filter(None, months))) < 2:
        named_by_sheet = [month_in(result.sheet, UNDATED) for result in group]
        months = named_by_sheet if len(set(filter(None, named_by_sheet))) > 1 else months
    named = {month for month in months if month}
    if len(named) < 2:
        return group, [], None
    order = _month_order(named)
    latest = max(order.values())
    newest = [month is None or order[month] == latest for month in months]
    earlier = [(result, month) for result, month, new in zip(group, months, newest) if not new and month]
    return [r for r, new in zip(group, newest) if new], earlier, next(m for m in named if order[m] == latest)


def _month_order(months: set[str]) -> dict[str, str]:
    """A key of each month that sorts them in time. Months with their years sort as they are; when any has none
    (read as UNDATED, placed later by the mail's arrival), the year's turn is found as month_near finds it, by
    how months lead up to one another: the latest is the month the others come closest before, counted back
    around the year ("12月" and "1月": January, its December one month before; the larger on a tie)."""
    if not any(month.startswith(f"{UNDATED:04d}-") for month in months):
        return {month: month for month in months}
    numbers = {int(month[5:]) for month in months}
    last = min(sorted(numbers, reverse=True), key=lambda n: max((n - other) % 12 for other in numbers))
    return {month: f"{(int(month[5:]) - last - 1) % 12:02d}" for month in months}


def _without_parts(group: list[SheetResult]) -> tuple[list[SheetResult], list[SheetResult]]:
    """A registry's sheets but those another sheet holds whole: a 全县汇总 sheet beside a sheet per township
    lists every person twice (or two copies of one sheet do), and read together each would be a duplicate to
    delete. The sheet holding every other sheet's persons is read; the others are named as not read."""
    keys = [{key for key in result.id_keys if key} for result in group]
    if len(group) < 2 or not all(keys):
        return group, []
    for n, result in enumerate(group):
        if keys[n] == set().union(*(keys[:n] + keys[n + 1 :])):
            return [result], [other for other in group if other is not result]
    return group, []


def _part_sheet(result: SheetResult, read: SheetResult) -> Problem:
    return Problem(
        result.sheet,
        None,
        None,
        "part-sheet",
        f"工作表“{result.sheet}”中的人员都已在工作表“{read.sheet}”中，未重复计入：本表按“{read.sheet}”读取；"
        "报送时只保留汇总的一张或只保留分开的几张即可",
    )


def _earlier_sheet(result: SheetResult, month: str, read: SheetResult, latest: str | None) -> Problem:
    return Problem(
        result.sheet,
        None,
        None,
        "earlier-month-sheet",
        f"工作表“{result.sheet}”是{_month_text(month)}的，未读取：本表按最新的{_month_text(latest)}"
        f"（工作表“{read.sheet}”）读取；以前月份的工作表不需要报送，可以删除",
    )


def _summary_read(group: list[SheetResult]) -> SheetResult:
    """Of 附件2's sheets of one month (or naming none), the one read: the last giving figures (a draft sheet beside
    the final, a copied sheet, 汇总表 (2): the newest), where the first was read silently; the first giving figures
    when they are different units' (a sheet per county: the sender's is the one with its row)."""
    filled = [result for result in group if result.tasks]
    if not filled:
        return group[0]
    return filled[-1] if len({result.unit for result in filled}) == 1 else filled[0]


def _other_summary_sheets(group: list[SheetResult], read: SheetResult) -> list[Problem]:
    """The other sheets of 附件2 of one month (or naming none) with other 完成数 than the sheet read, said, with
    which was read; none when they are other units'."""
    if len({result.unit for result in group if result.tasks}) > 1:
        return []
    figures = {task: each.done for task, each in read.tasks}
    others = [r.sheet for r in group if r.tasks and r is not read and {t: f.done for t, f in r.tasks} != figures]
    if not others:
        return []
    sheets = "、".join(f"“{sheet}”" for sheet in (*others, read.sheet))
    return [
        Problem(
            read.sheet,
            None,
            None,
            "summary-sheets",
            f"工作表{sheets}都是附件2，完成数不同，已按最后一张（“{read.sheet}”）读取；"
            "请只保留本月的一张工作表，其他的删除",
        )
    ]


def _month_text(month: str | None) -> str:
    if not month:
        return "未写明月份"
    year, number = month.split("-")
    return f"{int(number)}月" if year == f"{UNDATED:04d}" else f"{year}年{int(number)}月"


def _first_title(workbook: calamine.CalamineWorkbook, sheets: Sequence[SheetSource]) -> str | None:
    """The first visible sheet's title: among its first non-empty rows, the first that is one or two cells
    of words (a merged title cell), not a bare "附件3" mark or a 填报单位 row."""
    for sheet in sheets:
        if sheet.hidden:
            continue
        rows = (row for row in workbook.get_sheet_by_name(sheet.name).iter_rows() if any(v != "" for v in row))
        for row in itertools.islice(rows, _TITLE_ROWS):
            cells = [cell_text(v).strip() for v in row if v != ""]
            text = "".join(cells)
            if len(cells) <= 2 and len(fold(text)) >= 6 and not FILL_ROW.search(text):
                return " ".join(text.split())[:_TITLE_SHOWN]
    return None


def _unknown_form(source: str, filename: str, title: str | None) -> FormReading:
    """A workbook holding no form: what its title says and which form it resembles, if any."""
    if title is None:
        message = (
            f"“{filename}”中没有找到附件2–10 的任何表格（没有标题行，也没有“姓名”“残疾人证号”等表头）；"
            f"请使用下发的模板，在第一行写明表名（如“XX县残联4月份康复服务实名制登记表”）后重新发送"
        )
    elif (form := resembling_form(title)) is not None:
        message = (
            f"“{filename}”的标题是“{title}”，与附件{form}{FORM_TITLES[form]}相近，但标题和表头都与模板不符"
            f"（没有找到“姓名”“残疾人证号”等表头），未能读取；如是附件{form}，请使用下发的附件{form}模板后重新发送"
        )
    else:
        message = (
            f"“{filename}”的标题是“{title}”，不是附件2–10 中的任何一张表，未读取；如是本月应报的表格，"
            f"请使用下发的模板，在第一行写明表名（如“XX县残联4月份康复服务实名制登记表”）后重新发送"
        )
    return FormReading(source, None, None, None, 0, problems=(Problem(None, None, None, "unknown-form", message),))


def _merge(source: str, form: int | None, group: list[SheetResult]) -> FormReading:
    """One reading from the sheets holding one form; duplicates are looked for across all of them. Of 附件2's
    sheets, the last giving figures is read (a blank template sheet beside it says nothing)."""
    problems: list[Problem] = []
    if form == 2 and any(r.tasks for r in group):  # one unit's row: its figures, unit and month from one sheet
        read = _summary_read(group)
        problems, group = _other_summary_sheets(group, read), [read]
    problems += [problem for result in group for problem in result.problems]
    persons = tuple(chain.from_iterable(result.persons for result in group))
    if form not in (None, 2):
        id_keys = list(chain.from_iterable(result.id_keys for result in group))
        problems.extend(duplicate_problems(persons, id_keys, form, group[0].columns))
    if form is None:
        problems.append(
            Problem(
                group[0].sheet,
                None,
                None,
                "unknown-form",
                "无法判断这张表是附件5（农村实用技术培训）还是附件6（职业技能培训），两者表头相同；"
                "请在表格第一行写明表名后重新发送",
            )
        )
    unit = next((r.unit for r in group if r.unit), None)
    month = next((r.month for r in group if r.month), None)
    tasks = next((r.tasks for r in group if r.tasks), ())
    rows = sum(r.rows for r in group) if form != 2 else max(r.rows for r in group)
    return FormReading(source, form, unit, month, rows, tasks, persons, "", tuple(problems), True)
