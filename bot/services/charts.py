"""Pictures of the scores, laid out here as plain numbers (pixels, figures, labels) for templates to draw.

- `score_trend`: each unit's cumulative score month by month, a small chart per unit on one shared scale
  (0 to full marks) with the other units' lines faint behind it. Thirteen lines in one chart cross and
  hide each other where units tie, and thirteen colours cannot be told apart on paper.
- `status_grid`: several months' report packages, a unit a row and a month a column, each cell coloured by
  its status and marked with the status's first character (按, 迟, 未).
- `bars_by_task` / `bars_by_unit`: 附件2's 完成数 against the city's targets, one scale for every bar,
  the quarters' thresholds marked.
- `ranking_bars`: the ranking for the digest mail, bar lengths in whole pixels for table cells: mail
  clients run no script and many show no SVG.

The web app draws the first three as inline SVG (templates/web/_charts.html), the digest draws the last as
table cells (templates/digest.html). Nothing is said by colour alone: every line, cell and bar carries its
figure or status as text, so a chart reads the same printed in black and white.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.services.scores import STATUS_NAMES
from scoring.completion import UnitCompletion
from scoring.evidence import TASK_LABELS
from scoring.settings import parse_month
from scoring.standings import Standings

GLYPHS = {status: name[0] for status, name in STATUS_NAMES.items()}  # 按时 → 按, 迟报 → 迟, 未报 → 未
MONTH_LABELS_AT_MOST = 6  # month labels under a small trend chart; with more months every other one is written


@dataclass(frozen=True)
class Tick:
    """A labelled place on an axis, in pixels."""

    label: str
    at: float


@dataclass(frozen=True)
class Scale:
    """Values 0..top onto pixels start..end (end < start for an axis that grows upwards); beyond top stays
    at end."""

    top: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        return round(self.start + (self.end - self.start) * min(max(value, 0), self.top) / self.top, 1)


@dataclass(frozen=True)
class Frame:
    """A chart's size and the margins around its plot, in pixels."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    @property
    def plot_right(self) -> int:
        return self.width - self.right

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom


def short_month(month: str, year: int) -> str:
    """ "9月" within `year`, "2021年1月" outside it."""
    month_year, number = parse_month(month)
    return f"{number}月" if month_year == year else f"{month_year}年{number}月"


# ---------------------------------------------------------------------------------------------
# Each unit's cumulative score, month by month


TREND_FRAME = Frame(width=260, height=150, left=30, right=30, top=10, bottom=22)


@dataclass(frozen=True)
class TrendPoint:
    month: str
    label: str  # "9月"
    score: int
    x: float
    y: float


@dataclass(frozen=True)
class TrendLine:
    """A unit's totals in month order; `rank` and `total` are those of the last month."""

    unit: str
    rank: int
    total: int
    points: tuple[TrendPoint, ...]

    @property
    def polyline(self) -> str:
        return " ".join(f"{point.x},{point.y}" for point in self.points)

    @property
    def last(self) -> TrendPoint:
        return self.points[-1]


@dataclass(frozen=True)
class ScoreTrend:
    frame: Frame
    full: int
    months: tuple[Tick, ...]  # under the plot (all months, or every other one when there are many)
    scores: tuple[Tick, ...]  # beside it: 0, a quarter of full marks, …, full marks
    lines: tuple[TrendLine, ...]  # in the last month's ranking


def score_trend(monthly: Sequence[Standings], full: int, frame: Frame = TREND_FRAME) -> ScoreTrend:
    """Each unit's total in each of `monthly` (the standings of successive months, at least one), drawn on
    0..full. The months are the caller's choice."""
    if not monthly:
        raise ValueError("a trend needs the standings of at least one month")
    first_year = parse_month(monthly[0].month)[0]
    step = (frame.plot_right - frame.left) / (len(monthly) - 1) if len(monthly) > 1 else 0
    xs = [
        round(frame.left + index * step, 1) if step else (frame.left + frame.plot_right) / 2
        for index in range(len(monthly))
    ]
    y = Scale(max(full, *(row.total for standing in monthly for row in standing.rows)), frame.plot_bottom, frame.top)
    labels = [short_month(standing.month, first_year) for standing in monthly]
    every = math.ceil(len(monthly) / MONTH_LABELS_AT_MOST)
    months = tuple(
        Tick(label, x)
        for index, (label, x) in enumerate(zip(labels, xs))
        if index % every == 0 or index == len(monthly) - 1
    )
    scores = tuple(Tick(str(round(y.top * quarter / 4)), y(y.top * quarter / 4)) for quarter in range(5))
    lines = tuple(
        TrendLine(
            row.unit,
            row.rank,
            row.total,
            tuple(
                TrendPoint(standing.month, label, standing.row(row.unit).total, x, y(standing.row(row.unit).total))
                for standing, label, x in zip(monthly, labels, xs)
            ),
        )
        for row in monthly[-1].rows
    )
    return ScoreTrend(frame, full, months, scores, lines)


