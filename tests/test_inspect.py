"""`mailroom inspect`: what a clerk sees before sending, as JSON and as plain Chinese lines."""

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from click.testing import CliRunner

from bot.cli.group import main
from tests.conftest import DATA, ROOT

BOOKS = DATA / "workbooks"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def inspect(*names: str, as_json: bool = True):
    args = ["--config", str(ROOT / "config.example.toml"), "inspect", *(str(BOOKS / n) for n in names)]
    result = CliRunner().invoke(main, args + (["--json"] if as_json else []))
    return result.exit_code, (json.loads(result.stdout) if as_json else result.stdout)


def test_a_clean_summary_reports_its_figures_and_exits_zero():
    code, [summary] = inspect("summary-unit-row-only.xlsx")
    assert code == 0
    assert summary == {
        "file": str(BOOKS / "summary-unit-row-only.xlsx"),
        "form": 2,
        "unit": "桃城区",
        "month": "2020-04",
        "rows": 1,
        "readable": True,
        "problems": [],
        "done": {
            "rehab": 100,
            "devices": 90,
            "rural_training": None,
            "day_care": None,
            "barrier_free": None,
            "college": None,
        },
    }


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
        ("四月报表/附件2.xlsx", 2),
        ("四月报表/附件3.xls", 3),
        ("四月报表/附件1进展情况报告.docx", 1),
        ("四月报表/简报.pdf", None),  # no form, said so
    ]
    assert {r["unit"] for r in results if r["form"]} == {"枣强县"}


@pytest.mark.parametrize("cut", ["in the second member", "after the first member"])
def test_a_zip_cut_short_after_a_stored_workbook_is_said_incomplete_not_read_as_that_workbook(tmp_path, cut):
    """GIVEN a package zipped without compression (附件2.xlsx, then 附件3.xlsx) and cut short in transit, after the
    first member or within the second WHEN inspected THEN it is said to be incomplete, to be zipped again: the
    first workbook's own directory, stored whole inside, made it read as that workbook, 附件2 alone, and the
    receipt said 附件3 was never sent (a soak test's half-cut zip)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("景县附件2.xlsx", (BOOKS / "summary-unit-row-only.xlsx").read_bytes())
        archive.writestr("景县附件3.xlsx", (BOOKS / "rehab-registry-two-age-sheets.xlsx").read_bytes())
    whole = out.getvalue()
    second = zipfile.ZipFile(io.BytesIO(whole)).infolist()[1].header_offset
    path = tmp_path / "景县11月报表.zip"
    path.write_bytes(whole[: second + 40] if cut == "in the second member" else whole[:second])
    code, [result] = inspect_paths([path])
    assert code == 1 and (result["form"], result["readable"]) == (None, False)
    assert [problem["message"] for problem in result["problems"]] == [
        "“景县11月报表.zip”不完整（可能在发送时被截断），无法读取；请重新压缩后再发送，或直接发送各个文件"
    ]


def test_a_zip_written_as_one_span_with_its_marker_first_is_read_whole(tmp_path):
    """GIVEN a package zip that begins with the spanned-archive marker (PK\\x07\\x08), as some zip programs write a
    single-span archive, its members four bytes in WHEN inspected THEN both workbooks are read: only a first
    member further in says the file was cut."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("景县附件2.xlsx", (BOOKS / "summary-unit-row-only.xlsx").read_bytes())
        archive.writestr("景县附件3.xlsx", (BOOKS / "rehab-registry-two-age-sheets.xlsx").read_bytes())
    path = tmp_path / "景县11月报表.zip"
    path.write_bytes(b"PK\x07\x08" + out.getvalue())
    assert zipfile.ZipFile(path).infolist()[0].header_offset == 4
    _, results = inspect_paths([path])
    assert [(result["form"], result["readable"]) for result in results] == [(2, True), (3, True)]


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


def test_a_summary_that_cannot_be_read_shows_no_figures(tmp_path):
    """GIVEN a password-protected 附件2 WHEN inspected THEN it is said to be unreadable and why, with no line of
    完成数 all "—", which read as if the clerk had left the figures blank."""
    from bot.services.inspect import describe, inspect_untrusted

    [result] = inspect_untrusted(
        [("附件2.xlsx", (BOOKS / "encrypted.xlsx").read_bytes())], two_year_config(tmp_path), None
    )
    lines = describe(result)
    assert (result["form"], result["readable"]) == (2, False)
    assert "无法读取" in lines[0] and any("密码" in line for line in lines)
    assert not any("完成数" in line for line in lines)


