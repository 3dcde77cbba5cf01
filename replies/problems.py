"""A file's problems as a clerk reads them: each problem once, with every place it was found.

A reading records a problem at each cell it concerns (the same person registered twice is a problem on both
rows, so a page can mark both), but a receipt, `inspect` or `show` that said it twice would read as two
mistakes: one line names both places instead, "［Sheet C4、C6］…".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from parsers.forms import NOTE_CODES


def problems_and_hints(problems: Iterable[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], list[str]]:
    """A form's problems, and its hints' messages apart (parsers.forms.NOTE_CODES: they ask nothing, and are said
    as 提示 wherever the problems are listed)."""
    problems = list(problems)
    return (
        [problem for problem in problems if problem.get("code") not in NOTE_CODES],
        [problem["message"] for problem in problems if problem.get("code") in NOTE_CODES],
    )


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
    kinds: dict[str, tuple[str, ...] | None] = {}  # each message's kind, column and rule, when it has them
    for problem in problems:
        found = places.setdefault(problem["message"], {})
        place = (problem.get("sheet") or "", cell_name(problem))
        if any(place):
            found[place] = None
        code, column = problem.get("code"), problem.get("column")
        by_rule = code in CELL_RULES and bool(column)
        rule = (str(code), problem.get("sheet") or "", str(column), _QUOTED.sub("", problem["message"]))
        kinds.setdefault(problem["message"], rule if by_rule else None)
    by_kind: dict[tuple[str, ...], list[str]] = {}  # each kind's messages, in the order found
    for message, kind in kinds.items():
        if kind is not None:
            by_kind.setdefault(kind, []).append(message)
    folded = {  # past the first SAID_WHOLE, when more than one is left over
        message: kind
        for kind, messages in by_kind.items()
        if len(messages) > SAID_WHOLE + 1
        for message in messages[SAID_WHOLE:]
    }
    lines: list[tuple[str, str]] = []
    for message, found in places.items():
        kind = folded.get(message)
        if kind is None:
            lines.append((_places(list(found)), message))
        elif message == by_kind[kind][SAID_WHOLE]:  # the first folded: one line for them all, in its place
            cells = dict.fromkeys(place for other in by_kind[kind][SAID_WHOLE:] for place in places[other])
            lines.append((_places(list(cells)), f"{kind[2]} 列这些单元格也有同类问题（说明同上）；请整列核对后改正"))
    return lines


# A message's own value (“131102…”, “王?明”) and row: what is left of it is the rule it explains, which one kind shares
# (a wrong 等级 and an impossible birth date are both bad-disability-id, and each needs its own words).
_QUOTED = re.compile(r"“[^”]*”|第 \d+ 行")
# Of one kind of problem in one column, how many are said whole before the rest are named on one line.
SAID_WHOLE = 3
# The kinds a column gets wrong all alike, each cell by the same rule (a duplicated person names the other row:
# each said whole).
CELL_RULES = frozenset(
    {"bad-disability-id", "bad-id-number", "id-precision-lost", "bad-phone", "empty-required", "name-character-lost"}
)


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
