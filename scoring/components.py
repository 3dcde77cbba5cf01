"""The plan's scoring components for one unit, each with the points it earned and why.

A builder returns an open component (no points yet) while its evaluation lies after the standings'
instant `as_of`, the last instant of the month being ranked.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction

from parsers.form_layouts import form_list
from parsers.privacy import find_personal
from parsers.records import TASKS, Unit
from scoring.briefings import BriefingCounts
from scoring.completion import Figures, completion_as_of
from scoring.evidence import (
    TASK_LABELS,
    Component,
    FormArrival,
    Point,
    StaffEntry,
    SummaryReport,
    component,
    sorted_ids,
)
from scoring.packages import PackageStatus, package_status
from scoring.settings import Calendar, Scoring, time_of_day

QUARTER_TASKS = tuple(task for task in TASKS if task != "college")


@dataclass(frozen=True)
class TaskRule:
    """Task completion judged at the end of `month`: ≥ share × target, or strictly above it if share
    is None; `points` per task, at most `cap` in all."""

    name: str
    month: int
    tasks: tuple[str, ...]
    share: float | None
    points: int
    cap: int | None = None


def task_rules(scoring: Scoring) -> tuple[TaskRule, ...]:
    return (
        TaskRule("q2_tasks", 6, QUARTER_TASKS, scoring.q2_completion, scoring.task_points),
        TaskRule("q3_tasks", 9, QUARTER_TASKS, scoring.q3_completion, scoring.task_points),
        TaskRule("q4_exceed", 12, TASKS, None, scoring.q4_task_points, scoring.q4_cap),
    )


def full_marks(scoring: Scoring) -> int:
    """The most a unit can earn in a year under these settings: 100 under the plan's own."""
    tasks = 0
    for rule in task_rules(scoring):
        most = len(rule.tasks) * rule.points
        tasks += most if rule.cap is None else min(most, rule.cap)
    return (
        tasks
        + 2 * scoring.on_time_points
        + len(scoring.briefing_months) * scoring.briefing_points
        + scoring.media_cap
        + scoring.innovation_cap
    )


UNREAD = "是公式，文件里没有保存计算结果"  # a 完成数 the latest 附件2 holds so (scoring.completion.Figures)


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


def _task_point(
    unit: Unit, task: str, figures: Figures | None, rule: TaskRule, zero_target_earns: bool, month_label: str
) -> Point:
    label, target = TASK_LABELS[task], unit.target(task)
    ids = (figures.message_id,) if figures else ()
    if target <= 0:
        if zero_target_earns:
            return Point(f"{label}全年目标为 0，按规定计分", rule.points, ids)
        return Point(f"{label}全年目标为 0，不计分", 0, ids)
    if figures is None:
        return Point(f"截至{month_label}底未收到附件2，{label}不计分", 0)
    if task in figures.unread:
        return Point(
            f"截至{month_label}底附件2的{label}完成数{UNREAD}，无法读取，此前的附件2也没有可读取的数字，不计分", 0, ids
        )
    done = figures.done.get(task)
    if done is None:
        return Point(f"截至{month_label}底附件2未填报{label}完成数，不计分", 0, ids)
    note = ""
    if task in figures.earlier:  # the latest 附件2's could not be read: the figure is an earlier one's
        ids, note = (figures.earlier[task], *ids), f"（最新附件2的完成数{UNREAD}，无法读取，按此前附件2的数字）"
    if rule.share is None:
        met, goal = done > target, "超过全年目标"
    else:
        met, goal = done >= Fraction(repr(rule.share)) * target, f"达到 {_percent(rule.share)}"
    verdict = goal if met else f"未{goal}"
    return Point(f"截至{month_label}底{label}完成 {done}/{target}，{verdict}{note}", rule.points if met else 0, ids)


def capped(items: list[Point], cap: int | None, what: str) -> list[Point]:
    """The items, plus a negative item taking the total down to the cap when it is over."""
    total = sum(item.points for item in items)
    if cap is not None and total > cap:
        return [*items, Point(f"{what}以 {cap} 分封顶", cap - total)]
    return items


