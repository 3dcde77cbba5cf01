"""The year's final ranking (年度最终排名), a digest sent once more, and a digest refused for good sent again.

- Closing a year owes the year's final ranking: it is queued in the closing's own commit and the outbox sends it,
  once; a closing that cannot queue it keeps nothing, and a closing killed at any instant leaves both or neither.
  It says in its subject, text, HTML and attachment that it is the year's final figures, never provisional.
- A month's digest already in the outbox (sent or waiting, as an earlier version left it, with no run recorded)
  is recorded as done by the schedule, which says so, and is neither made nor queued again.
- A digest refused for good by a real SMTP server (5xx) holds `year close` back, which says how to send it again;
  `mailroom digest --send` (`--year` for the final ranking) composes it anew under today's staff list and sends it.
"""

from __future__ import annotations

import dataclasses
import email
import io
import logging
import os
import re
import signal
import subprocess
import sys
from datetime import datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from archive.db import Database
from archive.evidence import load_evidence
from archive.ingest import Incoming, ingest_batch
from archive.models import ClosedYear, JobRun, OutboxMail
from archive.outbox import digest_cause, final_digest_cause, mark_sent, queue_mail
from bot.cli.group import main
from bot.config import Config, load_config
from bot.daemon.scheduled import due_jobs
from bot.daemon.serve import run_due_jobs
from bot.demo.season import PLANS, SHANGHAI, month_figures
from bot.outgoing.digest import PROVISIONAL, PROVISIONAL_LAST
from bot.outgoing.digest_mail import ALREADY, close_year_with_final_digest, prepare_digest, queue_digest
from bot.outgoing.outbox import flush_outbox, transport_for
from bot.services.scores import shown_standings
from parsers.errors import ConfigError
from tests.conftest import ROOT
from tests.smtp_server import Delivering, smtp_answering
from tests.test_closed_year import package
from tests.test_digest import check_attachment_headers

DECEMBER_21 = datetime(2020, 12, 21, 9, 30, tzinfo=SHANGHAI)  # the daemon's December digest: provisional
JANUARY = datetime(2021, 1, 5, 10, tzinfo=SHANGHAI)
FINAL_NOTE = "本通报为 2020 年度最终排名：该年已结账，全年各项均已计分，以下得分和名次为全年最终结果，不再变动。"
FINAL_SUBJECT = "2020年度残疾人服务工程督导最终排名（已结账，全年最终结果）"


def december_mail(config: Config) -> list[Incoming]:
    """景县's and 阜城县's December packages, on time."""
    keys = {box.address: box.key for box in config.mailboxes}
    mails = [
        mail
        for unit in ("景县", "阜城县")
        for mail in package(unit, 12, 2020, month_figures(next(p for p in PLANS if p.name == unit), 12), (1, 2, 3))
    ]
    return [Incoming(raw=mail.raw, mailbox=keys[mail.mailbox_address], source="import") for mail in mails]


def at(deps, now: datetime):
    return dataclasses.replace(deps, clock=lambda: now)


def flush(config: Config, deps, now: datetime):
    return flush_outbox(deps.db, config.outgoing, transport_for(config.outgoing), now)


def mailed(path: Path) -> tuple[EmailMessage, str, str, str]:
    """A mail written by the folder transport: the message, its text, its HTML, its attachment's name."""
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    [attachment] = list(message.iter_attachments())
    text = message.get_body(("plain",)).get_content()
    return message, text, message.get_body(("html",)).get_content(), attachment.get_filename()


def ranking(text: str) -> list[str]:
    return [line.split(" 分")[0] for line in text.splitlines() if re.match(r"\d+\. ", line)]


# ---------------------------------------------------------------------------------------------
# The year's final ranking


