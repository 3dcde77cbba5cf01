"""The staff decisions a message's recognition stands on — the correction in force on it, the confirmation of
its sender as its unit's — and those behind one unit's figures: what `show`, `explain`, the web pages and the
receipts say of them, read from the records themselves (who, when, why), never copied into derived rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from archive.corrections import in_force
from archive.models import CorrectionRow, Message, StaffSenderRow
from archive.staff_senders import confirmed_because
from parsers.recognize import named_months, report_month, strip_prefixes


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


def unit_decisions(
    session: Session, unit: str, month: str, zone: ZoneInfo, at: datetime | None = None
) -> list[Decision]:
    """The decisions behind UNIT's figures up to MONTH: the corrections in force (at `at`, a closed year's as it
    was closed; else now) on messages that count for it in that month or before, or that were recognised as
    its own before a correction moved them away (to another unit, a later month, or out of counting: its figures
    lost them), and the addresses confirmed as its own with the messages they made count; oldest first."""
    decisions = [
        Decision(row, (message.id,))
        for row, message in _corrections(session, at)
        if _counted_as(row, message, unit, month) or _moved_away(session, row, message, unit, month, zone)
    ]
    up_to = or_(Message.month.is_(None), Message.month <= month)
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


def revoked_because(row: CorrectionRow) -> str:
    """What the notice to a sender whose mail a revoked correction moved back says was decided, and why (why,
    never who: README)."""
    return f"此前的更正已撤销：{row.revoke_reason}"


def latest_because(session: Session, message: Message, zone: ZoneInfo) -> str | None:
    """The why of the latest staff decision on the message, read from the records themselves, as the notice owed
    for it says it: the correction in force on it (a correction revoked when it was entered, the one it replaced,
    is part of it), else the correction last revoked; or the confirmation of its sender, or its revocation
    (which owes no notice: None), whichever came last. For a message a decision marked due (archive.corrections
    .mark_due) and not yet derived with it: whoever derives it (the decision's own command, `serve`'s background
    pass, `mailroom rederive` after a crash) owes the same notice (archive.rederive)."""
    events: list[tuple[datetime, str | None]] = []
    rows = list(session.scalars(select(CorrectionRow).where(CorrectionRow.message_sha256 == message.sha256)))
    standing = next((row for row in rows if row.revoked_at is None), None)
    revoked = [row for row in rows if row.revoked_at is not None]
    if standing is not None:  # none revoked after it was entered: one correction is in force at a time
        events.append((standing.entered_at, standing.reason))
    elif revoked:
        last = max(revoked, key=lambda row: (row.revoked_at, row.id))
        events.append((cast(datetime, last.revoked_at), revoked_because(last)))
    if message.from_addr:
        day = message.arrival.astimezone(zone).date()
        for row in session.scalars(select(StaffSenderRow).where(StaffSenderRow.address == message.from_addr.lower())):
            if row.since is not None and row.since > day:
                continue  # the confirmation never concerned this message
            events.append((row.entered_at, confirmed_because(row.address, row.unit, row.reason)))
            if row.revoked_at is not None:
                events.append((row.revoked_at, None))
    return max(events, key=lambda event: event[0], default=(None, None))[1]


def _corrections(session: Session, at: datetime | None) -> list[tuple[CorrectionRow, Message]]:
    """Every correction in force now, or at `at` (revoked since or not), with its message."""
    query = select(CorrectionRow, Message).join(Message, Message.sha256 == CorrectionRow.message_sha256)
    if at is None:
        query = query.where(CorrectionRow.revoked_at.is_(None))
    else:
        query = query.where(
            CorrectionRow.entered_at <= at, or_(CorrectionRow.revoked_at.is_(None), CorrectionRow.revoked_at > at)
        )
    return [(row, message) for row, message in session.execute(query.order_by(CorrectionRow.id))]


def _up_to(month: str | None, last: str) -> bool:
    return month is None or month <= last


def _counted_as(row: CorrectionRow, message: Message, unit: str, month: str) -> bool:
    """Whether the correction makes (or, revoked since, made) the message UNIT's of MONTH or before."""
    if row.revoked_at is None:
        return message.unit == unit and _up_to(message.month, month)
    return (row.unit or message.unit) == unit and _up_to(row.month or message.month, month)


def _moved_away(session: Session, row: CorrectionRow, message: Message, unit: str, month: str, zone: ZoneInfo) -> bool:
    """Whether the message, before the correction, was recognised as UNIT's of MONTH or before. What recognition
    made of it is not kept beside the correction: what it corrected is read from what the message still says of
    itself (a unit and month the correction left alone stand as recognised; its forms' titles, its subject's
    months, the unit its sender's other mail counts for)."""
    if row.revoked_at is not None and not in_force(session, [message.sha256]):
        units, months = {message.unit}, {message.month}  # revoked since: the message is as recognised again
    else:
        units = {message.unit} if row.unit is None else {*_titled_units(message), *_sender_units(session, message)}
        months = {message.month} if row.month is None else message_months(message, zone)
    return unit in units and any(_up_to(named, month) for named in months)


def _titled_units(message: Message) -> set[str]:
    return {reading.unit for reading in message.readings if reading.unit}


def _sender_units(session: Session, message: Message) -> set[str]:
    """The units the message's sender's other mail counts for, none of it corrected."""
    if not message.from_addr:
        return set()
    corrected = select(CorrectionRow.message_sha256).where(CorrectionRow.revoked_at.is_(None))
    return set(
        session.scalars(
            select(Message.unit)
            .where(
                func.lower(Message.from_addr) == message.from_addr.lower(),
                Message.registered,
                Message.unit.is_not(None),
                Message.id != message.id,
                Message.sha256.not_in(corrected),
            )
            .distinct()
        )
    )


def message_months(message: Message, zone: ZoneInfo) -> set[str | None]:
    """The months the message names: its subject's, its forms' titles'; else the month it arrived in."""
    arrival = message.arrival.astimezone(zone)
    rest, _ = strip_prefixes(message.subject or "")
    named: set[str | None] = {*named_months(rest, arrival), report_month(rest, arrival)}
    named |= {reading.month for reading in message.readings if reading.month}
    named.discard(None)
    return named or {f"{arrival:%Y-%m}"}


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
