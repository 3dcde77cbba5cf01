"""Polling a real Dovecot on loopback: each message fetched once, kept byte for byte, nothing lost on a crash."""

from __future__ import annotations

import contextlib
import dataclasses
import email
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from imapclient.exceptions import IMAPClientError, ProtocolError
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

from archive.models import MailboxState, Message, OwedReply, Sighting, Spooled
from bot.config import Config
from bot.daemon import serve as serve_module
from bot.daemon.deps import open_deps
from bot.daemon.imap import FolderSession, IdleDropped, Progress, connect
from bot.daemon.poll import poll_once
from bot.daemon.serve import _watch_imap
from bot.daemon.status import describe_status, gather_status, serving
from bot.demo.folder import compose, with_mailboxes
from parsers.errors import ServiceError
from tests.conftest import ROOT, make_config

pytestmark = pytest.mark.imap
SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = "hsclbgs666@163.com"


@pytest.fixture(scope="module")
def dovecot():
    from tests.dovecot import INSTALL_HINT, Dovecot, dovecot_binary

    if dovecot_binary() is None:
        pytest.skip(INSTALL_HINT)
    with Dovecot(users={"bgs": "office-pw", "kfb": "rehab-pw"}) as server:
        yield server


@pytest.fixture
def folder(dovecot):
    """A folder of its own for each test, so tests on one server do not see each other's mail."""
    name = f"T{uuid.uuid4().hex[:12]}"
    with dovecot.client("bgs") as client:
        client.create_folder(name)
    return name


def imap_box(dovecot, user: str, folder: str, **extra) -> dict:
    return {
        "key": user,
        "name": user,
        "address": {"bgs": OFFICE, "kfb": "hskf2006@126.com"}[user],
        "source": "imap",
        "host": dovecot.host,
        "port": dovecot.port,
        "security": "plain",
        "username": user,
        "password_env": f"TEST_PW_{user.upper()}",
        "folder": folder,
        "batch": 7,
        **extra,
    }


@pytest.fixture
def imap_config(tmp_path, database_url, dovecot, folder, monkeypatch):
    monkeypatch.setenv("TEST_PW_BGS", "office-pw")
    monkeypatch.setenv("TEST_PW_KFB", "rehab-pw")

    def build(**extra) -> Config:
        return make_config(tmp_path, database_url, [imap_box(dovecot, "bgs", folder, **extra)])

    return build


def briefing(number: int) -> bytes:
    return compose(
        "zqxcl@163.com",
        OFFICE,
        f"枣强县贫困残疾人服务工程专项信息（{number}）",
        datetime(2020, 5, 6, 9, 0, tzinfo=SHANGHAI),
        body="正文" * number,
    ).as_bytes()


def fetched_bytes(dovecot, folder: str) -> dict[int, bytes]:
    with dovecot.client("bgs") as client:
        client.select_folder(folder, readonly=True)
        return {uid: data[b"BODY[]"] for uid, data in client.fetch(client.search("ALL"), [b"BODY.PEEK[]"]).items()}


def stored(config: Config) -> tuple[int, int]:
    deps = open_deps(config)
    try:
        with deps.db.session() as session:
            return (
                session.scalar(select(func.count()).select_from(Message)),
                session.scalar(select(func.count()).select_from(Sighting)),
            )
    finally:
        deps.close()


def test_each_message_is_fetched_once_with_server_time_and_exact_bytes(dovecot, folder, imap_config):
    late = datetime(2020, 4, 20, 16, 0, 30, tzinfo=UTC)  # 00:00:30 on the 21st in Shanghai
    dovecot.append("bgs", briefing(1), folder=folder, internaldate=late)
    for number in range(2, 12):
        dovecot.append("bgs", briefing(number), folder=folder, internaldate=datetime(2020, 5, number, 1, 0, tzinfo=UTC))
    config = imap_config()
    deps = open_deps(config)
    first = poll_once(config, deps)
    second = poll_once(config, deps)
    assert [report.new for report in first.mailboxes] == [11]
    assert [len(report.outcomes) for report in second.mailboxes] == [0]
    on_server = fetched_bytes(dovecot, folder)
    with deps.db.session() as session:
        rows = session.execute(
            select(Message.sha256, Message.arrival, Message.month, Sighting.uid).join(Sighting)
        ).all()
    assert {uid: sha for sha, _, _, uid in rows} == {
        uid: hashlib.sha256(raw).hexdigest() for uid, raw in on_server.items()
    }
    for sha, *_ in rows:
        assert hashlib.sha256(deps.store.read_message(sha)).hexdigest() == sha
    arrival = {uid: (when, month) for _, when, month, uid in rows}
    assert arrival[1] == (late, "2020-04")  # INTERNALDATE, not the Date header; the 21st in Shanghai
    deps.close()


