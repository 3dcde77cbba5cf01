"""附件3–10 as units really lay them out: a column of their own added (补贴金额, 学生姓名), a 合计 row and
signature lines under the table, one person's cells merged over two service rows, an ID pasted in
scientific notation, an office lock file zipped with the package, a 附件2 laid out the other way round
(parsers/form_layouts.py, forms.py, sheet.py, registry.py, checks.py, workbook.py)."""

from __future__ import annotations

import os
import shutil
import subprocess

import openpyxl
import pytest

from bot.demo.season.sheets import REGISTRY_HEADERS
from parsers.checks import disability_id_problem, id_number_problem, registry_persons
from parsers.forms import FormReading
from parsers.workbook import read_attachment
from tests.data.workbooks import office_bytes
from tests.data.workbooks.make_workbooks import (
    BARRIER_HEADER,
    CARE_HEADER,
    DEVICES_HEADER,
    REHAB_HEADER,
    TRAINING_HEADER,
    cert,
    id18,
    registry_sheet,
    save,
)
from tests.test_workbooks import SAMPLES, UNITS

STUDENTS_HEADER = list(REGISTRY_HEADERS[9])  # the templates' own, as the demo season writes them
CHILDREN_HEADER = list(REGISTRY_HEADERS[10])  # the templates' own, as the demo season writes them
HEADERS = {3: REHAB_HEADER, 4: DEVICES_HEADER, 5: TRAINING_HEADER, 6: TRAINING_HEADER, 7: CARE_HEADER}
HEADERS |= {8: BARRIER_HEADER, 9: STUDENTS_HEADER, 10: CHILDREN_HEADER}
TITLES = {
    3: "景县残联2020年4月份康复服务实名制登记表",
    4: "景县残联2020年4月份辅助器具适配实名制登记表",
    5: "景县残联2020年4月份农村实用技术培训实名制登记表",
    6: "景县残联2020年4月份职业技能培训实名制登记表",
    7: "景县残联2020年4月份托养服务补贴实名制登记表",
    8: "景县残联2020年4月份残疾人家庭无障碍改造实名制登记表",
    9: "衡水市资助2020年考入高等院校贫困残疾学生汇总表（景县）",
    10: "衡水市资助2020年考入高等院校贫困残疾人家庭子女汇总表（景县）",
}
NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊")
# A cell's value by the words of its header, for any form's columns.
VALUES = (
    ("父", "张大山"),
    ("身份证", "ID18"),
    ("证号", "CERT"),
    ("姓名", "NAME"),
    ("序号", "SERIAL"),
    ("电话", "PHONE"),
    ("性别", "男"),
    ("民族", "汉"),
    ("出生", "2001.05"),
    ("类别", "肢体"),
    ("等级", "二级"),
    ("服务项目", "康复训练"),
    ("细项", "运动疗法"),
    ("器具", "轮椅"),
    ("改造项目", "卫生间改造"),
    ("金额", 1200),
    ("培训类型", "种植业"),
    ("托养服务类型", "日间照料"),
    ("机构", "景县托养中心"),
    ("时间", "2020.4"),
    ("住址", "景县景州镇"),
    ("院校", "河北大学 计算机"),
    ("建档", "是"),
)


def person_row(header: list[str], n: int) -> list:
    """Person n (0-based) of a registry with this header: each cell by its header's words."""
    row: list = []
    for label in header:
        words = "".join(label.split())
        value = next((value for word, value in VALUES if word in words), None)
        row.append(
            {
                "ID18": id18("景县", f"19{60 + n}0{1 + n % 9}1{n % 9}", n + 1),
                "CERT": cert("景县", f"19{60 + n}0{1 + n % 9}1{n % 9}", n + 1),
                "NAME": NAMES[n],
                "SERIAL": n + 1,
                "PHONE": f"1380000000{n}",
            }.get(value, value)
            if isinstance(value, str)
            else value
        )
    return row


def registry(form: int, persons: int = 3, header: list[str] | None = None, after: tuple[list, ...] = ()) -> bytes:
    """A registry as the template lays it out (title, 填报单位 row, header, persons), then the rows `after`."""
    header = header or HEADERS[form]
    wb = openpyxl.Workbook()
    rows = [person_row(header, n) for n in range(persons)] + [list(row) for row in after]
    registry_sheet(wb.active, TITLES[form], header, rows, fill="填报单位：景县残联（盖章）")
    return save(wb)