def test_closing_the_year_queues_its_final_ranking_in_the_same_commit_and_it_goes_out_once(config, deps, tmp_path):
    """GIVEN December's digest sent by the daemon on the 21st (provisional: the month not yet ended) WHEN 2020 is
    closed in January THEN the year's final ranking is in the outbox as the closing commits, is sent once however
    often the outbox is sent, and says it is the year's final figures (subject, text, HTML, workbook's name), with
    the kept December standings and no provisional note; its workbook, as the monthly digest's, is named in
    Chinese as RFC 2231 has it."""
    ingest_batch(deps.db, deps.store, deps.recognizer, december_mail(config))
    run_due_jobs(config, at(deps, DECEMBER_21))
    assert flush(config, deps, DECEMBER_21).sent == 1
    [monthly] = (tmp_path / "outbox").glob("*-digest.eml")
    _, provisional, _, monthly_name = mailed(monthly)
    # no next month's digest in the year: it says the final ranking comes once the year is closed
    assert PROVISIONAL_LAST in provisional and provisional.splitlines()[0] == "2020年12月残疾人服务工程督导情况通报"

    with deps.db.session() as session:
        closed = close_year_with_final_digest(config, session, 2020, deps.recognizer.stamp, "孙倩", JANUARY)
    assert closed.year == 2020
    with deps.db.session() as session:
        [owed] = session.scalars(select(OutboxMail).where(OutboxMail.kind == "final_digest")).all()
        kept, _ = shown_standings(config, session, load_evidence(session), "2020-12")
    assert (owed.cause, owed.state, owed.recipients) == (final_digest_cause(2020), "pending", "hsscljjb@163.com")
    assert [flush(config, deps, JANUARY).sent for _ in range(3)] == [1, 0, 0]

    [final] = (tmp_path / "outbox").glob("*-final_digest.eml")
    message, text, html, workbook = mailed(final)
    assert message["Subject"].startswith(FINAL_SUBJECT) and message["To"] == "hsscljjb@163.com"
    assert text.splitlines()[0] == "2020年度残疾人服务工程督导最终排名" and FINAL_NOTE in text
    assert PROVISIONAL_LAST not in text and PROVISIONAL not in text and "目前未达标（本月尚未结束）" not in text
    assert "累计得分截至 2020年12月31日 23:59" in text and "由 孙倩 结账，以下为结账时保存的结果。" in text
    # the plan's and the derivation's fingerprints are an auditor's, not the director's (wording reviewer)
    assert "（计划 " not in text and "识别 " not in text and "mailroom explain" not in text
    assert ranking(text) == [f"{row.rank}. {row.unit} {row.total}" for row in kept.rows]
    assert '<p id="final"' in html and FINAL_NOTE in html and ">2020年度残疾人服务工程督导最终排名</h1>" in html
    assert workbook == "2020年度督导最终排名.xlsx"
    # both named as RFC 2231 has it (filename*= on Content-Disposition), read back in Chinese
    assert monthly_name == "2020年12月督导排名.xlsx"
    check_attachment_headers(final.read_bytes(), workbook)
    check_attachment_headers(monthly.read_bytes(), monthly_name)
    [attached] = list(message.iter_attachments())
    book = openpyxl.load_workbook(io.BytesIO(attached.get_content()))
    assert book.properties.title == "2020年度残疾人服务工程督导最终排名"
    assert str(book["排名"]["A1"].value).startswith("2020年度残疾人服务工程督导累计得分排名（全年最终结果，截至")


def test_a_closing_that_cannot_queue_its_final_ranking_keeps_nothing(config, deps):
    """GIVEN December's digest sent WHEN 2020 is closed with no staff list to mail the final ranking to THEN the
    closing is refused, saying why, and neither the year's figures nor any mail is kept: closing and what it owes
    commit together or not at all."""
    run_due_jobs(config, at(deps, DECEMBER_21))
    flush(config, deps, DECEMBER_21)
    without_staff = dataclasses.replace(config, outgoing=dataclasses.replace(config.outgoing, staff=()))
    with deps.db.session() as session, pytest.raises(ConfigError, match="smtp.staff 为空"):
        close_year_with_final_digest(without_staff, session, 2020, deps.recognizer.stamp, "孙倩", JANUARY)
    with deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(ClosedYear)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.kind != "digest")) == 0


