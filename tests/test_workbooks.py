"""Workbook readers: forms 附件1–10 recognised by content, the sender's figures and persons read,
problems found and never a number changed, hostile files refused. Samples: tests/data/workbooks/
(made by make_workbooks.py there; README.md lists them)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.services.readers import Forked
from parsers.cells import cell_text, column_letter, parse_count, parse_percent, written_count
from parsers.checks import check_digit, check_package, disability_id_problem, id_number_problem, phone_problem
from parsers.form_layouts import FORM_TITLES, form_from_name
from parsers.forms import FormReading, Person, Problem, TaskFigures
from parsers.months import month_in
from parsers.records import TASKS, Unit
from parsers.safety import DEFAULT_LIMITS, Limits
from parsers.workbook import read_attachment

SAMPLES = Path(__file__).resolve().parent / "data" / "workbooks"


def _unit(name: str, aliases: tuple[str, ...], *targets: int) -> Unit:
    return Unit(name, aliases, (), tuple(zip(TASKS, targets)))


# The 13 units of the 2020 plan with the city's targets (rehab, devices, rural_training, day_care,
# barrier_free, college).
UNITS = (
    _unit("桃城区", ("桃城",), 179, 184, 0, 0, 0, 0),
    _unit("冀州区", ("冀州",), 140, 184, 120, 49, 0, 0),
    _unit("枣强县", ("枣强",), 573, 115, 67, 67, 149, 0),
    _unit("武邑县", ("武邑",), 233, 115, 100, 38, 0, 0),
    _unit("深州市", ("深州",), 255, 344, 103, 131, 75, 0),
    _unit("武强县", ("武强",), 212, 115, 41, 35, 8, 0),
    _unit("饶阳县", ("饶阳",), 2078, 299, 61, 38, 3, 0),
    _unit("安平县", ("安平",), 212, 115, 59, 30, 1, 0),
    _unit("故城县", ("故城",), 382, 115, 103, 76, 6, 0),
    _unit("景县", ("景 县", "景州"), 233, 115, 88, 48, 32, 0),
    _unit("阜城县", ("阜城",), 255, 299, 67, 40, 3, 0),
    _unit("高新区", ("衡水高新区", "高新技术产业开发区"), 11, 0, 0, 0, 0, 0),
    _unit("滨湖新区", ("滨湖",), 11, 0, 0, 0, 0, 0),
)
BY_NAME = {unit.name: unit for unit in UNITS}


def read(name: str, filename: str | None = None, **options) -> tuple[FormReading, ...]:
    return read_attachment(filename or name, (SAMPLES / name).read_bytes(), UNITS, **options)


def only(name: str, filename: str | None = None, **options) -> FormReading:
    readings = read(name, filename, **options)
    assert len(readings) == 1, readings
    return readings[0]


def places(reading: FormReading | tuple[Problem, ...]) -> list[tuple]:
    problems = reading.problems if isinstance(reading, FormReading) else reading
    return [(p.sheet, p.row, p.column, p.code) for p in problems]


# ---------------------------------------------------------------------------------------------
# Every sample: form, unit, month, rows, readable and the problem codes

EXPECTED = {
    # file: (form, unit, month, rows, readable, problem codes)
    "summary-unit-row-only.xlsx": (2, "桃城区", "2020-04", 1, True, []),
    "summary-whole-city-template.xlsx": (2, "冀州区", "2020-04", 1, True, []),
    "summary-several-units-filled.xlsx": (2, None, "2020-04", 3, True, ["several-units"]),
    "summary-jing-xian-with-space.xls": (2, "景县", "2020-05", 1, True, []),
    "percent-mismatch.xlsx": (2, "枣强县", "2020-04", 1, True, ["percent-mismatch"]),
    "target-mismatch.xlsx": (2, "桃城区", "2020-04", 1, True, []),
    "done-vs-registry-summary.xlsx": (2, "武邑县", "2020-04", 1, True, []),
    "done-vs-registry-rehab.xlsx": (3, "武邑县", "2020-04", 5, True, []),
    "done-vs-registry-devices.xls": (4, "武邑县", "2020-04", 2, True, []),
    "formula-without-cached-value.xlsx": (2, "安平县", "2020-04", 1, True, ["formula-no-value"] * 3),
    "rehab-registry-two-age-sheets.xlsx": (3, "饶阳县", "2020-04", 5, True, []),
    "devices-registry-merged-poor-header.xls": (4, "深州市", "2020-04", 3, True, []),
    "registry-empty-first-column.xlsx": (5, "武强县", "2020-04", 3, True, ["bad-phone"]),
    "registry-numbers-as-text.xlsx": (8, "武强县", "2020-04", 2, True, ["bad-phone"]),
    "registry-id-as-number.xlsx": (3, "景县", "2020-04", 3, True, ["id-precision-lost"] * 2),
    "registry-title-chinese-month.xlsx": (7, "阜城县", "2020-11", 1, True, []),
    "remarks-and-notes-rows.xlsx": (5, "冀州区", "2020-04", 2, True, []),
    "hidden-sheet.xlsx": (3, "桃城区", "2020-04", 2, True, ["hidden-sheet"]),
    "wps-file.et": (7, "安平县", "2020-04", 2, True, []),
    "training-form6-vocational.xls": (6, "枣强县", "2020-04", 2, True, []),
    "new-microsoft-excel-sheet.xlsx": (4, "阜城县", "2020-04", 1, True, []),
    "bad-ids-and-phones.xlsx": (
        3,
        "桃城区",
        "2020-04",
        13,
        True,
        [
            "bad-disability-id",
            "bad-disability-id",
            "bad-disability-id",
            "bad-disability-id",
            "bad-phone",
            "empty-required",
            "empty-required",
            "empty-required",
            "bad-disability-id",
            "bad-phone",
        ],
    ),
    "duplicate-person.xlsx": (4, "故城县", "2020-04", 4, True, ["duplicate-person"] * 2),
    "college-students-form9.xlsx": (9, "武邑县", None, 2, True, []),
    "college-children-form10.xlsx": (10, "阜城县", None, 2, True, ["bad-id-number"]),
    "unknown-workbook.xlsx": (None, None, None, 0, True, ["unknown-form"]),
    "progress-report.docx": (1, "桃城区", "2020-04", 0, True, []),
    "progress-report.doc": (1, None, None, 0, True, ["text-unread"]),
    "progress-report.wps": (1, None, None, 0, True, ["text-unread"]),
    "encrypted.xlsx": (None, None, None, 0, False, ["encrypted"]),
    "encrypted.xls": (None, None, None, 0, False, ["encrypted"]),
    "zip-bomb.zip": (None, None, None, 0, False, ["zip-bomb"]),
    "zip-bomb-lying-sizes.zip": (None, None, None, 0, False, ["zip-bomb"]),
    "xlsx-bomb.xlsx": (None, None, None, 0, False, ["zip-bomb"]),
    "xxe-entity.xlsx": (None, None, None, 0, False, ["xml-entity"]),
    "xxe-external-entity.xlsx": (None, None, None, 0, False, ["xml-entity"]),
    "sparse-far-cell.xlsx": (None, None, None, 0, False, ["too-many-rows"]),
    "rows-without-references.xlsx": (8, "武邑县", "2020-04", 2, True, []),
    "zip-too-deep.zip": (None, None, None, 0, False, ["zip-too-deep"]),
    "encrypted-zip-member.zip": (3, None, None, 0, False, ["encrypted"]),
    "html-disguised.xls": (None, None, None, 0, False, ["unreadable"]),
    "truncated.xlsx": (None, None, None, 0, False, ["unreadable"]),
}
MULTI = {"several-forms-one-workbook.xlsx", "package-gbk-names.zip", "briefing-article.docx"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_reads_as_expected(name):
    form, unit, month, rows, readable, codes = EXPECTED[name]
    reading = only(name)
    assert (reading.form, reading.unit, reading.month, reading.rows, reading.readable) == (
        form,
        unit,
        month,
        rows,
        readable,
    )
    assert [p.code for p in reading.problems] == codes


def test_every_sample_file_has_an_expectation():
    files = {p.name for p in SAMPLES.iterdir() if p.suffix not in (".py", ".md") and p.is_file()}
    assert files == set(EXPECTED) | MULTI
    assert len(files) >= 30


def test_problem_messages_are_chinese_and_name_what_to_fix():
    for name in EXPECTED:
        for problem in only(name).problems:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in problem.message), problem
            assert any(word in problem.message for word in ("请", "未读取", "已拒绝")), problem


# ---------------------------------------------------------------------------------------------
# 附件2


def test_summary_unit_row_figures_and_their_cells():
    reading = only("summary-unit-row-only.xlsx")
    tasks = dict(reading.tasks)
    assert [task for task, _ in reading.tasks] == list(TASKS)
    assert tasks["rehab"] == TaskFigures(179, 100, 55.9, "汇总表", 6, "B", "C", "D")
    assert (tasks["devices"].target, tasks["devices"].done) == (184, 90)
    assert tasks["devices"].percent == pytest.approx(48.9)  # 0.489 in a cell formatted as a percent
    assert tasks["college"] == TaskFigures(None, None, None, "汇总表", 6, "Q", "R", "S")
    assert reading.done == {
        "rehab": 100,
        "devices": 90,
        "rural_training": None,
        "day_care": None,
        "barrier_free": None,
        "college": None,
    }


def test_whole_city_template_reads_the_only_filled_row():
    """GIVEN the city's template with every unit's target prefilled and only 冀州区's done filled
    WHEN it is read THEN 冀州区 is the unit and its row the figures; the targets agree with the city's."""
    reading = only("summary-whole-city-template.xlsx")
    tasks = dict(reading.tasks)
    assert tasks["rehab"].row == 7 and tasks["day_care"].percent == 51.0
    assert reading.done["day_care"] == 25
    assert check_package([reading], BY_NAME["冀州区"]) == ()


