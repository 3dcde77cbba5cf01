"""Workbooks we write (openpyxl): they must open cleanly in WPS and Excel, Chinese text and all.

Plain values only: no formulas (openpyxl cannot store their results, so some viewers and our own reader
would see blanks), no tables or data validation (WPS handles them poorly), the default font.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from bot.config import Config
from bot.outgoing.digest import NOT_KEPT, STATUS_LABELS, SUMMARY_HEADINGS, Digest, clock
from bot.outgoing.render import date_text, date_time_text, deadline_text
from bot.services.scores import Kept, standings_json
from scoring.completion import UnitCompletion
from scoring.standings import COMPONENT_LABELS, Standings

BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
# Excel's own 好 / 中性 / 差 colours, which WPS shows alike.
STATUS_FILLS = {
    "on_time": PatternFill("solid", fgColor="C6EFCE"),
    "late": PatternFill("solid", fgColor="FFEB9C"),
    "missing": PatternFill("solid", fgColor="FFC7CE"),
}
STATUS_FONTS = {"on_time": Font(color="006100"), "late": Font(color="9C5700"), "missing": Font(color="9C0006")}
PENDING_FILL = PatternFill("solid", fgColor="EEEEEE")
# What a grey blank means, in every workbook that shows a component not yet scored (the command line's "—").
PENDING_NOTE = "灰色空白：该项尚未到评分时间（计 0 分）"
# The digest's bars in the mail are this blue; the workbook's chart is drawn alike.
BAR_COLOUR = "4472C4"
PERCENT = "0.00%"
CHANGE = "+0;-0;0"


def write_shown_standings(path: Path | BytesIO, config: Config, result: Standings, kept: Kept | None) -> None:
    """The month's standings as shown (a closed year's as kept, with what today's figures would change), written
    as `mailroom standings --xlsx` and the web's 下载 Excel 表格 give them."""
    write_standings(path, standings_json(result, kept), kept.lines(config) if kept else ())


def write_standings(path: Path | BytesIO, data: dict[str, Any], notes: Sequence[str] = ()) -> None:
    """The standings of one month (`mailroom standings --json`'s data): rank, unit, total and every component,
    frozen header, sized columns. A component not yet scored (None) is a grey blank, explained below the
    table as in the digest: a 0 there would read as points lost. `notes` go below it too (a closed year's:
    when it was closed, and what today's figures would change)."""
    book = Workbook()
    sheet = book.active
    sheet.title = f"{data['month']} 排名"
    names = list(data["units"][0]["components"]) if data["units"] else list(COMPONENT_LABELS)
    sheet.append([f"{data['month']} 残疾人服务工程督导累计得分排名"])
    sheet.append(["名次", "单位", "总分", *(COMPONENT_LABELS[name] for name in names)])
    for row in data["units"]:
        sheet.append([row["rank"], row["unit"], row["total"], *(row["components"][name] for name in names)])
        for cell in sheet[sheet.max_row][3:]:
            if cell.value is None:
                cell.fill = PENDING_FILL
    sheet.append([f"{PENDING_NOTE}；总分相同名次并列。"])
    for note in notes:
        sheet.append([note])
    sheet["A1"].font = TITLE
    for cell in sheet[2]:
        cell.font = BOLD
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    sheet.freeze_panes = "C3"
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 12
    for index in range(3, 4 + len(names)):
        sheet.column_dimensions[sheet.cell(row=2, column=index).column_letter].width = 14
    _one_page_wide(sheet)
    book.save(path)


def digest_workbook(digest: Digest) -> bytes:
    """The digest's workbook: 排名 (with a bar chart of the totals), 报送情况, the city-wide 附件2 roll-up,
    简报 and 数据核查 (personal numbers already masked in the digest). A closed year's month says below its
    tables what the digest says: the kept figures' note, and that the last three sheets were not kept."""
    book = Workbook()
    book.properties.title = f"{_ranking_of(digest)}残疾人服务工程督导{'最终' if digest.final_year else ''}排名"
    book.properties.creator = "mailroom"
    _ranking_sheet(book.active, digest)
    _matrix_sheet(book.create_sheet("报送情况"), digest)
    _rollup_sheet(book.create_sheet("全市目标任务进展情况"), digest)
    _briefing_sheet(book.create_sheet("简报"), digest)
    _findings_sheet(book.create_sheet("数据核查"), digest)
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _ranking_of(digest: Digest) -> str:
    """Whose ranking the workbook is: the month's, or for a year's final ranking the year's."""
    return f"{digest.final_year}年度" if digest.final_year is not None else digest.month_label