def folder_config(tmp_path: Path, staff: str = "hsscljjb@163.com", smtp_port: int | None = None) -> Path:
    """The example config; its mail written into tmp_path/outbox, or, with `smtp_port`, sent by SMTP to that
    port on loopback (no login); the digests to `staff`."""
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = text.replace('staff = ["hsscljjb@163.com"]', f'staff = ["{staff}"]')
    if smtp_port is None:
        text = text.replace('transport = "smtp"', 'transport = "folder"')
        text = text.replace('folder = "var/outbox"', f'folder = "{tmp_path / "outbox"}"')
    else:  # the first of each is [smtp]'s: the mailboxes come after it
        for old, new in (
            ('host = "smtp.163.com"', 'host = "127.0.0.1"'),
            ("port = 465", f"port = {smtp_port}"),
            ('security = "tls"', 'security = "plain"'),
            ('username = "hsscljjb@163.com"', 'username = ""'),
        ):
            text = text.replace(old, new, 1)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_closing_killed_at_any_instant_leaves_both_or_neither(tmp_path, database_url):
    """GIVEN December's digest sent WHEN `mailroom year close 2020` is killed (SIGKILL) at later and later
    instants, 40 ms apart, until one closes the year THEN after each kill the year is closed with its final
    ranking in the outbox, or neither; once closed, the final ranking goes out once."""
    path = folder_config(tmp_path)
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}
    sent = CliRunner().invoke(main, ["--config", str(path), "digest", "--month", "2020-12", "--send"], env=env)
    assert sent.exit_code == 0, sent.output
    db = Database(database_url)

    def kept() -> tuple[int, int]:
        with db.session() as session:
            years = session.scalar(select(func.count()).select_from(ClosedYear))
            finals = session.scalar(
                select(func.count()).select_from(OutboxMail).where(OutboxMail.kind == "final_digest")
            )
        return years, finals

    try:
        command = [sys.executable, "-m", "bot", "--config", str(path), "year", "close", "2020", "--by", "孙倩"]
        # every 40 ms from the start (the interpreter's own start-up) until a run closes the year: kills land in
        # the closing's transaction, and the run that closes it may be killed after its commit, sending the outbox
        for delay in [0.3 + 0.04 * step for step in range(80)] + [120.0]:
            process = subprocess.Popen(
                command, env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                process.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
            assert kept() in ((0, 0), (1, 1)), delay
            if kept() == (1, 1):
                break
        assert kept() == (1, 1)
        listed = CliRunner().invoke(main, ["--config", str(path), "year", "list"], env=env)
        assert "由 孙倩 结账" in listed.output
        outgoing = load_config(path, environ=env).outgoing
        for _ in range(2):
            flush_outbox(db, outgoing, transport_for(outgoing), datetime.now(SHANGHAI))
        with db.session() as session:
            states = session.scalars(select(OutboxMail.state).where(OutboxMail.kind == "final_digest")).all()
        assert states == ["sent"] and len(list((tmp_path / "outbox").glob("*-final_digest.eml"))) == 1
    finally:
        db.dispose()


# ---------------------------------------------------------------------------------------------
# A digest an earlier version sent


def old_digest(month: str) -> EmailMessage:
    """A digest mail as an earlier version composed it."""
    message = EmailMessage()
    message["Subject"], message["To"], message["Message-ID"] = f"{month} 旧版月报", "hsscljjb@163.com", f"<{month}@old>"
    message.set_content("旧版本生成的月报")
    return message


def test_a_digest_already_in_the_outbox_is_recorded_as_done_and_never_made_again(config, deps, caplog):
    """GIVEN April's digest sent, and May's waiting, by an earlier version that recorded no run for them WHEN each
    month's digest job falls due THEN its run is recorded, the log says it was already in the outbox (not
    "queued"), the mail stays as it was, and the job is not due again; `digest --send`'s path records it too."""
    with deps.db.session() as session:
        for month in ("2020-04", "2020-05"):
            queue_mail(
                session, digest_cause(month), "digest", old_digest(month), datetime(2020, 4, 21, tzinfo=SHANGHAI)
            )
        session.commit()
        mark_sent(
            session, session.scalars(select(OutboxMail).where(OutboxMail.cause == "digest:2020-04")).one(), DECEMBER_21
        )

    for month, state in (("2020-04", "已发出"), ("2020-05", "待发")):
        now = datetime(2020, int(month[-2:]), 21, 9, 30, tzinfo=SHANGHAI)
        with deps.db.session() as session:
            assert [job.job for job, _ in due_jobs(config, session, now)] == ["digest"]
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="bot.daemon.serve"):
            run_due_jobs(config, at(deps, now))
            run_due_jobs(config, at(deps, now))  # once recorded, not due again
        said = [record.getMessage() for record in caplog.records if "的排名通报" in record.getMessage()]
        assert said == [f"{month} 的排名通报：已在发件队列中（{state}）：不再重复生成，记为已完成"]
        with deps.db.session() as session:
            assert due_jobs(config, session, now) == []
            assert session.get(JobRun, ("digest", month)) is not None

    with deps.db.session() as session:
        mails = session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
        assert [(mail.cause, mail.subject) for mail in mails] == [
            ("digest:2020-04", "2020-04 旧版月报"),
            ("digest:2020-05", "2020-05 旧版月报"),
        ]
        session.delete(session.get(JobRun, ("digest", "2020-05")))
        session.commit()
        june = datetime(2020, 6, 1, tzinfo=SHANGHAI)
        assert queue_digest(session, prepare_digest(config, session, "2020-05", june), june) == ALREADY
        assert session.get(JobRun, ("digest", "2020-05")) is not None
        assert session.scalar(select(func.count()).select_from(OutboxMail)) == 2


