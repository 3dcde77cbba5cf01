"""`mailroom status` says truly why messages wait to be derived again: a staff decision (a correction, its
revocation, a sender confirmed or revoked) marks its messages due, which is not "an old configuration or program
version"; the two are counted apart, in one cheap count more, and only when any wait. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from archive.corrections import add_correction
from archive.ingest import ingest_batch
from archive.models import ClosedYear, Message, OutboxMail
from archive.state import record_poll
from bot.daemon.status import behind_line, describe_status, gather_status, serving
from bot.demo.season.mail import compose
from parsers.derive import Incoming

SHANGHAI = ZoneInfo("Asia/Shanghai")
OLD = "旧的配置或程序版本"
RUN = "请运行 mailroom rederive（mailroom serve 启动时也会在后台重新识别）"


def digest_mail(cause: str, state: str, at: datetime) -> OutboxMail:
    """A digest's outbox row in `state`, stored at `at` (its bytes left out)."""
    return OutboxMail(
        cause=cause,
        kind="digest",
        recipients="a@b.cn",
        subject="-",
        message_id=f"<{cause}@y>",
        raw=b"-",
        state=state,
        attempts=1,
        created_at=at,
        next_attempt_at=at,
    )


def _waiting_line(config, deps) -> tuple[dict, list[str]]:
    data = gather_status(config, deps)
    return data, [line for line in describe_status(data) if "重新识别" in line and line.startswith("有 ")]


@pytest.fixture
def two_messages(config, deps) -> list[int]:
    """Two messages from 枣强县, derived with today's stamp."""
    box = config.mailboxes[0].key
    mail = [
        compose(
            "zqxcl@163.com", "hsclbgs666@163.com", f"枣强县残疾人工作信息（{n}）", datetime(2020, 4, n, tzinfo=SHANGHAI)
        )
        for n in (8, 9)
    ]
    outcomes = ingest_batch(
        deps.db, deps.store, deps.recognizer, [Incoming(message.as_bytes(), box, "import") for message in mail]
    )
    return [outcome.id for outcome in outcomes]


def test_a_staff_decision_waiting_is_not_said_to_be_an_old_configuration(config, deps, two_messages):
    """GIVEN nothing due THEN status says nothing of it WHEN a correction is recorded and its message not yet
    derived again (the command killed before it did) THEN status says one waits for staff's decision, not for an
    old configuration or version WHEN another message was derived under an old stamp THEN both, counted apart."""
    corrected, other = two_messages
    data, lines = _waiting_line(config, deps)
    assert (data["rederive_due"], data["rederive_due_decided"], lines) == (0, 0, [])

    with deps.db.session() as session:
        add_correction(session, corrected, "误发的草稿", "孙倩", counted=False)
        session.commit()
    data, lines = _waiting_line(config, deps)
    assert (data["rederive_due"], data["rederive_due_decided"]) == (1, 1)
    assert lines == [f"有 1 封邮件的识别结果尚未按工作人员的决定（更正、发件人确认或其撤销）更新：{RUN}"]

    with deps.db.session() as session:
        session.execute(update(Message).where(Message.id == other).values(derived_with="0123456789abcdef"))
        session.commit()
    data, lines = _waiting_line(config, deps)
    assert (data["rederive_due"], data["rederive_due_decided"]) == (2, 1)
    assert lines == [f"有 2 封邮件的识别结果尚待更新（1 封尚未按工作人员的决定更新，1 封来自{OLD}）：{RUN}"]


def test_the_line_names_each_cause_it_counted_and_every_cause_when_not_counted():
    """Only an old stamp: the old words, which are true then; `init` and `serve`, which count no causes, name
    every one."""
    assert behind_line(3, "做", 0) == f"有 3 封邮件的识别结果来自{OLD}：做"
    assert behind_line(3, "做") == "有 3 封邮件等待重新识别（配置、程序版本或工作人员的决定有变化）：做"


def test_a_mailbox_no_worker_works_is_not_shown_as_watched(config, deps):
    """GIVEN a running daemon (its presence held) and a mailbox whose worker recorded "IDLE, next look at …" WHEN
    no instance holds that mailbox now (its instance was killed; a stand-by one takes over within poll_minutes)
    THEN status shows it unwatched, without the dead worker's next look; while a worker holds it, as recorded. A
    worker waiting to poll or to retry lets the mailbox go between looks: it is shown as recorded until its next
    look is a minute overdue."""
    box = config.mailboxes[0]
    now = deps.clock()

    def shown() -> tuple[str | None, str | None]:
        [row] = [row for row in gather_status(config, deps)["mailboxes"] if row["mailbox"] == box.key]
        return row["watch"], row["next_poll"]

    def local(instant: datetime) -> str:
        return instant.astimezone(config.timezone).isoformat(timespec="seconds")

    record_poll(deps.db, box.key, box.folder, watch="idle", next_poll_at=now + timedelta(minutes=20))
    with serving(deps):
        assert shown() == (None, None)
        assert f"{box.key}（{box.name}）：未由守护进程监视；" in "\n".join(describe_status(gather_status(config, deps)))
        with deps.hold(f"mailbox-{box.key}"):
            assert shown() == ("idle", local(now + timedelta(minutes=20)))
        record_poll(deps.db, box.key, box.folder, watch="retry", next_poll_at=now + timedelta(seconds=30))
        assert shown() == ("retry", local(now + timedelta(seconds=30)))
        record_poll(deps.db, box.key, box.folder, watch="poll", next_poll_at=now - timedelta(minutes=2))
        assert shown() == (None, None)


