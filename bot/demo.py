"""`mailroom demo DIR`: a self-contained demo on the embedded default.

It writes DIR/config.toml (the example config with every department mailbox a local Maildir, SQLite and
the archive inside DIR) and fills the Maildirs with the whole demo season (bot.season: April–December
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
from bot.season import MONTHS, compose, generate_season, write_maildirs

__all__ = ["compose", "demo_config_text", "with_mailboxes", "write_demo"]

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
MAIL_FOLDER = "mail"  # DIR/mail/<mailbox key> is each department's Maildir


def write_demo(directory: Path, seed: int = 2020, months: Collection[int] = MONTHS) -> tuple[Config, int]:
    """Write the demo config and the season's mail afresh (a previous demo in DIR is replaced); `months`
    (default April–December) keeps only part of the season, as tests that need little mail do.

    Returns the config and the number of mail files written: a message sent to one department with
    another in Cc lies in both Maildirs, as it would on the server."""
    if (directory / "config.toml").exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    path.write_text(demo_config_text(EXAMPLE.read_text(encoding="utf-8")), encoding="utf-8")
    config = load_config(path, environ={})
    folders = {box.address: box.key for box in config.mailboxes}
    written = write_maildirs(directory / MAIL_FOLDER, generate_season(seed, path, months), folders)
    return config, written


def demo_config_text(example: str) -> str:
    """The example config with local paths and Maildir mailboxes instead of the real servers."""
    text = example.replace('url = "sqlite:///var/mailroom.db"', 'url = "sqlite:///mailroom.db"')
    text = text.replace('path = "var/archive"', 'path = "archive"')
    text = text.replace('transport = "smtp"', 'transport = "folder"').replace('folder = "var/outbox"', 'folder = "outbox"')
    text = text.replace("receipts_max_age_days = 7 ", "receipts_max_age_days = 0 ")  # the demo's mail is from 2020
    boxes = re.findall(r'\[\[mailbox\]\]\nkey = "(\w+)"\nname = "(\w+)"\naddress = "([^"]+)"', text)
    return with_mailboxes(text, [{"key": key, "name": name, "address": address, "source": "maildir",
                                  "path": f"{MAIL_FOLDER}/{key}"} for key, name, address in boxes])


def with_mailboxes(config_text: str, mailboxes: list[dict[str, str | int]]) -> str:
    """Config text with its [[mailbox]] tables replaced by these (string and integer values)."""
    text = re.sub(r"\[\[mailbox\]\]\n(?:[^\[\n#].*\n|\n)*", "", config_text)
    tables = "".join("[[mailbox]]\n" + "".join(f"{key} = {json.dumps(value, ensure_ascii=False)}\n"
                                                 for key, value in box.items()) + "\n" for box in mailboxes)
    marker = "# The 13 reporting units."
    return text.replace(marker, tables + marker)
