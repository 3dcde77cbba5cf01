"""Which keys of a config file are known: the ones the builder reads. Each table of the file is wrapped so that
it records the keys the builder asks for; a key it never asked for is unknown (a typo, or a key of no version),
and the nearest asked-for name is the likely intent. A key added to the builder later is known at once."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from parsers.errors import ConfigError


class ReadTable(dict):
    """A TOML table that remembers which keys were asked for; iterating it means every key is consumed (a map
    such as a unit's targets, whose keys the builder checks itself)."""

    def __init__(self, data: dict[str, Any]):
        super().__init__({key: wrap(value) for key, value in data.items()})
        self.asked: set[str] = set()
        self.consumed = False

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)

    def __getitem__(self, key: str) -> Any:
        self.asked.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __iter__(self) -> Iterator[str]:
        self.consumed = True
        return super().__iter__()

    def keys(self):
        self.consumed = True
        return super().keys()

    def items(self):
        self.consumed = True
        return super().items()

    def values(self):
        self.consumed = True
        return super().values()


def wrap(value: Any) -> Any:
    """Tables become ReadTables, lists of tables lists of ReadTables; anything else stays as it is."""
    if isinstance(value, dict):
        return ReadTable(value)
    if isinstance(value, list):
        return [wrap(item) for item in value]
    return value


def unknown_keys(table: ReadTable, where: str = "") -> list[str]:
    """Every key the builder did not ask for, each with the nearest known name: "[schedul]（是不是 [schedule]？）"."""
    return [_with_hint(_name(at, key), at, key, sorted(found.asked)) for found, at, key in _unasked(table, where)]


def likely_typos(table: ReadTable, where: str = "") -> list[str]:
    """Unknown keys close to a name the builder looked for and did not find: after a build stopped halfway,
    these explain its error ("mailbox[0].host is missing" when the file says hots) better than it does."""
    found = []
    for owner, at, key in _unasked(table, where):
        absent = sorted(name for name in owner.asked if not dict.__contains__(owner, name))
        if difflib.get_close_matches(key, absent, 1, 0.6):
            found.append(_with_hint(_name(at, key), at, key, absent))
    return found


def _unasked(table: ReadTable, where: str) -> Iterator[tuple[ReadTable, str, str]]:
    """(table, where it is, key) of every key nobody asked for, in this table and in the tables (and lists of
    tables) under the keys that were asked for."""
    for key, value in dict.items(table):
        name = _name(where, key)
        if key not in table.asked and not table.consumed:
            yield table, where, key
        elif isinstance(value, ReadTable):
            yield from _unasked(value, name)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, ReadTable):
                    yield from _unasked(item, f"{name}[{index}]")


def refuse_unknown(names: list[str]) -> None:
    if names:
        raise ConfigError("未知的配置项 " + "、".join(names))


def _name(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _with_hint(name: str, where: str, key: str, known: list[str]) -> str:
    """A top-level key is a section, shown as [schedul]; any other by its dotted name."""
    shown = (lambda k: f"[{k}]") if not where else (lambda k: _name(where, k))
    close = difflib.get_close_matches(key, known, 1, 0.6)
    if close:
        return f"{shown(key)}（是不是 {shown(close[0])}？）"
    return f"{shown(key)}（这里可用的有 {'、'.join(known)}）" if known else shown(key)