def _title(sheet: Worksheet, text: str, width: int, row: int = 1) -> None:
    sheet.cell(row=row, column=1, value=text).font = TITLE
    sheet.cell(row=row, column=1).alignment = CENTER
    sheet.merge_cells(start_row=row, end_row=row, start_column=1, end_column=width)
    sheet.row_dimensions[row].height = 24


def _header(sheet: Worksheet, row: int, labels: Sequence[str], height: float = 30) -> None:
    for column, label in enumerate(labels, start=1):
        _boxed(sheet.cell(row=row, column=column, value=label), BOLD, CENTER).fill = HEADER_FILL
    sheet.row_dimensions[row].height = height


def _boxed(cell, font: Font | None = None, alignment: Alignment = CENTER):
    cell.border = BOX
    cell.alignment = alignment
    if font is not None:
        cell.font = font
    return cell


def _widths(sheet: Worksheet, widths: Sequence[float]) -> None:
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width


def _one_page_wide(sheet: Worksheet, landscape: bool = True) -> None:
    """Printed on one page across and as many pages down as it takes, as staff print the tables for meetings:
    without fitToWidth Excel, WPS and LibreOffice cut the columns onto pages of their own. A4, landscape
    unless the table is narrow enough for portrait."""
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def _ranking_sheet(sheet: Worksheet, digest: Digest) -> None:
    sheet.title = "排名"
    labels = (
        [
            "名次",
            "单位",
            "总分",
            *(COMPONENT_LABELS[c.name] for c in digest.standings[0].components),
            "总分较上月",
            "上月名次",
        ]
        if digest.standings
        else ["名次", "单位", "总分"]
    )
    final = "全年最终结果，" if digest.final_year else ""
    _title(
        sheet,
        f"{_ranking_of(digest)}残疾人服务工程督导累计得分排名（{final}截至{date_text(digest.as_of)}）",
        len(labels),
    )
    _header(sheet, 2, labels, 45)
    for row, line in enumerate(digest.standings, start=3):
        values = [
            line.rank,
            line.unit,
            line.total,
            *(c.points if c.closed else None for c in line.components),
            line.total_change,
            line.previous_rank,
        ]
        for column, value in enumerate(values, start=1):
            cell = _boxed(sheet.cell(row=row, column=column, value=value), BOLD if column == 3 else None)
            cell.alignment = LEFT if column == 2 else CENTER
        sheet.cell(row=row, column=len(labels) - 1).number_format = CHANGE
        for offset, component in enumerate(line.components):
            if not component.closed:
                sheet.cell(row=row, column=4 + offset).fill = PENDING_FILL
    end = 2 + len(digest.standings)  # the table's last row
    sheet.cell(
        row=end + 1,
        column=1,
        value=f"{PENDING_NOTE}；总分相同名次并列；“总分较上月”“上月名次”与上月末的排名相比。",
    )
    last = _notes(sheet, end + 2, digest.closed) - 1  # a closed year's note below the legend: the last text row
    _widths(sheet, [6, 12, 8] + [11] * (len(labels) - 5) + [11, 9])
    sheet.freeze_panes = "C3"
    _one_page_wide(sheet)
    if digest.standings:
        # The chart prints on a page of its own, after a manual break under the notes: 11 cm below thirteen
        # units is more than a landscape A4 page holds, and the chart was cut across two. A manual row break
        # holds in fit-to-width printing because the height is left free (fitToHeight 0; tested in LibreOffice).
        sheet.row_breaks.append(Break(id=last))
        sheet.add_chart(_totals_chart(sheet, end, digest.full_marks), f"A{last + 1}")