def read_one(data: bytes, filename: str = "新建 Microsoft Excel 工作表.xlsx") -> FormReading:
    readings = read_attachment(filename, data, UNITS)
    assert len(readings) == 1, readings
    return readings[0]


def codes(reading: FormReading) -> list[str]:
    return [problem.code for problem in reading.problems]


# ---------------------------------------------------------------------------------------------
# A column a unit added does not make one form another


@pytest.mark.parametrize("form", [4, 5, 6, 7])
@pytest.mark.parametrize("label", ["补贴金额（元）", "补贴金额"])
def test_an_added_subsidy_column_keeps_the_form_the_title_names(form, label):
    """GIVEN a standard 附件4/5/6/7 with a 补贴金额 column added WHEN read THEN it is the form its title names,
    without a title-mismatch or a missing 改造项目: 补贴金额 is no sign of 附件8."""
    reading = read_one(registry(form, header=[*HEADERS[form], label]))
    assert (reading.form, reading.rows, reading.unit, reading.month) == (form, 3, "景县", "2020-04")
    assert reading.problems == ()


def test_an_added_subsidy_column_on_a_registry_marked_only_as_attachment_7():
    """The title row rewritten in words naming no form: the template's 附件7 mark above it still names it."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["附件7"])
    ws.append(["景县残联2020年4月份托养补贴发放花名册"])
    ws.append([*CARE_HEADER, "补贴金额（元）"])
    ws.append(person_row([*CARE_HEADER, "补贴金额（元）"], 0))
    reading = read_one(save(wb))
    assert (reading.form, reading.rows, reading.problems) == (7, 1, ())


def test_a_form9_whose_name_column_says_student_name_is_form9():
    """学生姓名 is 附件9's name column as much as 附件10's: only a 父（母）姓名 column makes 附件10."""
    header = ["学生姓名" if label == "姓名" else label for label in STUDENTS_HEADER]
    reading = read_one(registry(9, persons=1, header=header))
    assert (reading.form, reading.rows, reading.problems) == (9, 1, ())
    assert reading.persons[0].get("name") == "张伟"


@pytest.mark.parametrize(
    "title_form, header_form",
    [(9, 10), (7, 8), (3, 4)],
)
def test_a_header_of_another_form_still_wins_over_the_title(title_form, header_form):
    """GIVEN a title naming one form over the header of another, which that form lacks entirely (附件10's
    父（母）姓名, 附件8's 改造项目 without a 托养 column) WHEN read THEN the header decides and the title is queried."""
    wb = openpyxl.Workbook()
    header = HEADERS[header_form]
    registry_sheet(wb.active, TITLES[title_form], header, [person_row(header, 0)], fill="填报单位：景县残联")
    reading = read_one(save(wb))
    assert reading.form == header_form
    assert codes(reading) == ["title-mismatch"]
    assert f"标题是附件{title_form}" in reading.problems[0].message


def test_a_title_naming_form10_keeps_a_header_without_its_parent_column():
    """附件10's header holds 附件9's signs too: without its 父（母）姓名 column it is still the 附件10 the title
    names, and the missing columns are what is said."""
    header = ["学生姓名" if label == "姓名" else label for label in STUDENTS_HEADER]
    reading = read_one(registry(10, persons=1, header=header))
    assert reading.form == 10
    assert "title-mismatch" not in codes(reading)
    assert any("父（母）姓名" in problem.message for problem in reading.problems)


# ---------------------------------------------------------------------------------------------
# Rows under the table that are not persons


@pytest.mark.parametrize(
    "total",
    [
        ["", "合计", "", "", "", "", 3600, ""],
        ["合计", "3人", "", "", "", "", 3600, ""],
        ["合 计", "", "", "", "", "", 3600, ""],
        ["", "", "总计：3户", "", "", "", 3600, ""],
        ["人数", "3", "", "", "", "", "", ""],
        ["", "总人数", "3", "", "", "", "", ""],
        ["", "以上共3人", "", "", "", "", "", ""],
        ["", "共３人", "", "", "", "", 3600, ""],
        ["填表", "说明：此表由县级残联汇总上报"],
    ],
)
def test_a_total_row_is_not_a_person(total):
    """GIVEN 附件8 with a 合计 row below its 3 people (合计 under 姓名, or under 序号 with "3人" under 姓名; 人数 beside
    the count, 以上共3人; a 填表说明 split over two cells) WHEN read THEN 3 persons and no problem: no
    “残疾人证号没有填写” for the 合计 row."""
    reading = read_one(registry(8, after=(total, ["备注：1.此表由县级残联汇总上报"])))
    assert (reading.form, reading.rows, reading.problems) == (8, 3, ())
    assert reading.distinct_persons() == 3


def test_persons_after_a_subtotal_row_are_read():
    """A 小计 closes one township's rows, not the table: the persons after it are read too."""
    header = BARRIER_HEADER
    rows = [person_row(header, n) for n in range(5)]
    wb = openpyxl.Workbook()
    table = [*rows[:3], ["小计", "", "", "", "", "", 3600, ""], *rows[3:], ["合计", "5人", "", "", "", "", 6000, ""]]
    registry_sheet(wb.active, TITLES[8], header, table, fill="填报单位：景县残联")
    reading = read_one(save(wb))
    assert (reading.rows, reading.problems) == (5, ())
    assert [person.row for person in reading.persons] == [4, 5, 6, 8, 9]


@pytest.mark.parametrize(
    "footer",
    [
        ["主管领导：", "", "填表人：张三", "", "联系电话：13812345678", "", "填报日期：2020年4月30日"],
        ["审核：王五", "", "制表：张三", "", "电话：13812345678"],
        ["", "单位负责人：李四", "", "", "", "填报日期：2020.4.30"],
    ],
)
def test_a_signature_row_is_not_a_person(footer):
    """GIVEN 附件5 with a signature line below its 3 people, its labels spread over the cells WHEN read THEN
    3 persons and no problem: no bad 残疾人证号 “填表人：张三”, no bad phone “联系电话：…”."""
    reading = read_one(registry(5, after=([], footer)))
    assert (reading.form, reading.rows, reading.problems) == (5, 3, ())


@pytest.mark.parametrize(
    "between",
    [
        ["注：以下3人为8月份漏报，本月补录"],
        ["说明", "以下为0-6岁儿童"],
        ["审核人：李四", "", "填表人：张三"],  # a printed page's signature line, the header not repeated
    ],
)
def test_persons_below_a_note_or_a_signature_line_are_read(between):
    """GIVEN 附件3 with a note row or a page's signature line after 3 persons, then 3 more persons WHEN read THEN
    6 persons: those below were dropped silently (inspect said 未发现问题, the receipt told the clerk its 完成数
    of 6 was wrong); the note is no person."""
    more = [person_row(REHAB_HEADER, n) for n in range(3, 6)]
    reading = read_one(registry(3, after=(between, *more)))
    assert (reading.rows, reading.problems) == (6, ())
    assert [person.row for person in reading.persons] == [4, 5, 6, 8, 9, 10]


@pytest.mark.parametrize("spelt", ["姓　名", "姓  名", "姓\n名", "姓名 "])
def test_a_repeated_header_is_no_person_however_its_name_cell_is_spaced(spelt):
    """GIVEN 附件3 with its header repeated below 3 persons, 姓名 spaced as WPS's templates space it WHEN read
    THEN 6 persons and no problem: the repeat was a person with a 5-digit 残疾人证号 and a duplicate."""
    header = [spelt if label == "姓名" else label for label in REHAB_HEADER]
    more = [person_row(REHAB_HEADER, n) for n in range(3, 6)]
    reading = read_one(registry(3, after=(header, *more)))
    assert (reading.rows, reading.problems) == (6, ())


def test_ids_typed_as_numbers_losing_the_same_digits_are_no_duplicates():
    """GIVEN 附件3 whose 4 persons' 残疾人证号 were typed as numbers, each losing its last digits to the same
    131127…0000 (one county, one birth date) WHEN read THEN 4 persons, each told its number lost digits, none
    told to be deleted as a duplicate (a clerk following that deleted three real people)."""
    rows = [person_row(REHAB_HEADER, n) for n in range(4)]
    at = next(i for i, label in enumerate(REHAB_HEADER) if "证号" in label)
    for n, row in enumerate(rows):
        row[at] = float(f"13112719800101{n:04d}12")
    wb = openpyxl.Workbook()
    registry_sheet(wb.active, TITLES[3], REHAB_HEADER, rows, fill="填报单位：景县残联（盖章）")
    reading = read_one(save(wb))
    assert (reading.rows, reading.distinct_persons(), registry_persons([reading])) == (4, 4, 4)
    assert codes(reading) == ["id-precision-lost"] * 4


def test_one_persons_card_of_another_level_and_id_number_are_one_person():
    """GIVEN 附件3 (children without a card may be given by their 身份证号) listing person 0 a second time under their
    身份证号 and person 1 a second time under a card of another 等级 (assessed again), for the same service WHEN
    read THEN 4 persons, not 6, and both repeats told as duplicates: a 残疾人证号 is its holder's 身份证号 and two
    digits."""
    rows = [person_row(REHAB_HEADER, n) for n in range(4)]
    at = REHAB_HEADER.index("残疾人证号")
    by_id, by_level = list(rows[0]), list(rows[1])
    by_id[at] = rows[0][at][:18]
    by_level[at] = rows[1][at][:19] + ("1" if rows[1][at][19] != "1" else "2")
    reading = read_one(registry(3, persons=0, after=(*rows, by_id, by_level)))
    assert (reading.rows, reading.distinct_persons(), registry_persons([reading])) == (6, 4, 4)
    assert sorted(p.row for p in reading.problems if p.code == "duplicate-person") == [4, 5, 8, 9]


def test_a_registrys_sheets_named_for_months_are_all_read():
    """GIVEN 附件3 on two sheets named 1-6月 and 7-9月 under a title naming no month, each its months' persons WHEN
    read THEN all 6 persons: sheets named for months set the earlier aside for 附件2 only, whose figures are
    cumulative (review)."""
    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "1-6月"
    title = "景县残联康复服务实名制登记表"
    registry_sheet(
        first, title, REHAB_HEADER, [person_row(REHAB_HEADER, n) for n in range(3)], fill="填报单位：景县残联"
    )
    later = wb.create_sheet("7-9月")
    registry_sheet(
        later, title, REHAB_HEADER, [person_row(REHAB_HEADER, n) for n in range(3, 6)], fill="填报单位：景县残联"
    )
    reading = read_one(save(wb))
    assert (reading.rows, reading.problems) == (6, ())


@pytest.mark.parametrize("title", [None, "续表"])
def test_persons_on_a_second_sheet_without_a_header_are_said_unread(title):
    """GIVEN 附件3 whose persons go on, without the header, on a second sheet (a page pasted on a sheet of its own)
    WHEN read THEN the first sheet's 3 persons, and a problem naming the second sheet and its first person's row:
    they were dropped without a word (inspect said 未发现问题). A sheet of notes only stays unmentioned."""
    wb = openpyxl.Workbook()
    registry_sheet(
        wb.active, TITLES[3], REHAB_HEADER, [person_row(REHAB_HEADER, n) for n in range(3)], fill="填报单位：景县残联"
    )
    more = wb.create_sheet("Sheet2")
    if title:
        more.append([title])
    for n in range(3, 6):
        more.append(person_row(REHAB_HEADER, n))
    wb.create_sheet("说明").append(["本表由乡镇汇总后报送，联系电话 0318-1234567"])
    reading = read_one(save(wb))
    assert (reading.form, reading.rows) == (3, 3)
    [problem] = reading.problems
    first = 2 if title else 1
    assert (problem.code, problem.sheet, problem.row) == ("headerless-rows", "Sheet2", first)
    assert f"工作表“Sheet2”从第 {first} 行起像是人员名单" in problem.message


@pytest.mark.parametrize(
    "header",
    [
        ["序号", "姓名", "性别", "公民身份号码", "残疾类别", "残疾等级", "现住址"],
        ["姓名", "身份证号", "银行卡号", "补贴金额"],
    ],
)
def test_a_second_sheet_of_persons_under_a_header_of_its_own_is_not_said_headerless(header):
    """GIVEN 附件3 and, on a second sheet, the persons as a national system exports them or a payment list, under a
    header of its own WHEN read THEN no problem: they were told 没有表头 (reviewer)."""
    wb = openpyxl.Workbook()
    registry_sheet(
        wb.active, TITLES[3], REHAB_HEADER, [person_row(REHAB_HEADER, n) for n in range(3)], fill="填报单位：景县残联"
    )
    more = wb.create_sheet("花名册")
    more.append(header)
    more.append(["1", "王小明", "男", "131127201503150012", "肢体", "二级", "景县王瞳镇"][: len(header)])
    reading = read_one(save(wb))
    assert (reading.form, reading.rows, reading.problems) == (3, 3, ())


def test_a_name_whose_rare_character_was_lost_is_told():
    """GIVEN 附件3 whose names came through an export without their rare characters (王?明, 李？, U+FFFD) WHEN read
    THEN each is a person and each name is told, with its row, as a character lost: the clerk is never told and
    the person stays registered under a name nobody has."""
    rows = [person_row(REHAB_HEADER, n) for n in range(4)]
    at = REHAB_HEADER.index("姓 名")
    for row, name in zip(rows, ["王?明", "李？", "张\ufffd", "刘洋"], strict=True):
        row[at] = name
    reading = read_one(registry(3, persons=0, after=tuple(rows)))
    assert reading.rows == 4
    lost = [(p.row, p.message) for p in reading.problems if p.code == "name-character-lost"]
    assert [row for row, _ in lost] == [4, 5, 6]
    assert "第 4 行姓名“王?明”中有“?”，多半是生僻字在另存或复制时丢失了" in lost[0][1]
    assert "“李？”中有“？”" in lost[1][1]


def test_a_person_whose_phone_cell_says_phone_stays_a_person():
    """A label in a person's own cell (电话：138…) does not make the row a signature line: it has a name."""
    row = person_row(TRAINING_HEADER, 3)
    row[2], row[4] = "", "电话：13800000003"
    reading = read_one(registry(5, after=(row,)))
    assert reading.rows == 4
    assert ("empty-required", 7) in [(problem.code, problem.row) for problem in reading.problems]


# ---------------------------------------------------------------------------------------------
# One person over two rows


def merged_person_book() -> openpyxl.Workbook:
    """附件3: two people, then 李娜 with two services, her 序号…联系电话 and 建档 cells merged over both rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    rows = [person_row(REHAB_HEADER, n) for n in range(3)]
    rows.append(["", "", "", "", "", "", "辅助器具", "轮椅适配", "", ""])
    registry_sheet(ws, TITLES[3], REHAB_HEADER, rows, fill="填报单位：景县残联")
    for column in (*range(1, 7), 9):
        ws.merge_cells(start_row=6, start_column=column, end_row=7, end_column=column)
    return wb


def assert_one_person_over_two_rows(reading: FormReading) -> None:
    assert (reading.form, reading.rows, reading.problems) == (3, 4, ())
    assert reading.distinct_persons() == 3
    second = reading.persons[3]
    assert (second.row, second.get("name"), second.get("service")) == (7, "李娜", "辅助器具")
    assert second.get("disability_id") == reading.persons[2].get("disability_id")


def test_a_person_merged_over_two_service_rows_is_one_person_xlsx():
    """GIVEN 姓名 and 残疾人证号 merged over one person's two service rows (an .xlsx) WHEN read THEN the second
    row is the same person: no “姓名/残疾人证号没有填写”, 3 distinct persons."""
    assert_one_person_over_two_rows(read_one(save(merged_person_book()), "附件3.xlsx"))


@pytest.fixture(scope="module")
def merged_person_xls(tmp_path_factory) -> bytes:
    """merged_person_book saved by LibreOffice Calc as .xls (BIFF8, as WPS saves it)."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice Calc not installed: run scripts/install.sh --test")
    folder = tmp_path_factory.mktemp("merged")
    merged_person_book().save(folder / "附件3.xlsx")
    subprocess.run(
        [office, "--headless", "--convert-to", "xls", "--outdir", str(folder), str(folder / "附件3.xlsx")],
        check=True,
        capture_output=True,
        timeout=120,
        env={**os.environ, "HOME": str(folder)},
    )
    data = (folder / "附件3.xls").read_bytes()
    assert data.startswith(b"\xd0\xcf\x11\xe0")
    return data