SLIDES = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.presentation">
 <office:body><office:presentation><draw:page draw:name="p1">
  <draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm"><draw:text-box>
   <text:p>景县残联4月份康复服务实名制登记情况汇报</text:p></draw:text-box></draw:frame>
 </draw:page></office:presentation></office:body>
</office:document>
"""


@pytest.fixture(scope="module")
def slides(tmp_path_factory) -> dict[str, bytes]:
    """A presentation saved by LibreOffice Impress as .ppt (PowerPoint 97, the format WPS 演示 saves as .dps)
    and as .pptx."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None or not list(Path("/usr/lib/libreoffice/program").glob("libsdlo.so")):
        pytest.skip("LibreOffice Impress not installed: run scripts/install.sh --test")
    folder = tmp_path_factory.mktemp("slides")
    (folder / "汇报.fodp").write_text(SLIDES, encoding="utf-8")
    made = {}
    for kind in ("ppt", "pptx"):
        subprocess.run(
            [office, "--headless", "--convert-to", kind, "--outdir", str(folder), str(folder / "汇报.fodp")],
            check=True,
            capture_output=True,
            timeout=120,
            env={**os.environ, "HOME": str(folder)},
        )
        made[kind] = (folder / f"汇报.{kind}").read_bytes()
    return made


@pytest.mark.parametrize(
    "name, kind, what",
    [
        ("汇报.dps", "ppt", "WPS 演示 .dps"),
        ("汇报.ppt", "ppt", "PowerPoint .ppt"),
        ("汇报.pptx", "pptx", "PowerPoint .pptx"),
        ("附件3.ppt", "ppt", "PowerPoint .ppt"),
    ],
)
def test_a_presentation_is_refused_saying_it_is_a_presentation(slides, tmp_path, name, kind, what):
    """GIVEN slides saved by a real presentation program, named as WPS or PowerPoint name them
    WHEN a clerk inspects them THEN the answer says it is a presentation, not a workbook, and what to send."""
    path = tmp_path / name
    path.write_bytes(slides[kind])
    code, text = inspect_paths([path], as_json=False)
    assert code == 1
    assert f"“{name}”是演示文稿（{what}），不是表格" in text and "Excel 表格模板" in text
    assert "无法读取" in text.splitlines()[0]


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("空.xlsx", b"", "空文件（0 字节）"),
        ("空.doc", b"", "是空文件"),
        ("扫描件.pdf", b"%PDF-1.4\n%...\n", "是 PDF 文件"),
        ("拍照.jpg", b"\xff\xd8\xff\xe0" + bytes(64), "是图片"),
        ("报表.rar", b"Rar!\x1a\x07\x00" + bytes(64), "RAR 压缩包"),
        ("说明.txt", "请查收".encode("gb18030"), "不是 Excel 表格或 Word 文档"),
    ],
)
def test_every_file_that_cannot_be_read_says_why(tmp_path, name, data, words):
    path = tmp_path / name
    path.write_bytes(data)
    code, [result] = inspect_paths([path])
    assert code == 1 and not result["readable"]
    [problem] = result["problems"]
    assert words in problem["message"]


def test_an_encrypted_workbook_says_it_is_encrypted():
    code, results = inspect("encrypted.xlsx", "encrypted.xls", "encrypted-zip-member.zip")
    assert code == 1 and len(results) == 3
    assert all(
        "密码" in result["problems"][0]["message"] and "无法读取" in result["problems"][0]["message"]
        for result in results
    )


