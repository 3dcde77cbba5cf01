"""Cumulative task completion read from 附件2, and the honesty checks on it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from parsers.records import TASKS, Unit
from scoring.evidence import TASK_LABELS, Finding, SummaryReport


def _order(report: SummaryReport) -> tuple[datetime, int]:
    # Two 附件2 with the same arrival instant: the one archived later (higher id) is the newer.
    return (report.arrival, report.message_id)


def _month_order(report: SummaryReport) -> tuple[str, datetime, int]:
    """By the month a 附件2 reports, never later than its arrival's (10月份报表 sent on September 10 is September's
    mistyped: the resend titled 9月 two days later is newer), then as _order."""
    arrived = f"{report.arrival:%Y-%m}"
    return (min(report.month or arrived, arrived), *_order(report))


@dataclass(frozen=True)
class Figures:
    """A unit's 完成数 per task as of an instant: its latest 附件2's (`message_id`). A task whose 完成数 that 附件2
    could not read (a formula without its saved result) is the last figure an earlier one gave (`earlier`: task →
    that 附件2's message id), else it is in `unread` (its figure None)."""

    done: Mapping[str, int | None]
    message_id: int
    earlier: Mapping[str, int] = field(default_factory=dict)
    unread: frozenset[str] = frozenset()


def completion_as_of(unit: str, summaries: Iterable[SummaryReport], instant: datetime) -> Figures | None:
    """The unit's figures from its 附件2 received on or before `instant`: the newest month's (of one month, the last
    to arrive: a corrected resend), each task it could not read from the last one that gave it. Figures are
    cumulative, so a correction of April's sent in late June is April's, not the June figures (SPEC: "the latest
    附件2 figures … as of the end of June")."""
    candidates = sorted((s for s in summaries if s.unit == unit and s.arrival <= instant), key=_month_order)
    if not candidates:
        return None
    latest = candidates[-1]
    done, earlier = dict(latest.done), {}
    for task in latest.unread:
        given = (s for s in reversed(candidates) if task not in s.unread and s.done.get(task) is not None)
        if (source := next(given, None)) is not None:
            done[task], earlier[task] = source.done[task], source.message_id
    return Figures(done, latest.message_id, earlier, latest.unread - earlier.keys())


@dataclass(frozen=True)
class TaskFigure:
    """One task of a unit's 附件2 as of an instant: the city's target and the unit's 完成数."""

    task: str
    target: int
    done: int | None
    share: float | None  # done / target; None when the target is 0 or nothing was reported


@dataclass(frozen=True)
class UnitCompletion:
    """A unit's task completion from its latest 附件2 received by an instant (the digest's table, the web's bars)."""

    unit: str
    tasks: tuple[TaskFigure, ...]  # in TASKS order
    message_id: int | None = None
    arrival: datetime | None = None

    def figure(self, task: str) -> TaskFigure:
        return next(figure for figure in self.tasks if figure.task == task)


def unit_completion(unit: Unit, summaries: Sequence[SummaryReport], instant: datetime, year: int) -> UnitCompletion:
    """The unit's figures as of `instant`. They are cumulative within the plan year: only `year`'s 附件2
    count (SummaryReport.year). Arrival is given in `instant`'s time zone."""
    this_year = [s for s in summaries if s.year == year]
    latest = completion_as_of(unit.name, this_year, instant)
    done: Mapping[str, int | None] = latest.done if latest else {}
    tasks = tuple(task_figure(task, unit.target(task), done.get(task)) for task in TASKS)
    if latest is None:
        return UnitCompletion(unit.name, tasks)
    arrival = next(s.arrival for s in this_year if s.message_id == latest.message_id)
    return UnitCompletion(unit.name, tasks, latest.message_id, arrival.astimezone(instant.tzinfo))


def task_figure(task: str, target: int, done: int | None) -> TaskFigure:
    return TaskFigure(task, target, done, done / target if target > 0 and done is not None else None)


def completion_total(completion: Sequence[UnitCompletion]) -> UnitCompletion:
    """The 合计 row: targets and 完成数 summed over the units (a unit with nothing reported adds 0)."""
    tasks = []
    for index, task in enumerate(TASKS):
        figures = [unit.tasks[index] for unit in completion]
        reported = [figure.done for figure in figures if figure.done is not None]
        tasks.append(task_figure(task, sum(figure.target for figure in figures), sum(reported) if reported else None))
    return UnitCompletion("合计", tuple(tasks))


@dataclass(frozen=True)
class Decrease:
    """A task's cumulative 完成数 lower in a unit's 附件2 (`message_id`) than in the one before (`before_id`)."""

    unit: str
    task: str
    before: int
    before_id: int
    value: int
    message_id: int
    same_month: bool  # a resend of the month before's month (most often its correction), not the next month's


def decreases(summaries: Iterable[SummaryReport]) -> list[Decrease]:
    """Cumulative 完成数 that went down between two successive 附件2 of a unit: month to month (SPEC), a month's by
    arrival (a unit catching up sends November's after December's: its lower figure went down from nothing).

    Figures start again from zero each plan year (SummaryReport.year): a year's reports are compared among
    themselves. An empty cell is skipped, the next figure is compared with the last one given."""
    by_unit: dict[tuple[str, int], list[SummaryReport]] = {}
    for report in summaries:
        by_unit.setdefault((report.unit, report.year), []).append(report)
    found = []
    for (unit, _), reports in by_unit.items():
        last: dict[str, tuple[int, int, str]] = {}
        for report in sorted(reports, key=_month_order):
            month = _month_order(report)[0]
            for task in TASKS:
                value = report.done.get(task)
                if value is None:
                    continue
                before = last.get(task)
                if before is not None and value < before[0]:
                    same = before[2] == month
                    found.append(Decrease(unit, task, before[0], before[1], value, report.message_id, same))
                last[task] = (value, report.message_id, month)
    return found


def honesty_findings(summaries: Iterable[SummaryReport]) -> tuple[Finding, ...]:
    """The decreases, as findings: shown, never applied."""
    return tuple(
        Finding(
            drop.unit,
            "completion_decreased",
            f"{drop.unit}{TASK_LABELS[drop.task]}累计完成数由 {drop.before} 降为 {drop.value}"
            f"（附件2 #{drop.before_id} → #{drop.message_id}），完成数应逐月累计",
            (drop.before_id, drop.message_id),
        )
        for drop in decreases(summaries)
    )
