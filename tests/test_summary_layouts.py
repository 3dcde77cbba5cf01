"""附件2 as units really lay it out: broken down by town with a 合计 row, 本月 and 累计 columns side by
side, and header words other than the template's 目标数/完成数/百分比 (parsers/summary.py)."""

from __future__ import annotations

import openpyxl
import pytest

from parsers.forms import FormReading
from parsers.months import UNDATED
from parsers.workbook import read_attachment
from tests.data.workbooks.make_workbooks import TARGETS, TASK_HEADERS, figures, save, summary_sheet
from tests.test_workbooks import UNITS

JING_TITLE = "景县残联2020年4月份目标任务完成情况汇总表"
JING_TOTAL = ("合计", figures((233, 100, "42.9%"), (115, 50, "43.5%")))


def read_one(data: bytes, sender_unit: str | None = None) -> FormReading:
    readings = read_attachment("附件2.xlsx", data, UNITS, sender_unit=sender_unit)
    assert len(readings) == 1, readings
    return readings[0]


def summary_book(title: str, rows: list[tuple[str, tuple]]) -> bytes:
    """The template's layout (make_workbooks.summary_sheet) with the given 地区 rows."""
    wb = openpyxl.Workbook()
    summary_sheet(wb.active, title, rows)
    return save(wb)


def sub_labelled_book(subs: tuple[str, ...], values: tuple, tasks: int = 5) -> bytes:
    """景县's one row under `tasks` task headers, each merged over the sub-headers subs (row 4)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "景县残联2020年5月份目标任务完成情况汇总表"
    ws["A3"] = "地区"
    ws.merge_cells("A3:A4")
    width = len(subs)
    for index, header in enumerate(TASK_HEADERS[:tasks]):
        first = 2 + width * index
        ws.cell(3, first, header)
        ws.merge_cells(start_row=3, start_column=first, end_row=3, end_column=first + width - 1)
        for offset, sub in enumerate(subs):
            ws.cell(4, first + offset, sub)
    for index, value in enumerate(("景县", *values)):
        ws.cell(5, 1 + index, value)
    return save(wb)


def codes(reading: FormReading) -> list[str]:
    return [problem.code for problem in reading.problems]


# ---------------------------------------------------------------------------------------------
# Towns, 合计 rows and the county's own row


def test_towns_named_like_their_county_are_not_its_row():
    """GIVEN 枣强县's 附件2 broken down by town (枣强镇 sounds like 枣强县) plus a 合计 row
    WHEN it is read THEN the 合计 row is the county's: 完成数 290 and 60, not the town's 150."""
    reading = read_one(
        summary_book(
            "枣强县残联2020年6月份目标任务完成情况汇总表",
            [
                ("枣强镇", (None, 150, None, None, 30)),
                ("恩察镇", (None, 140, None, None, 30)),
                ("合计", (573, 290, "50.6%", 115, 60, "52.2%")),
            ],
        )
    )
    assert (reading.unit, reading.rows) == ("枣强县", 1)
    assert (reading.done["rehab"], reading.done["devices"]) == (290, 60)
    assert dict(reading.tasks)["rehab"].row == 8
    assert reading.problems == ()


@pytest.mark.parametrize("sender_unit", [None, "景县"])
def test_towns_and_a_total_row_without_the_county_row(sender_unit):
    """GIVEN towns not named like the county and a 合计 row, no row naming 景县
    WHEN it is read, with or without --unit 景县 THEN the 合计 row gives 景县's figures."""
    data = summary_book(JING_TITLE, [("王瞳镇", (None, 40, None, None, 20)), ("广川镇", (None, 60)), JING_TOTAL])
    reading = read_one(data, sender_unit=sender_unit)
    assert reading.unit == "景县"
    assert (reading.done["rehab"], reading.done["devices"]) == (100, 50)
    assert reading.problems == ()


def test_a_row_labelled_county_total_is_the_countys_row():
    reading = read_one(summary_book(JING_TITLE, [("景县合计", JING_TOTAL[1])]), sender_unit="景县")
    assert (reading.unit, reading.rows, reading.done["rehab"]) == ("景县", 1, 100)
    assert reading.problems == ()


