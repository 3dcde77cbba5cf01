"""The package checks (parsers/checks.py): 附件2's 完成数 against the persons on all the registries of a task
sent with it, counted together; and the problem texts of malformed IDs and phones, which quote a value only
as its cell is shown to a viewer without the personal grant."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from click.testing import CliRunner

from bot.cli.group import main
from parsers.checks import (
    check_package,
    disability_id_problem,
    id_number_problem,
    phone_problem,
    registry_persons,
)
from parsers.forms import FormReading, unreadable
from parsers.privacy import mask_cell, mask_personal
from parsers.records import TASKS, Unit
from parsers.workbook import read_attachment
from tests.conftest import DATA, ROOT
from tests.data.workbooks.make_workbooks import (
    REHAB_HEADER,
    figures,
    registry_sheet,
    rehab_row,
    save,
    summary_sheet,
)

BOOKS = DATA / "workbooks"
SHANGHAI = ZoneInfo("Asia/Shanghai")
WUYI = Unit("武邑县", ("武邑",), ("wyxcl@163.com",), tuple(zip(TASKS, (233, 115, 100, 38, 0, 0))))
REHAB = (BOOKS / "done-vs-registry-rehab.xlsx").read_bytes()  # 5 rows, 4 persons (曹操 twice)
STUDENTS = (BOOKS / "college-students-form9.xlsx").read_bytes()  # 武邑县's 附件9: 2 students


def summary(rehab: int | None = None, college: int | None = None) -> bytes:
    """武邑县's April 附件2 saying `rehab` rehabilitated and `college` helped to college, and none of the other
    tasks its plan gives it (targets left blank)."""
    book = openpyxl.Workbook()
    tasks = [(None, rehab, None), (None, 0, None), (None, 0, None), (None, 0, None), (None, None, None)]
    summary_sheet(
        book.active,
        "武邑县残联4月份残疾人服务工程目标任务完成情况汇总表",
        [("武邑县", figures(*tasks, (None, college, None)))],
    )
    return save(book)


def rehab_registry(*rows: list) -> bytes:
    book = openpyxl.Workbook()
    registry_sheet(
        book.active, "武邑县残联4月份康复服务实名制登记表", REHAB_HEADER, list(rows), fill="填报单位：武邑县残联"
    )
    return save(book)


def read(*files: tuple[str, bytes]) -> list[FormReading]:
    return [reading for name, data in files for reading in read_attachment(name, data, (WUYI,))]


def done_problems(readings) -> list[str]:
    return [problem.message for problem in check_package(readings, WUYI) if problem.code == "done-vs-registry"]


# ---------------------------------------------------------------------------------------------
# The same persons in several files of a task


def test_a_registry_attached_twice_counts_its_persons_once():
    """GIVEN 附件2 saying 4 rehabilitated and 附件3.xlsx with 4 persons, attached a second time as the
    byte-identical 附件3(1).xlsx WHEN checked as one package THEN 4 persons are counted, not 8: no problem;
    and a 附件2 saying 5 is told 4."""
    twice = read(("附件3.xlsx", REHAB), ("附件3(1).xlsx", REHAB))
    assert [reading.distinct_persons() for reading in twice] == [4, 4]
    assert registry_persons(twice) == 4
    assert done_problems([*read(("附件2.xlsx", summary(rehab=4))), *twice]) == []
    [message] = done_problems([*read(("附件2.xlsx", summary(rehab=5))), *twice])
    assert "完成数填的是 5" in message and "登记了 4 人" in message


def test_a_person_in_two_files_of_a_task_counts_once_and_the_others_add_up():
    """GIVEN the rehab registry split over two files, 曹操 in both WHEN counted THEN each person once: 3 + 2 − 1."""
    first = rehab_registry(
        rehab_row(1, "曹操", "武邑县", "19600101", 1),
        rehab_row(2, "曹丕", "武邑县", "19620202", 2),
        rehab_row(3, "曹植", "武邑县", "19640303", 3),
    )
    second = rehab_registry(
        rehab_row(1, "曹操", "武邑县", "19600101", 1, service="辅助器具"),
        rehab_row(2, "曹冲", "武邑县", "19660404", 4),
    )
    package = read(("附件2.xlsx", summary(rehab=4)), ("附件3-1.xlsx", first), ("附件3-2.xlsx", second))
    assert registry_persons(package[1:]) == 4
    assert done_problems(package) == []


def test_rows_without_an_id_count_alone_but_a_file_sent_twice_still_counts_once():
    """GIVEN a registry of 2 persons with 证号 and 2 rows without one (two different people), attached twice,
    and another file with one more row without a 证号 WHEN counted THEN the twice-sent file counts 4, not 8, and
    the other file's row adds one: a row without an ID is one person per file it differs in, the same row (every
    cell alike) in several files once."""
    rows = [
        rehab_row(1, "曹操", "武邑县", "19600101", 1),
        rehab_row(2, "曹丕", "武邑县", "19620202", 2),
        rehab_row(3, "无证甲", "武邑县", "", 0, number=""),
        rehab_row(4, "无证乙", "武邑县", "", 0, number=""),
    ]
    book = rehab_registry(*rows)
    other = rehab_registry(rehab_row(1, "无证丙", "武邑县", "", 0, number=""))
    twice = read(("附件3.xlsx", book), ("附件3(1).xlsx", book))
    assert [reading.distinct_persons() for reading in twice] == [4, 4]
    assert registry_persons(twice) == 4
    assert registry_persons([*twice, *read(("附件3-补.xlsx", other))]) == 5
    assert done_problems([*read(("附件2.xlsx", summary(rehab=4))), *twice]) == []


def test_the_same_registry_twice_in_one_mail_is_not_double_counted(deps):
    """The tester's mail: 附件2 saying 4, 附件3.xlsx and the byte-identical 附件3(1).xlsx: the summary has no
    done-vs-registry problem once ingested."""
    from sqlalchemy import select

    from archive.ingest import Incoming, ingest_batch
    from archive.models import FormReadingRow
    from bot.demo.folder import compose

    message = compose(
        "wyxcl@163.com", "hskf2006@126.com", "武邑县4月份报表", datetime(2020, 4, 18, 10, tzinfo=SHANGHAI)
    )
    for name, data in (("附件2.xlsx", summary(rehab=4)), ("附件3.xlsx", REHAB), ("附件3(1).xlsx", REHAB)):
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(message.as_bytes(), "kfb", "import")])
    with deps.db.session() as session:
        readings = session.scalars(select(FormReadingRow).order_by(FormReadingRow.id)).all()
    assert [(reading.form, reading.readable) for reading in readings] == [(2, True), (3, True), (3, True)]
    assert readings[0].problems == []


def test_inspect_counts_a_registry_given_twice_once(tmp_path):
    """`mailroom inspect 附件2.xlsx 附件3.xlsx 附件3(1).xlsx` (the last two alike): no problem, exit 0."""
    paths = []
    for name, data in (("附件2.xlsx", summary(rehab=4)), ("附件3.xlsx", REHAB), ("附件3(1).xlsx", REHAB)):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    args = ["--config", str(ROOT / "config.example.toml"), "inspect", *map(str, paths), "--json"]
    result = CliRunner().invoke(main, args)
    results = json.loads(result.stdout)
    assert [(r["form"], r["problems"]) for r in results] == [(2, []), (3, []), (3, [])]
    assert result.exit_code == 0


# ---------------------------------------------------------------------------------------------
# A registry of the task that could not be read


def test_no_count_is_compared_while_a_registry_of_the_task_is_unreadable():
    """GIVEN 附件2 saying 3 helped to college, a readable 附件9 of 2 students and a 附件10 cut short in sending
    WHEN checked THEN 完成数 is not compared (附件10's persons are unknown; it has its own problem), where it
    used to say 3 against 2."""
    truncated = (BOOKS / "truncated.xlsx").read_bytes()
    package = read(("附件2.xlsx", summary(college=3)), ("附件9.xlsx", STUDENTS), ("附件10.xlsx", truncated))
    assert [(reading.form, reading.readable) for reading in package] == [(2, True), (9, True), (10, False)]
    assert done_problems(package) == []
    # the readable 附件9 alone is compared, as before
    [message] = done_problems(package[:2])
    assert "完成数填的是 3" in message and "登记了 2 人" in message


def test_a_reader_that_died_on_a_registry_is_known_by_the_file_name():
    """A file whose reader died is known only by its name (no form): 附件10.xlsx, also inside a zip, still
    stops the college comparison; an unreadable file of another task or of no known form does not."""
    readable = read(("附件2.xlsx", summary(rehab=5, college=3)), ("附件9.xlsx", STUDENTS), ("附件3.xlsx", REHAB))
    for source in ("附件10.xlsx", "景县报表.zip › 景县12月/附件10.xlsx"):
        [message] = done_problems([*readable, unreadable(source, "读取时出错")])
        assert "康复服务的完成数填的是 5" in message
    for source in ("附件4.xlsx", "说明.xlsx"):
        assert len(done_problems([*readable, unreadable(source, "读取时出错")])) == 2


# ---------------------------------------------------------------------------------------------
# Problem texts quote a number only masked


MALFORMED = [
    # (check, the column's key, value, what the text still tells the clerk)
    (id_number_problem, "id_number", "13112719770707OO12", "第 15–16 位是字母"),
    (id_number_problem, "id_number", "1311271977O7O7123X", "第 11、13 位是字母"),
    (id_number_problem, "id_number", "13112719771307123X", "第 7–14 位应为有效的出生日期"),
    (id_number_problem, "id_number", "131127199502310003", "第 7–14 位应为有效的出生日期"),  # 2月31日
    (
        disability_id_problem,
        "disability_id",
        "13112719950231000613",
        "第 7–14 位应为有效的出生日期",
    ),  # check digit right
    (
        disability_id_problem,
        "disability_id",
        "13112719950231000313",
        "前 18 位（身份证号）格式不对：第 7–14 位应为有效的出生日期",
    ),
    (id_number_problem, "id_number", "1311271977070", "有 13 位，应为 18 位"),
    (id_number_problem, "id_number", "1.311271977E+17", "科学计数法"),
    (lambda value: disability_id_problem(value, True), "disability_id", "1311271977070", "有 13 位，应为 20 位"),
    (disability_id_problem, "disability_id", "13112719770707OO1234", "前 18 位（身份证号）格式不对：第 15–16 位是字母"),
    (disability_id_problem, "disability_id", "1311271977070712345", "有 19 位"),
    (phone_problem, "phone", "1395550123", "手机号应为 11 位（1 开头），现在是 10 位"),
    (phone_problem, "phone", "139555012345", "现在是 12 位"),
    (phone_problem, "phone", "139-5551-1234转8", "手机号应为 11 位"),
]


@pytest.mark.parametrize("check, key, value, advice", MALFORMED)
def test_a_malformed_number_is_quoted_as_its_cell_is_masked(check, key, value, advice):
    """GIVEN a malformed ID or phone (which the masking of free text does not recognise) WHEN checked THEN the
    text quotes it as mask_cell shows the cell to a viewer without the grant, no hidden digit in it, and still
    says what to fix."""
    message = check(value)
    assert message is not None and advice in message
    assert f"“{mask_cell(key, value)}”" in message
    assert value not in message
    assert f"“{mask_cell(key, value)}”" in mask_personal(message)  # the web's masking finds nothing more in it


def _one_hidden_digit_changed(key: str, value: str) -> str:
    """`value` with one digit changed that its masked cell hides: the cell looks the same."""
    for at, char in enumerate(value):
        if char.isdigit():
            other = value[:at] + ("1" if char != "1" else "2") + value[at + 1 :]
            if mask_cell(key, other) == mask_cell(key, value):
                return other
    raise AssertionError(f"no hidden digit in {value}")


@pytest.mark.parametrize("check, key, value, advice", [case for case in MALFORMED if "E+" not in case[2]])
def test_a_masked_viewer_cannot_tell_a_hidden_digit_from_the_text(check, key, value, advice):
    """Two values differing in one digit their cell hides give a viewer without the grant the same text."""
    other = _one_hidden_digit_changed(key, value)
    assert check(other) is not None
    assert mask_personal(check(value)) == mask_personal(check(other))


def test_a_registry_read_names_the_cell_and_quotes_no_malformed_number():
    """The testers' rows read from a real 附件3: each problem names its row and column; no malformed number is
    in any text, a duplicate of a malformed 证号 included."""
    values = ("13112719770707OO12", "1311271977070", "1395550123")
    rows = [
        rehab_row(1, "一号", "武邑县", "", 0, number=values[0]),
        rehab_row(2, "二号", "武邑县", "", 0, number=values[1]),
        rehab_row(3, "三号", "武邑县", "19640303", 3, phone=values[2]),
        rehab_row(4, "四号", "武邑县", "", 0, number=values[1]),
    ]
    [reading] = read(("附件3.xlsx", rehab_registry(*rows)))
    places = sorted((problem.row, problem.column, problem.code) for problem in reading.problems)
    assert places == [
        (4, "C", "bad-disability-id"),
        (5, "C", "bad-disability-id"),
        (5, "C", "duplicate-person"),
        (6, "F", "bad-phone"),
        (7, "C", "bad-disability-id"),
        (7, "C", "duplicate-person"),
    ]
    texts = "\n".join(problem.message for problem in reading.problems)
    assert not any(value in texts for value in values)
    assert "第 15–16 位是字母" in texts and "有 13 位" in texts and "现在是 10 位" in texts
    assert not any(value in mask_personal(texts) for value in values)


def test_an_id_stored_as_a_number_is_shown_masked():
    """registry-id-as-number.xlsx: the 证号 saved as numbers, their last digits turned to 0: the text shows
    what the cell shows to a viewer without the grant."""
    [reading] = read_attachment("附件3.xlsx", (BOOKS / "registry-id-as-number.xlsx").read_bytes(), (WUYI,))
    messages = [problem.message for problem in reading.problems]
    assert [problem.code for problem in reading.problems] == ["id-precision-lost"] * 2
    assert "显示为 131127**********0000" in messages[0] and "13112719800101000000" not in messages[0]


def test_an_empty_count_where_the_unit_has_a_target_is_a_problem_and_a_negative_one_is_said_so():
    """GIVEN 武邑县's 附件2 with 实用技术培训's 完成数 left empty (its target 100) and 无障碍改造's too (its target 0),
    and 托养服务's written -5 WHEN checked THEN the empty one with a target is a problem saying the task scores
    nothing unfilled (it passed 自查 and the receipt, then scored 0), the one without a target is not, and -5 is
    said to be negative (it was "not an integer")."""
    book = openpyxl.Workbook()
    tasks = [(233, 5, None), (115, 2, None), (100, None, None), (38, -5, None), (0, None, None), (0, 0, None)]
    summary_sheet(book.active, "武邑县残联4月份残疾人服务工程目标任务完成情况汇总表", [("武邑县", figures(*tasks))])
    [reading] = read(("附件2.xlsx", save(book)))
    problems = [(problem.column, problem.message) for problem in (*reading.problems, *check_package([reading], WUYI))]
    assert problems == [
        ("L", "托养服务的完成数“-5”是负数；请填写 0 或正整数"),
        ("I", "实用技术培训的完成数没有填写：全年目标为 100，不填写则该项不计分；请填写数字（没有完成的填 0）"),
    ]
