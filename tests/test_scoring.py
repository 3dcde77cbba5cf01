"""The plan's scoring rules over hand-built evidence, each boundary on both sides in Asia/Shanghai time."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from parsers.records import Unit
from scoring.briefings import briefing_counts
from scoring.completion import Figures, completion_as_of, honesty_findings
from scoring.components import task_component, task_rules
from scoring.evidence import Article, FormArrival, StaffEntry, SummaryReport
from scoring.packages import matrix, package_status
from scoring.settings import Calendar, Scoring, parse_month, typed_month
from scoring.standings import COMPONENTS, Standings, rank, standings

SH = ZoneInfo("Asia/Shanghai")
CALENDAR = Calendar(SH, 2020)
SCORING = Scoring()
TARGETS = (
    ("rehab", 179),
    ("devices", 184),
    ("rural_training", 120),
    ("day_care", 49),
    ("barrier_free", 20),
    ("college", 4),
)
ZAOQIANG = Unit("枣强县", ("枣强",), ("zqxcl@163.com",), TARGETS)
BASIC = tuple(range(1, 9))
ALL_DONE = {"rehab": 200, "devices": 200, "rural_training": 130, "day_care": 50, "barrier_free": 21, "college": 5}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def package(
    unit: str, month: str, arrival: str, message_id: int, forms=BASIC, *, registered: bool = True, readable: bool = True
) -> list[FormArrival]:
    """One email carrying the given forms of a unit's package."""
    return [FormArrival(unit, month, form, at(arrival), message_id, registered, readable) for form in forms]


def summary(unit: str, arrival: str, message_id: int, **done: int | None) -> SummaryReport:
    return SummaryReport(unit, at(arrival), message_id, None, done)


def articles(
    unit: str,
    arrival: str,
    message_id: int,
    count: int,
    prefix: str,
    *,
    registered: bool = True,
    is_reply: bool = False,
    is_auto: bool = False,
) -> list[Article]:
    """One email carrying `count` distinct article files."""
    return [
        Article(unit, at(arrival), message_id, f"{prefix}-{i}", registered, is_reply, is_auto) for i in range(count)
    ]


def entry(
    id: int, kind: str, level: str, day: str, evidence: str, unit: str = "枣强县", revoked: bool = False
) -> StaffEntry:
    return StaffEntry(id, unit, kind, level, date.fromisoformat(day), evidence, revoked)


def score(
    month: str, units=(ZAOQIANG,), arrivals=(), summaries=(), briefings=(), entries=(), scoring: Scoring = SCORING
) -> Standings:
    return standings(
        month, list(units), list(arrivals), list(summaries), list(briefings), list(entries), scoring, CALENDAR
    )


def points(result: Standings, name: str, unit: str = "枣强县") -> int:
    return result.row(unit).component(name).points


def items(result: Standings, name: str, unit: str = "枣强县") -> list[tuple[str, int, tuple[int, ...]]]:
    found = result.row(unit).component(name).items
    return [(item.description, item.points, item.message_ids or item.staff_entry_ids) for item in found]


# --- the calendar ---------------------------------------------------------------------------------------------


def test_deadline_is_the_20th_at_235959_inclusive_local():
    assert CALENDAR.deadline_for("2020-04") == datetime(2020, 4, 20, 23, 59, 59, 999_999, tzinfo=SH)
    assert CALENDAR.deadline_for("2020-04") < at("2020-04-21T00:00:00+08:00")


def test_another_deadline_time_names_a_whole_second():
    calendar = Calendar(SH, 2020, deadline_day=15, deadline_time=time(18, 0))
    assert calendar.deadline_for("2020-05") == datetime(2020, 5, 15, 18, 0, 0, 999_999, tzinfo=SH)


def test_month_end_is_the_last_local_instant():
    assert CALENDAR.month_end("2020-02") == datetime(2020, 2, 29, 23, 59, 59, 999_999, tzinfo=SH)
    assert CALENDAR.month_end("2020-12") == datetime(2020, 12, 31, 23, 59, 59, 999_999, tzinfo=SH)
    assert CALENDAR.month_of(at("2020-04-30T16:00:00Z")) == "2020-05"
    assert CALENDAR.month_of(at("2020-04-30T15:59:59Z")) == "2020-04"
    assert (CALENDAR.month_name("2020-04"), CALENDAR.month_name("2021-01")) == ("4月", "2021年1月")


def test_forms_9_and_10_are_required_from_september():
    assert CALENDAR.required_forms_for("2020-08") == (1, 2, 3, 4, 5, 6, 7, 8)
    assert CALENDAR.required_forms_for("2020-09") == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
    assert CALENDAR.report_months() == (
        "2020-04",
        "2020-05",
        "2020-06",
        "2020-07",
        "2020-08",
        "2020-09",
        "2020-10",
        "2020-11",
        "2020-12",
    )


@pytest.mark.parametrize("text", ["2020-4", "202004", "2020-13", "April"])
def test_a_month_is_written_yyyy_mm(text):
    with pytest.raises(ValueError):
        parse_month(text)


@pytest.mark.parametrize(
    "typed", ["2020-04", "2020-4", "2020/4", "2020.04", "202004", "2020年4月", "2020年4月份", " ２０２０年０４月 "]
)
def test_a_month_typed_as_people_type_it_is_the_month_it_names(typed):
    assert typed_month(typed) == "2020-04"


@pytest.mark.parametrize("typed", ["2020-13", "2020-0", "20204", "April", "4月", "2020-04-01", ""])
def test_a_month_typed_that_names_none_is_refused(typed):
    with pytest.raises(ValueError):
        typed_month(typed)


