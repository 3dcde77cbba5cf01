"""The scoring choices the plan leaves open: each one a setting in the config, these are the defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scoring:
    """Points, thresholds and caps of seed 000 §三, as SPEC.md makes them exact."""

    zero_target_earns: bool = True
    q2_completion: float = 0.5
    q3_completion: float = 1.0
    task_points: int = 3
    on_time_points: int = 15
    on_time_deduction: int = 3
    q4_task_points: int = 2
    q4_cap: int = 10
    briefings_per_month: int = 8
    briefing_points: int = 2
    briefing_months: tuple[int, ...] = (4, 5, 6, 7, 8, 9, 10, 11)
    media_points: tuple[tuple[str, int], ...] = (("central", 4), ("provincial", 2), ("city", 1))
    media_cap: int = 4
    innovation_points: tuple[tuple[str, int], ...] = (("national", 10), ("provincial", 5), ("city", 2))
    innovation_cap: int = 10
