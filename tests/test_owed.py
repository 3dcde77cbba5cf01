"""What is owed, decided when a message is stored and kept until it is sent: receipts that wait for their
hour instead of being dropped, a briefing's place in the month, one Cc'd message stored by two instances
at once, the month's jobs done once and caught up after downtime, and `status` and `remind` saying so."""

from __future__ import annotations

import email
import threading
from datetime import datetime, timedelta
from email import policy
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from archive.corrections import add_correction
from archive.ingest import Incoming, ingest_batch
from archive.models import ArticleRow, Attachment, JobRun, MailboxState, Message, OutboxMail, OwedReply, Sighting
from archive.rederive import rederive
from archive.spool import derive_spooled, spool
from bot.cli.group import main
from bot.daemon.poll import send_owed
from bot.daemon.scheduled import due_jobs
from bot.daemon.serve import run_due_jobs
from bot.daemon.status import describe_status, gather_status
from bot.demo.folder import compose
from bot.outgoing.receipts import queue_owed_receipts
from tests.conftest import DATA

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = "hsclbgs666@163.com"
REHAB = "hskf2006@126.com"


@pytest.fixture
def config(tmp_path, database_url):
    """The example config; its receipts go to mail of any age (the tests' mail is from 2020)."""
    from dataclasses import replace

    from tests.conftest import make_config

    made = make_config(tmp_path, database_url)
    return replace(made, outgoing=replace(made.outgoing, receipts_max_age_days=0))


def briefing(number: int, sender: str = "zqxcl@163.com", day: int = 6, attachments: int = 0) -> bytes:
    message = compose(
        sender,
        OFFICE,
        f"枣强县贫困残疾人服务工程专项信息（{number}）",
        datetime(2020, 5, day, 9, number % 60, tzinfo=SHANGHAI),
        body=f"第{number}篇稿件正文：本县开展残疾人实用技术培训，五十余名农村残疾人参加。",
    )
    for n in range(attachments):
        message.add_attachment(
            f"稿件{number}-{n}".encode(), maintype="text", subtype="plain", filename=f"稿件{number}-{n}.txt"
        )
    return message.as_bytes()


def store(deps, *raws: bytes) -> list[int]:
    outcomes = ingest_batch(
        deps.db, deps.store, deps.recognizer, [Incoming(raw=raw, mailbox="bgs", source="import") for raw in raws]
    )
    return [outcome.id for outcome in outcomes]


def queued_receipts(deps) -> dict[int, OutboxMail]:
    with deps.db.session() as session:
        return {
            mail.about_message: mail for mail in session.scalars(select(OutboxMail).where(OutboxMail.kind == "receipt"))
        }


def text_of(mail: OutboxMail) -> str:
    return email.message_from_bytes(mail.raw, policy=policy.default).get_body(("plain",)).get_content()


def test_the_receipt_decision_is_stored_with_the_message(deps):
    """GIVEN a unit's briefing and a stranger's mail WHEN stored THEN the same commit records one owed
    receipt, for the briefing only; nothing is in the outbox until the sender composes it."""
    stranger = compose("someone@example.com", OFFICE, "你好", datetime(2020, 5, 6, tzinfo=SHANGHAI)).as_bytes()
    ids = store(deps, briefing(1), stranger)
    with deps.db.session() as session:
        owed = session.scalars(select(OwedReply)).all()
        outbox = session.scalar(select(func.count()).select_from(OutboxMail))
    assert [(row.message_id, row.cause, row.queued_at) for row in owed] == [(ids[0], f"receipt:{ids[0]}", None)]
    assert outbox == 0


def test_receipts_over_the_hourly_limit_wait_for_the_next_hour(config, deps):
    """GIVEN 12 briefings from one address and a limit of 10 an hour WHEN their receipts are composed
    THEN 10 go now and 2 wait for the next clock hour; none is dropped, and they go when it comes."""
    store(deps, *(briefing(n) for n in range(12)))
    now = datetime(2020, 5, 6, 10, 20, tzinfo=SHANGHAI)
    with deps.db.session() as session:
        assert queue_owed_receipts(config, session, now) == 12
    times = sorted(mail.next_attempt_at for mail in queued_receipts(deps).values())
    assert times[:10] == [now] * 10 and times[10:] == [datetime(2020, 5, 6, 11, tzinfo=SHANGHAI)] * 2
    assert send_owed(config, deps, now).outbox.sent == 10
    assert send_owed(config, deps, now + timedelta(minutes=39)).outbox.sent == 0
    assert send_owed(config, deps, now + timedelta(minutes=40)).outbox.sent == 2


def test_a_briefing_receipt_names_its_own_place_in_the_month(config, deps):
    """GIVEN three briefings of one unit in a month, the second carrying two article files, then a resend
    of the first WHEN their receipts are composed together THEN they say 第 1 篇, 第 2–3 篇, 第 4 篇, and the
    resend that it counts nothing, not the month's total on every receipt."""
    first, second, third = briefing(1), briefing(2, attachments=2), briefing(3, day=7)
    resent = briefing(1).replace(b"Message-ID: <", b"Message-ID: <resent.")
    ids = store(deps, first, second, third)
    ids += store(
        deps,
        compose(
            "zqxcl@163.com",
            OFFICE,
            "转发：枣强县贫困残疾人服务工程专项信息（1）",
            datetime(2020, 5, 8, 9, tzinfo=SHANGHAI),
            body="第1篇稿件正文：本县开展残疾人实用技术培训，五十余名农村残疾人参加。",
        ).as_bytes(),
    )
    assert resent  # the forward above is the same article: same subject (prefix aside) and body
    with deps.db.session() as session:
        queue_owed_receipts(config, session, datetime(2020, 5, 9, tzinfo=SHANGHAI))
    texts = {id_: text_of(mail) for id_, mail in queued_receipts(deps).items()}
    assert "本月第 1 篇，达标需 8 篇" in texts[ids[0]]
    assert "本月第 2–3 篇，达标需 8 篇" in texts[ids[1]]
    assert "本月第 4 篇，达标需 8 篇" in texts[ids[2]]
    assert "与此前报送的稿件相同，不重复计数" in texts[ids[3]]


