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
    """(places, message) for each distinct message, in the order first found: places "Sheet C4、C6", or "". A
    mistake made down a column (19-digit IDs, phones that lost their 0) is a message a row, each naming its own
    value: the first SAID_WHOLE of one kind in one column are said whole, the rest on one line after them with
    their cells (a clerk read 232 numbered lines, each explaining the same rule again)."""
    places: dict[str, dict[tuple[str, str], None]] = {}  # each message's places, once each, in the order found
    kinds: dict[str, tuple[str, str, str] | None] = {}  # each message's kind and column, when it has both
    for problem in problems:
        found = places.setdefault(problem["message"], {})
        place = (problem.get("sheet") or "", cell_name(problem))
        if any(place):
            found[place] = None
        code, column = problem.get("code"), problem.get("column")
        folded = code in CELL_RULES and bool(column)
        kinds.setdefault(problem["message"], (str(code), problem.get("sheet") or "", str(column)) if folded else None)
    lines: list[tuple[str, str]] = []
    said: dict[tuple[str, str, str], int] = {}
    rest: dict[tuple[str, str, str], tuple[int, list[tuple[str, str]]]] = {}  # its line's index, its places
    total: dict[tuple[str, str, str], int] = {}
    for kind in kinds.values():
        if kind is not None:
            total[kind] = total.get(kind, 0) + 1
    for message, found in places.items():
        kind = kinds[message]
        if kind is not None and total[kind] > SAID_WHOLE + 1:  # one left over is said whole too
            said[kind] = said.get(kind, 0) + 1
            if said[kind] > SAID_WHOLE:
                if kind not in rest:
                    rest[kind] = (len(lines), [])  # its line goes after the last said whole
                    lines.append(("", ""))
                rest[kind][1].extend(found)
                continue
        lines.append((_places(list(found)), message))
    for (_, _, column), (index, found_rest) in rest.items():
        unique = list(dict.fromkeys(found_rest))
        lines[index] = (_places(unique), f"{column} 列这些单元格也有同类问题（说明同上）；请整列核对后改正")
    return lines


# Of one kind of problem in one column, how many are said whole before the rest are named on one line.
SAID_WHOLE = 3
# The kinds a column gets wrong all alike, each cell by the same rule (a duplicated person names the other row:
# each said whole).
CELL_RULES = frozenset({"bad-disability-id", "bad-id-number", "id-precision-lost", "bad-phone", "empty-required"})


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
