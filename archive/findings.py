"""Honesty findings across months (the plan threatens sanctions for 虚报数据): shown, never applied to scores."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.evidence import NOT_SUBMISSIONS, summary_reports
from archive.models import FormReadingRow, Message, PersonRow, Rewrite
from parsers.forms import FORM_TITLES
from scoring.completion import honesty_findings
from scoring.evidence import Finding, SummaryReport


def all_findings(session: Session, summaries: Sequence[SummaryReport]) -> list[Finding]:
    """Cumulative 完成数 that went down (from `summaries`: the evidence's, or archive.evidence.summary_reports),
    附件2 against its registries, one person registered by two units."""
    return [*honesty_findings(summaries), *_registry_mismatches(session), *_shared_persons(session)]


def archive_version(session: Session) -> tuple[int | None, int | None]:
    """What changes whenever derived rows do: the newest message (messages are never deleted, so a new one
    has a higher id) and the newest batch re-derivation rewrote. Two primary-key lookups."""
    return session.scalar(select(func.max(Message.id))), session.scalar(select(func.max(Rewrite.id)))


class FindingsMemo:
    """The findings of the archive, kept while its version stands: the web menu's 待处理 count asks on every
    page, and the findings read every 附件2 and registry, which new mail changes a few times a day."""

    def __init__(self) -> None:
        self._kept: tuple[tuple[int | None, int | None], list[Finding]] | None = None
        self._lock = threading.Lock()

    def __call__(self, session: Session) -> list[Finding]:
        version = archive_version(session)
        with self._lock:
            if self._kept is not None and self._kept[0] == version:
                return self._kept[1]
        found = all_findings(session, summary_reports(session))
        with self._lock:
            self._kept = (version, found)
        return found


NO_UNIT = "未识别单位"  # a finding's unit when its message has none


def _registry_mismatches(session: Session) -> list[Finding]:
    findings: list[Finding] = []
    rows = session.execute(
        select(FormReadingRow.problems, Message.unit, Message.id)
        .join(Message, FormReadingRow.message_id == Message.id)
        .where(FormReadingRow.form == 2, Message.registered.is_(True), Message.kind.not_in(NOT_SUBMISSIONS))
        .order_by(Message.id)
    )
    for problems, unit, message_id in rows:
        findings.extend(  # a registered sender's unit; `correct --counted` can count a message of no unit
            Finding(unit or NO_UNIT, "done_vs_registry", problem["message"], (message_id,))
            for problem in problems
            if problem["code"] == "done-vs-registry"
        )
    return findings


def _shared_persons(session: Session) -> list[Finding]:
    """The same 残疾人证号 on the same form sent by two units."""
    shared = (
        select(PersonRow.form, PersonRow.disability_id)
        .join(FormReadingRow, PersonRow.reading_id == FormReadingRow.id)
        .join(Message, FormReadingRow.message_id == Message.id)
        .where(PersonRow.disability_id != "", Message.registered.is_(True), Message.kind.not_in(NOT_SUBMISSIONS))
        .group_by(PersonRow.form, PersonRow.disability_id)
        .having(func.count(func.distinct(Message.unit)) > 1)
        .order_by(PersonRow.form, PersonRow.disability_id)
    )
    findings: list[Finding] = []
    for form, person_id in session.execute(shared).all():
        rows = session.execute(
            select(Message.unit, Message.id, PersonRow.name)
            .join(FormReadingRow, FormReadingRow.message_id == Message.id)
            .join(PersonRow, PersonRow.reading_id == FormReadingRow.id)
            .where(PersonRow.form == form, PersonRow.disability_id == person_id, Message.kind.not_in(NOT_SUBMISSIONS))
            .order_by(Message.id)
        ).all()
        # a registry from an unknown address may name the person too: that mail is no unit's
        units = sorted({unit for unit, _, _ in rows if unit is not None})
        findings.append(
            Finding(
                units[0],
                "person_in_two_units",
                f"{rows[0][2]}（证号 {person_id}）同时出现在{'、'.join(units)}的附件{form}"
                f"{FORM_TITLES.get(form, '')}中，同一人不应由两个单位重复登记",
                tuple(sorted({message_id for _, message_id, _ in rows})),
            )
        )
    return findings
