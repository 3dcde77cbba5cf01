"""The scores as the command line and the web app show them: standings, the month's matrix and a unit's
explanation, computed from the archive's evidence with the config's rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from archive.evidence import Evidence
from bot.config import Config
from parsers.errors import InputError
from scoring.completion import UnitCompletion, unit_completion
from scoring.evidence import Point
from scoring.packages import PackageStatus, matrix
from scoring.standings import COMPONENT_LABELS, Standings, UnitStanding, standings

STATUS_NAMES = {"on_time": "按时", "late": "迟报", "missing": "未报"}
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def compute_standings(config: Config, evidence: Evidence, month: str) -> Standings:
    """The standings of `month` under the plan of its year; a month no plan covers is refused (OutsidePlan)."""
    plan = config.plan(month)
    return standings(month, plan.units, evidence.arrivals, evidence.summaries, evidence.articles,
                     evidence.entries, plan.scoring, plan.calendar)


def standings_json(result: Standings) -> dict[str, Any]:
    return {"month": result.month, "as_of": result.as_of.isoformat(),
            "units": [{"unit": row.unit, "rank": row.rank, "total": row.total,
                       "components": {item.name: item.points for item in row.components}}
                      for row in result.rows]}


def month_completion(config: Config, evidence: Evidence, month: str) -> tuple[UnitCompletion, ...]:
    """Each unit's 附件2 figures as of the last instant of `month` (its plan year's 附件2 only)."""
    plan = config.plan(month)
    return tuple(unit_completion(unit, evidence.summaries, plan.calendar.month_end(month), plan.year)
                 for unit in plan.units)


def month_matrix(config: Config, evidence: Evidence, month: str, now: datetime) -> dict[str, PackageStatus]:
    """Each unit's package for `month` as known at `now`: a form not in yet is missing, one in late is late."""
    plan = config.plan(month)
    return matrix(month, plan.units, evidence.arrivals, plan.calendar, now)


def matrix_json(month: str, packages: dict[str, PackageStatus]) -> dict[str, Any]:
    return {"month": month, "units": {
        unit: {"status": package.status,
               "forms": {str(form.form): {"status": form.status,
                                          "arrival": form.arrival.isoformat() if form.arrival else None,
                                          "message_id": form.message_id} for form in package.forms}}
        for unit, package in packages.items()}}


def unit_name(config: Config, name: str) -> str:
    """The configured name of a unit given by its name or an alias (桃城 → 桃城区)."""
    for unit in config.units:
        if name == unit.name or name in unit.aliases:
            return unit.name
    raise InputError(f"没有名为 {name} 的单位；单位有：{'、'.join(unit.name for unit in config.units)}")


@dataclass(frozen=True)
class ExplainedComponent:
    """One component of a unit's score with its label and every point behind it."""

    name: str
    label: str
    points: int
    closed: bool
    items: tuple[Point, ...]


def explain_unit(config: Config, evidence: Evidence, unit: str, month: str) -> tuple[UnitStanding,
                                                                                      tuple[ExplainedComponent, ...]]:
    """UNIT's line of the standings of MONTH and its components, each point with its messages and entries."""
    name = config.plan(month).unit(unit_name(config, unit)).name  # a unit outside the year's plan is refused
    row = compute_standings(config, evidence, month).row(name)
    return row, tuple(ExplainedComponent(item.name, COMPONENT_LABELS[item.name], item.points, item.closed, item.items)
                      for item in row.components)