def test_several_filled_rows_without_a_sender_name_them_all():
    reading = only("summary-several-units-filled.xlsx")
    assert reading.tasks == () and reading.done == {}
    assert "桃城区、武邑县、深州市" in reading.problems[0].message


def test_sender_unit_picks_its_row_from_a_whole_city_sheet():
    reading = only("summary-several-units-filled.xlsx", sender_unit="武邑县")
    assert (reading.unit, reading.rows) == ("武邑县", 3)
    assert reading.done["rehab"] == 120 and reading.done["devices"] == 60
    assert dict(reading.tasks)["rehab"].row == 9
    assert places(reading) == [("Sheet", None, None, "several-units")]
    assert "已按武邑县的一行读取" in reading.problems[0].message


def test_sender_unit_without_a_row_is_reported():
    reading = only("summary-unit-row-only.xlsx", sender_unit="景县")
    assert reading.tasks == ()
    assert places(reading) == [("汇总表", None, None, "unit-row-missing")]
    assert "景县" in reading.problems[0].message


def test_jing_xian_with_space_and_numbers_stored_as_text():
    """' 120 ', '１１５' (full-width) and '0.5' are text cells; all are read, none changed."""
    reading = only("summary-jing-xian-with-space.xls")
    tasks = dict(reading.tasks)
    assert (tasks["rehab"].target, tasks["rehab"].done, tasks["rehab"].percent) == (233, 120, 51.5)
    assert tasks["devices"].target == 115
    assert tasks["day_care"].percent == 50.0
    assert reading.done["barrier_free"] == 16


def test_percent_mismatch_points_at_the_percent_cell():
    reading = only("percent-mismatch.xlsx")
    assert places(reading) == [("Sheet", 6, "D", "percent-mismatch")]
    assert "80%" in reading.problems[0].message and "52.4%" in reading.problems[0].message
    assert dict(reading.tasks)["rehab"].percent == 80.0  # reported as written, not corrected


def test_formula_without_cached_value_is_reported_not_guessed():
    reading = only("formula-without-cached-value.xlsx")
    assert places(reading) == [
        ("Sheet", 6, "C", "formula-no-value"),
        ("Sheet", 6, "D", "formula-no-value"),
        ("Sheet", 6, "G", "formula-no-value"),
    ]
    assert reading.done["rehab"] is None and reading.done["devices"] == 57
    assert "保存" in reading.problems[0].message
    # 康复服务's 完成数 (C6) is not read, as apart from one left empty: scoring takes the last one read
    assert [task for task, figures in reading.tasks if figures.done_unread] == ["rehab"]


