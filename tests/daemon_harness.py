"""`mailroom serve` as an operator runs it: a process of its own, with its config file, against a real
Dovecot and a real SMTP server on loopback; and what the archive and the SMTP server saw afterwards."""

from __future__ import annotations

import email
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, selectinload

from archive.models import Message, OutboxMail, OwedReply, Sighting
from archive.owed import message_facts
from bot.demo.folder import with_mailboxes
from replies.receipt import reply_owed
from tests.conftest import ROOT, example_data

DEPARTMENTS = {box["key"]: box["address"] for box in example_data()["mailbox"]}
PASSWORD = "dept-pw"


def serve_config(tmp_path: Path, mailboxes: list[dict], smtp: dict[str, object], poll_minutes: float | None) -> Path:
    """The example config with these mailboxes, SMTP settings and poll interval (None: the default)."""
    text = with_mailboxes((ROOT / "config.example.toml").read_text(encoding="utf-8"), mailboxes)
    settings = {
        "host": "127.0.0.1",
        "security": "plain",
        "username": "",
        "password_env": "",
        "sender": DEPARTMENTS["jjb"],
        "receipts_max_age_days": 0,
        **smtp,
    }
    start = text.index("\n[smtp]")
    end = text.index("\n[", start + 1)
    section = text[start:end]
    for key, value in settings.items():
        section, found = re.subn(rf"(?m)^{key} = .*$", f"{key} = {json.dumps(value)}", section, count=1)
        assert found, key
    text = text[:start] + section + text[end:]
    if poll_minutes is not None:
        text = re.sub(r"(?m)^poll_minutes = .*$", f"poll_minutes = {poll_minutes}", text)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def imap_boxes(dovecot, folder: str) -> list[dict]:
    return [
        {
            "key": key,
            "name": key,
            "address": address,
            "source": "imap",
            "host": dovecot.host,
            "port": dovecot.port,
            "security": "plain",
            "username": key,
            "password_env": f"TEST_PW_{key.upper()}",
            "folder": folder,
            "batch": 10,
        }
        for key, address in DEPARTMENTS.items()
    ]


@dataclass
class Daemon:
    """One `mailroom serve` process at a time (or several, for the instance tests)."""

    config_path: Path
    database_url: str
    archive: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "MAILROOM_DATABASE_URL": self.database_url,
            "MAILROOM_ARCHIVE_PATH": str(self.archive),
            **{f"TEST_PW_{key.upper()}": PASSWORD for key in DEPARTMENTS},
        }

    def start(self) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(self.config_path), "serve"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.processes.append(process)
        return process

    def command(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(self.config_path), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def status(self) -> dict:
        result = self.command("status", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def terminate(self, process: subprocess.Popen) -> tuple[int, str, float]:
        """SIGTERM; the exit code, what it printed and how long it took to exit."""
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        return process.returncode, output, time.monotonic() - started

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.communicate()

    def counts(self) -> dict[str, int]:
        """Messages stored, sightings, owed receipts not yet composed, outbox mail due and unsent."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return {
                    "messages": connection.scalar(select(func.count()).select_from(Message)),
                    "sightings": connection.scalar(select(func.count()).select_from(Sighting)),
                    "owed": connection.scalar(
                        select(func.count()).select_from(OwedReply).where(OwedReply.queued_at.is_(None))
                    ),
                    "unsent": connection.scalar(
                        select(func.count()).select_from(OutboxMail).where(OutboxMail.state != "sent")
                    ),
                }
        except Exception:  # noqa: BLE001 — the schema may not exist in a process's first instants
            return {"messages": 0, "sightings": 0, "owed": 0, "unsent": 0}
        finally:
            engine.dispose()

    def owed_message_ids(self) -> dict[str, str]:
        """{Message-ID: sender} of every stored message the receipt rule says is owed a receipt, worked out
        here from the stored messages, not from what the daemon recorded."""
        own = frozenset(DEPARTMENTS.values())
        engine = create_engine(self.database_url)
        with Session(engine) as session:
            messages = session.scalars(
                select(Message).options(selectinload(Message.readings), selectinload(Message.attachments))
            ).all()
            owed = {
                m.message_id: m.from_addr
                for m in messages
                if reply_owed(message_facts(m), own, m.archived_at, None) == "receipt"
            }
        engine.dispose()
        return owed


def wait_for(condition: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


@dataclass(frozen=True)
class Receipt:
    message_id: str
    in_reply_to: str
    to: str


def receipts(accepted: list[tuple[str, list[str], bytes]]) -> list[Receipt]:
    """Every receipt the SMTP server accepted, duplicates included."""
    found = []
    for _, recipients, raw in accepted:
        parsed = email.message_from_bytes(raw)
        if parsed["In-Reply-To"]:
            found.append(Receipt(parsed["Message-ID"], parsed["In-Reply-To"], recipients[0]))
    return found


def assert_each_owed_receipt_sent_once(daemon: Daemon, accepted: list, kills: int) -> None:
    """Every owed receipt reached the SMTP server, to the message's sender; nobody not owed got one; a mail
    goes twice only when a kill fell between the server's acceptance and our record (same Message-ID)."""
    owed = daemon.owed_message_ids()
    sent = receipts(accepted)
    assert owed, "the test mail holds no message owed a receipt"
    assert {r.in_reply_to for r in sent} == set(owed)
    assert all(r.to == owed[r.in_reply_to] for r in sent)
    distinct = {r.message_id for r in sent}
    assert len(distinct) == len(owed), "a message got two different receipts"
    assert len(sent) - len(distinct) <= kills