def _titled_workbook(path: Path, title: str, header: list[str]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(["填报单位：", None, "填表人："])
    sheet.append(header)
    sheet.append(["越秀区", 3, 12, 4000])
    book.save(path)
    return path


def test_an_unknown_workbook_names_the_title_it_found_and_resembles_nothing(tmp_path):
    """GIVEN a workbook from elsewhere whose first row is plainly a title WHEN inspected THEN the answer quotes
    the title and says it is none of 附件2–10, never that it has no title row."""
    path = _titled_workbook(
        tmp_path / "统计表.xlsx",
        "广州市农村扶贫开发工作情况统计表（一）",
        ["地区", "扶贫对象（户）", "扶贫对象（人）", "投入资金（万元）"],
    )
    code, text = inspect_paths([path], as_json=False)
    assert code == 1
    assert "没有标题行" not in text
    assert "的标题是“广州市农村扶贫开发工作情况统计表（一）”，不是附件2–10 中的任何一张表" in text


def test_an_unknown_workbook_says_which_form_its_title_resembles(tmp_path):
    path = _titled_workbook(tmp_path / "托养.xlsx", "景县残联托养服务补贴统计表", ["序号", "乡镇", "人数", "金额"])
    code, [result] = inspect_paths([path])
    [problem] = result["problems"]
    assert problem["code"] == "unknown-form"
    assert "的标题是“景县残联托养服务补贴统计表”，与附件7托养服务补贴实名制登记表相近" in problem["message"]


def test_a_workbook_without_any_title_still_says_so():
    _, [result] = inspect("unknown-workbook.xlsx")
    assert "没有标题行" in result["problems"][0]["message"]


def test_a_progress_report_is_measured_in_characters_not_rows():
    code, text = inspect("progress-report.docx", as_json=False)
    assert code == 0 and " · 97 字" in text and "0 行" not in text


def inspect_paths(paths: list[Path], as_json: bool = True):
    args = ["--config", str(ROOT / "config.example.toml"), "inspect", *map(str, paths)]
    result = CliRunner().invoke(main, args + (["--json"] if as_json else []))
    return result.exit_code, (json.loads(result.stdout) if as_json else result.stdout)


def far_cell_spelt_with_spaces() -> bytes:
    """The far-cell sample (a cell at XFD1048576) with its references spelt `r = "…"`, as XML allows and
    calamine reads, but the pre-scan does not look for: calamine aborts the process allocating the sheet."""
    with zipfile.ZipFile(BOOKS / "sparse-far-cell.xlsx") as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    far = b'<row r="1048576"><c r="XFD1048576">'
    assert far in members["xl/worksheets/sheet1.xml"]
    members["xl/worksheets/sheet1.xml"] = members["xl/worksheets/sheet1.xml"].replace(far, far.replace(b"r=", b"r = "))
    saved = io.BytesIO()
    with zipfile.ZipFile(saved, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return saved.getvalue()


def test_files_that_kill_their_reader_are_answered_and_the_others_read(tmp_path):
    """GIVEN a .xls whose directory chain loops and an .xlsx with a cell at XFD1048576 the pre-scan does not
    see (calamine aborts the whole process on either), beside a good registry WHEN a clerk runs `mailroom inspect`
    on the three THEN the command lives: each bad file says in Chinese that its reader died and what to do,
    the good one is read, the exit code says there are problems, and no backtrace reaches the clerk."""
    from tests.test_poison import loop_directory_chain, registry_xls

    paths = [tmp_path / "附件6.xls", tmp_path / "附件3.xlsx", BOOKS / "bad-ids-and-phones.xlsx"]
    paths[0].write_bytes(loop_directory_chain(registry_xls()))
    paths[1].write_bytes(far_cell_spelt_with_spaces())
    args = ["--config", str(ROOT / "config.example.toml"), "inspect", "--json", *map(str, paths)]
    done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr == ""
    results = json.loads(done.stdout)
    assert [(Path(r["file"]).name, r["readable"]) for r in results] == [
        ("附件6.xls", False),
        ("附件3.xlsx", False),
        ("bad-ids-and-phones.xlsx", True),
    ]
    for result, name in zip(results[:2], ("附件6.xls", "附件3.xlsx")):
        assert result["problems"][0]["message"].startswith(f"读取“{paths[0].parent / name}”时读取程序异常终止或超时")
        assert "另存为 .xlsx 后再试" in result["problems"][0]["message"]
    assert results[2]["form"] == 3 and results[2]["rows"] == 13


# ---------------------------------------------------------------------------------------------
# Several packages at once, and what the check comes to (the 自查 page and the 自查 mail's answer)


def retitled(name: str, old: str, new: str) -> bytes:
    """A sample workbook with `old` replaced by `new` in its title rows: the same form of another month."""
    return retitled_bytes((BOOKS / name).read_bytes(), old, new)


def retitled_bytes(data: bytes, old: str, new: str) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(data))
    for sheet in book.worksheets:
        for row in sheet.iter_rows(max_row=3):
            for cell in row:
                if isinstance(cell.value, str) and old in cell.value:
                    cell.value = cell.value.replace(old, new)
    saved = io.BytesIO()
    book.save(saved)
    return saved.getvalue()


# 武邑县's April package: 附件2 says 5 rehabilitated, its 附件3 registers 4 distinct persons.
APRIL_SUMMARY = ("附件2-4月.xlsx", (BOOKS / "done-vs-registry-summary.xlsx").read_bytes())
NOVEMBER_SUMMARY = ("附件2-11月.xlsx", retitled("done-vs-registry-summary.xlsx", "4月份", "11月份"))
APRIL_REHAB = ("附件3-4月.xlsx", (BOOKS / "done-vs-registry-rehab.xlsx").read_bytes())


def _codes(results, file: str) -> list[str]:
    [result] = [result for result in results if result["file"] == file]
    return [problem["code"] for problem in result["problems"]]


def _inspected(files, tmp_path, own_unit=None, now=None):
    from bot.services.inspect import inspect_untrusted
    from tests.conftest import make_config

    config = make_config(tmp_path, f"sqlite:///{tmp_path}/unused.db")
    return inspect_untrusted(files, config, None, own_unit, now), config


def test_forms_of_two_months_are_checked_month_by_month(tmp_path):
    """GIVEN 武邑县's November 附件2 checked together with its April 附件3 (and then its April 附件2 too)
    WHEN a clerk runs `mailroom inspect` THEN November's 附件2 is never told April's registry count; April's
    附件2 is, as before."""
    paths = []
    for name, data in (NOVEMBER_SUMMARY, APRIL_REHAB, APRIL_SUMMARY):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    _, results = inspect_paths(paths[:2])
    assert _codes(results, str(paths[0])) == []
    _, results = inspect_paths(paths)
    assert _codes(results, str(paths[0])) == []
    assert _codes(results, str(paths[2])) == ["done-vs-registry"]


def test_a_form_without_a_month_joins_its_units_only_month(tmp_path):
    """A registry whose title names no month belongs to the month its unit's other forms name, when they
    name one; with two months among them it is counted against neither."""
    monthless = ("附件3.xlsx", retitled("done-vs-registry-rehab.xlsx", "4月份", ""))
    results, _ = _inspected([NOVEMBER_SUMMARY, monthless], tmp_path)
    assert [r["month"] for r in results] == ["2020-11", None]
    assert _codes(results, NOVEMBER_SUMMARY[0]) == ["done-vs-registry"]
    results, _ = _inspected([NOVEMBER_SUMMARY, monthless, APRIL_SUMMARY], tmp_path)
    assert _codes(results, NOVEMBER_SUMMARY[0]) == _codes(results, APRIL_SUMMARY[0]) == []


def test_a_registry_that_cannot_be_read_stops_the_count_comparison(tmp_path):
    """GIVEN 武邑县's April 附件2, its 附件3 (whose persons differ from the 完成数) and a second 附件3 that cannot be
    read (encrypted: it names no unit or month) WHEN checked together by an asker not known THEN the 附件2 is
    not told a count its registries may not hold; the unreadable file says what is wrong with it."""
    locked = ("附件3 补充.xlsx", (BOOKS / "encrypted.xlsx").read_bytes())
    results, _ = _inspected([APRIL_SUMMARY, APRIL_REHAB], tmp_path)
    assert _codes(results, APRIL_SUMMARY[0]) == ["done-vs-registry"]
    results, _ = _inspected([APRIL_SUMMARY, APRIL_REHAB, locked], tmp_path)
    assert _codes(results, APRIL_SUMMARY[0]) == []
    assert _codes(results, locked[0]) and not next(r for r in results if r["file"] == locked[0])["readable"]


def test_the_conclusion_says_the_files_span_two_months(tmp_path):
    from bot.services.inspect import conclusion

    results, config = _inspected([NOVEMBER_SUMMARY, APRIL_REHAB], tmp_path)
    assert conclusion(results, config) == [
        "所检查的文件未发现问题。",
        "这些文件属于不同月份（2020年4月：附件3-4月.xlsx；2020年11月：附件2-11月.xlsx），已按月份分别检查；如不是一并补报几个月，请核对标题中的月份（可能是沿用了上个月的表格）。",
    ]


def test_two_summaries_of_one_month_are_said_and_each_checked(tmp_path):
    """GIVEN two copies of April's 附件2 with April's 附件3 WHEN checked THEN each copy shows its own finding (the
    second is not left looking clean) and the conclusion says only one should be sent."""
    from bot.services.inspect import conclusion

    copy = ("附件2 副本.xlsx", APRIL_SUMMARY[1])
    results, config = _inspected([APRIL_SUMMARY, copy, APRIL_REHAB], tmp_path)
    assert _codes(results, APRIL_SUMMARY[0]) == _codes(results, copy[0]) == ["done-vs-registry"]
    assert "武邑县2020年4月的附件2 有 2 份（附件2-4月.xlsx、附件2 副本.xlsx），正式报送时只应发送一份。" in conclusion(
        results, config
    )


def test_the_conclusion_says_what_was_checked_and_which_forms_of_the_month_were_not_among_them(tmp_path):
    """GIVEN one clean 附件2 WHEN checked THEN the conclusion never says the month may be sent: only that the
    files checked hold no problem, and which of the forms April requires were not among them; an unreadable
    file beside it is the form its name says, or, named as none, may be any of them ("not recognised")."""
    from bot.services.inspect import conclusion

    clean = ("附件2.xlsx", (BOOKS / "summary-unit-row-only.xlsx").read_bytes())
    results, config = _inspected([clean], tmp_path)
    assert conclusion(results, config) == [
        "所检查的文件未发现问题。",
        "本次未包含桃城区2020年4月应报送的附件1、附件3、附件4、附件5、附件6、附件7、附件8（正式报送时请一并发送）。",
    ]
    locked = (BOOKS / "encrypted.xlsx").read_bytes()
    results, config = _inspected([clean, ("附件3.xlsx", locked)], tmp_path)  # there, though unreadable
    assert conclusion(results, config)[1].startswith("本次未包含桃城区2020年4月应报送的附件1、附件4、附件5")
    results, config = _inspected([clean, ("报表.xlsx", locked)], tmp_path)  # any form, or none
    assert conclusion(results, config)[1].startswith("本次未识别到桃城区2020年4月应报送的附件1、附件3、附件4")
    results, config = _inspected([NOVEMBER_SUMMARY, APRIL_REHAB], tmp_path)  # two months: nothing is listed
    assert not any("应报送" in line for line in conclusion(results, config))


def test_a_form_of_another_unit_than_the_askers_is_a_problem(tmp_path):
    """GIVEN the asker is known to be 景县's clerk WHEN they check 桃城区's clean 附件2 and 武邑县's clean 附件4
    THEN each says whose it is and asks whether the wrong file was chosen, and nothing is called clean (nor
    is another unit's month listed as incomplete); unknown askers (`mailroom inspect`) are told nothing of it."""
    from bot.services.inspect import conclusion, has_problems

    files = [
        (name, (BOOKS / name).read_bytes()) for name in ("summary-unit-row-only.xlsx", "done-vs-registry-devices.xls")
    ]
    results, config = _inspected(files, tmp_path, own_unit="景县")
    assert [result["problems"][-1]["message"] for result in results] == [
        "表中写的单位是桃城区，而您单位是景县；请核对是否选错了文件",
        "表中写的单位是武邑县，而您单位是景县；请核对是否选错了文件",
    ]
    assert has_problems(results)
    assert conclusion(results, config) == ["发现问题：请按上面的提示修改后再检查一次。"]
    results, _ = _inspected(files, tmp_path)
    assert not has_problems(results)


def test_the_command_ends_with_what_the_check_comes_to_as_selfcheck_says_it():
    """GIVEN one unit's clean April 附件2 WHEN inspected on the command line THEN after the files, apart, the
    same conclusion the web's 自查 gives: nothing found in the file checked, and April's forms not among them."""
    code, text = inspect("summary-unit-row-only.xlsx", as_json=False)
    lines = text.splitlines()
    tail = lines[lines.index("") + 1 :]
    assert code == 0 and tail[0] == "所检查的文件未发现问题。"
    assert tail[1].startswith("本次未包含桃城区2020年4月应报送的附件1、附件3") and tail[1].endswith(
        "（正式报送时请一并发送）。"
    )


def test_a_clerk_who_names_their_unit_is_told_of_another_units_form():
    """GIVEN 桃城区's clean 附件2 WHEN 景县's clerk inspects it with `--unit 景州` (an alias) THEN the form is said
    to be another unit's and the command exits 1; as 桃城区's own (`--unit 桃城`) it is clean; a unit that does not
    exist is a usage error naming the units."""
    config = ["--config", str(ROOT / "config.example.toml")]
    book = str(BOOKS / "summary-unit-row-only.xlsx")
    runner = CliRunner()
    other = runner.invoke(main, [*config, "inspect", "--unit", "景州", "--json", book])
    assert other.exit_code == 1
    [result] = json.loads(other.stdout)
    assert [problem["message"] for problem in result["problems"]] == [
        "表中写的单位是桃城区，而您单位是景县；请核对是否选错了文件"
    ]
    own = runner.invoke(main, [*config, "inspect", "--unit", "桃城", book])
    assert own.exit_code == 0 and "所检查的文件未发现问题。" in own.stdout
    unknown = runner.invoke(main, [*config, "inspect", "--unit", "桃园", book])
    assert unknown.exit_code == 2
    assert "没有名为 桃园 的单位" in unknown.stderr and "Traceback" not in unknown.stderr


@pytest.mark.parametrize("title", ["1月份", "2019年4月份", "2021年4月份"])
def test_a_form_of_a_month_no_plan_covers_is_a_problem(tmp_path, title):
    """GIVEN a registry whose title names a month no plan covers (January, before the plan's April; last or
    next year's) WHEN a clerk checks it THEN it is a problem naming the months that are reported, not 未发现问题:
    mailed, it would be counted for no month."""
    from bot.services.inspect import conclusion

    in_may = datetime(2020, 5, 10, 9, tzinfo=SHANGHAI)  # January is then this year's, before the plan's April
    files = [("附件3.xlsx", retitled("done-vs-registry-rehab.xlsx", "4月份", title))]
    results, config = _inspected(files, tmp_path, now=in_may)
    assert _codes(results, "附件3.xlsx") == ["month-outside-plan"]
    [problem] = results[0]["problems"]
    assert problem["message"].startswith(f"表中写的月份是{title.replace('份', '') if '年' in title else '2020年1月'}")
    assert "计划覆盖 2020年4月至2020年12月" in problem["message"]
    assert conclusion(results, config)[0] == "发现问题：请按上面的提示修改后再检查一次。"


def test_a_form_whose_title_names_no_unit_or_month_is_placed_as_mail_would_place_it(tmp_path):
    """GIVEN 武邑县's April 附件3 whose title and 填报单位 name neither unit nor month WHEN checked with its 附件2
    THEN it is counted against that 附件2 as ingest would (by the asker's unit, else by the file's name, as a
    mail is read by its subject, then its file names), and the answer says what the file's name gave."""
    from bot.services.inspect import describe

    bare = ("附件3.xlsx", retitled_bytes(retitled("done-vs-registry-rehab.xlsx", "武邑县残联", ""), "4月份", ""))
    results, _ = _inspected([APRIL_SUMMARY, bare], tmp_path)
    assert results[1]["unit"] is None and _codes(results, APRIL_SUMMARY[0]) == []  # nothing says whose it is
    results, _ = _inspected([APRIL_SUMMARY, bare], tmp_path, own_unit="武邑县")
    assert _codes(results, APRIL_SUMMARY[0]) == ["done-vs-registry"]
    named = ("武邑县4月份附件3.xlsx", bare[1])
    results, _ = _inspected([APRIL_SUMMARY, named], tmp_path)
    assert _codes(results, APRIL_SUMMARY[0]) == ["done-vs-registry"]
    assert (results[1]["unit"], results[1]["unit_by_name"], results[1]["month_by_name"]) == (None, "武邑县", "2020-04")
    assert "单位 未写明（文件名中为武邑县，正式报送时以邮件主题为准）" in describe(results[1])[0]


# ---------------------------------------------------------------------------------------------
# 自查 around the new year: a month without a year placed near today as ingest places it near a mail's arrival,
# each form checked against the plan of the month it is placed in

IN_JANUARY = datetime(2021, 1, 10, 10, tzinfo=SHANGHAI)
# 阜城县's 2021 targets differ from its 2020 ones, which its December 附件2 states: checked against 2021's, the
# clerk would be told to change correct figures.
RAISED_2021 = {"rehab": 280, "devices": 378, "rural_training": 113, "day_care": 144}


def two_year_config(tmp_path, first_report_month: int = 1, only_2020: dict[str, int] | None = None):
    """The example config with a 2021 plan beside 2020's, reported from `first_report_month`, 阜城县's targets
    raised; with `only_2020`, 阜城县 reports in 2020 alone (last_year), with those 2020 targets changed."""
    from tests.conftest import example_data, make_config, with_next_year

    data = example_data()
    [fucheng] = [unit for unit in data["unit"] if unit["name"] == "阜城县"]
    data = with_next_year(
        data, {"阜城县": fucheng["targets"] | RAISED_2021}, forms={"first_report_month": first_report_month}
    )
    if only_2020 is not None:
        [fucheng] = [unit for unit in data["unit"] if unit["name"] == "阜城县"]
        fucheng["targets"] = {"2020": fucheng["targets"]["2020"] | only_2020}
        fucheng["last_year"] = 2020
    tables = {key: data[key] for key in ("general", "unit", "year")}
    return make_config(tmp_path, f"sqlite:///{tmp_path}/unused.db", **tables)


def package_files(name: str, month: int, forms=range(1, 9)) -> list[tuple[str, bytes]]:
    """`name`'s forms of `month` as the demo writes them: titled "N 月份…" without a year, 附件2 stating the
    example config's (2020's) targets."""
    from bot.demo.season import PLANS, load_units, month_figures
    from bot.demo.season.files import form_file

    units, _ = load_units()
    [plan] = [plan for plan in PLANS if plan.name == name]
    figures = month_figures(plan, max(month, 4), as_sent=False)  # the season's curve starts in April
    return [
        (f"附件{form}.{extension}", data)
        for form in forms
        for extension, data in [form_file(plan, units[name], month, form, figures, IN_JANUARY, 2020, "xlsx")]
    ]


def zipped(name: str, files: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in files:
            archive.writestr(member, data)
    return name, buffer.getvalue()


@pytest.mark.parametrize("first_report_month", [1, 4])
def test_a_december_package_checked_in_january_is_decembers_against_its_years_targets(tmp_path, first_report_month):
    """GIVEN 阜城县's December 2020 package (titles 12 月份, no year; 附件2 with 2020's targets), zipped, and a
    config holding 2020's plan and 2021's (from January, or from April), 2021's targets for 阜城县 raised
    WHEN its clerk checks it on 2021-01-10 (the command, the web's 自查 or a mail: one inspection, here and in
    the reader sandbox) THEN every form is 2020-12's, checked against 2020's targets: nothing found, and the
    conclusion lists what December lacks, never December 2021."""
    from bot.services.inspect import conclusion, describe, inspect_untrusted
    from bot.services.sandbox import Sandbox, SandboxLimits

    config = two_year_config(tmp_path, first_report_month)
    files = [zipped("阜城县12月份报表.zip", package_files("阜城县", 12, (1, 2, 3, 4, 5, 6)))]
    results = inspect_untrusted(files, config, None, "阜城县", IN_JANUARY)
    assert [(result["form"], result["unit"], result["month"]) for result in results] == [
        (form, "阜城县", "2020-12") for form in range(1, 7)
    ]
    assert [result["problems"] for result in results] == [[]] * 6
    assert "月份 2020年12月" in describe(results[1])[0]
    assert conclusion(results, config) == [
        "所检查的文件未发现问题。",
        "本次未包含阜城县2020年12月应报送的附件7、附件8、附件9、附件10（正式报送时请一并发送）。",
    ]
    sandbox = Sandbox(SandboxLimits(memory_mb=768, seconds=60))  # its arguments and answer cross a process
    try:
        assert inspect_untrusted(files, config, sandbox, "阜城县", IN_JANUARY) == results
    finally:
        sandbox.close()


def test_forms_of_two_plan_years_in_one_check_are_each_checked_against_their_own(tmp_path):
    """GIVEN 阜城县's December 附件2 and its January 附件2, both stating 2020's targets, checked together on
    2021-01-10 THEN December's agrees with 2020's targets, and January's is told 2021's."""
    from bot.services.inspect import conclusion, inspect_untrusted

    config = two_year_config(tmp_path)
    [(_, december)] = package_files("阜城县", 12, (2,))
    [(_, january)] = package_files("阜城县", 1, (2,))
    files = [("12月附件2.xlsx", december), ("1月附件2.xlsx", january)]
    results = inspect_untrusted(files, config, None, "阜城县", IN_JANUARY)
    assert [result["month"] for result in results] == ["2020-12", "2021-01"]
    assert _codes(results, "12月附件2.xlsx") == []
    assert set(_codes(results, "1月附件2.xlsx")) == {"target-mismatch"}
    said = [problem["message"] for problem in results[1]["problems"]]
    assert any("市残联下达给阜城县的全年目标是 280" in message for message in said)
    assert (
        "这些文件属于不同月份（2020年12月：12月附件2.xlsx；2021年1月：1月附件2.xlsx），已按月份分别检查；如不是一并补报几个月，请核对标题中的月份（可能是沿用了上个月的表格）。"
        in conclusion(results, config)
    )


def test_a_form_left_with_last_months_title_is_named_among_its_package(tmp_path):
    """GIVEN 阜城县's December forms checked together, one 附件2 still titled November (last month's file
    retitled at the desk but not there) WHEN concluded THEN the odd file is named by its month and the rest
    counted, with the likely cause, where only the two months were listed beside "未发现问题"."""
    from bot.services.inspect import conclusion, inspect_untrusted

    config = two_year_config(tmp_path)
    december = [file for file in package_files("阜城县", 12) if file[0] != "附件2.xlsx"]
    [(_, november)] = package_files("阜城县", 11, (2,))
    results = inspect_untrusted([*december, ("附件2.xlsx", november)], config, None, "阜城县", IN_JANUARY)
    assert (
        f"这些文件属于不同月份（2020年11月：附件2.xlsx；2020年12月：{len(december)} 个文件），已按月份分别检查；"
        "如不是一并补报几个月，请核对标题中的月份（可能是沿用了上个月的表格）。"
    ) in conclusion(results, config)


def test_a_unit_of_last_years_plan_alone_is_read_and_checked_with_that_plan(tmp_path):
    """GIVEN 阜城县 in 2020's plan alone (last_year = 2020; its 2020 rehab target here 999) WHEN its December
    附件2 is checked on 2021-01-10, today's plan being 2021's, which does not hold it THEN the form is read
    again with 2020's units, so its title's unit is known, and checked against 2020's targets."""
    from bot.services.inspect import inspect_untrusted

    config = two_year_config(tmp_path, only_2020={"rehab": 999})
    assert "阜城县" not in {unit.name for unit in config.plans.at(IN_JANUARY).units}
    results = inspect_untrusted(package_files("阜城县", 12, (2,)), config, None, None, IN_JANUARY)
    [summary] = results
    assert (summary["unit"], summary["month"]) == ("阜城县", "2020-12")
    [problem] = summary["problems"]
    assert problem["code"] == "target-mismatch" and "市残联下达给阜城县的全年目标是 999" in problem["message"]


def test_a_month_without_a_year_is_placed_near_today_or_the_plans_when_far_from_them(tmp_path):
    """Near today when a plan covers a month placed near it; far from every plan (a configuration of years
    gone by), near the last covered month, as today's plan is chosen."""
    from bot.services.inspect import placed_near
    from tests.conftest import make_config

    only_2020 = make_config(tmp_path, f"sqlite:///{tmp_path}/unused.db")
    assert placed_near(only_2020, IN_JANUARY) == IN_JANUARY  # December 2020 is among the months placed near it
    assert placed_near(only_2020, datetime(2026, 12, 6, tzinfo=SHANGHAI)) == datetime(2020, 12, 1, tzinfo=SHANGHAI)
    from_april = two_year_config(tmp_path, first_report_month=4)
    in_march = datetime(2021, 3, 20, 9, tzinfo=SHANGHAI)  # between the plans: April 2021 is a month after it
    assert placed_near(from_april, in_march) == in_march


def test_a_selfcheck_mail_is_answered_as_of_its_arrival(tmp_path):
    """GIVEN a 自查 mail from 阜城县's registered address carrying its December 附件2, received on 2021-01-10
    WHEN its answer is composed (whenever that is) THEN the form is December 2020's, as a package mailed then
    would be, and agrees with 2020's targets."""
    from bot.services.inspect import archive_inspector

    config = two_year_config(tmp_path)
    [(name, data)] = package_files("阜城县", 12, (2,))
    store = SimpleNamespace(read_file=lambda sha256: data)
    attachment = SimpleNamespace(filename=name, sha256="0" * 64, ordinal=0)
    message = SimpleNamespace(attachments=[attachment], unit="阜城县", registered=True, arrival=IN_JANUARY)
    [summary] = archive_inspector(config, store, None)(message)
    assert (summary["month"], summary["problems"]) == ("2020-12", [])
