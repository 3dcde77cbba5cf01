"""A staff decision whose command died after recording it (the record alone committed, the message marked due)
is told to the unit by whoever derives the message then (`serve`'s background pass, `mailroom rederive`), as the
command would have told it, once: the why is read from the decision records themselves. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from archive.corrections import add_correction, revoke_correction
from archive.models import CorrectionRow, Message, OwedReply
from archive.staff_senders import add_sender, confirmed_because, remove_sender
from bot.daemon.serve import rederive_behind
from bot.services.decisions import derivation_owed
from tests import test_corrections_integrity
from tests.test_corrections_integrity import PERSONAL, Office, cli
from tests.webapp import sent_mail

office = test_corrections_integrity.office  # the fixture: three messages of April 2020

REASON = "电话核实：景县的报表"


def notices(office: Office) -> list[tuple[str, str | None]]:
    """(cause, why) of every 核实通知 owed for the clerk's personal package, composed or not."""
    with office.deps.db.session() as session:
        rows = session.scalars(
            select(OwedReply)
            .where(OwedReply.message_id == office.ids.personal, OwedReply.kind == "change")
            .order_by(OwedReply.id)
        )
        return [(row.cause, row.note) for row in rows]


def derive_later(office: Office, how: str) -> None:
    """What derives a message a dead command left due: `serve`'s pass at its start, or `mailroom rederive`."""
    if how == "serve":
        rederive_behind(office.config, office.deps)
    else:
        result = cli(office, "rederive")
        assert result.exit_code == 0, result.output


def told(office: Office) -> None:
    """The notices owed so far as handed to the mail server and sent (what the sender pass makes of them)."""
    now = datetime.now(UTC)
    with office.deps.db.session() as session:
        for row in session.scalars(select(OwedReply).where(OwedReply.kind == "change", OwedReply.queued_at.is_(None))):
            row.queued_at = now
            session.add(sent_mail(row.cause, "change", PERSONAL, "核实通知", now, about=row.message_id))
        session.commit()


@pytest.mark.parametrize("how", ["serve", "rederive"])
def test_a_correction_whose_command_died_is_told_once_by_whoever_derives_it(office, how):
    """GIVEN 景县's package from a clerk's own address (counting for nothing) WHEN staff correct it to count and
    the command dies right after recording it THEN, once `serve` or `rederive` derives it, one notice is owed
    with the staff's why WHEN derived again (`rederive --all`) THEN still one."""
    with office.deps.db.session() as session:
        add_correction(session, office.ids.personal, REASON, "孙倩", counted=True, plans=office.config.plans)
        session.commit()
    assert notices(office) == []
    derive_later(office, how)
    with office.deps.db.session() as session:
        assert session.get(Message, office.ids.personal).registered is True
    assert notices(office) == [(f"change:{office.ids.personal}", REASON)]
    assert cli(office, "rederive", "--all").exit_code == 0
    assert notices(office) == [(f"change:{office.ids.personal}", REASON)]


def test_a_correction_applied_by_its_own_command_is_owed_once(office):
    """GIVEN the correction made and applied by `mailroom correct` (one notice owed) WHEN `serve` starts and
    `rederive` runs THEN nothing more is owed."""
    personal = office.ids.personal
    result = cli(office, "correct", str(personal), "--counted", "--reason", REASON, "--by", "孙倩")
    assert result.exit_code == 0, result.output
    assert notices(office) == [(f"change:{personal}", REASON)]
    rederive_behind(office.config, office.deps)
    assert cli(office, "rederive").exit_code == 0
    assert notices(office) == [(f"change:{personal}", REASON)]


def test_a_revocation_whose_command_died_is_told_with_its_why(office):
    """GIVEN the corrected package's notice sent WHEN the correction is revoked and the command dies right after
    recording it THEN `serve` owes the notice the command would have: the correction revoked, and why."""
    personal = office.ids.personal
    assert cli(office, "correct", str(personal), "--counted", "--reason", REASON, "--by", "孙倩").exit_code == 0
    told(office)
    with office.deps.db.session() as session:
        correction = session.scalars(select(CorrectionRow.id)).one()
        revoke_correction(session, correction, "核实有误", "孙倩", zone=UTC)
        session.commit()
    rederive_behind(office.config, office.deps)
    assert notices(office) == [
        (f"change:{personal}", REASON),
        (f"change:{personal}:2", "此前的更正已撤销：核实有误"),
    ]


def test_a_sender_confirmation_whose_command_died_is_told_and_its_removal_is_not(office):
    """GIVEN the clerk's own address confirmed as 景县's by `sender add`, killed after recording it WHEN `rederive`
    runs THEN the package counts and its sender is owed the notice `sender add` would have owed WHEN, that notice
    sent, the confirmation is revoked the same way THEN no notice, as `sender remove` owes none."""
    personal = office.ids.personal
    with office.deps.db.session() as session:
        row = add_sender(session, "景县", PERSONAL, "电话核实", "孙倩", None, zone=UTC)
        derivation_owed(session, row.address)
        session.commit()
    assert cli(office, "rederive").exit_code == 0
    assert notices(office) == [(f"change:{personal}", confirmed_because(PERSONAL, "景县", "电话核实"))]
    told(office)
    with office.deps.db.session() as session:
        remove_sender(session, "景县", PERSONAL, "地址有误", "孙倩")
        derivation_owed(session, PERSONAL)
        session.commit()
    assert cli(office, "rederive").exit_code == 0
    with office.deps.db.session() as session:
        assert session.get(Message, personal).registered is False
    assert len(notices(office)) == 1
