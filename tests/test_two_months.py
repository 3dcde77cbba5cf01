"""A unit catching up sends two months in one mail, "冀州区7、8月份报表" with July's and August's forms: each
form counts for the month its own title names, each month's 附件2 is checked against that month's registries
only, and the receipt tells each month's package."""

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
from bot.demo.season import PLANS, SHANGHAI, load_units, month_figures
from bot.demo.season.files import form_file
from bot.demo.season.mail import compose
from bot.outgoing.receipts import queue_owed_receipts
from bot.services.scores import month_matrix
from parsers.recognize import named_months
from tests.conftest import make_config

ARRIVAL = datetime(2020, 8, 14, 9, 30, tzinfo=SHANGHAI)  # before August's deadline, after July's


@pytest.mark.parametrize(
    "subject, months",
    [
        ("冀州区7、8月份报表", ("2020-07", "2020-08")),
        ("冀州区7月、8月份目标任务进展情况", ("2020-07", "2020-08")),
        ("冀州区七、八月份报表", ("2020-07", "2020-08")),
        ("冀州区7-9月份报表", ("2020-07", "2020-08", "2020-09")),
        ("冀州区2020年7月和8月报表", ("2020-07", "2020-08")),
        ("冀州区8月份报表", ()),
        ("冀州区8月份报表（附件1、2）", ()),  # numbers of forms, not months
        ("关于4月15日、16日培训的通知", ()),
        ("统一、二月报格式", ()),
    ],
)
def test_a_subject_naming_several_months_names_each(subject, months):
    assert named_months(subject, ARRIVAL) == months


@pytest.fixture
def config(tmp_path, database_url):
    made = make_config(tmp_path, database_url)
    return replace(made, outgoing=replace(made.outgoing, receipts_max_age_days=0))


def two_months_mail() -> bytes:
    units, _ = load_units()
    [plan] = [plan for plan in PLANS if plan.name == "冀州区"]
    unit = units[plan.name]
    message = compose(unit.sender, "hsscljjb@163.com", "冀州区7、8月份报表", ARRIVAL)
    for month in (7, 8):
        figures = month_figures(plan, month, as_sent=False)
        for form in range(1, 9):
            extension, data = form_file(plan, unit, month, form, figures, ARRIVAL, 2020, "xlsx")
            message.add_attachment(
                data, maintype="application", subtype="octet-stream", filename=f"{month}月附件{form}.{extension}"
            )
    return message.as_bytes()


def test_two_months_in_one_mail_count_each_for_its_month_and_the_receipt_tells_both(deps, config):
    [outcome] = ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(two_months_mail(), "jjb", "import")])
    with deps.db.session() as session:
        message = session.get(Message, outcome.id)
        assert (message.month, message.month_source) == ("2020-08", "subjects")
        summaries = session.scalars(
            select(FormReadingRow).where(FormReadingRow.form == 2).order_by(FormReadingRow.id)
        ).all()
        assert [reading.month for reading in summaries] == ["2020-07", "2020-08"]
        # each 附件2 checked against its own month's registries: the season's figures agree with them
        assert [[p["code"] for p in reading.problems] for reading in summaries] == [[], []]
        evidence = load_evidence(session)
        july = month_matrix(config, evidence, "2020-07", ARRIVAL)["冀州区"]
        august = month_matrix(config, evidence, "2020-08", ARRIVAL)["冀州区"]
        assert (july.status, august.status) == ("late", "on_time")
        assert queue_owed_receipts(config, session, ARRIVAL) == 1
        [receipt] = session.scalars(select(OutboxMail).where(OutboxMail.kind == "receipt")).all()
        text = email.message_from_bytes(receipt.raw, policy=policy.default).get_body(("plain",)).get_content()
    assert "报送月份：2020年7月、2020年8月" in text
    assert (
        "报送时限：2020年7月报表应于 2020年7月20日 23:59:59 前报送，本次已超过时限（迟报）。" in text
        and "本次已超过时限（迟报）" in text
    )
    assert (
        "报送时限：2020年8月报表应于 2020年8月20日 23:59:59 前报送，本次在时限内。" in text and "本次在时限内" in text
    )


def test_a_form_whose_title_names_no_month_counts_for_the_month_its_file_name_names(deps):
    """GIVEN 武邑县's 9月、10月份报表 carrying 附件9 twice, titled without a month (as the templates of 附件9 and 10
    are), named 武邑县9月份附件9.xlsx and 武邑县10月份附件9.xlsx, and a third named for a month the subject does not
    name WHEN stored THEN each counts for its file name's month, the third for the subject's last: all went to
    October, and September's receipt said its 附件9 was missing."""
    from tests.conftest import DATA

    form9 = (DATA / "workbooks" / "college-students-form9.xlsx").read_bytes()
    message = compose("wyxcl@163.com", "hsscljjb@163.com", "武邑县9月、10月份报表", datetime(2020, 10, 14, 9))
    for name in ("武邑县9月份附件9.xlsx", "武邑县10月份附件9.xlsx", "武邑县8月份附件9.xlsx"):
        message.add_attachment(form9, maintype="application", subtype="octet-stream", filename=name)
    ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(message.as_bytes(), "jjb", "import")])
    with deps.db.session() as session:
        readings = session.scalars(select(FormReadingRow).order_by(FormReadingRow.id)).all()
    assert [(reading.form, reading.month) for reading in readings] == [(9, "2020-09"), (9, "2020-10"), (9, None)]