def test_county_row_then_its_towns_is_one_unit_not_several():
    """GIVEN 景县's row, then 其中：景州镇 (景州 is 景县's alias) and 景县龙华镇
    WHEN it is read THEN 景县's row is read and no 'several units' problem is raised."""
    rows = [
        ("景县", JING_TOTAL[1]),
        ("其中：景州镇", (None, 60, None, None, 30)),
        ("景县龙华镇", (None, 40, None, None, 20)),
    ]
    reading = read_one(summary_book(JING_TITLE, rows))
    assert (reading.unit, reading.rows, reading.done["rehab"]) == ("景县", 1, 100)
    assert dict(reading.tasks)["rehab"].row == 6
    assert reading.problems == ()


def test_a_units_old_row_kept_above_its_new_one_is_said_and_the_new_one_read():
    """GIVEN 景县's 附件2 with last month's row kept (hidden, filtered out or not) above this month's WHEN read
    THEN the last row is read and the clerk told there are two with other figures: the first was read silently;
    the same figures twice (景县, 景县合计) say nothing."""
    old = ("景县", figures((233, 90, "38.6%"), (115, 40, "34.8%")))
    new = ("景县", figures((233, 100, "42.9%"), (115, 50, "43.5%")))
    reading = read_one(summary_book(JING_TITLE, [old, new]))
    assert (reading.done["rehab"], reading.done["devices"]) == (100, 50)
    [problem] = reading.problems
    assert problem.code == "unit-rows" and problem.row == dict(reading.tasks)["rehab"].row
    assert (
        f"第 {problem.row - 1}、{problem.row} 行），数字不同，已按最后一行（第 {problem.row} 行）读取"
        in problem.message
    )
    assert read_one(summary_book(JING_TITLE, [new, ("景县合计", new[1])])).problems == ()


@pytest.mark.parametrize(
    ("sheets", "title"),
    [
        (("9月", "10月"), "景县残联目标任务完成情况汇总表"),
        (("汇总表", "汇总表 (2)"), JING_TITLE),
        (("汇总表", "Sheet2"), ""),
    ],
)
def test_two_summary_sheets_read_the_newest_and_say_so(sheets, title):
    """GIVEN 景县's 附件2 on two sheets with other figures: a sheet per month named 9月 and 10月 under one title
    naming no month, a sheet and its copy 汇总表 (2), or a blank template before the filled one WHEN read THEN
    the last sheet's figures are read, and what was set aside said (the first was read silently; the blank
    template's missing row was the only problem told)."""
    old = ("景县", figures((233, 90, "38.6%"), (115, 40, "34.8%")))
    new = ("景县", figures((233, 100, "42.9%"), (115, 50, "43.5%")))
    wb = openpyxl.Workbook()
    first = wb.active
    first.title = sheets[0]
    summary_sheet(first, title or JING_TITLE, [old] if title else [])
    summary_sheet(wb.create_sheet(sheets[1]), title or JING_TITLE, [new])
    reading = read_one(save(wb))
    assert (reading.done["rehab"], reading.done["devices"]) == (100, 50)
    said = {problem.code: problem.message for problem in reading.problems}
    if sheets[0] == "9月":
        assert said == {"earlier-month-sheet": said["earlier-month-sheet"]}
        assert said["earlier-month-sheet"].startswith(
            "工作表“9月”是9月的，未读取：本表按最新的10月（工作表“10月”）读取"
        )
    elif title:
        assert said == {"summary-sheets": said["summary-sheets"]}
        assert "“汇总表”、“汇总表 (2)”都是附件2，完成数不同，已按最后一张（“汇总表 (2)”）读取" in said["summary-sheets"]
    else:
        assert said == {}