def test_naive_arrival_is_refused():
    with pytest.raises(ValueError):
        FormArrival("枣强县", "2020-04", 1, datetime(2020, 4, 20, 12), 1, True, True)


# --- packages ---------------------------------------------------------------------------------------------------

AS_OF_MAY = at("2020-05-31T23:59:59+08:00")


def test_package_at_235959_on_the_20th_is_on_time():
    result = package_status(
        "枣强县", "2020-04", package("枣强县", "2020-04", "2020-04-20T23:59:59+08:00", 7), CALENDAR, AS_OF_MAY
    )
    assert result.status == "on_time"
    assert [f.status for f in result.forms] == ["on_time"] * 8
    assert result.message_ids == (7,)


def test_package_at_235959_999_is_on_time():
    result = package_status(
        "枣强县", "2020-04", package("枣强县", "2020-04", "2020-04-20T23:59:59.999+08:00", 7), CALENDAR, AS_OF_MAY
    )
    assert result.status == "on_time"


def test_package_at_000030_on_the_21st_is_late_though_still_the_20th_in_utc():
    arrivals = package("枣强县", "2020-04", "2020-04-20T12:00:00+08:00", 7, forms=(1, 2, 3, 4, 5, 6, 7))
    arrivals += package("枣强县", "2020-04", "2020-04-20T16:00:30Z", 8, forms=(8,))
    result = package_status("枣强县", "2020-04", arrivals, CALENDAR, AS_OF_MAY)
    assert result.status == "late"
    assert result.forms_with("late") == (8,)
    assert result.forms[7].arrival == at("2020-04-21T00:00:30+08:00")
    assert result.forms[7].message_id == 8


def test_package_with_a_form_absent_is_missing():
    arrivals = package("枣强县", "2020-04", "2020-04-10T09:00:00+08:00", 7, forms=(1, 2, 3, 4, 6, 7, 8))
    result = package_status("枣强县", "2020-04", arrivals, CALENDAR, AS_OF_MAY)
    assert result.status == "missing"
    assert result.forms_with("missing") == (5,)
    assert result.forms[4].arrival is None and result.forms[4].message_id is None


def test_package_is_missing_until_as_of_reaches_the_late_form():
    arrivals = package("枣强县", "2020-04", "2020-04-10T09:00:00+08:00", 7, forms=(1, 2, 3, 4, 6, 7, 8))
    arrivals += package("枣强县", "2020-04", "2020-04-25T09:00:00+08:00", 9, forms=(5,))
    before = package_status("枣强县", "2020-04", arrivals, CALENDAR, at("2020-04-25T08:59:59+08:00"))
    after = package_status("枣强县", "2020-04", arrivals, CALENDAR, at("2020-04-25T09:00:00+08:00"))
    assert (before.status, after.status) == ("missing", "late")


def test_corrected_resend_after_the_deadline_keeps_the_form_on_time():
    arrivals = package("枣强县", "2020-04", "2020-04-18T10:00:00+08:00", 7)
    arrivals += package("枣强县", "2020-04", "2020-04-23T10:00:00+08:00", 12, forms=(2, 3))
    result = package_status("枣强县", "2020-04", arrivals, CALENDAR, AS_OF_MAY)
    assert result.status == "on_time"
    assert result.forms[1].message_id == 7
    assert result.message_ids == (7,)


def test_unreadable_first_file_counts_from_the_readable_one():
    """An unreadable workbook has not arrived; a 附件1 has, whatever its format (a .doc or .wps, its text
    unread)."""
    on_time_unreadable = package("枣强县", "2020-04", "2020-04-19T10:00:00+08:00", 7, readable=False)
    late_readable = package("枣强县", "2020-04", "2020-04-22T10:00:00+08:00", 9)
    result = package_status("枣强县", "2020-04", on_time_unreadable + late_readable, CALENDAR, AS_OF_MAY)
    assert result.status == "late"
    assert result.message_ids == (7, 9)
    assert [(form.form, form.status) for form in result.forms if form.form == 1] == [(1, "on_time")]
    only_unreadable = package_status("枣强县", "2020-04", on_time_unreadable, CALENDAR, AS_OF_MAY)
    assert only_unreadable.status == "missing"
    assert only_unreadable.forms_with("missing") == tuple(range(2, 9))


def test_unregistered_sender_does_not_count():
    stranger = package("枣强县", "2020-04", "2020-04-15T10:00:00+08:00", 7, registered=False)
    registered = package("枣强县", "2020-04", "2020-04-21T08:00:00+08:00", 8)
    assert package_status("枣强县", "2020-04", stranger, CALENDAR, AS_OF_MAY).status == "missing"
    result = package_status("枣强县", "2020-04", stranger + registered, CALENDAR, AS_OF_MAY)
    assert (result.status, result.message_ids) == ("late", (8,))


def test_forms_of_another_unit_or_month_do_not_count():
    arrivals = package("冀州区", "2020-04", "2020-04-15T10:00:00+08:00", 7)
    arrivals += package("枣强县", "2020-05", "2020-04-15T10:00:00+08:00", 8)
    assert package_status("枣强县", "2020-04", arrivals, CALENDAR, AS_OF_MAY).status == "missing"


def test_september_package_needs_forms_9_and_10():
    arrivals = package("枣强县", "2020-09", "2020-09-15T10:00:00+08:00", 7)
    result = package_status("枣强县", "2020-09", arrivals, CALENDAR, at("2020-09-30T23:59:59+08:00"))
    assert result.status == "missing"
    assert result.forms_with("missing") == (9, 10)