def _totals_chart(sheet: Worksheet, end: int, full_marks: int) -> BarChart:
    """A native column chart of the totals, one bar per unit in rank order, on the scale of the year's full
    marks as the HTML digest's bars (an axis ending at the best total makes every unit look near the top)."""
    chart = BarChart()
    chart.type = "col"
    chart.title = "累计总分"
    chart.y_axis.title = "分"
    chart.legend = None
    chart.add_data(Reference(sheet, min_col=3, min_row=2, max_row=end), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=2, min_row=3, max_row=end))
    chart.x_axis.delete = False  # openpyxl 3.1 hides both axes unless told
    chart.y_axis.delete = False
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = full_marks
    chart.series[0].graphicalProperties.solidFill = BAR_COLOUR
    chart.series[0].graphicalProperties.line.solidFill = BAR_COLOUR
    chart.width, chart.height = 26, 11
    return chart


def _matrix_sheet(sheet: Worksheet, digest: Digest) -> None:
    labels = ["单位", "本月", *(f"附件{form}" for form in digest.forms)]
    _title(sheet, f"{digest.month_label}报送情况", len(labels))
    sheet.cell(
        row=2,
        column=1,
        value=(
            f"截止时间 {deadline_text(digest.deadline, digest.timezone)}；"
            f"报送情况统计截至 {date_time_text(digest.matrix_known, digest.timezone)}。图例："
        ),
    )
    sheet.merge_cells(start_row=2, end_row=2, start_column=1, end_column=min(len(labels), 6))
    for offset, status in enumerate(("on_time", "late", "missing")):
        _status_cell(sheet.cell(row=2, column=min(len(labels), 6) + 1 + offset), status, STATUS_LABELS[status])
    _header(sheet, 3, labels, 20)
    for row, package in enumerate(digest.matrix, start=4):
        _boxed(sheet.cell(row=row, column=1, value=package.unit), alignment=LEFT)
        _status_cell(sheet.cell(row=row, column=2), package.status, STATUS_LABELS[package.status]).font = Font(
            bold=True, color=STATUS_FONTS[package.status].color
        )
        for column, form in enumerate(package.forms, start=3):
            text = STATUS_LABELS[form.status]
            if form.arrival is not None:
                text += f"\n{clock(form.arrival, digest.timezone, deadline=digest.deadline)}"
            _status_cell(sheet.cell(row=row, column=column), form.status, text)
        sheet.row_dimensions[row].height = 30
    _notes(sheet, 4 + len(digest.matrix), digest.matrix_closed)
    _widths(sheet, [12, 8] + [12] * len(digest.forms))
    sheet.freeze_panes = "B4"
    _one_page_wide(sheet)


def _notes(sheet: Worksheet, row: int, lines: Sequence[str]) -> int:
    """`lines` one a row from `row`; the first row after them."""
    for offset, line in enumerate(lines):
        sheet.cell(row=row + offset, column=1, value=line)
    return row + len(lines)


def _not_kept(sheet: Worksheet, row: int, digest: Digest) -> None:
    """A closed year's sheet its closing did not keep says so (the digest's sections 三–五)."""
    if digest.closed:
        sheet.cell(row=row, column=1, value=f"{NOT_KEPT}。")


def _status_cell(cell, status: str, text: str):
    cell.value = text
    cell.fill = STATUS_FILLS[status]
    return _boxed(cell, STATUS_FONTS[status])


