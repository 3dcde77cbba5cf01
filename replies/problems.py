"""A file's problems as a clerk reads them: each problem once, with every place it was found.

A reading records a problem at each cell it concerns (the same person registered twice is a problem on both
rows, so a page can mark both), but a receipt, `inspect` or `show` that said it twice would read as two
mistakes: one line names both places instead, "［Sheet C4、C6］…".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def problem_lines(problems: Iterable[Mapping[str, Any]]) -> list[str]:
    """ "［sheet cells］message" for each distinct message, in the order first found; no brackets for a
    problem of the whole file."""
    return [f"［{places}］{message}" if places else message for places, message in merged_problems(problems)]


def merged_problems(problems: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(places, message) for each distinct message, in the order first found: places "Sheet C4、C6", or ""."""
    places: dict[str, dict[tuple[str, str], None]] = {}  # each message's places, once each, in the order found
    for problem in problems:
        found = places.setdefault(problem["message"], {})
        place = (problem.get("sheet") or "", cell_name(problem))
        if any(place):
            found[place] = None
    return [(_places(list(found)), message) for message, found in places.items()]


def cell_name(problem: Mapping[str, Any]) -> str:
    """ "C5", "第 7 行", a column alone, or "" for a problem of the whole sheet."""
    column, row = problem.get("column"), problem.get("row")
    if column and row:
        return f"{column}{row}"
    return f"第 {row} 行" if row else (column or "")


# The cells a sheet's line names: one problem may be in thousands (a number copied down a column).
CELLS_NAMED = 10


def _places(found: list[tuple[str, str]]) -> str:
    by_sheet: dict[str, list[str]] = {}
    for sheet, cell in found:
        by_sheet.setdefault(sheet, []).append(cell)
    return "；".join(" ".join(part for part in (sheet, _cells(cells)) if part) for sheet, cells in by_sheet.items())


def _cells(cells: list[str]) -> str:
    named = "、".join(cell for cell in cells[:CELLS_NAMED] if cell)
    return f"{named}等 {len(cells)} 处" if len(cells) > CELLS_NAMED else named
