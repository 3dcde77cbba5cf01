"""Honesty findings across months (the plan threatens sanctions for 虚报数据): shown, never applied to scores."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.evidence import NOT_SUBMISSIONS, Evidence
from archive.models import FormReadingRow, Message, PersonRow
from parsers.forms import FORM_TITLES
from scoring.completion import honesty_findings
from scoring.evidence import Finding


def all_findings(session: Session, evidence: Evidence) -> list[Finding]:
    """Cumulative 完成数 that went down, 附件2 against its registries, one person registered by two units."""
    return [*honesty_findings(evidence.summaries), *_registry_mismatches(session), *_shared_persons(session)]


def _registry_mismatches(session: Session) -> list[Finding]:
    findings = []
    rows = session.execute(select(FormReadingRow.problems, Message.unit, Message.id)
                           .join(Message, FormReadingRow.message_id == Message.id)
                           .where(FormReadingRow.form == 2, Message.registered.is_(True),
                                  Message.kind.not_in(NOT_SUBMISSIONS)).order_by(Message.id))
    for problems, unit, message_id in rows:
        findings.extend(Finding(unit, "done_vs_registry", problem["message"], (message_id,))
                        for problem in problems if problem["code"] == "done-vs-registry")
    return findings


def _shared_persons(session: Session) -> list[Finding]:
    """The same 残疾人证号 on the same form sent by two units."""
    shared = (select(PersonRow.form, PersonRow.disability_id)
              .join(FormReadingRow, PersonRow.reading_id == FormReadingRow.id)
              .join(Message, FormReadingRow.message_id == Message.id)
              .where(PersonRow.disability_id != "", Message.registered.is_(True), Message.kind.not_in(NOT_SUBMISSIONS))
              .group_by(PersonRow.form, PersonRow.disability_id)
              .having(func.count(func.distinct(Message.unit)) > 1)
              .order_by(PersonRow.form, PersonRow.disability_id))
    findings = []
    for form, person_id in session.execute(shared).all():
        rows = session.execute(select(Message.unit, Message.id, PersonRow.name)
                               .join(FormReadingRow, FormReadingRow.message_id == Message.id)
                               .join(PersonRow, PersonRow.reading_id == FormReadingRow.id)
                               .where(PersonRow.form == form, PersonRow.disability_id == person_id,
                                      Message.kind.not_in(NOT_SUBMISSIONS))
                               .order_by(Message.id)).all()
        units = sorted({unit for unit, _, _ in rows})
        findings.append(Finding(units[0], "person_in_two_units",
                                f"{rows[0][2]}（证号 {person_id}）同时出现在{'、'.join(units)}的附件{form}"
                                f"{FORM_TITLES.get(form, '')}中，同一人不应由两个单位重复登记",
                                tuple(sorted({message_id for _, message_id, _ in rows}))))
    return findings