# ---------------------------------------------------------------------------------------------
# A digest refused for good, sent again


class Refusing(Delivering):
    """A real SMTP server that answers 550 to the addresses in `refused`, and accepts the rest."""

    def __init__(self) -> None:
        super().__init__(lambda recipient, raw: None)
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refused:
            return "550 5.1.1 用户不存在 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing():
    with smtp_answering(Refusing()) as server:
        yield server


def test_a_digest_refused_for_good_is_sent_again_and_year_close_says_how(tmp_path, database_url, refusing):
    """GIVEN a staff address the SMTP server refuses for good (550) WHEN December's digest is sent THEN it fails,
    and `year close`, `status` say to correct [smtp] staff and send it again with `digest --month 2020-12 --send`;
    once the address is corrected that command composes it anew and it goes to the new address (one mail of the
    month still); the year then closes. GIVEN the staff mailbox refused at the closing THEN the final ranking
    fails, `year list` says how to send it again, and `digest --year 2020 --send` does."""
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}
    handler: Refusing = refusing.handler  # type: ignore[assignment]
    handler.refused = {"wrong@example.com"}

    def run(*args: str, staff: str = "staff@example.com") -> Result:
        path = folder_config(tmp_path, staff, refusing.port)
        return CliRunner().invoke(main, ["--config", str(path), *args], env=env)

    again = "mailroom digest --month 2020-12 --send 重新发送"
    refused = run("digest", "--month", "2020-12", "--send", staff="wrong@example.com")
    assert refused.exit_code == 1 and "被对方服务器拒收、不再重试" in refused.output and again in refused.output
    blocked = run("year", "close", "2020", "--by", "孙倩")
    assert blocked.exit_code == 1, blocked.output
    assert "2020 年的最后一期月度排名通报（2020-12）被对方服务器拒收，尚未发出，不能结账" in blocked.output
    assert "请核对配置 [smtp] staff 中的地址" in blocked.output and again in blocked.output
    status = run("status").output
    assert any("月度排名通报" in line and again in line for line in status.splitlines()), status

    resent = run("digest", "--month", "2020-12", "--send")
    assert resent.exit_code == 0, resent.output
    assert (
        "2020-12 的月度排名通报此前被对方服务器拒收，已按现在的配置重新生成" in resent.output
        and "2020-12 的月度排名通报已发出（收件人 staff@example.com）" in resent.output
    )
    [(_, recipients, raw)] = handler.accepted
    assert recipients == ["staff@example.com"] and b"staff@example.com" in raw
    assert "不重复发送" in run("digest", "--month", "2020-12", "--send").output

    handler.refused = {"staff@example.com"}  # the staff mailbox gone at the closing
    closed = run("year", "close", "2020", "--by", "孙倩")
    assert closed.exit_code == 1 and "2020 年已结账" in closed.output, closed.output  # closed, its mail refused
    assert "年度最终排名通报" in closed.output and "mailroom digest --year 2020 --send 重新发送" in closed.output
    listed = run("year", "list").output
    assert "年度最终排名通报被对方服务器拒收：请核对配置 [smtp] staff 后用 mailroom digest --year 2020 --send" in listed

    handler.refused = set()
    final = run("digest", "--year", "2020", "--send")
    assert final.exit_code == 0 and "2020 年度最终排名通报此前被对方服务器拒收" in final.output, final.output
    assert len(handler.accepted) == 2
    message = email.message_from_bytes(handler.accepted[-1][2], policy=policy.default)
    assert message["Subject"].startswith(FINAL_SUBJECT)
    assert "年度最终排名通报已发出" in run("year", "list").output
    assert "不重复发送" in run("digest", "--year", "2020", "--send").output

    db = Database(database_url)
    try:
        with db.session() as session:
            mails = session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
        assert [(mail.cause, mail.state, mail.recipients) for mail in mails] == [
            ("digest:2020-12", "sent", "staff@example.com"),
            ("final-digest:2020", "sent", "staff@example.com"),
        ]
    finally:
        db.dispose()