@pytest.mark.parametrize("traced", [False, True], ids=["same-bytes", "own-trace-headers"])
def test_two_instances_storing_one_ccd_message_at_once_both_succeed(deps, traced):
    """GIVEN messages that lie in two mailboxes (To one department, Cc another), byte for byte the same or
    each with its server's trace headers on top, WHEN two workers store them at the same moment THEN neither
    fails: each message is stored once, seen in both places, and owed one receipt."""
    raws = [
        compose(
            "zqxcl@163.com",
            OFFICE,
            f"枣强县贫困残疾人服务工程专项信息（{n}）",
            datetime(2020, 5, 6, tzinfo=SHANGHAI),
            cc=REHAB,
            body=f"第{n}篇",
        ).as_bytes()
        for n in range(20)
    ]
    start, errors = threading.Barrier(2), []

    def worker(mailbox: str) -> None:
        start.wait()
        for raw in raws:
            try:
                trace = f"Delivered-To: {mailbox}@example.cn\n".encode() if traced else b""
                ingest_batch(
                    deps.db, deps.store, deps.recognizer, [Incoming(raw=trace + raw, mailbox=mailbox, source="import")]
                )
            except Exception as error:  # noqa: BLE001 — any failure is what the test reports
                errors.append(error)

    threads = [threading.Thread(target=worker, args=(box,)) for box in ("bgs", "kfb")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with deps.db.session() as session:
        messages = session.scalar(select(func.count()).select_from(Message))
        sightings = session.scalar(select(func.count()).select_from(Sighting))
        owed = session.scalar(select(func.count()).select_from(OwedReply))
    assert errors == []
    assert (messages, sightings) == (20, 40)
    assert owed == 20  # one receipt owed per message, not per mailbox


def test_two_workers_storing_different_mail_of_the_same_second_both_succeed(deps):
    """GIVEN two mailboxes receiving different messages that arrived in the same second WHEN their workers
    store them at the same moment THEN neither fails (each message's search key is its own)."""
    when = datetime(2020, 5, 6, 9, tzinfo=SHANGHAI)
    raws = {
        box: [compose("zqxcl@163.com", OFFICE, f"枣强县5月份报表（{box}{n}）", when).as_bytes() for n in range(40)]
        for box in ("bgs", "kfb")
    }
    start, errors = threading.Barrier(2), []

    def worker(mailbox: str) -> None:
        start.wait()
        for first in range(0, 40, 8):
            try:
                ingest_batch(
                    deps.db,
                    deps.store,
                    deps.recognizer,
                    [Incoming(raw=raw, mailbox=mailbox, source="import") for raw in raws[mailbox][first : first + 8]],
                )
            except Exception as error:  # noqa: BLE001 — any failure is what the test reports
                errors.append(error)

    threads = [threading.Thread(target=worker, args=(box,)) for box in raws]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with deps.db.session() as session:
        messages = session.scalars(select(Message)).all()
    assert errors == [] and len(messages) == 80
    assert all(message.problems == [] for message in messages)


def test_the_months_jobs_run_once_when_due_and_catch_up_after_downtime(config, deps):
    """GIVEN no daemon on the 17th at 09:00 WHEN the sender first runs on the 18th THEN April's reminders
    are queued then (and recorded), and never again; the digest waits for the 21st; months outside the
    plan get nothing."""
    clock = {"now": datetime(2020, 4, 18, 8, tzinfo=SHANGHAI)}
    at = type(deps)(**{**deps.__dict__, "clock": lambda: clock["now"]})

    def kinds() -> list[str]:
        with deps.db.session() as session:
            return sorted(session.scalars(select(OutboxMail.kind)))

    reminders = next(job for job in gather_status(config, at)["jobs"] if job["job"] == "reminders")
    assert reminders["due_since"] == "2020-04-17T09:00:00+08:00"  # status says so while no daemon runs
    assert (
        "催报提醒：本月的已于 2020-04-17T09:00:00+08:00 到期，尚未执行（启动 mailroom serve 后立即执行）；尚未运行"
        in (describe_status(gather_status(config, at)))
    )
    run_due_jobs(config, at)
    assert kinds() == ["reminder"] * 13
    assert all(job["due_since"] is None for job in gather_status(config, at)["jobs"])
    run_due_jobs(config, at)
    assert kinds() == ["reminder"] * 13
    clock["now"] = datetime(2020, 4, 21, 9, 30, tzinfo=SHANGHAI)
    run_due_jobs(config, at)
    assert kinds() == ["digest"] + ["reminder"] * 13
    clock["now"] = datetime(2021, 1, 25, 9, 30, tzinfo=SHANGHAI)  # outside the 2020 plan
    run_due_jobs(config, at)
    assert len(kinds()) == 14
    with deps.db.session() as session:
        runs = {(run.job, run.period) for run in session.scalars(select(JobRun))}
    assert runs == {("reminders", "2020-04"), ("digest", "2020-04")}


def test_a_due_job_waits_for_mail_still_spooled_up_to_an_hour(config, deps):
    """GIVEN a unit's briefing archived raw and not yet derived (spooled) WHEN the reminders fall due
    THEN they wait for it, and go once it is derived; a spool that does not empty holds a job back for an
    hour at most."""
    clock = {"now": datetime(2020, 4, 17, 9, 5, tzinfo=SHANGHAI)}
    at = type(deps)(**{**deps.__dict__, "clock": lambda: clock["now"]})
    spool(deps.intake, [Incoming(raw=briefing(1), mailbox="bgs", source="imap", arrival=clock["now"])])

    def reminders() -> int:
        with deps.db.session() as session:
            return session.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.kind == "reminder"))

    run_due_jobs(config, at)
    assert reminders() == 0  # the spool holds mail: the reminders wait
    clock["now"] = datetime(2020, 4, 17, 10, 0, 1, tzinfo=SHANGHAI)
    with deps.db.session() as session:
        assert [job.job for job, _ in due_jobs(config, session, clock["now"])] == ["reminders"]  # an hour is enough
    clock["now"] = datetime(2020, 4, 17, 9, 10, tzinfo=SHANGHAI)
    assert [outcome.new for outcome in derive_spooled(deps.intake, "bgs", 10)] == [True]
    run_due_jobs(config, at)
    assert reminders() == 13


