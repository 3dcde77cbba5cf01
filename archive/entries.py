"""Staff entries: media coverage and innovation awards, with who entered and who revoked each."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, tzinfo
from typing import TypeVar

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from archive.locks import lock_key
from archive.models import OnRecord, StaffEntryRow
from parsers.errors import InputError, MailroomError
from scoring.components import normalise_evidence
from scoring.plans import OutsidePlan, Plans

R = TypeVar("R", bound=OnRecord)
# What a person's words on record (a reason, a note, evidence) may not hold: control and format characters. A
# right-to-left override would reorder a 核实通知's text on the unit's screen; a zero-width one hides words.
_UNSEEN = frozenset({"Cc", "Cf", "Co", "Cs"})
# A reason is copied into the unit's 核实通知 (a correction's, a revocation's): a page of text is no reason.
REASON_MAX = 500


def written(text: str) -> str:
    """A reason, a note or evidence as kept: trimmed, without control or format characters (line breaks kept)."""
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in _UNSEEN).strip()


def reason_on_record(reason: str, what: str) -> str:
    """A reason as kept (written), refused (InputError, in Chinese) when blank or longer than REASON_MAX:
    every door (the command line, the web) records a staff decision's why by this one rule."""
    kept = written(reason)
    if not kept:
        raise InputError(f"请写明{what}")
    if len(kept) > REASON_MAX:
        raise InputError(f"{what}最多 {REASON_MAX} 字（现有 {len(kept)} 字）：它会写进发给单位的通知，请精简")
    return kept


def person_on_record(by: str, who: str) -> str:
    """Who made a decision, as kept; refused (InputError) when blank: a decision on record names a person."""
    kept = written(by)
    if not kept:
        raise InputError(f"请写明{who}（--by）")
    return kept


def hold(session: Session, name: str) -> None:
    """Begin the caller's transaction holding `name` against every other writer until it commits, so that a
    check and the write it allows are one (two staff submitting at once: the second sees the first's): on
    SQLite its write lock (BEGIN IMMEDIATE, before anything is read), on PostgreSQL a transaction-level
    advisory lock named within the database and schema, the one archive.locks.claim_for_write takes (a
    message's `message:<sha256>` is the one ingest and re-derivation take for it)."""
    if session.get_bind().dialect.name == "postgresql":
        namespace = session.scalar(text("SELECT current_database() || '/' || current_schema()"))
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(f"{namespace}:{name}")})
        return
    driver = session.connection().connection.driver_connection
    assert driver is not None  # None only once the connection is closed; this one is in use
    if not driver.in_transaction:  # else it holds the lock already
        session.execute(text("BEGIN IMMEDIATE"))


def add_entry(
    session: Session, unit: str, kind: str, level: str, day: date, evidence: str, by: str, plans: Plans | None = None
) -> StaffEntryRow:
    """Record an entry, and commit it; the same evidence for the same unit and kind (whatever its level and
    date) is refused (it never counts twice), checked while holding that unit's entries of that kind, so two
    submitting at once record one. With `plans`, an entry the standings could never count is refused too
    (check_entry); blank evidence or no name too."""
    evidence = written(evidence)
    if not evidence:
        raise InputError("请写明证据（报道、通报或案例的出处）")
    if len(evidence) > REASON_MAX:  # a line of every table and explanation that names it
        raise InputError(
            f"证据最多 {REASON_MAX} 字（现有 {len(evidence)} 字）：写明出处即可（媒体或发文单位、日期、标题）"
        )
    by = person_on_record(by, "登记人")
    if plans is not None:
        check_entry(plans, unit, day)
    hold(session, f"staff_entry:{unit}:{kind}")
    for row in session.scalars(
        select(StaffEntryRow).where(
            StaffEntryRow.unit == unit, StaffEntryRow.kind == kind, StaffEntryRow.revoked_at.is_(None)
        )
    ):
        if normalise_evidence(row.evidence) == normalise_evidence(evidence):
            raise MailroomError(f"同一证据已登记为 #{row.id}（{row.date}，{row.evidence}），同一事项不重复计分")
    row = StaffEntryRow(
        unit=unit,
        kind=kind,
        level=level,
        date=day,
        evidence=evidence,
        entered_by=by,
        entered_at=datetime.now(UTC),
    )
    session.add(row)
    session.commit()
    return row


def check_entry(plans: Plans, unit: str, day: date) -> None:
    """InputError, in one line, for an entry no month's score would ever count: a month counts the entries
    dated from 1 January of its plan year to the month's end, so one dated in a year no plan covers (a typo:
    0001-01-01, 2021 when only 2020 is planned), or for a unit not in that year's plan, would be recorded and
    silently never count. Said the way a correction to a month no plan covers is refused."""
    try:
        plan = plans.year(day.year)
    except OutsidePlan as error:
        years = "、".join(f"{year} 年" for year in plans.years)
        raise InputError(f"不能登记日期为 {day} 的事项：{error}；只有计划年度（{years}）内的日期计分") from None
    try:
        plan.unit(unit)
    except InputError as error:
        raise InputError(f"不能为 {unit} 登记日期为 {day} 的事项：{error}") from None


def revoke_entry(session: Session, entry_id: int, reason: str, by: str, *, zone: tzinfo) -> StaffEntryRow:
    row = revoke_record(session, StaffEntryRow, entry_id, reason, by, "登记", zone=zone)
    session.commit()
    return row


def revoke_record(
    session: Session, model: type[R], record_id: int, reason: str, by: str, noun: str, *, zone: tzinfo
) -> R:
    """Revoke a staff decision (an entry, a correction), which stays on record; `noun` names it to people. Read
    while holding it, so that of two revoking it at once the second is told it is revoked already."""
    reason = reason_on_record(reason, "撤销原因")
    by = person_on_record(by, "撤销人")
    hold(session, f"{model.__name__}:{record_id}")
    row = session.get(model, record_id, populate_existing=True)
    if row is None:
        raise MailroomError(f"没有编号为 {record_id} 的{noun}")
    if row.revoked_at is not None:
        raise MailroomError(
            f"{noun} #{record_id} 已于 {row.revoked_at.astimezone(zone):%Y-%m-%d} 被 {row.revoked_by} 撤销"
        )
    row.revoke(by, reason)
    return row


def list_entries(session: Session) -> list[StaffEntryRow]:
    return list(session.scalars(select(StaffEntryRow).order_by(StaffEntryRow.id)))
