"""The scores as the command line and the web app show them: standings, the month's matrix and a unit's
explanation, computed from the archive's evidence with the rules of the month's plan; a closed year's months
as they were kept, with what today's derivation and configuration would change."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from archive.closing import kept_month
from archive.decisions import Decision
from archive.decisions import unit_decisions as decisions_of_unit
from archive.evidence import Evidence
from archive.models import ClosedYear
from bot.config import Config
from bot.services.show import decision_json
from parsers.errors import InputError
from parsers.records import Unit, named_unit
from scoring.completion import UnitCompletion, unit_completion
from scoring.evidence import StaffEntry
from scoring.packages import PackageStatus, by_unit, matrix
from scoring.plans import OutsidePlan
from scoring.standings import COMPONENT_LABELS, Standings, UnitStanding, standings

STATUS_NAMES = {"on_time": "按时", "late": "迟报", "missing": "未报"}
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def compute_standings(config: Config, evidence: Evidence, month: str, known_at: datetime | None = None) -> Standings:
    """The standings of `month` under the plan of its year; a month no plan covers is refused (OutsidePlan).
    `known_at`: as known at that instant when the month has not ended yet (scoring.standings)."""
    plan = config.plan(month)
    return standings(
        month,
        plan.units,
        evidence.arrivals,
        evidence.summaries,
        evidence.articles,
        by_todays_names(evidence.entries, plan.units),
        plan.scoring,
        plan.calendar,
        known_at,
    )


def by_todays_names(entries: tuple[StaffEntry, ...], units: Sequence[Unit]) -> tuple[StaffEntry, ...]:
    """Staff entries as the plan year's `units` call their units: one entered for a unit renamed since (its old
    name now an alias of the new) is the renamed unit's, as a correction's unit is (archive.rederive.today_name).
    A unit's own name wins over another's alias."""
    names = {spelling: unit.name for unit in units for spelling in unit.aliases}
    names |= {unit.name: unit.name for unit in units}
    return tuple(dataclasses.replace(entry, unit=names.get(entry.unit, entry.unit)) for entry in entries)


def standings_json(result: Standings, kept: Kept | None = None) -> dict[str, Any]:
    """The standings as `mailroom standings --json` prints them and `--xlsx` writes them (a closed year's month
    as `kept`, "closed"). A component whose evaluation has not closed yet is null, the table's "—": its 0 points
    mean nothing scored yet, and an exported 0 reads as points lost."""
    return {
        "month": result.month,
        "as_of": result.as_of.isoformat(),
        "units": [
            {
                "unit": row.unit,
                "rank": row.rank,
                "total": row.total,
                "components": {item.name: item.points if item.closed else None for item in row.components},
            }
            for row in result.rows
        ],
    } | ({"closed": kept.json()} if kept else {})


def month_completion(config: Config, evidence: Evidence, month: str) -> tuple[UnitCompletion, ...]:
    """Each unit's 附件2 figures as of the last instant of `month` (its plan year's 附件2 only)."""
    plan = config.plan(month)
    summaries_of = by_unit(evidence.summaries)
    return tuple(
        unit_completion(unit, summaries_of.get(unit.name, ()), plan.calendar.month_end(month), plan.year)
        for unit in plan.units
    )


def month_matrix(config: Config, evidence: Evidence, month: str, now: datetime) -> dict[str, PackageStatus]:
    """Each unit's package for `month` as known at `now`: a form not in yet is missing, one in late is late."""
    plan = config.plan(month)
    return matrix(month, plan.units, evidence.arrivals, plan.calendar, now)


def matrix_json(month: str, packages: dict[str, PackageStatus]) -> dict[str, Any]:
    return {
        "month": month,
        "units": {
            unit: {
                "status": package.status,
                "forms": {
                    str(form.form): {
                        "status": form.status,
                        "arrival": form.arrival.isoformat() if form.arrival else None,
                        "message_id": form.message_id,
                    }
                    for form in package.forms
                },
            }
            for unit, package in packages.items()
        },
    }


def unit_name(config: Config, name: str, month: str | None = None) -> str:
    """The configured name of a unit given by its name or an alias (桃城 → 桃城区), spacing and width aside, as
    every command and page takes it (parsers.records.named_unit): among the units of `month`'s plan year first,
    where a renamed unit's old name, kept as its alias, is the renamed unit's (units of different years may share
    a name or an alias, as recognition reads them: parsers.derive.Recognizer.year_units), then among all."""
    first = config.plan(month).units if month is not None and config.plans.covers(month) else ()
    return named_unit(config.units, name, first).name


def unit_row(config: Config, result: Standings, unit: str, kept: Kept | None = None) -> UnitStanding:
    """UNIT's line of `result`, UNIT given by its name or an alias. A closed year's month (`kept`) is looked up
    among the units kept when it was closed, by the name asked for, or today's name or any alias of the unit
    it names today: a unit renamed since (name = "景州市", aliases = ["景县", …]) is found by either name and
    shown by the name it was kept under. InputError, in Chinese, for a unit not there."""
    if kept is None:
        return result.row(config.plan(result.month).unit(unit_name(config, unit, result.month)).name)
    rows = {row.unit: row for row in result.rows}
    names = [unit]
    try:
        today = named_unit(config.units, unit)
    except InputError:
        pass  # a unit no longer configured at all is still found by the name it was kept under
    else:
        names += [kept.kept_name(today.name), today.name, *today.aliases]
    for name in names:
        if name in rows:
            return rows[name]
    raise InputError(f"{unit} 不在 {kept.year} 年结账时保存的结果内（该年的单位：{'、'.join(rows)}）")


