"""Honesty findings across months (the plan threatens sanctions for 虚报数据): shown, never applied to scores."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from archive.evidence import NOT_PACKAGES, summary_reports
from archive.models import FormReadingRow, Message, PersonRow, Rewrite
from parsers.form_layouts import FORM_TITLES
from parsers.forms import PERSON_DIGITS
from parsers.privacy import mask_personal
from scoring.completion import honesty_findings
from scoring.evidence import Finding, SummaryReport


def all_findings(session: Session, summaries: Sequence[SummaryReport], until: datetime | None = None) -> list[Finding]:
    """Cumulative 完成数 that went down (from `summaries`: the evidence's, or archive.evidence.summary_reports),
    附件2 against its registries, one person registered by two units: of the registries arrived by `until` when
    given (a month's digest made later: a person a later registry names too was already found by then)."""
    return [*honesty_findings(summaries), *_registry_mismatches(session), *_shared_persons(session, until)]


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
        .where(FormReadingRow.form == 2, Message.registered.is_(True), Message.kind.not_in(NOT_PACKAGES))
        .order_by(Message.id)
    )
    for problems, unit, message_id in rows:
        findings.extend(  # a registered sender's unit; `correct --counted` can count a message of no unit
            Finding(unit or NO_UNIT, "done_vs_registry", problem["message"], (message_id,))
            for problem in problems
            if problem["code"] == "done-vs-registry"
        )
    return findings


@dataclass(frozen=True)
class PersonFinding(Finding):
    """One person on one form registered by two units (kind person_in_two_units), with where: each
    (unit, message id, sheet, row) that registers them. A Finding to whoever reads findings one by one (the
    digest, 核查发现); the queue groups them (shared_groups)."""

    form: int = 0
    name: str = ""
    places: tuple[tuple[str | None, int, str, int], ...] = ()
    brought_by: int = 0  # the message whose registry the person is filed under (_bringing): `unit` is its unit


@dataclass(frozen=True)
class SharedGroup:
    """The persons of one form in one message whom other units registered too: one wrongly attached registry
    is one group, however many persons it has."""

    form: int
    message_id: int
    unit: str | None  # the message's unit
    others: tuple[str, ...]  # the other units registering them
    persons: tuple[PersonFinding, ...]

    def summary(self, shown: int = 3) -> str:
        """ "附件3（邮件 #1169，景县）中 233 人同时由阜城县登记：张三（第 5 行）、…等，同一人不应由两个单位重复登记"."""
        names = "、".join(
            f"{person.name or '（无姓名）'}（{_where(person, self.message_id)}）" for person in self.persons[:shown]
        )
        more = "等" if len(self.persons) > shown else ""
        return (
            f"附件{self.form}{FORM_TITLES.get(self.form, '')}（邮件 #{self.message_id}，{self.unit or NO_UNIT}）中 "
            f"{len(self.persons)} 人同时由{'、'.join(self.others)}登记：{names}{more}，同一人不应由两个单位重复登记"
        )


def _where(person: PersonFinding, message_id: int) -> str:
    sheet, row = _place(person, message_id)
    return f"工作表“{sheet}”第 {row} 行"


def shared_groups(findings: Sequence[Finding]) -> list[SharedGroup]:
    """The persons registered by two units, grouped by the message and form that brought them (each person's
    `brought_by`, see _bringing), so a neighbour's registry attached by mistake is one group, not one item per
    person. A subset of the findings (a digest's month) groups as the whole does."""
    persons = [finding for finding in findings if isinstance(finding, PersonFinding)]
    bringing = _bringing(persons)
    grouped: dict[tuple[int, int, str | None, tuple[str, ...]], list[PersonFinding]] = {}
    for person, message_id in zip(persons, bringing, strict=True):
        unit = next(place[0] for place in person.places if place[1] == message_id)
        others = tuple(sorted({place[0] for place in person.places if place[0] is not None and place[0] != unit}))
        grouped.setdefault((person.form, message_id, unit, others), []).append(person)
    return [
        SharedGroup(form, message_id, unit, others, tuple(sorted(members, key=lambda p: _place(p, message_id))))
        for (form, message_id, unit, others), members in sorted(grouped.items(), key=lambda item: item[0][:2])
    ]


def _bringing(persons: Sequence[PersonFinding]) -> list[int]:
    """For each person, the message they are filed under: their `brought_by` when set, else the message among
    theirs that carries the most such persons on that form (the later on a tie): whose registry, attached by
    mistake, brought them."""
    carried: dict[tuple[int, int], int] = {}
    for person in persons:
        for message_id in {place[1] for place in person.places}:
            carried[(person.form, message_id)] = carried.get((person.form, message_id), 0) + 1
    return [
        person.brought_by
        or max({place[1] for place in person.places}, key=lambda id_: (carried[(person.form, id_)], id_))
        for person in persons
    ]


def _place(person: PersonFinding, message_id: int) -> tuple[str, int]:
    """Where the message registers the person: its sheet and row (the order the registry has them in)."""
    return next(((sheet, row) for _, id_, sheet, row in person.places if id_ == message_id), ("", 0))


def _shared_persons(session: Session, until: datetime | None = None) -> list[PersonFinding]:
    """The same person (parsers.forms.person_key) on the same form sent by two units for months of one year: one
    finding a person, read in one query. Of one year: a person served by one county one year and by another the
    next moved, and a unit renamed for the next year (枣强县, then 枣强区) registers the same persons under its new
    name. Of the mail arrived by `until`, when given."""
    year = func.coalesce(func.substr(Message.month, 1, 4), "")  # mail of no month: of none, compared together
    # parsers.forms.person_key: 18 or 20 digits alike; a number told wrong too (another unit's first 18 being the
    # same is that person: 19 digits with the last lost, a wrong 类别)
    person = func.substr(PersonRow.disability_id, 1, PERSON_DIGITS)
    counted: list[ColumnElement[bool]] = [Message.registered.is_(True), Message.kind.not_in(NOT_PACKAGES)]
    counted += [Message.arrival <= until] if until is not None else []
    shared = (
        select(PersonRow.form, person.label("person"), year.label("year"))
        .join(FormReadingRow, PersonRow.reading_id == FormReadingRow.id)
        .join(Message, FormReadingRow.message_id == Message.id)
        .where(PersonRow.disability_id != "", *counted)
        .group_by(PersonRow.form, person, year)
        .having(func.count(func.distinct(Message.unit)) > 1)
        .subquery()
    )
    rows = session.execute(
        select(
            PersonRow.form,
            person.label("person"),
            PersonRow.disability_id,
            Message.unit,
            Message.id,
            PersonRow.name,
            PersonRow.sheet,
            PersonRow.row,
            year.label("year"),
        )
        .join(FormReadingRow, FormReadingRow.message_id == Message.id)
        .join(PersonRow, PersonRow.reading_id == FormReadingRow.id)
        .join(
            shared,
            (shared.c.form == PersonRow.form) & (shared.c.person == person) & (shared.c.year == year),
        )
        .where(*counted)
        .order_by(PersonRow.form, person, year, Message.id, PersonRow.id)
    ).all()
    by_person: dict[tuple[int, str, str], list] = {}
    for row in rows:
        by_person.setdefault((row.form, row.person, row.year), []).append(row)
    findings: list[PersonFinding] = []
    for (form, _, _), places in by_person.items():
        # only counted mail: a registry from an unknown address or a forward staff did not count is no unit's
        units = sorted({place.unit for place in places if place.unit is not None})
        findings.append(
            PersonFinding(
                NO_UNIT,  # filed below, under the unit of the message that brought the person
                "person_in_two_units",
                f"{places[0].name}（证号 {places[0].disability_id}）同时出现在{'、'.join(units)}的附件{form}"
                f"{FORM_TITLES.get(form, '')}中，同一人不应由两个单位重复登记",
                tuple(sorted({place.id for place in places})),
                form=form,
                name=places[0].name,
                places=tuple((place.unit, place.id, place.sheet, place.row) for place in places),
            )
        )
    findings = [_filed(finding, message_id) for finding, message_id in zip(findings, _bringing(findings), strict=True)]
    # In the order of where they are written, never of the 证号 (read in that order): two findings whose
    # numbers differ only in digits a viewer without the grant does not see are listed the same either way.
    return sorted(findings, key=_shown_order)


def _filed(person: PersonFinding, message_id: int) -> PersonFinding:
    """The person filed under the message that brought them, as the queue's group of them is (shared_groups)."""
    unit = next(place[0] for place in person.places if place[1] == message_id)
    return replace(person, unit=unit or NO_UNIT, brought_by=message_id)


def _shown_order(finding: PersonFinding) -> tuple:
    """What orders the persons: the form, then where each is first registered, then what else is shown of them
    (their masked text and every place)."""
    places = tuple(
        (message_id, mask_personal(sheet), row, unit or "") for unit, message_id, sheet, row in finding.places
    )
    return finding.form, places[0], finding.name, mask_personal(finding.message), places
