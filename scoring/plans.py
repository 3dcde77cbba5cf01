"""Plans by year: each plan year has its own calendar (deadline, forms, report months), scoring rules and
units with their targets. Every month is scored under the plan of its year; a month no plan covers is
refused, never scored under another year's plan."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from parsers.errors import InputError
from parsers.records import Unit
from scoring.settings import Calendar, Scoring, month_label, parse_month


class OutsidePlan(InputError):
    """A month (or a year) no plan covers: "2021-03 不在任何年度计划内"."""


@dataclass(frozen=True)
class Plan:
    """One plan year: its calendar, its scoring rules and the units it covers, each with that year's targets."""

    calendar: Calendar
    scoring: Scoring
    units: tuple[Unit, ...]

    @property
    def year(self) -> int:
        return self.calendar.year

    @property
    def months(self) -> tuple[str, ...]:
        """The months the plan covers: those with a package, first_report_month to December."""
        return self.calendar.report_months()

    def unit(self, name: str) -> Unit:
        for unit in self.units:
            if unit.name == name:
                return unit
        raise InputError(f"{name} 不在 {self.year} 年的计划内（该年的单位：{'、'.join(u.name for u in self.units)}）")

    @property
    def fingerprint(self) -> str:
        """What the year's figures are computed under (its calendar, rules, units and targets), as a short
        hash: a closed year keeps it beside its figures."""
        return hashlib.sha256(repr(self).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Plans:
    """Every plan year of the configuration, ascending."""

    plans: tuple[Plan, ...]

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(plan.year for plan in self.plans)

    def year(self, year: int) -> Plan:
        for plan in self.plans:
            if plan.year == year:
                return plan
        raise OutsidePlan(f"{year} 年不在任何年度计划内（{self.covered()}）")

    def of(self, month: str) -> Plan:
        """The plan of `month`'s year, when it covers the month; else OutsidePlan, saying so."""
        year, _ = parse_month(month)
        for plan in self.plans:
            if plan.year == year and month in plan.months:
                return plan
        raise OutsidePlan(f"{month} 不在任何年度计划内（{self.covered()}）")

    def covers(self, month: str) -> bool:
        year, _ = parse_month(month)
        return any(plan.year == year and month in plan.months for plan in self.plans)

    def months(self) -> tuple[str, ...]:
        """Every month a plan covers, ascending."""
        return tuple(month for plan in self.plans for month in plan.months)

    def around(self, month: str) -> tuple[str | None, str | None]:
        """The covered months just before and just after `month` (None: there is none)."""
        months = self.months()
        before = [each for each in months if each < month]
        after = [each for each in months if each > month]
        return (before[-1] if before else None), (after[0] if after else None)

    def nearest_month(self, month: str) -> str:
        """`month` when covered; else the last covered month before it; else the first covered month."""
        if self.covers(month):
            return month
        before, after = self.around(month)
        return before or after  # type: ignore[return-value]  # a configuration always holds a plan

    def at(self, instant: datetime) -> Plan:
        """The plan that rules what happens at `instant` when no month says otherwise (what a clerk's
        self-check checks against): the plan of the nearest covered month."""
        zone = self.plans[0].calendar.timezone
        return self.of(self.nearest_month(f"{instant.astimezone(zone):%Y-%m}"))

    def covered(self) -> str:
        """The covered months as people read them: "计划覆盖 2020年4月至2020年12月、2021年4月至2021年12月"."""
        return "计划覆盖 " + "、".join(
            f"{month_label(plan.months[0])}至{month_label(plan.months[-1])}" for plan in self.plans
        )
