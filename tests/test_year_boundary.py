"""Around the new year, a month written without a year ("景县1月份…", a form titled "1 月份…") is the one a
report sent then can be for: from ten months before the arrival month to one month after it. January's package
sent early, in late December, is next January's; December's sent in January is last December's, its 附件2
checked against that year's targets.

GIVEN real messages (the demo's workbooks and report, MIME as a unit's client sends them) and a configuration
holding the 2020 plan and a 2021 plan from January with other targets for 阜城县
WHEN they are derived as ingest derives them, and stored
THEN each is filed for the month its subject and titles mean, never a month a year away.
"""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import datetime
from email import policy

import pytest
from sqlalchemy import select

from archive.evidence import load_evidence
from archive.ingest import Incoming, ingest_batch
from archive.models import FormReadingRow, Message, OutboxMail
from bot.daemon.deps import open_deps, recognizer_for
from bot.demo.season import PLANS, SHANGHAI, load_units, month_figures
from bot.demo.season.files import form_file
from bot.demo.season.mail import compose
from bot.outgoing.receipts import queue_owed_receipts
from bot.services.scores import month_matrix
from parsers.derive import Derived, derive_message
from parsers.months import month_near
from parsers.recognize import report_month
from tests.conftest import example_data, make_config, with_next_year

# 阜城县's 2021 targets differ from its 2020 ones: a December 2020 附件2 read as 2021's would be told to change them.
TARGETS_2021 = {"阜城县": {"rehab": 280, "devices": 378, "rural_training": 113, "day_care": 144}}
EARLY_JANUARY = datetime(2020, 12, 28, 15, 1, tzinfo=SHANGHAI)  # 景县's January package, sent before January
LATE_DECEMBER = datetime(2021, 1, 8, 10, 0, tzinfo=SHANGHAI)  # 阜城县's December package, sent in January


def two_year_config(tmp_path, database_url: str | None = None):
    """The example config with a 2021 plan beside 2020's: reported from January, 阜城县's targets raised."""
    data = example_data()
    raised = {
        unit["name"]: unit["targets"] | TARGETS_2021[unit["name"]]
        for unit in data["unit"]
        if unit["name"] in TARGETS_2021
    }
    data = with_next_year(data, raised, forms={"first_report_month": 1})
    url = database_url or f"sqlite:///{tmp_path}/unused.db"
    made = make_config(tmp_path, url, general=data["general"], unit=data["unit"], year=data["year"])
    return replace(made, outgoing=replace(made.outgoing, receipts_max_age_days=0))  # receipts for mail of 2020 too


def package(name: str, subject: str, month: int, arrival: datetime) -> bytes:
    """`name`'s package of `month` (附件1–8, titled "N 月份…" without a year; 附件2's 目标数 its 2020 targets) in
    one mail under `subject`, received at `arrival`."""
    units, boxes = load_units()
    [plan] = [plan for plan in PLANS if plan.name == name]
    unit = units[name]
    message = compose(unit.sender, boxes["jjb"], subject, arrival)
    figures = month_figures(plan, max(month, 4), as_sent=False)  # the season's curve starts in April
    for form in range(1, 9):
        extension, data = form_file(plan, unit, month, form, figures, arrival, 2020, "xlsx")
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=f"附件{form}.{extension}")
    return message.as_bytes()


def derived(config, raw: bytes) -> Derived:
    return derive_message(recognizer_for(config), Incoming(raw, "jjb", "import"))


def months_of(message: Derived) -> set[str | None]:
    return {reading.month for _, reading, _ in message.readings if reading.form in range(1, 9)}


def codes_of(message: Derived) -> list[str]:
    return [problem.code for _, reading, checks in message.readings for problem in (*reading.problems, *checks)]


