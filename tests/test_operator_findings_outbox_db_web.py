"""An operator tester's findings on the outbox, the database and the web app.

The send report said the driver's words (`[SSL: WRONG_VERSION_NUMBER]`) where `status` had the diagnosis; a
lost PostgreSQL connection was logged as a multi-line SQL dump; a database a newer release had upgraded was an
internal error; an empty or short web secret started an app whose every page was a 500; the web app logged no
failed login, no lockout and no server error."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage

import psycopg
import pytest
import sqlalchemy.exc
from click.testing import CliRunner
from sqlalchemy import select, text

from archive.db import Database, _alembic_config, database_problem
from archive.models import OutboxMail
from archive.outbox import Fate, queue_mail
from bot.cli.console import sent_line
from bot.cli.errors import run_reporting_errors
from bot.cli.group import main
from bot.outgoing.outbox import SmtpTransport, flush_outbox
from bot.web.app import create_app, load_secret_key, secret_path
from parsers.errors import ConfigError
from tests.conftest import ROOT, make_config, port_in_use
from tests.smtp_server import Delivering, smtp_answering
from tests.webapp import PASSWORD, add_accounts, log_in

NOW = datetime(2020, 9, 1, 1, 0, tzinfo=UTC)
OFFICE = "hsclbgs666@163.com"


# 1. The send report says the diagnosis -------------------------------------------------------------------------


def _queue_one(deps) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = OFFICE, "zqxcl@163.com", "回执"
    message.set_content("已收到")
    with deps.db.session() as session:
        queue_mail(session, "receipt:1", "receipt", message, NOW)
        session.commit()


@pytest.fixture
def plain_smtp():
    """A plain SMTP server on loopback that offers neither STARTTLS nor AUTH."""
    with smtp_answering(Delivering(lambda recipient, raw: None)) as server:
        yield server


@pytest.mark.parametrize(
    "security, username, diagnosis",
    [
        ("tls", "", "与发信服务器 {where} 的 TLS 握手失败：请检查 security（现为 tls）与端口是否匹配（[SSL"),
        (
            "plain",
            "office",
            "发信服务器 {where} 在这个连接上不提供登录（AUTH）：请检查 security（现为 plain）与 port 是否匹配"
            "（STARTTLS 的服务器只在 STARTTLS 之后提供登录）；若该服务器无需登录，请删去 [smtp] username"
            "（SMTP AUTH extension not supported by server.）",
        ),
        ("starttls", "", "发信服务器 {where} 不支持 STARTTLS：请检查 security（现为 starttls）与 port 是否匹配（"),
    ],
    ids=["tls-on-a-plain-port", "login-not-offered", "starttls-not-offered"],
)
def test_the_send_report_says_the_diagnosis_the_log_and_status_say(
    config, deps, plain_smtp, monkeypatch, caplog, security, username, diagnosis
):
    """GIVEN a plain SMTP server and `[smtp]` set for implicit TLS, for a login it does not offer, or for
    STARTTLS it does not offer WHEN the outbox is sent THEN the report a command prints (`digest --send`,
    `poll --once`) says the same Chinese diagnosis as the mail's recorded error (what `status` shows) and the
    log: what to check in `[smtp]`, the driver's words only in brackets."""
    monkeypatch.setenv("MAILROOM_TEST_SMTP_PASSWORD", "secret")
    outgoing = replace(
        config.outgoing,
        transport="smtp",
        host="127.0.0.1",
        port=plain_smtp.port,
        security=security,
        username=username,
        password_env="MAILROOM_TEST_SMTP_PASSWORD",
        timeout_seconds=5,
    )
    _queue_one(deps)
    with caplog.at_level(logging.WARNING, logger="bot.outgoing.outbox"):
        report = flush_outbox(deps.db, outgoing, SmtpTransport(outgoing), NOW)
    with deps.db.session() as session:
        recorded = session.scalars(select(OutboxMail.last_error)).one()
    assert recorded.startswith(diagnosis.format(where=f"127.0.0.1:{plain_smtp.port}"))
    assert report.errors == (f"#1: {recorded}",)
    logged = [record.getMessage() for record in caplog.records if record.name == "bot.outgoing.outbox"]
    assert [message.endswith(f"未发出：{recorded}") for message in logged] == [True]
    line = sent_line(config, "月度排名通报", report, Fate(1, "pending", recorded))  # the digest's own failure
    assert line == f"月度排名通报已加入发送队列，尚未发出，由 serve 或下次 poll 再试：{recorded}"
    untried = sent_line(config, "月度排名通报", report, Fate(2, "pending", None))  # stopped at another mail first
    assert untried == f"月度排名通报已加入发送队列，尚未发出；另有 1 封其他邮件未发出：#1: {recorded}"
    went = replace(report, sent=4, errors=())  # the digest and three receipts that were due: said, not silent
    assert sent_line(config, "月度排名通报", went, Fate(2, "sent", None)) == (
        f"月度排名通报已发出（收件人 {'、'.join(config.outgoing.staff)}）；同时发出了 3 封其他待发邮件"
    )