def task_component(
    rule: TaskRule,
    unit: Unit,
    summaries: Sequence[SummaryReport],
    scoring: Scoring,
    calendar: Calendar,
    as_of: datetime,
) -> Component:
    month = f"{calendar.year}-{rule.month:02d}"
    instant = calendar.month_end(month)
    if instant > as_of:
        return Component(rule.name, 0, (), closed=False)
    figures = completion_as_of(unit.name, summaries, instant)
    label = calendar.month_name(month)
    items = [_task_point(unit, task, figures, rule, scoring.zero_target_earns, label) for task in rule.tasks]
    items = capped(items, rule.cap, "超额完成加分")
    return component(rule.name, items + arrived_after(unit, summaries, month, calendar, as_of))


def arrived_after(
    unit: Unit, summaries: Sequence[SummaryReport], month: str, calendar: Calendar, as_of: datetime | None
) -> list[Point]:
    """A line, worth nothing, for each of the unit's 附件2 of `month` or before that came after the month's end, by
    `as_of` (ever, when None): a June package sent in July, December's corrected in January (`explain` says those,
    the standings of December ending with December). Figures as of the end of a month are those received by
    then; the later ones are said not to count, rather than seem overlooked."""
    instant = calendar.month_end(month)
    later = sorted(
        (
            summary
            for summary in summaries
            if summary.unit == unit.name
            and summary.month is not None
            and f"{calendar.year}-01" <= summary.month <= month
            and instant < summary.arrival
            and (as_of is None or summary.arrival <= as_of)
        ),
        key=lambda summary: (summary.arrival, summary.message_id),
    )
    return [
        Point(
            f"{calendar.month_name(str(summary.month))}份附件2于{_local(summary.arrival, calendar)} 收到，"
            f"晚于{calendar.month_name(month)}底，不计入以上完成数",
            0,
            (summary.message_id,),
        )
        for summary in later
    ]


def _local(instant: datetime, calendar: Calendar) -> str:
    local = instant.astimezone(calendar.timezone)
    return f"{local.month}月{local.day}日 {time_of_day(local, calendar.deadline_time)}"


def _late_text(package: PackageStatus, calendar: Calendar) -> str:
    """Late forms grouped by the message that brought them: "附件1、附件2 于5月21日 00:00 收到"."""
    by_message: dict[int, list[int]] = {}
    when: dict[int, datetime] = {}
    for form in package.forms:
        if form.status == "late" and form.message_id is not None and form.arrival is not None:
            by_message.setdefault(form.message_id, []).append(form.form)
            when[form.message_id] = form.arrival
    return "，".join(
        form_list(forms) + f" 于{_local(when[mid], calendar)} 收到"
        for mid, forms in sorted(by_message.items(), key=lambda pair: when[pair[0]])
    )


def _package_point(package: PackageStatus, calendar: Calendar, deduction: int) -> Point:
    name = f"{calendar.month_name(package.month)}份报表"
    if package.status == "on_time":
        return Point(f"{name}按时报送", 0, package.message_ids)
    late_ids = sorted_ids(f.message_id for f in package.forms if f.status == "late" and f.message_id is not None)
    if package.status == "late":
        return Point(f"{name}迟报：{_late_text(package, calendar)}", -deduction, late_ids)
    text = "缺" + form_list(package.forms_with("missing"))
    if late_ids:
        text += f"；迟报 {_late_text(package, calendar)}"
    return Point(f"{name}漏报：{text}", -deduction, package.message_ids)  # the mail that brought the rest


