"""A unit that the next year's plan no longer holds (merged into another, renamed) still mails its package:
kept, told to its sender, and put before staff, never silently counted for nobody."""

from __future__ import annotations

from datetime import datetime

from archive.models import Message
from archive.queue import attention
from bot.daemon.deps import open_deps
from parsers.derive import UNPLANNED_MARK
from tests.conftest import example_data, make_config, with_next_year
from tests.webapp import SHANGHAI, _message, receipt_texts, store_one


def test_a_package_of_a_unit_gone_from_its_years_plan_is_told_and_queued(tmp_path, database_url):
    data = with_next_year(example_data(), {})
    [binhu] = [unit for unit in data["unit"] if unit["name"] == "滨湖新区"]
    binhu["last_year"] = 2020
    del binhu["targets"]["2021"]
    smtp = {**data["smtp"], "receipts_max_age_days": 0}  # mail of 2021 archived today is answered
    config = make_config(tmp_path, database_url, general=data["general"], unit=data["unit"], smtp=smtp)
    deps = open_deps(config)
    try:
        sender = binhu["senders"][0]
        files = ("summary-unit-row-only.xlsx",)
        old = store_one(
            deps, _message(sender, "滨湖新区11月份报表", datetime(2020, 12, 10, 9, tzinfo=SHANGHAI), "", files)
        )
        new = store_one(
            deps, _message(sender, "滨湖新区4月份报表", datetime(2021, 5, 10, 9, tzinfo=SHANGHAI), "", files)
        )
        with deps.db.session() as session:
            old_row, new_row = session.get(Message, old), session.get(Message, new)
            assert (new_row.unit, new_row.month, new_row.kind) == ("滨湖新区", "2021-04", "report")
            assert [p for p in new_row.problems if UNPLANNED_MARK in p] == [
                "滨湖新区不在该年度计划的单位中（2021 年），本邮件不计入任何单位的报送；"
                "如单位已合并或更名，请在主题中写明现在的单位名称后重新发送，或联系市残联工作人员"
            ]
            assert not any(UNPLANNED_MARK in p for p in old_row.problems)  # 2020 still holds it
            items = attention(session, lambda _: [])
        assert [(item.reason, item.message_ids) for item in items if item.reason == "unplanned"] == [
            ("unplanned", (new,))
        ]
        texts = receipt_texts(config, deps, datetime(2021, 5, 10, 10, tzinfo=SHANGHAI))
        told = [text for text in texts if "滨湖新区4月份报表" in text]
        assert len(told) == 1 and "【本邮件】\n1. 滨湖新区不在该年度计划的单位中（2021 年）" in told[0]
        assert not any(UNPLANNED_MARK in text for text in texts if text not in told)
    finally:
        deps.close()
