"""Which unit a text names: a subject, a file or sheet name, a form's title, by its units' names, aliases and
short names (桃城区 → 桃城), compared folded (parsers.records.fold); and which units an address is registered to.

Readers and recognition alike look units up here, so a reader of workbooks needs nothing of mail recognition."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from parsers.records import Unit, fold


def _short_name(unit: Unit) -> str | None:
    """桃城区 → 桃城: the name without its final 县/区/市, if two characters or more remain."""
    name = fold(unit.name)
    return name[:-1] if len(name) >= 3 and name[-1] in "县区市" else None


def unit_keys(units: Sequence[Unit]) -> dict[str, Unit]:
    """Every normalized name, alias and unique short name, mapped to its unit; ambiguous keys dropped."""
    return dict(_unit_keys(tuple(units)))


@functools.lru_cache(maxsize=16)
def _unit_keys(units: tuple[Unit, ...]) -> tuple[tuple[str, Unit], ...]:
    """unit_keys, computed once per set of units and longest key first (the order _units_in needs)."""
    owners: dict[str, set[str]] = {}
    for unit in units:
        for key in (unit.name, *unit.aliases):
            if normalized := fold(key):
                owners.setdefault(normalized, set()).add(unit.name)
    # A derived short name never overrides a configured key; two units sharing one drop it.
    configured = set(owners)
    for unit in units:
        stem = _short_name(unit)
        if stem and stem not in configured:
            owners.setdefault(stem, set()).add(unit.name)
    by_name = {unit.name: unit for unit in units}
    keys = [(key, by_name[next(iter(names))]) for key, names in owners.items() if len(names) == 1]
    return tuple(sorted(keys, key=lambda pair: (-len(pair[0]), pair[0])))


def _units_in(text: str, keys: Sequence[tuple[str, Unit]]) -> tuple[Unit, ...]:
    """Units named in text, in order of first mention; longer keys claim their characters first."""
    haystack = fold(text)
    taken = [False] * len(haystack)
    hits: list[tuple[int, Unit]] = []
    for key, unit in keys:
        if key not in haystack:
            continue
        for match in re.finditer(re.escape(key), haystack):
            span = range(match.start(), match.end())
            if not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                hits.append((match.start(), unit))
    ordered: list[Unit] = []
    for _, unit in sorted(hits, key=lambda hit: hit[0]):
        if unit not in ordered:
            ordered.append(unit)
    return tuple(ordered)


def find_units(text: str, units: Sequence[Unit]) -> tuple[Unit, ...]:
    """All units that text names (full name, alias or short name), in order of first mention."""
    return _units_in(text, _unit_keys(tuple(units)))


def find_unit(text: str, units: Sequence[Unit]) -> Unit | None:
    """The first unit that text names, or None."""
    found = find_units(text, units)
    return found[0] if found else None


def units_for_sender(address: str | None, units: Sequence[Unit]) -> tuple[Unit, ...]:
    """Units whose registered senders include address (case-insensitive)."""
    if not address:
        return ()
    wanted = address.strip().lower()
    return tuple(unit for unit in units if wanted in {s.strip().lower() for s in unit.senders})


def counterpart(name: str, units: Sequence[Unit], among: Sequence[Unit]) -> str:
    """The unit of `among` (another plan year's) that unit `name` of `units` is: the one its name or an alias
    names (枣强区, whose alias 枣强县 is 2020's unit, is 2020's 枣强县), else `name` itself."""
    unit = next((unit for unit in units if unit.name == name), None)
    if unit is None or any(other.name == name for other in among):
        return name
    keys = unit_keys(among)  # each spelling looked up whole: 桃城冀州合并区 is no 桃城区 for holding 桃城
    found = next((keys[fold(key)] for key in (unit.name, *unit.aliases) if fold(key) in keys), None)
    return found.name if found else name


def seen_from(own: Sequence[Unit], every: Sequence[Unit]) -> tuple[Unit, ...]:
    """The units mail of a plan year is recognised among: that year's (`own`), then each unit of other years
    (`every`) that shares no name, alias or address with them. A renamed unit's old name and address are its
    successor's in the successor's years; a unit gone from the year's plan without a successor is still known
    (and its mail told it is outside the plan: parsers.derive.UNPLANNED)."""
    names = {fold(key) for unit in own for key in (unit.name, *unit.aliases)}
    addresses = {address.strip().lower() for unit in own for address in unit.senders}
    return (
        *own,
        *(
            unit
            for unit in every
            if not names & {fold(key) for key in (unit.name, *unit.aliases)}
            and not addresses & {address.strip().lower() for address in unit.senders}
        ),
    )
