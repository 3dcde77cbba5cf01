"""`--help` in Chinese, laid out for a terminal: click's own words ("Usage:", the section headings, the help
option's line, an option's "[required]" and "[default: …]") said in Chinese, and the text wrapped by display
width (a Chinese character takes two columns; click counts characters, so a Chinese paragraph would run to
twice the width) and between Chinese characters, never before a closing mark such as "，" or "）".

click offers each of these as a hook: the formatter class of a context (`HelpContext`), the help option and
the options' section of a command (`HelpCommand`, `HelpGroup`). bot/cli/group.py makes every command of
`mailroom` one of these; imported by `mailroom --help`, so it imports only click and the standard library.
"""

from __future__ import annotations

import inspect
import unicodedata
from collections.abc import Iterable, Iterator

import click

USAGE = "用法："
HEADINGS = {"Options": "选项", "Commands": "命令", "Positional arguments": "参数"}
HELP_OPTION = "显示本帮助并退出。"
VERSION_OPTION = "显示版本号并退出。"
LOGIN_NAME = "当前登录名"  # show_default of a --by option, whose default is the login name
_NO_LINE_START = frozenset("，。、；：！？）」』”’》〉】…—,.;:!?)]}%")
_NO_LINE_END = frozenset("（「『“‘《〈【([{")


def width(text: str) -> int:
    """Columns `text` takes in a terminal: two for a wide (Chinese) character, none for a combining mark."""
    return sum(_char_width(char) for char in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _tokens(text: str) -> Iterator[str]:
    """Each run of spaces, each wide character alone, each run of other characters whole."""
    run = ""
    for char in text:
        if run and (char.isspace() != run[-1].isspace() or _wide(char) or _wide(run[-1])):
            yield run
            run = ""
        run += " " if char.isspace() else char
    if run:
        yield run


def _may_break(before: str, after: str) -> bool:
    """Whether a line may end between two tokens written without a space: beside a Chinese character, unless
    that puts a closing mark at a line's start or an opening one at its end."""
    return (_wide(before[-1]) or _wide(after[0])) and after[0] not in _NO_LINE_START and before[-1] not in _NO_LINE_END


def _chunks(text: str) -> list[tuple[str, str]]:
    """(the spaces before it, the text) of each piece no line is broken within."""
    chunks: list[tuple[str, str]] = []
    space, bracketed, quoted = "", False, False  # "[必填]", "[schedule] poll_minutes", "`queue --all`" stay whole
    for token in _tokens(text):
        if token.isspace():
            space = token
            continue
        if chunks and (bracketed or quoted or not space and not _may_break(chunks[-1][1], token)):
            chunks[-1] = (chunks[-1][0], chunks[-1][1] + space + token)
        else:
            chunks.append((space, token))
        space = ""
        bracketed = (bracketed or "[" in token) and "]" not in token.rpartition("[")[2]
        quoted ^= token.count("`") % 2 == 1
    return chunks


def wrap(text: str, columns: int, initial_indent: str = "", subsequent_indent: str = "") -> list[str]:
    """One paragraph as lines of at most `columns` display columns (a piece wider than a line stands alone)."""
    lines: list[str] = []
    line, used, empty = initial_indent, width(initial_indent), True
    for space, chunk in _chunks(text):
        gap = "" if empty else space
        if not empty and used + width(gap + chunk) > columns:
            lines.append(line)
            line, used, gap = subsequent_indent, width(subsequent_indent), ""
        line += gap + chunk
        used += width(gap + chunk)
        empty = False
    lines.append(line)
    return lines


def _join(lines: Iterable[str]) -> str:
    """The lines of one paragraph as one: a line break is a space, as in English, except between two Chinese
    characters or beside a Chinese mark ("，", "（")."""
    text = ""
    for line in (line.strip() for line in lines):
        if text and line:
            text += "" if _close(text[-1], line[0]) else " "
        text += line
    return text


def _close(before: str, after: str) -> bool:
    """Whether two characters are written with no space between them when a line break parts them."""
    return (_wide(before) and _wide(after)) or any(
        _wide(c) and unicodedata.category(c)[0] == "P" for c in (before, after)
    )


def paragraphs(text: str) -> list[tuple[bool, list[str]]]:
    """(to be wrapped, its lines) of each paragraph; one that starts with a line of "\\b" is kept as written,
    as click keeps it."""
    found: list[tuple[bool, list[str]]] = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line.strip()]
        if lines and lines[0].strip() == "\b":
            found.append((False, lines[1:]))
        elif lines:
            found.append((True, [_join(lines)]))
    return found