def test_status_says_a_month_whose_digest_and_reminders_never_ran_and_how_to_do_them(config, deps):
    """GIVEN the daemon ran April's and June's jobs but was down through May WHEN status is asked in early July
    THEN it says May's digest and reminders never ran (nothing will do them by itself any more) and the command
    that does each by hand, where it said only when each runs next; months before the jobs first ran are not
    listed (an archive filled by a backfill)."""
    from dataclasses import replace

    from archive.models import JobRun

    with deps.db.session() as session:
        for job in ("reminders", "digest"):
            for month in ("2020-04", "2020-06"):
                session.add(JobRun(job=job, period=month, done_at=datetime(2020, 6, 21, tzinfo=SHANGHAI), summary="-"))
        session.commit()
    data = gather_status(config, replace(deps, clock=lambda: datetime(2020, 7, 2, 10, tzinfo=SHANGHAI)))
    assert [job["missed"] for job in data["jobs"]] == [["2020-05"], ["2020-05"]]
    lines = describe_status(data)
    assert "月度排名通报：2020-05 的未执行，可用 mailroom digest --month 月份 --send 补发" in lines
    assert any(line.startswith("催报提醒：2020-05 的未执行") and "--after-deadline" in line for line in lines)
    # a digest in the outbox was sent (by a version that recorded no run); a closed year's months are done with
    later = replace(deps, clock=lambda: datetime(2020, 7, 2, 10, tzinfo=SHANGHAI))
    with deps.db.session() as session:
        at = datetime(2020, 5, 21, tzinfo=SHANGHAI)
        session.add(digest_mail("digest:2020-05", "sent", at))
        session.commit()
    assert [job["missed"] for job in gather_status(config, later)["jobs"]] == [["2020-05"], []]
    with deps.db.session() as session:
        closed = datetime(2020, 7, 1, tzinfo=SHANGHAI)
        session.add(ClosedYear(year=2020, closed_at=closed, closed_by="孙倩", plan_hash="-", derived_with="-"))
        session.commit()
    assert [job["missed"] for job in gather_status(config, later)["jobs"]] == [[], []]


def test_status_says_a_closed_years_final_ranking_never_sent(config, deps):
    """GIVEN 2020 closed by a version that did not queue the year's final ranking (an upgrade) WHEN status is asked
    THEN it says so and how to send it (only `year list` did); once queued, nothing."""
    from archive.outbox import final_digest_cause

    with deps.db.session() as session:
        closed = datetime(2021, 1, 25, tzinfo=SHANGHAI)
        session.add(ClosedYear(year=2020, closed_at=closed, closed_by="孙倩", plan_hash="-", derived_with="-"))
        session.commit()
    data = gather_status(config, deps)
    assert data["final_never_sent"] == [2020]
    said = (
        "2020 年度已结账；年度最终排名通报未发出（结账时的版本不发此通报）："
        "可用 mailroom digest --year 2020 --send 发出"
    )
    assert said in describe_status(data)
    with deps.db.session() as session:
        session.add(digest_mail(final_digest_cause(2020), "pending", closed))
        session.commit()
    assert gather_status(config, deps)["final_never_sent"] == []


@pytest.mark.parametrize(
    ("state", "said"),
    [
        ("pending", "（该月通报在发送队列中等待发出）"),
        ("sent", "（该月通报已发出）"),
        ("failed", "（该月通报被对方服务器拒收，见 mailroom queue（待处理））"),
    ],
)
def test_the_digest_jobs_line_says_where_its_mail_stands_now(config, deps, state, said):
    """GIVEN the digest job ran for June ("已排队", as the run left it) WHEN its mail is waiting, was sent or was
    refused since THEN status's line of the job says so after the run's own words: "已排队" alone read as done
    while the mail had not gone, or had been refused. The reminders' line says nothing of a mail."""
    from dataclasses import replace

    from archive.models import JobRun

    at = datetime(2020, 6, 21, 9, tzinfo=SHANGHAI)
    with deps.db.session() as session:
        for job in ("reminders", "digest"):
            session.add(JobRun(job=job, period="2020-06", done_at=at, summary="已排队"))
        session.add(digest_mail("digest:2020-06", state, at))
        session.commit()
    later = replace(deps, clock=lambda: datetime(2020, 6, 25, tzinfo=SHANGHAI))
    lines = describe_status(gather_status(config, later))
    [digest] = [line for line in lines if line.startswith("月度排名通报：")]
    [reminders] = [line for line in lines if line.startswith("催报提醒：")]
    assert digest.endswith(f"：已排队{said}")
    assert reminders.endswith("：已排队")
    # sent once more on staff's asking (`digest --send --again`): the line says the newest mail's state
    with deps.db.session() as session:
        session.add(digest_mail("digest:2020-06#2", "pending", at))
        session.commit()
    [digest] = [line for line in describe_status(gather_status(config, later)) if line.startswith("月度排名通报：")]
    assert digest.endswith("（该月通报在发送队列中等待发出）")