def test_matrix_keeps_the_units_order():
    units = [Unit("桃城区"), ZAOQIANG, Unit("景县")]
    arrivals = package("枣强县", "2020-04", "2020-04-15T10:00:00+08:00", 7)
    arrivals += package("桃城区", "2020-04", "2020-04-21T10:00:00+08:00", 8)
    result = matrix("2020-04", units, arrivals, CALENDAR, AS_OF_MAY)
    assert [(name, package.status) for name, package in result.items()] == [
        ("桃城区", "late"),
        ("枣强县", "on_time"),
        ("景县", "missing"),
    ]


# --- briefings --------------------------------------------------------------------------------------------------


def test_briefing_at_235959_on_april_30_counts_for_april_and_at_midnight_for_may():
    found = articles("枣强县", "2020-04-30T23:59:59+08:00", 1, 1, "a")
    found += articles("枣强县", "2020-04-30T16:00:00Z", 2, 1, "b")
    assert briefing_counts(found, CALENDAR) == {("枣强县", "2020-04"): (1, (1,)), ("枣强县", "2020-05"): (1, (2,))}


def test_same_article_twice_counts_once_in_the_month_first_sent():
    found = articles("枣强县", "2020-04-28T10:00:00+08:00", 1, 1, "a")
    found += articles("枣强县", "2020-04-29T10:00:00+08:00", 2, 1, "a")
    found += articles("枣强县", "2020-05-02T10:00:00+08:00", 3, 1, "a")
    assert briefing_counts(found, CALENDAR) == {("枣强县", "2020-04"): (1, (1,))}


def test_replies_auto_replies_and_strangers_do_not_count():
    found = articles("枣强县", "2020-04-10T10:00:00+08:00", 1, 1, "a", is_reply=True)
    found += articles("枣强县", "2020-04-10T10:00:00+08:00", 2, 1, "b", is_auto=True)
    found += articles("枣强县", "2020-04-10T10:00:00+08:00", 3, 1, "c", registered=False)
    assert briefing_counts(found, CALENDAR) == {}
    # A reply quoting an article does not use up the article: its real sending later counts.
    found += articles("枣强县", "2020-04-11T10:00:00+08:00", 4, 1, "a")
    assert briefing_counts(found, CALENDAR) == {("枣强县", "2020-04"): (1, (4,))}


def test_an_email_with_three_article_files_counts_three():
    found = articles("枣强县", "2020-04-10T10:00:00+08:00", 5, 3, "a")
    found += articles("枣强县", "2020-04-12T10:00:00+08:00", 6, 2, "b")
    found += [Article("枣强县", at("2020-04-12T10:00:00+08:00"), 6, "b-0", True, False, False)]  # same file twice
    assert briefing_counts(found, CALENDAR) == {("枣强县", "2020-04"): (5, (5, 6))}


def test_briefings_are_counted_per_unit():
    found = articles("枣强县", "2020-04-10T10:00:00+08:00", 1, 2, "a")
    found += articles("景县", "2020-04-10T11:00:00+08:00", 2, 1, "b")
    assert briefing_counts(found, CALENDAR) == {("枣强县", "2020-04"): (2, (1,)), ("景县", "2020-04"): (1, (2,))}


# --- completion --------------------------------------------------------------------------------------------------

END_OF_JUNE = CALENDAR.month_end("2020-06")


def test_completion_is_the_latest_summary_on_or_before_the_instant():
    reports = [
        summary("枣强县", "2020-05-18T10:00:00+08:00", 3, rehab=40),
        summary("枣强县", "2020-06-18T10:00:00+08:00", 5, rehab=90),
        summary("枣强县", "2020-07-18T10:00:00+08:00", 9, rehab=150),
        summary("冀州区", "2020-06-28T10:00:00+08:00", 6, rehab=1),
    ]
    assert completion_as_of("枣强县", reports, END_OF_JUNE) == Figures({"rehab": 90}, 5)
    assert completion_as_of("枣强县", reports, at("2020-05-01T00:00:00+08:00")) is None


def test_a_correction_of_an_earlier_month_sent_later_does_not_replace_the_newer_months_figures():
    """GIVEN 饶阳县's June 附件2 (康复服务 1039) on June 10 and a corrected April 附件2 (101) on June 25, then
    December's (2100) on December 15 and the November package it had missed (1900) on December 28 WHEN its figures
    at the ends of June and December are read THEN they are June's and December's: the figures are cumulative, the
    newest month's stand, and of one month the last to arrive (a resend of June's on June 28 replaces June's)."""

    def report(arrival: str, message_id: int, month: str, rehab: int) -> SummaryReport:
        return SummaryReport("饶阳县", at(arrival), message_id, month, {"rehab": rehab})

    reports = [
        report("2020-06-10T10:00:00+08:00", 1, "2020-06", 1039),
        report("2020-06-25T10:00:00+08:00", 2, "2020-04", 101),
        report("2020-12-15T10:00:00+08:00", 3, "2020-12", 2100),
        report("2020-12-28T10:00:00+08:00", 4, "2020-11", 1900),
    ]
    assert completion_as_of("饶阳县", reports, END_OF_JUNE) == Figures({"rehab": 1039}, 1)
    assert completion_as_of("饶阳县", reports, CALENDAR.month_end("2020-12")) == Figures({"rehab": 2100}, 3)
    resent = report("2020-06-28T10:00:00+08:00", 5, "2020-06", 1040)
    assert completion_as_of("饶阳县", [*reports, resent], END_OF_JUNE) == Figures({"rehab": 1040}, 5)
    # a month not yet begun is the arrival's, mistyped: its resend titled as the arrival's month is newer
    mistyped = report("2020-06-26T10:00:00+08:00", 6, "2020-07", 1100)
    assert completion_as_of("饶阳县", [*reports, mistyped, resent], END_OF_JUNE) == Figures({"rehab": 1040}, 5)


