"""`import` archives mail only: a file that is not mail is refused, saying why, unless --force; a configured
Maildir that does not exist is an error, never created and polled as empty."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from bot.cli.group import main
from bot.daemon.deps import open_deps
from bot.daemon.poll import poll_once
from bot.demo.folder import compose
from tests.conftest import ROOT, make_config

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILROOM_DATABASE_URL", f"sqlite:///{tmp_path}/mailroom.db")
    monkeypatch.setenv("MAILROOM_ARCHIVE_PATH", str(tmp_path / "archive"))

    def invoke(*args: str):
        result = CliRunner().invoke(main, ["--config", str(ROOT / "config.example.toml"), *args], prog_name="mailroom")
        return result.exit_code, result.stdout.splitlines(), result.stderr.strip().splitlines()

    return invoke


@pytest.fixture
def mail(tmp_path):
    path = tmp_path / "real.eml"
    path.write_bytes(
        compose(
            "zqxcl@163.com",
            "hsclbgs666@163.com",
            "枣强县贫困残疾人服务工程专项信息（1）",
            datetime(2020, 5, 6, 9, tzinfo=SHANGHAI),
        ).as_bytes()
    )
    return path


def test_a_file_that_is_not_mail_is_refused_saying_why_and_nothing_is_archived(run, mail):
    readme = ROOT / "README.md"
    code, out, err = run("import", str(mail), str(readme))
    assert (code, out) == (1, [])
    assert err == [
        f"错误 (error): {readme} 不是邮件：开头没有邮件头（第一行是“{readme.read_text().splitlines()[0]}”，"
        "邮件应以“From: …”“Subject: …”这样的行开头）；确实要把它当作邮件导入请加 --force"
    ]
    assert run("search")[2] == ["共 0 封"]


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "文件是空的"),
        (b"PK\x03\x04" + bytes(60), "这是一个 zip 文件"),
        (b"\n\nHello", "开头是空行，没有邮件头"),
        (b"X-Note: 1\nX-Other: 2\n\nbody", "邮件头中没有 From、To、Subject、Date 等任何邮件字段"),
        (b"Subject: hello\nthis is prose\n\nbody", "邮件头中有一行不是“名称: 内容”的形式：“this is prose”"),
    ],
)
def test_each_way_of_not_being_mail_is_named(run, tmp_path, content, reason):
    path = tmp_path / "thing.eml"
    path.write_bytes(content)
    code, _, err = run("import", str(path))
    assert code == 1 and len(err) == 1 and err[0].startswith(f"错误 (error): {path} 不是邮件：{reason}")


def test_force_archives_it_anyway_and_real_mail_goes_in_without_it(run, mail):
    assert run("import", str(mail))[:2] == (0, ["读取 1 封邮件：新归档 1 封，已在归档中 0 封"])
    assert run("import", "--force", str(ROOT / "README.md"))[:2] == (0, ["读取 1 封邮件：新归档 1 封，已在归档中 0 封"])


def test_a_path_that_does_not_exist_is_one_line(run, tmp_path):
    assert run("import", str(tmp_path / "nope")) == (
        1,
        [],
        [f"错误 (error): {tmp_path / 'nope'}：没有这个文件或文件夹"],
    )


def test_a_configured_maildir_that_does_not_exist_is_an_error_and_is_not_created(tmp_path):
    missing, plain = tmp_path / "typo" / "bgs", tmp_path / "folder"
    plain.mkdir()
    boxes = [
        {"key": "bgs", "name": "办公室", "address": "hsclbgs666@163.com", "source": "maildir", "path": str(missing)},
        {"key": "jjb", "name": "教就部", "address": "hsscljjb@163.com", "source": "maildir", "path": str(plain)},
    ]
    config = make_config(tmp_path, f"sqlite:///{tmp_path}/m.db", boxes)
    deps = open_deps(config)
    try:
        report = poll_once(config, deps)
    finally:
        deps.close()
    errors = {box.mailbox: box.error for box in report.mailboxes}
    assert errors == {
        "bgs": f"邮箱文件夹 {missing} 不存在；请检查配置中的 path",
        "jjb": f"邮箱文件夹 {plain} 不是 Maildir（缺少 cur、new 子文件夹）；请检查配置中的 path",
    }
    assert not missing.exists() and list(plain.iterdir()) == []
