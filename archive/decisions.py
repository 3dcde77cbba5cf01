"""The staff decisions a message's recognition stands on — the correction in force on it, the confirmation of
its sender as its unit's — and those behind one unit's figures: what `show`, `explain`, the web pages and the
receipts say of them, read from the records themselves (who, when, why), never copied into derived rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from archive.corrections import in_force
from archive.models import CorrectionRow, Message, StaffSenderRow


@dataclass(frozen=True)
class Decision:
    """A staff decision in force and the messages it decides (of those asked about)."""

    row: CorrectionRow | StaffSenderRow
    message_ids: tuple[int, ...]

    @property
    def is_correction(self) -> bool:
        return isinstance(self.row, CorrectionRow)


def message_decisions(session: Session, messages: Sequence[Message], zone: ZoneInfo) -> dict[int, list[Decision]]:
    """By message id, the decisions each message's recognition stands on (most have none)."""
    corrections = in_force(session, [message.sha256 for message in messages])
    senders = _confirmations(session, {message.from_addr.lower() for message in messages if message.from_addr})
    found: dict[int, list[Decision]] = {}
    for message in messages:
        decided = [Decision(row, (message.id,)) for row in senders if _confirms(row, message, zone)]
        if message.sha256 in corrections:
            decided.append(Decision(corrections[message.sha256], (message.id,)))
        if decided:
            found[message.id] = decided
    return found


def unit_decisions(session: Session, unit: str, month: str, zone: ZoneInfo) -> list[Decision]:
    """The decisions behind UNIT's figures up to MONTH: corrections in force on its messages of that month
    or before, and the addresses confirmed as its own with the messages they made count; oldest first."""
    up_to = or_(Message.month.is_(None), Message.month <= month)
    corrected = session.execute(
        select(CorrectionRow, Message.id)
        .join(Message, Message.sha256 == CorrectionRow.message_sha256)
        .where(CorrectionRow.revoked_at.is_(None), Message.unit == unit, up_to)
    )
    decisions = [Decision(row, (message_id,)) for row, message_id in corrected]
    for row in session.scalars(
        select(StaffSenderRow).where(StaffSenderRow.unit == unit, StaffSenderRow.revoked_at.is_(None))
    ):
        messages = session.scalars(
            select(Message)
            .where(func.lower(Message.from_addr) == row.address, Message.unit == unit, up_to)
            .order_by(Message.id)
        )
        ids = tuple(message.id for message in messages if _confirms(row, message, zone))
        if ids:
            decisions.append(Decision(row, ids))
    return sorted(decisions, key=lambda decision: decision.row.entered_at)


def _confirmations(session: Session, addresses: set[str]) -> list[StaffSenderRow]:
    if not addresses:
        return []
    return list(
        session.scalars(
            select(StaffSenderRow).where(StaffSenderRow.address.in_(addresses), StaffSenderRow.revoked_at.is_(None))
        )
    )


def _confirms(row: StaffSenderRow, message: Message, zone: ZoneInfo) -> bool:
    """Whether the confirmation made this message its unit's registered mail (as recognition applies it:
    parsers.derive.Recognizer.units_at)."""
    day: date = message.arrival.astimezone(zone).date()
    return (
        message.registered
        and message.unit == row.unit
        and (message.from_addr or "").lower() == row.address
        and (row.since is None or row.since <= day)
    )
