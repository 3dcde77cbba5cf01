"""The plan years of a config file: each year's calendar, scoring rules and units with their targets, and every
unit as recognition knows them; each mistake said in one line naming the key and what to write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from bot.config_keys import address_of, table_of, time_of, value_of
from parsers.errors import ConfigError
from parsers.form_layouts import TASK_LABELS
from parsers.records import TASKS, Unit, fold
from scoring.plans import Plan, Plans
from scoring.settings import INNOVATION_LEVELS, MEDIA_LEVELS, Calendar, Scoring


def plan_years(general: dict[str, Any]) -> tuple[int, ...]:
    """The plan years: `years = [2020, 2021]`, or the one `year = 2020` (a file of one plan year); one of the two
    is written."""
    is_year: dict[str, Any] = dict(check=lambda y: 2000 <= y <= 2100, why="年份 2000–2100")
    if "years" in general and "year" in general:
        raise ConfigError("general.year 与 general.years 只能写一个（多个计划年度写 years = [2020, 2021]）")
    if "years" not in general and "year" not in general:  # never a default: the plan's year is what scores
        raise ConfigError("缺少 general.year：写这份计划的年度，如 year = 2021（多个年度写 years = [2020, 2021]）")
    if "years" not in general:
        return (value_of(general, "general.year", int, **is_year),)
    years = value_of(
        general,
        "general.years",
        list,
        why="不重复的年份 2000–2100，至少一个",
        check=lambda ys: (
            ys
            and len(set(ys)) == len(ys)
            and all(isinstance(y, int) and not isinstance(y, bool) and 2000 <= y <= 2100 for y in ys)
        ),
    )
    return tuple(sorted(years))


def read_plans(data: dict[str, Any], timezone: ZoneInfo, years: tuple[int, ...]) -> tuple[tuple[Unit, ...], Plans]:
    """Each plan year: the common [deadline], [forms] and [scoring] with the year's own [year.YYYY.…] on top,
    and the units in it with that year's targets. Returns every unit (without targets) and the plans."""
    deadline, forms, scoring = (table_of(data, key) for key in ("deadline", "forms", "scoring"))
    calendar = _calendar(deadline, forms, Calendar(timezone, years[0]))
    rules = _scoring(scoring, Scoring())
    own = table_of(data, "year")
    for key in own:
        if not (key.isdigit() and int(key) in years):
            raise ConfigError(f"year.{key}：{key} 年不在任何年度计划内（general.years：{_listed(years)}）")
    units, targets = _units(data.get("unit", []), years)
    plans = []
    for year in years:
        tables = table_of(own, str(year)) if str(year) in own else {}
        at = f"year.{year}."
        plan = Plan(
            _calendar(table_of(tables, "deadline"), table_of(tables, "forms"), replace(calendar, year=year), at),
            _scoring(table_of(tables, "scoring"), rules, at),
            targets[year],
        )
        _check_briefing_months(plan, tables, at)
        if not plan.units:
            raise ConfigError(f"{year} 年的计划没有任何单位（请检查各 [[unit]] 的 first_year、last_year）")
        plans.append(plan)
    return units, Plans(tuple(plans))


def _check_briefing_months(plan: Plan, tables: dict[str, Any], at: str) -> None:
    """Each briefing month of `plan` is one of its report months. Months the year takes from the common
    [scoring] that its own first_report_month left out are fixed in the year's own table, and the message
    says so: editing the common table would change the other years too."""
    first = plan.calendar.first_report_month
    early = [month for month in plan.scoring.briefing_months if month < first]
    if not early:
        return
    own = "briefing_months" in table_of(tables, "scoring")
    key = f"{at if own else ''}scoring.briefing_months"
    problem = f"{key}：{plan.year} 年 {early[0]} 月不在该年计划的报送月份内（{first}–12 月）"
    if own or "first_report_month" not in table_of(tables, "forms"):
        raise ConfigError(problem)
    kept = [month for month in plan.scoring.briefing_months if month >= first]
    months = f"[{', '.join(map(str, kept))}]" if kept else "[…]"
    raise ConfigError(
        f"{problem}：该年的首个报送月份由 {at}forms.first_report_month 定为 {first} 月，"
        f"请为该年写 [year.{plan.year}.scoring] briefing_months = {months}"
    )