def test_a_person_merged_over_two_service_rows_is_one_person_xls(merged_person_xls):
    """The same saved by LibreOffice as .xls: calamine gives the merged value only in the top-left cell."""
    assert_one_person_over_two_rows(read_one(merged_person_xls, "附件3.xls"))


# ---------------------------------------------------------------------------------------------
# An ID in scientific notation


def test_an_id_pasted_in_scientific_notation_says_so():
    """GIVEN an ID cell holding the text “1.31127E+19” WHEN read THEN the problem says Excel/WPS turned it into
    scientific notation and to re-enter it as text, not that it has 11 digits."""
    row = person_row(TRAINING_HEADER, 3)
    row[2] = "1.31127E+19"
    reading = read_one(registry(5, after=(row,)))
    [problem] = reading.problems
    assert (problem.code, problem.row, problem.column) == ("id-precision-lost", 7, "C")
    assert "科学计数法" in problem.message and "文本" in problem.message and "位，应为" not in problem.message


@pytest.mark.parametrize("check", [disability_id_problem, id_number_problem])
@pytest.mark.parametrize("value", ["1.31127E+19", "1.31127e+17", " 1.3E+19 "])
def test_id_checks_recognise_scientific_notation(check, value):
    problem = check(value)
    assert problem is not None and "科学计数法" in problem and "位，应为" not in problem


