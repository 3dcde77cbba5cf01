"""What the operator reads: `status` saying whether a daemon runs (a stopped one's plans not shown as plans, a
daemon whose database session ended seen again), a second `serve` saying it stands by, IMAP errors in one
Chinese line that names the server and what to check (a refused login, a TLS/port mismatch or a port that never
greets not retried as if passing), `web` on a port in use. Against a real Dovecot and real `mailroom serve`
processes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, select, text

from archive.locks import lock_key
from archive.models import MailboxState
from archive.state import record_poll
from bot.cli.group import main
from bot.daemon import imap as imap_module
from bot.daemon.deps import open_deps
from bot.daemon.maildir import create_maildir
from bot.daemon.poll import poll_once
from bot.daemon.serve import _watch_imap
from bot.daemon.status import PRESENCE, daemon_running, describe_status, gather_status, serving
from tests.conftest import DATA, ROOT, make_config, port_in_use
from tests.daemon_harness import DEPARTMENTS, PASSWORD, Daemon, imap_boxes, serve_config, wait_for

APP_PASSWORD = "163/126/QQ 邮箱需使用客户端授权码，而不是网页登录密码"


@pytest.fixture(scope="module")
def dovecot():
    from tests.dovecot import INSTALL_HINT, Dovecot, dovecot_binary

    if dovecot_binary() is None:
        pytest.skip(INSTALL_HINT)
    with Dovecot(users={key: PASSWORD for key in DEPARTMENTS}) as server:
        yield server


@pytest.fixture
def folder(dovecot):
    name = f"O{uuid.uuid4().hex[:10]}"
    for key in DEPARTMENTS:
        with dovecot.client(key) as client:
            client.create_folder(name)
    return name


def _mailbox_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.split("（", 1)[0] in DEPARTMENTS]


def _recorded_watch(database_url: str) -> dict[str, str | None]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(select(MailboxState.mailbox, MailboxState.watch)).all())
    finally:
        engine.dispose()


def test_presence_is_told_by_the_lock_not_by_the_records(config, deps):
    """GIVEN a mailbox whose record says IDLE with a next look already past WHEN no daemon holds the
    presence lock THEN status says none runs, first, with the last record's time, and shows neither the
    IDLE nor the next look; while one (or two) hold it, status says one runs and probing takes nothing."""
    box = config.mailboxes[0]
    record_poll(deps.db, box.key, "INBOX", watch="idle", next_poll_at=datetime.now(UTC) - timedelta(hours=3))
    assert not daemon_running(deps)
    data = gather_status(config, deps)
    lines = describe_status(data)
    assert data["daemon_running"] is False and data["last_recorded"]
    assert lines[0].startswith(f"守护进程未运行（最后记录于 {data['last_recorded']}）")
    mine = next(line for line in lines if line.startswith(f"{box.key}（"))
    assert "IDLE" not in mine and "下次" not in mine and "未由守护进程监视" in mine
    with serving(deps) as first, serving(deps) as second:  # two instances share it
        assert (first.others, second.others) == (False, True)
        assert (first.keep(), second.keep()) == (False, False)  # their sessions are there: nothing to take again
        for _ in range(3):  # a status looking does not take it from them
            assert daemon_running(deps)
        data = gather_status(config, deps)
        assert describe_status(data)[0] == "守护进程正在运行"
        assert data["mailboxes"][0]["watch"] is None  # no worker holds the mailbox (bot.daemon.status._worked)
        with deps.hold(f"mailbox-{box.key}"):
            data = gather_status(config, deps)
            assert data["mailboxes"][0]["watch"] == "idle" and data["mailboxes"][0]["next_poll"]
    assert not daemon_running(deps)


STANDS_BY = "另一个 mailroom serve 实例正在运行，邮箱由它收取：本实例待命"


class Lines:
    """A process's output, read as it comes by a thread of its own, so that a test can wait for a line."""

    def __init__(self, process: subprocess.Popen):
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream) -> None:
        for line in stream:
            self._lines.append(line)

    def text(self) -> str:
        return "".join(self._lines)

    def whole(self) -> str:
        """Everything it printed, once it has ended."""
        self._reader.join(60)
        return self.text()