def test_a_sheet_per_county_is_not_two_copies_of_one():
    """GIVEN the city's template kept as a sheet per county (景县's, then 桃城区's, each its own row) WHEN read, as
    `inspect` reads it without a unit THEN the first county's sheet is read and nothing says the sheets are copies
    with other figures, as two sheets of one unit's are (review)."""
    wb = openpyxl.Workbook()
    jing = wb.active
    jing.title = "景县"
    summary_sheet(jing, JING_TITLE, [("景县", figures((233, 100, "42.9%"), (115, 50, "43.5%")))])
    tao = ("桃城区", figures((300, 120, "40%"), (100, 40, "40%")))
    summary_sheet(wb.create_sheet("桃城区"), "桃城区残联2020年4月份目标任务完成情况汇总表", [tao])
    reading = read_one(save(wb))
    assert (reading.unit, reading.done["rehab"]) == ("景县", 100)
    assert "summary-sheets" not in codes(reading)


def test_towns_only_is_a_missing_county_row():
    reading = read_one(summary_book(JING_TITLE, [("王瞳镇", (None, 40)), ("广川镇", (None, 60))]))
    assert reading.tasks == ()
    assert codes(reading) == ["unit-row-missing"]
    assert "景县" in reading.problems[0].message and "乡镇" in reading.problems[0].message


@pytest.mark.parametrize("sender_unit", [None, "景县"])
def test_a_title_naming_another_unit_than_the_only_row(sender_unit):
    """GIVEN 景县's 附件2 made from 枣强县's file: the title still names 枣强县, the one row filled is 景县's
    WHEN it is read without a sender (as `inspect` reads it) THEN 景县's row is read and the title is named as
    what to correct, where the clerk was told no row of 枣强县 was there and to fix the 地区 column, which is
    right; with 景县 as the sender its row is read as before."""
    data = summary_book("枣强县残联2020年4月份目标任务完成情况汇总表", [("景县", JING_TOTAL[1])])
    reading = read_one(data, sender_unit=sender_unit)
    assert (reading.unit, reading.rows, reading.done["rehab"]) == ("景县", 1, 100)
    if sender_unit is None:
        [problem] = reading.problems
        assert (problem.code, problem.row) == ("title-unit", 6)  # the template: mark, title, 填报单位, two header rows
        assert "标题写的单位是枣强县" in problem.message and "已按景县读取" in problem.message
    else:
        assert reading.problems == ()