def _listed(years: tuple[int, ...]) -> str:
    return "、".join(map(str, years))


def _calendar(deadline: dict[str, Any], forms: dict[str, Any], defaults: Calendar, at: str = "") -> Calendar:
    """`defaults` with what the tables say; `at` names where they are ("year.2021." for a year's own)."""
    return replace(
        defaults,
        deadline_day=value_of(
            deadline, f"{at}deadline.day", int, defaults.deadline_day, check=lambda d: 1 <= d <= 28, why="1–28 日之一"
        ),
        deadline_time=time_of(
            value_of(deadline, f"{at}deadline.time", str, defaults.deadline_time.isoformat()), f"{at}deadline.time"
        ),
        required_forms=tuple(
            value_of(
                forms,
                f"{at}forms.required",
                list,
                list(defaults.required_forms),
                check=lambda xs: xs and all(x in range(1, 11) for x in xs) and len(set(xs)) == len(xs),
                why="不重复的附件编号 1–10，至少一个",
            )
        ),
        college_from_month=value_of(
            forms, f"{at}forms.college_from_month", int, defaults.college_from_month, check=_is_month, why="月份 1–12"
        ),
        first_report_month=value_of(
            forms, f"{at}forms.first_report_month", int, defaults.first_report_month, check=_is_month, why="月份 1–12"
        ),
    )


def _is_month(value: int) -> bool:
    return 1 <= value <= 12


_SHARE = (lambda x: 0 < x <= 1, "0–1 之间的比例（0.5 即 50%）")
_POINTS = (lambda n: 0 <= n <= 100, "0–100 分")
# What each scoring number means, checked as such: a share of the annual target, or points of the 100-point year.
_SCORING_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "q2_completion": _SHARE,
    "q3_completion": _SHARE,
    "task_points": _POINTS,
    "on_time_points": _POINTS,
    "on_time_deduction": _POINTS,
    "q4_task_points": _POINTS,
    "q4_cap": _POINTS,
    "briefing_points": _POINTS,
    "media_cap": _POINTS,
    "innovation_cap": _POINTS,
    "briefings_per_month": (lambda n: 1 <= n <= 1000, "1–1000 篇"),
}
_LEVELS = {"media_points": MEDIA_LEVELS, "innovation_points": INNOVATION_LEVELS}


def _scoring(table: dict[str, Any], defaults: Scoring, at: str = "") -> Scoring:
    """`defaults` with what the table says; `at` names where it is ("year.2021." for a year's own)."""
    values: dict[str, Any] = {}
    for name, default in vars(defaults).items():
        key = f"{at}scoring.{name}"
        if name in _LEVELS:
            values[name] = _level_points(value_of(table, key, dict, dict(default)), key, _LEVELS[name])
        elif isinstance(default, tuple):
            values[name] = tuple(
                value_of(
                    table,
                    key,
                    list,
                    list(default),
                    why="不重复的月份 1–12",
                    check=lambda xs: all(map(_is_month, xs)) and len(set(xs)) == len(xs),
                )
            )
        else:
            check, why = _SCORING_RANGES.get(name, (None, ""))
            values[name] = value_of(table, key, type(default), default, check=check, why=why)
    return Scoring(**values)


def _level_points(points: dict[str, Any], key: str, levels: dict[str, str]) -> tuple[tuple[str, int], ...]:
    for level in points:
        if level not in levels:
            raise ConfigError(f"{key}.{level}：未知的级别（可用的有：{'、'.join(levels)}）")
        value_of(points, f"{key}.{level}", int, check=_POINTS[0], why=_POINTS[1])
    return tuple(points.items())


