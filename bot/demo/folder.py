"""`mailroom demo DIR`: a self-contained demo on the embedded default.

It writes DIR/config.toml (the example config with every department mailbox a local Maildir, SQLite and
the archive inside DIR) and fills the Maildirs with the whole demo season (bot.demo.season: April–December
2020, the 13 units' packages, briefings and the mail around them), so the main job runs on a fresh
machine with no server at all.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Collection
from pathlib import Path

from bot.config import Config, load_config
from bot.demo.season import MONTHS, compose, generate_season, write_maildirs
from parsers.errors import MailroomError

__all__ = ["NotADemoFolder", "compose", "demo_config_text", "with_mailboxes", "write_demo"]

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
MAIL_FOLDER = "mail"  # DIR/mail/<mailbox key> is each department's Maildir
MARKER = ".mailroom-demo"  # says a folder is the demo's: only then does `demo` write into a folder not empty
# What a demo and the commands run on its config write into DIR: all a new demo removes, nothing else.
DEMO_NAMES = frozenset(
    {
        MARKER,
        "config.toml",
        MAIL_FOLDER,
        "mailroom.db",
        "mailroom.db-wal",
        "mailroom.db-shm",
        "mailroom.db-journal",
        "archive",
        "outbox",
        "digest",
        "web-secret",
    }
)


class NotADemoFolder(MailroomError):
    """`demo DIR` was pointed at a folder it did not make: nothing is written or removed."""


def write_demo(directory: Path, seed: int = 2020, months: Collection[int] = MONTHS) -> tuple[Config, int]:
    """Write the demo config and the season's mail afresh into an empty folder or one a demo made (what a
    previous demo wrote there is replaced, nothing else is touched); `months` (default April–December)
    keeps only part of the season, as tests that need little mail do.

    Returns the config and the number of mail files written: a message sent to one department with
    another in Cc lies in both Maildirs, as it would on the server."""
    config_text = demo_config_text(EXAMPLE.read_text(encoding="utf-8"))
    _clear_previous_demo(directory, config_text)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARKER).write_text(
        "mailroom demo: 此文件夹由 `mailroom demo` 生成，重新生成时会被替换\n", encoding="utf-8"
    )
    path = directory / "config.toml"
    path.write_text(config_text, encoding="utf-8")
    config = load_config(path, environ={})
    folders = {box.address: box.key for box in config.mailboxes}
    written = write_maildirs(directory / MAIL_FOLDER, generate_season(seed, path, months), folders)
    return config, written


def _clear_previous_demo(directory: Path, config_text: str) -> None:
    """Remove what an earlier demo wrote into `directory`; refuse a folder that is neither empty nor a demo's.

    A demo's folder carries the marker; one written before the marker existed is known by its config being
    the demo's own, word for word, beside nothing but the demo's names."""
    if not directory.exists() and not directory.is_symlink():
        return
    if not directory.is_dir():
        raise NotADemoFolder(f"{directory} 不是文件夹，演示数据未写入")
    entries = {entry.name for entry in directory.iterdir()}
    if not entries:
        return
    config = directory / "config.toml"
    legacy = entries <= DEMO_NAMES and config.is_file() and config.read_bytes() == config_text.encode("utf-8")
    if MARKER not in entries and not legacy:
        raise NotADemoFolder(
            f"{directory} 既不是空文件夹，也不是 mailroom demo 生成的文件夹（没有 {MARKER}），"
            "演示数据未写入，其中文件均未改动；请指定一个空的或新的文件夹"
        )
    for name in sorted(entries & DEMO_NAMES):
        _remove(directory / name)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def demo_config_text(example: str) -> str:
    """The example config with local paths and Maildir mailboxes instead of the real servers."""
    text = example.replace('url = "sqlite:///var/mailroom.db"', 'url = "sqlite:///mailroom.db"')
    text = text.replace('path = "var/archive"', 'path = "archive"')
    text = text.replace('transport = "smtp"', 'transport = "folder"').replace(
        'folder = "var/outbox"', 'folder = "outbox"'
    )
    text = text.replace("receipts_max_age_days = 7 ", "receipts_max_age_days = 0 ")  # the demo's mail is from 2020
    boxes = re.findall(r'\[\[mailbox\]\]\nkey = "(\w+)"\nname = "(\w+)"\naddress = "([^"]+)"', text)
    return with_mailboxes(
        text,
        [
            {"key": key, "name": name, "address": address, "source": "maildir", "path": f"{MAIL_FOLDER}/{key}"}
            for key, name, address in boxes
        ],
    )


def with_mailboxes(config_text: str, mailboxes: list[dict[str, str | int]]) -> str:
    """Config text with its [[mailbox]] tables replaced by these (string and integer values)."""
    text = re.sub(r"\[\[mailbox\]\]\n(?:[^\[\n#].*\n|\n)*", "", config_text)
    tables = "".join(
        "[[mailbox]]\n"
        + "".join(f"{key} = {json.dumps(value, ensure_ascii=False)}\n" for key, value in box.items())
        + "\n"
        for box in mailboxes
    )
    marker = "# The 13 reporting units."
    return text.replace(marker, tables + marker)