def test_a_daemon_started_after_the_jobs_time_looks_at_its_mailboxes_before_reminding(config, deps):
    """GIVEN no daemon over the 17th 09:00 (each mailbox last looked at on the 16th) WHEN `serve` starts on the
    18th at 10:00 THEN the reminders wait until every mailbox has been looked at (they went at once, to units
    whose forms sat unread on the server: mail servers tester), an IDLE watch of this daemon counting as current;
    a mailbox that cannot be looked at holds them an hour at most."""
    start = datetime(2020, 4, 18, 10, tzinfo=SHANGHAI)
    boxes = [box.key for box in config.mailboxes]
    assert len(boxes) > 1

    def looked(box: str, at: datetime, watch: str = "poll", next_at: datetime | None = None) -> None:
        with deps.db.session() as session:
            state = session.get(MailboxState, box) or MailboxState(mailbox=box, folder="INBOX", last_uid=0)
            state.last_ok_at, state.watch, state.next_poll_at = at, watch, next_at
            session.add(state)
            session.commit()

    def due(now: datetime) -> list[str]:
        with deps.db.session() as session:
            return [job.job for job, _ in due_jobs(config, session, now, since=start)]

    for box in boxes:
        looked(box, datetime(2020, 4, 16, 18, tzinfo=SHANGHAI))
    assert due(start + timedelta(seconds=1)) == []
    looked(boxes[0], start + timedelta(seconds=2))  # the first look of this daemon
    looked(boxes[1], start + timedelta(seconds=2), "idle", start + timedelta(minutes=25))
    assert due(start + timedelta(seconds=3)) == ([] if len(boxes) > 2 else ["reminders"])
    for box in boxes[2:]:
        looked(box, start + timedelta(seconds=3))
    assert due(start + timedelta(seconds=4)) == ["reminders"]
    looked(boxes[-1], datetime(2020, 4, 16, 18, tzinfo=SHANGHAI))  # its server away since
    assert due(start + timedelta(minutes=59)) == [] and due(start + timedelta(minutes=60)) == ["reminders"]
    with deps.db.session() as session:  # without a daemon's start (a command, a test) only the spool is waited for
        assert [job.job for job, _ in due_jobs(config, session, start)] == ["reminders"]


def test_a_reminder_close_to_the_deadline_waits_for_the_spool_half_its_window_at_most(config, deps):
    """GIVEN reminders set for 23:00 on the deadline's day (an hour of window) and mail spooled WHEN they
    fall due THEN they wait half an hour at most, so they still go before the deadline."""
    from dataclasses import replace
    from datetime import time

    late = replace(config, schedule=replace(config.schedule, reminder_day=20, reminder_time=time(23, 0)))
    spool(deps.intake, [Incoming(raw=briefing(1), mailbox="bgs", source="imap")])
    with deps.db.session() as session:
        assert due_jobs(late, session, datetime(2020, 4, 20, 23, 29, tzinfo=SHANGHAI)) == []
        assert [job.job for job, _ in due_jobs(late, session, datetime(2020, 4, 20, 23, 31, tzinfo=SHANGHAI))] == [
            "reminders"
        ]


def remind_command(database_url: str, tmp_path, clock: datetime | None = None, monkeypatch=None):
    """`mailroom remind ARGS` on the demo config (mail to a folder) over `database_url`; with `clock`, the
    command's deps read that time instead of the real one."""
    path = tmp_path / "config.toml"
    from bot.demo.folder import demo_config_text
    from tests.conftest import ROOT

    path.write_text(
        demo_config_text((ROOT / "config.example.toml").read_text(encoding="utf-8")).replace(
            'url = "sqlite:///mailroom.db"', f'url = "{database_url}"'
        ),
        encoding="utf-8",
    )
    if clock is not None:
        import bot.daemon.deps

        opened = bot.daemon.deps.open_deps
        monkeypatch.setattr(bot.daemon.deps, "open_deps", lambda *a, **k: opened(*a, **k, clock=lambda: clock))
    return lambda *args: CliRunner().invoke(main, ["--config", str(path), "remind", *args])


def queued_reminders(database_url: str) -> list[OutboxMail]:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(OutboxMail).where(OutboxMail.kind == "reminder")))
    finally:
        engine.dispose()