def test_mail_spooled_before_a_kill_is_derived_at_the_next_look_and_owed_once(dovecot, folder, imap_config):
    """GIVEN 10 briefings archived raw (spooled, the mailbox position moved) and the process gone before
    deriving them (as a kill -9 between the two commits leaves it) WHEN the next poll runs THEN it fetches
    nothing again, stores each message once with its server time, owes each its one receipt, and empties
    the spool."""
    arrived = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)  # recent: owed a receipt
    for number in range(10):
        dovecot.append("bgs", briefing(number), folder=folder, internaldate=arrived)
    config = imap_config()
    deps = open_deps(config)
    session_ = FolderSession(config.mailboxes[0], lambda: deps.intake, deps.open_client)
    progress = Progress()
    try:
        session_.spool_new(progress, lambda: False)
    finally:
        session_.close()
    with deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Spooled)) == 10
        assert session.scalar(select(func.count()).select_from(Message)) == 0
        assert session.get(MailboxState, "bgs").last_uid == 10
    assert progress.fetched == 10 and progress.outcomes == []
    lines = describe_status(gather_status(config, deps))
    assert "已归档原件、待识别 10 封" in next(line for line in lines if line.startswith("bgs（"))
    for sha in {hashlib.sha256(raw).hexdigest() for raw in fetched_bytes(dovecot, folder).values()}:
        assert deps.store.message_path(sha).exists()  # durable before the commit that spooled it

    report = poll_once(config, deps).mailboxes[0]
    assert (report.error, report.new, len(report.outcomes)) == (None, 10, 10)
    with deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Spooled)) == 0
        rows = session.execute(select(Message.arrival, Message.kind)).all()
        assert rows == [(arrived, "briefing")] * 10  # the server's time, kept in the spool row
        owed = session.scalars(select(OwedReply.message_id).where(OwedReply.kind == "receipt")).all()
        assert sorted(owed) == sorted(session.scalars(select(Message.id)).all())
    assert poll_once(config, deps).mailboxes[0].outcomes == ()
    deps.close()


def test_an_idle_answer_cut_short_is_a_dropped_idle_reconnected_at_once(dovecot, folder, imap_config, monkeypatch):
    """GIVEN an IDLE on Dovecot whose answer imapclient reads cut short (its ProtocolError, seen twice in a soak
    of two hours over TLS) WHEN waited on THEN it is a dropped IDLE (reconnected at once, as after a server's
    restart), not an error of the server's that held the mailbox 60 s and said so as one."""
    config = imap_config()
    deps = open_deps(config)
    session_ = FolderSession(config.mailboxes[0], lambda: deps.intake, deps.open_client)

    def cut_short(timeout=None):
        raise ProtocolError("Server replied with a response that violates the IMAP protocol")

    monkeypatch.setattr(session_.client, "idle_check", cut_short)
    try:
        with pytest.raises(IdleDropped, match="IDLE 期间收到不完整的应答"):
            session_.wait_for_news(5, lambda: False)
    finally:
        session_.close()
        deps.close()


