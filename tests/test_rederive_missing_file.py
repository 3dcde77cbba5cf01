"""A raw message the database names but the archive folder no longer holds: re-derivation (serve's, in the
background, after DERIVATION_VERSION changed) records the problem for that message, keeps what it had, and
derives the rest; it never tries the same batch for ever. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from archive.ingest import Incoming, ingest_batch
from archive.models import Message
from archive.queue import attention
from archive.rederive import behind, due, rederive
from archive.store import ArchiveUnreadable
from bot.daemon.serve import rederive_behind
from bot.demo.season.mail import compose

ARRIVAL = datetime(2020, 5, 12, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
OLDER = "an older version"


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
