"""One mail delivered to several of our mailboxes (To one department, Cc another, or To all four) is one
message: each mailbox's copy, with trace headers of its own on top, is kept byte for byte and recorded as a
place the message was seen; it is derived once, counted once and answered once."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from archive.ingest import Incoming, ingest_batch
from archive.models import Message, OutboxMail, OwedReply, Sighting
from archive.rederive import rederive
from archive.verify import recorded_files, verify
from bot.cli.group import main
from bot.demo.season.files import docx_bytes
from bot.demo.season.mail import compose
from bot.outgoing.receipts import queue_owed_receipts
from parsers.copies import copy_key
from tests.conftest import ROOT, make_config

SHANGHAI = ZoneInfo("Asia/Shanghai")
ARRIVAL = datetime(2020, 5, 12, 9, 30, tzinfo=SHANGHAI)
MAILBOXES = {
    "jjb": "hsscljjb@163.com",
    "kfb": "hskf2006@126.com",
    "fwb": "hscljyb@126.com",
    "bgs": "hsclbgs666@163.com",
}


def sent_mail(*, body: str = "景县5月份进展情况报告，请查收。", message_id: bool = True) -> bytes:
    """What 景县's clerk sends once, To 教就部 and Cc the other three: the mail as it leaves the client."""
    message = compose(
        "jxcl2020@163.com",
        MAILBOXES["jjb"],
        "景县5月份报表",
        None,
        sent=ARRIVAL,
        cc=", ".join(MAILBOXES[key] for key in ("kfb", "fwb", "bgs")),
        body=body,
    )
    message.add_attachment(
        docx_bytes(["景县 5 月份目标任务进展情况报告", "康复服务完成 20 人。"], ARRIVAL),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="附件1.docx",
    )
    if not message_id:
        del message["Message-ID"]
    return message.as_bytes()


def delivered(raw: bytes, mailbox: str, *, crlf: bool = False) -> bytes:
    """The copy a mailbox's server stores: its own trace headers on top (as Postfix, Dovecot's LDA and 163's
    spam filter write them), CRLF line endings when it is handed out over IMAP."""
    trace = (
        f"Return-Path: <jxcl2020@163.com>\n"
        f"Delivered-To: {MAILBOXES[mailbox]}\n"
        f"Received: from smtp.163.com by mx.{mailbox}.example.cn with ESMTP id {mailbox.upper()}42;\n"
        f" Tue, 12 May 2020 09:30:{len(mailbox):02d} +0800\n"
        f"X-Spam-Score: 0.{len(mailbox)}\n"
    ).encode()
    copy = trace + raw.replace(b"\r\n", b"\n")
    return copy.replace(b"\n", b"\r\n") if crlf else copy


def test_copies_differ_in_trace_headers_and_line_endings_only_and_share_their_key():
    raw = sent_mail()
    keys = {copy_key(delivered(raw, "jjb")), copy_key(delivered(raw, "kfb", crlf=True)), copy_key(raw)}
    assert len(keys) == 1 and None not in keys
    assert delivered(raw, "jjb") != delivered(raw, "kfb")


@pytest.mark.parametrize(
    "change",
    [
        lambda raw: re.sub(rb"\nSubject: [^\n]*", "\nSubject: 景县6月份报表".encode(), raw),
        lambda raw: raw.replace(b"Date: ", b"Date: Wed, 13 May 2020 09:30:00 +0800\nX-Old-Date: ", 1),
        lambda raw: raw.replace(b"From: jxcl2020@163.com", b"From: someone@qq.com"),
        lambda raw: raw[:-40] + b"A" * 40,  # the attachment's bytes
    ],
    ids=["subject", "date", "from", "body"],
)
def test_mail_the_sender_wrote_differently_is_not_a_copy(change):
    raw = sent_mail()
    assert copy_key(change(raw)) != copy_key(raw)


def test_mail_without_a_message_id_has_no_copy_key():
    assert copy_key(sent_mail(message_id=False)) is None


@pytest.fixture
def config(tmp_path, database_url):
    made = make_config(tmp_path, database_url)
    return replace(made, outgoing=replace(made.outgoing, receipts_max_age_days=0))  # the mail is from 2020


def counts(deps) -> tuple[int, int, int]:
    with deps.db.session() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(table)) for table in (Message, Sighting, OwedReply)
        )