def _units(entries: Any, years: tuple[int, ...]) -> tuple[tuple[Unit, ...], dict[int, tuple[Unit, ...]]]:
    """Every unit as recognition knows it, and each year's units with that year's targets."""
    if not isinstance(entries, list) or not entries:
        raise ConfigError("缺少 [[unit]]：请配置报送单位")
    units: list[Unit] = []
    by_year: dict[int, list[Unit]] = {year: [] for year in years}
    earlier: list[_Placed] = []
    for index, entry in enumerate(entries):
        at = f"unit[{index}]"
        unit = Unit(
            name=value_of(entry, f"{at}.name", str),
            aliases=tuple(value_of(entry, f"{at}.aliases", list, [])),
            addressee=(value_of(entry, f"{at}.addressee", str, "") or "").strip() or None,
            senders=tuple(
                _sender(address, f"{at}.senders", entry) for address in value_of(entry, f"{at}.senders", list, [])
            ),
        )
        in_plan: dict[str, Any] = dict(check=lambda y: y in years, why=f"计划年度之一（{_listed(years)}）")
        first = value_of(entry, f"{at}.first_year", int, years[0], **in_plan)
        last = value_of(entry, f"{at}.last_year", int, years[-1], **in_plan)
        if first > last:
            raise ConfigError(f"{at}.first_year（{first}）晚于 {at}.last_year（{last}）")
        span = tuple(year for year in years if first <= year <= last)
        placed = _Placed(at, unit, span)
        for other in earlier:
            _refuse_shared(placed, other, years)
        earlier.append(placed)
        for year, targets in _targets(value_of(entry, f"{at}.targets", dict, {}), f"{at}", unit.name, years, span):
            by_year[year].append(replace(unit, targets=targets))
        units.append(unit)
    return tuple(units), {year: tuple(found) for year, found in by_year.items()}


def _sender(address: Any, key: str, entry: dict[str, Any]) -> str:
    """A registered sender address, lower case. Recognition compares each From address with it as written, so
    one that is no address would never match: the unit's mail would go uncounted with nothing said."""
    named = f"{key}（{dict.get(entry, 'name')}）" if isinstance(dict.get(entry, "name"), str) else key
    return address_of(address, named)


@dataclass(frozen=True)
class _Placed:
    """A [[unit]] as its checks name it: "unit[9]", the unit, and the plan years it is in."""

    at: str
    unit: Unit
    span: tuple[int, ...]

    def names(self) -> list[tuple[str, str, str]]:
        """(what recognition compares, as written, "名称" or "别名") of its name and each alias."""
        written = [(self.unit.name, "名称"), *((alias, "别名") for alias in self.unit.aliases)]
        return [(fold(text), text, what) for text, what in written if isinstance(text, str) and fold(text)]

    def named(self) -> str:
        return f"{self.at}（{self.unit.name}）"


def _refuse_shared(unit: _Placed, other: _Placed, years: tuple[int, ...]) -> None:
    """Within one plan year, a name, an alias or a sender address names one unit only: recognition could not
    tell which unit mail from it or naming it is for. Units of different years may share them (a successor
    keeping its predecessor's address, or its name as an alias). `other` comes before `unit` in the file."""
    shared = tuple(year for year in unit.span if year in other.span)
    if not shared:
        return
    both = f"两者都在 {_listed(shared)} 年的计划内"
    tell = "（识别邮件时不计空格与全角、半角之别）"
    for key, text, what in unit.names():
        for other_key, other_text, other_what in other.names():
            if key != other_key:
                continue
            same = "" if text == other_text else tell
            if what == other_what == "名称":
                spans = "、".join(f"targets.{year}" for year in years if year in unit.span or year in other.span)
                raise ConfigError(
                    f"{unit.at}.name：{text} 与 {other.at} 的名称 {other_text} 相同{same}，{both}；"
                    f"同一单位请只写一个 [[unit]]（各年目标写作 {spans}），不同单位请改用不同的名称"
                )
            # the alias goes: from the unit that has it as an alias, the later one when both do
            owner, alias = (unit, text) if what == "别名" else (other, other_text)
            raise ConfigError(
                f"{unit.at}.{'aliases' if what == '别名' else 'name'}：{what} {text} 与 {other.named()}的"
                f"{other_what} {other_text} 相同{same}，{both}，识别邮件时无法分辨是哪个单位；"
                f"请从 {owner.at} 的 aliases 删去 {alias}{_successor(unit, other, years)}"
            )
    for sender in unit.unit.senders:
        if sender.strip() in {other_sender.strip() for other_sender in other.unit.senders}:
            raise ConfigError(
                f"{unit.at}.senders：{sender.strip()} 已登记给 {other.named()}，{both}；同一年度一个发件地址只能属于"
                f"一个单位，请从其中一个的 senders 删去{_successor(unit, other, years)}"
            )