def test_remind_on_demand_says_what_it_sent_or_why_nothing(config, tmp_path):
    """`mailroom remind --month M [--dry-run]`: who would be reminded, then who was, then that nothing
    more is sent. (Run now, years after April 2020's deadline: --after-deadline says that is meant.)"""
    run = remind_command(config.database_url, tmp_path)
    dry = run("--month", "2020-04", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "桃城区：将提醒（尚缺 附件1、附件2" in dry.output and "未发送任何提醒（试运行）" in dry.output
    real = run("--month", "2020-04", "--after-deadline")
    assert real.exit_code == 0, real.output
    assert "桃城区：已提醒" in real.output and "发信：成功 13 封" in real.output
    again = run("--month", "2020-04", "--after-deadline")
    assert "桃城区：此前已提醒" in again.output and "未发送任何提醒" in again.output
    bad = run("--month", "2020-13")
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output


def test_remind_after_the_deadline_is_refused_unless_asked_for(config, tmp_path, monkeypatch):
    """GIVEN 2026-12-06, years after August 2020's deadline WHEN `remind --month 2020-08` is run THEN it is
    refused in one line, exit 2, naming the deadline (with its year) and --after-deadline, and nothing is
    queued; --dry-run lists the units and says the same; with --after-deadline the reminders go, saying
    the deadline has passed."""
    now = datetime(2026, 12, 6, 10, 22, tzinfo=SHANGHAI)
    run = remind_command(config.database_url, tmp_path, now, monkeypatch)
    refused = run("--month", "2020-08")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        "用法错误 (usage error): 2020年8月报表的报送截止时间 2020年8月20日 23:59:59 已过"
        "（现在是 2026年12月6日 10:22），"
        "提醒将写明已超过报送时限、请尽快补报；确认要发送请加 --after-deadline（可先加 --dry-run 查看将提醒哪些单位）"
    ]
    assert queued_reminders(config.database_url) == []
    dry = run("--month", "2020-08", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "桃城区：将提醒（尚缺 附件1" in dry.output
    assert "2020年8月20日 23:59:59 已过" in dry.output and "实际发送须加 --after-deadline" in dry.output
    assert "未发送任何提醒（试运行）" in dry.output and queued_reminders(config.database_url) == []
    sent = run("--month", "2020-08", "--after-deadline")
    assert sent.exit_code == 0 and "发信：成功 13 封" in sent.output, sent.output
    reminders = queued_reminders(config.database_url)
    assert len(reminders) == 13 and all("已超过截止时间8月20日，请尽快补报" in mail.subject for mail in reminders)


def test_remind_before_the_deadline_needs_no_flag_and_asks_before_it(config, tmp_path, monkeypatch):
    """GIVEN 2020-04-18, before April's deadline WHEN `remind --month 2020-04` is run THEN the reminders go
    as they always did, asking for the forms before the deadline."""
    run = remind_command(config.database_url, tmp_path, datetime(2020, 4, 18, 10, tzinfo=SHANGHAI), monkeypatch)
    dry = run("--month", "2020-04", "--dry-run")
    assert dry.exit_code == 0 and "已过" not in dry.output, dry.output
    sent = run("--month", "2020-04")
    assert sent.exit_code == 0 and "发信：成功 13 封" in sent.output, sent.output
    reminder = queued_reminders(config.database_url)[0]
    text = email.message_from_bytes(reminder.raw, policy=policy.default).get_body(("plain",)).get_content()
    assert reminder.subject.endswith("截止4月20日")
    assert "应于 2020年4月20日 23:59:59 前报送。截至 2020年4月18日 10:00" in text and "请在截止时间前" in text


def test_the_scheduled_reminders_still_ask_before_the_deadline(config, deps):
    """The daemon's job (its window ends at the deadline) is unchanged: on the 17th at 09:00 every unit is
    reminded, before the deadline, with no flag anywhere."""
    at = type(deps)(**{**deps.__dict__, "clock": lambda: datetime(2020, 4, 17, 9, tzinfo=SHANGHAI)})
    run_due_jobs(config, at)
    with deps.db.session() as session:
        mails = session.scalars(select(OutboxMail).where(OutboxMail.kind == "reminder")).all()
    assert len(mails) == 13
    for mail in mails:
        text = email.message_from_bytes(mail.raw, policy=policy.default).get_body(("plain",)).get_content()
        assert "前报送。截至 2020年4月17日 09:00" in text and "已超过" not in text


def test_a_unit_reminded_before_the_deadline_is_chased_once_after_it(config, tmp_path, monkeypatch):
    """GIVEN every unit reminded on 2020-04-18, before April's deadline WHEN `remind --month 2020-04
    --after-deadline` is run on the 22nd THEN each unit gets a second, distinct reminder saying the deadline has
    passed; re-running either (before or after the deadline) sends nothing more."""
    import bot.daemon.deps

    clock = {"now": datetime(2020, 4, 18, 10, tzinfo=SHANGHAI)}
    opened = bot.daemon.deps.open_deps
    monkeypatch.setattr(bot.daemon.deps, "open_deps", lambda *a, **k: opened(*a, **k, clock=lambda: clock["now"]))
    run = remind_command(config.database_url, tmp_path)
    before = run("--month", "2020-04")
    assert before.exit_code == 0 and "发信：成功 13 封" in before.output, before.output
    again = run("--month", "2020-04")
    assert "桃城区：此前已提醒" in again.output and "未发送任何提醒" in again.output, again.output

    clock["now"] = datetime(2020, 4, 22, 10, tzinfo=SHANGHAI)
    after = run("--month", "2020-04", "--after-deadline")
    assert after.exit_code == 0 and "桃城区：已提醒" in after.output and "发信：成功 13 封" in after.output, (
        after.output
    )
    for rerun in (("--month", "2020-04", "--after-deadline"), ("--month", "2020-04", "--dry-run")):
        said = run(*rerun)
        assert "桃城区：此前已提醒" in said.output and "未发送任何提醒" in said.output, said.output
    clock["now"] = datetime(2020, 4, 18, 11, tzinfo=SHANGHAI)  # the before-deadline one again: still none
    assert "桃城区：此前已提醒" in run("--month", "2020-04").output

    reminders = queued_reminders(config.database_url)
    assert len(reminders) == 26 and all(mail.state == "sent" for mail in reminders)
    to_taocheng = sorted((mail for mail in reminders if mail.recipients == "tcqcl@163.com"), key=lambda m: m.id)
    assert [mail.subject for mail in to_taocheng] == [
        "【提醒】桃城区2020年4月报表尚缺8个附件，截止4月20日",
        "【提醒】桃城区2020年4月报表尚缺8个附件，已超过截止时间4月20日，请尽快补报",
    ]
    first, second = (text_of(mail) for mail in to_taocheng)
    assert "应于 2020年4月20日 23:59:59 前报送。截至 2020年4月18日 10:00" in first and "已超过" not in first
    assert "截止时间为 2020年4月20日 23:59:59，现已超过报送时限。截至 2020年4月22日 10:00" in second
    assert "请尽快补报" in second and "请在截止时间前" not in second


def test_a_reminder_queued_after_the_deadline_before_the_two_were_told_apart_counts_as_the_late_one(config, deps):
    """GIVEN April's reminders queued on the 18th, and 桃城区's as the code before this distinction queued it
    after the deadline (the same cause, created on the 22nd) WHEN the reminders run after the deadline THEN
    桃城区 is not chased a second time, every other unit is."""
    from bot.outgoing.reminders import ALREADY, REMINDED, queue_reminders

    with deps.db.session() as session:
        queue_reminders(config, session, "2020-04", datetime(2020, 4, 18, 10, tzinfo=SHANGHAI))
        legacy = session.scalars(select(OutboxMail).where(OutboxMail.recipients == "tcqcl@163.com")).one()
        legacy.created_at = datetime(2020, 4, 22, 9, tzinfo=SHANGHAI)
        session.commit()
        results = queue_reminders(config, session, "2020-04", datetime(2020, 4, 23, 10, tzinfo=SHANGHAI))
    outcomes = {result.unit: result.outcome for result in results}
    assert outcomes.pop("桃城区") == ALREADY
    assert set(outcomes.values()) == {REMINDED}
    with deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMail)) == 13 + 12


