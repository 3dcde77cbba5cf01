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
            "用法错误 (usage error): 选项 --month 的值不对：月份应写作 YYYY-MM，例如 2020-05，而不是 '2020-13'"
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
        (  # a file named in Chinese: click's English about it was let through as Chinese
            ["inspect", "没有这个附件.xlsx"],
            "用法错误 (usage error): 参数 FILES 的值不对：'没有这个附件.xlsx' 不存在（用法见 mailroom inspect --help）",
        ),
        (  # a command's own check names the option (it said "参数 的值不对")
            ["award", "景县", "--kind", "media", "--level", "national", "--date", "2020-09-01", "--evidence", "x"],
            "用法错误 (usage error): 选项 --level 的值不对：media 的级别只能是 central / provincial / city"
            "（用法见 mailroom award --help）",
        ),
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


def test_a_database_error_is_the_drivers_first_line_or_its_name_when_it_says_nothing():
    """GIVEN database errors the operator cannot act on WHEN a command fails on one THEN the line is the
    driver's own first line (archive.db.driver_says, as the daemon says it), never a blank after the colon."""
    from sqlalchemy.exc import OperationalError

    class DriverError(Exception):
        pass

    for said, line in (("server closed\nthe connection", "server closed"), ("", "OperationalError")):

        @click.group(cls=Group, invoke_without_command=True)
        def broken() -> None:
            raise OperationalError("SELECT 1", {}, DriverError(said))  # noqa: B023

        result = CliRunner().invoke(broken, [])
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [f"数据库错误 (database error): {line}"]


def test_a_sqlite_database_in_a_missing_folder_is_refused_until_init(run, tmp_path, monkeypatch):
    """GIVEN MAILROOM_DATABASE_URL naming a folder that is not there, outside the configuration's (a typo, most
    likely) WHEN `status` runs THEN it is one line, exit 2, naming the file and its folder, and nothing is
    made: no folder, no empty archive reported as if it were the real one. `init`, the explicit command, makes
    the folders; after it `status` opens that database."""
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    missing = elsewhere / "nonexistent" / "dir"
    monkeypatch.setenv("MAILROOM_DATABASE_URL", f"sqlite:///{missing}/x.db")
    code, out, err = run("status")
    assert (code, out, err) == (
        2,
        "",
        [
            f"配置错误 (config error): 数据库文件 {missing}/x.db 所在的文件夹 {missing} 不存在：请检查 [database] url "
            "或 MAILROOM_DATABASE_URL 是否写错；若要在这里新建数据库，请先创建该文件夹，或运行 mailroom init"
        ],
    )
    assert not elsewhere.exists() and not (tmp_path / "archive").exists()
    code, out, err = run("init")
    assert code == 0 and err == [] and f"数据库已就绪: sqlite:///{missing}/x.db" in out
    assert (missing / "x.db").is_file()
    assert run("status")[0] == 0


def test_a_new_sqlite_database_in_a_folder_that_exists_is_made_on_first_use(run, tmp_path):
    """First use is unchanged: any command makes the database when its folder is there."""
    code, _, err = run("status")
    assert (code, err) == (0, []) and (tmp_path / "mailroom.db").is_file()


def test_the_example_configs_own_var_folder_is_made_on_a_first_start(run, tmp_path, monkeypatch):
    """GIVEN the example configuration as written (the database at var/mailroom.db beside it) in a fresh folder
    WHEN the first command runs THEN var/ is made with the database: a folder under the configuration's own is
    a first start, not a typo."""
    monkeypatch.delenv("MAILROOM_DATABASE_URL")
    assert not (tmp_path / "var").exists()
    code, _, err = run("status")
    assert (code, err) == (0, []) and (tmp_path / "var" / "mailroom.db").is_file()


def test_a_database_server_that_does_not_answer_is_one_line_naming_it(run, monkeypatch):
    """GIVEN a PostgreSQL URL where no server listens WHEN a command opens the archive THEN the clerk reads one
    line: which database, and the driver's own reason, without SQLAlchemy's statement and web link."""
    monkeypatch.setenv("MAILROOM_DATABASE_URL", "postgresql+psycopg://mailroom@127.0.0.1:1/archive")
    code, out, err = run("status")
    assert (code, out, len(err)) == (1, "", 1)
    assert err[0].startswith("错误 (error): 无法打开数据库 postgresql+psycopg://mailroom@127.0.0.1:1/archive：")
    assert "Connection refused" in err[0] and "sqlalche.me" not in err[0]


def test_a_database_server_that_takes_the_connection_and_never_answers_is_given_up(run, monkeypatch):
    """GIVEN a PostgreSQL URL whose port accepts connections and never answers (a server hung, a firewall
    swallowing the handshake) WHEN a command opens the archive THEN it is given up after CONNECT_SECONDS, in
    one line, instead of waiting for ever."""
    import socket
    import time

    import archive.db

    monkeypatch.setattr(archive.db, "CONNECT_SECONDS", 2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        monkeypatch.setenv("MAILROOM_DATABASE_URL", f"postgresql+psycopg://mailroom@127.0.0.1:{port}/archive")
        started = time.monotonic()
        code, out, err = run("status")
        waited = time.monotonic() - started
    assert (code, out, len(err)) == (1, "", 1) and err[0].startswith("错误 (error): 无法打开数据库 ")
    assert 1.5 < waited < 30, waited