def test_a_formula_whose_saved_result_is_empty_text_is_a_blank_cell_not_an_unread_one():
    """Excel saves =IF(B6="","",…) whose result is "" as t="str" with an empty <v>: the cell is blank as the unit
    left it (scoring reads it as not filled in), not a formula without its result (the last figure read)."""
    data = io.BytesIO()
    with (
        zipfile.ZipFile(SAMPLES / "formula-without-cached-value.xlsx") as source,
        zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(
                    b'<c r="C6"><f>SUM(100,6)</f><v /></c>', b'<c r="C6" t="str"><f>""</f><v></v></c>'
                )
            if item.filename == "xl/workbook.xml":  # as Excel saves it: openpyxl's "calculate when opened" gone
                content = content.replace(b'fullCalcOnLoad="1"', b"")
            target.writestr(item, content)
    [reading] = read_attachment("附件2.xlsx", data.getvalue(), UNITS)
    assert [(problem.column, problem.code) for problem in reading.problems] == [
        ("D", "formula-no-value"),
        ("G", "formula-no-value"),
    ]
    rehab = dict(reading.tasks)["rehab"]
    assert (rehab.done, rehab.done_unread) == (None, False)


def test_target_mismatch_against_the_city_targets():
    reading = only("target-mismatch.xlsx")
    problems = check_package([reading], BY_NAME["桃城区"])
    assert places(problems) == [("Sheet", 6, "B", "target-mismatch")]
    assert "200" in problems[0].message and "179" in problems[0].message


def test_done_against_distinct_persons_of_the_registries_sent_together():
    """GIVEN 附件2 saying 5 rehab and 2 devices, 附件3 with 5 rows for 4 people (one has two services)
    and 附件4 with 2 people WHEN checked as one package THEN only rehab disagrees (5 vs 4)."""
    package = [
        *read("done-vs-registry-summary.xlsx"),
        *read("done-vs-registry-rehab.xlsx"),
        *read("done-vs-registry-devices.xls"),
    ]
    assert package[1].distinct_persons() == 4 and package[2].distinct_persons() == 2
    problems = check_package(package, BY_NAME["武邑县"])
    assert places(problems) == [("Sheet", 6, "C", "done-vs-registry")]
    assert "5" in problems[0].message and "4 人" in problems[0].message


def test_done_is_not_compared_when_the_registry_is_missing():
    assert check_package(read("done-vs-registry-summary.xlsx"), BY_NAME["武邑县"]) == ()


# ---------------------------------------------------------------------------------------------
# Registries


def test_two_age_sheets_merge_into_one_reading():
    reading = only("rehab-registry-two-age-sheets.xlsx")
    assert reading.source == "rehab-registry-two-age-sheets.xlsx"
    assert [(p.sheet, p.row) for p in reading.persons] == [
        ("7岁以上", 4),
        ("7岁以上", 5),
        ("7岁以上", 6),
        ("0-6岁", 4),
        ("0-6岁", 5),
    ]
    child = reading.persons[3]
    assert child.get("name") == "李明轩" and len(child.get("disability_id")) == 18  # 身份证号 allowed
    assert dict(reading.persons[0].fields) == {
        "name": "王斐",
        "disability_id": "13112419620315011842",
        "category": "肢体",
        "grade": "二级",
        "phone": "13832100001",
        "service": "康复训练",
        "detail": "运动疗法",
        "registered_poor": "是",
        "remark": "",
    }


def test_merged_poor_header_gives_two_columns():
    reading = only("devices-registry-merged-poor-header.xls")
    assert [(p.get("name"), p.get("registered_poor"), p.get("other_poor")) for p in reading.persons] == [
        ("孙倩", "√", ""),
        ("周强", "", "√"),
        ("吴兰", "√", ""),
    ]
    assert reading.persons[0].get("fitted_at") == "2020-04-08"
    assert reading.persons[0].get("device") == "轮椅"


def test_empty_first_column_keeps_spreadsheet_letters():
    reading = only("registry-empty-first-column.xlsx")
    assert places(reading) == [("Sheet", 5, "F", "bad-phone")]
    assert reading.persons[0].get("training_type") == "种植业"


def test_numbers_are_shown_as_the_sender_sees_them():
    reading = only("registry-numbers-as-text.xlsx")
    first, second = reading.persons
    assert (first.get("phone"), first.get("subsidy"), second.get("subsidy")) == ("13912345678", "3000", "2500.5")
    # a landline typed as a number lost its leading 0: reported, not repaired
    assert places(reading) == [("Sheet", 5, "E", "bad-phone")] and second.get("phone") == "3182662889"


def test_id_stored_as_number_is_precision_lost():
    reading = only("registry-id-as-number.xlsx")
    assert places(reading) == [("Sheet", 4, "C", "id-precision-lost"), ("Sheet", 5, "C", "id-precision-lost")]
    assert reading.persons[0].get("disability_id") == "13112719800101000000"  # what Excel shows
    assert "文本" in reading.problems[0].message


def test_bad_ids_and_phones_each_at_its_cell():
    reading = only("bad-ids-and-phones.xlsx")
    assert places(reading) == [
        ("Sheet", 5, "C", "bad-disability-id"),
        ("Sheet", 6, "C", "bad-disability-id"),
        ("Sheet", 7, "C", "bad-disability-id"),
        ("Sheet", 8, "C", "bad-disability-id"),
        ("Sheet", 9, "F", "bad-phone"),
        ("Sheet", 11, "B", "empty-required"),
        ("Sheet", 12, "G", "empty-required"),
        ("Sheet", 13, "C", "empty-required"),
        ("Sheet", 14, "C", "bad-disability-id"),
        ("Sheet", 15, "F", "bad-phone"),
    ]
    messages = [p.message for p in reading.problems]
    assert (
        "19 位" in messages[0] and "校验位" in messages[1] and "第 19 位" in messages[2] and "第 20 位" in messages[3]
    )
    assert "出生日期" in messages[8]


def test_duplicate_person_reports_both_rows_and_not_another_service():
    reading = only("duplicate-person.xlsx")
    assert places(reading) == [("Sheet", 4, "C", "duplicate-person"), ("Sheet", 6, "C", "duplicate-person")]
    assert "（郑和）在“Sheet”第 4、6 行重复登记了同一项服务" in reading.problems[0].message
    assert reading.problems[0].message == reading.problems[1].message
    assert reading.distinct_persons() == 2


def test_a_number_copied_down_a_whole_column_is_one_problem_of_bounded_length():
    """GIVEN a registry of 3,000 rows whose 残疾人证号 was copied down the column (each row another name)
    THEN every row is flagged with one message naming the first rows and how many, not every row; the message
    used to list every row, once per row, and 5,000 such rows made the reader run out of memory."""
    import openpyxl

    from tests.data.workbooks.make_workbooks import cert

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["景县2020年6月份辅助器具适配实名制登记表"])
    sheet.append(["序号", "姓名", "残疾人证号", "联系电话", "家庭住址", "享受基本型辅助器具名称", "适配时间"])
    number = cert("景县", "19660606", 66)
    for n in range(3000):
        sheet.append([n + 1, f"张{n}", number, "13831800066", "景县", "轮椅", "2020-06-01"])
    data = io.BytesIO()
    book.save(data)
    [reading] = read_attachment("附件4.xlsx", data.getvalue(), UNITS)
    assert reading.readable and reading.rows == 3000
    assert [(p.row, p.code) for p in reading.problems] == [(row, "duplicate-person") for row in range(3, 3003)]
    assert len({p.message for p in reading.problems}) == 1
    message = reading.problems[0].message
    masked = f"{number[:6]}{'*' * 10}{number[-4:]}"  # as the cell is shown to a viewer without the grant
    assert f"{masked}（各行姓名不同，请核对证号是否被整列复制）在“Sheet”第 3、4、5、6、7 行等 3000 行" in message
    assert len(message) < 200