def test_status_shows_the_smtp_error_behind_a_backlog(config, deps):
    """GIVEN a receipt the SMTP server refused WHEN `status` is asked THEN it shows the backlog, since
    when it waits, and the server's error; once a later mail has gone, that the error is over."""
    from dataclasses import replace

    from bot.outgoing.outbox import ServerRest

    store(deps, briefing(1))
    refusing = replace(
        config,
        outgoing=replace(config.outgoing, transport="smtp", host="127.0.0.1", port=1, security="plain", sender=OFFICE),
    )
    now = datetime(2020, 5, 6, 10, tzinfo=SHANGHAI)
    report = send_owed(refusing, deps, now)
    assert report.receipts == 1 and report.outbox.failed == 1
    data = gather_status(refusing, deps)
    assert data["outbox_backlog"] == 1 and data["receipts_owed"] == 0
    assert data["outbox_oldest"] == "2020-05-06T10:00:00+08:00"
    assert data["smtp_last_error"] == (
        "无法连接发信服务器 127.0.0.1:1：连接被拒绝，请检查 [smtp] host 和 port，以及服务器是否在运行"
        "（[Errno 111] Connection refused）"
    )
    assert data["smtp_last_error_at"] == "2020-05-06T10:00:00+08:00" and data["smtp_sent_since"] is None
    # the configuration mended (here: the folder stand-in) and the daemon started again, a later receipt goes
    # while the first waits out its minute: the error is shown as over, where it read as if sending still failed
    store(deps, briefing(2))
    restarted = replace(deps, smtp_rest=ServerRest())
    assert send_owed(config, restarted, now + timedelta(seconds=30)).outbox.sent == 1
    data = gather_status(config, deps)
    assert data["outbox_backlog"] == 1 and data["smtp_sent_since"] == "2020-05-06T10:00:30+08:00"
    assert "（此后已恢复：2020-05-06T10:00:30+08:00 成功发出邮件）" in "\n".join(describe_status(data))


# --- replies, answers to our own mail, files that hold no form ------------------------------------------------

WORKBOOKS = DATA / "workbooks"


def unit_mail(
    subject: str,
    when: datetime,
    files: tuple[tuple[str, bytes, str], ...] = (),
    *,
    sender: str = "zqxcl@163.com",
    body: str = "见附件",
    in_reply_to: str | None = None,
) -> bytes:
    """A unit's mail with files (name, bytes, content type), threaded under `in_reply_to` as a mail program or
    an autoresponder threads an answer (In-Reply-To and References), no Auto-Submitted header."""
    message = compose(sender, OFFICE, subject, when, body=body)
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, data, content_type in files:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def owed_for(deps) -> set[int]:
    with deps.db.session() as session:
        return set(session.scalars(select(OwedReply.message_id).where(OwedReply.kind == "receipt")))


SUMMARY = ("附件2.xlsx", (WORKBOOKS / "percent-mismatch.xlsx").read_bytes(), "application/octet-stream")  # 枣强县's


def test_a_reply_carrying_forms_is_owed_a_receipt_like_any_package(config, deps):
    """GIVEN a clerk who pressed 回复 on the city's notice and attached the forms, and another who only thanked
    for it WHEN stored THEN the package is owed a receipt saying what was read, as a package sent afresh is; the
    thanks are left to people."""
    when = datetime(2020, 5, 15, 10, tzinfo=SHANGHAI)
    package, thanks = store(
        deps,
        unit_mail("回复：关于报送5月份目标任务完成情况的通知", when, (SUMMARY,), in_reply_to="<notice@163.com>"),
        unit_mail("回复：关于报送5月份目标任务完成情况的通知", when, body="收到，谢谢", in_reply_to="<notice@163.com>"),
    )
    assert owed_for(deps) == {package}
    with deps.db.session() as session:
        assert queue_owed_receipts(config, session, when) == 1
    receipt = queued_receipts(deps)[package]
    assert receipt.subject == "回执：回复：关于报送5月份目标任务完成情况的通知"
    text = text_of(receipt)
    assert "类别：月度报表" in text and "附件2.xlsx：附件2 目标任务完成情况汇总表" in text


def test_our_own_receipt_answered_back_is_never_answered_but_a_corrected_file_is(config, deps):
    """GIVEN our receipt asking for a package's forgotten files WHEN a mail rule answers it with its subject
    unchanged, an OA system answers it under the package's own subject (both threaded under it, no
    Auto-Submitted), and a webmail sends a plain 已读回执 THEN none of them is owed a receipt (each would be
    answered again, without end); the clerk's reply carrying the corrected form is, under the first subject."""
    when = datetime(2020, 9, 10, 10, tzinfo=SHANGHAI)
    [forgotten] = store(deps, unit_mail("枣强县9月份报表", when))
    with deps.db.session() as session:
        assert queue_owed_receipts(config, session, when) == 1
    ours = queued_receipts(deps)[forgotten]
    mid = email.message_from_bytes(ours.raw, policy=policy.default)["Message-ID"]
    assert ours.subject == "回执：枣强县9月份报表" and "本邮件没有附带文件" in text_of(ours)
    later = when + timedelta(minutes=1)
    echo, oa, read, corrected = store(
        deps,
        unit_mail(ours.subject, later, body="您好，来信已收到，谢谢！（此为自动回复）", in_reply_to=mid),
        unit_mail("枣强县9月份报表", later, body="您的邮件已收到，系统将尽快处理。", in_reply_to=mid),
        unit_mail("已读回执：枣强县9月份报表", later, body="您发送的邮件已于2020-09-10被 zqxcl@163.com 阅读。"),
        unit_mail(f"Re: {ours.subject}", later, (SUMMARY,), body="附件2已补发，请查收。", in_reply_to=mid),
    )
    assert owed_for(deps) == {forgotten, corrected}
    with deps.db.session() as session:
        assert queue_owed_receipts(config, session, later) == 1
    receipt = queued_receipts(deps)[corrected]
    assert receipt.subject == "回执：枣强县9月份报表"
    assert "附件2.xlsx：附件2 目标任务完成情况汇总表" in text_of(receipt)


def tnef(files: dict[str, bytes]) -> bytes:
    """Outlook's winmail.dat (TNEF) packing `files`, as Outlook sends a mail written in its RTF format."""
    import struct

    out = bytearray(struct.pack("<IH", 0x223E9F78, 0x0001))

    def attribute(level: int, tag: int, data: bytes) -> None:
        out.extend(struct.pack("<BII", level, tag, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF))

    attribute(1, 0x00089006, struct.pack("<I", 0x00010000))
    for name, data in files.items():
        attribute(2, 0x00069002, b"\xff" * 4 + b"\x00" * 10)
        attribute(2, 0x00018010, name.encode("gbk") + b"\x00")
        attribute(2, 0x0006800F, data)
    return bytes(out)


