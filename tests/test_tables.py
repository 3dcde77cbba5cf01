"""What the command line prints lines up in a terminal (by display width: a Chinese character is two columns),
says "—" for what is not scored yet as the digest does, names a problem once, and prints no progress
label where nobody watches."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from bot.cli.console import table, width
from bot.cli.group import main
from tests.conftest import DATA, ROOT


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILROOM_DATABASE_URL", f"sqlite:///{tmp_path}/mailroom.db")
    monkeypatch.setenv("MAILROOM_ARCHIVE_PATH", str(tmp_path / "archive"))

    def invoke(*args: str):
        return CliRunner().invoke(main, ["--config", str(ROOT / "config.example.toml"), *args], prog_name="mailroom")

    return invoke


def starts(line: str) -> list[int]:
    """The display column where each cell (a run without spaces) of a line starts."""
    return [width(line[: match.start()]) for match in re.finditer(r"\S+", line)]


def ends(line: str) -> list[int]:
    return [width(line[: match.end()]) for match in re.finditer(r"\S+", line)]


def test_table_pads_by_display_width():
    lines = table([["单位", "总分"], ["景县", 7], ["滨湖新区", 61], ["x", 100]], align="<>")
    assert lines == ["单位      总分", "景县         7", "滨湖新区    61", "x          100"]
    assert {width(line) for line in lines} == {14}


def test_standings_line_up_and_show_unscored_quarters_as_a_dash_with_the_legend(run):
    may = run("standings", "--month", "2020-05").stdout.splitlines()
    title, header, *rows, legend = may
    assert title.startswith("2020-05 累计得分排名")
    assert legend == "“—”表示该项尚未到评分时间（计 0 分）；总分相同名次并列。"
    assert len(rows) == 13 and {width(line) for line in rows} == {width(header)}  # numbers right-aligned
    assert {ends(line)[2:] == ends(header)[2:] for line in rows} == {True}
    assert {starts(line)[1] for line in rows} == {starts(header)[1]}  # the unit column, left-aligned
    quarters = [
        header.split().index(label)
        for label in ("二季度任务完成", "二季度按时报送", "三季度任务完成", "三季度按时报送", "四季度超额完成")
    ]
    assert {tuple(row.split()[i] for i in quarters) for row in rows} == {("—",) * 5}  # none closes in May
    december = run("standings", "--month", "2020-12").stdout.splitlines()[2:-1]
    assert not any("—" in line for line in december)


def test_matrix_columns_line_up(run):
    header, *rows = run("matrix", "--month", "2020-09").stdout.splitlines()[1:]
    assert len(rows) == 13 and {tuple(starts(line)) for line in rows} == {tuple(starts(header))}
    assert any(width(row.split()[0]) != width(rows[0].split()[0]) for row in rows)  # 景县 beside 滨湖新区


def test_inspect_names_a_problem_found_in_two_cells_once(run):
    result = run("inspect", str(DATA / "workbooks" / "duplicate-person.xlsx"))
    problems = [line for line in result.stdout.splitlines() if line.startswith("  问题")]
    assert len(problems) == 1 and problems[0].startswith("  问题［Sheet C4、C6］：残疾人证号")


def test_verify_prints_no_progress_label_when_not_on_a_terminal(run):
    result = run("verify")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.splitlines() == ["核对 0 个文件：缺失 0 个，被改动 0 个，未记录 0 个"]
