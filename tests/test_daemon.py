"""The daemon and what it does on schedule: reminders, status, a clean stop on SIGTERM."""

import email
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from archive.locks import Lock
from archive.models import OutboxMail
from bot.cli.group import main
from bot.config import load_config
from bot.daemon import serve as serve_module
from bot.daemon.scheduled import monthly_jobs, next_time
from bot.demo.folder import write_demo
from bot.outgoing.reminders import ALREADY, REMINDED, queue_reminders

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_reminders_name_the_missing_forms_once_per_unit(config, deps):
    now = datetime(2020, 4, 17, 9, tzinfo=SHANGHAI)
    with deps.db.session() as session:
        first = queue_reminders(config, session, "2020-04", now)
        second = queue_reminders(config, session, "2020-04", now)
        mails = session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
    assert [(r.unit, r.outcome) for r in first] == [(unit.name, REMINDED) for unit in config.units]
    assert {r.outcome for r in second} == {ALREADY}
    assert len(mails) == 13 and mails[0].recipients == "tcqcl@163.com"
    import email
    from email import policy

    message = email.message_from_bytes(mails[0].raw, policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    assert "2020年4月20日 23:59:59 前报送" in text and "附件1 目标任务进展情况报告" in text
    assert "附件8" in text and "附件9" not in text  # 附件9、10 only from September
    assert message["Auto-Submitted"] == "auto-generated"


def test_the_schedule_follows_the_config(config, deps):
    names = {job.job: job for job in monthly_jobs(config)}
    after = datetime(2020, 4, 10, tzinfo=SHANGHAI)
    assert next_time(config, names["reminders"], after) == datetime(2020, 4, 17, 9, tzinfo=SHANGHAI)
    assert next_time(config, names["digest"], after) == datetime(2020, 4, 21, 9, tzinfo=SHANGHAI)
    assert next_time(config, names["digest"], datetime(2020, 12, 22, tzinfo=SHANGHAI)) is None  # after the plan


def _status(config_path) -> dict:
    result = CliRunner().invoke(main, ["--config", str(config_path), "status", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _due_now(config_path) -> int:
    """Outbox mail due by now and not yet sent."""
    from sqlalchemy import create_engine, func

    engine = create_engine(load_config(config_path, environ={}).database_url)
    with engine.connect() as connection:
        due = connection.scalar(
            select(func.count())
            .select_from(OutboxMail)
            .where(OutboxMail.state != "sent", OutboxMail.next_attempt_at <= datetime.now(SHANGHAI))
        )
    engine.dispose()
    return due


def test_serve_polls_and_stops_cleanly_on_sigterm(tmp_path):
    """GIVEN the demo with April's mail only (the whole season is tests/test_demo.py's)
    WHEN `mailroom serve` runs until every message is archived and nothing is left to send this hour,
    then gets SIGTERM
    THEN it stops cleanly, and each registered sender has a receipt per message, within the hourly limit
    (the rest wait for the next hour)."""
    write_demo(tmp_path / "demo", months=(4,))
    config_path = tmp_path / "demo" / "config.toml"
    # A message Cc'd to a second department lies in both Maildirs and is archived once.
    messages = {path.read_bytes() for path in (tmp_path / "demo" / "mail").glob("*/new/*")}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config_path), "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    rows: list[dict] = []
    while time.monotonic() < deadline and len(rows) < len(messages):
        time.sleep(0.5)
        status = CliRunner().invoke(main, ["--config", str(config_path), "search", "--limit", "0", "--json"])
        rows = json.loads(status.stdout) if status.exit_code == 0 else []
    while time.monotonic() < deadline and _status(config_path)["receipts_owed"] + _due_now(config_path):
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert len(rows) == len(messages)
    assert process.returncode == 0, output
    assert "收到 SIGTERM" in output and "已停止" in output
    config = load_config(config_path, environ={})
    registered = {sender for unit in config.units for sender in unit.senders}
    sent = Counter(
        parseaddr(email.message_from_bytes(path.read_bytes())["To"])[1]
        for path in (tmp_path / "demo" / "outbox").glob("*.eml")
    )
    submitted = Counter(row["sender"] for row in rows if row["kind"] in ("report", "briefing"))
    limit = config.outgoing.receipts_per_hour
    # Each report and article from a registered address is owed a receipt; April's one question is not.
    assert sum(row["kind"] == "other" and row["sender"] in registered for row in rows) == 1
    assert sent == {sender: min(count, limit) for sender, count in submitted.items() if sender in registered}


class _CountedLock(Lock):
    """A lock whose session `keep()` finds as the test says: there, gone and taken by another, or unreachable."""

    def __init__(self) -> None:
        super().__init__(True)
        self.asked, self.then = 0, "there"

    def keep(self) -> bool:
        self.asked += 1
        if self.then == "away":
            self.held = False
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        if self.then == "taken":
            self.held = False
            return True
        return False


def test_a_worker_asks_whether_it_holds_its_mailbox_at_most_every_few_seconds(config, monkeypatch):
    """GIVEN a mailbox worker at work WHEN it asks at each look whether it holds its mailbox still THEN the
    database is asked at most every HOLD_SECONDS; a lock another instance took, or a database away, ends the
    work (and the worker asks no more: the next turn takes the lock anew)."""
    monkeypatch.setattr(serve_module, "HOLD_SECONDS", 0.2)
    box = config.mailboxes[0]
    lock = _CountedLock()
    holding = serve_module._Holding(box, lock)
    assert all(holding() for _ in range(100)) and lock.asked == 0
    time.sleep(0.25)
    assert all(holding() for _ in range(100)) and lock.asked == 1
    lock.then = "taken"
    time.sleep(0.25)
    assert not holding() and holding.lost is True and lock.asked == 2
    assert not holding() and lock.asked == 2

    lock = _CountedLock()
    holding = serve_module._Holding(box, lock)
    lock.then = "away"
    time.sleep(0.25)
    assert not holding() and isinstance(holding.lost, OperationalError) and lock.asked == 1
    assert not holding() and lock.asked == 1


def test_a_reminder_that_waited_out_an_outage_is_sent_as_things_are_or_not_at_all(config, deps, tmp_path):
    """GIVEN April's reminders queued on the 17th while the SMTP server is down (every unit missing every form)
    WHEN 景县's whole package (the 20th, 15:13) and 桃城区's 附件2 arrive meanwhile, and the sender looks again at
    22:00 THEN 景县's
    reminder is withdrawn (never sent, and why is kept), 桃城区's is composed again naming the seven forms still
    missing, the others stay as they were; WHEN the deadline passes first THEN the reminders meant for before it
    are withdrawn rather than sent late."""
    import email
    from email import policy

    from archive.ingest import Incoming, ingest_batch
    from bot.outgoing.reminders import refresh_reminders
    from tests.conftest import DATA
    from tests.webapp import _message

    with deps.db.session() as session:
        queue_reminders(config, session, "2020-04", datetime(2020, 4, 17, 9, tzinfo=SHANGHAI))
        before = {mail.cause: mail.raw for mail in session.scalars(select(OutboxMail))}
        ids = {mail.cause: mail.message_id for mail in session.scalars(select(OutboxMail))}
    write_demo(tmp_path / "demo", months=(4,))
    jing = [
        path.read_bytes()
        for path in sorted((tmp_path / "demo").glob("mail/jjb/new/*"))
        if b"jxcl2020@163.com" in path.read_bytes().split(b"\n\n", 1)[0]
    ]
    taocheng = _message(
        "tcqcl@163.com",
        "桃城区4月份报表",
        datetime(2020, 4, 18, 10, tzinfo=SHANGHAI),
        "见附件",
        ("summary-unit-row-only.xlsx",),
    )
    assert (DATA / "workbooks" / "summary-unit-row-only.xlsx").exists()
    ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "jjb", "import") for raw in [*jing, taocheng]])
    with deps.db.session() as session:
        assert refresh_reminders(config, session, datetime(2020, 4, 20, 22, tzinfo=SHANGHAI)) == 2
        mails = {mail.cause: mail for mail in session.scalars(select(OutboxMail))}
        withdrawn = mails["reminder:2020-04:景县"]
        assert (withdrawn.state, withdrawn.last_error) == ("withdrawn", "该单位的附件已报齐，未发出")
        again = email.message_from_bytes(mails["reminder:2020-04:桃城区"].raw, policy=policy.default)
        text = again.get_body(("plain",)).get_content()
        assert "尚缺7个附件" in str(again["Subject"]) and "附件2" not in text and "2020年4月20日 22:00" in text
        raw = mails["reminder:2020-04:桃城区"].raw  # stored as every outgoing mail is: CRLF, its Message-ID kept
        assert (
            b"\n" not in raw.replace(b"\r\n", b"")
            and mails["reminder:2020-04:桃城区"].message_id == ids["reminder:2020-04:桃城区"]
        )
        assert all(
            mail.raw == before[cause] for cause, mail in mails.items() if "景县" not in cause and "桃城区" not in cause
        )
        assert refresh_reminders(config, session, datetime(2020, 4, 20, 22, 1, tzinfo=SHANGHAI)) == 0  # nothing new
        # one withdrawn that is owed again (the unit is missing forms once more) is queued again in its place
        again_owed = datetime(2020, 4, 20, 22, 30, tzinfo=SHANGHAI)
        mails["reminder:2020-04:桃城区"].state = "withdrawn"
        session.commit()
        results = {r.unit: r.outcome for r in queue_reminders(config, session, "2020-04", again_owed)}
        assert results["桃城区"] == REMINDED and results["景县"] != REMINDED and results["武邑县"] == ALREADY
        assert (
            session.scalar(select(OutboxMail.state).where(OutboxMail.cause == "reminder:2020-04:桃城区")) == "pending"
        )
        assert refresh_reminders(config, session, datetime(2020, 4, 21, 9, tzinfo=SHANGHAI)) == 12
        assert {mail.state for mail in session.scalars(select(OutboxMail))} == {"withdrawn"}
