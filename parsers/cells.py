"""Cell values as calamine gives them (str, float, int, bool, dates) turned into what a clerk sees."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

from parsers.records import fold

# Excel keeps 15 significant digits; beyond that a number's last digits are zeros.
_EXACT_LIMIT = 1e15


def cell_text(value: object) -> str:
    """The cell as the sender sees it: 13812345678 not 13812345678.0, dates as 2020-04-15."""
    if value.__class__ is str:
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return "" if value is None else str(value)


def number_text(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value.is_integer():
        if abs(value) < _EXACT_LIMIT:
            return str(int(value))
        return str(int(Decimal(f"{value:.15g}")))  # what Excel's formula bar shows: 1311271990010100000
    return f"{value:.15g}"


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")
# What a clerk writes in a figure's cell for "none, not applicable" (a task without a target): nothing written.
_NOT_APPLICABLE = frozenset({"/", "\\", "-", "--", "—", "——", "―", "无"})
_FLOAT_NOISE = 1e-6


def parse_count(value: object) -> tuple[int | None, bool]:
    """(number, ok) for a 附件2 count: 184, "184", " 184 ", "１８４", "184人"; ("", True) is empty."""
    if isinstance(value, bool):
        return None, False
    if isinstance(value, float):  # a formula's 96.99999999999999 is the 97 Excel shows
        near = round(value) if math.isfinite(value) else -1
        return (near, True) if near >= 0 and abs(value - near) < _FLOAT_NOISE else (None, False)
    if isinstance(value, int):
        return (value, True) if value >= 0 else (None, False)
    if not _count_text(value):
        return None, True
    number = written_count(value)
    if number is None or not number.is_finite() or number != number.to_integral_value() or number < 0:
        return None, False
    return int(number), True


def written_count(value: object) -> Decimal | None:
    """The number a 附件2 count cell's text says, whatever its sign or fraction (what parse_count then accepts or
    refuses), None when it says none."""
    text = _count_text(value)
    if _THOUSANDS.fullmatch(text):  # "2,078": a number typed with its thousands separator
        text = text.replace(",", "")
    try:
        return Decimal(text)
    except ArithmeticError:
        return None


def _count_text(value: object) -> str:
    # the minus sign U+2212, which NFKC leaves as it is (a full-width － folds to -)
    text = fold(cell_text(value)).replace("\u2212", "-").rstrip("人户名个")
    return "" if text in _NOT_APPLICABLE else text


def parse_percent(value: object) -> tuple[tuple[float, ...], bool]:
    """(readings in percent, ok): "50%" → (50,); 0.5 or "0.5" → (50, 0.5) since either may be meant."""
    if isinstance(value, bool):
        return (), False
    if isinstance(value, (int, float)):
        if value != value or abs(value) == float("inf"):
            return (), False
        return (float(value) * 100, float(value)), True
    text = fold(cell_text(value))
    if not text or text in _NOT_APPLICABLE:
        return (), True
    is_percent = text.endswith("%")
    try:
        decimal = Decimal(text.rstrip("%"))
    except ArithmeticError:
        return (), False
    if not decimal.is_finite():
        return (), False
    number = float(decimal)
    return ((number,) if is_percent else (number * 100, number)), True
