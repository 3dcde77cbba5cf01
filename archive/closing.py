"""Closed years: a plan year's standings (each unit's every component with every point, which is its
explanation) and matrix of each of its months, kept as they were when the year was closed, with the plan and
derivation they came from. Kept as JSON and read back into the scoring records the pages and commands show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import ClosedMonth, ClosedYear
from scoring.evidence import Component, Point
from scoring.packages import FormStatus, PackageStatus
from scoring.standings import Standings, UnitStanding


def close_year(
    session: Session,
    year: int,
    months: list[tuple[Standings, dict[str, PackageStatus]]],
    plan_hash: str,
    derived_with: str,
    by: str,
    now: datetime,
) -> ClosedYear:
    """Keep the year's months (standings, matrix), flushed, not committed: the caller commits them with what
    closing owes (the year's final ranking, queued in the same transaction); it has checked it is not closed."""
    closed = ClosedYear(year=year, closed_at=now, closed_by=by, plan_hash=plan_hash, derived_with=derived_with)
    session.add(closed)
    session.flush()  # the year before its months (no relationship orders them)
    session.add_all(
        ClosedMonth(month=result.month, year=year, standings=standings_record(result), matrix=matrix_record(packages))
        for result, packages in months
    )
    session.flush()  # the months readable in this transaction (kept_month), for the final ranking made in it
    return closed


def closed_years(session: Session) -> dict[int, ClosedYear]:
    return {row.year: row for row in session.scalars(select(ClosedYear))}


def kept_month(session: Session, month: str) -> tuple[ClosedYear, Standings, dict[str, PackageStatus]] | None:
    """A closed year's month as it was kept; None when its year is not closed."""
    row = session.get(ClosedMonth, month)
    if row is None:
        return None
    closed = session.get(ClosedYear, row.year)
    assert closed is not None  # closed_month.year is a foreign key to closed_year
    return closed, standings_from(row.standings), matrix_from(row.matrix)


def standings_record(result: Standings) -> dict[str, Any]:
    return {
        "month": result.month,
        "as_of": result.as_of.isoformat(),
        "rows": [
            {
                "unit": row.unit,
                "total": row.total,
                "rank": row.rank,
                "components": [
                    {
                        "name": item.name,
                        "points": item.points,
                        "closed": item.closed,
                        "items": [
                            {
                                "description": point.description,
                                "points": point.points,
                                "message_ids": list(point.message_ids),
                                "staff_entry_ids": list(point.staff_entry_ids),
                            }
                            for point in item.items
                        ],
                    }
                    for item in row.components
                ],
            }
            for row in result.rows
        ],
    }


def standings_from(record: dict[str, Any]) -> Standings:
    return Standings(
        record["month"],
        datetime.fromisoformat(record["as_of"]),
        tuple(
            UnitStanding(
                row["unit"],
                row["total"],
                row["rank"],
                tuple(
                    Component(
                        item["name"],
                        item["points"],
                        tuple(
                            Point(
                                point["description"],
                                point["points"],
                                tuple(point["message_ids"]),
                                tuple(point["staff_entry_ids"]),
                            )
                            for point in item["items"]
                        ),
                        item["closed"],
                    )
                    for item in row["components"]
                ),
            )
            for row in record["rows"]
        ),
    )


def matrix_record(packages: dict[str, PackageStatus]) -> dict[str, Any]:
    def instant(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        unit: {
            "month": package.month,
            "status": package.status,
            "deadline": instant(package.deadline),
            "as_of": instant(package.as_of),
            "forms": [
                {
                    "form": form.form,
                    "status": form.status,
                    "arrival": instant(form.arrival),
                    "message_id": form.message_id,
                }
                for form in package.forms
            ],
        }
        for unit, package in packages.items()
    }


def matrix_from(record: dict[str, Any]) -> dict[str, PackageStatus]:
    def instant(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    return {
        unit: PackageStatus(
            unit,
            package["month"],
            package["status"],
            # matrix_record writes both from a PackageStatus, where neither is None
            datetime.fromisoformat(package["deadline"]),
            datetime.fromisoformat(package["as_of"]),
            tuple(
                FormStatus(form["form"], form["status"], instant(form["arrival"]), form["message_id"])
                for form in package["forms"]
            ),
        )
        for unit, package in record.items()
    }
