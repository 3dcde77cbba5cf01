"""`mailroom inspect`: what a clerk sees before sending, as JSON and as plain Chinese lines."""

import json

from click.testing import CliRunner

from bot.cli import main
from tests.conftest import DATA, ROOT

BOOKS = DATA / "workbooks"


def inspect(*names: str, as_json: bool = True):
    args = ["--config", str(ROOT / "config.example.toml"), "inspect", *(str(BOOKS / n) for n in names)]
    result = CliRunner().invoke(main, args + (["--json"] if as_json else []))
    return result.exit_code, (json.loads(result.stdout) if as_json else result.stdout)


def test_a_clean_summary_reports_its_figures_and_exits_zero():
    code, [summary] = inspect("summary-unit-row-only.xlsx")
    assert code == 0
    assert summary == {"file": str(BOOKS / "summary-unit-row-only.xlsx"), "form": 2, "unit": "桃城区",
                       "month": "2020-04", "rows": 1, "readable": True, "problems": [],
                       "done": {"rehab": 100, "devices": 90, "rural_training": None, "day_care": None,
                                "barrier_free": None, "college": None}}


def test_files_given_together_are_checked_as_one_package():
    code, results = inspect("summary-unit-row-only.xlsx", "hidden-sheet.xlsx")
    assert code == 1
    summary = next(result for result in results if result["form"] == 2)
    [problem] = summary["problems"]
    assert (problem["code"], problem["column"], problem["row"]) == ("done-vs-registry", "C", 6)
    assert "登记了 2 人" in problem["message"]


def test_zip_members_are_named_inside_the_file():
    _, results = inspect("package-gbk-names.zip")
    assert [(r["file"].split(" › ")[-1], r["form"]) for r in results] == [
        ("四月报表/附件2.xlsx", 2), ("四月报表/附件3.xls", 3), ("四月报表/附件1进展情况报告.docx", 1)]
    assert {r["unit"] for r in results} == {"枣强县"}


def test_problems_carry_sheet_row_column_and_say_what_to_fix():
    code, [registry] = inspect("bad-ids-and-phones.xlsx")
    assert code == 1 and registry["form"] == 3
    places = {(p["column"], p["row"], p["code"]) for p in registry["problems"]}
    assert ("C", 6, "bad-disability-id") in places and ("F", 9, "bad-phone") in places
    assert all(p["message"] and p["sheet"] for p in registry["problems"])


def test_unreadable_files_get_a_plain_answer():
    code, text = inspect("encrypted.xlsx", "progress-report.wps", as_json=False)
    assert code == 1
    assert "无法读取" in text and "取消密码" in text and "另存为”.docx" in text