# 2. A lost PostgreSQL connection: one Chinese line, never the SQL ---------------------------------------------

STATEMENT = "SELECT outbox_mail.id, outbox_mail.raw FROM outbox_mail WHERE outbox_mail.state = %(state)s"
LOST = [
    psycopg.OperationalError(
        "consuming input failed: server closed the connection unexpectedly\n\tThis probably means the server "
        "terminated abnormally\n\tbefore or while processing the request."
    ),
    psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
    psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused\n\t'
        "Is the server running on that host and accepting TCP/IP connections?"
    ),
]


@pytest.mark.parametrize("driver", LOST, ids=["server-closed", "terminating", "refused"])
def test_a_lost_database_connection_is_one_chinese_line_without_the_sql(driver, capsys):
    """GIVEN the errors SQLAlchemy raises when PostgreSQL goes away mid-run (the server restarted, stopped, or
    refusing) WHEN the daemon's sender or a command says why (archive.db.database_problem) THEN one Chinese
    line saying the connection is lost and what to do, with psycopg's first line, never the statement."""
    error = sqlalchemy.exc.OperationalError(STATEMENT, {"state": "pending"}, driver)
    first = str(driver).splitlines()[0]
    said = database_problem(error)
    assert said == (
        "与数据库服务器的连接中断或无法建立：请检查数据库服务器是否在运行、网络是否通畅；"
        f"后台服务会自动重试，命令请在恢复后重新运行（{first}）"
    )

    def fail() -> None:
        raise error

    assert run_reporting_errors(fail) == 1
    assert capsys.readouterr().err == f"数据库错误 (database error): {said}\n"


def test_other_database_errors_are_not_called_a_lost_connection():
    """A query PostgreSQL refused (a missing table) and SQLite's own operational errors keep their meaning."""
    import sqlite3

    missing = psycopg.errors.UndefinedTable('relation "outbox_mail" does not exist')
    assert database_problem(sqlalchemy.exc.ProgrammingError(STATEMENT, {}, missing)) is None
    no_table = sqlite3.OperationalError("no such table: outbox_mail")
    assert database_problem(sqlalchemy.exc.OperationalError(STATEMENT, {}, no_table)) is None


# 3. A database a newer release upgraded; an upgrade said in one line ------------------------------------------


def _head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


HEAD = _head()
NEWER = f"{int(HEAD) + 1:04d}"  # what the next release's first migration will be called


def _cli(tmp_path, monkeypatch, database_url: str):
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("MAILROOM_DATABASE_URL", database_url)
    monkeypatch.setenv("MAILROOM_ARCHIVE_PATH", str(tmp_path / "archive"))
    return config


def _at_revision(database_url: str, revision: str, *, stamp: bool = False) -> None:
    """A database made at head, then undone to `revision`, or (`stamp`) marked as at one this release lacks."""
    from alembic import command

    db = Database(database_url)
    try:
        db.upgrade()
        with db.engine.begin() as connection:
            if stamp:
                connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
            else:
                config = _alembic_config()
                config.attributes["connection"] = connection
                command.downgrade(config, revision)
    finally:
        db.dispose()