def test_a_count_the_latest_summary_could_not_read_is_the_last_one_given():
    """GIVEN 枣强县's 附件2 of May (康复服务 40, 托养服务 7) and of June, whose 康复服务 and 托养服务 are formulas
    without their saved results WHEN its figures at the end of June are read THEN 康复服务 is May's 40 from May's
    mail and 托养服务, which no earlier 附件2 gave either (May's empty), is unread; June's others are June's."""
    may = summary("枣强县", "2020-05-18T10:00:00+08:00", 3, rehab=40, devices=10, day_care=None)
    june = SummaryReport(
        "枣强县",
        at("2020-06-18T10:00:00+08:00"),
        5,
        None,
        {"rehab": None, "devices": 90, "day_care": None},
        frozenset({"rehab", "day_care"}),
    )
    figures = completion_as_of("枣强县", [may, june], END_OF_JUNE)
    assert figures == Figures({"rehab": 40, "devices": 90, "day_care": None}, 5, {"rehab": 3}, frozenset({"day_care"}))
    unit = Unit("枣强县", targets=(("rehab", 60), ("devices", 100), ("day_care", 10)))
    rule = next(rule for rule in task_rules(SCORING) if rule.name == "q2_tasks")
    points = {
        point.description: (point.points, point.message_ids)
        for point in task_component(rule, unit, [may, june], SCORING, CALENDAR, END_OF_JUNE).items
    }
    assert points[
        "截至6月底康复服务完成 40/60，达到 50%"
        "（最新附件2的完成数是公式，文件里没有保存计算结果，无法读取，按此前附件2的数字）"
    ] == (3, (3, 5))
    assert points[
        "截至6月底附件2的托养服务完成数是公式，文件里没有保存计算结果，无法读取，此前的附件2也没有可读取的数字，不计分"
    ] == (
        0,
        (5,),
    )


def test_summary_at_235959_june_30_counts_for_june_and_one_second_later_does_not():
    reports = [
        summary("枣强县", "2020-06-30T23:59:59+08:00", 5, rehab=90),
        summary("枣强县", "2020-06-30T16:00:01Z", 6, rehab=20),
    ]
    assert completion_as_of("枣强县", reports, END_OF_JUNE) == Figures({"rehab": 90}, 5)


# --- Q2, Q3 and Q4 task completion -----------------------------------------------------------------------------


def test_q2_tasks_three_points_per_task_at_half_the_target():
    reports = [
        summary(
            "枣强县",
            "2020-06-18T10:00:00+08:00",
            5,
            rehab=90,
            devices=91,
            rural_training=60,
            day_care=None,
            barrier_free=30,
        )
    ]
    result = score("2020-06", summaries=reports)
    assert points(result, "q2_tasks") == 9
    assert items(result, "q2_tasks") == [
        ("截至6月底康复服务完成 90/179，达到 50%", 3, (5,)),
        ("截至6月底适配辅助器具完成 91/184，未达到 50%", 0, (5,)),
        ("截至6月底实用技术培训完成 60/120，达到 50%", 3, (5,)),
        ("截至6月底附件2未填报托养服务完成数，不计分", 0, (5,)),
        ("截至6月底无障碍改造完成 30/20，达到 50%", 3, (5,)),
    ]


def test_q2_tasks_use_the_summary_at_235959_june_30_not_the_one_at_000001_july_1():
    low = summary(
        "枣强县", "2020-06-30T23:59:59+08:00", 5, rehab=10, devices=10, rural_training=10, day_care=10, barrier_free=1
    )
    high = summary("枣强县", "2020-06-30T16:00:01Z", 6, **ALL_DONE)
    assert points(score("2020-07", summaries=[low, high]), "q2_tasks") == 0
    high_in_june = summary("枣强县", "2020-06-30T15:59:59Z", 6, **ALL_DONE)
    assert points(score("2020-07", summaries=[low, high_in_june]), "q2_tasks") == 15


def test_q2_tasks_are_not_scored_before_the_end_of_june():
    reports = [summary("枣强县", "2020-05-18T10:00:00+08:00", 5, **ALL_DONE)]
    may = score("2020-05", summaries=reports)
    assert may.row("枣强县").component("q2_tasks").closed is False
    assert points(may, "q2_tasks") == 0
    assert points(score("2020-06", summaries=reports), "q2_tasks") == 15


def test_no_summary_by_the_end_of_june_earns_nothing():
    result = score("2020-06")
    assert points(result, "q2_tasks") == 0
    assert items(result, "q2_tasks")[0] == ("截至6月底未收到附件2，康复服务不计分", 0, ())


def test_zero_target_earns_in_every_quarter_when_the_setting_says_so():
    unit = Unit("枣强县", targets=(("rehab", 179), ("devices", 0)))  # the other tasks absent
    reports = [summary("枣强县", "2020-06-18T10:00:00+08:00", 5, rehab=200)]
    december = score("2020-12", units=[unit], summaries=reports)
    assert points(december, "q2_tasks") == 15
    assert points(december, "q3_tasks") == 15
    assert points(december, "q4_exceed") == 10  # 6 × 2 capped
    assert items(december, "q2_tasks")[1] == ("适配辅助器具全年目标为 0，按规定计分", 3, (5,))


def test_zero_target_earns_nothing_when_the_setting_says_so():
    unit = Unit("枣强县", targets=(("rehab", 179), ("devices", 0)))
    reports = [summary("枣强县", "2020-06-18T10:00:00+08:00", 5, rehab=200, devices=3)]
    december = score("2020-12", units=[unit], summaries=reports, scoring=Scoring(zero_target_earns=False))
    assert points(december, "q2_tasks") == 3
    assert points(december, "q3_tasks") == 3
    assert points(december, "q4_exceed") == 2
    assert items(december, "q2_tasks")[1] == ("适配辅助器具全年目标为 0，不计分", 0, (5,))