# ---------------------------------------------------------------------------------------------
# Office lock files


LOCK_BYTES = b"\x04\x00\xe5\xbc\xa0\xe4\xb8\x89" + b"\x00" * 154  # Excel's 162-byte owner file
LO_LOCK_BYTES = ",张三,PC-01,18.04.2020 10:00,file:///C:/Users/zhang/AppData/Roaming/LibreOffice/4;".encode()


def test_lock_files_zipped_with_the_package_are_skipped():
    """GIVEN a GBK zip holding 附件7.xlsx and, zipped while it was open, ~$附件7.xlsx and LibreOffice's
    .~lock.附件7.xlsx# WHEN read THEN only the 附件7 is read, and nothing is unreadable."""
    data = office_bytes.zip_bytes(
        {
            "景县4月报表/附件7.xlsx": registry(7),
            "景县4月报表/~$附件7.xlsx": LOCK_BYTES,
            "景县4月报表/.~lock.附件7.xlsx#": LO_LOCK_BYTES,
        },
        gbk_names=True,
    )
    reading = read_one(data, "景县4月报表.zip")
    assert reading.source.endswith("景县4月报表/附件7.xlsx")
    assert (reading.form, reading.rows, reading.readable, reading.problems) == (7, 3, True, ())


@pytest.mark.parametrize(
    "name, data", [("~$附件7.xlsx", LOCK_BYTES), ("~$附件1.docx", LOCK_BYTES), (".~lock.附件7.xlsx#", LO_LOCK_BYTES)]
)
def test_a_lock_file_attached_by_itself_holds_no_form(name, data):
    assert read_attachment(name, data, UNITS) == ()