def test_a_database_a_newer_release_upgraded_is_an_operator_error(tmp_path, monkeypatch, database_url):
    """GIVEN a database a newer release upgraded (to 0023 when 0022 was the head), and this release rolled back
    to WHEN `mailroom status` runs THEN one Chinese line saying so and what to do, exit 2 (the operator fixes the
    setup); it was an internal error naming Alembic's CommandError, exit 3."""
    _at_revision(database_url, NEWER, stamp=True)
    config = _cli(tmp_path, monkeypatch, database_url)
    result = CliRunner().invoke(main, ["--config", str(config), "status"], prog_name="mailroom")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"配置错误 (config error): 数据库已由更新的版本升级（版本 {NEWER}），本版本只支持到 {HEAD}："
        "请使用新版本的 mailroom，或从备份恢复数据库"
    )
    db = Database(database_url)
    try:
        with pytest.raises(ConfigError):
            db.upgrade()
        assert db.revision() == NEWER  # left as it was
    finally:
        db.dispose()


def test_a_database_at_a_revision_no_release_has_is_an_operator_error(database_url):
    """GIVEN a database whose schema revision is none of mailroom's (another program's Alembic, in the same
    schema) WHEN it is opened THEN a ConfigError saying to check the URL, not "newer release"."""
    _at_revision(database_url, "ae1027a6acf", stamp=True)
    db = Database(database_url)
    try:
        with pytest.raises(ConfigError) as refused:
            db.upgrade()
    finally:
        db.dispose()
    assert str(refused.value).startswith(
        f"数据库的结构版本 ae1027a6acf 不是本版本所知的任何版本（本版本只支持到 {HEAD}）"
    )


def test_an_upgrade_is_said_in_one_line_and_nothing_when_there_was_none(tmp_path, database_url, caplog):
    """GIVEN a new database, then one at 0019 WHEN each is opened (upgraded), then opened again THEN the upgrade
    from 0019 is one WARNING line (a command shows warnings) naming both revisions; a new database's creation and
    an open with nothing to upgrade say nothing at that level."""
    with caplog.at_level(logging.INFO, logger="archive.db"):
        db = Database(database_url)
        try:
            assert db.upgrade() is True
        finally:
            db.dispose()
    assert [record.levelno for record in caplog.records if record.name == "archive.db"] == [logging.INFO]
    caplog.clear()
    _at_revision(database_url, "0019")
    with caplog.at_level(logging.INFO, logger="archive.db"):
        db = Database(database_url)
        try:
            assert db.upgrade() is True
            assert db.upgrade() is False
        finally:
            db.dispose()
    said = [(record.levelno, record.getMessage()) for record in caplog.records if record.name == "archive.db"]
    assert said == [(logging.WARNING, f"数据库已升级：0019 → {HEAD}")]


def test_the_command_line_says_the_upgrade_on_stderr_once(tmp_path, monkeypatch, database_url):
    """GIVEN a database at 0019 WHEN `mailroom status` runs twice, as a process THEN the first says the upgrade
    on stderr, the second does not."""
    _at_revision(database_url, "0019")
    config = _cli(tmp_path, monkeypatch, database_url)
    (tmp_path / "archive").mkdir()

    def upgrade_lines() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), "status"],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
            cwd=ROOT,
            timeout=120,
        )
        return [line for line in done.stderr.splitlines() if "数据库已升级" in line]

    first = upgrade_lines()
    assert len(first) == 1 and first[0].endswith(f"WARNING archive.db: 数据库已升级：0019 → {HEAD}")
    assert upgrade_lines() == []


# 4. The web secret: not empty, not short; refusals in Chinese -------------------------------------------------


@pytest.fixture
def web_config(tmp_path):
    return make_config(tmp_path, f"sqlite:///{tmp_path}/mailroom.db")


@pytest.mark.parametrize("content", ["", "\n", "abcd\n", "0123456789abcde\n"])
def test_an_empty_or_short_secret_file_is_refused_saying_how_to_make_one(web_config, content):
    """GIVEN the web-secret file empty or under 16 characters WHEN the app loads it THEN a Chinese ConfigError
    naming the file and how to make a new one; it was accepted (an empty one: every page a 500)."""
    path = secret_path(web_config)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="ascii")
    os.chmod(path, 0o600)
    with pytest.raises(ConfigError) as refused:
        load_secret_key(web_config, environ={})
    said = str(refused.value)
    assert said.startswith(f"网页签名密钥文件 {path} 为空或太短（{len(content.strip())} 个字符，至少要 16 个）")
    assert f'python -c "import secrets; print(secrets.token_hex(32))" > {path}; chmod 600 {path}' in said
    path.write_text("0123456789abcdef\n", encoding="ascii")
    assert load_secret_key(web_config, environ={}) == "0123456789abcdef"


