"""Every `--help` is in Chinese, click's own words included, and fits an 80-column terminal: lines wrapped by
display width (a Chinese character takes two columns) and never starting with a closing mark (bot/cli/helptext.py)."""

from __future__ import annotations

import importlib
import pkgutil
import re

import click
import pytest
from click.testing import CliRunner

import bot.cli
from bot.cli.group import main
from bot.cli.helptext import paragraphs, width, wrap

CJK = re.compile(r"[\u3400-\u9fff]")
CLICK_WORDS = ("Usage:", "Options:", "Commands:", "Show this message", "Show the version", "[required]", "default:")


def _paths(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in sorted(group.commands.items()):
        found += _paths(command, (*path, name)) if isinstance(command, click.Group) else [(*path, name)]
    return found


def _every_command() -> list[tuple[str, ...]]:
    for info in pkgutil.iter_modules(bot.cli.__path__):
        importlib.import_module(f"bot.cli.{info.name}")  # registers its commands on main
    return _paths(main)


@pytest.mark.parametrize("path", _every_command(), ids=lambda path: " ".join(path) or "mailroom")
def test_each_help_is_chinese_and_fits_80_columns(path):
    result = CliRunner().invoke(main, [*path, "--help"], env={"COLUMNS": "80"}, prog_name="mailroom")
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith(f"用法：mailroom {' '.join(path)}".rstrip()) and "\n选项：\n" in text
    assert "显示本帮助并退出。" in text
    assert not [word for word in CLICK_WORDS if word in text]
    lines = text.splitlines()
    assert CJK.search(lines[2]), "the command's own help is in Chinese"
    assert [line for line in lines if width(line) > 80] == []
    assert [line for line in lines if re.match(r"\s*[，。、；：）]", line)] == []


def test_wrapping_counts_a_chinese_character_as_two_columns_and_keeps_marks_with_their_words():
    text = "报送前检查表格：识别出的附件、单位、月份、行数、合计，以及每个问题所在的工作表、行和列。"
    lines = wrap(text, 40)
    assert "".join(lines) == text
    assert all(width(line) <= 40 for line in lines) and len(lines) == 3
    assert not any(line[0] in "，。、：" for line in lines[1:])
    assert wrap("用 `queue --all` 查看  [默认：当前登录名]", 12) == [
        "用",
        "`queue --all`",
        "查看",
        "[默认：当前登录名]",
    ]


def test_a_docstring_line_break_is_a_space_only_beside_a_latin_word():
    text = "并附\n    Excel 表格，退出码为 130\n    （已中断）；两个\n    单位"
    assert paragraphs(text) == [(True, ["并附 Excel 表格，退出码为 130（已中断）；两个单位"])]
