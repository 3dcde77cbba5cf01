"""The daemon loses no receipt and sends none twice, whatever stops it: kill -9 at seeded points of ingest
and sending, the IMAP server dying mid-FETCH, the working one of three instances killed; a hung SMTP
server blocks neither polling nor stopping; IMAP IDLE answers a new mail in seconds; PostgreSQL ending its
sessions (as a restart of it does) stops nothing. All on loopback, with `mailroom serve` as its own process,
on SQLite and on PostgreSQL."""

from __future__ import annotations

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
from archive.locks import exclusive
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
            assert mine
            assert _end_sessions(engine, application)
        with exclusive(db, tmp_path / "locks", "mailbox-bgs") as again:
            assert again
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
    assert "unexpected error" not in output, output
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