@pytest.mark.parametrize("value", ["abc", "   0123456789abcde   "])
def test_a_short_secret_variable_is_refused_naming_it(web_config, value):
    with pytest.raises(ConfigError, match="^环境变量 MAILROOM_WEB_SECRET 太短（[0-9]+ 个字符，至少要 16 个）"):
        load_secret_key(web_config, environ={"MAILROOM_WEB_SECRET": value})
    assert not secret_path(web_config).exists()  # refused, not quietly replaced by the file


def test_a_secret_file_others_may_read_is_refused_in_chinese(web_config):
    load_secret_key(web_config, environ={})
    path = secret_path(web_config)
    os.chmod(path, 0o640)
    with pytest.raises(ConfigError) as refused:
        load_secret_key(web_config, environ={})
    assert str(refused.value) == f"网页签名密钥文件 {path} 其他用户也能读取：请运行 chmod 600 {path} 后重新启动"


def test_mailroom_web_with_a_short_secret_stops_before_serving(tmp_path, monkeypatch):
    """GIVEN MAILROOM_WEB_SECRET=abc WHEN `mailroom web` starts THEN it stops with a configuration error
    (exit 2) before it listens. (The port is held: without the check it would stop on the port, exit 1.)"""
    config = _cli(tmp_path, monkeypatch, f"sqlite:///{tmp_path}/mailroom.db")
    monkeypatch.setenv("MAILROOM_WEB_SECRET", "abc")
    with port_in_use() as port:
        result = CliRunner().invoke(main, ["--config", str(config), "web", "--port", str(port)])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("配置错误 (config error): 环境变量 MAILROOM_WEB_SECRET 太短（3 个字符，至少要 16 个）")
    )


# 5. The web app logs failed logins, lockouts and server errors ------------------------------------------------


@pytest.fixture
def app(web_config):
    from bot.daemon.deps import open_deps

    deps = open_deps(web_config, create_folders=True)
    add_accounts(deps)
    now = datetime(2020, 5, 6, 2, 0, tzinfo=UTC)
    yield create_app(web_config, dataclasses.replace(deps, clock=lambda: now), secret_key="test secret")
    deps.close()


def test_failed_logins_and_a_lockout_are_logged_without_the_password(app, caplog):
    """GIVEN 5 wrong passwords for a name WHEN it tries again THEN each failure and the lockout (429) are one
    WARNING line naming the name and the client's address; no line holds a password tried."""
    client = app.test_client()
    with caplog.at_level(logging.INFO):
        statuses = [log_in(client, "孙倩", f"wrong password {n}").status_code for n in range(5)]
        statuses.append(log_in(client, "孙倩", PASSWORD).status_code)
    assert statuses == [401] * 5 + [429]
    lines = [(record.levelno, record.getMessage()) for record in caplog.records if record.name == "bot.web.auth"]
    assert lines[:5] == [(logging.WARNING, "登录失败：账号 '孙倩'，来自 127.0.0.1")] * 5
    assert len(lines) == 6 and lines[5][0] == logging.WARNING
    assert lines[5][1].startswith("登录被拒绝（锁定 ") and lines[5][1].endswith("：账号 '孙倩'，来自 127.0.0.1")
    assert not [message for message in caplog.messages if "wrong password" in message or PASSWORD in message]


def test_a_server_error_is_logged_with_its_traceback(app, caplog):
    """GIVEN a page that fails WHEN a signed-in user opens it THEN the Chinese 500 page, and the error with its
    traceback at ERROR in the process's logging (the root logger's handlers, which `mailroom web` configures)."""
    client = app.test_client()
    assert log_in(client, "孙倩").status_code == 302

    def broken():
        raise RuntimeError("a bug in a page")

    app.view_functions["archive.search_page"] = broken
    with caplog.at_level(logging.INFO):
        response = client.get("/search")
    assert response.status_code == 500 and "服务器出错" in response.get_data(as_text=True)
    (record,) = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
    assert record.getMessage() == "Exception on /search [GET]"