class HelpFormatter(click.HelpFormatter):
    """click's formatter with Chinese headings and wrapping by display width."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        prefix = USAGE if prefix is None else prefix
        start = f"{' ' * self.current_indent}{prefix}{prog}"
        if not args:
            self.write(f"{start}\n")
            return
        indent = " " * (width(start) + 1)
        if self.width - width(indent) < 20:  # the arguments on lines of their own
            self.write(f"{start}\n")
            indent = " " * (self.current_indent + 4)
            start = indent
        else:
            start += " "
        self.write("\n".join(wrap(args, self.width, start, indent)) + "\n")

    def write_heading(self, heading: str) -> None:
        self.write(f"{' ' * self.current_indent}{HEADINGS.get(heading, heading)}：\n")

    def write_text(self, text: str) -> None:
        self.write("\n\n".join(self._paragraph(text, self.width, " " * self.current_indent)) + "\n")

    def _paragraph(self, text: str, columns: int, indent: str) -> Iterator[str]:
        for wrapped, lines in paragraphs(text):
            yield "\n".join(
                line
                for written in lines
                for line in (wrap(written, columns, indent, indent) if wrapped else [indent + written])
            )

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first_col = min(max((width(first) for first, _ in rows), default=0), col_max) + col_spacing
        indent = " " * self.current_indent
        columns = max(self.width - first_col - 2, 10)
        for first, second in rows:
            self.write(f"{indent}{first}")
            if not second:
                self.write("\n")
                continue
            if width(first) <= first_col - col_spacing:
                self.write(" " * (first_col - width(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = "\n\n".join(self._paragraph(second, columns, "")).splitlines()
            self.write(lines[0] + "\n" if lines else "\n")
            for line in lines[1:]:
                self.write(f"{' ' * (first_col + self.current_indent)}{line}\n" if line else "\n")


class HelpContext(click.Context):
    formatter_class = HelpFormatter


def option_row(ctx: click.Context, option: click.Option) -> tuple[str, str] | None:
    """An option's line of the help: its spellings and its help, with what click adds to it (required, the
    default, the range, the variable it is read from) in Chinese."""
    record = option.get_help_record(ctx)
    if record is None:  # hidden
        return None
    extra = option.get_help_extra(ctx)
    items = [f"环境变量：{'、'.join(extra['envvars'])}"] if "envvars" in extra else []
    if "default" in extra:  # a default said in words (show_default="…") without click's parentheses
        said = option.show_default if isinstance(option.show_default, str) else extra["default"]
        items.append(f"默认：{said}")
    if "range" in extra:
        items.append(f"范围：{extra['range']}")
    if "required" in extra:
        items.append("必填")
    text = option.help or ""
    if items:
        text = f"{text}  [{'；'.join(items)}]" if text else f"[{'；'.join(items)}]"
    return record[0], text


class HelpCommand(click.Command):
    """A command whose help is in Chinese (see the module's docstring)."""

    context_class = HelpContext

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_OPTION
        return option

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            row for param in self.get_params(ctx) if isinstance(param, click.Option) and (row := option_row(ctx, param))
        ]
        if rows:
            with formatter.section("选项"):
                formatter.write_dl(rows)


def short_help(command: click.Command, columns: int) -> str:
    """A command's line in its group's list: its short_help, else its help's first sentence, cut to `columns`."""
    text = inspect.cleandoc(command.short_help or command.help or "").partition("\f")[0]
    first = next((lines[0] for _, lines in paragraphs(text) if lines), "")
    sentence, stop, _ = first.partition("。")
    line = sentence + stop
    if width(line) <= columns:
        return line
    while line and width(line) > columns - 1:
        line = line[:-1]
    return line + "…"


class HelpGroup(HelpCommand, click.Group):
    """A group whose help is in Chinese, as are its commands' and groups'."""

    command_class = HelpCommand
    group_class: type[click.Group | type] | None = type  # a group made on it is one of these too

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        shown = [(name, command) for name, command in commands if command is not None and not command.hidden]
        if not shown:
            return
        columns = formatter.width - 6 - max(len(name) for name, _ in shown)
        with formatter.section("命令"):
            formatter.write_dl([(name, short_help(command, columns)) for name, command in shown])