# ---------------------------------------------------------------------------------------------
# The packages of several months as a grid


@dataclass(frozen=True)
class GridCell:
    """A unit's package of one month; (x, y) is the cell's top left corner."""

    unit: str
    month: str
    status: str
    glyph: str
    x: float
    y: float


@dataclass(frozen=True)
class GridRow:
    unit: str
    middle: float  # the row's vertical middle, where its label and glyphs sit
    cells: tuple[GridCell, ...]


@dataclass(frozen=True)
class StatusGrid:
    width: int
    height: int
    label_width: int
    header: int
    cell_width: int
    cell_height: int
    columns: tuple[Tick, ...]  # a month's label at its column's middle
    months: tuple[str, ...]
    rows: tuple[GridRow, ...]
    current: str  # the month the page is about, outlined

    @property
    def current_x(self) -> float | None:
        """Where the outlined column starts; None when the month is not in the grid."""
        if self.current not in self.months:
            return None
        return self.label_width + self.months.index(self.current) * self.cell_width


def status_grid(
    months: Sequence[tuple[str, Mapping[str, str]]],
    units: Sequence[str],
    current: str,
    label_width: int = 76,
    header: int = 24,
    cell: tuple[int, int] = (52, 26),
) -> StatusGrid:
    """`months`: each month in order with the status of each unit's package; a row per unit, in `units` order
    (a unit a month does not hold has no cell there: a closed year's months hold the units kept)."""
    width, height = cell
    year = parse_month(months[0][0])[0] if months else 0
    columns = tuple(
        Tick(short_month(month, year), label_width + index * width + width / 2)
        for index, (month, _) in enumerate(months)
    )
    rows = []
    for row, unit in enumerate(units):
        top = header + row * height
        rows.append(
            GridRow(
                unit,
                top + height / 2,
                tuple(
                    GridCell(unit, month, statuses[unit], GLYPHS[statuses[unit]], label_width + index * width, top)
                    for index, (month, statuses) in enumerate(months)
                    if unit in statuses
                ),
            )
        )
    return StatusGrid(
        label_width + len(months) * width,
        header + len(units) * height,
        label_width,
        header,
        width,
        height,
        columns,
        tuple(month for month, _ in months),
        tuple(rows),
        current,
    )


# ---------------------------------------------------------------------------------------------
# 附件2 progress as bars


@dataclass(frozen=True)
class Bar:
    """One task of one unit: its 完成数 against its target, as a bar from the scale's 0."""

    unit: str
    task: str
    label: str  # what the row is called: the unit's name, or the task's
    done: int | None
    target: int
    share: float | None  # None when the target is 0 or nothing was reported: no bar, only the text
    length: float  # pixels
    over: bool  # beyond the scale's end: the bar stops there and the text says how far it goes
    text: str  # "287 / 573（50.1%）", "完成 3（无年度目标）", "未收到附件2"
    middle: float  # the row's vertical middle within its panel


@dataclass(frozen=True)
class BarPanel:
    title: str
    bars: tuple[Bar, ...]
    height: int


@dataclass(frozen=True)
class ProgressChart:
    width: int
    label_width: int
    track: Scale  # shares onto pixels
    row_height: int
    bar_height: int
    top: int  # room above the rows for the marks' labels
    ticks: tuple[Tick, ...]  # 0%, 50%, 100%, …
    marks: tuple[Tick, ...]  # the quarters' thresholds
    panels: tuple[BarPanel, ...]


