"""Cumulative task completion read from 附件2, and the honesty checks on it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from parsers.records import TASKS
from scoring.evidence import TASK_LABELS, Finding, SummaryReport


def _order(report: SummaryReport) -> tuple[datetime, int]:
    # Two 附件2 with the same arrival instant: the one archived later (higher id) is the newer.
    return (report.arrival, report.message_id)


def completion_as_of(unit: str, summaries: Iterable[SummaryReport],
                     instant: datetime) -> tuple[Mapping[str, int | None], int] | None:
    """(完成数 per task, message id) of the unit's latest 附件2 received on or before `instant`."""
    candidates = [s for s in summaries if s.unit == unit and s.arrival <= instant]
    if not candidates:
        return None
    latest = max(candidates, key=_order)
    return latest.done, latest.message_id


def honesty_findings(summaries: Iterable[SummaryReport]) -> tuple[Finding, ...]:
    """Cumulative 完成数 that went down between two successive 附件2 of a unit (by arrival).

    Pass one plan year's reports: figures start again from zero each year. An empty cell is skipped,
    the next figure is compared with the last one given. Findings are shown, never applied.
    """
    by_unit: dict[str, list[SummaryReport]] = {}
    for report in summaries:
        by_unit.setdefault(report.unit, []).append(report)
    findings = []
    for unit, reports in by_unit.items():
        last: dict[str, tuple[int, int]] = {}
        for report in sorted(reports, key=_order):
            for task in TASKS:
                value = report.done.get(task)
                if value is None:
                    continue
                before = last.get(task)
                if before is not None and value < before[0]:
                    findings.append(Finding(
                        unit, "completion_decreased",
                        f"{unit}{TASK_LABELS[task]}累计完成数由 {before[0]} 降为 {value}"
                        f"（附件2 #{before[1]} → #{report.message_id}），完成数应逐月累计",
                        (before[1], report.message_id)))
                last[task] = (value, report.message_id)
    return tuple(findings)
