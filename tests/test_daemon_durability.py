"""The daemon loses no receipt and sends none twice, whatever stops it: kill -9 at seeded points of ingest
and sending, the IMAP server dying mid-FETCH, the working one of three instances killed; a hung SMTP
server blocks neither polling nor stopping; IMAP IDLE answers a new mail in seconds. All on loopback,
with `mailroom serve` as its own process, on SQLite and on PostgreSQL."""

from __future__ import annotations

import random
import socket
import threading
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.demo.folder import compose, write_demo
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
        raw = compose(
            "zqxcl@163.com",
            DEPARTMENTS["bgs"],
            f"枣强县贫困残疾人服务工程专项信息（{number}）",
            datetime.now(SHANGHAI),
            body=f"第{number}篇",
        ).as_bytes()
        (maildir / "new" / f"{number}.eml").write_bytes(raw)

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
