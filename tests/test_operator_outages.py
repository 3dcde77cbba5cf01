"""What the operator meets when the machine around mailroom fails: an archive folder that is not there (a path
mistyped, its disk not mounted), a clock that ran fast, a recipient the other side refuses for good, an archive
disk mounted read-only or full, a SQLite database whose disk is full or that another program holds locked.

Each is said in one Chinese line that says what to check, nothing is archived where it should not be, no mail is
lost or sent twice, and what was done before the failure is reported. The read-only and full disks are real
tmpfs mounts where the tests may mount (root); the same errors raised at the lowest level (the system call's
OSError) are tested everywhere."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session

import archive.locks
import archive.store
import bot.daemon.poll
from archive.db import Database, _alembic_config
from archive.ingest import Incoming, ingest_batch
from archive.models import ArchiveIdentity, Message, OutboxMail
from archive.outbox import backlog, mark_failed, mark_sending, queue_mail
from archive.pairing import pair
from archive.store import IDENTITY, RawStore
from bot.cli.errors import run_reporting_errors
from bot.cli.group import main
from bot.config import masked_url
from bot.daemon.deps import open_deps
from bot.daemon.poll import poll_once
from bot.daemon.status import describe_status, gather_status, serving
from bot.demo.folder import compose
from bot.outgoing.outbox import SmtpTransport, flush_outbox, reply_text
from parsers.errors import ConfigError, ServiceError
from tests.conftest import ROOT, make_config
from tests.daemon_harness import DEPARTMENTS, serve_config
from tests.smtp_server import Delivering, SmtpServer, smtp_answering

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2020, 5, 6, 1, 0, tzinfo=UTC)
OFFICE = DEPARTMENTS["bgs"]


def _briefing(number: int, sender: str = "zqxcl@163.com", to: str = OFFICE) -> bytes:
    return compose(
        sender, to, f"枣强县贫困残疾人服务工程专项信息（{number}）", datetime.now(SHANGHAI), body=f"第{number}篇"
    ).as_bytes()


def _deliver(maildir: Path, raw: bytes) -> None:
    (maildir / "new" / f"{uuid.uuid4().hex}.eml").write_bytes(raw)


@pytest.fixture
def cli(tmp_path, database_url, monkeypatch):
    """`mailroom ARGS` in this process on a config of one Maildir (bgs) and the folder transport, the database and
    archive folder given by the environment as an operator's service gives them: (exit code, stdout, stderr).
    `cli.archive(path)` moves the archive folder; `cli.maildir` is the mailbox's folder."""
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    box = {"key": "bgs", "name": "办公室", "address": OFFICE, "source": "maildir", "path": str(maildir)}
    path = serve_config(tmp_path, [box], {"transport": "folder"}, poll_minutes=None)
    monkeypatch.setenv("MAILROOM_DATABASE_URL", database_url)
    monkeypatch.setenv("MAILROOM_ARCHIVE_PATH", str(tmp_path / "archive"))

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(main, ["--config", str(path), *args], prog_name="mailroom")
        return result.exit_code, result.stdout, result.stderr

    def serve(timeout: float = 60) -> subprocess.CompletedProcess:
        """`mailroom serve` as a process (it would run until stopped if it did not refuse)."""
        return subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(path), "serve"],
            env=dict(os.environ),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    invoke.maildir = maildir  # type: ignore[attr-defined]
    invoke.archive = lambda where: monkeypatch.setenv("MAILROOM_ARCHIVE_PATH", str(where))  # type: ignore[attr-defined]
    invoke.serve = serve  # type: ignore[attr-defined]
    return invoke


@contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where`, unmounted after; the test is skipped where it may not mount."""
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root only): {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], check=True)


# --- an archive folder that is not there ------------------------------------------------------------------------

MISSING = (
    "归档目录 {path} {what}，而数据库中已有 {count} 封邮件：请检查 [archive] path 或 MAILROOM_ARCHIVE_PATH 是否写错、"
    "归档所在的磁盘是否没有挂载；若确要在这里新建归档目录，请运行 mailroom init --pair"
)


def test_a_missing_archive_folder_is_refused_once_the_database_holds_mail(tmp_path, database_url):
    """GIVEN a database that holds a message WHEN the archive folder named is not there, or is an empty folder (the
    mount point of a disk not mounted) THEN opening the archive is refused, naming the folder and what to check,
    and nothing is made there; `init --pair` (adopt) makes it. A new, empty database gets its folder made on
    first use, as before."""
    config = make_config(tmp_path, database_url)
    config = replace(config, archive_path=tmp_path / "first" / "archive")
    deps = open_deps(config)  # the first use: the folder is made
    try:
        assert (config.archive_path / "messages").is_dir()
        ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw=_briefing(1), mailbox="bgs", source="import")])
    finally:
        deps.close()

    unmounted = replace(config, archive_path=tmp_path / "unmounted" / "archive")
    with pytest.raises(ConfigError) as refused:
        open_deps(unmounted)
    assert str(refused.value) == MISSING.format(path=unmounted.archive_path, what="不存在", count=1)
    assert not (tmp_path / "unmounted").exists()

    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    with pytest.raises(ConfigError) as refused:
        open_deps(replace(config, archive_path=mount_point))
    assert str(refused.value) == MISSING.format(path=mount_point, what="是空的（其中没有 messages 文件夹）", count=1)
    assert list(mount_point.iterdir()) == []

    with pytest.raises(ConfigError):
        open_deps(unmounted, create_folders=True).close()  # `mailroom init` refuses it too
    open_deps(unmounted, create_folders=True, adopt=True).close()  # `mailroom init --pair`
    assert (unmounted.archive_path / "messages").is_dir()


def test_commands_refuse_a_mistyped_archive_path_and_archive_nothing_into_it(cli, tmp_path):
    """GIVEN an archive of one message and new mail waiting WHEN MAILROOM_ARCHIVE_PATH names a folder that is not
    there THEN `status`, `poll --once` and `serve` each refuse in one line (exit 2) and make nothing; the mail waits
    in the mailbox; with the right path `poll --once` archives it and `verify` finds every file."""
    _deliver(cli.maildir, _briefing(1))
    assert cli("poll", "--once")[0] == 0
    _deliver(cli.maildir, _briefing(2))
    wrong = tmp_path / "unmounted" / "archive"
    cli.archive(wrong)
    line = "配置错误 (config error): " + MISSING.format(path=wrong, what="不存在", count=1) + "\n"
    assert cli("status") == (2, "", line)
    assert cli("poll", "--once") == (2, "", line)
    served = cli.serve()
    assert (served.returncode, served.stdout, served.stderr) == (2, "", line)
    assert not (tmp_path / "unmounted").exists()
    assert len(list((cli.maildir / "new").iterdir())) == 1  # not taken from the mailbox

    cli.archive(tmp_path / "archive")
    code, out, _ = cli("poll", "--once")
    assert code == 0 and out.startswith("bgs: 取回 1 封，新归档 1 封")
    code, out, _ = cli("verify")
    assert code == 0 and "缺失 0 个，被改动 0 个" in out


NEW_DATABASE = (
    "数据库 {url} 中没有任何邮件，而归档目录 {path} 中已有归档的邮件：请检查 [database] url 或环境变量 "
    "MAILROOM_DATABASE_URL 是否指向正在使用的数据库（新开的终端中是否未设置该变量）；若要换用这个数据库，"
    "请用原来的数据库运行 mailroom copy-database 把数据复制过来；若确要从这个空数据库重新开始"
    "（已结账的年度、工作人员的决定和账号都不在其中），请运行 mailroom init --pair"
)


def test_a_database_without_mail_beside_an_archive_with_some_is_refused(cli, tmp_path, monkeypatch):
    """GIVEN an archive of one answered message, its database given by MAILROOM_DATABASE_URL WHEN a command runs
    in a shell without that variable (the config's own SQLite file is taken: a new, empty database) THEN `status`
    and `poll --once` refuse in one line (exit 2): the mail is neither archived again nor answered again; `init`
    takes the new database on purpose; no database file is made before that."""
    _deliver(cli.maildir, _briefing(1))
    assert cli("poll", "--once")[0] == 0
    outbox = tmp_path / "var" / "outbox"
    answered = sorted(outbox.iterdir())
    assert len(answered) == 1
    monkeypatch.delenv("MAILROOM_DATABASE_URL")
    forgotten = tmp_path / "var" / "mailroom.db"
    line = "配置错误 (config error): " + NEW_DATABASE.format(url=f"sqlite:///{forgotten}", path=tmp_path / "archive")
    assert cli("status") == (2, "", line + "\n")
    assert cli("poll", "--once") == (2, "", line + "\n")
    assert sorted(outbox.iterdir()) == answered

    assert cli("init") == (2, "", line + "\n")  # `init` in that shell (an upgrade step) refuses it too
    assert cli("status") == (2, "", line + "\n")
    assert not forgotten.exists()  # refused before the file is made: no empty database left behind
    assert cli("init", "--pair")[0] == 0  # the new database, taken on purpose
    assert cli("status")[0] == 0


def _archive_one(config, number: int) -> str | None:
    """One briefing archived into `config`'s archive (opened as any command opens it); the folder's identity."""
    deps = open_deps(config)
    try:
        ingest_batch(
            deps.db, deps.store, deps.recognizer, [Incoming(raw=_briefing(number), mailbox="bgs", source="import")]
        )
        return deps.store.identity()
    finally:
        deps.close()


def _identities(deps) -> tuple[str | None, str | None]:
    """The archive folder's identity and the one its database holds."""
    with deps.db.session() as session:
        return deps.store.identity(), session.scalar(select(ArchiveIdentity.archive_id))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_processes_recording_the_folders_identity_at_once_both_succeed(tmp_path, database_url):
    """GIVEN an archive folder with its identity (and no mail yet) beside a new PostgreSQL database WHEN two
    commands start at the same moment, each finding no identity in the database and inserting the folder's THEN
    both succeed (the second insert raised IntegrityError, and that command failed) and the database holds the one
    identity. (SQLite has one writer: the second waits at its first write until the first has committed.)"""
    config = make_config(tmp_path, database_url)
    store = RawStore(config.archive_path)
    store.create()
    identity = store.claim_identity(str(uuid.uuid4()))
    dbs = [Database(config.database_url) for _ in range(2)]
    dbs[0].upgrade()
    both_inserting = threading.Barrier(2, timeout=30)

    def insert_together(session: Session, context, instances) -> None:
        if any(isinstance(row, ArchiveIdentity) for row in session.new):
            both_inserting.wait()

    errors: list[BaseException] = []

    def pairing(db: Database) -> None:
        try:
            pair(db, RawStore(config.archive_path), "db")
        except BaseException as error:  # noqa: BLE001 - said by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=pairing, args=(db,)) for db in dbs]
    event.listen(Session, "before_flush", insert_together)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        with dbs[0].session() as session:
            held = session.scalars(select(ArchiveIdentity.archive_id)).all()
    finally:
        event.remove(Session, "before_flush", insert_together)
        for db in dbs:
            db.dispose()
    assert (errors, held) == ([], [identity])


def test_a_database_and_an_archive_folder_of_two_pairs_are_refused(tmp_path, database_url):
    """GIVEN a database paired with its archive folder, and another folder holding another database's mail WHEN the
    database is opened with the other folder THEN it is refused, naming both identities and what to check;
    `init` pairs them on purpose. A first use, a first poll stopped before its first commit (the folder holds a
    message, the database none) and a pair made by a version before identities are each opened and paired."""
    ours = make_config(tmp_path, database_url)
    deps = open_deps(ours)  # a first use: both made, and paired
    try:
        own, held = _identities(deps)
        assert own is not None and own == held
        deps.store.put_message(_briefing(1))  # a first poll stopped after writing, before committing
        deps.store.sync()
    finally:
        deps.close()
    open_deps(ours).close()

    theirs = replace(ours, database_url=f"sqlite:///{tmp_path / 'theirs.db'}", archive_path=tmp_path / "theirs")
    other = _archive_one(theirs, 2)
    crossed = replace(ours, archive_path=theirs.archive_path)
    with pytest.raises(ConfigError) as refused:
        open_deps(crossed)
    assert str(refused.value) == (
        f"数据库 {masked_url(ours.database_url)} 与归档目录 {theirs.archive_path} 不是同一套"
        f"（数据库记录的归档标识为 {own}，该目录的为 {other}）："
        "请检查 [database] url、MAILROOM_DATABASE_URL 与 [archive] path、MAILROOM_ARCHIVE_PATH 是否指向同一套归档；"
        "若确要让这个数据库使用这个归档目录，请运行 mailroom init --pair"
    )
    deps = open_deps(crossed, create_folders=True, adopt=True)  # `mailroom init --pair`
    try:
        assert _identities(deps) == (other, other)
    finally:
        deps.close()

    before = replace(ours, archive_path=tmp_path / "before")  # a pair of a version before identities
    deps = open_deps(before, create_folders=True)
    try:
        ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw=_briefing(3), mailbox="bgs", source="import")])
        (before.archive_path / IDENTITY).unlink()
        with deps.db.session() as session:
            session.execute(delete(ArchiveIdentity))
            session.commit()
    finally:
        deps.close()
    deps = open_deps(before)
    try:
        again, held = _identities(deps)
        assert again is not None and again == held
    finally:
        deps.close()

    # an old database of a version before identities (left behind by a move to PostgreSQL) is not another's
    old = replace(ours, database_url=f"sqlite:///{tmp_path / 'old.db'}", archive_path=tmp_path / "old")
    deps = open_deps(old)
    try:
        ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw=_briefing(4), mailbox="bgs", source="import")])
        with deps.db.session() as session:
            session.execute(delete(ArchiveIdentity))
            session.commit()
    finally:
        deps.close()
    with pytest.raises(ConfigError) as refused:
        open_deps(replace(old, archive_path=before.archive_path))
    assert f"（数据库中已有邮件，却没有归档标识，该目录的为 {again}）" in str(refused.value)


@pytest.mark.parametrize("revision", ["0022", "0018"])
def test_a_database_restored_from_before_an_upgrade_is_refused_before_it_is_upgraded(tmp_path, database_url, revision):
    """GIVEN a pair upgraded to identities, then rolled back: the database restored from its backup of before
    (schema 0022, or 0018 before the spool; its mail, no identity), the archive folder kept (its archive-id) WHEN a
    command opens them THEN it is refused as another pair and the database is left as it was, which the release
    rolled back to still opens: it was refused after the upgrade, and the old release could no longer open it.
    Without the folder's archive-id (a pair from before identities) the first command upgrades and pairs them."""
    config = make_config(tmp_path, database_url)
    deps = open_deps(config)
    try:
        ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw=_briefing(5), mailbox="bgs", source="import")])
        with deps.db.engine.begin() as connection:
            alembic = _alembic_config()
            alembic.attributes["connection"] = connection
            command.downgrade(alembic, revision)
        assert deps.db.revision() == revision
    finally:
        deps.close()
    with pytest.raises(ConfigError) as refused:
        open_deps(config)
    assert "（数据库中已有邮件，却没有归档标识，该目录的为" in str(refused.value)
    db = Database(config.database_url)
    try:
        assert db.revision() == revision
    finally:
        db.dispose()
    (config.archive_path / IDENTITY).unlink()  # a pair from before identities: the first command pairs it
    open_deps(config).close()


def test_an_archive_folder_gone_while_running_is_said_and_never_made_again(config, deps, tmp_path):
    """GIVEN a running poller's archive folder gone (its disk unmounted) WHEN new mail comes and a stored message
    is read again (re-derivation) THEN each says, in one line, that the folder is gone and to check the mount;
    nothing makes the folder again, and the new mail waits in its mailbox."""
    box = config.mailboxes[0]
    _deliver(box.path, _briefing(1, to=box.address))
    (first,) = poll_once(config, deps).mailboxes[0].outcomes
    with deps.db.session() as session:
        sha = session.get(Message, first.id).sha256
    deps.store.root.rename(tmp_path / "unmounted")
    _deliver(box.path, _briefing(2, to=box.address))
    report = poll_once(config, deps)
    assert report.mailboxes[0].error == (
        f"无法写入归档目录 {deps.store.root}：其中的文件夹已不存在（磁盘被卸载？）："
        "请检查挂载，再运行 mailroom verify 核对"
    )
    assert not deps.store.root.exists() and len(list((box.path / "new").iterdir())) == 1
    with pytest.raises(ServiceError) as unreadable:
        deps.store.read_message(sha)
    assert isinstance(unreadable.value, OSError)  # the spool's reader passes over a file it cannot read
    assert (
        str(unreadable.value) == f"无法读取归档目录 {deps.store.root}：它已不存在或是空的（磁盘被卸载？）：请检查挂载"
    )


# --- a clock that ran fast ----------------------------------------------------------------------------------------


class Down:
    """A transport whose server is down: every send is refused at the connection."""

    def close(self) -> None:  # (the end of a sending pass: nothing held)
        pass

    def send(self, raw: bytes, sender: str, recipients: list[str], name: str) -> None:
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")


class Recording:
    def __init__(self) -> None:
        self.sent: list[list[str]] = []

    def close(self) -> None:  # (the end of a sending pass: nothing held)
        pass

    def send(self, raw: bytes, sender: str, recipients: list[str], name: str) -> None:
        self.sent.append(recipients)


def _queue(deps, to: str, now: datetime, not_before: datetime | None = None) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = OFFICE, to, f"回执 {to}"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@test>"
    message.set_content("已收到")
    with deps.db.session() as session:
        queue_mail(session, f"receipt:{to}", "receipt", message, now, not_before=not_before)
        session.commit()


def test_mail_planned_by_a_clock_that_ran_fast_is_due_once_the_clock_is_right(config, deps):
    """GIVEN, under a clock 30 days fast, a mail whose send failed (next try 30 days ahead) and a mail queued (its
    time 30 days ahead) WHEN the clock is right again THEN both go at the next look; a wait the program planned
    itself is kept: a receipt held for a later hour by receipts_per_hour, a retry a minute ahead."""
    fast = NOW + timedelta(days=30)
    _queue(deps, "tried@163.com", NOW)
    flush_outbox(deps.db, config.outgoing, Down(), fast)
    _queue(deps, "queued@163.com", fast)
    _queue(deps, "held@163.com", NOW, not_before=NOW + timedelta(hours=3))  # receipts_per_hour: a later hour
    _queue(deps, "retry@163.com", NOW)
    with deps.db.session() as session:
        mail = session.scalars(select(OutboxMail).where(OutboxMail.recipients == "retry@163.com")).one()
        mark_sending(session, mail, NOW)
        mark_failed(session, mail, NOW, "connection refused")
        ahead = {mail.recipients: mail.next_attempt_at - NOW for mail in session.scalars(select(OutboxMail))}
    assert ahead == {
        "tried@163.com": timedelta(days=30, minutes=1),
        "queued@163.com": timedelta(days=30),
        "held@163.com": timedelta(hours=3),
        "retry@163.com": timedelta(minutes=1),
    }

    transport = Recording()
    report = flush_outbox(deps.db, config.outgoing, transport, NOW + timedelta(seconds=30))
    assert report.sent == 2 and sorted(transport.sent) == [["queued@163.com"], ["tried@163.com"]]
    later = flush_outbox(deps.db, config.outgoing, transport, NOW + timedelta(hours=3))
    assert later.sent == 2 and sorted(transport.sent[2:]) == [["held@163.com"], ["retry@163.com"]]


# --- a recipient refused for good ---------------------------------------------------------------------------------

UNKNOWN = "apxcl@126.com"
FULL = "full@126.com"
SPAM = "spam@126.com"


class Refusing(Delivering):
    """A real SMTP server's answers: 550 (in UTF-8 Chinese) to an unknown recipient, 450 to a full mailbox, 554 to
    the data of a mail for SPAM; it counts each RCPT it was asked."""

    def __init__(self) -> None:
        super().__init__(lambda recipient, raw: None)
        self.asked: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        self.asked.append(address)
        if address == UNKNOWN:
            return "550 5.1.1 用户不存在 mailbox unavailable"
        if address == FULL:
            return "450 4.2.2 邮箱已满"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if SPAM in envelope.rcpt_tos:
            return "554 5.7.1 内容被拒绝"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def refusing():
    with smtp_answering(Refusing()) as server:
        yield server


def test_poll_once_exits_1_while_the_receipt_it_owes_cannot_be_sent(tmp_path, database_url, monkeypatch):
    """GIVEN a registered unit's briefing in the mailbox and the SMTP server down WHEN `poll --once` runs (from cron)
    THEN the mail is archived, the line says the receipt waits and why, and it exits 1 (it exited 0: nothing told
    cron that no receipt was leaving); once the server is up the next poll sends it and exits 0."""
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    box = {"key": "bgs", "name": "办公室", "address": OFFICE, "source": "maildir", "path": str(maildir)}
    server = SmtpServer(lambda recipient, raw: None)  # not started yet: the server is down
    path = serve_config(tmp_path, [box], {"transport": "smtp", "port": server.port, "timeout_seconds": 5}, None)
    monkeypatch.setenv("MAILROOM_DATABASE_URL", database_url)
    monkeypatch.setenv("MAILROOM_ARCHIVE_PATH", str(tmp_path / "archive"))
    _deliver(maildir, _briefing(1))

    def poll() -> tuple[int, list[str]]:
        result = CliRunner().invoke(main, ["--config", str(path), "poll", "--once"], prog_name="mailroom")
        return result.exit_code, result.stdout.splitlines()

    code, lines = poll()
    assert code == 1 and lines[0] == "bgs: 取回 1 封，新归档 1 封", lines
    assert (
        lines[-1].startswith("发信：成功 0 封，1 封未发出（留在发送队列中，由 serve 或下次 poll 再试）：#1: ")
        and str(server.port) in lines[-1]
    )
    db = Database(database_url)
    try:
        with db.session() as session:  # its retry comes due
            session.execute(update(OutboxMail).values(next_attempt_at=datetime.now(UTC)))
            session.commit()
    finally:
        db.dispose()
    server.start()
    try:
        code, lines = poll()
    finally:
        server.stop()
    assert (code, lines[-1]) == (0, "发信：成功 1 封")
    assert [recipients for _, recipients, _ in server.handler.accepted] == [["zqxcl@163.com"]]


def test_a_recipient_refused_for_good_is_failed_said_in_chinese_and_never_tried_again(config, deps, refusing):
    """GIVEN a real SMTP server that answers 550 to one recipient, 554 to one mail's data and 450 to another
    recipient WHEN the outbox is sent, then again and again for two days THEN the 550 and the 554 are failed for
    good, each said once in Chinese with the server's words decoded (no bytes literal), and never asked again;
    the 450 waits and is tried again; the backlog counts only what waits, and lists the refused with why."""
    outgoing = replace(config.outgoing, transport="smtp", host="127.0.0.1", port=refusing.port, security="plain")
    outgoing = replace(outgoing, username="", sender=OFFICE)
    for to in (UNKNOWN, "zqxcl@163.com", FULL, SPAM):
        _queue(deps, to, NOW)
    first = flush_outbox(deps.db, outgoing, SmtpTransport(outgoing), NOW)
    refused = (
        "apxcl@126.com：收件地址被对方服务器拒绝（550 5.1.1 用户不存在 mailbox unavailable）：请核对该单位的报送邮箱"
    )
    spam = (
        "spam@126.com：邮件被对方服务器拒收（554 5.7.1 内容被拒绝）：请按服务器所说的原因处理（如邮件过大、"
        "被当作垃圾邮件），必要时另行联系收件人"
    )
    assert (first.sent, first.failed, first.errors) == (
        1,
        1,
        ("#3: 发信服务器暂时拒收了收件地址 full@126.com，稍后重试（450 4.2.2 邮箱已满）",),
    )
    assert first.refused == (f"#1 回执 {refused}", f"#4 回执 {spam}")

    for hours in (1, 2, 5, 24, 48):
        flush_outbox(deps.db, outgoing, SmtpTransport(outgoing), NOW + timedelta(hours=hours))
    assert refusing.handler.asked.count(UNKNOWN) == 1 and refusing.handler.asked.count(SPAM) == 1
    assert refusing.handler.asked.count(FULL) == 6  # a full mailbox may empty: tried again each time
    with deps.db.session() as session:
        mails = {mail.recipients: mail for mail in session.scalars(select(OutboxMail))}
        waiting = backlog(session)
    assert {to: mail.state for to, mail in mails.items()} == {
        UNKNOWN: "failed",
        "zqxcl@163.com": "sent",
        FULL: "pending",
        SPAM: "failed",
    }
    assert (mails[UNKNOWN].last_error, mails[UNKNOWN].attempts) == (refused, 1)
    assert mails[FULL].last_error == "发信服务器暂时拒收了收件地址 full@126.com，稍后重试（450 4.2.2 邮箱已满）"
    assert (waiting.count, waiting.last_error, waiting.refused_count) == (1, mails[FULL].last_error, 2)
    assert [(mail.id, mail.kind, mail.recipients, mail.error) for mail in waiting.refused] == [
        (4, "receipt", SPAM, spam),  # the newest first (at the same time: the later mail)
        (1, "receipt", UNKNOWN, refused),
    ]
    status = gather_status(config, deps)
    assert status["outbox_backlog"] == 1 and "\\x" not in str(status)


def test_a_servers_reply_is_read_as_utf8_else_gb18030_else_replaced():
    assert reply_text("5.1.1 用户不存在".encode()) == "5.1.1 用户不存在"
    assert reply_text("5.1.1 用户不存在".encode("gb18030")) == "5.1.1 用户不存在"
    assert reply_text(b"5.1.1 \xff\xfe\n  gone") == "5.1.1 \ufffd\ufffd gone"


# --- an archive folder read-only, or its disk full ------------------------------------------------------------------

READ_ONLY = "归档目录只读（{}）：请检查挂载和权限"


def test_a_read_only_archive_still_reports_status_and_serve_and_poll_say_why(cli, tmp_path):
    """GIVEN an archive folder on a disk remounted read-only WHEN the operator asks `status`, runs `poll --once`
    with new mail waiting, and starts `serve` THEN status reports as ever; the poll says per mailbox that the
    archive folder is read-only and leaves the mail in the mailbox (exit 1); serve refuses in that one line."""
    with tmpfs(tmp_path / "disk", "16m") as disk:
        archive_folder = disk / "archive"
        cli.archive(archive_folder)
        _deliver(cli.maildir, _briefing(1))
        assert cli("poll", "--once")[0] == 0
        _deliver(cli.maildir, _briefing(2))
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        try:
            code, out, err = cli("status")
            assert (code, err) == (0, "") and out.startswith("守护进程未运行")
            code, out, err = cli("poll", "--once")
            assert code == 1 and out.splitlines()[0] == "bgs: 失败 — " + READ_ONLY.format(archive_folder)
            assert len(list((cli.maildir / "new").iterdir())) == 1
            served = cli.serve()
            assert served.returncode == 1
            assert served.stderr.splitlines()[-1] == "错误 (error): " + READ_ONLY.format(archive_folder)
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)


class ReadOnlyOs:
    """The `os` the lock files see on a read-only mount: opening one for writing fails with EROFS."""

    def __getattr__(self, name: str):
        return getattr(os, name)

    def open(self, path, flags, *args):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return os.open(path, flags, *args)


def _failing_mkstemp(code: int):
    def mkstemp(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    return SimpleNamespace(mkstemp=mkstemp)


def test_an_unwritable_archive_at_the_system_call_keeps_status_and_says_why(config, deps, monkeypatch):
    """The same as a read-only mount, raised where the system raises it (any user may run this): status reports,
    the daemon's presence refuses in one line, a poll's write says the folder is read-only."""
    _deliver(config.mailboxes[0].path, _briefing(1, to=config.mailboxes[0].address))
    monkeypatch.setattr(archive.locks, "os", ReadOnlyOs())
    assert describe_status(gather_status(config, deps))[0].startswith("守护进程未运行")
    with pytest.raises(ServiceError) as refused, serving(deps):
        pass
    assert str(refused.value) == READ_ONLY.format(deps.store.root)
    monkeypatch.setattr(archive.store, "tempfile", _failing_mkstemp(errno.EROFS))
    report = poll_once(config, deps)
    assert report.mailboxes[0].error == READ_ONLY.format(deps.store.root)


def _disk_full(root: Path) -> str:
    return (
        f"无法写入归档目录 {root}：磁盘已满（[Errno 28] No space left on device）：请清理该磁盘上归档以外的文件"
        "（旧日志、备份、临时文件等），或把归档目录移到更大的磁盘；归档中的文件是邮件的原件，不可删除"
    )


def test_an_archive_disk_that_is_full_says_so_and_what_to_free(cli, tmp_path):
    """GIVEN the archive folder's disk full WHEN `poll --once` has new mail THEN the mailbox's line says the disk
    is full and what may be freed (never the archive's files), the mail stays in the mailbox, status reports."""
    with tmpfs(tmp_path / "disk", "1m") as disk:
        cli.archive(disk / "archive")
        assert cli("status")[0] == 0  # the archive folder made on first use
        filler = disk / "filler"
        with open(filler, "wb", buffering=0) as handle, pytest.raises(OSError):  # nothing left to flush at close
            while True:
                handle.write(b"\0" * 65536)
        _deliver(cli.maildir, _briefing(1))
        code, out, _ = cli("poll", "--once")
        assert code == 1 and out.splitlines()[0] == "bgs: 失败 — " + _disk_full(disk / "archive")
        assert len(list((cli.maildir / "new").iterdir())) == 1
        assert cli("status")[0] == 0
        filler.unlink()
        code, out, _ = cli("poll", "--once")
        assert code == 0 and out.startswith("bgs: 取回 1 封，新归档 1 封")


def test_a_full_archive_disk_at_the_system_call_says_so(config, deps, monkeypatch):
    _deliver(config.mailboxes[0].path, _briefing(1, to=config.mailboxes[0].address))
    monkeypatch.setattr(archive.store, "tempfile", _failing_mkstemp(errno.ENOSPC))
    assert poll_once(config, deps).mailboxes[0].error == _disk_full(deps.store.root)


# --- a SQLite database full or locked --------------------------------------------------------------------------------


def _take_after(monkeypatch, key: str, take) -> None:
    """Poll as ever, but call `take()` just before mailbox `key` is fetched (the moment another program locks the
    database, or its disk fills)."""
    fetch = bot.daemon.poll.fetch_mailbox

    def fetching(box, deps):
        if box.key == key:
            take()
        return fetch(box, deps)

    monkeypatch.setattr(bot.daemon.poll, "fetch_mailbox", fetching)


def _two_mailboxes_with_mail(config) -> None:
    for box in config.mailboxes[:2]:
        _deliver(box.path, _briefing(1, to=box.address))


def _short_busy_wait(deps) -> None:
    """SQLite's busy wait down from 10 s to 0.2 s, so that a lock held by another program fails at once."""
    deps.db.engine.dispose()
    event.listen(deps.db.engine, "connect", lambda connection, _: connection.execute("PRAGMA busy_timeout=200"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_database_another_program_locks_stops_the_poll_saying_why_after_what_was_done(config, deps, monkeypatch):
    """GIVEN two mailboxes with new mail WHEN another program locks the SQLite database after the first is polled
    THEN the poll reports the first (archived), the second's failure saying who to look for, and stops there with
    the database's error; the command's line says the same; the second's mail is archived once the lock is gone."""
    _two_mailboxes_with_mail(config)
    _short_busy_wait(deps)
    path = config.database_url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None)
    _take_after(monkeypatch, config.mailboxes[1].key, lambda: other.execute("BEGIN EXCLUSIVE"))
    try:
        report = poll_once(config, deps)
    finally:
        other.execute("ROLLBACK")
        other.close()
    locked = (
        f"数据库被另一个程序锁定：请检查是否有其他程序（如备份、另一个 mailroom）正在使用 {path}（database is locked）"
    )
    first, second = report.mailboxes
    assert (first.mailbox, first.new, first.error) == (config.mailboxes[0].key, 1, None)
    assert (second.mailbox, second.error) == (config.mailboxes[1].key, locked)
    assert report.stopped is not None and report.outbox is None

    assert _said(partial(_raise, report.stopped)) == (
        1,
        "数据库错误 (database error): 数据库被另一个程序锁定：请检查是否有其他程序（如备份、另一个 mailroom）"
        "正在使用数据库文件（database is locked）",
    )
    monkeypatch.undo()
    again = poll_once(config, deps)
    assert [box.new for box in again.mailboxes] == [0, 1, 0, 0] and again.stopped is None


def _raise(error: BaseException) -> None:
    raise error


def _said(run) -> tuple[int, str]:
    """The exit code and the one line a command stopped by `run` ends with."""
    import io
    from contextlib import redirect_stderr

    with redirect_stderr(io.StringIO()) as err:
        code = run_reporting_errors(run)
    return code, err.getvalue().strip()


def test_a_database_on_a_full_disk_stops_the_poll_saying_so_after_what_was_done(tmp_path, monkeypatch):
    """GIVEN the SQLite database on a disk that fills after the first mailbox is polled WHEN `poll --once` runs
    THEN the first is reported archived, the second's line says the database's disk is full and to free space,
    and the pass stops there; once space is freed, the second's mail is archived."""
    with tmpfs(tmp_path / "disk", "16m") as disk:
        database = disk / "mailroom.db"
        config = make_config(tmp_path, f"sqlite:///{database}")
        deps = open_deps(config, sleep=lambda seconds: None, backoff=0.0)
        filler = disk / "filler"

        def fill() -> None:
            """The disk full, and SQLite's WAL emptied to nothing, so that its next write needs the disk (a WAL
            checkpointed otherwise takes writes in the room it had)."""
            connection = sqlite3.connect(database)
            try:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                connection.close()
            with open(filler, "wb") as handle, pytest.raises(OSError):
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()

        try:
            _two_mailboxes_with_mail(config)
            _take_after(monkeypatch, config.mailboxes[1].key, fill)
            report = poll_once(config, deps)
            first, second = report.mailboxes
            assert (first.new, first.error) == (1, None)
            assert second.error == f"数据库所在磁盘已满：请清理磁盘空间（{database}：database or disk is full）"
            assert report.stopped is not None
            assert _said(partial(_raise, report.stopped)) == (
                1,
                "数据库错误 (database error): 数据库所在磁盘已满：请清理磁盘空间（database or disk is full）",
            )
            monkeypatch.undo()
            filler.unlink()
            again = poll_once(config, deps)
            assert [box.new for box in again.mailboxes] == [0, 1, 0, 0] and again.stopped is None
        finally:
            deps.close()


# --- what the commands print of it ------------------------------------------------------------------------------------


def test_poll_and_status_say_a_refused_recipient_in_chinese_and_poll_never_retries_it(
    tmp_path, database_url, monkeypatch, refusing
):
    """GIVEN a unit's mail whose sender the SMTP server refuses with 550 WHEN `poll --once` archives it and sends
    its receipt, twice THEN the first poll says the receipt was refused for good (no bytes literal) and exits 1,
    the second sends nothing and exits 0, and `status` lists it, with the recipient and why, apart from the mail
    waiting."""
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    box = {"key": "jjb", "name": "教就部", "address": DEPARTMENTS["jjb"], "source": "maildir", "path": str(maildir)}
    path = serve_config(tmp_path, [box], {"port": refusing.port}, poll_minutes=None)
    monkeypatch.setenv("MAILROOM_DATABASE_URL", database_url)
    monkeypatch.setenv("MAILROOM_ARCHIVE_PATH", str(tmp_path / "archive"))
    article = compose(UNKNOWN, DEPARTMENTS["jjb"], "安平县贫困残疾人服务工程专项信息（1）", datetime.now(SHANGHAI))
    _deliver(maildir, article.as_bytes())  # 安平县's registered address: a receipt is owed

    def run(*args: str):
        return CliRunner().invoke(main, ["--config", str(path), *args], prog_name="mailroom")

    first = run("poll", "--once")
    refused = (
        "apxcl@126.com：收件地址被对方服务器拒绝（550 5.1.1 用户不存在 mailbox unavailable）：请核对该单位的报送邮箱"
    )
    assert first.exit_code == 1, first.output
    assert first.stdout.splitlines()[-1] == f"发信：成功 0 封，1 封被对方服务器拒收、不再重试：#1 回执 {refused}"
    second = run("poll", "--once")
    assert second.exit_code == 0 and second.stdout.splitlines()[-1] == "发信：成功 0 封"
    assert refusing.handler.asked == [UNKNOWN]
    status = run("status").stdout.splitlines()
    assert "待发邮件：0 封" in status and "\\x" not in "\n".join(status)
    at = status.index("被对方服务器拒收、不再重试的邮件：1 封")
    assert status[at + 1].endswith(f" #1 回执 {refused}")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_poll_prints_the_mailboxes_done_before_the_database_failed_and_says_why(cli, monkeypatch):
    """GIVEN two mailboxes with new mail WHEN another program locks the SQLite database after the first is polled
    THEN `poll --once` prints the first's line and the second's failure, then the database's error in one line of
    Chinese (exit 1); nothing about receipts it never reached."""
    import archive.db

    pragmas = archive.db._sqlite_pragmas

    def short_wait(connection, record) -> None:  # SQLite's busy wait down from 10 s
        pragmas(connection, record)
        connection.execute("PRAGMA busy_timeout=200")

    monkeypatch.setattr(archive.db, "_sqlite_pragmas", short_wait)
    cli("status")  # the database made
    path = os.environ["MAILROOM_DATABASE_URL"].removeprefix("sqlite:///")
    other = sqlite3.connect(path, isolation_level=None)
    _deliver(cli.maildir, _briefing(1))
    _take_after(monkeypatch, "bgs", lambda: other.execute("BEGIN EXCLUSIVE"))
    try:
        code, out, err = cli("poll", "--once")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert code == 1 and out.splitlines() == [
        f"bgs: 失败 — 数据库被另一个程序锁定：请检查是否有其他程序（如备份、另一个 mailroom）正在使用 {path}"
        "（database is locked）"
    ]
    assert err.splitlines()[-1] == (
        "数据库错误 (database error): 数据库被另一个程序锁定：请检查是否有其他程序（如备份、另一个 mailroom）"
        "正在使用数据库文件（database is locked）"
    )


def test_an_identity_file_damaged_is_refused_naming_it(tmp_path, database_url):
    """GIVEN the archive folder's archive-id file damaged (bytes that are no identity) WHEN opened THEN one line
    naming the file and what to do, never a traceback."""
    config = make_config(tmp_path, database_url)
    open_deps(config).close()
    (config.archive_path / IDENTITY).write_bytes("归档标识".encode())
    with pytest.raises(ConfigError) as refused:
        open_deps(config)
    assert str(refused.value) == f"归档目录的标识文件 {config.archive_path / IDENTITY} 已损坏或被改动：请从备份恢复它"


def test_a_folder_without_identity_holding_none_of_the_databases_mail_is_refused(tmp_path, database_url):
    """GIVEN a database holding mail WHEN it is given another archive's folder copied without its archive-id file
    THEN it is refused (it was accepted, and the copy took the database's identity); its own folder without the
    file (an upgrade from before identities) is accepted and paired."""
    ours = make_config(tmp_path, database_url)
    _archive_one(ours, 1)
    theirs = replace(ours, database_url=f"sqlite:///{tmp_path / 'theirs.db'}", archive_path=tmp_path / "theirs")
    _archive_one(theirs, 2)
    (theirs.archive_path / IDENTITY).unlink()
    with pytest.raises(ConfigError) as refused:
        open_deps(replace(ours, archive_path=theirs.archive_path))
    assert str(refused.value).startswith(
        f"归档目录 {theirs.archive_path} 中没有数据库 {masked_url(ours.database_url)} 中"
    )
    assert not (theirs.archive_path / IDENTITY).exists()
    (ours.archive_path / IDENTITY).unlink()
    open_deps(ours).close()
    assert (ours.archive_path / IDENTITY).exists()