def unit_decisions(session: Session, unit: str, kept: Kept | None, month: str, zone: ZoneInfo) -> list[dict[str, Any]]:
    """The staff decisions behind `unit`'s figures up to `month` (archive.decisions.unit_decisions: those that
    moved a message away from it too), as bot.services.show.decision_json gives them. A closed year's (`kept`):
    those in force when it was closed, which its kept figures stand on (one revoked since says so), and those
    entered since, which change no kept figure (they say so); for a unit renamed since, under today's name too."""
    return [said for _, said in decisions_behind(session, unit, kept, month, zone)]


def decisions_behind(
    session: Session, unit: str, kept: Kept | None, month: str, zone: ZoneInfo
) -> list[tuple[Decision, dict[str, Any]]]:
    """unit_decisions, each with its record (archive.decisions.Decision), oldest first."""
    today = kept.today_name(unit) if kept else None
    names = [unit] + ([today] if today and today != unit else [])
    found: dict[tuple[str, int], tuple[Decision, dict[str, Any]]] = {}
    for at in [kept.closed_at, None] if kept else [None]:
        for name in names:
            for decision in decisions_of_unit(session, name, month, zone, at):
                key = ("correction" if decision.is_correction else "sender", decision.row.id)
                found.setdefault(key, (decision, _decision_said(decision, zone, kept)))
    return sorted(found.values(), key=lambda pair: pair[1]["entered_at"])


def _decision_said(decision: Decision, zone: ZoneInfo, kept: Kept | None) -> dict[str, Any]:
    """A decision as `show --json` gives it; for a closed year, its `what` says how it stands to the kept figures
    (as the staff's note on a correction of a closed year says: they do not change)."""
    said = decision_json(decision, zone)
    row = decision.row
    if kept is not None and row.entered_at > kept.closed_at:
        said["what"] += "；结账后登记，不改变结账时保存的结果"
    elif kept is not None and row.revoked_at is not None:
        said["what"] += f"；结账后已于 {row.revoked_at.astimezone(zone):%Y-%m-%d} 撤销，结账时保存的结果仍以此为准"
    return said


def kept_names(config: Config, year: int, kept_units: Iterable[str]) -> dict[str, str]:
    """Today's name of each unit of `year`'s plan → the name it was kept under when the year was closed: a unit
    renamed since (name = "景州市", aliases = ["景县", …]) by the alias that was its name then. A unit that
    matches nothing kept is left out."""
    kept = list(kept_units)
    try:
        units = config.plans.year(year).units
    except OutsidePlan:
        return {}
    today = {unit.name for unit in units}
    names: dict[str, str] = {}
    for unit in units:
        if unit.name in kept:
            names[unit.name] = unit.name
            continue
        taken = set(names.values())
        alias = next((a for a in unit.aliases if a in kept and a not in today and a not in taken), None)
        if alias is not None:
            names[unit.name] = alias
    return names


def month_kept_names(config: Config, session: Session, month: str) -> dict[str, str]:
    """For a closed year's month, today's unit names → the names kept (kept_names); empty for an open year's."""
    kept = kept_month(session, month)
    if kept is None:
        return {}
    closed, standings_kept, _ = kept
    return kept_names(config, closed.year, [row.unit for row in standings_kept.rows])


def as_kept(completion: Iterable[UnitCompletion], names: Mapping[str, str]) -> tuple[UnitCompletion, ...]:
    """Each unit's 附件2 figures under the name its closed year was kept under (`names`: kept_names)."""
    return tuple(dataclasses.replace(unit, unit=names.get(unit.unit, unit.unit)) for unit in completion)