def test_q3_tasks_need_the_whole_target_by_the_end_of_september():
    reports = [
        summary(
            "枣强县",
            "2020-09-30T23:59:59+08:00",
            8,
            rehab=179,
            devices=183,
            rural_training=120,
            day_care=49,
            barrier_free=19,
        ),
        summary("枣强县", "2020-09-30T16:00:00Z", 9, **ALL_DONE),
    ]
    august, september = score("2020-08", summaries=reports), score("2020-09", summaries=reports)
    assert august.row("枣强县").component("q3_tasks").closed is False
    assert points(september, "q3_tasks") == 9
    assert items(september, "q3_tasks")[:2] == [
        ("截至9月底康复服务完成 179/179，达到 100%", 3, (8,)),
        ("截至9月底适配辅助器具完成 183/184，未达到 100%", 0, (8,)),
    ]


def test_q4_counts_only_tasks_strictly_above_the_target():
    reports = [
        summary(
            "枣强县",
            "2020-12-20T10:00:00+08:00",
            11,
            rehab=179,
            devices=185,
            rural_training=121,
            day_care=49,
            barrier_free=20,
            college=5,
        )
    ]
    november, december = score("2020-11", summaries=reports), score("2020-12", summaries=reports)
    assert november.row("枣强县").component("q4_exceed").closed is False
    assert points(december, "q4_exceed") == 6
    assert items(december, "q4_exceed")[0] == ("截至12月底康复服务完成 179/179，未超过全年目标", 0, (11,))
    assert items(december, "q4_exceed")[5] == ("截至12月底资助上大学完成 5/4，超过全年目标", 2, (11,))


def test_q4_is_capped_at_10():
    reports = [summary("枣强县", "2020-12-31T23:59:59+08:00", 11, **ALL_DONE)]
    december = score("2020-12", summaries=reports)
    assert points(december, "q4_exceed") == 10
    assert [p for _, p, _ in items(december, "q4_exceed")] == [2, 2, 2, 2, 2, 2, -2]
    assert items(december, "q4_exceed")[-1] == ("超额完成加分以 10 分封顶", -2, ())


def test_summaries_from_before_the_plan_year_are_ignored():
    reports = [summary("枣强县", "2019-12-31T23:59:59+08:00", 2, **ALL_DONE)]
    assert points(score("2020-06", summaries=reports), "q2_tasks") == 0


# --- on-time reporting ----------------------------------------------------------------------------------------


def quarter_packages(months: tuple[str, ...], day: str = "15") -> list[FormArrival]:
    arrivals = []
    for index, month in enumerate(months):
        arrivals += package(
            "枣强县", month, f"{month}-{day}T10:00:00+08:00", 100 + index, CALENDAR.required_forms_for(month)
        )
    return arrivals


def test_q2_on_time_is_not_scored_in_may_and_is_in_june():
    arrivals = quarter_packages(("2020-04", "2020-05", "2020-06"))
    may, june = score("2020-05", arrivals=arrivals), score("2020-06", arrivals=arrivals)
    assert may.row("枣强县").component("q2_on_time").closed is False
    assert points(may, "q2_on_time") == 0
    assert points(june, "q2_on_time") == 15
    assert items(june, "q2_on_time") == [
        ("第二季度每月按时上报计 15 分", 15, (100, 101, 102)),
        ("4月份报表按时报送", 0, (100,)),
        ("5月份报表按时报送", 0, (101,)),
        ("6月份报表按时报送", 0, (102,)),
    ]


def test_one_late_month_costs_3_and_a_missing_one_another_3():
    arrivals = quarter_packages(("2020-04",))
    arrivals += package("枣强县", "2020-05", "2020-05-20T16:00:30Z", 101)
    arrivals += package("枣强县", "2020-06", "2020-06-19T10:00:00+08:00", 102, forms=(1, 2, 3, 5, 6, 7, 8))
    june = score("2020-06", arrivals=arrivals)
    assert points(june, "q2_on_time") == 9
    assert items(june, "q2_on_time")[2:] == [
        # to the second beside midnight, where the deadline falls
        ("5月份报表迟报：附件1、附件2、附件3、附件4、附件5、附件6、附件7、附件8 于5月21日 00:00:30 收到", -3, (101,)),
        ("6月份报表漏报：缺附件4", -3, (102,)),  # the mail that brought the rest
    ]


def test_a_month_both_incomplete_and_late_costs_3_once():
    arrivals = quarter_packages(("2020-04", "2020-05"))
    arrivals += package("枣强县", "2020-06", "2020-06-19T10:00:00+08:00", 102, forms=(1, 2, 5, 6, 7, 8))
    arrivals += package("枣强县", "2020-06", "2020-06-22T08:30:00+08:00", 103, forms=(3,))
    june = score("2020-06", arrivals=arrivals)
    assert points(june, "q2_on_time") == 12
    assert items(june, "q2_on_time")[3] == ("6月份报表漏报：缺附件4；迟报 附件3 于6月22日 08:30 收到", -3, (102, 103))


def test_a_month_missing_then_sent_late_still_costs_3():
    arrivals = quarter_packages(("2020-04", "2020-05"))
    arrivals += package("枣强县", "2020-06", "2020-07-05T10:00:00+08:00", 102)
    assert points(score("2020-06", arrivals=arrivals), "q2_on_time") == 12
    assert (
        items(score("2020-06", arrivals=arrivals), "q2_on_time")[3][0]
        == "6月份报表漏报：缺附件1、附件2、附件3、附件4、附件5、附件6、附件7、附件8"
    )
    assert items(score("2020-07", arrivals=arrivals), "q2_on_time")[3][1:] == (-3, (102,))


