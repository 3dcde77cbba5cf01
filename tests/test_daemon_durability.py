"""The daemon loses no receipt and sends none twice, whatever stops it: kill -9 at seeded points of ingest
and sending, the IMAP server dying mid-FETCH, the working one of three instances killed; a hung SMTP
server blocks neither polling nor stopping; IMAP IDLE answers a new mail in seconds; PostgreSQL ending its
sessions (as a restart of it does) stops nothing. All on loopback, with `mailroom serve` as its own process,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, func, select, text

from archive.db import Database
from archive.locks import exclusive, lock_key
from archive.models import MailboxState, Message
from bot.daemon.deps import open_deps
from bot.daemon.serve import watch_mailbox
from bot.demo.folder import compose, write_demo
from tests.conftest import example_data, make_config
from tests.daemon_harness import (
    DEPARTMENTS,
    PASSWORD,
    Daemon,
    assert_each_owed_receipt_sent_once,
    imap_boxes,
    receipts,
    serve_config,
    wait_for,
)
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.imap
SHANGHAI = ZoneInfo("Asia/Shanghai")
FAST = 0.05  # poll_minutes of the tests that restart the daemon: a standby instance looks every 3 s


@pytest.fixture(scope="module")
def dovecot():
    from tests.dovecot import INSTALL_HINT, Dovecot, dovecot_binary

    if dovecot_binary() is None:
        pytest.skip(INSTALL_HINT)
    with Dovecot(users={key: PASSWORD for key in DEPARTMENTS}) as server:
        yield server


@pytest.fixture(scope="module")
def april(tmp_path_factory) -> dict[str, list[bytes]]:
    """The demo season's April as it lies in each department's mailbox (a Cc'd message in two)."""
    directory = tmp_path_factory.mktemp("april") / "demo"
    write_demo(directory, months=(4,))
    return {
        key: [path.read_bytes() for path in sorted((directory / "mail" / key / "new").iterdir())] for key in DEPARTMENTS
    }


@pytest.fixture
def smtp():
    server = SmtpServer(lambda recipient, raw: None)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def daemon(tmp_path, database_url, dovecot, smtp, april):
    """A daemon whose four department mailboxes are fresh folders on Dovecot holding April's mail."""
    folder = f"D{uuid.uuid4().hex[:10]}"
    for key, raws in april.items():
        dovecot.fill_maildir(key, [(raw, None) for raw in raws], folder=folder)
    config = serve_config(
        tmp_path, imap_boxes(dovecot, folder), {"port": smtp.port, "receipts_per_hour": 1000}, poll_minutes=FAST
    )
    running = Daemon(config, database_url, tmp_path / "archive")
    yield running
    running.close()


def _sightings(april) -> int:
    return sum(len(raws) for raws in april.values())


def _done(daemon: Daemon, april) -> bool:
    counts = daemon.counts()
    return counts["sightings"] == _sightings(april) and counts["owed"] == 0 and counts["unsent"] == 0


def _finish(daemon: Daemon, april, timeout: float = 120) -> None:
    """Start a daemon, let it finish everything, stop it with SIGTERM."""
    process = daemon.start()
    try:
        wait_for(lambda: _done(daemon, april), timeout, "every message archived and every receipt sent")
    finally:
        code, output, _ = daemon.terminate(process)
        print(daemon.counts(), output[-5000:])
    assert code == 0, output


def test_kill_9_at_ten_seeded_points_loses_no_receipt_and_sends_none_twice(daemon, smtp, april):
    """GIVEN April's mail in the four mailboxes WHEN `serve` is killed with SIGKILL ten times, at seeded
    points of its progress (messages archived + receipts accepted), and restarted each time
    THEN in the end every owed receipt was sent once, to its sender, and nobody else got one."""
    rng = random.Random(20201)
    messages = len({raw for raws in april.values() for raw in raws})
    points = sorted(rng.sample(range(1, messages * 2), 10))
    progress = lambda: daemon.counts()["messages"] + len(smtp.handler.accepted)  # noqa: E731
    kills = 0
    for point in points:
        process = daemon.start()
        target = max(point, progress() + 1)
        try:
            wait_for(
                lambda target=target, process=process: progress() >= target or process.poll() is not None,
                60,
                f"progress {target}",
                step=0.01,
            )
        finally:
            process.kill()
            process.communicate()
        kills += 1
    _finish(daemon, april)
    assert kills == 10
    assert daemon.counts()["messages"] == messages
    assert_each_owed_receipt_sent_once(daemon, smtp.handler.accepted, kills)


def test_imap_server_killed_mid_fetch_and_down_a_while(daemon, dovecot, smtp, april):
    """GIVEN `serve` archiving April WHEN Dovecot is killed mid-FETCH and stays down past several retries
    THEN status shows the error; once Dovecot is back every owed receipt goes out once."""
    process = daemon.start()
    try:
        wait_for(lambda: daemon.counts()["messages"] >= 20, 60, "some messages archived", step=0.01)
        dovecot.stop(graceful=False)
        time.sleep(8)  # the workers retry every 3 s: several retries fail
        failing = [box for box in daemon.status()["mailboxes"] if box["failing"]]
        assert failing and all(box["watch"] == "retry" for box in failing)
    finally:
        if not dovecot.running:
            dovecot.start()
    try:
        wait_for(lambda: _done(daemon, april), 120, "everything archived and sent after the outage")
    finally:
        code, output, _ = daemon.terminate(process)
        print(daemon.counts(), output[-5000:])
    assert code == 0, output
    assert_each_owed_receipt_sent_once(daemon, smtp.handler.accepted, kills=0)


def test_three_instances_the_working_one_killed(daemon, smtp, april):
    """GIVEN three `serve` instances on one database, the first at work WHEN it is killed
    THEN the others take its mailboxes and its sending over: every owed receipt goes out once."""
    first = daemon.start()
    wait_for(lambda: daemon.counts()["messages"] >= 20, 60, "the first instance at work", step=0.01)
    others = [daemon.start(), daemon.start()]
    time.sleep(1)
    first.kill()
    first.communicate()
    wait_for(lambda: _done(daemon, april), 120, "the other instances to finish the work")
    for process in others:
        code, output, _ = daemon.terminate(process)
        assert code == 0, output
    assert_each_owed_receipt_sent_once(daemon, smtp.handler.accepted, kills=1)


def test_a_new_mail_is_answered_in_seconds_by_idle(tmp_path, database_url, dovecot, smtp):
    """GIVEN `serve` with the default poll interval (5 minutes), idle on its mailboxes
    WHEN a unit's briefing is APPENDed THEN its receipt reaches the SMTP server within seconds."""
    folder = f"I{uuid.uuid4().hex[:10]}"
    for key in DEPARTMENTS:
        with dovecot.client(key) as client:
            client.create_folder(folder)
    config = serve_config(tmp_path, imap_boxes(dovecot, folder), {"port": smtp.port}, poll_minutes=None)
    daemon = Daemon(config, database_url, tmp_path / "archive")
    process = daemon.start()
    try:
        wait_for(lambda: all(box["watch"] == "idle" for box in daemon.status()["mailboxes"]), 30, "IDLE")
        article = compose(
            "zqxcl@163.com",
            DEPARTMENTS["bgs"],
            "枣强县贫困残疾人服务工程专项信息",
            datetime.now(SHANGHAI),
            body="我县举办残疾人实用技术培训班。",
        )
        appended = time.monotonic()
        dovecot.append("bgs", article.as_bytes(), folder=folder)
        wait_for(
            lambda: any(r.in_reply_to == article["Message-ID"] for r in receipts(smtp.handler.accepted)),
            20,
            "the receipt",
        )
        latency = time.monotonic() - appended
        code, output, _ = daemon.terminate(process)
    finally:
        daemon.close()
    assert code == 0, output
    assert latency < 20


@pytest.fixture
def hung_smtp():
    """A server that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1], held
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_a_hung_smtp_server_blocks_neither_polling_nor_stopping(tmp_path, database_url, hung_smtp):
    """GIVEN an SMTP server that accepts and never answers WHEN `serve` has receipts to send
    THEN mail that arrives meanwhile is still archived, and SIGTERM ends it in under 10 s with exit 0;
    the receipts wait in the outbox."""
    port, held = hung_smtp
    maildir = tmp_path / "maildir"
    boxes = [{"key": "bgs", "name": "办公室", "address": DEPARTMENTS["bgs"], "source": "maildir", "path": str(maildir)}]
    config = serve_config(tmp_path, boxes, {"port": port}, poll_minutes=FAST)
    daemon = Daemon(config, database_url, tmp_path / "archive")
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)

    def deliver(number: int) -> None:
        _delivered(_briefing(number), maildir)

    deliver(1)
    process = daemon.start()
    try:
        wait_for(lambda: held, 30, "the sender to connect to the hung server")
        deliver(2)
        deliver(3)
        wait_for(lambda: daemon.counts()["messages"] == 3, 30, "mail archived while the sender hangs")
        code, output, seconds = daemon.terminate(process)
    finally:
        daemon.close()
    assert code == 0, output
    assert seconds < 10
    counts = daemon.counts()
    assert counts["owed"] + counts["unsent"] == 3  # nothing lost: all three wait, owed or in the outbox


def test_a_stand_by_instance_leaves_a_maildir_to_the_one_at_work(tmp_path, database_url):
    """GIVEN `serve` at work on a Maildir (a look every few seconds) WHEN a second `serve` stands by, looking
    every 3 s THEN it never finds the mailbox free between two looks: the first keeps it, neither says it took
    it over, the mail that arrives meanwhile is archived once; when the first stops, the second takes it."""
    maildir = tmp_path / "maildir"
    boxes = [{"key": "bgs", "name": "办公室", "address": DEPARTMENTS["bgs"], "source": "maildir", "path": str(maildir)}]
    daemon = Daemon(
        serve_config(tmp_path, boxes, {"transport": "folder"}, poll_minutes=FAST), database_url, tmp_path / "archive"
    )
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    try:
        first = daemon.start()
        wait_for(lambda: daemon.status()["mailboxes"][0]["watch"] == "poll", 30, "the first instance's look")
        second = daemon.start()
        for number in range(1, 5):
            time.sleep(3)  # a stand-by turn each time
            _delivered(_briefing(number), maildir)
        wait_for(lambda: daemon.counts()["messages"] == 4, 30, "the mail archived")
        code, first_said, _ = daemon.terminate(first)
        assert code == 0, first_said
        _delivered(_briefing(5), maildir)
        wait_for(lambda: daemon.counts()["messages"] == 5, 30, "the second instance at work")
        code, second_said, _ = daemon.terminate(second)
        assert code == 0, second_said
    finally:
        daemon.close()
    assert "由本实例接管" not in first_said and "本实例待命" not in first_said
    assert second_said.count("另一个 mailroom serve 实例正在运行") == 1
    assert second_said.count("由本实例接管") == 1  # once, after the first stopped
    assert daemon.counts()["messages"] == 5


def _end_sessions(engine: Engine, application: str) -> list[int]:
    """What a restart of PostgreSQL does to one client, without restarting the shared server: every session
    of `application` ends (its advisory locks with it). Returns once they are gone."""
    with engine.connect() as connection:  # listed first: a WHERE may call a function before it filters
        ended = list(
            connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"), {"name": application}
            ).scalars()
        )
        for pid in ended:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    gone = text("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = ANY(:pids))")
    wait_for(lambda: _scalar(engine, gone, {"pids": ended}), 30, "the sessions to end", step=0.1)
    return ended


def _scalar(engine: Engine, query, parameters: dict | None = None):
    with engine.connect() as connection:
        return connection.execute(query, parameters or {}).scalar()


def _as_application(database_url: str, application: str) -> str:
    """The fixture's URL (it names the test's schema already), its sessions named for pg_stat_activity."""
    return f"{database_url}&application_name={application}"


def _delivered(raw: bytes, maildir: Path) -> None:
    (maildir / "new" / f"{uuid.uuid4().hex}.eml").write_bytes(raw)


def _briefing(number: int) -> bytes:
    return compose(
        "zqxcl@163.com",
        DEPARTMENTS["bgs"],
        f"枣强县贫困残疾人服务工程专项信息（{number}）",
        datetime.now(SHANGHAI),
        body=f"第{number}篇",
    ).as_bytes()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no sessions to end
def test_a_lock_whose_session_ended_is_let_go_without_an_error(tmp_path, database_url):
    """GIVEN a mailbox's lock held WHEN its session ends (a restart of PostgreSQL) before the work is done THEN
    letting it go raises nothing (the server let it go with the session) and the lock can be taken again."""
    application = f"mailroom-{uuid.uuid4().hex[:10]}"
    db = Database(_as_application(database_url, application))
    engine = create_engine(database_url)
    try:
        with exclusive(db, tmp_path / "locks", "mailbox-bgs") as mine:
            assert mine.held
            assert _end_sessions(engine, application)
        with exclusive(db, tmp_path / "locks", "mailbox-bgs") as again:
            assert again.held
    finally:
        db.dispose()
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no sessions to end
def test_a_postgresql_restart_under_serve_stops_nothing(tmp_path, database_url, dovecot, smtp):
    """GIVEN `serve` idle on four IMAP mailboxes on PostgreSQL WHEN every session it has ends at once, as at a
    restart of the server THEN it carries on: status says a daemon runs, a mail that arrives then is archived
    and answered, and SIGTERM stops it cleanly (exit 0): the locks gone with their sessions are no error."""
    folder = f"R{uuid.uuid4().hex[:10]}"
    for key in DEPARTMENTS:
        with dovecot.client(key) as client:
            client.create_folder(folder)
    application = f"mailroom-{uuid.uuid4().hex[:10]}"
    config = serve_config(tmp_path, imap_boxes(dovecot, folder), {"port": smtp.port}, poll_minutes=FAST)
    daemon = Daemon(config, _as_application(database_url, application), tmp_path / "archive")
    engine = create_engine(database_url)
    process = daemon.start()
    try:
        wait_for(lambda: all(box["watch"] == "idle" for box in daemon.status()["mailboxes"]), 30, "IDLE")
        assert len(_end_sessions(engine, application)) >= 2  # the presence lock's and the mailbox locks' at least
        wait_for(lambda: daemon.status()["daemon_running"], 60, "status to see the daemon again", step=0.5)
        dovecot.append("bgs", _briefing(1), folder=folder)
        wait_for(lambda: len(receipts(smtp.handler.accepted)) == 1, 60, "the new mail's receipt", step=0.2)
        assert process.poll() is None
        code, output, _ = daemon.terminate(process)
    finally:
        daemon.close()
        engine.dispose()
    assert code == 0, output
    assert "因意外错误停止" not in output, output
    assert daemon.counts()["messages"] == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_mailbox_worker_waits_out_a_database_restart(tmp_path, database_url):
    """GIVEN a mailbox worker looking at its Maildir WHEN every session of the process ends (a restart of
    PostgreSQL) between two looks THEN the worker says the database is away, tries again and archives the mail
    that came meanwhile; it is not stopped as by a bug (which would stop the whole daemon)."""
    application = f"mailroom-{uuid.uuid4().hex[:10]}"
    schedule = {**example_data()["schedule"], "poll_minutes": FAST}
    config = make_config(tmp_path, _as_application(database_url, application), schedule=schedule)
    box = config.mailboxes[0]
    assert box.path is not None
    deps = open_deps(config)
    engine = create_engine(database_url)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            watch_mailbox(config, deps, box, lambda: None)
        except BaseException as error:  # noqa: BLE001 — what `_guarded` would take for a bug
            failures.append(error)

    worker = threading.Thread(target=work, daemon=True)
    watched = select(MailboxState.watch).where(MailboxState.mailbox == box.key)
    try:
        worker.start()
        wait_for(lambda: _scalar(engine, watched) == "poll", 30, "the worker's first look", step=0.1)
        assert _end_sessions(engine, application)
        _delivered(_briefing(1), box.path)
        stored = select(func.count()).select_from(Message)
        wait_for(lambda: failures or _scalar(engine, stored) == 1, 60, "the mail archived after the restart")
    finally:
        deps.stop.set()
        worker.join(30)
        deps.close()
        engine.dispose()
    assert failures == []
    assert not worker.is_alive()


def _lock_sessions(engine: Engine, db: Database, name: str) -> list[tuple[int, str, bool]]:
    """The sessions holding, or waiting for, the advisory lock `name` of `db`'s archive: pid, application_name
    and whether it is granted."""
    key = lock_key(f"{db.lock_namespace}:{name}") & 0xFFFF_FFFF_FFFF_FFFF  # shown as two unsigned halves
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT l.pid, a.application_name, l.granted FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.classid::bigint = :high AND l.objid::bigint = :low"
                " AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            ),
            {"high": key >> 32, "low": key & 0xFFFF_FFFF},
        ).all()
    return [(row[0], row[1], row[2]) for row in rows]


def _holders(engine: Engine, db: Database, name: str) -> list[str]:
    return [application for _, application, granted in _lock_sessions(engine, db, name) if granted]


def _end_lock_session(engine: Engine, db: Database, name: str, application: str) -> int:
    """What terminating one backend does: the session of `application` that holds the lock `name` ends (the
    lock with it), its other sessions stay. Only that pid, found first, is terminated."""
    (pid,) = [pid for pid, held_by, granted in _lock_sessions(engine, db, name) if granted and held_by == application]
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    gone = text("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = :pid)")
    wait_for(lambda: _scalar(engine, gone, {"pid": pid}), 30, "the lock's session to end", step=0.1)
    return pid


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no sessions to end
def test_a_lost_exclusive_lock_is_taken_again_unless_another_took_it(tmp_path, database_url):
    """GIVEN a mailbox's lock held WHEN its session ends THEN keep() says so and takes it again on a new
    connection, which keeps another holder out as before; WHEN it ends again and another holder takes the lock
    first THEN keep() says it is held no longer (the other keeps it), and letting it go takes nothing from
    the other."""
    application, other = f"mailroom-{uuid.uuid4().hex[:10]}", f"mailroom-{uuid.uuid4().hex[:10]}"
    db, theirs = Database(_as_application(database_url, application)), Database(_as_application(database_url, other))
    engine, folder = create_engine(database_url), tmp_path / "locks"
    try:
        with exclusive(db, folder, "mailbox-bgs") as mine:
            assert mine.held and mine.keep() is False  # its session is there: nothing to take again
            with exclusive(theirs, folder, "mailbox-bgs") as second:
                assert not second.held
            _end_lock_session(engine, db, "mailbox-bgs", application)
            assert mine.keep() is True and mine.held
            assert _holders(engine, db, "mailbox-bgs") == [application]
            with exclusive(theirs, folder, "mailbox-bgs") as second:
                assert not second.held
            _end_lock_session(engine, db, "mailbox-bgs", application)
            with exclusive(theirs, folder, "mailbox-bgs") as second:
                assert second.held
                assert mine.keep() is True and not mine.held
                assert second.keep() is False and second.held
                assert _holders(engine, db, "mailbox-bgs") == [other]
        assert _holders(engine, db, "mailbox-bgs") == []
    finally:
        db.dispose()
        theirs.dispose()
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_lock_file_is_never_lost(tmp_path, database_url):
    """On the embedded default the lock file is held as long as its block runs: keep() has nothing to do."""
    db = Database(database_url)
    try:
        with (
            exclusive(db, tmp_path / "locks", "mailbox-bgs") as mine,
            exclusive(db, tmp_path / "locks", "mailbox-bgs") as second,
        ):
            assert (mine.held, second.held) == (True, False)
            assert (mine.keep(), second.keep()) == (False, False)
            assert (mine.held, second.held) == (True, False)
    finally:
        db.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no sessions to end
def test_a_worker_whose_mailbox_lock_ended_takes_it_again_or_stands_by(
    tmp_path, database_url, dovecot, monkeypatch, caplog
):
    """GIVEN a mailbox worker idle on an IMAP mailbox on PostgreSQL WHEN the session of its mailbox's lock ends
    (a terminated backend) and nobody takes the lock THEN the worker takes it again within seconds and goes on,
    in the same IMAP session; WHEN it ends again and another instance takes the lock first THEN the worker
    leaves IDLE, logs out and says in one line that another instance works the mailbox, the other keeps it,
    and the worker stands by until the other lets it go, then takes the mailbox back."""
    folder = f"H{uuid.uuid4().hex[:10]}"
    with dovecot.client("jjb") as client:
        client.create_folder(folder)
    monkeypatch.setenv("TEST_PW_JJB", PASSWORD)
    application, other = f"mailroom-{uuid.uuid4().hex[:10]}", f"mailroom-{uuid.uuid4().hex[:10]}"
    schedule = {**example_data()["schedule"], "poll_minutes": FAST}
    box = imap_boxes(dovecot, folder)[0]
    assert box["key"] == "jjb"
    config = make_config(tmp_path, _as_application(database_url, application), [box], schedule=schedule)
    deps = open_deps(config)
    engine, their_engine = create_engine(database_url), create_engine(_as_application(database_url, other))
    name, failures = "mailbox-jjb", []
    key = lock_key(f"{deps.db.lock_namespace}:{name}")

    def work() -> None:
        try:
            watch_mailbox(config, deps, config.mailboxes[0], lambda: None)
        except BaseException as error:  # noqa: BLE001 — what `_guarded` would take for a bug
            failures.append(error)

    def said(part: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "bot.daemon.serve" and part in r.getMessage()]

    watched = select(MailboxState.watch).where(MailboxState.mailbox == "jjb")
    stored = select(func.count()).select_from(Message)
    worker = threading.Thread(target=work, daemon=True)
    theirs = their_engine.connect()
    try:
        with caplog.at_level(logging.INFO, logger="bot.daemon.serve"):
            worker.start()
            wait_for(lambda: _scalar(engine, watched) == "idle" and dovecot.sessions("jjb"), 30, "IDLE", step=0.1)
            assert _holders(engine, deps.db, name) == [application]
            imap = dovecot.sessions("jjb")

            _end_lock_session(engine, deps.db, name, application)  # nobody takes it meanwhile
            wait_for(lambda: _holders(engine, deps.db, name) == [application], 30, "the lock taken again", step=0.1)
            assert said("已重新取得此邮箱，继续收取") == [
                "jjb: 与数据库的连接曾中断（数据库重启？），已重新取得此邮箱，继续收取"
            ]
            dovecot.append("jjb", _briefing(1), folder=folder)
            wait_for(lambda: _scalar(engine, stored) == 1, 30, "the new mail archived", step=0.1)
            assert dovecot.sessions("jjb") == imap  # the same IMAP session went on

            def take() -> None:  # another instance, waiting for the lock: it has it the moment the session ends
                theirs.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                theirs.commit()

            taker = threading.Thread(target=take, daemon=True)
            taker.start()
            wait_for(
                lambda: (other, False) in [row[1:] for row in _lock_sessions(engine, deps.db, name)], 30, "a waiter"
            )
            _end_lock_session(engine, deps.db, name, application)
            taker.join(30)
            assert not taker.is_alive() and _holders(engine, deps.db, name) == [other]
            wait_for(lambda: not dovecot.sessions("jjb"), 30, "the worker to log out", step=0.1)
            wait_for(lambda: said("另一个实例已接管此邮箱"), 10, "the worker to say so", step=0.1)
            time.sleep(3 * FAST * 60)  # a stand-by worker looks every 3 s: it finds the lock taken, says nothing
            assert _holders(engine, deps.db, name) == [other] and not dovecot.sessions("jjb")
            assert said("另一个实例已接管此邮箱") == [
                "jjb: 与数据库的连接曾中断，期间另一个实例已接管此邮箱：本实例已停止收取，待命，每 3 秒查看一次，"
                "它停止后接管"
            ]
            assert not said("另一个实例正在收取此邮箱")  # one line, not another for standing by

            theirs.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            theirs.commit()
            wait_for(lambda: _holders(engine, deps.db, name) == [application], 30, "the worker back", step=0.1)
            wait_for(lambda: dovecot.sessions("jjb"), 30, "the worker's IMAP session again", step=0.1)
            assert said("由本实例接管") == ["jjb: 另一个实例已不再收取此邮箱，由本实例接管"]
    finally:
        deps.stop.set()
        worker.join(30)
        theirs.close()
        deps.close()
        engine.dispose()
        their_engine.dispose()
    assert failures == []
    assert not worker.is_alive()