@dataclass(frozen=True)
class Kept:
    """A closed year's month is shown as it was kept when the year was closed; `changes` say, unit by unit, what
    today's derivation and configuration would give instead (none: the same figures)."""

    year: int
    closed_at: datetime
    closed_by: str
    plan_hash: str
    derived_with: str
    changes: tuple[tuple[str, str], ...]  # (unit, what differs)
    names: tuple[tuple[str, str], ...] = ()  # (today's name, the name kept) of each unit found in both

    def kept_name(self, unit: str) -> str:
        """The name a unit known today by `unit` was kept under (itself when not renamed)."""
        return dict(self.names).get(unit, unit)

    def today_name(self, unit: str) -> str | None:
        """Today's name of the unit kept as `unit`; None when today's plan of the year has no such unit."""
        return next((today for today, kept in self.names if kept == unit), None)

    def lines(self, config: Config, unit: str | None = None, *, hashes: bool = True) -> list[str]:
        """What a page or command says above the kept figures (only `unit`'s changes when given), in Chinese; the
        plan's and the derivation's fingerprints for an auditor, not in a mail to the director (`hashes`)."""
        when = self.closed_at.astimezone(config.timezone)
        kept = f"（计划 {self.plan_hash}，识别 {self.derived_with}）" if hashes else ""
        said = [f"{self.year} 年已于 {when:%Y-%m-%d %H:%M} 由 {self.closed_by} 结账，以下为结账时保存的结果{kept}。"]
        renamed = [(today, kept) for today, kept in self.names if today != kept and unit in (None, kept)]
        if renamed:
            said.append(
                "结账后改名的单位仍按结账时的名称显示："
                + "、".join(f"{kept}（现名 {today}）" for today, kept in renamed)
                + "。"
            )
        changes = [text for who, text in self.changes if unit in (None, who)]
        if changes:
            plan = f"（计划 {config.plans.year(self.year).fingerprint}）" if hashes else ""
            said.append(f"注意：按现在的归档和配置{plan}重新计算，结果会不同：" + "；".join(changes) + "。")
        return said

    def json(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "closed_at": self.closed_at.isoformat(),
            "closed_by": self.closed_by,
            "plan_hash": self.plan_hash,
            "derived_with": self.derived_with,
            "changes": [{"unit": unit, "change": text} for unit, text in self.changes],
        } | (  # a unit renamed since: the name it was kept under, and today's
            {"renamed": [{"unit": kept, "now": today} for today, kept in self.names if today != kept]}
            if any(today != kept for today, kept in self.names)
            else {}
        )


def shown_standings(
    config: Config, session: Session, evidence: Evidence, month: str, known_at: datetime | None = None
) -> tuple[Standings, Kept | None]:
    """The standings of `month`: as kept when its year was closed, else as computed now (as known at
    `known_at`: a month not yet ended is scored so far, its open components not closed)."""
    now = compute_standings(config, evidence, month, known_at)
    kept = kept_month(session, month)
    if kept is None:
        return now, None
    closed, standings_kept, _ = kept
    names = kept_names(config, closed.year, [row.unit for row in standings_kept.rows])
    renamed = dataclasses.replace(
        now, rows=tuple(dataclasses.replace(row, unit=names.get(row.unit, row.unit)) for row in now.rows)
    )
    return standings_kept, _kept(closed, standings_changes(standings_kept, renamed), names)


def shown_matrix(
    config: Config, session: Session, evidence: Evidence, month: str, now: datetime
) -> tuple[dict[str, PackageStatus], Kept | None]:
    """The matrix of `month`: as kept when its year was closed (as known then), else as known at `now`."""
    live = month_matrix(config, evidence, month, now)
    kept = kept_month(session, month)
    if kept is None:
        return live, None
    closed, _, packages = kept
    names = kept_names(config, closed.year, packages)
    renamed = {
        names.get(unit, unit): dataclasses.replace(package, unit=names.get(unit, unit))
        for unit, package in live.items()
    }
    return packages, _kept(closed, matrix_changes(packages, renamed), names)


def _kept(closed: ClosedYear, changes: list[tuple[str, str]], names: Mapping[str, str]) -> Kept:
    return Kept(
        closed.year,
        closed.closed_at,
        closed.closed_by,
        closed.plan_hash,
        closed.derived_with,
        tuple(changes),
        tuple(names.items()),
    )


def standings_changes(kept: Standings, now: Standings) -> list[tuple[str, str]]:
    """Each unit whose total, rank or a component differs now from what was kept: "景县 总分 76 → 80，名次
    8 → 5，二季度任务完成 12 → 15"."""
    live = {row.unit: row for row in now.rows}
    said = []
    for row in kept.rows:
        other = live.get(row.unit)
        if other is None:
            said.append((row.unit, f"{row.unit} 已不在该年计划内"))
            continue
        parts = [f"总分 {row.total} → {other.total}"] if other.total != row.total else []
        parts += [f"名次 {row.rank} → {other.rank}"] if other.rank != row.rank else []
        parts += [
            f"{COMPONENT_LABELS[item.name]} {item.points} → {other.component(item.name).points}"
            for item in row.components
            if other.component(item.name).points != item.points
        ]
        if parts:
            said.append((row.unit, f"{row.unit} " + "，".join(parts)))
    kept_units = {row.unit for row in kept.rows}
    return said + [(row.unit, f"{row.unit} 结账时不在该年计划内") for row in now.rows if row.unit not in kept_units]


def matrix_changes(kept: dict[str, PackageStatus], now: dict[str, PackageStatus]) -> list[tuple[str, str]]:
    """Each form whose status differs now from what was kept: "景县 附件3 按时 → 迟报"."""
    said = []
    for unit, package in kept.items():
        other = now.get(unit)
        if other is None:
            said.append((unit, f"{unit} 已不在该年计划内"))
            continue
        statuses = {form.form: form.status for form in other.forms}
        said += [
            (unit, f"{unit} 附件{form.form} {STATUS_NAMES[form.status]} → {STATUS_NAMES[status]}")
            for form in package.forms
            if (status := statuses.get(form.form, "missing")) != form.status
        ]
    return said