def test_remarks_notes_and_blank_numbered_rows_are_not_persons():
    reading = only("remarks-and-notes-rows.xlsx")
    assert [p.row for p in reading.persons] == [4, 5]
    assert reading.form == 5  # the title says only 培训; the template's 备注 (种植业、养殖业…) says 附件5


def test_college_forms_nine_and_ten():
    students = only("college-students-form9.xlsx")
    assert students.persons[1].get("admission") == "燕山大学 软件工程"
    children = only("college-children-form10.xlsx")
    first = dict(children.persons[0].fields)
    assert (first["student_name"], first["parent_name"], first["id_number"]) == ("袁梦", "袁大山", "131128200209091010")
    assert places(children) == [("Sheet", 5, "F", "bad-id-number")]


def test_form_recognised_by_content_whatever_the_file_name():
    reading = only("new-microsoft-excel-sheet.xlsx", "新建 Microsoft Excel 工作表.xlsx")
    assert (reading.form, reading.unit, reading.source) == (4, "阜城县", "新建 Microsoft Excel 工作表.xlsx")
    assert only("training-form6-vocational.xls", "附件5.xls").form == 6  # the title wins over the name


def test_several_forms_in_one_workbook_one_reading_each():
    readings = read("several-forms-one-workbook.xlsx")
    assert [(r.source, r.form, r.rows) for r in readings] == [
        ("several-forms-one-workbook.xlsx › 附件2", 2, 1),
        ("several-forms-one-workbook.xlsx › 附件3", 3, 2),
        ("several-forms-one-workbook.xlsx › 附件7", 7, 1),
    ]
    assert readings[0].done["day_care"] == 1


def test_hidden_sheet_is_skipped_and_said():
    reading = only("hidden-sheet.xlsx")
    assert [p.get("name") for p in reading.persons] == ["韩梅", "韩雪"]
    assert places(reading) == [("3月", None, None, "hidden-sheet")]


def test_sheet_without_cell_references_is_measured_and_read():
    reading = only("rows-without-references.xlsx")
    assert [(p.row, p.get("project"), p.get("subsidy")) for p in reading.persons] == [
        (3, "坡道", "2000"),
        (4, "扶手", "800"),
    ]


# ---------------------------------------------------------------------------------------------
# Containers and documents


def test_zip_with_gbk_member_names():
    readings = read("package-gbk-names.zip")
    assert [(r.source, r.form, r.unit) for r in readings] == [
        ("package-gbk-names.zip › 四月报表/附件2.xlsx", 2, "枣强县"),
        ("package-gbk-names.zip › 四月报表/附件3.xls", 3, "枣强县"),
        ("package-gbk-names.zip › 四月报表/附件1进展情况报告.docx", 1, "枣强县"),
        ("package-gbk-names.zip › 四月报表/简报.pdf", None, None),  # no form, said so
    ]
    assert [p.get("name") for p in readings[1].persons] == ["褚遂", "褚良"]


def test_progress_report_docx_text():
    reading = only("progress-report.docx")
    assert reading.text.splitlines()[:4] == [
        "附件1",
        "桃城区残联4月份目标任务进展情况报告",
        "现将目标任务完成情况汇报如下：",
        "一、目标任务完成情况",
    ]


def test_doc_and_wps_are_recognised_kept_and_their_text_said_unread():
    doc = only("progress-report.doc")  # the name says nothing; the words inside do
    assert (doc.form, doc.readable, doc.text) == (1, True, "") and ".docx" in doc.problems[0].message
    wps = only("progress-report.wps", "景县附件1进展情况报告.wps")
    assert (wps.form, wps.unit, wps.problems[0].code) == (1, "景县", "text-unread")


def test_briefing_article_and_pdf_are_not_forms():
    assert read("briefing-article.docx") == ()
    assert read_attachment("简报.pdf", b"%PDF-1.4\n%%EOF\n", UNITS) == ()
    assert read_attachment("photo.jpg", b"\xff\xd8\xff\xe0" + bytes(64), UNITS) == ()


def test_encrypted_workbook_keeps_the_form_its_name_gives():
    reading = only("encrypted.xlsx", "附件3.xlsx")
    assert (reading.form, reading.readable) == (3, False)
    assert "密码" in reading.problems[0].message


# ---------------------------------------------------------------------------------------------
# Hostile and broken files


def _huge_sheet_xlsx(path: Path, rows: int, references: bool = True) -> None:
    """An .xlsx of `rows` two-cell rows, its sheet XML streamed into the zip (a few MB on disk)."""
    sys.path.insert(0, str(SAMPLES))
    import office_bytes

    parts = office_bytes.xlsx_parts(b"")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                archive.writestr(name, data)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            row = (
                b'<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d"><v>1</v></c></row>'
                if references
                else b"<row><c><v>%d</v></c><c><v>1</v></c></row>"
            )
            for start in range(1, rows + 1, 10_000):
                numbers = range(start, min(start + 10_000, rows + 1))
                sheet.write(b"".join(row % ((n, n, n, n) if references else n) for n in numbers))
            sheet.write(b"</sheetData></worksheet>")