def test_every_attachment_without_a_form_is_named_in_the_receipt_with_why(config, deps):
    """GIVEN 景县's package with a readable 附件2 beside a .rar, Outlook's winmail.dat and a PDF (and an iPhone
    photo) WHEN its receipt is composed THEN each of those three is listed as unreadable, with the reason
    `inspect` gives for it (parsers.inspection); Outlook's says how to stop sending winmail.dat. A picture
    beside forms is not: it is most often a signature's logo (Outlook's image001.png). A briefing's article
    file is no form and needs none: its receipt lists no problem."""
    import zipfile

    from parsers.no_form import no_form

    with zipfile.ZipFile(WORKBOOKS / "package-gbk-names.zip") as package:
        pdf = package.read(next(name for name in package.namelist() if name.endswith(".pdf")))
    others = {
        "附件8.rar": (b"Rar!\x1a\x07\x01\x00" + bytes(range(256)) * 8, "application/x-rar-compressed"),
        "winmail.dat": (tnef({"附件3.xlsx": SUMMARY[1]}), "application/ms-tnef"),
        "简报.pdf": (pdf, "application/pdf"),
    }
    photo = ("IMG_4521.HEIC", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(2000), "image/heic")
    summary = ("附件2.xls", (WORKBOOKS / "summary-jing-xian-with-space.xls").read_bytes(), "application/vnd.ms-excel")
    when = datetime(2020, 9, 10, 10, tzinfo=SHANGHAI)
    lock = ("~$附件3.xlsx", b"\x06jxcl  " + bytes(155), "application/octet-stream")  # Excel's, zipped along
    files = (summary, *((name, data, kind) for name, (data, kind) in others.items()), photo, lock)
    package, article = store(
        deps, unit_mail("景县9月份报表", when, files, sender="jxcl2020@163.com"), briefing(1, attachments=1)
    )
    with deps.db.session() as session:
        assert queue_owed_receipts(config, session, when) == 2
    text = text_of(queued_receipts(deps)[package])
    assert "附件2.xls：附件2 目标任务完成情况汇总表" in text
    for name, (data, _) in others.items():
        assert f"- {name}：无法读取" in text
        assert f"【{name}】\n1. {no_form(name, data).problems[0].message}\n" in text
    assert "撰写邮件时使用此格式：HTML" in text and "RAR 压缩包" in text
    assert "IMG_4521.HEIC" not in text and "是图片" not in text and "~$附件3.xlsx" not in text
    assert "需要修改的问题" not in text_of(queued_receipts(deps)[article])


def test_a_lone_winmail_dat_is_named_instead_of_the_template_advice(config, deps):
    """GIVEN a package whose only attachment is Outlook's winmail.dat WHEN its receipt is composed THEN it names
    the file and says to switch Outlook's format, not the general advice to use the city's templates."""
    when = datetime(2020, 6, 15, 10, tzinfo=SHANGHAI)
    dat = ("winmail.dat", tnef({"附件2.xlsx": SUMMARY[1]}), "application/ms-tnef")
    [package] = store(deps, unit_mail("枣强县6月份报表", when, (dat,)))
    with deps.db.session() as session:
        assert queue_owed_receipts(config, session, when) == 1
    text = text_of(queued_receipts(deps)[package])
    assert "【winmail.dat】" in text and "撰写邮件时使用此格式：HTML" in text
    assert "请重新发送：附件“winmail.dat”中没有可读取的附件表格" in text
    assert "附件模板" not in text


def test_an_imported_mail_of_unknown_age_is_kept_and_not_answered(deps):
    """GIVEN a unit's briefing saved as a file with neither a Received nor a Date header WHEN it is imported
    THEN it is archived and counted where its import dates it, its problems say so, and no receipt is owed
    (a receipt would date it by its import); the same mail with a Date header is owed one."""
    undated = compose("zqxcl@163.com", OFFICE, "枣强县贫困残疾人服务工程专项信息（无日期）", None, body="正文")
    dated = compose(
        "zqxcl@163.com",
        OFFICE,
        "枣强县贫困残疾人服务工程专项信息（有日期）",
        None,
        sent=datetime(2020, 5, 6, 9, tzinfo=SHANGHAI),
    )
    assert "Date" not in undated and "Received" not in undated
    ids = store(deps, undated.as_bytes(), dated.as_bytes())
    with deps.db.session() as session:
        owed = set(session.scalars(select(OwedReply.message_id)))
        problems = session.get(Message, ids[0]).problems
    assert owed == {ids[1]}
    assert any("既无服务器接收时间也无 Date 头" in problem for problem in problems)


def test_a_reply_that_cannot_be_composed_is_set_aside_and_the_others_go_out(deps, config, monkeypatch, caplog):
    """GIVEN two owed receipts, the first of which fails to compose (a bug: a template the code does not fit)
    WHEN the sender composes them THEN the second is queued, the first is set aside with its traceback logged
    and stays owed; the same process does not try it again, and the next start (a new set) does."""
    import bot.outgoing.receipts as receipts

    ids = store(deps, briefing(1), briefing(2))
    compose_receipt = receipts._compose

    def broken_for_the_first(config, receipt, now, *rest):
        if receipt.context["subject"].endswith("（1）"):
            raise KeyError("packages")
        return compose_receipt(config, receipt, now, *rest)

    monkeypatch.setattr(receipts, "_compose", broken_for_the_first)
    set_aside: set[int] = set()
    with deps.db.session() as session:
        assert queue_owed_receipts(config, session, datetime(2020, 5, 6, tzinfo=SHANGHAI), set_aside=set_aside) == 1
        assert queue_owed_receipts(config, session, datetime(2020, 5, 6, tzinfo=SHANGHAI), set_aside=set_aside) == 0
        waiting = session.scalars(select(OwedReply.message_id).where(OwedReply.queued_at.is_(None))).all()
    assert set(queued_receipts(deps)) == {ids[1]} and waiting == [ids[0]] and len(set_aside) == 1
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [KeyError]
    monkeypatch.setattr(receipts, "_compose", compose_receipt)
    with deps.db.session() as session:
        assert queue_owed_receipts(config, session, datetime(2020, 5, 6, tzinfo=SHANGHAI), set_aside=set()) == 1
    assert set(queued_receipts(deps)) == set(ids)


