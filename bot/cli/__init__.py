"""The `mailroom` command line. `group.py` is the group (`main`, the entry point), the context every command
gets and the table of commands; each other module holds one group of commands and registers them on `main`;
`errors.py` turns every failure into one line of Chinese and an exit code; `helptext.py` lays out every
`--help` in Chinese; `console.py` lines up tables.

May import every room of bot/ and everything below. Nothing imports it: it is the top.
"""

from bot.cli.group import main  # the entry point: pyproject's `mailroom = "bot.cli:main"`, as installed before

__all__ = ["main"]
