"""Every error of the command line is one line of Chinese with a documented exit code, click's own included."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from bot.cli.group import Group, main


@pytest.fixture
def run(tmp_path, monkeypatch):
    """`mailroom ARGS` on the example config with a fresh SQLite archive: (exit code, stdout, stderr lines)."""
    from tests.conftest import ROOT

    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("MAILROOM_DATABASE_URL", f"sqlite:///{tmp_path}/mailroom.db")
    monkeypatch.setenv("MAILROOM_ARCHIVE_PATH", str(tmp_path / "archive"))

    def invoke(*args: str) -> tuple[int, str, list[str]]:
        result = CliRunner().invoke(main, ["--config", str(config), *args], prog_name="mailroom")
        return result.exit_code, result.stdout, result.stderr.strip().splitlines()

    return invoke


@pytest.mark.parametrize(
    "args, line",
    [
        (["standings"], "用法错误 (usage error): 缺少选项 --month（用法见 mailroom standings --help）"),
        (
            ["standings", "--month", "2020-13"],
            "用法错误 (usage error): 选项 --month 的值不对：请写成 YYYY-MM，例如 2020-09"
            "（用法见 mailroom standings --help）",
        ),
        (
            ["award", "景县", "--kind", "media", "--level", "city", "--date", "2020-13-01", "--evidence", "x"],
            "用法错误 (usage error): 选项 --date 的值不对：应为日期，写作 YYYY-MM-DD，而不是 '2020-13-01'"
            "（用法见 mailroom award --help）",
        ),
        (
            ["explain", "衡水市", "--month", "2020-05"],
            "用法错误 (usage error): 没有名为 衡水市 的单位；单位有：桃城区、冀州区、枣强县、武邑县、深州市、"
            "武强县、饶阳县、安平县、故城县、景县、阜城县、高新区、滨湖新区",
        ),
        (
            ["show", "abc"],
            "用法错误 (usage error): 参数 MESSAGE_ID 的值不对：应为整数，而不是 'abc'（用法见 mailroom show --help）",
        ),
        (["show", "1", "2"], "用法错误 (usage error): 多余的参数：2（用法见 mailroom show --help）"),
        (
            ["serch", "景县"],
            "用法错误 (usage error): 没有 serch 这个命令（是不是 search、user、serve？）（用法见 mailroom --help）",
        ),
        (
            ["matrix", "--mnth", "2020-05"],
            "用法错误 (usage error): 没有 --mnth 这个选项（是不是 --month？）（用法见 mailroom matrix --help）",
        ),
        (
            ["search", "--kind", "memo"],
            "用法错误 (usage error): 选项 --kind 的值不对：应为 briefing、report、reply、auto、"
            "bounce、selfcheck、other 之一，而不是 'memo'（用法见 mailroom search --help）",
        ),
        (["search", "--limit"], "用法错误 (usage error): 选项 --limit 后面要写一个值"),
    ],
)
def test_usage_errors_are_one_chinese_line_with_exit_2(run, args, line):
    code, out, err = run(*args)
    assert (code, out, err) == (2, "", [line])


def test_a_file_that_cannot_be_written_is_one_line_with_exit_1(run, tmp_path):
    code, _, err = run("standings", "--month", "2020-05", "--xlsx", "/nonexistent/dir/x.xlsx")
    assert (code, err) == (1, ["错误 (error): /nonexistent/dir/x.xlsx：没有这个文件或文件夹"])
    (tmp_path / "file").write_text("")
    code, _, err = run("digest", "--month", "2020-05", "--out", str(tmp_path / "file" / "digest"))
    assert (code, err) == (1, [f"错误 (error): {tmp_path / 'file' / 'digest'}：路径中有一段不是文件夹"])


def test_a_missing_message_is_exit_1(run):
    assert run("show", "99999") == (1, "", ["错误 (error): 没有编号为 99999 的邮件"])


def test_a_fault_of_the_program_is_one_line_with_exit_3():
    @click.group(cls=Group, invoke_without_command=True)
    def broken() -> None:
        raise KeyError("lost")

    result = CliRunner().invoke(broken, [])
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        "内部错误 (internal error): KeyError: 'lost'（加 -v 重新运行可看到详细信息，请报告给维护者）"
    ]