def test_corrected_resend_after_the_deadline_costs_nothing():
    arrivals = quarter_packages(("2020-04", "2020-05", "2020-06"))
    arrivals += package("枣强县", "2020-05", "2020-05-25T10:00:00+08:00", 150, forms=(2,))
    assert points(score("2020-06", arrivals=arrivals), "q2_on_time") == 15


def test_on_time_score_never_goes_below_zero():
    june = score("2020-06", scoring=Scoring(on_time_deduction=6))
    assert points(june, "q2_on_time") == 0
    assert [p for _, p, _ in items(june, "q2_on_time")] == [15, -6, -6, -6, 3]
    assert items(june, "q2_on_time")[-1][0] == "第二季度迟报漏报扣分以 0 分为限"


def test_a_quarter_before_the_plans_first_report_month_earns_no_on_time_points():
    """A plan whose reporting starts in July has no second quarter to report on time: 0, said, not 15 free."""
    july = Calendar(SH, 2021, first_report_month=7)
    arrivals = [
        arrival
        for index, month in enumerate(("2021-07", "2021-08", "2021-09"))
        for arrival in package(
            "枣强县", month, f"{month}-15T10:00:00+08:00", 100 + index, july.required_forms_for(month)
        )
    ]
    result = standings("2021-09", [ZAOQIANG], arrivals, [], [], [], SCORING, july)
    assert items(result, "q2_on_time") == [("第二季度不在本年度计划的报送月份内（7–12 月），不计按时上报分", 0, ())]
    assert points(result, "q3_on_time") == 15


def test_q3_on_time_counts_from_the_september_deadline_and_needs_forms_9_and_10():
    arrivals = quarter_packages(("2020-07", "2020-08"))
    arrivals += package("枣强县", "2020-09", "2020-09-15T10:00:00+08:00", 102)  # 附件1-8 only
    august, september = score("2020-08", arrivals=arrivals), score("2020-09", arrivals=arrivals)
    assert august.row("枣强县").component("q3_on_time").closed is False
    assert points(september, "q3_on_time") == 12
    assert items(september, "q3_on_time")[3] == ("9月份报表漏报：缺附件9、附件10", -3, (102,))


# --- briefing points ------------------------------------------------------------------------------------------


def test_two_points_a_month_with_eight_articles():
    found = articles("枣强县", "2020-04-10T10:00:00+08:00", 1, 5, "a")
    found += articles("枣强县", "2020-04-30T23:59:59+08:00", 2, 3, "b")  # the 8th article, just in April
    found += articles("枣强县", "2020-05-10T10:00:00+08:00", 3, 7, "c")
    april, may = score("2020-04", briefings=found), score("2020-05", briefings=found)
    assert points(april, "briefings") == 2
    assert items(april, "briefings") == [("4月报送简报信息 8 篇，达标", 2, (1, 2))]
    assert points(may, "briefings") == 2
    assert items(may, "briefings")[1] == ("5月报送简报信息 7 篇，未达到 8 篇", 0, (3,))


def test_the_eighth_article_at_midnight_utc_on_april_30_is_may():
    found = articles("枣强县", "2020-04-10T10:00:00+08:00", 1, 7, "a")
    found += articles("枣强县", "2020-04-30T16:00:00Z", 2, 1, "b")
    may = score("2020-05", briefings=found)
    assert points(may, "briefings") == 0
    assert items(may, "briefings") == [
        ("4月报送简报信息 7 篇，未达到 8 篇", 0, (1,)),
        ("5月报送简报信息 1 篇，未达到 8 篇", 0, (2,)),
    ]


def test_duplicate_replies_and_auto_replies_do_not_make_eight():
    found = articles("枣强县", "2020-04-10T10:00:00+08:00", 1, 7, "a")
    found += articles("枣强县", "2020-04-11T10:00:00+08:00", 2, 1, "a")  # a-0 again
    found += articles("枣强县", "2020-04-12T10:00:00+08:00", 3, 1, "r", is_reply=True)
    found += articles("枣强县", "2020-04-12T10:00:00+08:00", 4, 1, "o", is_auto=True)
    assert points(score("2020-04", briefings=found), "briefings") == 0


def test_no_briefing_points_before_april_or_after_november():
    found = articles("枣强县", "2020-03-10T10:00:00+08:00", 1, 8, "m")
    found += articles("枣强县", "2020-12-10T10:00:00+08:00", 2, 8, "d")
    december = score("2020-12", briefings=found)
    assert points(december, "briefings") == 0
    assert len(items(december, "briefings")) == 8


# --- staff entries ----------------------------------------------------------------------------------------------


def test_media_points_per_level_capped_at_4():
    entries = [
        entry(1, "media", "provincial", "2020-05-03", "河北日报 2020-05-03 第4版"),
        entry(2, "media", "city", "2020-05-10", "衡水日报 5月10日"),
        entry(3, "media", "central", "2020-06-01", "人民网 http://example.org/a"),
    ]
    may, june = score("2020-05", entries=entries), score("2020-06", entries=entries)
    assert points(may, "media") == 3
    assert points(june, "media") == 4
    assert items(june, "media") == [
        ("省级媒体：河北日报 2020-05-03 第4版", 2, (1,)),
        ("市级媒体：衡水日报 5月10日", 1, (2,)),
        ("中央级媒体：人民网 http://example.org/a", 4, (3,)),
        ("媒体报道加分以 4 分封顶", -3, ()),
    ]