@pytest.mark.imap
def test_status_follows_serve_and_a_second_serve_says_it_stands_by(tmp_path, database_url, dovecot, folder):
    """GIVEN `serve` idle on four IMAP mailboxes WHEN a second `serve` starts, then stops, and the first
    gets SIGTERM THEN the second says another instance holds the mailboxes, its stop leaves the first's
    record alone, and after the first's stop status says no daemon runs and the record holds no plan;
    after a kill -9 too, status says none runs and shows no IDLE and no next look."""
    config = serve_config(tmp_path, imap_boxes(dovecot, folder), {"transport": "folder"}, poll_minutes=None)
    daemon = Daemon(config, database_url, tmp_path / "archive")
    try:
        first = daemon.start()
        wait_for(lambda: all(box["watch"] == "idle" for box in daemon.status()["mailboxes"]), 120, "IDLE")
        lines = daemon.command("status").stdout.splitlines()
        assert lines[0] == "守护进程正在运行"
        assert all("IDLE 等待新邮件" in line and "下次" in line for line in _mailbox_lines(lines))

        second = daemon.start()
        said = Lines(second)
        # Its stop is sent once it stands by, however long its start takes on a loaded machine (a fixed pause
        # was too short: a SIGTERM before its handler was set killed it before it said a word).
        wait_for(lambda: STANDS_BY in said.text(), 120, "the second serve to stand by", step=0.2)
        second.send_signal(signal.SIGTERM)
        code, output = second.wait(timeout=60), said.whole()
        assert code == 0, output
        assert STANDS_BY in output
        status = daemon.status()
        assert status["daemon_running"] and all(box["watch"] == "idle" for box in status["mailboxes"])

        code, output, _ = daemon.terminate(first)
        assert code == 0, output
        status = daemon.status()
        assert status["daemon_running"] is False
        assert all(box["watch"] is None and box["next_poll"] is None for box in status["mailboxes"])
        assert set(_recorded_watch(database_url).values()) == {None}  # cleared on the clean stop
        lines = daemon.command("status").stdout.splitlines()
        assert lines[0].startswith(f"守护进程未运行（最后记录于 {status['last_recorded']}）")
        assert not any("IDLE" in line or "下次" in line for line in _mailbox_lines(lines))

        killed = daemon.start()
        wait_for(lambda: all(box["watch"] == "idle" for box in daemon.status()["mailboxes"]), 120, "IDLE again")
        killed.send_signal(signal.SIGKILL)
        killed.communicate()
        assert set(_recorded_watch(database_url).values()) == {"idle"}  # no chance to clear it
        lines = daemon.command("status").stdout.splitlines()
        assert lines[0].startswith("守护进程未运行（最后记录于 ")
        assert not any("IDLE" in line or "下次" in line for line in _mailbox_lines(lines))
    finally:
        daemon.close()


def _presence_holders(engine: Engine) -> list[int]:
    """The PostgreSQL backends (pids) holding this archive's presence lock now, read as `held` reads it."""
    with engine.connect() as connection:
        namespace = connection.execute(text("SELECT current_database() || '/' || current_schema()")).scalar_one()
        key = lock_key(f"{namespace}:{PRESENCE}") & 0xFFFF_FFFF_FFFF_FFFF
        return list(
            connection.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    " AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1"
                ),
                {"high": key >> 32, "low": key & 0xFFFF_FFFF},
            ).scalars()
        )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # a lock file is not lost so