def test_four_mailboxes_copies_are_one_message_seen_four_times_and_answered_once(deps, config):
    """GIVEN one package mail sent To 教就部 and Cc the three other departments WHEN each mailbox's copy is
    polled, one after another THEN there is one message, seen in the four mailboxes, each copy's bytes kept
    and verified; one receipt is owed and one is composed."""
    raw = sent_mail()
    copies = {box: delivered(raw, box, crlf=box != "bgs") for box in MAILBOXES}
    outcomes = [
        ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw=copy, mailbox=box, source="imap", uid=7)])[0]
        for box, copy in copies.items()
    ]
    assert [outcome.new for outcome in outcomes] == [True, False, False, False]
    assert len({outcome.id for outcome in outcomes}) == 1
    assert counts(deps) == (1, 4, 1)
    with deps.db.session() as session:
        message = session.scalars(select(Message)).one()
        assert (message.unit, message.kind, message.month) == ("景县", "report", "2020-05")
        assert deps.store.read_message(message.sha256) == copies["jjb"]
        kept = {seen.mailbox: seen.sha256 for seen in message.sightings}
        assert kept["jjb"] is None  # the message's own bytes
        assert {box: deps.store.read_message(str(kept[box])) for box in ("kfb", "fwb", "bgs")} == {
            box: copies[box] for box in ("kfb", "fwb", "bgs")
        }
        report = verify(recorded_files(session, deps.store), deps.store)
        assert (report.checked, report.findings, report.unrecorded) == (5, [], [])  # 4 mails and 附件1
        assert queue_owed_receipts(config, session, ARRIVAL) == 1
        assert session.scalar(select(func.count()).select_from(OutboxMail)) == 1


def test_copies_in_one_batch_and_the_same_copy_again_are_one_message(deps):
    """GIVEN a Maildir backfill that holds two departments' copies of one mail, imported twice THEN one message,
    seen in each of the two files once."""
    raw = sent_mail()
    batch = [
        Incoming(raw=delivered(raw, "kfb"), mailbox="kfb", source="import", origin="kfb/cur/1"),
        Incoming(raw=delivered(raw, "fwb"), mailbox="fwb", source="import", origin="fwb/cur/9"),
    ]
    first = ingest_batch(deps.db, deps.store, deps.recognizer, batch)
    again = ingest_batch(deps.db, deps.store, deps.recognizer, batch)
    assert [o.new for o in first + again] == [True, False, False, False]
    assert counts(deps) == (1, 2, 1)


def test_two_mails_without_message_id_stay_two_messages(deps):
    raw = sent_mail(message_id=False)
    for box in ("jjb", "kfb"):
        ingest_batch(
            deps.db, deps.store, deps.recognizer, [Incoming(raw=delivered(raw, box), mailbox=box, source="imap")]
        )
    assert counts(deps)[:2] == (2, 2)


def test_rederive_gives_a_message_archived_before_copies_were_known_its_key(deps):
    """GIVEN a message stored before the copy key existed WHEN the archive is re-derived and another
    department's copy arrives THEN the copy is a sighting of it."""
    raw = sent_mail()
    ingest_batch(
        deps.db, deps.store, deps.recognizer, [Incoming(raw=delivered(raw, "jjb"), mailbox="jjb", source="imap")]
    )
    with deps.db.session() as session:
        session.execute(update(Message).values(copy_key=None))
        session.commit()
    with deps.db.session() as session:
        rederive(deps.intake, session, [1])
    ingest_batch(
        deps.db, deps.store, deps.recognizer, [Incoming(raw=delivered(raw, "kfb"), mailbox="kfb", source="imap")]
    )
    assert counts(deps) == (1, 2, 1)


def test_show_names_the_copy_and_where_its_bytes_are(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.example.toml").read_text("utf-8"), "utf-8")
    monkeypatch.setenv("MAILROOM_DATABASE_URL", f"sqlite:///{tmp_path}/mailroom.db")
    monkeypatch.setenv("MAILROOM_ARCHIVE_PATH", str(tmp_path / "archive"))
    raw = sent_mail()
    for box in ("jjb", "kfb"):
        (tmp_path / f"{box}.eml").write_bytes(delivered(raw, box))

    def run(*args: str):
        return CliRunner().invoke(main, ["--config", str(config), *args], prog_name="mailroom")

    assert run("import", str(tmp_path / "jjb.eml"), "--mailbox", "jjb").exit_code == 0
    assert run("import", str(tmp_path / "kfb.eml"), "--mailbox", "kfb").exit_code == 0
    seen = json.loads(run("show", "1", "--json").stdout)["seen"]
    assert [s["mailbox"] for s in seen] == ["jjb", "kfb"]
    assert seen[0]["copy_raw_path"] is None
    assert Path(seen[1]["copy_raw_path"]).read_bytes() == (tmp_path / "kfb.eml").read_bytes()
    text = run("show", "1").stdout
    assert f"kfb 导入 {tmp_path / 'kfb.eml'}（同一封邮件的副本，原样另存）" in text
    assert run("show", "2").exit_code == 1
