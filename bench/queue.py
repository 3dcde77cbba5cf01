"""The attention queue (待处理) against the archive's size: the web menu's count and the queue's listing on
the demo season, then on the same archive with N more messages that need nobody.

    .venv/bin/python -m bench.queue [--extra 20000] [--database-url URL] [--keep DIR]

The season of bot/demo/season (1,167 messages) is imported into a fresh archive (SQLite unless --database-url,
e.g. a schema made by bench/postgres.py); then N briefings from the units' registered senders (the search
bench's texts, in 2019: no score, no finding, no queue item) are archived through ingest. At each size,
in process and warm, the median of 7 runs of: the menu's count with the findings kept
(archive.findings.FindingsMemo, as the web app asks on every page), the count with the findings computed
afresh, the listing (`mailroom queue --all`), and the message items alone. Nothing is asserted: this is a
measurement, written up in bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from archive.findings import FindingsMemo
from archive.ingest import ingest_batch
from archive.models import Message
from archive.queue import attention, waiting
from bench.search_corpus import MAILBOXES, START, UNITS, body_text, population, render
from bot.config import load_config
from bot.daemon.deps import open_deps
from bot.demo.season import generate_season, write_maildirs
from parsers.derive import Incoming

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.example.toml"
BATCH = 250


def briefings(count: int, seed: int = 2019) -> list[Incoming]:
    """`count` registered briefings of 2019, one every five minutes, none of which needs a person."""
    rng = random.Random(seed)
    people = {unit: population(rng, unit, 300) for unit, _ in UNITS}
    items = []
    for number in range(count):
        unit, sender = UNITS[rng.randrange(len(UNITS))]
        arrival = START + timedelta(minutes=5 * number)
        subject = f"{unit}贫困残疾人服务工程专项信息（{number}）"
        body = body_text(rng, unit, rng.sample(people[unit], 2), sender, arrival)
        message = render(number, sender, f"{unit}残联", rng.choice(MAILBOXES), subject, body, arrival, base64_body=True)
        items.append(
            Incoming(raw=message.raw, mailbox=None, source="import", arrival=arrival, origin=f"bench/{number}")
        )
    return items


def median_ms(work: Callable[[], object], runs: int = 7) -> tuple[float, object]:
    result, times = None, []
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, result


def measure(env: dict[str, str], label: str) -> None:
    deps = open_deps(load_config(CONFIG, environ=env), sandbox=None)
    try:
        with deps.db.session() as session:
            messages = session.scalar(select(func.count()).select_from(Message))
            flagged = session.scalar(select(func.count()).select_from(Message).where(Message.attention.is_not(None)))
            memo = FindingsMemo()
            rows = [
                ("menu count, findings kept", lambda: waiting(session, memo)),
                ("count, findings afresh", lambda: waiting(session)),
                ("listing (queue --all)", lambda: len(attention(session, include_handled=True))),
                ("message items alone", lambda: len(attention(session, findings=lambda _: []))),
            ]
            print(f"{label}: {messages:,} messages, {flagged} with a reason")
            for name, work in rows:
                ms, result = median_ms(work)
                print(f"  {name:28} {ms:8.1f} ms  ({result} items)")
    finally:
        deps.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--extra", type=int, default=20_000, help="Briefings added after the season.")
    parser.add_argument("--database-url", help="an empty database (default: SQLite in the work folder)")
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it (default: a temporary one).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="queue-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        write_maildirs(work / "mail", generate_season())
        env = {
            **os.environ,
            "MAILROOM_DATABASE_URL": args.database_url or f"sqlite:///{work}/queue.db",
            "MAILROOM_ARCHIVE_PATH": str(work / "archive"),
        }
        subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(CONFIG), "import", str(work / "mail")],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        measure(env, "the demo season")
        deps = open_deps(load_config(CONFIG, environ=env), sandbox=None)
        try:
            items = briefings(args.extra)
            started = time.perf_counter()
            for start in range(0, len(items), BATCH):
                ingest_batch(deps.db, deps.store, deps.recognizer, items[start : start + BATCH])
            print(f"archived {len(items):,} briefings in {time.perf_counter() - started:.0f} s")
        finally:
            deps.close()
        measure(env, f"the season and {args.extra:,} briefings")


if __name__ == "__main__":
    main()
