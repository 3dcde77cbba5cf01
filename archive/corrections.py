"""Staff corrections of one message's recognition: who, when, why; revocable, kept on record. A
correction is applied whenever the message is derived (archive/rederive.py), on top of what the
machine recognised."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from types import EllipsisType
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from archive.entries import hold, person_on_record, reason_on_record, revoke_record
from archive.models import CorrectionRow, Message
from parsers.errors import InputError, MailroomError
from scoring.plans import Plans


def add_correction(
    session: Session,
    message_id: int,
    reason: str,
    by: str,
    *,
    unit: str | None = None,
    kind: str | None = None,
    month: str | None = None,
    counted: bool | None = None,
    plans: Plans | None = None,
    seen: int | None | EllipsisType = ...,
) -> CorrectionRow:
    """Record a correction, and mark the message due for derivation in the same transaction (what it is owed
    is recorded with its cause: a crash before it is derived again leaves it for `serve` or `rederive`, and
    `year close` refuses meanwhile). The one in force before it on that message is replaced (revoked:
    `replacing` says which), what the new one leaves unsaid kept from it: correcting the unit of a message whose
    month was corrected keeps that month ("不变" on the web's form means as it stands now). One that would
    change nothing (the message is already so, or the correction in force says so) is refused, as are a blank
    reason or name, and a month on a briefing (check_correction). With `plans`, a month no plan covers, or a
    unit not in the plan of the month the message is counted in, is refused (check_correction).

    Checked while holding the message (hold_message), so of two submitting at once the second is refused as
    a resubmission is. `seen`: the id of the correction in force when the person decided (None: none), if
    they saw one; refused when another has been made or revoked since."""
    reason = reason_on_record(reason, "更正原因")
    by = person_on_record(by, "更正人")
    if (unit, kind, month, counted) == (None, None, None, None):
        raise MailroomError("请至少更正单位、类别、月份或是否计分中的一项")
    message = hold_message(session, message_id)
    earlier = in_force(session, [message.sha256]).get(message.sha256)
    if not isinstance(seen, EllipsisType) and seen != (earlier.id if earlier else None):
        changed = f"现行的更正是 #{earlier.id}（{earlier.entered_by}）" if earlier else "此前的更正已撤销"
        raise MailroomError(f"邮件 #{message_id} 的更正刚刚有变化（{changed}）：请查看页面上的现状后再更正")
    briefing = (kind or (earlier.kind if earlier else None) or message.kind) == "briefing"
    asked = (unit, kind, month, counted)
    if earlier is not None:
        unit, kind = unit or earlier.unit, kind or earlier.kind
        # a briefing counts in the month it arrived: an earlier correction's month does not carry over to one
        month = month or (None if briefing else earlier.month)
        counted = earlier.counted if counted is None else counted
        if (unit, kind, month, counted) == (earlier.unit, earlier.kind, earlier.month, earlier.counted):
            waiting = "；邮件尚待按它重新识别（mailroom rederive）" if message.derived_with is None else ""
            raise MailroomError(f"与邮件 #{message_id} 现行的更正 #{earlier.id} 相同，未重复登记{waiting}")
    if _already(message, earlier, *asked):
        raise MailroomError(
            f"邮件 #{message_id} 现在的识别结果已是如此（更正的各项都与现状相同），这次更正不会改变任何结果，未登记"
        )
    check_correction(plans, message, unit, month, kind)
    now = datetime.now(UTC)
    if earlier is not None:
        earlier.revoke(by, f"被新的更正取代：{reason}")
    row = CorrectionRow(
        message_sha256=message.sha256,
        unit=unit,
        kind=kind,
        month=month,
        counted=counted,
        reason=reason,
        entered_by=by,
        entered_at=now,
    )
    session.add(row)
    message.derived_with = None  # due for derivation (archive.rederive.due) until derived with it
    return row


def hold_message(session: Session, message_id: int) -> Message:
    """The message, held against every other writer of it (another correction, its re-derivation, ingest)
    until the caller's transaction ends (archive.entries.hold), and read afresh under the hold."""
    sha = session.scalar(select(Message.sha256).where(Message.id == message_id))
    if sha is None:
        raise MailroomError(f"没有编号为 {message_id} 的邮件")
    hold(session, f"message:{sha}")
    message = session.get(Message, message_id, populate_existing=True)
    assert message is not None  # a message is never deleted
    return message


def _already(
    message: Message,
    earlier: CorrectionRow | None,
    unit: str | None,
    kind: str | None,
    month: str | None,
    counted: bool | None,
) -> bool:
    """Whether the message already is what a correction asks (each item it gives): as derived, with the
    correction in force on top (the same once derived with it; before that, what it will be). Staff saying
    a message is not to count, where none said so, is a decision of its own even when it counts for nothing
    already: its "still counts for nothing" warning is then no longer given (bot.services.decisions)."""
    if counted is False and (earlier is None or earlier.counted is not False):
        return False

    def standing(said: Any, derived: Any) -> Any:
        return derived if said is None else said

    now = (
        (standing(earlier.unit, message.unit), standing(earlier.kind, message.kind))
        + (standing(earlier.month, message.month), standing(earlier.counted, message.registered))
        if earlier is not None
        else (message.unit, message.kind, message.month, message.registered)
    )
    return all(wanted is None or wanted == is_now for wanted, is_now in zip((unit, kind, month, counted), now))


def check_correction(
    plans: Plans | None, message: Message, unit: str | None, month: str | None, kind: str | None = None
) -> None:
    """InputError, in one line, for a correction the standings could never use: a month given to a briefing
    (`kind`, else the message's own kind: a briefing counts in the month it arrived, whatever month it is
    given, so the unit would be told of a move that moved nothing); with `plans`, a month no plan covers, or
    a unit not in the plan of the month the message would count in (the month corrected to, else its own; a
    message without a month that a plan covers: the plan of its arrival, as its receipt takes it)."""
    if month is not None and (kind or message.kind) == "briefing":
        corrected_to = "更正为简报后" if kind == "briefing" and message.kind != "briefing" else "是简报"
        raise InputError(f"邮件 #{message.id} {corrected_to}：简报按收到日期计入当月，不能更改月份")
    if plans is None:
        return
    if month is not None:
        try:
            plans.of(month)
        except ValueError:  # not YYYY-MM at all (a form's field tampered with)
            raise InputError(f"月份“{month}”无效：应写作 YYYY-MM，如 2020-05") from None
        except InputError as error:
            raise InputError(f"不能把邮件 #{message.id} 更正到 {month}：{error}") from None
    if unit is None:
        return
    counted_in = month or message.month
    plan = plans.of(counted_in) if counted_in and plans.covers(counted_in) else plans.at(message.arrival)
    try:
        plan.unit(unit)
    except InputError as error:
        raise InputError(f"不能把邮件 #{message.id} 更正到 {unit}：{error}") from None


def replacing(session: Session, message_id: int) -> CorrectionRow | None:
    """The correction in force on this message, which a new one would replace (revoke), if any."""
    message = session.get(Message, message_id)
    if message is None:
        return None
    return in_force(session, [message.sha256]).get(message.sha256)


def revoke_correction(session: Session, correction_id: int, reason: str, by: str, *, zone: tzinfo) -> CorrectionRow:
    """Revoke a correction, holding its message, which is marked due for derivation in the same transaction
    (as add_correction marks it)."""
    sha = session.scalar(select(CorrectionRow.message_sha256).where(CorrectionRow.id == correction_id))
    if sha is not None:
        hold(session, f"message:{sha}")
    row = revoke_record(session, CorrectionRow, correction_id, reason, by, "更正", zone=zone)
    mark_due(session, [row.message_sha256])
    return row


def mark_due(session: Session, shas: list[str]) -> None:
    """Mark these messages due for derivation (archive.rederive.due: not derived with today's stamp), in the
    caller's transaction: a staff decision that changes what they derive to is recorded with what it owes."""
    if shas:
        session.execute(update(Message).where(Message.sha256.in_(shas)).values(derived_with=None))


def corrected_message(session: Session, row: CorrectionRow) -> int | None:
    """The id of the message a correction concerns (None: no message has its bytes any more)."""
    return session.scalar(select(Message.id).where(Message.sha256 == row.message_sha256))


def in_force(session: Session, shas: list[str]) -> dict[str, CorrectionRow]:
    """The correction in force on each of these messages (by SHA-256), if any."""
    return {
        row.message_sha256: row
        for row in session.scalars(
            select(CorrectionRow)
            .where(CorrectionRow.message_sha256.in_(shas), CorrectionRow.revoked_at.is_(None))
            .order_by(CorrectionRow.id)
        )
    }


def corrections(session: Session) -> list[tuple[CorrectionRow, int | None]]:
    """Every correction, revoked ones too, with the id of the message it concerns."""
    return [
        (row, message_id)
        for row, message_id in session.execute(
            select(CorrectionRow, Message.id)
            .outerjoin(Message, Message.sha256 == CorrectionRow.message_sha256)
            .order_by(CorrectionRow.id)
        )
    ]