def test_the_same_evidence_never_counts_twice():
    entries = [
        entry(1, "media", "city", "2020-05-03", "衡水日报 5月10日"),
        entry(2, "media", "city", "2020-05-12", "衡水日报　５月１０日 "),
    ]  # full-width variant
    result = score("2020-05", entries=entries)
    assert points(result, "media") == 1
    assert items(result, "media")[1] == ("市级媒体：衡水日报 ５月１０日（与登记 #1 重复，不重复计分）", 0, (2,))


def test_revoked_entries_count_nothing_and_free_their_evidence():
    entries = [
        entry(1, "media", "central", "2020-05-03", "新华网 报道", revoked=True),
        entry(2, "media", "city", "2020-05-04", "新华网 报道"),
    ]
    result = score("2020-05", entries=entries)
    assert points(result, "media") == 1
    assert items(result, "media") == [("市级媒体：新华网 报道", 1, (2,))]


def test_entries_dated_after_the_month_or_before_the_year_do_not_count():
    entries = [
        entry(1, "innovation", "city", "2020-06-01", "案例甲"),
        entry(2, "innovation", "city", "2019-12-31", "案例乙"),
        entry(3, "innovation", "city", "2020-05-31", "案例丙"),
        entry(4, "innovation", "city", "2020-05-31", "案例丁", unit="景县"),
    ]
    assert points(score("2020-05", entries=entries), "innovation") == 2


def test_innovation_capped_at_10_and_deduplicated():
    entries = [
        entry(1, "innovation", "provincial", "2020-05-03", "经验甲"),
        entry(2, "innovation", "provincial", "2020-05-04", "经验甲"),
        entry(3, "innovation", "city", "2020-05-05", "案例乙"),
        entry(4, "innovation", "national", "2020-07-01", "经验丙"),
    ]
    assert points(score("2020-06", entries=entries), "innovation") == 7
    july = score("2020-07", entries=entries)
    assert points(july, "innovation") == 10
    assert [p for _, p, _ in items(july, "innovation")] == [5, 0, 2, 10, -7]


def test_a_level_without_points_counts_nothing():
    entries = [
        entry(1, "media", "county", "2020-05-03", "县电视台"),
        entry(2, "media", "city", "2020-05-03", "县电视台"),
    ]
    result = score("2020-05", entries=entries)
    assert items(result, "media") == [
        ("county：县电视台（级别未设分值，不计分）", 0, (1,)),
        ("市级媒体：县电视台", 1, (2,)),
    ]


def test_media_and_innovation_entries_are_kept_apart():
    entries = [
        entry(1, "media", "city", "2020-05-03", "同一件事"),
        entry(2, "innovation", "city", "2020-05-03", "同一件事"),
    ]
    result = score("2020-05", entries=entries)
    assert (points(result, "media"), points(result, "innovation")) == (1, 2)


# --- ranking ------------------------------------------------------------------------------------------------------


def test_ties_share_a_rank_and_keep_the_given_order():
    assert rank([("丁", 5), ("丙", 8), ("乙", 8), ("甲", 9)]) == [
        ("甲", 9, 1),
        ("丙", 8, 2),
        ("乙", 8, 2),
        ("丁", 5, 4),
    ]


def test_june_standings_of_four_units():
    """GIVEN four units with the same targets WHEN June is ranked THEN totals are hand-computed below."""
    names = ("桃城区", "冀州区", "枣强县", "武邑县")
    units = [Unit(name, targets=TARGETS) for name in ("武邑县", "枣强县", "冀州区", "桃城区")]
    half = {"rehab": 90, "devices": 92, "rural_training": 60, "day_care": 25, "barrier_free": 10}
    arrivals, reports = [], []
    for number, name in enumerate(names):
        for month in ("2020-04", "2020-05", "2020-06"):
            day = (
                "2020-05-21T09:00:00+08:00" if (name, month) == ("枣强县", "2020-05") else f"{month}-15T10:00:00+08:00"
            )
            arrivals += package(name, month, day, 1000 + number * 10 + int(month[-1]))
        done = half if name != "武邑县" else {"rehab": 90, "devices": 92}
        reports.append(summary(name, "2020-06-15T10:00:00+08:00", 2000 + number, **done))
    found = articles("桃城区", "2020-04-10T10:00:00+08:00", 1, 8, "tc-apr")
    found += articles("桃城区", "2020-05-10T10:00:00+08:00", 2, 8, "tc-may")
    found += articles("枣强县", "2020-04-10T10:00:00+08:00", 3, 8, "zq-apr")
    entries = [
        entry(1, "media", "provincial", "2020-05-03", "河北日报", unit="冀州区"),
        entry(2, "media", "provincial", "2020-05-03", "长城网", unit="枣强县"),
        entry(3, "media", "city", "2020-06-03", "衡水日报", unit="枣强县"),
    ]
    result = score("2020-06", units, arrivals, reports, found, entries)
    assert result.as_of == datetime(2020, 6, 30, 23, 59, 59, 999_999, tzinfo=SH)
    assert [(row.unit, row.total, row.rank) for row in result.rows] == [
        ("桃城区", 34, 1),
        ("枣强县", 32, 2),
        ("冀州区", 32, 2),
        ("武邑县", 21, 4),
    ]
    zaoqiang = result.row("枣强县")
    assert [c.name for c in zaoqiang.components] == list(COMPONENTS)
    assert [c.points for c in zaoqiang.components] == [15, 12, 0, 0, 0, 2, 3, 0]
    assert items(result, "q2_on_time")[2] == (
        "5月份报表迟报：附件1、附件2、附件3、附件4、附件5、附件6、附件7、附件8 于5月21日 09:00 收到",
        -3,
        (1025,),
    )


