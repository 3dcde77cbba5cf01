"""Persons registered by two units are found among counted mail only, and filed under the unit whose registry
brought them, the same in `findings`, 待处理 and the digest (which lists them one line a registry)."""

from __future__ import annotations

import email
import io
from collections.abc import Callable
from datetime import datetime
from email import policy

import openpyxl
from sqlalchemy import select

from archive.evidence import load_evidence, summary_reports
from archive.findings import PersonFinding, all_findings
from archive.ingest import Incoming, ingest_batch
from archive.models import Message
from archive.queue import attention
from bot.outgoing.digest import _findings, build_digest
from tests.webapp import BOOKS, SHANGHAI, _message

REGISTRY = "rehab-registry-two-age-sheets.xlsx"  # 附件3 of 饶阳县, five persons
STRANGER = "987654321@qq.com"  # no unit's address: its mail counts for nothing


def store(deps, *raws: bytes) -> list[int]:
    outcomes = ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "kfb", "import") for raw in raws])
    return [outcome.id for outcome in outcomes]


def at(day: int) -> datetime:
    return datetime(2020, 4, day, 10, tzinfo=SHANGHAI)


def persons(session) -> list[PersonFinding]:
    return [f for f in all_findings(session, summary_reports(session)) if isinstance(f, PersonFinding)]


def test_a_registry_in_mail_that_never_counted_makes_no_finding(deps):
    """GIVEN 饶阳县's registry, and the same registry in mail from an address no unit registered whose subject
    names 景县 (a forward staff did not count) WHEN the findings and the queue are read THEN neither names a
    person registered by two units: that mail is no unit's registration."""
    own, stranger = store(
        deps,
        _message("ryxcl@163.com", "饶阳县4月份报表", at(9), "见附件", (REGISTRY,)),
        _message(STRANGER, "景县4月份报表", at(10), "见附件", (REGISTRY,)),
    )
    with deps.db.session() as session:
        counted = {m.id: (m.unit, m.registered) for m in session.scalars(select(Message))}
        assert counted[own] == ("饶阳县", True) and counted[stranger][1] is False
        assert persons(session) == []
        assert [item for item in attention(session) if item.reason == "finding"] == []


def test_each_person_is_filed_under_the_registry_that_brought_them_everywhere(deps):
    """GIVEN 饶阳县's registry, 桃城区's mail carrying it by mistake, and then the same registry in uncounted mail
    naming 景县 WHEN the findings, the queue and the digest are read THEN every person is filed under 桃城区 (whose
    registry brought them all, as 待处理's one item says), naming the counted mail only, and the digest says
    it in one line with how many persons, as 待处理 does, never one a person."""
    own, wrong, stranger = store(
        deps,
        _message("ryxcl@163.com", "饶阳县4月份报表", at(9), "见附件", (REGISTRY,)),
        _message("tcqcl@163.com", "桃城区4月份报表", at(10), "见附件", (REGISTRY,)),
        _message(STRANGER, "景县4月份报表", at(11), "见附件", (REGISTRY,)),
    )
    with deps.db.session() as session:
        found = persons(session)
        [item] = [item for item in attention(session) if item.reason == "finding"]
        evidence = load_evidence(session)
    assert len(found) > 1
    assert {f.unit for f in found} == {"桃城区"} == {item.unit}
    assert {f.message_ids for f in found} == {(own, wrong)} and item.message_ids == (wrong, own)
    assert all("桃城区、饶阳县的" in f.message and "景县" not in f.message for f in found)
    [line] = _findings(found, evidence, at(30), {})
    assert (line.unit, line.kind, line.message_ids) == ("桃城区", "person_in_two_units", (wrong, own))
    assert f"（邮件 #{wrong}，桃城区）中 {len(found)} 人同时由饶阳县登记" in line.message
    assert stranger not in line.message_ids


