"""Who is owed a receipt (RFC 3834 and the plan), decided without a server."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from replies.receipt import FileFacts, MessageFacts, receipt_for, reply_owed

NOW = datetime(2020, 5, 6, 12, tzinfo=UTC)
OURS = frozenset({"hsclbgs666@163.com"})
BRIEFING = MessageFacts(
    id=1,
    kind="briefing",
    unit="枣强县",
    month="2020-05",
    registered=True,
    sender="zqxcl@163.com",
    subject="枣强县贫困残疾人服务工程专项信息",
    message_id="<a@x>",
    references=("<z@x>",),
    arrival=NOW - timedelta(minutes=5),
    body_text="",
    attachment_names=(),
)


def owed(facts=BRIEFING, max_age=timedelta(days=7)) -> bool:
    return reply_owed(facts, OURS, NOW, max_age) == "receipt"


@pytest.mark.parametrize(
    "change, expected",
    [
        ({}, True),
        ({"registered": False}, False),
        ({"unit": None}, False),
        ({"kind": "auto"}, False),
        ({"kind": "bounce"}, False),
        ({"kind": "reply"}, False),
        ({"sender": "hsclbgs666@163.com"}, False),
        ({"sender": "noreply@163.com"}, False),
        ({"sender": "no-reply@qq.com"}, False),
        ({"sender": None}, False),
        ({"arrival": NOW - timedelta(days=8)}, False),
        ({"kind": "other"}, False),
        ({"kind": "other", "attachment_names": ("新建 Microsoft Excel 工作表.xlsx",)}, True),
        ({"kind": "other", "body_text": "从网易163邮箱发来的超大附件 下载"}, True),
    ],
)
def test_who_is_owed_a_receipt(change, expected):
    assert owed(replace(BRIEFING, **change)) is expected


def test_age_limit_off():
    assert owed(replace(BRIEFING, arrival=NOW - timedelta(days=400)), max_age=None)


def test_a_receipt_threads_and_says_what_to_resend():
    facts = replace(
        BRIEFING,
        kind="report",
        attachment_names=("a.xlsx",),
        files=(FileFacts("a.xlsx", None, False, 0, problems=("无法读取",)),),
    )
    receipt = receipt_for(facts, None, None, 8)
    assert receipt.to == "zqxcl@163.com" and receipt.subject == "回执：枣强县贫困残疾人服务工程专项信息"
    assert receipt.in_reply_to == "<a@x>" and receipt.references == ("<z@x>", "<a@x>")
    assert "附件模板" in receipt.context["resend"] and receipt.context["problems"] == ["无法读取"]