_MEASURE = """
import json, sys
from pathlib import Path
from parsers.workbook import read_attachment
def hwm():
    return int(next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM")).split()[1])
before = hwm()
readings = read_attachment("附件3.xlsx", Path(sys.argv[1]).read_bytes(), [])
print(json.dumps({"growth_kb": hwm() - before, "codes": [p.code for r in readings for p in r.problems],
                  "readable": [r.readable for r in readings]}))
"""


@pytest.mark.parametrize("references", [True, False])
def test_a_million_rows_are_refused_with_memory_bounded(tmp_path, references):
    """GIVEN a sheet of 1,000,000 rows of two cells (with and without cell references) WHEN read in
    a fresh process THEN it is refused as too-many-rows, and the peak RSS grows by less than 64 MB
    (calamine alone would hold 2,000,000 cells of 32 bytes, and Python lists for every row)."""
    path = tmp_path / "million.xlsx"
    _huge_sheet_xlsx(path, 1_000_000, references)
    root = Path(__file__).resolve().parent.parent
    output = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], check=True, capture_output=True, text=True, cwd=root
    ).stdout
    result = json.loads(output)
    assert result["codes"] == ["too-many-rows"] and result["readable"] == [False]
    assert result["growth_kb"] < 64 * 1024, result


def test_rows_cap_is_a_setting():
    reading = only("rehab-registry-two-age-sheets.xlsx", limits=Limits(max_rows=3))
    assert [(p.sheet, p.code) for p in reading.problems] == [("7岁以上", "too-many-rows"), ("0-6岁", "too-many-rows")]
    assert reading.readable is False


def test_unzipped_size_cap_is_a_setting():
    reading = only("package-gbk-names.zip", limits=Limits(max_unzipped_bytes=10_000))
    assert (reading.readable, [p.code for p in reading.problems]) == (False, ["zip-bomb"])