def test_a_months_digest_made_later_keeps_the_persons_found_by_its_end(config, deps):
    """GIVEN 饶阳县's April registry and 桃城区's April mail carrying it by mistake WHEN 饶阳县's May registry
    (registries are cumulative: the same persons) arrives, and April's digest is made again THEN it still says the
    persons registered by two units, as it did before May's mail, never naming May's; May's digest names it."""
    own, wrong = store(
        deps,
        _message("ryxcl@163.com", "饶阳县4月份报表", at(9), "见附件", (REGISTRY,)),
        _message("tcqcl@163.com", "桃城区4月份报表", at(10), "见附件", (REGISTRY,)),
    )

    def persons_said(month: str) -> list[tuple[int, ...]]:
        with deps.db.session() as session:
            digest = build_digest(config, session, month, datetime(2020, 6, 25, tzinfo=SHANGHAI))
        return [line.message_ids for line in digest.findings if line.kind == "person_in_two_units"]

    assert persons_said("2020-04") == [(wrong, own)]
    [may] = store(
        deps,
        _message("ryxcl@163.com", "饶阳县5月份报表", datetime(2020, 5, 12, 10, tzinfo=SHANGHAI), "见附件", (REGISTRY,)),
    )
    assert persons_said("2020-04") == [(wrong, own)]
    assert [may in ids for ids in persons_said("2020-05")] == [True]


def copied_by_taocheng(deps, retyped: Callable[[str], str]) -> tuple[int, int, list[PersonFinding]]:
    """饶阳县's registry, then 桃城区's copy of it with each ID number (18 or 20 characters) as `retyped` gives it: the
    two messages and the persons found in both."""
    book = openpyxl.load_workbook(BOOKS / REGISTRY)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and len(cell.value) in (18, 20) and cell.value[:17].isdigit():
                    cell.value = retyped(cell.value)
    copied = io.BytesIO()
    book.save(copied)
    copy = email.message_from_bytes(
        _message("tcqcl@163.com", "桃城区4月份报表", at(10), "见附件"), policy=policy.default
    )
    copy.add_attachment(copied.getvalue(), maintype="application", subtype="octet-stream", filename="附件3.xlsx")
    own, wrong = store(
        deps, _message("ryxcl@163.com", "饶阳县4月份报表", at(9), "见附件", (REGISTRY,)), copy.as_bytes()
    )
    with deps.db.session() as session:
        return own, wrong, persons(session)


def test_a_person_written_in_another_spelling_by_the_other_unit_is_found(deps):
    """GIVEN 饶阳县's registry, and 桃城区's copy of it whose 残疾人证号 are typed with full-width digits, a space and a
    lower-case x WHEN the findings are read THEN every person is found registered by both units: only the exact
    spelling was (a registry's own duplicates are found in any spelling)."""
    wide = str.maketrans("0123456789X", "０１２３４５６７８９x")
    own, wrong, found = copied_by_taocheng(
        deps, lambda number: f"{number[:6]} {number[6:]}".translate(wide) if len(number) == 20 else number
    )
    assert len(found) == 5 and {f.message_ids for f in found} == {(own, wrong)}


def test_a_person_registered_by_the_other_unit_under_their_id_number_or_another_level_is_found(deps):
    """GIVEN 饶阳县's registry, and 桃城区's copy of it giving some persons' 身份证号 (the 残疾人证号's first 18 digits:
    a child without a card) and the others' card with another 等级 (assessed again) WHEN the findings are read THEN
    every person is found registered by both units, each said with the number the first registry gives: only
    the same 20 digits were."""
    numbers: list[str] = []

    def retyped(number: str) -> str:
        numbers.append(number)
        if len(number) == 18:  # the child's 身份证号 is left as it is
            return number
        return number[:18] if len(numbers) % 2 else number[:19] + ("1" if number[-1] != "1" else "2")

    own, wrong, found = copied_by_taocheng(deps, retyped)
    assert len(numbers) == 5 and len(found) == 5 and {f.message_ids for f in found} == {(own, wrong)}
    assert sorted(next(n for n in numbers if f"（证号 {n}）" in f.message) for f in found) == sorted(numbers)
