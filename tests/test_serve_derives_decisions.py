"""A staff decision whose command stopped before deriving its messages (killed, a reader crashed) is derived by a
`serve` already running: its re-derivation worker looks each minute for the messages a decision marked due, and
derives those already waiting at the look before (a command deriving its own decision's messages just now is not
raced)."""

from __future__ import annotations

import threading
import time

from archive.corrections import add_correction
from archive.models import Message
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
