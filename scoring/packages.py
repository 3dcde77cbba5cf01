"""A unit's monthly package: which required forms arrived, on time or late, as known at an instant."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

from parsers.records import Unit
from scoring.evidence import FormArrival
from scoring.settings import Calendar

T = TypeVar("T")

Status = Literal["on_time", "late", "missing"]


@dataclass(frozen=True)
class FormStatus:
    """One required form: the first counting arrival, if any by the instant asked about."""

    form: int
    status: Status
    arrival: datetime | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class PackageStatus:
    """A unit's package for one month as known at `as_of`: on time, late (all in, some after the
    deadline) or missing (some form not yet in)."""

    unit: str
    month: str
    status: Status
    deadline: datetime
    as_of: datetime
    forms: tuple[FormStatus, ...]

    def forms_with(self, status: Status) -> tuple[int, ...]:
        return tuple(form.form for form in self.forms if form.status == status)

    @property
    def message_ids(self) -> tuple[int, ...]:
        """The messages whose files made the forms arrive."""
        return tuple(sorted({form.message_id for form in self.forms if form.message_id is not None}))


def first_arrivals(unit: str, month: str, arrivals: Iterable[FormArrival], as_of: datetime) -> dict[int, FormArrival]:
    """Per form, the first readable file from a registered sender that arrived by `as_of`.

    Later files of the same form (corrected resends) never change when the form arrived.
    """
    first: dict[int, FormArrival] = {}
    for item in arrivals:
        if item.unit != unit or item.month != month or not item.counts or item.arrival > as_of:
            continue
        known = first.get(item.form)
        if known is None or (item.arrival, item.message_id) < (known.arrival, known.message_id):
            first[item.form] = item
    return first


def package_status(
    unit: str, month: str, arrivals: Iterable[FormArrival], calendar: Calendar, as_of: datetime
) -> PackageStatus:
    """The package of `unit` for `month` as known at `as_of` (arrivals after it are not yet known)."""
    deadline = calendar.deadline_for(month)
    first = first_arrivals(unit, month, arrivals, as_of)
    forms = []
    for number in calendar.required_forms_for(month):
        item = first.get(number)
        if item is None:
            forms.append(FormStatus(number, "missing"))
        else:
            status: Status = "on_time" if item.arrival <= deadline else "late"
            forms.append(FormStatus(number, status, item.arrival, item.message_id))
    statuses = {form.status for form in forms}
    overall: Status = "missing" if "missing" in statuses else "late" if "late" in statuses else "on_time"
    return PackageStatus(unit, month, overall, deadline, as_of, tuple(forms))


def matrix(
    month: str, units: Sequence[Unit], arrivals: Iterable[FormArrival], calendar: Calendar, as_of: datetime
) -> dict[str, PackageStatus]:
    """The month's submission matrix, units × forms, keyed by unit name in the order given."""
    mine = by_unit(arrivals)
    return {unit.name: package_status(unit.name, month, mine.get(unit.name, ()), calendar, as_of) for unit in units}


def by_unit(evidence: Iterable[T]) -> dict[str | None, list[T]]:
    """Arrivals or 附件2 reports grouped by unit once, so each unit's scoring reads its own: with 2,900 units,
    every unit scanning everyone's made the standings quadratic (22 s at national size)."""
    grouped: dict[str | None, list[T]] = {}
    for item in evidence:
        grouped.setdefault(item.unit, []).append(item)  # type: ignore[attr-defined]
    return grouped
