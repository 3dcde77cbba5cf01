"""The spool (archive/spool.py) apart from any mail server: what it keeps, and a damaged archive."""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from archive.ingest import Incoming
from archive.models import Message, Spooled
from archive.spool import derive_spooled, spool, spooled_counts
from archive.store import sha256_hex
from tests.test_owed import briefing


def test_a_spooled_message_whose_raw_file_is_gone_is_left_and_the_rest_go_on(deps, caplog):
    """GIVEN three briefings spooled for one mailbox and one for another WHEN one raw file is removed from
    the archive folder (restored apart from the database) and the first mailbox's spool is derived THEN the
    other two are stored, the missing one stays spooled with an error logged, and the other mailbox's
    spool is left to its own worker."""
    raws = [briefing(n) for n in range(4)]
    spool(deps.intake, [Incoming(raw=raw, mailbox="bgs", source="imap", uid=n) for n, raw in enumerate(raws[:3])])
    spool(deps.intake, [Incoming(raw=raws[3], mailbox="kfb", source="imap", uid=1)])
    deps.store.message_path(sha256_hex(raws[1])).unlink()
    with caplog.at_level(logging.ERROR, logger="archive.spool"):
        outcomes = list(derive_spooled(deps.intake, "bgs", batch=2))
    assert sorted(outcome.sha256 for outcome in outcomes) == sorted(sha256_hex(raws[n]) for n in (0, 2))
    assert sha256_hex(raws[1]) in caplog.text
    with deps.db.session() as session:
        assert spooled_counts(session) == {"bgs": 1, "kfb": 1}
        assert session.scalar(select(Spooled.sha256).where(Spooled.mailbox == "bgs")) == sha256_hex(raws[1])
        assert session.scalar(select(func.count()).select_from(Message)) == 2


def test_a_spooled_message_whose_raw_file_was_edited_is_left_spooled_not_derived_from_the_edit(deps, caplog):
    """GIVEN two briefings spooled WHEN one's raw file is edited in the archive folder before its first
    derivation THEN the other is stored, the edited one stays spooled with an error naming its file, and no
    message is made of the edited bytes; once the file is restored from a backup, it is derived."""
    raws = [briefing(n) for n in range(2)]
    spool(deps.intake, [Incoming(raw=raw, mailbox="bgs", source="imap", uid=n) for n, raw in enumerate(raws)])
    path = deps.store.message_path(sha256_hex(raws[1]))
    path.write_bytes(raws[1].replace(b"Subject:", b"Subject: edited"))
    with caplog.at_level(logging.ERROR, logger="archive.spool"):
        outcomes = list(derive_spooled(deps.intake, "bgs", batch=5))
    assert [outcome.sha256 for outcome in outcomes] == [sha256_hex(raws[0])]
    assert "已被改动" in caplog.text and str(path) in caplog.text
    with deps.db.session() as session:
        assert spooled_counts(session) == {"bgs": 1}
        assert session.scalars(select(Message.sha256)).all() == [sha256_hex(raws[0])]
    path.write_bytes(raws[1])
    assert [outcome.sha256 for outcome in derive_spooled(deps.intake, "bgs", batch=5)] == [sha256_hex(raws[1])]


def test_mail_spooled_for_a_mailbox_no_longer_configured_is_shown_and_derived(config, deps):
    """GIVEN mail spooled for a mailbox since removed from the configuration WHEN status is asked THEN it
    says so; WHEN orphans are derived (poll --once, serve's start) THEN the mail is stored and the spool
    empty."""
    from bot.daemon.poll import derive_orphans
    from bot.daemon.status import describe_status, gather_status

    spool(deps.intake, [Incoming(raw=briefing(n), mailbox="old-office", source="imap", uid=n) for n in range(2)])
    assert any(
        "old-office（已不在配置中）：已归档原件、待识别 2 封" in line
        for line in describe_status(gather_status(config, deps))
    )
    reports = derive_orphans(config, deps)
    assert [(report.mailbox, report.new, report.taken, report.error) for report in reports] == [
        ("old-office", 2, 0, None)
    ]
    with deps.db.session() as session:
        assert spooled_counts(session) == {}
        assert session.scalar(select(func.count()).select_from(Message)) == 2
    assert derive_orphans(config, deps) == []