# ---------------------------------------------------------------------------------------------
# 附件2 without its header


def test_a_transposed_summary_is_told_which_header_it_needs():
    """GIVEN 附件2 with its tasks as rows (项目 | 目标数 | 完成数 | 百分比) WHEN read THEN the problem names
    附件2's header (目标数/完成数/百分比 across, one row per unit), not a registry's 姓名/残疾人证号."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["附件2"])
    ws.append(["景县残联2020年4月份目标任务完成情况汇总表"])
    ws.append(["项目", "目标数", "完成数", "百分比"])
    for task, target, done in (("康复服务（人）", 233, 100), ("适配辅助器具（人）", 115, 50)):
        ws.append([task, target, done, f"{done * 100 / target:.1f}%"])
    reading = read_one(save(wb), "附件2.xlsx")
    [problem] = [problem for problem in reading.problems if problem.code == "no-header"]
    assert "目标数" in problem.message and "每个单位一行" in problem.message
    assert "姓名" not in problem.message and "残疾人证号" not in problem.message


def test_a_registry_without_its_header_still_names_a_registry_header():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([TITLES[7]])
    ws.append(["张伟", cert("景县", "19600111", 1)])
    [problem] = read_one(save(wb)).problems
    assert problem.code == "no-header" and "“姓名”“残疾人证号”" in problem.message


def test_a_lock_file_attached_beside_a_form_is_not_reported_by_the_self_check():
    """An office lock file sent along (~$附件3.xlsx) is nothing the clerk must fix: the check names no file for
    it and finds no problem in the package because of it."""
    from parsers.inspection import inspect_attachments

    form = (SAMPLES / "bad-ids-and-phones.xlsx").read_bytes()
    results = inspect_attachments([("~$附件3.xlsx", b"\x06jxcl  " + bytes(155)), ("附件3.xlsx", form)], UNITS, 2020)
    assert [result["file"] for result in results] == ["附件3.xlsx"]