def test_digest_send_reports_and_exits_by_its_own_mail_not_another_that_failed_with_it(
    tmp_path, database_url, refusing
):
    """GIVEN a receipt waiting in the outbox for an address the SMTP server refuses WHEN `digest --send` sends the
    outbox THEN it says the digest was sent and, apart, that another mail was not, and exits 0 (it named the
    receipt's refusal as if it were the digest's, and exited 1); GIVEN the staff address refused THEN it names the
    digest's own refusal and exits 1."""
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}
    handler: Refusing = refusing.handler  # type: ignore[assignment]
    handler.refused = {"gone@example.com"}
    path = folder_config(tmp_path, "staff@example.com", refusing.port)
    assert CliRunner().invoke(main, ["--config", str(path), "init"], env=env).exit_code == 0
    receipt = EmailMessage()
    receipt["From"], receipt["To"], receipt["Subject"] = "hsscljjb@163.com", "gone@example.com", "回执"
    receipt.set_content("已收到")
    db = Database(database_url)
    try:
        with db.session() as session:
            queue_mail(session, "receipt:1", "receipt", receipt, DECEMBER_21)
            session.commit()
    finally:
        db.dispose()

    def send(month: str) -> Result:
        return CliRunner().invoke(main, ["--config", str(path), "digest", "--month", month, "--send"], env=env)

    sent = send("2020-11")
    assert (sent.exit_code, sent.output) == (
        0,
        "2020-11 的月度排名通报已发出（收件人 staff@example.com）；另有 1 封其他邮件未发出：#1 回执 gone@example.com："
        "收件地址被对方服务器拒绝（550 5.1.1 用户不存在 mailbox unavailable）：请核对该单位的报送邮箱\n",
    )
    handler.refused = {"staff@example.com"}
    refused = send("2020-12")
    assert refused.exit_code == 1
    assert refused.output.startswith(
        "2020-12 的月度排名通报被对方服务器拒收、不再重试：staff@example.com：收件地址被对方"
    )
    assert "mailroom digest --month 2020-12 --send 重新发送" in refused.output and "其他邮件" not in refused.output


def test_the_digest_command_asks_for_a_month_or_a_closed_year(tmp_path, database_url):
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}
    path = folder_config(tmp_path)

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["--config", str(path), "digest", *args, "--out", str(tmp_path / "x")], env=env)

    assert run().exit_code == 2 and run("--month", "2020-12", "--year", "2020").exit_code == 2
    open_year = run("--year", "2020")
    assert (
        open_year.exit_code == 1
        and "2020 年尚未结账：年度最终排名在结账时生成（mailroom year close 2020）" in open_year.output
    )
    assert run("--year", "2019").exit_code == 2
