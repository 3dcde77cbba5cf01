"""Staff corrections of one message's recognition: who, when, why; revocable, kept on record. A
correction is applied whenever the message is derived (archive/rederive.py), on top of what the
machine recognised."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.entries import revoke_record, written
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
) -> CorrectionRow:
    """Record a correction. The one in force before it on that message is replaced (revoked: `replacing` says
    which), what the new one leaves unsaid kept from it: correcting the unit of a message whose month was
    corrected keeps that month ("不变" on the web's form means as it stands now). One that would change
    nothing is refused. With `plans`, a month no plan covers, or a unit not in the plan of the month the
    message is counted in, is refused (check_correction)."""
    message = session.get(Message, message_id)
    if message is None:
        raise MailroomError(f"没有编号为 {message_id} 的邮件")
    if (unit, kind, month, counted) == (None, None, None, None):
        raise MailroomError("请至少更正单位、类别、月份或是否计分中的一项")
    earlier = in_force(session, [message.sha256]).get(message.sha256)
    if earlier is not None:
        unit, kind = unit or earlier.unit, kind or earlier.kind
        month = month or earlier.month
        counted = earlier.counted if counted is None else counted
        if (unit, kind, month, counted) == (earlier.unit, earlier.kind, earlier.month, earlier.counted):
            raise MailroomError(f"与邮件 #{message_id} 现行的更正 #{earlier.id} 相同，未重复登记")
    if plans is not None:
        check_correction(plans, message, unit, month)
    now = datetime.now(UTC)
    if earlier is not None:
        earlier.revoke(by, f"被新的更正取代：{reason}")
    row = CorrectionRow(
        message_sha256=message.sha256,
        unit=unit,
        kind=kind,
        month=month,
        counted=counted,
        reason=written(reason),
        entered_by=by,
        entered_at=now,
    )
    session.add(row)
    return row


def check_correction(plans: Plans, message: Message, unit: str | None, month: str | None) -> None:
    """InputError, in one line, for a correction the standings could never use: a month no plan covers, or a
    unit not in the plan of the month the message would count in (the month corrected to, else its own;
    a message without a month that a plan covers: the plan of its arrival, as its receipt takes it)."""
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


def revoke_correction(session: Session, correction_id: int, reason: str, by: str) -> CorrectionRow:
    return revoke_record(session, CorrectionRow, correction_id, reason, by, "更正")


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