def test_every_earned_point_traces_to_messages_or_staff_entries():
    reports = [summary("枣强县", "2020-06-18T10:00:00+08:00", 5, **ALL_DONE)]
    found = articles("枣强县", "2020-04-10T10:00:00+08:00", 1, 8, "a")
    entries = [entry(1, "media", "city", "2020-05-03", "衡水日报")]
    arrivals = quarter_packages(("2020-04", "2020-05", "2020-06"))
    result = score("2020-06", arrivals=arrivals, summaries=reports, briefings=found, entries=entries)
    assert result.row("枣强县").total == 15 + 15 + 2 + 1
    for component in result.row("枣强县").components:
        assert component.points == sum(item.points for item in component.items)
        for item in component.items:
            if item.points > 0:
                assert item.message_ids or item.staff_entry_ids, item


# --- honesty ------------------------------------------------------------------------------------------------------


def test_cumulative_figure_going_down_is_a_finding():
    reports = [
        summary("枣强县", "2020-05-18T10:00:00+08:00", 3, rehab=80, devices=40),
        summary("枣强县", "2020-06-18T10:00:00+08:00", 5, rehab=70, devices=None),
        summary("枣强县", "2020-07-18T10:00:00+08:00", 7, rehab=70, devices=39),
        summary("景县", "2020-06-18T10:00:00+08:00", 6, rehab=1),
    ]
    findings = honesty_findings(reports)
    assert [(f.unit, f.kind, f.message_ids) for f in findings] == [
        ("枣强县", "completion_decreased", (3, 5)),
        ("枣强县", "completion_decreased", (3, 7)),
    ]
    assert findings[0].message == "枣强县康复服务累计完成数由 80 降为 70（附件2 #3 → #5），完成数应逐月累计"


def test_a_month_sent_late_after_the_next_is_compared_month_to_month():
    """GIVEN 饶阳县 catching up: December's 附件2 (480) arrives, then November's (427) on the same day, then a
    corrected December (470) WHEN checked THEN November's lower figure is no decrease (it comes before December's),
    December corrected down is; it was said that 480 went down to 427 (by arrival)."""
    reports = [
        SummaryReport("饶阳县", at("2020-12-18T10:20:00+08:00"), 7, "2020-12", {"rehab": 480}),
        SummaryReport("饶阳县", at("2020-12-18T10:25:00+08:00"), 18, "2020-11", {"rehab": 427}),
        SummaryReport("饶阳县", at("2020-12-19T09:00:00+08:00"), 20, "2020-12", {"rehab": 470}),
    ]
    assert [finding.message_ids for finding in honesty_findings(reports)] == [(7, 20)]


def test_steady_or_rising_figures_are_no_finding():
    reports = [
        summary("枣强县", "2020-05-18T10:00:00+08:00", 3, rehab=80),
        summary("枣强县", "2020-06-18T10:00:00+08:00", 5, rehab=80),
        summary("枣强县", "2020-07-18T10:00:00+08:00", 7, rehab=95),
    ]
    assert honesty_findings(reports) == ()


def test_the_standings_of_a_month_not_yet_ended_score_only_what_has_closed():
    """GIVEN 枣强县's August briefings met and 3 September articles by the 21st, its September 附件2 all done
    WHEN September's standings are taken as known on September 21 (the digest's day) THEN August's briefings
    score, September's are said to be still open with no points, and the third quarter's task completion (closed
    at September's end) is not scored yet; at the month's end both are."""
    evidence = dict(
        summaries=[summary("枣强县", "2020-09-15T10:00:00+08:00", 1, **ALL_DONE)],
        briefings=[
            *articles("枣强县", "2020-08-10T10:00:00+08:00", 2, 8, "aug"),
            *articles("枣强县", "2020-09-10T10:00:00+08:00", 3, 3, "sep"),
        ],
    )
    early = standings(
        "2020-09",
        [ZAOQIANG],
        [],
        evidence["summaries"],
        evidence["briefings"],
        [],
        SCORING,
        CALENDAR,
        known_at=at("2020-09-21T01:00:00+00:00"),  # a clock in UTC, as the daemon's
    )
    assert early.as_of == at("2020-09-21T09:00:00+08:00") and early.as_of.tzinfo == SH
    assert not early.row("枣强县").component("q3_tasks").closed
    said = items(early, "briefings")
    assert ("9月已报送简报信息 3 篇（本月尚未结束，月底后计分）", 0, (3,)) in said
    assert any(text.startswith("8月报送简报信息 8 篇，达标") and got > 0 for text, got, _ in said)
    final = score("2020-09", summaries=evidence["summaries"], briefings=evidence["briefings"])
    assert final.row("枣强县").component("q3_tasks").closed and points(final, "q3_tasks") > 0
    assert any(text.startswith("9月报送简报信息 3 篇，未达到") for text, _, _ in items(final, "briefings"))


def test_a_june_summary_sent_in_july_is_said_not_to_count_for_the_end_of_june():
    """GIVEN May's 附件2 on time and June's sent on 3 July WHEN July's standings are computed THEN Q2's tasks are
    May's figures, and a line worth nothing says June's came after the end of June and does not count."""
    reports = [
        SummaryReport("枣强县", at("2020-05-15T10:00:00+08:00"), 5, "2020-05", {"rehab": 10}),
        SummaryReport("枣强县", at("2020-07-03T09:00:00+08:00"), 6, "2020-06", dict(ALL_DONE)),
    ]
    july = items(score("2020-07", summaries=reports), "q2_tasks")
    assert july[0] == ("截至6月底康复服务完成 10/179，未达到 50%", 0, (5,))
    assert july[-1] == ("6月份附件2于7月3日 09:00 收到，晚于6月底，不计入以上完成数", 0, (6,))
    assert items(score("2020-06", summaries=reports), "q2_tasks")[-1][2] == (5,)  # June's own standings: not yet