def test_mail_spooled_before_a_kill_is_derived_while_the_server_is_away(dovecot, folder, imap_config):
    """GIVEN 3 briefings spooled (archived raw, a kill before deriving them) WHEN the next poll cannot reach the
    server (its password changed: NetEase's authorisation code expired) THEN the poll says so and derives the
    spooled mail all the same, each owed its receipt: the bytes are on disk, and waited for the server before."""
    for number in range(3):
        dovecot.append("bgs", briefing(number), folder=folder)
    config = imap_config()
    deps = open_deps(config)
    session_ = FolderSession(config.mailboxes[0], lambda: deps.intake, deps.open_client)
    try:
        session_.spool_new(Progress(), lambda: False)
    finally:
        session_.close()
    away = dataclasses.replace(config, mailboxes=(dataclasses.replace(config.mailboxes[0], password_env="NO_SUCH"),))
    report = poll_once(away, deps).mailboxes[0]
    assert report.error is not None and len(report.outcomes) == 3
    with deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Spooled)) == 0
        assert session.scalar(select(func.count()).select_from(OwedReply)) == 3
    deps.close()


@pytest.mark.parametrize(
    "action, wanted, unwanted",
    [("none", None, b"\\Seen"), ("flag", b"\\Flagged", b"\\Seen"), ("seen", b"\\Seen", b"\\Flagged")],
)
def test_nothing_is_marked_read_and_the_configured_action_follows(
    dovecot, folder, imap_config, action, wanted, unwanted
):
    for number in range(3):
        dovecot.append("bgs", briefing(number), folder=folder)
    config = imap_config(after_archive=action)
    deps = open_deps(config)
    assert poll_once(config, deps).mailboxes[0].new == 3
    with dovecot.client("bgs") as client:
        client.select_folder(folder, readonly=True)
        flags = client.get_flags(client.search("ALL"))
    assert len(flags) == 3
    assert all((wanted is None or wanted in f) and unwanted not in f for f in flags.values())
    deps.close()


def test_move_action_empties_the_folder_after_archiving(dovecot, folder, imap_config):
    for number in range(3):
        dovecot.append("bgs", briefing(number), folder=folder)
    with dovecot.client("bgs") as client:
        client.create_folder(folder + "-done")
    config = imap_config(after_archive="move", move_to=folder + "-done")
    deps = open_deps(config)
    report = poll_once(config, deps)
    assert report.mailboxes[0].new == 3
    assert dovecot.status("bgs", folder)["MESSAGES"] == 0
    assert dovecot.status("bgs", folder + "-done")["MESSAGES"] == 3
    deps.close()


def test_a_move_to_a_folder_not_there_is_said_in_the_report_and_status(dovecot, folder, imap_config):
    """GIVEN after_archive = "move" to a folder the mailbox does not have (a Chinese name) WHEN polled THEN the mail
    is archived and stays in place, and the report, `poll --once`'s exit and `status` (its last error, the poll a
    success) say the folder is missing (only the log said it, in English, without the folder's name); a poll with
    no new mail says it again (it said nothing, and the mail was never moved); once the folder is made, the next
    poll moves what was left behind with the new mail and the report counts it apart."""
    dovecot.append("bgs", briefing(1), folder=folder)
    done = f"{folder}-已归档"  # the server is shared by the tests: a name of this test's own
    config = imap_config(after_archive="move", move_to=done)
    deps = open_deps(config)
    try:
        report = poll_once(config, deps)
        said = (
            f'邮件已归档，但按 after_archive = "move" 移到文件夹“{done}”失败，邮件仍在原处；'
            "该文件夹不存在：请在邮箱中建立它，或改正 move_to"
        )
        [box] = report.mailboxes
        assert (box.new, box.error, box.untidied, report.errors) == (1, None, said, [box])
        assert dovecot.status("bgs", folder)["MESSAGES"] == 1
        shown = gather_status(config, deps)["mailboxes"][0]
        assert (shown["last_error"], shown["failing"]) == (said, False)  # the mail came in: a success all the same
        assert shown["last_ok"] is not None
        [box] = poll_once(config, deps).mailboxes
        assert (box.new, box.untidied) == (0, said)

        with dovecot.client("bgs") as client:
            client.create_folder(done)
        dovecot.append("bgs", briefing(2), folder=folder)
        [box] = poll_once(config, deps).mailboxes
        assert (box.new, box.untidied, box.tidied) == (1, None, 1)  # the one left behind, said apart
        assert (dovecot.status("bgs", done)["MESSAGES"], dovecot.status("bgs", folder)["MESSAGES"]) == (2, 0)
        assert gather_status(config, deps)["mailboxes"][0]["failing"] is False
    finally:
        deps.close()