def test_an_article_saved_again_or_sent_as_text_counts_once(config, deps):
    """GIVEN 枣强县's article sent as a .docx, then the same article saved again (WPS stamps the save time into the
    file: other bytes) and sent again, then pasted into a .txt WHEN stored THEN it is one article: the receipts
    of the second and third say it was sent before; another article's text is another."""
    from bot.demo.season.files import docx_bytes

    words = [
        "枣强县残联开展助残日活动",
        "五月十五日，县残联组织志愿者走访慰问贫困残疾人家庭三十户，送去米面油等慰问品。",
    ]
    first, again = (docx_bytes(words, datetime(2020, 5, day, 9, tzinfo=SHANGHAI)) for day in (6, 8))
    assert first != again
    files = [
        ("助残日活动.docx", first, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("助残日活动（修改）.docx", again, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("助残日活动.txt", "\r\n".join(words).encode("gb18030"), "text/plain"),
        ("走访慰问.txt", "枣强县残联走访慰问贫困残疾人家庭，了解生活困难和康复需求，逐户登记。".encode(), "text/plain"),
    ]
    ids = store(
        deps,
        *(
            unit_mail(
                f"枣强县贫困残疾人服务工程专项信息（{n}）", datetime(2020, 5, 6 + n, 10, tzinfo=SHANGHAI), (file,)
            )
            for n, file in enumerate(files)
        ),
    )
    with deps.db.session() as session:
        keys = {message_id: key for message_id, key in session.execute(select(ArticleRow.message_id, ArticleRow.key))}
        assert queue_owed_receipts(config, session, datetime(2020, 5, 10, tzinfo=SHANGHAI)) == 4
    assert keys[ids[0]] == keys[ids[1]] == keys[ids[2]] != keys[ids[3]]
    assert keys[ids[0]].startswith("text:")
    texts = [text_of(queued_receipts(deps)[message_id]) for message_id in ids]
    assert "本月第 1 篇" in texts[0] and "本月第 2 篇" in texts[3]
    assert all("与此前报送的稿件相同，不重复计数" in text for text in texts[1:3])


def test_a_contact_card_or_an_rtf_body_beside_an_article_sent_before_counts_nothing(config, deps):
    """GIVEN 枣强县's article counted, then sent again with the clerk's contact card (王芳.vcf, text) attached, then
    again by Outlook with its body in RTF (an unnamed text/rtf part) WHEN stored THEN neither counts again: each
    receipt says the article was sent before, where the card and the RTF markup (stored as 未命名附件1.txt) were
    each counted as a new article."""
    from email.mime.application import MIMEApplication
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    article = (
        "走访慰问.txt",
        "枣强县残联走访慰问贫困残疾人家庭，了解生活困难和康复需求，逐户登记。".encode(),
        "text/plain",
    )
    card = (
        "王芳.vcf",
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:王芳\r\nTEL:13812345678\r\nEND:VCARD\r\n".encode(),
        "text/x-vcard",
    )
    subject = "枣强县贫困残疾人服务工程专项信息（{}）"
    outlook = MIMEMultipart("mixed")
    for name, value in compose(
        "zqxcl@163.com", OFFICE, subject.format(3), datetime(2020, 5, 9, 10, tzinfo=SHANGHAI)
    ).items():
        if name.lower() not in ("content-type", "mime-version", "content-transfer-encoding"):
            outlook[name] = value
    outlook.attach(MIMEText("{\\rtf1\\ansi\\ansicpg936 \\f0 李老师，请审阅。\\par}", "rtf", "utf-8"))
    attached = MIMEApplication(article[1], "octet-stream")
    attached.add_header("Content-Disposition", "attachment", filename=article[0])
    outlook.attach(attached)
    ids = store(
        deps,
        unit_mail(subject.format(1), datetime(2020, 5, 7, 10, tzinfo=SHANGHAI), (article,)),
        unit_mail(subject.format(2), datetime(2020, 5, 8, 10, tzinfo=SHANGHAI), (article, card)),
        outlook.as_bytes(),
    )
    with deps.db.session() as session:
        assert queue_owed_receipts(config, session, datetime(2020, 5, 10, tzinfo=SHANGHAI)) == 3
        rtf = session.scalars(select(Attachment.filename).where(Attachment.message_id == ids[2])).all()
    assert "未命名附件1.rtf" in rtf
    texts = [text_of(queued_receipts(deps)[message_id]) for message_id in ids]
    assert "本月第 1 篇" in texts[0]
    assert all("与此前报送的稿件相同，不重复计数" in text for text in texts[1:]), texts[1:]


# --- 核实通知: what counts, as evidence counts it; where a notice may go ------------------------------------------

REPLY_SUBJECT = "回复：关于报送5月份目标任务完成情况的通知"
STRANGER = "2851736642@qq.com"  # a clerk's own address, in no unit's senders


def decide(deps, message_id: int, reason: str, **corrected) -> None:
    """A staff correction, recorded and derived at once with its why, as `mailroom correct` does."""
    with deps.db.session() as session:
        add_correction(session, message_id, reason, "孙倩", **corrected)
        session.commit()
    with deps.db.session() as session:
        rederive(deps.intake, session, [message_id], because=reason)


def notices_owed(deps, message_id: int) -> list[str | None]:
    """The why of each 核实通知 owed for the message and not yet composed."""
    with deps.db.session() as session:
        return list(
            session.scalars(
                select(OwedReply.note).where(
                    OwedReply.message_id == message_id, OwedReply.kind == "change", OwedReply.queued_at.is_(None)
                )
            )
        )


def receipt_sent(config, deps, when: datetime) -> None:
    """Every receipt owed composed and handed to the server: what each sender was told."""
    with deps.db.session() as session:
        queue_owed_receipts(config, session, when)
        for mail in session.scalars(select(OutboxMail).where(OutboxMail.kind == "receipt")):
            mail.state, mail.sent_at = "sent", when
        session.commit()


def notice_text(config, deps, message_id: int, when: datetime) -> str:
    with deps.db.session() as session:
        queue_owed_receipts(config, session, when)
        mail = session.scalars(
            select(OutboxMail).where(OutboxMail.kind == "change", OutboxMail.about_message == message_id)
        ).one()
        return text_of(mail)


@pytest.mark.parametrize(
    ("corrected", "told"),
    [
        ({"month": "2020-06"}, "您单位发送的以下邮件经市残联工作人员核实，现已计入2020年6月的报送："),
        ({"counted": False}, "您单位发送的以下邮件经市残联工作人员核实，不计入报送，不计分："),
        ({"kind": "report"}, None),  # its receipt said 月度报表, and its forms counted as a report's
    ],
    ids=["month", "not-counted", "kind"],
)
def test_a_decision_on_a_reply_carrying_forms_is_told_as_for_a_package(config, deps, corrected, told):
    """GIVEN 枣强县's forms sent by pressing 回复 on the notice (a reply: its forms count, as a package's do,
    scoring.evidence), its receipt sent WHEN staff correct its month, or say it does not count THEN its sender is
    owed a 核实通知 saying so, as for a package sent afresh WHEN staff only correct its kind to 月度报表 THEN
    nothing is owed: it counted as one, and its receipt said so."""
    when = datetime(2020, 5, 15, 10, tzinfo=SHANGHAI)
    [package] = store(deps, unit_mail(REPLY_SUBJECT, when, (SUMMARY,), in_reply_to="<notice@163.com>"))
    with deps.db.session() as session:
        assert session.get(Message, package).kind == "reply"
    receipt_sent(config, deps, when)
    decide(deps, package, "电话核实", **corrected)
    if told is None:
        assert notices_owed(deps, package) == []
        return
    assert notices_owed(deps, package) == ["电话核实"]
    text = notice_text(config, deps, package, when + timedelta(hours=1))
    assert text.startswith("枣强县残联：") and told in text and "类别：月度报表" in text


def test_a_reply_carrying_forms_from_an_unknown_address_awarded_is_told_it_counts(config, deps):
    """GIVEN 枣强县's forms sent in a reply from a clerk's own address (in no unit's senders: no receipt, nothing
    counted) WHEN staff say it counts THEN its sender is owed a 核实通知 that it is counted for 枣强县."""
    when = datetime(2020, 5, 15, 10, tzinfo=SHANGHAI)
    [package] = store(deps, unit_mail(REPLY_SUBJECT, when, (SUMMARY,), sender=STRANGER))
    with deps.db.session() as session:
        message = session.get(Message, package)
        assert (message.kind, message.registered) == ("reply", False)
    decide(deps, package, "电话核实：枣强县的报表", unit="枣强县", counted=True)
    assert notices_owed(deps, package) == ["电话核实：枣强县的报表"]
    text = notice_text(config, deps, package, when + timedelta(hours=1))
    assert "为枣强县的报送，已计入枣强县2020年5月的报送：" in text and "计入单位：枣强县" in text


@pytest.mark.parametrize("sender", [REHAB, "HSKF2006@126.com", "noreply@zqx.example.cn"])
def test_a_decision_on_mail_a_notice_cannot_go_to_owes_none(config, deps, sender):
    """GIVEN 枣强县's forms sent on from 康复部 (one of our own mailboxes in the configuration, however its address
    is spelt) or from a no-reply address WHEN staff say it counts for 枣强县 THEN no 核实通知 is owed at all, not
    even one the sender would drop when composing it: the decision's commit records none (staff know what they
    decided; a no-reply address reads nothing)."""
    when = datetime(2020, 5, 15, 10, tzinfo=SHANGHAI)
    [package] = store(deps, unit_mail("枣强县5月份报表", when, (SUMMARY,), sender=sender))
    decide(deps, package, "电话核实：枣强县的报表", unit="枣强县", counted=True)
    with deps.db.session() as session:
        message = session.get(Message, package)
        assert (message.unit, message.registered) == ("枣强县", True)
        assert session.scalars(select(OwedReply.cause).where(OwedReply.message_id == package)).all() == []


def test_a_progress_report_behind_a_password_has_not_arrived(config, deps):
    """GIVEN 枣强县's April 附件1 as a Word file of its own format (its text not read: it counts, as units send .doc
    and .wps) and then one locked by a password WHEN its arrivals are read THEN the first counts and the locked
    one does not: nobody can open it (SPEC: an unreadable file is answered, not counted), where it made the month's
    附件1 "按时"."""
    from archive.evidence import package_arrivals

    when = datetime(2020, 5, 6, 10, tzinfo=SHANGHAI)
    wps = ("附件1进展情况报告.wps", (WORKBOOKS / "progress-report.wps").read_bytes(), "application/octet-stream")
    locked = ("附件1进展情况报告.docx", (WORKBOOKS / "encrypted.xlsx").read_bytes(), "application/octet-stream")
    ids = store(deps, unit_mail("枣强县4月份报表", when, (wps,)), unit_mail("枣强县4月份报表", when, (locked,)))
    with deps.db.session() as session:
        arrivals = {arrival.message_id: arrival for arrival in package_arrivals(session, "枣强县", "2020-04")}
    assert (arrivals[ids[0]].form, arrivals[ids[0]].counts) == (1, True)
    assert (arrivals[ids[1]].form, arrivals[ids[1]].locked, arrivals[ids[1]].counts) == (1, True, False)


def test_a_reply_owed_waits_while_its_message_waits_to_be_derived_for_a_decision(config, deps):
    """GIVEN a briefing owed its receipt WHEN a staff decision leaves the message to be derived again (the web's
    request died between recording it and deriving) THEN the receipt is not composed until it is: composed from
    the message as it was, a 核实通知 said the old month beside the new decision's words, and nothing told the
    unit after (decisions tester)."""
    [id_] = store(deps, briefing(1))
    with deps.db.session() as session:
        session.get(Message, id_).derived_with = None  # what recording a decision does (archive.corrections)
        session.commit()
        assert queue_owed_receipts(config, session, datetime(2020, 5, 6, 10, tzinfo=SHANGHAI)) == 0
    with deps.db.session() as session:
        rederive(deps.intake, session, [id_])
        assert queue_owed_receipts(config, session, datetime(2020, 5, 6, 10, tzinfo=SHANGHAI)) == 1


def test_mail_derived_while_its_sender_was_confirmed_is_stored_due_and_counts_once_derived(config, deps):
    """GIVEN a briefing from an address no unit has, derived (as a poll does, before writing) WHEN staff confirm the
    address for 枣强县 before it is written THEN it is stored due for derivation, and counts once derived: stamped
    under the sender as it was, it stayed uncounted for good, the 确认 button refused as done (decisions tester)."""
    from archive.staff_senders import add_sender

    stranger = "zqx-clerk@qq.com"
    before = deps.recognizer  # what the poll derived with: the address not yet confirmed
    with deps.db.session() as session:
        add_sender(session, "枣强县", stranger, "电话核实", "孙倩", None, zone=SHANGHAI)
        session.commit()
    [id_] = [
        outcome.id
        for outcome in ingest_batch(
            deps.db, deps.store, before, [Incoming(raw=briefing(1, sender=stranger), mailbox="bgs", source="import")]
        )
    ]
    with deps.db.session() as session:
        message = session.get(Message, id_)
        assert (message.registered, message.derived_with) == (False, None)
        rederive(deps.intake, session, [id_])
        assert (session.get(Message, id_).registered, session.get(Message, id_).unit) == (True, "枣强县")
