"""What scoring reads: frozen records the caller builds from the archive, and the points it hands back.

Every instant is timezone-aware (the server's arrival time); a naive one is refused, because its month
and its deadline would be guesses. `unit` is always a `Unit.name`; `message_id` is the archive's id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Literal

TASK_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "rehab": "康复服务",
        "devices": "适配辅助器具",
        "rural_training": "实用技术培训",
        "day_care": "托养服务",
        "barrier_free": "无障碍改造",
        "college": "资助上大学",
    }
)

# Finding.kind in Chinese, as the digest and the web app name it.
FINDING_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "completion_decreased": "累计完成数下降",
        "done_vs_registry": "完成数与实名制登记表不符",
        "person_in_two_units": "同一人由两个单位登记",
    }
)


def _require_aware(instant: datetime, what: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, not {instant.isoformat()}")


@dataclass(frozen=True)
class FormArrival:
    """One file of one form (附件 number) of a unit's package for `month`, readable or not.

    `registered`: the sender is one of the unit's registered addresses. Only files from registered
    senders count as arrived, and of the workbooks only readable ones; a 附件1 counts whatever its
    format (SPEC: units send .doc and .wps as they always have), its text read or not, unless `locked`: behind
    a password (a locked .docx, a zip with a password), nobody can read it.
    """

    unit: str
    month: str
    form: int
    arrival: datetime
    message_id: int
    registered: bool
    readable: bool
    locked: bool = False

    def __post_init__(self) -> None:
        _require_aware(self.arrival, "FormArrival.arrival")

    @property
    def counts(self) -> bool:
        return self.registered and (self.readable or (self.form == 1 and not self.locked))


@dataclass(frozen=True)
class SummaryReport:
    """One readable 附件2 from a registered sender: the unit's cumulative 完成数 per task.

    `done[task]` is None (or the task absent) when the cell was left empty, or could not be read: `unread`, a
    formula whose result the file does not hold (the last 附件2 that gave the task's figure stands for it).
    """

    unit: str
    arrival: datetime
    message_id: int
    month: str | None
    done: Mapping[str, int | None]
    unread: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _require_aware(self.arrival, "SummaryReport.arrival")

    @property
    def year(self) -> int:
        """The plan year its cumulative figures belong to: its report month's (December's 附件2 sent in January
        is December's year's), else its arrival's."""
        return int(self.month[:4]) if self.month else self.arrival.year


@dataclass(frozen=True)
class Article:
    """One briefing article; `key` names its content (the same key twice is one article)."""

    unit: str
    arrival: datetime
    message_id: int
    key: str
    registered: bool
    is_reply: bool
    is_auto: bool

    def __post_init__(self) -> None:
        _require_aware(self.arrival, "Article.arrival")

    @property
    def counts(self) -> bool:
        return self.registered and not self.is_reply and not self.is_auto


StaffKind = Literal["media", "innovation"]


@dataclass(frozen=True)
class StaffEntry:
    """Points no email can prove, entered by staff: media coverage or an innovation award."""

    id: int
    unit: str
    kind: StaffKind
    level: str
    date: date
    evidence: str
    revoked: bool = False


@dataclass(frozen=True)
class Point:
    """One thing that earned or lost points, and the messages or staff entries behind it."""

    description: str
    points: int
    message_ids: tuple[int, ...] = ()
    staff_entry_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Component:
    """One scoring component of one unit. `points` is always the sum of its items' points.

    `closed` is False while the component's evaluation lies after the standings' instant: it then
    holds no points and no items.
    """

    name: str
    points: int
    items: tuple[Point, ...] = ()
    closed: bool = True


def component(name: str, items: list[Point] | tuple[Point, ...]) -> Component:
    """A closed component whose points are its items' sum."""
    return Component(name, sum(item.points for item in items), tuple(items))


def sorted_ids(ids: Iterable[int]) -> tuple[int, ...]:
    """Distinct ids, ascending."""
    return tuple(sorted(set(ids)))


@dataclass(frozen=True)
class Finding:
    """An honesty-check finding: shown to staff, never applied to a score."""

    unit: str
    kind: str
    message: str
    message_ids: tuple[int, ...] = field(default=())