def city_roll_up() -> bytes:
    """Every unit's row filled (完成数 half its target) and a 合计 row: the city's own file."""
    rows = [(unit, figures(*((target, target // 2, None) for target in targets))) for unit, targets in TARGETS.items()]
    totals = [sum(column) for column in zip(*TARGETS.values())]
    rows.append(("合计", figures(*((target, target // 2, None) for target in totals))))
    return summary_book("2020年4月份目标任务完成情况汇总表", rows)


def test_city_roll_up_reads_the_units_own_row_never_the_total():
    reading = read_one(city_roll_up(), sender_unit="景县")
    assert (reading.unit, reading.done["rehab"]) == ("景县", 116)
    assert codes(reading) == ["several-units"]


def test_city_roll_up_without_a_sender_reads_nothing():
    reading = read_one(city_roll_up())
    assert reading.tasks == ()
    assert codes(reading) == ["several-units"]
    assert f"填写了 {len(TARGETS)} 个单位" in reading.problems[0].message


# ---------------------------------------------------------------------------------------------
# 本月 and 累计 columns


JING_FIVE = (233, 15, 100, "42.9%", 115, 8, 50, "43.5%", 88, 5, 30, "34.1%", 48, 2, 20, "41.7%", 32, 1, 10, "31.3%")


def test_cumulative_column_wins_over_this_months():
    """GIVEN each task over 目标数 | 本月完成数 | 累计完成数 | 百分比 WHEN read THEN 完成数 is the 累计 one."""
    reading = read_one(sub_labelled_book(("目标数", "本月完成数", "累计完成数", "百分比"), JING_FIVE))
    rehab = dict(reading.tasks)["rehab"]
    assert (rehab.target, rehab.done, rehab.percent) == (233, 100, 42.9)
    assert (rehab.target_column, rehab.done_column, rehab.percent_column) == ("B", "D", "E")
    assert reading.done["barrier_free"] == 10
    assert reading.problems == ()


def test_done_merged_over_this_month_and_cumulative():
    """GIVEN 目标数 and 百分比 merged down on their own and 完成数 merged over 当月 | 累计
    WHEN read THEN 完成数 is the 累计 column and the lone 百分比 column is its task's."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "景县残联2020年5月份目标任务完成情况汇总表"
    ws["A2"] = "地区"
    ws.merge_cells("A2:A3")
    for index, header in enumerate(TASK_HEADERS[:5]):
        first = 2 + 4 * index
        ws.cell(2, first, f"{header}目标数")
        ws.merge_cells(start_row=2, start_column=first, end_row=3, end_column=first)
        ws.cell(2, first + 1, f"{header}完成数")
        ws.merge_cells(start_row=2, start_column=first + 1, end_row=2, end_column=first + 2)
        ws.cell(3, first + 1, "当月")
        ws.cell(3, first + 2, "累计")
        ws.cell(2, first + 3, "百分比")
        ws.merge_cells(start_row=2, start_column=first + 3, end_row=3, end_column=first + 3)
    for index, value in enumerate(("景县", *JING_FIVE)):
        ws.cell(4, 1 + index, value)
    reading = read_one(save(wb))
    rehab = dict(reading.tasks)["rehab"]
    assert (rehab.target, rehab.done, rehab.percent) == (233, 100, 42.9)
    assert reading.done["devices"] == 50
    assert reading.problems == ()


@pytest.mark.parametrize(
    "subs",
    [
        ("目标数", "累计完成数", "上月累计完成数", "百分比"),
        ("目标数", "截至上月累计完成数", "累计完成数", "百分比"),
        ("目标数", "2019年完成数", "完成数", "百分比"),
        ("目标数", "完成数", "其中0-6岁儿童完成数", "百分比"),
        ("2020年目标数", "2019年完成数", "2020年累计完成数", "百分比"),
        ("目标数", "2019年完成数", "完成数", "百分比"),
    ],
)
@pytest.mark.parametrize("year", [2020, UNDATED])
def test_an_earlier_periods_column_beside_the_figures_is_never_read(subs, year):
    """GIVEN each task's 完成数 beside a column a clerk added (last month's 累计, last year's, a part's) WHEN read,
    as `inspect` reads it (the plan year known) and as ingest does (UNDATED: the title's year, if any) THEN 完成数
    is this report's, wherever the other stands: the other was read silently, the receipt saying it."""
    real = 1 if subs[1] in ("累计完成数", "完成数") else 2
    values: list[object] = []
    for target, done, percent in ((233, 100, "42.9%"), (115, 50, "43.5%"), (88, 30, "34.1%"), (48, 20, "41.7%")):
        values += [target, *((done, done - 10) if real == 1 else (done - 10, done)), percent]
    [reading] = read_attachment("附件2.xlsx", sub_labelled_book(subs, tuple(values), tasks=4), UNITS, year=year)
    assert [reading.done[task] for task in ("rehab", "devices", "rural_training", "day_care")] == [100, 50, 30, 20]
    assert dict(reading.tasks)["rehab"].target == 233 and reading.problems == ()


@pytest.mark.parametrize("year", [2020, UNDATED])
@pytest.mark.parametrize("label", ["2020年累计完成数", "截至上月底累计完成数"])
def test_a_done_column_named_with_its_year_or_up_to_last_month_alone_is_read(label, year):
    """GIVEN 附件2's only 完成数 column headed 2020年累计完成数, or 截至上月底累计完成数 (a package due by the 20th
    reports to the month before) WHEN read THEN it is the 完成数: taken for another period's, it was dropped and
    the receipt said the column could not be found."""
    values = (233, 100, "42.9%", 115, 50, "43.5%", 88, 30, "34.1%")
    [reading] = read_attachment(
        "附件2.xlsx", sub_labelled_book(("目标数", label, "百分比"), values, 3), UNITS, year=year
    )
    assert (reading.done["rehab"], reading.done["rural_training"], reading.problems) == (100, 30, ())


def test_two_cumulative_columns_of_one_task_are_said():
    """GIVEN a task with two 累计完成数 columns (a column copied and not relabelled) WHEN read THEN the first is
    read and the clerk told there are two, which one was read, and to keep one."""
    values = (233, 100, 90, "42.9%", 115, 50, 50, "43.5%", 88, 30, 30, "34.1%")
    reading = read_one(sub_labelled_book(("目标数", "累计完成数", "累计完成数", "百分比"), values, tasks=3))
    assert (reading.done["rehab"], reading.done["devices"]) == (100, 50)
    assert [(problem.code, problem.column) for problem in reading.problems] == [
        ("done-columns", "C"),
        ("done-columns", "G"),
        ("done-columns", "K"),
    ]
    assert "康复服务有 2 列完成数（C、D 列），已读取 C 列" in reading.problems[0].message


def test_formula_results_a_workbook_asks_to_recalculate_are_not_read():
    """GIVEN 附件2 as an exporter writes it (xlsxwriter and others): formulas saved with 0 as their result and the
    workbook marked to be calculated when opened (calcPr fullCalcOnLoad) WHEN read THEN those 完成数 are not read
    (the last 附件2 that gave them stands: scoring), the clerk told to open and save the file; a workbook not so
    marked reads the same results as they are. The 0s were read as 完成数, silently."""
    import io
    import zipfile

    values = (233, "=50*2", "42.9%", 115, "=25*2", "43.5%", 88, 30, "34.1%")
    made = sub_labelled_book(("目标数", "完成数", "百分比"), values, tasks=3)

    def exported(full_calc: bool) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(made)) as source, zipfile.ZipFile(out, "w") as target:
            for info in source.infolist():
                data = source.read(info).replace(b"<v />", b"<v>0</v>")
                if info.filename == "xl/workbook.xml" and not full_calc:
                    data = data.replace(b'fullCalcOnLoad="1"', b"")
                target.writestr(info, data)
        return out.getvalue()

    marked = read_one(exported(full_calc=True))
    assert (marked.done["rehab"], marked.done["devices"], marked.done["rural_training"]) == (None, None, 30)
    assert [(problem.code, problem.column) for problem in marked.problems] == [
        ("formula-no-value", "C"),
        ("formula-no-value", "F"),
    ]
    assert "没有保存可用的计算结果" in marked.problems[0].message
    assert dict(marked.tasks)["rehab"].done_unread
    plain = read_one(exported(full_calc=False))
    assert (plain.done["rehab"], plain.done["devices"]) == (0, 0)


def test_only_a_monthly_column_is_not_read_as_cumulative():
    values = (233, 15, "42.9%", 115, 8, "43.5%", 88, 5, "34.1%", 48, 2, "41.7%", 32, 1, "31.3%")
    reading = read_one(sub_labelled_book(("目标数", "本月完成数", "百分比"), values))
    assert reading.done["rehab"] is None
    assert codes(reading) == ["done-monthly-only"] * 5
    first = reading.problems[0]
    assert first.column == "C"
    assert "康复服务" in first.message and "累计" in first.message


# ---------------------------------------------------------------------------------------------
# Header words


@pytest.mark.parametrize(
    "subs",
    [
        ("全年任务数", "完成任务数", "完成比例"),
        ("目标任务数", "完成任务数", "百分比"),
        ("任务数", "完成数", "完成率"),
        ("年度目标任务", "累计完成", "完成进度"),
        ("计划完成数", "实际完成数", "百分比"),
    ],
)
def test_header_words_for_target_done_and_percent(subs):
    """完成任务数 is the 完成数 even though it holds 任务数; 目标任务数, 任务数, 计划完成数 the 目标数."""
    values = (233, 100, "42.9%", 115, 50, "43.5%", 88, 30, "34.1%", 48, 20, "41.7%", 32, 10, "31.3%")
    reading = read_one(sub_labelled_book(subs, values))
    rehab = dict(reading.tasks)["rehab"]
    assert (rehab.target, rehab.done, rehab.percent) == (233, 100, 42.9)
    assert reading.done["barrier_free"] == 10
    assert reading.problems == ()


def test_a_task_without_a_done_column_is_reported():
    values = (233, 100, "42.9%", 115, 50, "43.5%", 88, 30, "34.1%")
    reading = read_one(sub_labelled_book(("目标数", "实际数", "百分比"), values, tasks=3))
    assert reading.done["rehab"] is None
    assert codes(reading) == ["done-column-missing"] * 3
    message = reading.problems[0].message
    assert "康复服务" in message and "完成数" in message