def test_serve_takes_its_presence_again_when_its_database_session_ends(tmp_path, database_url):
    """GIVEN `serve` running on PostgreSQL WHEN the session that holds its presence lock ends, as at a restart
    of the server (its backend terminated: the shared server itself is not restarted) THEN the daemon notices,
    takes the lock again on a new session and says so; `status` says a daemon runs, and it stops cleanly."""
    maildir = tmp_path / "maildir"
    create_maildir(maildir)
    boxes = [{"key": "jjb", "name": "jjb", "address": DEPARTMENTS["jjb"], "source": "maildir", "path": str(maildir)}]
    daemon = Daemon(serve_config(tmp_path, boxes, {"transport": "folder"}, None), database_url, tmp_path / "archive")
    engine = create_engine(database_url)
    try:
        process = daemon.start()
        wait_for(lambda: bool(_presence_holders(engine)), 60, "serve to hold its presence lock", step=0.2)
        (first,) = _presence_holders(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar()
        wait_for(lambda: first not in _presence_holders(engine), 30, "the session's end to release the lock")
        wait_for(lambda: bool(_presence_holders(engine)), 60, "serve to take its presence lock again", step=0.2)
        assert process.poll() is None
        assert daemon.status()["daemon_running"] is True
        code, output, _ = daemon.terminate(process)
        assert code == 0, output
        assert "与数据库的连接曾中断（数据库重启？），已重新登记本守护进程" in output
        assert daemon.status()["daemon_running"] is False  # released at the stop, the new session's lock too
    finally:
        daemon.close()
        engine.dispose()


def _closed_port() -> int:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        return held.getsockname()[1]


@pytest.fixture
def one_box(tmp_path, dovecot, monkeypatch):
    """A config of one IMAP mailbox (jjb) on Dovecot, with these settings changed; the sleeps of its retries."""
    monkeypatch.setenv("TEST_PW_JJB", PASSWORD)
    sleeps: list[float] = []

    def build(**changed):
        box = {**imap_boxes(dovecot, "INBOX")[0], **changed}
        assert box["key"] == "jjb"
        config = make_config(tmp_path, f"sqlite:///{tmp_path}/mailroom.db", [box])
        return config, open_deps(config, sleep=sleeps.append, backoff=0.5)

    build.sleeps = sleeps  # type: ignore[attr-defined]
    return build


@pytest.mark.imap
def test_a_refused_login_says_what_to_check_once_and_is_not_retried(one_box, dovecot, monkeypatch, caplog):
    """GIVEN a wrong password WHEN `poll --once` and the daemon's worker try the mailbox THEN each says, in
    one line naming the mailbox once, the server, the user and to check the 授权码, with the server's own
    words (no bytes literal); neither retries it at once, the daemon waits its usual minute."""
    monkeypatch.setenv("TEST_PW_JJB", "wrong")
    config, deps = one_box()
    said = (
        f"登录被拒绝（127.0.0.1:{dovecot.port}，用户名 jjb）：请检查用户名和授权码（{APP_PASSWORD}）"
        "（[AUTHENTICATIONFAILED] Authentication failed.）"
    )
    try:
        assert poll_once(config, deps).mailboxes[0].error == said
        assert one_box.sleeps == []
        with serving(deps), caplog.at_level(logging.ERROR, logger="bot.daemon.serve"):  # as `serve` does
            assert _watch_imap(config, deps, config.mailboxes[0], lambda: None) == 60.0
            (box,) = gather_status(config, deps)["mailboxes"]
        daemon_says = [record.getMessage() for record in caplog.records if record.name == "bot.daemon.serve"]
        assert daemon_says == [f"jjb: {said}；60 秒后重试"]
        assert (box["last_error"], box["watch"], box["failing"]) == (said, "retry", True)
    finally:
        deps.close()


@pytest.mark.imap
def test_tls_against_a_plain_port_says_so_and_is_not_retried(one_box, dovecot):
    config, deps = one_box(security="tls")
    try:
        error = poll_once(config, deps).mailboxes[0].error
    finally:
        deps.close()
    assert error.startswith(
        f"无法连接 127.0.0.1:{dovecot.port}：TLS 握手失败：请检查 security（tls/starttls，现为 tls）与端口是否匹配"
    )
    assert "WRONG_VERSION_NUMBER" in error and "\n" not in error
    assert one_box.sleeps == []


@pytest.mark.imap
def test_a_closed_port_and_an_unknown_host_say_what_to_check_and_are_retried(one_box):
    port = _closed_port()
    config, deps = one_box(port=port)
    try:
        error = poll_once(config, deps).mailboxes[0].error
    finally:
        deps.close()
    assert error == (
        f"无法连接 127.0.0.1:{port}：连接被拒绝，请检查 host 和 port（[Errno 111] Connection refused）；已尝试 4 次"
    )
    assert one_box.sleeps == [0.5, 1.0, 2.0]  # a server down may come back: a passing fault

    config, deps = one_box(host="mailroom-test.invalid", security="tls")
    try:
        error = poll_once(config, deps).mailboxes[0].error
    finally:
        deps.close()
    assert error.startswith("找不到服务器 mailroom-test.invalid：请检查 host 拼写和网络（[Errno -")
    assert error.endswith("）；已尝试 4 次")


class SilentServer:
    """The hostile server of a mistyped port: it takes every connection and never says a word (no greeting, no
    TLS handshake); it counts the connections it took."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.taken: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                self.taken.append(self.listener.accept()[0])

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.listener.close()
        for connection in self.taken:
            connection.close()


@pytest.mark.parametrize("security", ["plain", "tls", "starttls"])
def test_a_server_that_never_greets_fails_at_once_in_one_line_and_is_not_retried(
    tmp_path, monkeypatch, caplog, security
):
    """GIVEN a port that takes the connection and never greets (a mistyped port) WHEN `poll --once` and the
    daemon's worker try it THEN each gives up after the connect timeout, on one connection, in one line that
    names host:port, says the server did not answer and what to check; neither retries it at once."""
    silent = SilentServer()
    monkeypatch.setattr(imap_module, "CONNECT_SECONDS", 0.5)
    monkeypatch.setenv("TEST_PW_JJB", PASSWORD)
    monkeypatch.setenv("MAILROOM_DATABASE_URL", f"sqlite:///{tmp_path}/mailroom.db")
    monkeypatch.setenv("MAILROOM_ARCHIVE_PATH", str(tmp_path / "archive"))
    box = {
        "key": "jjb",
        "name": "jjb",
        "address": DEPARTMENTS["jjb"],
        "host": "127.0.0.1",
        "port": silent.port,
        "security": security,
        "username": "jjb",
        "password_env": "TEST_PW_JJB",
    }
    said = (
        f"无法连接 127.0.0.1:{silent.port}：服务器没有应答，请检查 host、port、防火墙，以及 security（现为 {security}）"
        "与端口是否匹配（"
    )
    try:
        path = serve_config(tmp_path, [box], {"transport": "folder"}, poll_minutes=None)
        with caplog.at_level(logging.WARNING):
            result = CliRunner().invoke(main, ["--config", str(path), "poll", "--once"])
        assert result.exit_code == 1, result.output
        assert len(silent.taken) == 1  # not retried: each try would wait as long again
        (line,) = [line for line in result.output.splitlines() if line.startswith("jjb: ")]
        assert line.startswith(f"jjb: 失败 — {said}") and line.endswith("）") and "已尝试" not in line
        assert not [record for record in caplog.records if "重试" in record.getMessage()]

        config = make_config(tmp_path, f"sqlite:///{tmp_path}/mailroom.db", [box])
        deps = open_deps(config)
        try:
            with serving(deps):
                assert _watch_imap(config, deps, config.mailboxes[0], lambda: None) == 60.0
                (state,) = gather_status(config, deps)["mailboxes"]
        finally:
            deps.close()
        assert state["last_error"].startswith(said) and state["watch"] == "retry"
        assert len(silent.taken) == 2
    finally:
        silent.close()


def test_web_on_a_port_in_use_says_so_and_never_claims_to_serve(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("MAILROOM_DATABASE_URL", f"sqlite:///{tmp_path}/mailroom.db")
    monkeypatch.setenv("MAILROOM_ARCHIVE_PATH", str(tmp_path / "archive"))
    with port_in_use() as port:
        result = CliRunner().invoke(main, ["--config", str(config), "web", "--port", str(port)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"错误 (error): 端口 {port} 已被占用：请停止占用它的程序，或用 --port / 配置 [web] port 换一个端口"
    )
    assert "正在 http" not in result.output


def test_web_stopped_by_its_supervisor_exits_0_and_closes_its_reader_processes(tmp_path):
    """GIVEN `mailroom web` whose 自查 has read a clerk's upload (its reader processes started) WHEN SIGTERM comes
    (systemctl stop) THEN it exits 0 with nothing more on stderr, where it died of the signal (-15) and Python's
    resource tracker warned of the readers' semaphores left behind, in the service's log at every stop."""
    import re
    import urllib.parse
    import urllib.request
    from http.cookiejar import CookieJar

    from archive.users import add_user
    from tests.smtp_server import free_port

    env = {
        **os.environ,
        "MAILROOM_DATABASE_URL": f"sqlite:///{tmp_path}/mailroom.db",
        "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive"),
    }
    config = make_config(tmp_path, env["MAILROOM_DATABASE_URL"])
    deps = open_deps(dataclasses.replace(config, archive_path=tmp_path / "archive"), sandbox=None)
    with deps.db.session() as session:
        add_user(session, "景县填报", "clerk-password-1", "unit", unit="景县")
        session.commit()
    deps.close()
    port = free_port()
    command = [sys.executable, "-m", "bot", "--config", str(ROOT / "config.example.toml"), "web", "--port", str(port)]
    web = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        wait_for(lambda: _page(opener, f"{base}/login") is not None, timeout=30, what="the web app listening")
        token = re.search(r'name="csrf_token" value="([^"]+)"', _page(opener, f"{base}/login") or "").group(1)
        fields = {"csrf_token": token, "name": "景县填报", "password": "clerk-password-1"}
        opener.open(f"{base}/login", urllib.parse.urlencode(fields).encode())
        token = re.search(r'name="csrf_token" value="([^"]+)"', _page(opener, f"{base}/selfcheck")).group(1)
        boundary = uuid.uuid4().hex
        upload = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="附件2.xlsx"\r\n\r\n'
            ).encode()
            + (DATA / "workbooks" / "summary-unit-row-only.xlsx").read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        asked = urllib.request.Request(
            f"{base}/selfcheck", data=upload, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
        assert "检查结果" in opener.open(asked).read().decode()
    finally:
        web.send_signal(signal.SIGTERM)
        _, stderr = web.communicate(timeout=30)
    assert web.returncode == 0
    assert stderr.decode().strip().splitlines() == [f"mailroom web 正在 http://127.0.0.1:{port}/ 上服务（Ctrl-C 停止）"]


def _page(opener, url: str) -> str | None:
    """The page's text, or None while the server does not listen yet."""
    try:
        return opener.open(url).read().decode()
    except OSError:
        return None
