"""`mailroom inspect`: what a clerk runs before sending: each form recognised, its figures and problems."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.config import Config
from parsers.checks import check_package
from parsers.forms import FORM_TITLES, FormReading
from parsers.records import TASKS
from parsers.workbook import read_attachment
from replies.problems import merged_problems
from scoring.evidence import TASK_LABELS


def inspect_files(paths: list[Path], config: Config) -> list[dict[str, Any]]:
    """One object per form found (a zip or a multi-form workbook gives several), as `--json` prints them.

    Files given together are checked together as one package (附件2 against the registries)."""
    found: list[tuple[Path, FormReading]] = []
    for path in paths:
        readings = read_attachment(path.name, path.read_bytes(), config.units, year=config.year)
        found.extend((path, reading) for reading in readings)
        if not readings:
            found.append((path, FormReading(source=path.name, form=None, unit=None, month=None, rows=0, tasks=(),
                                            persons=(), text="", problems=(), readable=False)))
    checks = _package_checks([reading for _, reading in found], config)
    return [_as_json(path, reading, checks.get(id(reading), ())) for path, reading in found]


def _package_checks(readings: list[FormReading], config: Config) -> dict[int, tuple]:
    """Each unit's forms checked as one package; the findings go on that unit's first readable 附件2."""
    checks: dict[int, tuple] = {}
    for unit in config.units:
        own = [reading for reading in readings if reading.unit == unit.name]
        summary = next((reading for reading in own if reading.form == 2 and reading.readable), None)
        if summary is not None:
            checks[id(summary)] = check_package(own, unit)
    return checks


def _as_json(path: Path, reading: FormReading, extra) -> dict[str, Any]:
    result: dict[str, Any] = {
        "file": str(path) + reading.source.removeprefix(path.name), "form": reading.form, "unit": reading.unit, "month": reading.month,
        "rows": reading.rows, "readable": reading.readable,
        "problems": [asdict(problem) for problem in (*reading.problems, *extra)],
    }
    if reading.form == 2:
        tasks = dict(reading.tasks)
        result["done"] = {task: tasks[task].done if task in tasks else None for task in TASKS}
    return result


def describe(result: dict[str, Any]) -> list[str]:
    """The same as plain Chinese lines."""
    form = result["form"]
    title = f"附件{form} {FORM_TITLES.get(form, '')}" if form else "未识别为任何附件表格"
    facts = [title, f"单位 {result['unit'] or '未写明'}", f"月份 {result['month'] or '未写明'}",
             f"{result['rows']} 行" if result["readable"] else "无法读取"]
    lines = [f"{result['file']}：" + " · ".join(facts)]
    if "done" in result:
        lines.append("  完成数：" + "，".join(f"{TASK_LABELS[t]} {v if v is not None else '—'}"
                                          for t, v in result["done"].items()))
    for places, message in merged_problems(result["problems"]):  # a problem once, however many cells it concerns
        lines.append(f"  问题{f'［{places}］' if places else ''}：{message}")
    if not result["problems"] and result["readable"]:
        lines.append("  未发现问题")
    return lines

