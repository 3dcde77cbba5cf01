"""A whole season's import and standings, timed.

    .venv/bin/python -m bench.season_import [--database-url URL] [--keep DIR]

The season of bot/demo/season (13 units, April–December 2020: monthly packages with cumulative registries,
briefing articles, replies, auto-replies, unregistered senders) is generated into four department
Maildirs in a temporary folder, then, each as its own process as an operator would run it:

    mailroom import <maildirs>            into a fresh archive (SQLite unless --database-url)
    mailroom standings --month 2020-12    best of three

Reported: what the season holds (messages, files by type, forms, persons on registries), the generation
time, the import time and rate, the standings time. Targets on this 2-core machine: import < 30 s,
standings < 2 s.
"""

from __future__ import annotations

import argparse
import email
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select

from archive.models import Attachment, FormReadingRow, Message, PersonRow
from bot.config import load_config
from bot.daemon.deps import open_deps
from bot.demo.season import GeneratedMail, generate_season, write_maildirs

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.example.toml"
IMPORT_TARGET, STANDINGS_TARGET = 30.0, 2.0


def file_counts(mails: Sequence[GeneratedMail]) -> Counter[str]:
    """Files carried by the distinct messages, by extension; a .zip's members counted as well."""
    counts: Counter[str] = Counter()
    for raw in {mail.raw for mail in mails}:
        for part in email.message_from_bytes(raw).walk():
            name = part.get_filename()
            if not name:
                continue
            extension = name.rpartition(".")[2].lower()
            counts[extension] += 1
            if extension == "zip":
                with zipfile.ZipFile(io.BytesIO(part.get_payload(decode=True))) as archive:
                    counts.update("in-zip " + member.rpartition(".")[2].lower() for member in archive.namelist())
    return counts


def mailroom(env: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(CONFIG), *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"mailroom {' '.join(args[:2])} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done


def archive_counts(env: dict[str, str]) -> dict[str, int]:
    deps = open_deps(load_config(CONFIG, environ=env))
    try:
        with deps.db.session() as session:
            return {
                name: session.scalar(select(func.count()).select_from(model))
                for name, model in (
                    ("messages", Message),
                    ("attachments", Attachment),
                    ("form readings", FormReadingRow),
                    ("registry persons", PersonRow),
                )
            }
    finally:
        deps.close()


def describe_season(mails: Sequence[GeneratedMail], seconds: float) -> None:
    distinct = {mail.raw for mail in mails}
    files = file_counts(mails)
    digest = hashlib.sha256(b"".join(hashlib.sha256(mail.raw).digest() for mail in mails)).hexdigest()[:16]
    print(
        f"season: {len(mails)} mail files ({len(distinct)} distinct messages, "
        f"{sum(map(len, distinct)) / 1e6:.1f} MB), generated in {seconds:.1f} s, digest {digest}"
    )
    print("files:  " + ", ".join(f"{count} {kind}" for kind, count in sorted(files.items())))
    workbooks = sum(count for kind, count in files.items() if kind.endswith(("xlsx", "xls", "et")))
    documents = sum(count for kind, count in files.items() if kind.endswith("docx"))
    print(f"        {workbooks} workbooks and {documents} .docx documents (附件1 and articles)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="e.g. postgresql+psycopg://postgres@127.0.0.1/bench (an empty one)")
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it (default: a temporary one).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="season-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        mails = generate_season()
        describe_season(mails, time.perf_counter() - started)
        write_maildirs(work / "mail", mails)
        env = {
            **os.environ,
            "MAILROOM_DATABASE_URL": args.database_url or f"sqlite:///{work}/season.db",
            "MAILROOM_ARCHIVE_PATH": str(work / "archive"),
        }
        seconds, done = mailroom(env, "import", str(work / "mail"))
        print(
            f"import: {seconds:.1f} s, {len(mails) / seconds:.0f} messages/s (target < {IMPORT_TARGET:.0f} s: "
            f"{'met' if seconds < IMPORT_TARGET else 'MISSED'}) — {done.stdout.strip()}"
        )
        print("archive: " + ", ".join(f"{count} {name}" for name, count in archive_counts(env).items()))
        best = min(mailroom(env, "standings", "--month", "2020-12")[0] for _ in range(3))
        print(
            f"standings --month 2020-12: {best:.2f} s best of 3, process start included "
            f"(target < {STANDINGS_TARGET:.0f} s: {'met' if best < STANDINGS_TARGET else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
