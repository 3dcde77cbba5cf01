"""Each attachment is read once at ingest, zip members too; its readings and persons are stored."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from archive.evidence import load_evidence
from archive.ingest import Incoming, ingest_batch
from archive.models import FormReadingRow, Message, PersonRow
from bot.demo.folder import compose
from tests.conftest import DATA

SHANGHAI = ZoneInfo("Asia/Shanghai")
BOOKS = DATA / "workbooks"


def package(sender: str, subject: str, *names: str) -> bytes:
    message = compose(sender, "hskf2006@126.com", subject, datetime(2020, 4, 18, 10, tzinfo=SHANGHAI))
    for name in names:
        message.add_attachment(
            (BOOKS / name).read_bytes(), maintype="application", subtype="octet-stream", filename=name
        )
    return message.as_bytes()


def test_readings_and_persons_are_stored_with_their_problems(deps):
    raw = package("zqxcl@163.com", "枣强县报表", "package-gbk-names.zip", "encrypted.xlsx")
    [outcome] = ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "kfb", "import")])
    with deps.db.session() as session:
        message = session.get(Message, outcome.id)
        readings = session.scalars(select(FormReadingRow).order_by(FormReadingRow.id)).all()
        persons = session.scalars(select(PersonRow)).all()
    assert message.month == "2020-04" and message.month_source == "workbook"  # the subject names no month
    assert [(r.form, r.readable, r.unit) for r in readings] == [
        (2, True, "枣强县"),
        (3, True, "枣强县"),
        (1, True, "枣强县"),
        (None, False, None),  # the zip's 简报.pdf: no form, said so
        (None, False, None),
    ]
    assert readings[0].tasks["rehab"]["done"] == 2
    assert {p.reading_id for p in persons} == {readings[1].id} and len(persons) == 2
    assert all(len(p.disability_id) == 20 and p.name for p in persons)
    assert readings[3].problems[0]["code"] == "pdf"
    assert readings[4].problems[0]["code"] == "encrypted"
    assert "取消密码" in readings[4].problems[0]["message"]


def test_an_unreadable_file_does_not_count_as_its_form_arriving(deps):
    raw = package("tcqcl@163.com", "桃城区4月份报表", "summary-unit-row-only.xlsx", "truncated.xlsx")
    ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "kfb", "import")])
    with deps.db.session() as session:
        evidence = load_evidence(session)
        readings = session.scalars(select(FormReadingRow)).all()
    assert [(a.form, a.readable) for a in evidence.arrivals if a.readable] == [(2, True)]
    assert any(not r.readable and r.problems for r in readings)
    assert [summary.done["rehab"] for summary in evidence.summaries] == [100]


def test_package_checks_go_on_the_summary(deps):
    raw = package("tcqcl@163.com", "桃城区4月份报表", "summary-unit-row-only.xlsx", "hidden-sheet.xlsx")
    ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "kfb", "import")])
    with deps.db.session() as session:
        summary = session.scalars(select(FormReadingRow).where(FormReadingRow.form == 2)).one()
    assert [p["code"] for p in summary.problems] == ["done-vs-registry"]


def test_findings_name_a_person_registered_by_two_units_and_a_registry_mismatch(deps):
    from archive.evidence import summary_reports
    from archive.findings import all_findings

    items = [
        Incoming(
            package("tcqcl@163.com", "桃城区4月份报表", "summary-unit-row-only.xlsx", "hidden-sheet.xlsx"),
            "kfb",
            "import",
        ),
        Incoming(package("zqxcl@163.com", "枣强县4月份报表", "hidden-sheet.xlsx"), "kfb", "import", origin="2"),
    ]
    ingest_batch(deps.db, deps.store, deps.recognizer, items)
    with deps.db.session() as session:
        found = all_findings(session, summary_reports(session))
    kinds = sorted((finding.kind, finding.unit) for finding in found)
    assert kinds == [
        ("done_vs_registry", "桃城区"),
        ("person_in_two_units", "枣强县"),
        ("person_in_two_units", "枣强县"),
    ]
    shared = [finding for finding in found if finding.kind == "person_in_two_units"]
    assert all("枣强县、桃城区" in finding.message and len(finding.message_ids) == 2 for finding in shared)
