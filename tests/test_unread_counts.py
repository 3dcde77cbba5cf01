"""A 附件2 whose 完成数 is a formula without its saved result (a file written by a program that does not compute,
then never opened in Excel or WPS) has no figure for that task: the unit is told to open and save it, and until
it does the last 附件2 that gave the figure stands for it, where the task scored nothing as "未填报"."""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl

from archive.evidence import load_evidence
from bot.demo.folder import compose
from scoring.completion import completion_as_of
from tests.test_inspect import BOOKS, SHANGHAI
from tests.webapp import REHAB, store_one

ANPING = "apxcl@126.com"
FORMULAS = (BOOKS / "formula-without-cached-value.xlsx").read_bytes()  # 安平县's April 附件2, 康复服务 C6 unread


def _package(arrival: datetime, summary: bytes) -> bytes:
    message = compose(ANPING, REHAB, "安平县4月份报表", arrival, body="见附件")
    message.add_attachment(summary, "application", "octet-stream", filename="附件2.xlsx")
    return message.as_bytes()


def test_a_count_that_could_not_be_read_is_the_last_one_given(deps):
    """GIVEN 安平县's April 附件2 with 康复服务 100, then the same form again whose 康复服务 is a formula without its
    saved result WHEN its figures at the end of April are read from the archive THEN 康复服务 is the first mail's
    100, the second's other figures its own."""
    book = openpyxl.load_workbook(io.BytesIO(FORMULAS))
    book.active["C6"] = 100
    saved = io.BytesIO()
    book.save(saved)
    first = store_one(deps, _package(datetime(2020, 4, 10, 9, tzinfo=SHANGHAI), saved.getvalue()))
    second = store_one(deps, _package(datetime(2020, 4, 15, 9, tzinfo=SHANGHAI), FORMULAS))
    with deps.db.session() as session:
        summaries = load_evidence(session).summaries
    figures = completion_as_of("安平县", summaries, datetime(2020, 4, 30, 23, 59, 59, tzinfo=SHANGHAI))
    assert figures is not None and figures.message_id == second
    assert (figures.done["rehab"], figures.done["devices"], figures.earlier) == (100, 57, {"rehab": first})
    assert not figures.unread