def test_the_id_command_is_sent_when_advertised(dovecot, folder, imap_config):
    config = imap_config()
    deps = open_deps(config)
    poll_once(config, deps)
    assert any("mailroom" in line for line in dovecot.id_log_lines())
    deps.close()


def test_uidvalidity_change_rescans_without_duplicating(dovecot, folder, imap_config):
    messages = [briefing(n) for n in range(4)]
    dovecot.append_many("bgs", [(raw, None) for raw in messages], folder=folder)
    config = imap_config()
    deps = open_deps(config)
    poll_once(config, deps)
    dovecot.recreate_folder("bgs", folder)
    dovecot.append_many("bgs", [(raw, None) for raw in messages + [briefing(9)]], folder=folder)
    report = poll_once(config, deps).mailboxes[0]
    assert report.rescanned and len(report.outcomes) == 5 and report.new == 1
    assert stored(config) == (5, 9)
    deps.close()


def test_a_poll_with_no_new_mail_neither_searches_nor_fetches(dovecot, folder, imap_config):
    dovecot.append("bgs", briefing(1), folder=folder)
    config = imap_config()
    calls: list[str] = []

    def recording(box):
        client = connect(box)
        for name in ("search", "fetch"):
            original = getattr(client, name)
            setattr(client, name, lambda *a, _n=name, _o=original, **k: (calls.append(_n), _o(*a, **k))[1])
        return client

    deps = open_deps(config, open_client=recording)
    poll_once(config, deps)
    assert "fetch" in calls
    calls.clear()
    assert poll_once(config, deps).mailboxes[0].outcomes == ()
    assert calls == []
    deps.close()


def test_a_message_expunged_between_search_and_fetch_is_passed_over(dovecot, folder, imap_config):
    """GIVEN three messages WHEN another session (staff in webmail) expunges the second right after our SEARCH
    THEN the poll archives the other two: Dovecot answers the FETCH of the gone one with BODY[] NIL, which
    stopped the daemon (TypeError in the spool) (mail servers tester)."""
    for number in range(1, 4):
        dovecot.append("bgs", briefing(number), folder=folder)
    config = imap_config()

    def racing(box):
        client = connect(box)
        original = client.search

        def search(*args, **kwargs):
            found = original(*args, **kwargs)
            with dovecot.client("bgs") as other:
                other.select_folder(folder)
                other.delete_messages([found[1]])
                other.expunge()
            return found

        client.search = search
        return client

    deps = open_deps(config, open_client=racing)
    report = poll_once(config, deps)
    assert [mailbox.error for mailbox in report.mailboxes] == [None]
    with deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 2
    deps.close()


@contextlib.contextmanager
def one_unreadable(dovecot, folder: str, which: int) -> Iterator[list[int]]:
    """Three briefings in the folder, the `which`-th (from 0) unreadable to Dovecot while the block runs (its FETCH
    refused, the connection dropped); yields their UIDs. The file is found by its Message-ID: file names do not
    sort as the UIDs."""
    raws = [briefing(number) for number in range(1, 4)]
    uids = [dovecot.append("bgs", raw, folder=folder) for raw in raws]
    message_id = email.message_from_bytes(raws[which])["Message-ID"].encode()
    bad = next(
        path for path in dovecot.folder_dir("bgs", folder).glob("[cn][ue][rw]/*") if message_id in path.read_bytes()
    )
    bad.chmod(0)
    try:
        yield uids
    finally:
        bad.chmod(0o600)


def test_a_message_the_server_cannot_hand_out_is_passed_over_and_said(dovecot, folder, imap_config):
    """GIVEN three messages, the second's file unreadable to the server (Dovecot answers the batch's FETCH with
    NO), then a fourth arriving later WHEN polled THEN the other three are archived, the poll saying which UID
    was passed over and that it stays on the server: the batch failed whole at every poll, the mailbox archived
    nothing more, and status called it a dropped connection (mail servers tester)."""
    config = imap_config()
    deps = open_deps(config)
    try:
        with one_unreadable(dovecot, folder, 1) as uids:
            first = poll_once(config, deps).mailboxes[0]
            dovecot.append("bgs", briefing(4), folder=folder)
            second = poll_once(config, deps).mailboxes[0]
        with deps.db.session() as session:
            subjects = sorted(session.scalars(select(Message.subject)))
    finally:
        deps.close()
    assert len(subjects) == 3 and (first.error, second.error) == (None, None)
    assert first.untidied is not None and f"UID {uids[1]}" in first.untidied and "仍在服务器上" in first.untidied


