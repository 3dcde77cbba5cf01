"""The monthly standings: every unit's cumulative score as of the last instant of a month, ranked."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from parsers.records import Unit
from scoring.briefings import BriefingCounts, briefing_counts
from scoring.components import (
    briefing_component,
    on_time_component,
    staff_component,
    task_component,
    task_rules,
)
from scoring.evidence import Article, Component, FormArrival, StaffEntry, SummaryReport
from scoring.packages import by_unit
from scoring.settings import INNOVATION_LEVELS, MEDIA_LEVELS, Calendar, Scoring, parse_month

COMPONENTS = ("q2_tasks", "q2_on_time", "q3_tasks", "q3_on_time", "q4_exceed", "briefings", "media", "innovation")
COMPONENT_LABELS = {
    "q2_tasks": "二季度任务完成",
    "q2_on_time": "二季度按时报送",
    "q3_tasks": "三季度任务完成",
    "q3_on_time": "三季度按时报送",
    "q4_exceed": "四季度超额完成",
    "briefings": "简报信息",
    "media": "媒体报道",
    "innovation": "创新性工作",
}


@dataclass(frozen=True)
class UnitStanding:
    """One unit's line: total, shared rank, and the components in COMPONENTS order."""

    unit: str
    total: int
    rank: int
    components: tuple[Component, ...]

    def component(self, name: str) -> Component:
        for item in self.components:
            if item.name == name:
                return item
        raise KeyError(f"no component {name!r}; components are {', '.join(COMPONENTS)}")


@dataclass(frozen=True)
class Standings:
    """The standings of `month`, as of its last instant, best first (ties in the units' given order)."""

    month: str
    as_of: datetime
    rows: tuple[UnitStanding, ...]

    def row(self, unit: str) -> UnitStanding:
        for row in self.rows:
            if row.unit == unit:
                return row
        raise KeyError(f"no unit {unit!r} in the standings of {self.month}")


def unit_components(
    unit: Unit,
    month: str,
    arrivals: Sequence[FormArrival],
    summaries: Sequence[SummaryReport],
    counts: BriefingCounts,
    entries: Sequence[StaffEntry],
    scoring: Scoring,
    calendar: Calendar,
    as_of: datetime | None = None,
) -> tuple[Component, ...]:
    """All of a unit's components for the standings of `month` as known at `as_of` (its last instant when
    None), in COMPONENTS order."""
    as_of = as_of or calendar.month_end(month)
    q2_tasks, q3_tasks, q4_exceed = (
        task_component(rule, unit, summaries, scoring, calendar, as_of) for rule in task_rules(scoring)
    )
    return (
        q2_tasks,
        on_time_component("q2_on_time", "第二季度", (4, 5, 6), unit, arrivals, scoring, calendar, as_of),
        q3_tasks,
        on_time_component("q3_on_time", "第三季度", (7, 8, 9), unit, arrivals, scoring, calendar, as_of),
        q4_exceed,
        briefing_component(unit, counts, scoring, calendar, month, as_of),
        staff_component(
            "media", unit, entries, dict(scoring.media_points), MEDIA_LEVELS, scoring.media_cap, calendar, month
        ),
        staff_component(
            "innovation",
            unit,
            entries,
            dict(scoring.innovation_points),
            INNOVATION_LEVELS,
            scoring.innovation_cap,
            calendar,
            month,
        ),
    )


def rank(totals: Sequence[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """(unit, total, rank), best first; equal totals share a rank (1, 2, 2, 4) and keep their given order."""
    ordered = sorted(enumerate(totals), key=lambda pair: (-pair[1][1], pair[0]))
    ranked: list[tuple[str, int, int]] = []
    for position, (_, (unit, total)) in enumerate(ordered, start=1):
        shared = ranked[-1][2] if ranked and ranked[-1][1] == total else position
        ranked.append((unit, total, shared))
    return ranked


def standings(
    month: str,
    units: Sequence[Unit],
    arrivals: Iterable[FormArrival],
    summaries: Iterable[SummaryReport],
    articles: Iterable[Article],
    staff_entries: Iterable[StaffEntry],
    scoring: Scoring,
    calendar: Calendar,
    known_at: datetime | None = None,
) -> Standings:
    """The standings of `month` (cumulative score as of its last instant) for the units given.

    Evidence after that instant is ignored, so the standings of a past month never change. Only the plan
    year's 附件2 count (SummaryReport.year): the figures are cumulative within a year. `known_at`: the standings
    as known at that instant, before the month has ended (the digest of the 21st): a component whose
    evaluation closes after it is not closed yet, and the month's own briefings are not yet counted.
    """
    parse_month(month)
    as_of = calendar.month_end(month)
    if known_at is not None and known_at < as_of:
        as_of = known_at.astimezone(calendar.timezone)  # shown as the month's end is: local time
    arrivals_of = by_unit(arrivals)
    summaries_of = by_unit(s for s in summaries if s.year == calendar.year and s.arrival <= as_of)
    counts = briefing_counts((a for a in articles if a.arrival <= as_of), calendar)
    entries = tuple(staff_entries)
    components = {
        unit.name: unit_components(
            unit,
            month,
            arrivals_of.get(unit.name, ()),
            summaries_of.get(unit.name, ()),
            counts,
            entries,
            scoring,
            calendar,
            as_of,
        )
        for unit in units
    }
    totals = [(unit.name, sum(c.points for c in components[unit.name])) for unit in units]
    rows = tuple(UnitStanding(name, total, position, components[name]) for name, total, position in rank(totals))
    return Standings(month, as_of, rows)