def _successor(unit: _Placed, other: _Placed, years: tuple[int, ...]) -> str:
    """Of two units sharing a year, the one that joined later may be taking over from the other, which then
    ends the year before: said as a hint."""
    new, old = (unit, other) if unit.span[0] > other.span[0] else (other, unit)
    start = new.span[0]
    if start == old.span[0]:
        return ""
    before = years[years.index(start) - 1]
    return f"；若 {new.at} 自 {start} 年起接替 {old.at}，则应给 {old.at} 写 last_year = {before}"


def _targets(
    table: dict[str, Any], at: str, name: str, years: tuple[int, ...], span: tuple[int, ...]
) -> list[tuple[int, tuple[tuple[str, int], ...]]]:
    """(year, targets) for each year of `span`: `targets.2021 = {…}` per year, or a plain `targets = {…}`
    when the configuration holds one plan year."""
    keys = list(table)
    if not any(key.isdigit() for key in keys):
        if len(years) > 1 and span:
            raise ConfigError(
                f"{at}.targets：有多个计划年度（{_listed(years)}）时，目标须按年写，"
                f"如 targets.{span[0]} = {{ rehab = … }}"
            )
        return [(year, _task_targets(table, f"{at}.targets", name)) for year in span]
    for key in keys:
        if not key.isdigit():
            raise ConfigError(f"{at}.targets.{key}：按年写目标时 targets 下只能是年份，如 targets.{span[0]}.{key}")
        if int(key) not in years:
            raise ConfigError(f"{at}.targets.{key}：{key} 年不在任何年度计划内（general.years：{_listed(years)}）")
        if int(key) not in span:
            raise ConfigError(f"{at}.targets.{key}：{name} {key} 年不在计划内（见 {at}.first_year、last_year）")
    for year in span:
        if str(year) not in table:
            raise ConfigError(
                f"{at}（{name}）缺少 {year} 年的目标 targets.{year}"
                f"（若该单位 {year} 年不在计划内，请写 first_year 或 last_year）"
            )
    return [
        (year, _task_targets(value_of(table, f"{at}.targets.{year}", dict), f"{at}.targets.{year}", name))
        for year in span
    ]


def _task_targets(targets: dict[str, Any], at: str, name: str) -> tuple[tuple[str, int], ...]:
    """A year's target of every task. Each is written, 0 too: a task left out is a slip (a line lost when
    copying last year's targets), never taken as 0."""
    for task, value in targets.items():
        if task not in TASKS:
            raise ConfigError(f"{at}.{task}：未知的任务（可用的有：{'、'.join(TASKS)}）")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigError(f"{at}.{task} 应为 ≥ 0 的整数，而不是 {value!r}")
    missing = [task for task in TASKS if task not in targets]
    if missing:
        raise ConfigError(
            f"{at}（{name}）缺少任务 {'、'.join(f'{task}（{TASK_LABELS[task]}）' for task in missing)}的目标："
            f"每项任务的目标都须写出，没有目标的写 0，如 {', '.join(f'{task} = 0' for task in missing)}"
        )
    return tuple((task, targets[task]) for task in TASKS)
