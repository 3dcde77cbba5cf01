"""A raw message the database names but the archive folder no longer holds: re-derivation (serve's, in the
background, after DERIVATION_VERSION changed) records the problem for that message, keeps what it had, and
derives the rest; it never tries the same batch for ever; the message stays in 待处理 as failed, and its year
cannot be closed until the file is restored and derived again; a staff decision on it waits for the file. On SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update

from archive.corrections import add_correction
from archive.ingest import Incoming, ingest_batch
from archive.models import Message, OwedReply
from archive.queue import attention
from archive.rederive import behind, due, rederive, waiting_for_file
from archive.store import ArchiveUnreadable
from bot.cli.group import main
from bot.daemon.serve import rederive_behind
from bot.demo.season.mail import compose
from bot.services.years import close_plan_year
from parsers.errors import MailroomError
from replies.attention import attention_reasons
from tests.conftest import ROOT
from tests.test_corrections_integrity import _last_digest_sent

ARRIVAL = datetime(2020, 5, 12, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
OLDER = "an older version"
AFTER_2020 = datetime(2021, 2, 1, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def archived(deps) -> list[Message]:
    """Three messages of 景县 (a question each: in 待处理 already), derived under an older version."""
    items = [
        Incoming(
            raw=compose(
                "jxcl2020@163.com", "hsclbgs666@163.com", f"景县问题 {n}", ARRIVAL, body=f"请问第{n}个问题"
            ).as_bytes(),
            mailbox="bgs",
            source="imap",
        )
        for n in (1, 2, 3)
    ]
    ingest_batch(deps.db, deps.store, deps.recognizer, items)
    with deps.db.session() as session:
        session.execute(update(Message).values(derived_with=OLDER))
        session.commit()
        return list(session.scalars(select(Message).order_by(Message.id)))


def rows(deps) -> list[Message]:
    with deps.db.session() as session:
        return list(session.scalars(select(Message).order_by(Message.id)))


def test_serve_records_a_missing_raw_file_skips_it_and_derives_the_rest(config, deps, archived, caplog):
    """GIVEN three messages due for re-derivation, the second one's .eml gone from the archive folder WHEN
    serve's background re-derivation runs THEN it ends (it does not retry the batch for ever): the others are
    derived, the second keeps its recognition with a problem naming the file, listed in 待处理 and logged in
    Chinese; nothing is left due WHEN it runs again THEN the problem is not said twice WHEN the file is back and
    `rederive --all` runs THEN the message is derived again and the problem is gone."""
    lost = archived[1]
    path = deps.store.message_path(lost.sha256)
    saved = path.read_bytes()
    path.unlink()
    caplog.set_level(logging.ERROR)
    worker = threading.Thread(target=rederive_behind, args=(config, deps), daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():
        deps.stop.set()
        worker.join(30)
        pytest.fail("re-derivation kept retrying the batch with the missing file")

    stamp = deps.recognizer.stamp
    first, missing, third = rows(deps)
    assert first.derived_with == stamp and third.derived_with == stamp
    assert (missing.unit, missing.kind) == (lost.unit, lost.kind)  # what it had stands
    said = [problem for problem in missing.problems if str(path) in problem]
    assert len(said) == 1 and "归档中缺少文件" in said[0] and "mailroom rederive --all" in said[0]
    assert "failed" in missing.attention.split() and "question" in missing.attention.split()
    with deps.db.session() as session:
        assert behind(session, stamp) == 0
        assert f"{missing.id}-failed" in {item.handle for item in attention(session, findings=lambda s: [])}
    assert any(
        str(path) in record.getMessage() and "归档中缺少文件" in record.getMessage() for record in caplog.records
    )

    with deps.db.session() as session:  # a second run (say the version changed again): said once still
        session.execute(update(Message).values(derived_with=OLDER))
        session.commit()
        rederive(deps.intake, session, due(session, stamp, everything=False, ids=None))
    assert len([problem for problem in rows(deps)[1].problems if str(path) in problem]) == 1

    path.write_bytes(saved)
    with deps.db.session() as session:
        rederive(deps.intake, session, due(session, stamp, everything=True, ids=None))
    restored = rows(deps)[1]
    assert not any(str(path) in problem for problem in restored.problems)
    assert restored.attention == lost.attention


def test_a_raw_file_edited_since_it_was_archived_keeps_what_its_message_had(deps, archived):
    """GIVEN a package's .eml edited in the archive folder (its From line now another address) WHEN `rederive
    --all` runs THEN the message keeps what it was derived into, with the problem naming the file as changed
    (as `verify` finds it), and the others are derived: the edit never becomes what the unit sent; serve's watch
    passes over it until the file is restored."""
    edited = archived[0]
    path = deps.store.message_path(edited.sha256)
    saved = path.read_bytes()
    path.write_bytes(saved.replace(b"jxcl2020@163.com", b"someone@example.com"))
    with deps.db.session() as session:
        rederive(deps.intake, session, due(session, deps.recognizer.stamp, everything=True, ids=None))
    kept, *others = rows(deps)
    # serve's watch passes over it while the file differs (a decision marked due would retry it every minute)
    assert waiting_for_file(deps.store, kept)
    path.write_bytes(saved)
    assert not waiting_for_file(deps.store, kept)
    assert (kept.from_addr, kept.unit, kept.registered) == ("jxcl2020@163.com", "景县", edited.registered)
    said = [problem for problem in kept.problems if str(path) in problem]
    assert len(said) == 1 and "已被改动" in said[0] and "failed" in kept.attention.split()
    assert all(
        message.derived_with == deps.recognizer.stamp and "failed" not in message.attention for message in others
    )


def test_an_archive_folder_away_marks_no_message_and_stops_the_run(deps, archived):
    """GIVEN the archive folder gone as a whole (a disk not mounted) WHEN re-derived THEN the run stops, saying
    so, and no message is marked or stamped: they are derived when the folder is back."""
    root = deps.store.root
    away = root.with_name("archive-away")
    root.rename(away)
    try:
        with deps.db.session() as session, pytest.raises(ArchiveUnreadable, match="它已不存在或是空的"):
            rederive(deps.intake, session, [m.id for m in archived])
    finally:
        away.rename(root)
    assert [(m.derived_with, m.problems) for m in rows(deps)] == [(OLDER, m.problems) for m in archived]


def test_a_message_kept_for_a_missing_file_stays_failed_and_its_year_cannot_be_closed(config, deps, archived):
    """GIVEN the second message's .eml gone when re-derived (kept as it was, stamped: nothing due) THEN its
    attention, made again from what it was derived into, still says failed WHEN 2020 is closed THEN refused,
    naming the message and saying to restore the file, verify and `rederive --all` WHEN the file is back and
    `rederive --all` has run THEN the year closes."""
    lost = archived[1]
    path = deps.store.message_path(lost.sha256)
    saved = path.read_bytes()
    path.unlink()
    stamp = deps.recognizer.stamp
    with deps.db.session() as session:
        rederive(deps.intake, session, due(session, stamp, everything=False, ids=None))
        assert behind(session, stamp) == 0
        missing = session.get(Message, lost.id)
        assert "failed" in attention_reasons(missing) and "failed" in missing.attention.split()
    _last_digest_sent(deps)
    with deps.db.session() as session, pytest.raises(MailroomError) as refused:
        close_plan_year(config, session, 2020, stamp, "孙倩", AFTER_2020)
    said = str(refused.value)
    assert f"#{lost.id}" in said and "原件" in said and "备份恢复" in said
    assert "mailroom verify" in said and "mailroom rederive --all" in said
    assert f"#{archived[0].id}" not in said

    path.write_bytes(saved)
    with deps.db.session() as session:
        rederive(deps.intake, session, due(session, stamp, everything=True, ids=None))
    with deps.db.session() as session:
        close_plan_year(config, session, 2020, stamp, "孙倩", AFTER_2020)  # not refused
        session.rollback()


def test_a_decision_on_a_message_whose_file_is_missing_stays_due_and_is_told_once_it_is_back(deps, archived):
    """GIVEN the second message corrected to 景县's May package (its command dying before deriving it) and its
    .eml gone WHEN re-derived THEN it is kept as it was, with the problem, and stays due (the correction is not
    applied yet), tried once per run WHEN the file is back and `serve`'s pass runs THEN the correction is applied
    and its notice owed, with the staff's why."""
    lost = archived[1]
    path = deps.store.message_path(lost.sha256)
    saved = path.read_bytes()
    path.unlink()
    stamp = deps.recognizer.stamp
    with deps.db.session() as session:
        session.execute(update(Message).values(derived_with=stamp))
        add_correction(session, lost.id, "电话核实：5月报表", "孙倩", kind="report", month="2020-05")
        session.commit()
    with deps.db.session() as session:
        rederive(deps.intake, session, due(session, stamp, everything=False, ids=None))
        assert due(session, stamp, everything=False, ids=None) == [lost.id]
    kept = rows(deps)[1]
    assert kept.kind == lost.kind and kept.derived_with is None and "failed" in kept.attention.split()

    path.write_bytes(saved)
    with deps.db.session() as session:
        rederive(deps.intake, session, due(session, stamp, everything=False, ids=None))
        assert behind(session, stamp) == 0
        notes = session.scalars(
            select(OwedReply.note).where(OwedReply.message_id == lost.id, OwedReply.kind == "change")
        )
        assert list(notes) == ["电话核实：5月报表"]
    assert (rows(deps)[1].kind, rows(deps)[1].month) == ("report", "2020-05")


def test_rederive_says_which_messages_kept_what_they_had_and_exits_1(tmp_path, database_url):
    """GIVEN two archived messages, one's raw file gone WHEN `mailroom rederive --all` runs THEN its summary names
    the message kept as it was and what to do, and it exits 1 (it said only "检查 2 封邮件，识别结果已改变 0 封",
    exit 0, the message named in the log alone); `--json` lists it too. A correction of it waits on record, and
    `correct` says so and exits 1 too (it exited 0), and 待处理 still lists the message's failure."""
    (tmp_path / "mail").mkdir()
    for n in (1, 2):
        raw = compose("jxcl2020@163.com", "hsclbgs666@163.com", f"景县问题 {n}", ARRIVAL, body=f"第{n}个问题")
        (tmp_path / "mail" / f"{n}.eml").write_bytes(raw.as_bytes())
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["--config", str(ROOT / "config.example.toml"), *args], env=env)

    assert run("import", str(tmp_path / "mail")).exit_code == 0
    [first] = sorted((tmp_path / "archive" / "messages").rglob("*.eml"))[:1]
    first.unlink()
    done = run("rederive", "--all")
    lost = [line for line in done.output.splitlines() if "原始文件缺失" in line]
    assert done.exit_code == 1 and len(lost) == 1, done.output
    assert lost[0].startswith("1 封邮件的原始文件缺失或无法读取，保留了原有的识别结果：#")
    assert lost[0].endswith("（mailroom verify 列出缺失的文件；从备份恢复后运行 mailroom rederive --all）")
    listed = run("rederive", "--all", "--json")
    assert listed.exit_code == 1 and len(json.loads(listed.stdout)["messages_unreadable"]) == 1

    corrected = run(
        "correct", lost[0].split("#")[1].split("（")[0], "--month", "2020-06", "--reason", "核实", "--by", "孙倩"
    )
    assert corrected.exit_code == 1, corrected.output  # the correction waits on record: it exited 0
    assert "原始文件缺失" in corrected.output
    queued = json.loads(run("queue", "--json").stdout)  # the correction does not handle the missing file: it hid it
    assert [item["reason"] for item in queued if item["item"].endswith("-failed")] == ["failed"], queued