def test_a_message_refused_by_a_no_the_connection_kept_is_passed_over_too(dovecot, folder, imap_config):
    """GIVEN a server answering the FETCH of one message with a tagged NO, keeping the connection (imapclient raises
    "fetch failed: …", lower case) WHEN polled THEN the two others are archived: only Dovecot's wording, which drops
    the connection, was known (reviewer)."""
    uids = [dovecot.append("bgs", briefing(number), folder=folder) for number in range(1, 4)]

    def refusing(box):
        client = connect(box)
        original = client.fetch

        def fetch(messages, data, *args, **kwargs):
            if uids[1] in list(messages):
                raise IMAPClientError("fetch failed: [SERVERBUG] Internal error occurred. Refer to server log")
            return original(messages, data, *args, **kwargs)

        client.fetch = fetch
        return client

    config = imap_config()
    deps = open_deps(config, open_client=refusing)
    try:
        poll_once(config, deps)
        with deps.db.session() as session:
            assert session.scalar(select(func.count()).select_from(Message)) == 2
    finally:
        deps.close()


def test_the_newest_message_passed_over_by_the_daemon_is_said_in_status(dovecot, folder, imap_config, monkeypatch):
    """GIVEN `serve`'s watch of a mailbox whose newest message the server refuses WHEN it is passed over THEN the
    mailbox's record (status) names it: with nothing fetched on that look, only the log said so (reviewer)."""
    config = imap_config()
    deps = open_deps(config)
    monkeypatch.setattr(FolderSession, "wait_for_news", lambda self, renew, stopping: deps.stop.set())
    try:
        with one_unreadable(dovecot, folder, 2) as uids:
            for _ in range(4):
                if deps.stop.is_set():
                    break
                _watch_imap(config, deps, config.mailboxes[0], lambda: None)
        with deps.db.session() as session:
            count = session.scalar(select(func.count()).select_from(Message))
            said = session.get(MailboxState, "bgs").last_error
    finally:
        deps.close()
    assert count == 2 and said is not None and f"UID {uids[2]}" in said


@pytest.mark.parametrize("steady, pause", [(0.5, serve_module.RECONNECT_SECONDS), (60.0, 60.0)])
def test_a_connection_the_server_closes_during_idle_is_told_at_once_and_retried_soon(
    dovecot, folder, imap_config, monkeypatch, steady, pause
):
    """GIVEN `serve`'s worker in IDLE on a mailbox WHEN the server drops the connection (doveadm kick, as a
    restart does) THEN the worker leaves IDLE at once, records the drop (status said IDLE) and connects again
    in seconds, not at its next renewal 24 minutes on (imapclient answered the closed socket with nothing, at
    once, and the worker asked again, a core busy, until then); an IDLE closed sooner than STEADY_IDLE after it
    began is waited for as after any error, a minute (a server closing each IDLE at once is no restart)."""
    monkeypatch.setattr(serve_module, "STEADY_IDLE", steady)
    config = imap_config()
    deps = open_deps(config)
    kicked: list[float] = []

    def kick_once_idle() -> None:
        while not dovecot.sessions("bgs"):
            time.sleep(0.05)
        time.sleep(1.0)  # the look done, in IDLE
        dovecot.kick("bgs")
        kicked.append(time.monotonic())

    kicker = threading.Thread(target=kick_once_idle)
    kicker.start()
    try:
        with serving(deps):  # as `serve` does: status tells how each mailbox waits
            waited = _watch_imap(config, deps, config.mailboxes[0], lambda: None)
            left = time.monotonic()
            (box,) = gather_status(config, deps)["mailboxes"]
    finally:
        kicker.join()
        deps.close()
    assert waited == pause and left - kicked[0] < 5
    assert box["watch"] == "retry" and box["last_error"].endswith(
        "的连接中断（服务器在 IDLE 期间关闭了连接，可能正在重启）"
    )