@pytest.mark.parametrize(
    ("number", "arrival", "month"),
    [
        (1, datetime(2020, 12, 28, tzinfo=SHANGHAI), "2021-01"),  # January's, sent early
        (12, datetime(2020, 12, 28, tzinfo=SHANGHAI), "2020-12"),
        (11, datetime(2020, 12, 1, tzinfo=SHANGHAI), "2020-11"),
        (2, datetime(2020, 12, 28, tzinfo=SHANGHAI), "2020-02"),  # ten months before December
        (12, datetime(2021, 1, 5, tzinfo=SHANGHAI), "2020-12"),  # December's, sent in January
        (1, datetime(2021, 1, 5, tzinfo=SHANGHAI), "2021-01"),
        (2, datetime(2021, 1, 5, tzinfo=SHANGHAI), "2021-02"),  # one month after January
        (3, datetime(2021, 1, 5, tzinfo=SHANGHAI), "2020-03"),  # ten months before January
        (1, datetime(2020, 11, 30, tzinfo=SHANGHAI), "2020-01"),  # ten months before November
        (12, datetime(2020, 11, 30, tzinfo=SHANGHAI), "2020-12"),  # one month after November
        (6, datetime(2020, 4, 28, tzinfo=SHANGHAI), "2019-06"),
    ],
)
def test_a_month_without_a_year_is_placed_from_ten_months_before_arrival_to_one_after(number, arrival, month):
    assert month_near(number, arrival) == month
    assert report_month(f"景县{number}月份报表", arrival) == month


def test_a_january_package_sent_in_late_december_is_januarys(tmp_path):
    """GIVEN 景县's January package (subject 景县1月份…, every title 1 月份) received on 2020-12-28
    THEN the mail and each form are 2021-01, none said to be of another month than the mail's."""
    message = derived(
        two_year_config(tmp_path), package("景县", "景县1月份残疾人服务工程进展情况报告及附件", 1, EARLY_JANUARY)
    )
    assert (message.recognition.unit, message.month, message.month_source) == ("景县", "2021-01", "subject")
    assert months_of(message) == {"2021-01"}
    assert "target-mismatch" not in codes_of(message)


def test_titles_alone_sent_in_late_december_name_next_january(tmp_path):
    """GIVEN the same package under a subject naming no month THEN the titles' 1 月份 files it for 2021-01."""
    message = derived(
        two_year_config(tmp_path), package("景县", "景县残疾人服务工程进展情况报告及附件", 1, EARLY_JANUARY)
    )
    assert (message.month, message.month_source) == ("2021-01", "workbook")
    assert months_of(message) == {"2021-01"}


def test_a_december_package_sent_in_january_is_decembers_and_checked_against_its_years_targets(tmp_path):
    """GIVEN 阜城县's December package (12月份, 附件2 with its 2020 targets) received on 2021-01-08 THEN it is
    2020-12's, and its 附件2 agrees with 2020's targets (2021's, which differ, are not what it is checked
    against)."""
    config = two_year_config(tmp_path)
    assert config.plan("2021-01").units != config.plan("2020-12").units  # the two years' targets differ
    message = derived(config, package("阜城县", "阜城县12月份报表", 12, LATE_DECEMBER))
    assert (message.month, message.month_source) == ("2020-12", "subject")
    assert months_of(message) == {"2020-12"}
    assert "target-mismatch" not in codes_of(message)


@pytest.fixture
def deps(tmp_path, database_url):
    opened = open_deps(two_year_config(tmp_path, database_url), sleep=lambda seconds: None, backoff=0.0)
    yield opened
    opened.close()


def test_an_early_january_package_is_januarys_in_the_matrix_and_its_receipt(tmp_path, database_url, deps):
    """GIVEN 景县's January package received on 2020-12-28, stored THEN January's matrix has it on time, and its
    receipt says January 2021 and no form of another month."""
    config = two_year_config(tmp_path, database_url)
    raw = package("景县", "景县1月份残疾人服务工程进展情况报告及附件", 1, EARLY_JANUARY)
    [outcome] = ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "jjb", "import")])
    with deps.db.session() as session:
        message = session.get(Message, outcome.id)
        assert (message.month, message.month_source) == ("2021-01", "subject")
        forms = session.scalars(select(FormReadingRow).where(FormReadingRow.message_id == outcome.id)).all()
        assert {reading.month for reading in forms} == {"2021-01"}
        evidence = load_evidence(session)
        assert month_matrix(config, evidence, "2021-01", datetime(2021, 1, 26, tzinfo=SHANGHAI))["景县"].status == (
            "on_time"
        )
        assert queue_owed_receipts(config, session, EARLY_JANUARY) == 1
        [receipt] = session.scalars(select(OutboxMail).where(OutboxMail.kind == "receipt")).all()
        text = email.message_from_bytes(receipt.raw, policy=policy.default).get_body(("plain",)).get_content()
    assert "2021年1月" in text
    assert "表中写的月份" not in text and "2020年1月" not in text
