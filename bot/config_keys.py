"""Reading a config file's keys: each value checked as the builder reads it (value_of, table_of, time_of), and
which keys are known, the ones the builder reads. Each table of the file is wrapped so that it records the keys
the builder asks for; a key it never asked for is unknown (a typo, or a key of no version), and the nearest
asked-for name is the likely intent. A key added to the builder later is known at once."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from datetime import time
from typing import Any

from bot.config_toml import half_width
from parsers.errors import ConfigError

# How a list of tables names its items in messages, by the list's dotted name: the item (a table) and its
# index give what goes before each of its keys, e.g. "[[mailbox]] bgs（办公室）的 ". A list not named here names
# an item by its place: "unit[3].".
Labels = Mapping[str, Callable[[dict[str, Any], int], str]]


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


def unknown_keys(table: ReadTable, labels: Labels | None = None) -> list[str]:
    """Every key the builder did not ask for, each with the nearest known name: "[schedul]（是不是 [schedule]？）"."""
    return [_with_hint(at, key, sorted(found.asked)) for found, at, key in _unasked(table, "", labels or {})]


def likely_typos(table: ReadTable, labels: Labels | None = None) -> list[str]:
    """Unknown keys close to a name the builder looked for and did not find: after a build stopped halfway,
    these explain its error ("[[mailbox]] bgs（办公室）的 host is missing" when the file says hots) better than it
    does."""
    found = []
    for owner, at, key in _unasked(table, "", labels or {}):
        absent = sorted(name for name in owner.asked if not dict.__contains__(owner, name))
        if difflib.get_close_matches(key, absent, 1, 0.6):
            found.append(_with_hint(at, key, absent))
    return found


def _unasked(table: ReadTable, where: str, labels: Labels) -> Iterator[tuple[ReadTable, str, str]]:
    """(table, what goes before its keys, key) of every key nobody asked for, in this table and in the tables
    (and lists of tables) under the keys that were asked for. `where` ends with its separator: "" at the top,
    "schedule.", "unit[3].", "[[mailbox]] bgs（办公室）的 "."""
    for key, value in dict.items(table):
        name = where + key
        if key not in table.asked and not table.consumed:
            yield table, where, key
        elif isinstance(value, ReadTable):
            yield from _unasked(value, name + ".", labels)
        elif isinstance(value, list):
            label = labels.get(name)
            for index, item in enumerate(value):
                if isinstance(item, ReadTable):
                    yield from _unasked(item, label(item, index) if label else f"{name}[{index}].", labels)


def refuse_unknown(names: list[str]) -> None:
    if names:
        raise ConfigError("未知的配置项 " + "、".join(names))


def _with_hint(where: str, key: str, known: list[str]) -> str:
    """A top-level key is a section, shown as [schedul]; any other by its dotted name, or under a labelled
    table's label ("[[mailbox]] bgs（办公室）的 hots"), whose hint then needs only the key ("是不是 host？")."""
    if not where:
        shown, hint = (lambda k: f"[{k}]"), (lambda k: f"[{k}]")
    else:
        shown, hint = (lambda k: where + k), (lambda k: where + k if where.endswith(".") else k)
    close = difflib.get_close_matches(key, known, 1, 0.6)
    if close:
        return f"{shown(key)}（是不是 {hint(close[0])}？）"
    return f"{shown(key)}（这里可用的有 {'、'.join(known)}）" if known else shown(key)


def table_of(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{key}] 应为一个表")
    return value


def value_of(
    table: dict[str, Any],
    key: str,
    kind: type,
    default: Any = ...,
    *,
    check: Callable[[Any], bool] | None = None,
    why: str = "",
    shown: str = "",
) -> Any:
    """`table`'s value for the last part of the dotted `key`, checked; messages name it as `key`, or as `shown`
    when given (a key of a [[mailbox]], named by the mailbox's label: bot.config.field_of)."""
    name = key.rsplit(".", 1)[-1]
    key = shown or key
    if name not in table:
        if default is ...:
            raise ConfigError(f"缺少 {key}")
        return default
    value = written = table[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{key} 应为{_type_name(kind)}，而不是 {written!r}")
    if check is not None and not check(value):
        raise ConfigError(f"{key} 应为{' ' if why[:1].isascii() else ''}{why}，而不是 {written!r}")
    return value


def _type_name(kind: type) -> str:
    return {str: "字符串", int: "整数", float: "数字", bool: " true 或 false", list: "列表", dict: "表"}.get(
        kind, kind.__name__
    )


def time_of(text: str, key: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{key} 应为时刻，如 23:59:59，而不是 {text!r}") from None


# What stands between two addresses written as one, and what else cannot stand in a plain address.
_BETWEEN_ADDRESSES = ",;，；、"
_NOT_IN_ADDRESS = '()[]"\\:'


def address_of(address: Any, named: str) -> str:
    """A mail address as written in the config, lower case; one that is no address ("jxcl2020 163.com", a missing
    @, two addresses in one string) is refused, `named` saying where it is: mail to it or compared with it would
    fail, or never match, long after."""
    if not isinstance(address, str):
        raise ConfigError(f'{named}：{address!r} 应为字符串，如 "jxcl2020@163.com"')
    text = address.strip()
    local, _, domain = text.partition("@")
    wide = next((char for char in text if half_width(char) and not char.isspace()), "")
    odd = next((char for char in text if char in _NOT_IN_ADDRESS), "")
    if "@" in text and any(char in _BETWEEN_ADDRESSES for char in text):
        why = '一项只能写一个地址，多个地址请分开写，如 ["jxcl2020@163.com", "jx2021@163.com"]'
    elif "<" in text or ">" in text:
        why = "只写地址本身，不带姓名和尖括号"
    elif any(char.isspace() for char in text):
        why = "地址中有空格"
    elif wide:
        why = f"有全角或中文字符 {wide}，请改为半角的 {half_width(wide)}"
    elif odd:
        why = f"地址中不能有 {odd}"
    elif text.count("@") != 1:
        why = "缺少 @" if "@" not in text else f"有 {text.count('@')} 个 @"
    elif not local or not domain:
        why = "@ 前后都要有内容"
    elif domain.startswith(".") or domain.endswith("."):
        why = "@ 后面的域名不能以 . 开头或结尾"
    elif "." not in domain or ".." in domain:
        why = "@ 后面的域名中要有 .，如 163.com"
    else:
        return text.lower()
    raise ConfigError(f"{named}：{address!r} 不是邮箱地址：{why}；应形如 jxcl2020@163.com")
