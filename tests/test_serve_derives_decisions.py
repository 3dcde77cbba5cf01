"""A staff decision whose command stopped before deriving its messages (killed, a reader crashed) is derived by a
`serve` already running: its re-derivation worker looks each minute for the messages a decision marked due, and
derives those already waiting at the look before (a command deriving its own decision's messages just now is not
raced)."""

from __future__ import annotations

import logging
import threading
import time

from archive.corrections import add_correction
from archive.models import Message
from archive.rederive import unreadable_messages
from bot.daemon.serve import derive_decided
from tests.test_corrections_integrity import office  # noqa: F401 — the fixture, shared

__all__ = ["office"]


def _kind(deps, message_id: int) -> tuple[str, str | None]:
    with deps.db.session() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message.kind, message.derived_with


def test_a_running_serve_derives_a_correction_its_command_left_underived(office):  # noqa: F811
    """GIVEN serve's worker running WHEN a correction is recorded and its command stops before deriving it THEN
    the worker derives it at its second look (not the first: the command might be deriving it then), and the
    message is current again."""
    deps, report = office.deps, office.ids.report
    with deps.db.session() as session:
        add_correction(session, report, "误发的草稿", "孙倩", kind="other")
        session.commit()
    assert _kind(deps, report) == ("report", None)
    worker = threading.Thread(target=derive_decided, args=(deps, 0.3))
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while _kind(deps, report)[0] != "other" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        deps.stop.set()
        worker.join(10)
    kind, stamp = _kind(deps, report)
    assert (kind, stamp) == ("other", deps.recognizer.stamp)
    assert not worker.is_alive()


def test_a_decided_message_whose_file_is_missing_is_said_once_and_derived_once_the_file_is_back(
    office,  # noqa: F811
    caplog,
):
    """GIVEN a correction its command left underived, the message's raw file gone from the archive folder WHEN
    serve's worker looks again and again THEN it records the problem on the message (待处理 as failed, its year
    not to be closed, still due) and logs it once, not at every look WHEN the file is restored THEN the worker
    derives it at its next looks, the correction applied."""
    deps, report = office.deps, office.ids.report
    with deps.db.session() as session:
        message = session.get(Message, report)
        assert message is not None
        path = deps.store.message_path(message.sha256)
        add_correction(session, report, "误发的草稿", "孙倩", kind="other")
        session.commit()
    saved = path.read_bytes()
    path.unlink()
    caplog.set_level(logging.INFO)
    worker = threading.Thread(target=derive_decided, args=(deps, 0.05))
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not _said(caplog, path) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # some thirty looks more
        with deps.db.session() as session:
            assert [message.id for message in unreadable_messages(session)] == [report]
            assert "failed" in session.get(Message, report).attention.split()
        assert _kind(deps, report) == ("report", None)  # still due: the correction waits for the file
        assert len(_said(caplog, path)) == 1
        assert len([r for r in caplog.records if "工作人员的决定尚未生效" in r.getMessage()]) == 1

        path.write_bytes(saved)
        while _kind(deps, report)[0] != "other" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        deps.stop.set()
        worker.join(10)
    assert _kind(deps, report) == ("other", deps.recognizer.stamp)
    with deps.db.session() as session:
        assert unreadable_messages(session) == []
    assert not worker.is_alive()


def _said(caplog, path) -> list[logging.LogRecord]:
    return [record for record in caplog.records if str(path) in record.getMessage()]
