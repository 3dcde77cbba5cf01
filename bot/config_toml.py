"""A config file's TOML read, and tomllib's errors said as the operator's slips: a quote left open, a full-width
character typed with a Chinese input method, a file saved as GBK or UTF-16."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from parsers.errors import ConfigError


def parse_toml(raw: bytes, path: Path) -> dict[str, Any]:
    """The file's tables. A UTF-8 byte order mark (Windows Notepad writes one) is harmless and dropped; any
    other mistake is one line naming where it is and what to fix, in the words of the usual slips: a quote
    left open, a full-width character typed with a Chinese input method, a file saved as GBK."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(
            f"配置文件 {path} 是以 UTF-16（记事本的“Unicode”）保存的：请改用 UTF-8 编码保存"
            "（记事本：文件 → 另存为 → 编码选 UTF-8）"
        )
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ConfigError(
            f"配置文件 {path} 第 {line} 行不是 UTF-8 编码（可能以 GBK/ANSI 保存）：请改用 UTF-8 编码保存"
            "（记事本：文件 → 另存为 → 编码选 UTF-8）"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"配置文件 {path} {toml_problem(text, str(error))}") from None


# tomllib says where ("Invalid value (at line 16, column 7)", "… (at end of document)"); Python 3.11's error
# carries it only in its text.
_TOML_AT = re.compile(r"^(?P<what>.*?) \((?:at line (?P<line>\d+), column (?P<column>\d+)|at end of document)\)$", re.S)
# What a string left open makes tomllib say: a single-line string reaching the line's end, or the file's.
_OPEN_STRING = ("Illegal character '\\n'", "Found invalid character '\\n'", "Unterminated string", "Expected \"'")
# Characters a Chinese input method types for TOML's own, beyond the full-width forms of ASCII (U+FF01–FF5E).
_CHINESE_PUNCTUATION = {
    "\u3000": " ",
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
    "、": ",",
    "。": ".",
    "【": "[",
    "】": "]",
}
# tomllib's other messages in the operator's words; its own text follows in brackets.
_OPEN_TABLE = "Expected ']' at the end of a table declaration"
_TOML_SAYS = {
    "Invalid value": '值的写法不对：文字要用英文双引号括起来（如 "景县"），数字和 true、false 不加引号',
    "Invalid statement": "这一行应是 键 = 值，或 [表名]、[[表名]]",
    "Expected '=' after a key in a key/value pair": "键的后面应是等号 =",
    "Expected newline or end of document after a statement": "一行只能写一项：值的后面只能是换行或 # 注释",
    "Unclosed array": "列表没有写完：各项之间用英文逗号 , 分隔，最后以 ] 结束",
    "Unclosed inline table": "{ … } 没有写完：各项之间用英文逗号 , 分隔，最后以 } 结束，且须写在同一行",
    "Cannot overwrite a value": "这个键前面已经写过一次：同一个表中每个键只能写一次",
    "Invalid initial character for a key part": "键名只用英文字母、数字、_ 和 -（{ … } 的最后一项后不加逗号）",
    _OPEN_TABLE: "表名的后面缺少 ]：应写作 [表名]，如 [smtp]",
    "Expected ']]' at the end of an array declaration": "表名的后面缺少 ]]：应写作 [[表名]]，如 [[mailbox]]",
}


def toml_problem(text: str, said: str) -> str:
    """What follows "配置文件 config.toml " for tomllib's error `said` on `text`: where, and what to fix."""
    found = _TOML_AT.match(said)
    what = found.group("what") if found else said
    if not found or found.group("line") is None:  # at the end of the document: only a string left open
        if what.startswith(_OPEN_STRING):
            line = next((n for n, row in enumerate(text.split("\n"), 1) if _open_quote(row) is not None), None)
            return (f"第 {line} 行" if line else "末尾") + _QUOTE_LEFT_OPEN
        return f"末尾：{_TOML_SAYS[what]}（{what}）" if what in _TOML_SAYS else f"不是有效的 TOML：{said}"
    line, column = int(found.group("line")), int(found.group("column"))
    row = text.split("\n")[line - 1]
    char = row[column - 1] if column <= len(row) else "\n"
    at = f"第 {line} 行第 {column} 列"
    half = half_width(char)
    if half:
        kind = "中文标点" if char in _CHINESE_PUNCTUATION and char != "\u3000" else "全角字符"
        named = "全角空格（U+3000）" if char == "\u3000" else f"{kind} {char}（U+{ord(char):04X}）"
        shown = "半角空格" if half == " " else f"半角的 {half}"
        return (
            f"{at}有{named}：TOML 的数字、引号、等号、逗号、括号和空格须为半角字符（用英文输入法输入），请改为{shown}"
        )
    if what.startswith(_OPEN_STRING) or (row.count('"') % 2 == 1 and '"""' not in row):
        return f"第 {line} 行{_QUOTE_LEFT_OPEN}"
    if what.startswith("Unescaped '\\'"):
        return f"{at}：双引号字符串里的反斜杠 \\ 须写成 \\\\；路径也可改用单引号（'C:\\mailroom\\archive'）或正斜杠 /"
    if not char.isascii() and not char.isspace():
        return f'{at}的 {char} 不在引号里：文字要用英文双引号括起来，如 name = "景县"；若是注释，前面要加 #'
    if what.startswith("Cannot declare") and "]" not in row:  # tomllib reads "[general" as [general] again
        return f"{at}：{_TOML_SAYS[_OPEN_TABLE]}；且同名的表前面已经写过一次，只能写一次（请与前面的合并）"
    if what.startswith("Cannot declare"):
        return f"{at}：这个表前面已经写过一次，同名的 [表] 只能写一次（[[mailbox]]、[[unit]] 这样的表可以写多个）"
    if what in _TOML_SAYS:
        return f"{at}：{_TOML_SAYS[what]}（{what}）"
    return f"{at}不是有效的 TOML：{what}"


_QUOTE_LEFT_OPEN = '的引号没有闭合：字符串要用一对英文引号括起来，写在同一行内，如 timezone = "Asia/Shanghai"'


def half_width(char: str) -> str:
    """The ASCII character a full-width or Chinese punctuation `char` stands for; "" for any other."""
    if "\uff01" <= char <= "\uff5e":
        return chr(ord(char) - 0xFEE0)
    return _CHINESE_PUNCTUATION.get(char, "")


def _open_quote(row: str) -> int | None:
    """Where the string left open at the end of a line of TOML starts (None: every string is closed)."""
    quote, start, index = "", None, 0
    while index < len(row):
        char = row[index]
        if start is None:
            if char == "#":
                break
            if char in "\"'":
                quote, start = char, index
        elif quote == '"' and char == "\\":
            index += 1
        elif char == quote:
            start = None
        index += 1
    return start