ROW_HEIGHT, BAR_HEIGHT, LABEL_WIDTH, TRACK_WIDTH, TEXT_WIDTH, MARK_ROOM, TICK_ROOM = 22, 14, 76, 250, 150, 18, 18
SCALE_END = 2.0  # 200%: one unit far beyond its target does not squeeze every other bar


def bars_by_task(
    completion: Sequence[UnitCompletion], tasks: Sequence[str], marks: Sequence[tuple[str, float]]
) -> ProgressChart:
    """A panel per task, a bar per unit: who is where on the same work."""
    groups = [(TASK_LABELS[task], [(unit, task, unit.unit) for unit in completion]) for task in tasks]
    return _progress(groups, marks)


def bars_by_unit(completion: UnitCompletion, tasks: Sequence[str], marks: Sequence[tuple[str, float]]) -> ProgressChart:
    """One panel, a bar per task: one unit's year at a glance."""
    return _progress([(completion.unit, [(completion, task, TASK_LABELS[task]) for task in tasks])], marks)


def _progress(
    groups: Sequence[tuple[str, Sequence[tuple[UnitCompletion, str, str]]]], marks: Sequence[tuple[str, float]]
) -> ProgressChart:
    shares = [share for _, rows in groups for unit, task, _ in rows if (share := unit.figure(task).share) is not None]
    end = min(SCALE_END, max(1.0, math.ceil(max(shares, default=1.0) * 4) / 4))
    track = Scale(end, LABEL_WIDTH, LABEL_WIDTH + TRACK_WIDTH)
    panels = []
    for title, rows in groups:
        bars = []
        for index, (unit, task, label) in enumerate(rows):
            figure = unit.figure(task)
            share = figure.share
            bars.append(
                Bar(
                    unit.unit,
                    task,
                    label,
                    figure.done,
                    figure.target,
                    share,
                    track(share) - track.start if share is not None else 0.0,
                    share is not None and share > end,
                    _bar_text(unit, task),
                    MARK_ROOM + index * ROW_HEIGHT + ROW_HEIGHT / 2,
                )
            )
        panels.append(BarPanel(title, tuple(bars), MARK_ROOM + len(rows) * ROW_HEIGHT + TICK_ROOM))
    ticks = tuple(Tick(f"{step / 2:.0%}", track(step / 2)) for step in range(int(end * 2) + 1))
    at: dict[float, list[str]] = {}
    for label, share in marks:
        at.setdefault(share, []).append(label)
    return ProgressChart(
        LABEL_WIDTH + TRACK_WIDTH + TEXT_WIDTH,
        LABEL_WIDTH,
        track,
        ROW_HEIGHT,
        BAR_HEIGHT,
        MARK_ROOM,
        ticks,
        tuple(Tick("、".join(labels), track(share)) for share, labels in at.items()),
        tuple(panels),
    )


def _bar_text(unit: UnitCompletion, task: str) -> str:
    """What a bar says beside it; a task the city set no target for (0) has no share to draw, but the work
    done is still said, as the digest says it."""
    figure = unit.figure(task)
    if unit.message_id is None:
        return "未收到附件2"
    if figure.done is None:
        return "附件2未填报"
    if figure.target <= 0:
        return f"完成 {figure.done}（无年度目标）"
    return f"{figure.done} / {figure.target}（{figure.share:.1%}）"


# ---------------------------------------------------------------------------------------------
# The ranking as bars, for the digest mail


class Ranked(Protocol):
    # Read-only members, so that frozen dataclasses (the digest's StandingLine) match.
    @property
    def unit(self) -> str: ...

    @property
    def rank(self) -> int: ...

    @property
    def total(self) -> int: ...


@dataclass(frozen=True)
class RankingBar:
    rank: int
    unit: str
    total: int
    filled: int  # pixels of the bar
    rest: int  # pixels of the track after it


@dataclass(frozen=True)
class RankingChart:
    full: int
    track: int
    bars: tuple[RankingBar, ...]


def ranking_bars(rows: Sequence[Ranked], full: int, track: int = 240) -> RankingChart:
    """A bar per unit in rank order, on 0..full marks (or the best total, were it ever above)."""
    top = max(full, *(row.total for row in rows)) if rows else full
    bars = []
    for row in rows:
        filled = round(track * max(row.total, 0) / top)
        bars.append(RankingBar(row.rank, row.unit, row.total, filled, track - filled))
    return RankingChart(full, track, tuple(bars))