def _rollup_sheet(sheet: Worksheet, digest: Digest) -> None:
    """The 附件2 layout for the whole city: title, 填报单位 row, task names merged over 目标数/完成数/百分比,
    one row per unit, 合计, a note."""
    tasks = [figure.task for figure in digest.completion_total.tasks]
    width = 1 + 3 * len(tasks)
    _title(sheet, f"全市目标任务进展情况报告（截至{date_text(digest.as_of)}）", width)
    sheet.cell(row=2, column=1, value="填报单位：市残联（汇总）")
    sheet.merge_cells(start_row=2, end_row=2, start_column=1, end_column=width - 3)
    sheet.cell(row=2, column=width - 2, value=date_text(digest.generated))
    sheet.merge_cells(start_row=2, end_row=2, start_column=width - 2, end_column=width)
    _header(sheet, 3, ["地区"], 48)
    _header(sheet, 4, [""], 20)
    sheet.merge_cells(start_row=3, end_row=4, start_column=1, end_column=1)
    for index, task in enumerate(tasks):
        first = 2 + 3 * index
        for offset, label in enumerate(("目标数", "完成数", "百分比")):
            _boxed(sheet.cell(row=3, column=first + offset), BOLD).fill = HEADER_FILL
            _boxed(sheet.cell(row=4, column=first + offset, value=label), BOLD).fill = HEADER_FILL
        sheet.cell(row=3, column=first, value=SUMMARY_HEADINGS[task])
        sheet.merge_cells(start_row=3, end_row=3, start_column=first, end_column=first + 2)
    for row, unit in enumerate((*digest.completion, digest.completion_total), start=5):
        _rollup_row(sheet, row, unit, bold=unit is digest.completion_total)
    note = 6 + len(digest.completion)
    sheet.cell(
        row=note,
        column=1,
        value="备注：目标数为市残联下达的全年目标；完成数为各单位截至月底最后一份附件2的累计数，"
        "未报送附件2的单位计 0；目标为 0 的任务百分比记“/”。",
    )
    sheet.merge_cells(start_row=note, end_row=note, start_column=1, end_column=width)
    sheet.cell(row=note, column=1).alignment = LEFT
    sheet.row_dimensions[note].height = 30
    _not_kept(sheet, note + 1, digest)
    _widths(sheet, [12] + [8, 8, 9] * len(tasks))
    sheet.freeze_panes = "B5"
    _one_page_wide(sheet)


def _rollup_row(sheet: Worksheet, row: int, unit: UnitCompletion, bold: bool) -> None:
    font = BOLD if bold else None
    _boxed(sheet.cell(row=row, column=1, value=unit.unit), font)
    for index, figure in enumerate(unit.tasks):
        first = 2 + 3 * index
        # 6 decimals: Excel keeps 15 significant digits, and the cell shows 0.00% anyway.
        share: float | str = "/" if figure.share is None else round(figure.share, 6)
        for offset, value in enumerate((figure.target, figure.done, share)):
            _boxed(sheet.cell(row=row, column=first + offset, value=value), font)
        sheet.cell(row=row, column=first + 2).number_format = PERCENT


def _briefing_sheet(sheet: Worksheet, digest: Digest) -> None:
    _title(sheet, f"{digest.month_label}简报信息报送篇数", 3)
    _header(sheet, 2, ["单位", "本月篇数", f"达标（≥{digest.briefing_target} 篇）"])
    for row, line in enumerate(digest.briefings, start=3):
        _boxed(sheet.cell(row=row, column=1, value=line.unit), alignment=LEFT)
        _boxed(sheet.cell(row=row, column=2, value=line.count))
        if digest.briefing_scored:
            _status_cell(
                sheet.cell(row=row, column=3), "on_time" if line.met else "missing", digest.briefing_verdict(line)
            )
        else:
            _boxed(sheet.cell(row=row, column=3, value="本月不计分"))
    sheet.cell(
        row=3 + len(digest.briefings),
        column=1,
        value="按到达时间计数，只计登记邮箱发来的稿件，同一篇重复发送只计一次。",
    )
    _not_kept(sheet, 4 + len(digest.briefings), digest)
    _widths(sheet, [12, 10, 16])
    sheet.freeze_panes = "A3"
    _one_page_wide(sheet, landscape=False)


def _findings_sheet(sheet: Worksheet, digest: Digest) -> None:
    # the findings of the plan year so far (bot.outgoing.digest), not of the month alone
    shown = f"{digest.final_year}年度" if digest.final_year is not None else f"截至{digest.month_label}的"
    _title(sheet, f"{shown}数据核查发现（不改变得分；证号、电话已部分隐去）", 4)
    _header(sheet, 2, ["单位", "类别", "情况", "邮件编号"])
    for row, finding in enumerate(digest.findings, start=3):
        values = (finding.unit, finding.label, finding.message, "、".join(f"#{i}" for i in finding.message_ids))
        for column, value in enumerate(values, start=1):
            _boxed(sheet.cell(row=row, column=column, value=value), alignment=LEFT)
    if not digest.findings:
        sheet.cell(row=3, column=1, value="截至本月没有发现问题。")
    _not_kept(sheet, 4 + len(digest.findings), digest)
    _widths(sheet, [12, 22, 80, 14])
    sheet.freeze_panes = "A3"
    _one_page_wide(sheet)
