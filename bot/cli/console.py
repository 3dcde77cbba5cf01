"""What the command line prints, laid out for a terminal: columns lined up by display width (a Chinese character
takes two columns, so 景县 and 滨湖新区 line up only when padded by width, not by count), and progress bars only
where someone watches them."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import click
from wcwidth import wcswidth

if TYPE_CHECKING:
    from archive.outbox import Fate
    from bot.config import Config
    from bot.outgoing.outbox import FlushReport

UNSCORED = "—"
UNSCORED_LEGEND = "“—”表示该项尚未到评分时间（计 0 分）；总分相同名次并列。"


def width(text: str) -> int:
    """Columns `text` takes in a terminal; a character of unknown width counts as one."""
    measured = wcswidth(text)
    return measured if measured >= 0 else sum(max(wcswidth(char), 1) for char in text)


def pad(text: str, columns: int, align: str = "<") -> str:
    """`text` padded with spaces to `columns` display columns, on the right ("<") or on the left (">")."""
    room = " " * max(0, columns - width(text))
    return text + room if align == "<" else room + text


def table(rows: Sequence[Sequence[object]], align: str = "", gap: str = "  ") -> list[str]:
    """Rows (the first one a header, if wanted) as lines whose columns line up; `align` gives each column's
    "<" or ">" (default "<"). Trailing spaces are dropped."""
    cells = [[str(cell) for cell in row] for row in rows]
    if not cells:
        return []
    columns = max(len(row) for row in cells)
    widths = [max((width(row[i]) for row in cells if i < len(row)), default=0) for i in range(columns)]
    aligns = align.ljust(columns, "<")
    return [gap.join(pad(cell, widths[i], aligns[i]) for i, cell in enumerate(row)).rstrip() for row in cells]


@contextlib.contextmanager
def progress(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; elsewhere (a pipe, a log, cron) nothing at all, not even
    the label line click prints instead of a bar. Yields the function that advances it."""
    if not sys.stderr.isatty():
        yield lambda steps: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update


def sent_line(config: Config, what: str, report: FlushReport, fate: Fate) -> str:
    """What a command that queued a digest says once it has sent the outbox: the digest's own fate (its state and
    last error, which says how to send it again when it was refused for good), then, apart, what went wrong with
    the other mail due (a server down stops the pass at whichever mail it reaches first: the digest then waits
    untried, and why is in the others' lines)."""
    if report.busy:
        return f"{what}已加入发送队列；另一个实例正在发送邮件，将由它发出"
    if fate.state == "sent":
        line = f"{what}已发出（收件人 {'、'.join(config.outgoing.staff)}）"
    elif fate.state == "failed":
        line = f"{what}被对方服务器拒收、不再重试：{fate.error}"
    else:
        line = f"{what}已加入发送队列，尚未发出" + (f"，由 serve 或下次 poll 再试：{fate.error}" if fate.error else "")
    if went := report.sent - (fate.state == "sent"):  # the receipts and reminders that were due went with it
        line += f"；同时发出了 {went} 封其他待发邮件"
    others = [said for said in (*report.errors, *report.refused) if not fate.said_in(said)]
    if others:
        line += f"；另有 {len(others)} 封其他邮件未发出：{'；'.join(others)}"
    return line