def on_time_component(
    name: str,
    quarter: str,
    months: tuple[int, ...],
    unit: Unit,
    arrivals: Sequence[FormArrival],
    scoring: Scoring,
    calendar: Calendar,
    as_of: datetime,
) -> Component:
    """on_time_points, minus on_time_deduction per report month late or incomplete, never below 0.

    Closed once the last month's deadline has passed. A month's package is judged as known at `as_of`.
    """
    if calendar.deadline_for(f"{calendar.year}-{months[-1]:02d}") > as_of:
        return Component(name, 0, (), closed=False)
    report = [f"{calendar.year}-{m:02d}" for m in months if m >= calendar.first_report_month]
    if not report:  # a plan whose reporting starts after the quarter: nothing to report on time, nothing earned
        first = calendar.first_report_month
        return component(name, [Point(f"{quarter}不在本年度计划的报送月份内（{first}–12 月），不计按时上报分", 0)])
    packages = [package_status(unit.name, month, arrivals, calendar, as_of) for month in report]
    on_time_ids = sorted_ids(i for p in packages if p.status == "on_time" for i in p.message_ids)
    items = [Point(f"{quarter}每月按时上报计 {scoring.on_time_points} 分", scoring.on_time_points, on_time_ids)]
    items += [_package_point(package, calendar, scoring.on_time_deduction) for package in packages]
    total = sum(item.points for item in items)
    if total < 0:
        items.append(Point(f"{quarter}迟报漏报扣分以 0 分为限", -total))
    return component(name, items)


def briefing_component(
    unit: Unit, counts: BriefingCounts, scoring: Scoring, calendar: Calendar, month: str, as_of: datetime | None = None
) -> Component:
    """briefing_points for each briefing month up to `month` with at least briefings_per_month articles; a
    month not yet ended at `as_of` is said so, with no points yet (its articles may still come); with no month
    ended, the component is not closed yet."""
    items = []
    ended = False
    for number in scoring.briefing_months:
        key = f"{calendar.year}-{number:02d}"
        if key > month:
            continue
        count, ids = counts.get((unit.name, key), (0, ()))
        label = calendar.month_name(key)
        if as_of is not None and calendar.month_end(key) > as_of:
            items.append(Point(f"{label}已报送简报信息 {count} 篇（本月尚未结束，月底后计分）", 0, ids))
            continue
        ended = True
        met = count >= scoring.briefings_per_month
        verdict = "达标" if met else f"未达到 {scoring.briefings_per_month} 篇"
        items.append(Point(f"{label}报送简报信息 {count} 篇，{verdict}", scoring.briefing_points if met else 0, ids))
    if items and not ended:
        return Component("briefings", 0, (), closed=False)
    return component("briefings", items)


def _short(text: str, limit: int = 60) -> str:
    """At most `limit` characters; a personal number the cut would split is left out whole (half a number
    escapes masking: its visible half would be the digits that masking hides)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = limit - 1
    for number in find_personal(text):
        if number.start < cut < number.end:
            cut = number.start
    return text[:cut].rstrip() + "…"


def normalise_evidence(text: str) -> str:
    """Evidence compared for duplicates: full-width folded, case-folded, all whitespace removed."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def staff_component(
    name: str,
    unit: Unit,
    entries: Iterable[StaffEntry],
    points: Mapping[str, int],
    labels: Mapping[str, str],
    cap: int,
    calendar: Calendar,
    month: str,
) -> Component:
    """Staff entries of `name`'s kind for the unit, dated within the plan year up to the end of
    `month`, not revoked; the same evidence counts once (the earliest entry); capped."""
    start, end = date(calendar.year, 1, 1), calendar.month_end(month).date()
    chosen = sorted(
        (e for e in entries if e.unit == unit.name and e.kind == name and not e.revoked and start <= e.date <= end),
        key=lambda e: (e.date, e.id),
    )
    first_with: dict[str, int] = {}
    items = []
    for entry in chosen:
        what = f"{labels.get(entry.level, entry.level)}：{_short(entry.evidence)}"
        key = normalise_evidence(entry.evidence)
        if entry.level not in points:
            items.append(Point(f"{what}（级别未设分值，不计分）", 0, staff_entry_ids=(entry.id,)))
        elif key in first_with:
            items.append(Point(f"{what}（与登记 #{first_with[key]} 重复，不重复计分）", 0, staff_entry_ids=(entry.id,)))
        else:
            first_with[key] = entry.id
            items.append(Point(what, points[entry.level], staff_entry_ids=(entry.id,)))
    return component(name, capped(items, cap, "媒体报道加分" if name == "media" else "创新性工作加分"))