@pytest.mark.parametrize("name", sorted(set(EXPECTED) | MULTI))
def test_never_raises_on_damaged_bytes(name):
    data = (SAMPLES / name).read_bytes()
    damaged = [
        data[: len(data) // 3],
        data[: len(data) * 2 // 3],
        data[:-22],
        bytes(b ^ 0x5A for b in data[:512]) + data[512:],
        data[:200] + bytes(300) + data[500:],
    ]
    for variant in damaged:
        for reading in read_attachment(name, variant, UNITS):
            assert isinstance(reading, FormReading)
            assert reading.readable or reading.problems


def test_default_limits():
    assert Limits() == DEFAULT_LIMITS
    assert (DEFAULT_LIMITS.max_unzipped_bytes, DEFAULT_LIMITS.max_depth, DEFAULT_LIMITS.max_rows) == (
        100 * 2**20,
        2,
        100_000,
    )


# ---------------------------------------------------------------------------------------------
# Small parts


def test_check_digit_gb11643():
    assert check_digit("11010519491231002") == "X"
    assert check_digit("13112719800101001") == "9"  # weighted sum 168, 168 mod 11 = 3 → "9"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    for number in range(10**16, 10**16 + 2000, 7):
        digits = str(number)[:17]
        assert check_digit(digits) == "10X98765432"[sum(int(d) * w for d, w in zip(digits, weights)) % 11]


@pytest.mark.parametrize(
    "value, problem",
    [
        ("11010519491231002X21", None),
        ("11010519491231002x21", None),
        (" 11010519491231002X21 ", None),
        ("11010519491231002X81", "第 19 位"),
        ("11010519491231002X25", "第 20 位"),
        ("11010519491231002121", "校验位"),
        ("1101051949123100221", "19 位"),
        ("110105194913310021X21", "21 位"),
        ("11010519491331002X21", "出生日期"),
    ],
)
def test_disability_id(value, problem):
    result = disability_id_problem(value)
    assert result is None if problem is None else problem in result


def test_child_may_use_id_number_on_form_3_only():
    assert disability_id_problem("11010519491231002X", allow_id_number=True) is None
    assert "20 位" in disability_id_problem("11010519491231002X")
    assert id_number_problem("110105194912310021") is not None


@pytest.mark.parametrize(
    "value, ok",
    [
        ("13812345678", True),
        ("0318-2662889", True),
        ("03182662889", True),
        ("2662889", True),
        ("(0318)2662889", True),
        ("13812345678/2662889", True),
        ("13812345678、15131826699", True),
        ("13812345678，0318-2662889", True),
        ("1381234567", False),
        ("12812345678", False),
        ("0318-26628", False),
        ("电话", False),
        ("138-1234-5678", True),  # a mobile number written in groups is one all the same
        ("１３９１２３４５６７８", True),  # full-width digits, as a Chinese input method types them
        ("13912345678（微信同号）", True),  # a note in brackets beside the number
        ("0318-2662889(办)", True),
        ("１３９１２３４５６７", False),
        ("（微信）", False),
    ],
)
def test_phone_formats(value, ok):
    assert (phone_problem(value) is None) is ok


@pytest.mark.parametrize(
    "text, month",
    [
        ("桃城区残联 4 月份康复服务实名制登记表", "2020-04"),
        ("枣强县2020年4月目标任务", "2020-04"),
        ("阜城县残联二〇二〇年十一月份托养", "2020-11"),
        ("四月份", "2020-04"),
        ("２０２１年１２月", "2021-12"),
        ("填报日期：4月15日", None),
        ("衡水市资助2020年考入高等院校贫困残疾学生汇总表", None),
        ("十二月份", "2020-12"),
        # a range from January is the year so far: its last month, as a subject's (parsers.months)
        ("桃城区残联2020年1月-12月残疾人服务工程目标任务完成情况汇总表", "2020-12"),
        ("2020年1月至12月汇总表", "2020-12"),
        ("二〇二〇年一月至十一月", "2020-11"),
        ("1月-6月目标任务", "2020-06"),
        ("2019年1-12月", "2019-12"),
        ("景县残联2020.12残疾人服务工程目标任务完成情况汇总表", "2020-12"),
        ("景县残联2021-01目标任务", "2021-01"),
        ("填报日期：2020.12.15", None),
        ("景县残联12月份工作进展情况 截至2020.11底", "2020-12"),  # beside N月, the first written is it
        ("景县残联2020.12目标任务完成情况（截至11月底）", "2020-12"),
        ("全年累计服务2020\n10、辅具适配", None),  # two lines' numbers are not glued into a month
    ],
)
def test_month_in_titles(text, month):
    assert month_in(text, 2020) == month


def test_a_progress_reports_lines_are_not_glued_into_a_month():
    """GIVEN 景县's 附件1 whose first lines end in a figure (…2020) and start with a list's number (10、…) WHEN
    read THEN its month is the title's December, where the two lines read together made "2020年10月"."""
    from bot.demo.season.files import docx_bytes

    data = docx_bytes(
        ["全年累计服务2020", "10、辅具适配完成 115 件", "景县残联12月份目标任务进展情况报告"], datetime(2020, 12, 18)
    )
    [reading] = read_attachment("附件1.docx", data, UNITS)
    assert (reading.form, reading.unit, reading.month) == (1, "景县", "2020-12")


def test_month_takes_the_plan_year():
    assert only("summary-unit-row-only.xlsx", year=2021).month == "2021-04"


@pytest.mark.parametrize(
    "value, text",
    [
        ("x", "x"),
        (13812345678.0, "13812345678"),
        (2500.5, "2500.5"),
        (1.3112719800101002e19, "13112719800101000000"),
        (True, "TRUE"),
        (0.1 + 0.2, "0.3"),
        (7, "7"),
    ],
)
def test_cell_text_as_the_sender_sees_it(value, text):
    assert cell_text(value) == text


def test_counts_and_percents():
    assert [parse_count(v) for v in (184.0, "184", " 184 ", "１８４", "", "约100", 1.5)] == [
        (184, True),
        (184, True),
        (184, True),
        (184, True),
        (None, True),
        (None, False),
        (None, False),
    ]
    assert parse_percent("50%") == ((50.0,), True)
    assert parse_percent("50.0%") == ((50.0,), True)
    assert parse_percent(0.5) == ((50.0, 0.5), True)
    assert parse_percent(50) == ((5000.0, 50.0), True)


def test_a_formulas_float_noise_is_the_whole_number_shown_and_a_slash_is_nothing_written():
    """GIVEN a 完成数 a formula left as 96.99999999999999 (Excel shows 97) and the marks clerks write for "not
    applicable" (/, ／, —, 无) WHEN read THEN 97, and nothing written: the first was refused as "“97”不是整数",
    the others as not whole numbers, in a task without a target."""
    assert parse_count(96.99999999999999) == (97, True) and parse_count(97.00000000000001) == (97, True)
    assert [parse_count(v) for v in (97.5, float("nan"), float("inf"), -1e-300)] == [(None, False)] * 3 + [(0, True)]
    for mark in ("/", "／", "—", "——", "-", "无", " / "):
        assert (parse_count(mark), parse_percent(mark)) == ((None, True), ((), True)), mark


def test_form_names_and_letters():
    assert [
        form_from_name(n)
        for n in (
            "附件3.xls",
            "附件十.xlsx",
            "附件 2-目标.xlsx",
            "新建 Microsoft Excel 工作表.xlsx",
            "4月托养服务补贴实名制登记表.xlsx",
        )
    ] == [3, 10, 2, None, 7]
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]
    assert FORM_TITLES[3] == "康复服务实名制登记表"


def test_person_records_are_frozen():
    person = only("hidden-sheet.xlsx").persons[0]
    assert person == Person(4, "4月", person.fields)
    with pytest.raises(AttributeError):
        person.row = 5  # type: ignore[misc]


def test_an_article_whose_headline_shares_a_forms_words_is_not_that_form():
    """GIVEN a Word article named by its headline (“…实用技术培训班.docx”) WHEN it is read
    THEN it is no form at all; a Word file named like a form's table is still told to use Excel."""
    sys.path.insert(0, str(SAMPLES))
    import office_bytes

    article = office_bytes.docx(["阜城县举办第3期残疾人农村实用技术培训班", "培训残疾人 40 人次。"])
    assert read_attachment("阜城县举办第3期残疾人农村实用技术培训班.docx", article, UNITS) == ()
    [table] = read_attachment("农村实用技术培训实名制登记表.docx", article, UNITS)
    assert (table.form, table.readable) == (5, False) and "Excel" in table.problems[0].message


def _renamed(data: bytes, rename: dict[str, str], replace: dict[str, tuple[bytes, bytes]]) -> bytes:
    """The workbook again, members renamed and bytes within members replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename in replace:
                content = content.replace(*replace[info.filename])
            target.writestr(rename.get(info.filename, info.filename), content)
    return out.getvalue()


@pytest.mark.parametrize(
    "rename, replace",
    [
        ({"xl/worksheets/sheet1.xml": "xl/worksheets/Sheet1.xml"}, {}),
        (
            {},
            {
                "xl/workbook.xml": (
                    b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                    b"http://purl.oclc.org/ooxml/spreadsheetml/main",
                )
            },
        ),
    ],
    ids=["member-name-in-another-case", "strict-namespace"],
)
def test_a_far_cell_in_a_sheet_the_workbook_does_not_name_to_us_is_refused(rename, replace):
    """GIVEN the far-cell sheet (a cell at XFD1048576) in a workbook whose index does not lead to it as the
    pre-scan reads it (the member's name in another case than the relationships say; Excel's Strict
    namespace), while calamine finds it all the same and would abort allocating it WHEN read THEN the file
    is refused as too large, saying what to delete."""
    data = _renamed((SAMPLES / "sparse-far-cell.xlsx").read_bytes(), rename, replace)
    [reading] = read_attachment("报表.xlsx", data, [])
    assert not reading.readable and [p.code for p in reading.problems] == ["too-many-rows"]
    assert "删除多余的行列" in reading.problems[0].message


@pytest.mark.parametrize("namespace", [None, b"http://purl.oclc.org/ooxml/spreadsheetml/main"], ids=["", "strict"])
def test_a_workbook_bloated_with_defined_names_is_read_in_about_its_size(namespace):
    """GIVEN a registry whose xl/workbook.xml carries 200,000 defined names (copying sheets between workbooks
    piles them up, one set a copy), in the usual namespace or Excel's Strict one WHEN read THEN it reads as
    without them, and the pre-scan streams the workbook's index up to its list of sheets: peak memory 2.5
    times the part (a tree of it was 10 times)."""
    import tracemalloc

    source = (SAMPLES / "done-vs-registry-rehab.xlsx").read_bytes()
    if namespace:
        transitional = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        source = _renamed(source, {}, {"xl/workbook.xml": (transitional, namespace)})
    names = b"".join(b'<definedName name="n%d">Sheet1!$A$1</definedName>' % n for n in range(200_000))
    data = _renamed(
        source, {}, {"xl/workbook.xml": (b"</sheets>", b"</sheets><definedNames>" + names + b"</definedNames>")}
    )
    assert b"<definedNames>" not in zipfile.ZipFile(io.BytesIO(source)).read("xl/workbook.xml")
    size = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/workbook.xml").file_size
    tracemalloc.start()
    try:
        [reading] = read_attachment("附件3.xlsx", data, UNITS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    [plain] = read_attachment("附件3.xlsx", source, UNITS)
    assert (reading.form, reading.rows, reading.persons, reading.problems) == (
        plain.form,
        plain.rows,
        plain.persons,
        plain.problems,
    )
    assert peak < 4 * size, f"{peak:,} bytes at peak for {size:,} of workbook.xml"


def test_a_far_cell_spelt_with_single_quotes_is_refused():
    """GIVEN the far-cell sheet with its references in single quotes (`r='XFD1048576'`: XML allows either
    quote, and calamine reads both) WHEN read THEN it is refused as too large, as with double quotes, and not
    handed to calamine, which would abort allocating it."""
    far = b'<row r="1048576"><c r="XFD1048576">'
    spelt = (far, far.replace(b'"', b"'"))
    data = _renamed((SAMPLES / "sparse-far-cell.xlsx").read_bytes(), {}, {"xl/worksheets/sheet1.xml": spelt})
    [reading] = Forked().run(read_attachment, "附件3.xlsx", data, [])  # were it handed on, only the child dies
    assert not reading.readable and [p.code for p in reading.problems] == ["too-many-rows"]


def _shared_strings_claiming(claim: bytes) -> bytes:
    """A workbook as openpyxl saves it whose cells name shared strings, from a table of two entries that
    claims `claim` (its uniqueCount)."""
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["姓名", "残疾人证号"])
    saved = io.BytesIO()
    book.save(saved)
    sheet = b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row></sheetData>'
    table = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="'
        + claim
        + b'"><si><t>\xe5\xa7\x93\xe5\x90\x8d</t></si><si><t>\xe8\xaf\x81\xe5\x8f\xb7</t></si></sst>'
    )
    rels = (
        b'<Relationship Id="rIdS" Target="sharedStrings.xml" '
        b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>'
    )
    types = (
        b'<Override PartName="/xl/sharedStrings.xml" '
        b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb"<sheetData>.*</sheetData>", sheet, content)
            elif info.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(b"</Relationships>", rels)
            elif info.filename == "[Content_Types].xml":
                content = content.replace(b"</Types>", types)
            target.writestr(info.filename, content)
        target.writestr("xl/sharedStrings.xml", table)
    return out.getvalue()


def test_a_shared_string_table_claiming_billions_of_entries_is_refused_saying_so():
    """GIVEN a workbook whose shared-string table holds two entries but claims 4,294,967,295 (calamine
    reserves room for the claim before reading one, and aborts the process when it cannot) WHEN read THEN the
    file is refused, saying the table is damaged and to save the file again; a claim merely wrong (5,000 for
    two) is read as the two it holds."""
    [refused] = Forked().run(read_attachment, "花名册.xlsx", _shared_strings_claiming(b"4294967295"), [])
    assert not refused.readable and "共享字符串表已损坏" in refused.problems[0].message
    assert "另存为" in refused.problems[0].message
    from python_calamine import CalamineWorkbook

    wrong = _shared_strings_claiming(b"5000")
    assert CalamineWorkbook.from_filelike(io.BytesIO(wrong)).get_sheet_by_index(0).to_python() == [["姓名", "证号"]]
    [read] = read_attachment("花名册.xlsx", wrong, [])
    assert (read.readable, [p.code for p in read.problems]) == (True, ["unknown-form"])


def test_an_empty_workbook_is_told_to_be_attached_again_not_saved_again():
    """A 0-byte 附件3.xlsx went missing on its way into the mail: saving it again in Excel is no advice."""
    [reading] = read_attachment("附件3.xlsx", b"", UNITS)
    assert (reading.form, reading.readable, [p.code for p in reading.problems]) == (3, False, ["empty"])
    assert reading.problems[0].message == (
        "“附件3.xlsx”是空文件（0 字节），可能在添加或保存文件时出错；请打开原文件确认有内容后重新添加"
    )


def test_a_pdf_named_as_a_workbook_is_asked_for_the_workbook_not_to_be_saved_again():
    """A PDF renamed 附件2.xlsx: opening it in Excel and saving it as .xlsx is no advice (Excel cannot open it);
    the workbook it was made from is asked for."""
    [reading] = read_attachment("附件2.xlsx", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", UNITS)
    [problem] = reading.problems
    assert "内容是 PDF 文件" in problem.message and "请发送原始的 Excel 表格" in problem.message
    assert "另存为" not in problem.message


def test_a_workbook_kept_with_a_sheet_per_month_is_read_at_its_latest_month():
    """GIVEN 武邑县's 附件2 workbook kept with a sheet per month (4月, then 5月 with newer figures), and a 附件7
    likewise WHEN read THEN each is its May sheet alone: May's figures, May's persons once (April's persons
    are not May's registered twice), and a note that the April sheet was not read."""
    import openpyxl

    from tests.data.workbooks.make_workbooks import cert

    book = openpyxl.load_workbook(SAMPLES / "done-vs-registry-summary.xlsx")
    april = book.active
    april.title = "4月"
    may = book.copy_worksheet(april)
    may.title = "5月"
    may["A2"] = "武邑县残联5月份残疾人服务工程目标任务完成情况汇总表"
    may["C6"], may["D6"] = 40, "17.2%"
    data = io.BytesIO()
    book.save(data)
    [summary] = read_attachment("附件2.xlsx", data.getvalue(), UNITS)
    assert (summary.form, summary.month, dict(summary.tasks)["rehab"].done) == (2, "2020-05", 40)
    assert [(p.sheet, p.code) for p in summary.problems] == [("4月", "earlier-month-sheet")]

    book = openpyxl.Workbook()
    for n, (month, count) in enumerate(((4, 3), (5, 5))):
        sheet = book.active if n == 0 else book.create_sheet()
        sheet.title = f"{month}月"
        sheet.append([f"景县2020年{month}月份托养服务补贴实名制登记表"])
        sheet.append(["序号", "姓名", "残疾人证号", "联系电话", "托养类型", "补贴标准", "备注"])
        for i in range(count):
            sheet.append([i + 1, f"张{i}", cert("景县", "19660606", 10 + i), "13831800066", "居家托养", "1200", ""])
    data = io.BytesIO()
    book.save(data)
    [registry] = read_attachment("附件7.xlsx", data.getvalue(), UNITS)
    assert (registry.form, registry.month, registry.rows, registry.distinct_persons()) == (7, "2020-05", 5, 5)
    [note] = registry.problems
    assert note.message == (
        "工作表“4月”是2020年4月的，未读取：本表按最新的2020年5月（工作表“5月”）读取；以前月份的工作表不需要报送，可以删除"
    )


def _day_care_book(sheets: tuple[tuple[str, str, int], ...]) -> bytes:
    """A 附件7 workbook of 景县 with a sheet per (sheet name, title's month words, persons)."""
    import openpyxl

    from tests.data.workbooks.make_workbooks import cert

    book = openpyxl.Workbook()
    for n, (name, month, count) in enumerate(sheets):
        sheet = book.active if n == 0 else book.create_sheet()
        sheet.title = name
        sheet.append([f"景县{month}份托养服务补贴实名制登记表"])
        sheet.append(["序号", "姓名", "残疾人证号", "联系电话", "托养类型", "补贴标准", "备注"])
        for i in range(count):
            sheet.append([i + 1, f"张{i}", cert("景县", "19660606", 10 + i), "13831800066", "居家托养", "1200", ""])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


@pytest.mark.parametrize(
    ("sheets", "month", "rows", "skipped"),
    [
        # a January workbook that kept last December's sheet: January is the latest, not the larger number
        ((("12月", "12月", 4), ("1月", "1月", 2)), "2021-01", 2, ["12月"]),
        ((("1月", "1月", 2), ("12月", "12月", 4)), "2021-01", 2, ["12月"]),
        # kept from November into the new year
        ((("11月", "11月", 1), ("12月", "12月", 2), ("1月", "1月", 3)), "2021-01", 3, ["11月", "12月"]),
        # December's title with its year, January's without
        ((("12月", "2020年12月", 4), ("1月", "1月", 2)), "2021-01", 2, ["12月"]),
        ((("12月", "2020年12月", 4), ("1月", "2021年1月", 2)), "2021-01", 2, ["12月"]),
        # within a year, as before: the larger number
        ((("10月", "10月", 3), ("12月", "12月", 5)), "2020-12", 5, ["10月"]),
    ],
)
def test_the_latest_month_sheet_is_found_across_the_new_year(sheets, month, rows, skipped):
    """GIVEN a workbook kept with a sheet per month WHEN its titles' months turn the year (12月, then 1月) and
    it is sent in January THEN the latest is the month the others lead up to (January, placed by the arrival
    as any title's month without a year), not the larger number; the earlier sheets are named as not read."""
    from parsers.months import UNDATED, placed

    [registry] = read_attachment("附件7.xlsx", _day_care_book(sheets), UNITS, year=UNDATED)
    assert (registry.form, placed(registry.month, datetime(2021, 1, 8)), registry.rows) == (7, month, rows)
    assert [p.sheet for p in registry.problems if p.code == "earlier-month-sheet"] == skipped


def test_a_county_sheet_beside_its_township_sheets_is_read_once():
    """GIVEN a 附件3 with a 全县汇总 sheet of six persons and two township sheets of three each (the same six)
    WHEN read THEN six persons, no duplicates to delete, and the township sheets named as held by the summary."""
    import openpyxl

    from tests.data.workbooks.make_workbooks import cert

    people = [(f"李{i}", cert("景县", "19700101", 20 + i)) for i in range(6)]
    book = openpyxl.Workbook()
    for n, (name, members) in enumerate((("全县汇总", people), ("景州镇", people[:3]), ("龙华镇", people[3:]))):
        sheet = book.active if n == 0 else book.create_sheet()
        sheet.title = name
        sheet.append(["景县2020年5月份康复服务实名制登记表"])
        sheet.append(["序号", "姓名", "残疾人证号", "残疾类别", "残疾等级", "联系电话", "服务项目", "服务细项（内容）"])
        for i, (person, number) in enumerate(members):
            sheet.append([i + 1, person, number, "肢体", "二级", "13831800066", "康复训练", "运动疗法"])
    data = io.BytesIO()
    book.save(data)
    [registry] = read_attachment("附件3.xlsx", data.getvalue(), UNITS)
    assert (registry.form, registry.rows, registry.distinct_persons()) == (3, 6, 6)
    assert [(p.sheet, p.code) for p in registry.problems] == [("景州镇", "part-sheet"), ("龙华镇", "part-sheet")]


@pytest.mark.parametrize(
    "written",
    [
        "0318 4321234",
        "138 0000 0008",
        "138-0000-0008",
        "+8613800000009",
        "+86 138 0000 0009",
        "13800000001 0318-2662889",
    ],
)
def test_phone_numbers_as_people_write_them_are_well_formed(written):
    assert phone_problem(written) is None


@pytest.mark.parametrize("written", ["12345", "138000000", "+8612345", "138 0000 000"])
def test_numbers_that_are_no_phone_are_still_said(written):
    assert phone_problem(written) is not None


def test_a_negative_count_is_read_as_written_whatever_its_minus_sign():
    """-5, －5 (full width) and −5 (U+2212, the minus sign a word processor puts) are each -5 as written (said
    "是负数", not "不是整数"), and refused as a count."""
    assert [written_count(text) for text in ("-5", "－5", "\u22125", "\u22125人")] == [Decimal(-5)] * 4
    assert {parse_count(text) for text in ("-5", "－5", "\u22125")} == {(None, False)}


def test_a_count_written_with_thousands_separators_is_read():
    """饶阳县's target of 2,078 typed as text with its separator is 2078, not "不是整数"; a comma elsewhere is not."""
    assert [parse_count(text) for text in ("2,078", "１，２３４", "12,345,678人", "2,07", "20,78")] == [
        (2078, True),
        (1234, True),
        (12345678, True),
        (None, False),
        (None, False),
    ]