def test_a_dropped_connection_is_retried_and_nothing_is_lost(dovecot, folder, imap_config):
    for number in range(20):
        dovecot.append("bgs", briefing(number), folder=folder)
    config = imap_config()
    attempts: list[float] = []

    def dropping_once(box):
        client = connect(box)
        if not attempts:
            fetch = client.fetch

            def fetch_then_drop(*args, **kwargs):
                client.fetch = fetch  # the second batch finds the connection gone
                result = fetch(*args, **kwargs)
                client._imap.sock.shutdown(2)
                return result

            client.fetch = fetch_then_drop
        return client

    deps = open_deps(config, open_client=dropping_once, sleep=attempts.append, backoff=0.5)
    report = poll_once(config, deps).mailboxes[0]
    assert report.error is None and attempts == [0.5]
    assert report.new == 20 and stored(config) == (20, 20)
    deps.close()


def test_one_mailbox_failing_does_not_stop_the_others(dovecot, folder, tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("TEST_PW_BGS", "office-pw")
    monkeypatch.setenv("TEST_PW_KFB", "wrong")
    dovecot.append("bgs", briefing(1), folder=folder)
    config = make_config(tmp_path, database_url, [imap_box(dovecot, "kfb", "INBOX"), imap_box(dovecot, "bgs", folder)])
    deps = open_deps(config, sleep=lambda s: None)
    report = poll_once(config, deps)
    assert report.mailboxes[0].error.startswith(
        f"登录被拒绝（{dovecot.host}:{dovecot.port}，用户名 kfb）：请检查用户名和授权码"
    )
    assert report.mailboxes[1].new == 1
    deps.close()


def test_a_server_that_cannot_check_logins_for_now_is_not_said_as_a_wrong_password(
    dovecot, tmp_path, database_url, monkeypatch
):
    """GIVEN Dovecot unable to read its own password file (it answers LOGIN with [UNAVAILABLE] Temporary
    authentication failure) WHEN polled THEN the operator is told it is the server's passing fault, to change
    nothing, and it is tried again, where they were told to check the user name and code, which were right."""
    import os
    import time

    monkeypatch.setenv("TEST_PW_KFB", "rehab-pw")
    config = make_config(tmp_path, database_url, [imap_box(dovecot, "kfb", "INBOX")])
    deps = open_deps(config, sleep=lambda s: None)
    os.chmod(dovecot.passwd_path, 0)
    later = max(time.time(), dovecot.passwd_path.stat().st_mtime) + 2  # read again once its time changed
    os.utime(dovecot.passwd_path, (later, later))
    time.sleep(1.1)  # Dovecot looks at the file at most once a second
    try:
        error = poll_once(config, deps).mailboxes[0].error
    finally:
        dovecot.add_user("kfb", "rehab-pw")  # the file written again, readable: logins work before the next test
        deps.close()
    assert error.startswith(
        f"{dovecot.host}:{dovecot.port} 暂时无法登录，是服务器自身的暂时问题，用户名和密码（授权码）不必改，稍后再试"
    )
    assert "[UNAVAILABLE]" in error and "登录被拒绝" not in error


def test_a_spool_commit_that_fails_after_its_files_are_written_loses_and_duplicates_nothing(
    dovecot, folder, imap_config, monkeypatch
):
    """GIVEN 20 messages in batches of 7 WHEN the commit of the second batch's spool rows fails after
    its files were written (as a kill between the two leaves it) THEN the poll reports the error, the first
    batch spooled and derived all the same; the next poll fetches from the second batch on, derives it, and each
    message is stored and seen once."""
    from bot.daemon import imap as imap_module

    for number in range(20):
        dovecot.append("bgs", briefing(number), folder=folder)
    config = imap_config()
    deps = open_deps(config)
    commits = {"n": 0}
    real_advance = imap_module.advance

    def advance_then_fail(session, **position):
        commits["n"] += 1
        if commits["n"] == 2:
            raise ServiceError("the commit never happened")
        real_advance(session, **position)

    monkeypatch.setattr(imap_module, "advance", advance_then_fail)
    first = poll_once(config, deps).mailboxes[0]
    assert "the commit never happened" in first.error and len(first.outcomes) == 7
    with deps.db.session() as session:
        assert session.get(MailboxState, "bgs").last_uid == 7
        assert session.scalar(select(func.count()).select_from(Spooled)) == 0
        assert session.scalar(select(func.count()).select_from(Message)) == 7
    monkeypatch.setattr(imap_module, "advance", real_advance)
    second = poll_once(config, deps).mailboxes[0]
    assert (second.error, second.taken, second.new, len(second.outcomes)) == (None, 13, 13, 13)
    with deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 20
        assert session.scalar(select(func.count(func.distinct(Sighting.uid)))) == 20
        assert session.scalar(select(func.count()).select_from(Sighting)) == 20
    deps.close()


def test_a_poll_killed_midway_loses_and_duplicates_nothing(dovecot, folder, tmp_path):
    """GIVEN 600 messages and batches of 20 WHEN the poll process is killed after some batches are stored,
    with more spooled and not yet derived THEN a second poll archives the rest, and every message is stored
    exactly once."""
    total = 600
    dovecot.fill_maildir("bgs", [(briefing(n), None) for n in range(total)], folder=folder)
    database = tmp_path / "kill.db"
    box = imap_box(dovecot, "bgs", folder, batch=20)
    config_path = tmp_path / "config.toml"
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    offline = example.replace('transport = "smtp"', 'transport = "folder"')  # tests never reach the internet
    config_path.write_text(with_mailboxes(offline, [box]), encoding="utf-8")
    env = {
        **os.environ,
        "TEST_PW_BGS": "office-pw",
        "MAILROOM_DATABASE_URL": f"sqlite:///{database}",
        "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive"),
    }
    command = [sys.executable, "-m", "bot", "--config", str(config_path), "poll", "--once"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    archived_at_kill, spooled_at_kill = _kill_when_some_are_archived(process, database, total)
    assert 0 < archived_at_kill < total, "the poll finished before it could be killed"
    assert spooled_at_kill > 0  # the kill fell between spooling and deriving for these
    subprocess.run(command, env=env, check=True, capture_output=True)
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        counts = connection.execute(text("SELECT count(*), count(DISTINCT uid) FROM sighting")).one()
        messages = connection.execute(text("SELECT count(*) FROM message")).scalar()
    engine.dispose()
    assert (messages, *counts) == (total, total, total)
    files = list((tmp_path / "archive" / "messages").glob("*/*.eml"))
    assert len(files) == total


def _kill_when_some_are_archived(process: subprocess.Popen, database, total: int) -> tuple[int, int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if database.exists():
            engine = create_engine(f"sqlite:///{database}")
            try:
                with engine.connect() as connection:
                    done = connection.execute(text("SELECT count(*) FROM message")).scalar()
                    spooled = connection.execute(text("SELECT count(*) FROM spooled")).scalar()
            except OperationalError:  # the schema may not exist yet in the first instants
                done = spooled = 0
            finally:
                engine.dispose()
            if done >= 40:
                process.send_signal(signal.SIGKILL)
                process.wait()
                return done, spooled
        time.sleep(0.005)
    process.wait()
    return total, 0


def test_every_sample_message_survives_imap_byte_for_byte(dovecot, folder, imap_config):
    from tests.conftest import DATA

    samples = sorted((DATA / "mail").glob("*.eml"))
    dovecot.append_many("bgs", [(path.read_bytes(), None) for path in samples], folder=folder)
    config = imap_config()
    deps = open_deps(config)
    report = poll_once(config, deps).mailboxes[0]
    assert report.error is None and len(report.outcomes) == len(samples)
    on_server = fetched_bytes(dovecot, folder)
    with deps.db.session() as session:
        # the bytes each UID held: the message's own, or those of its copy (0024 and 0025 are one mail, CRLF and LF)
        held = func.coalesce(Sighting.sha256, Message.sha256)
        stored_sha = dict(session.execute(select(Sighting.uid, held).join(Message)).all())
    assert stored_sha == {uid: hashlib.sha256(raw).hexdigest() for uid, raw in on_server.items()}
    assert all(deps.store.read_message(sha) == on_server[uid] for uid, sha in stored_sha.items())
    deps.close()
