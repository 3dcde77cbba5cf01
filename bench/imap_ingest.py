"""Ingest and idle-poll benchmark against a real Dovecot on loopback.

    .venv/bin/python -m bench.imap_ingest [--messages 5000] [--corpus season briefings]
                                          [--databases sqlite postgresql] [--rounds 3] [--idle 1000 100000]

(a) The same mailbox of N messages is read by each contender in turn, round after round (interleaved, so a
    machine busy with something else slows them alike; the load average is printed each round): ours into a
    fresh archive on each database, timed twice in one run: `archived`, when every message's raw bytes are
    synced and spooled with the mailbox position, a commit per batch (archive/spool.py: what mbsync does),
    and `derived`, when the spooled messages are also parsed, recognised and read in the reader processes,
    stored a commit per batch with their owed receipts, and the receipts composed; mbsync (Debian package
    isync, `scripts/install.sh --bench`) into a Maildir with FSync on; a bare imapclient batched FETCH that
    keeps nothing. Two corpora: `season`, the distinct messages of the demo season (bot/demo/season: packages
    with their workbooks and Word files, briefings, replies; mean 12 KB) repeated to N, each copy made
    distinct by a header of its own; `briefings`, N plain briefings without attachments (~4 KB). Reported:
    messages per second, medians over the rounds, and ours as a share of mbsync's (the median of the
    round-by-round ratios).
(b) A poll with no new mail in mailboxes of 1,000 and 100,000 messages: the mailbox state is set as a
    finished poll leaves it (UIDVALIDITY, last UID), then `poll_once` is timed; median and p95 of 30.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import cycle
from pathlib import Path

from imapclient import IMAPClient

from archive.state import advance
from bench import postgres
from bot.daemon.deps import open_deps
from bot.daemon.imap import FolderSession, Progress
from bot.daemon.poll import poll_once
from bot.demo.folder import compose
from bot.demo.season import generate_season
from tests.conftest import make_config
from tests.dovecot import Dovecot

OFFICE = "hsclbgs666@163.com"
PASSWORD = "bench-pw"
SENTENCES = [
    "今年以来，我县残联认真落实残疾人服务工程各项任务。",
    "组织专职委员入户走访贫困残疾人家庭，核查康复需求。",
    "举办农村实用技术培训班，培训残疾人六十余人次。",
    "为重度残疾人发放轮椅、助行器等辅助器具。",
    "联合卫健部门开展家庭医生签约服务，做到应签尽签。",
]


def briefings(count: int, seed: int = 7) -> list[tuple[bytes, datetime]]:
    rng = random.Random(seed)
    start = datetime(2020, 4, 1, tzinfo=UTC)
    messages = []
    for number in range(count):
        arrival = start + timedelta(minutes=7 * number)
        body = "".join(rng.choice(SENTENCES) for _ in range(rng.randint(20, 60)))
        raw = compose(
            "zqxcl@163.com", OFFICE, f"枣强县贫困残疾人服务工程专项信息（{number}）", arrival, body=body
        ).as_bytes()
        messages.append((raw, arrival))
    return messages


def season(count: int) -> list[tuple[bytes, datetime]]:
    """The demo season's distinct messages repeated to `count`, each copy with a header of its own."""
    distinct = list({mail.raw: mail.arrival for mail in generate_season()}.items())
    return [
        (b"X-Bench-Copy: %d\n" % number + raw, arrival) for number, (raw, arrival) in zip(range(count), cycle(distinct))
    ]


CORPORA = {"season": season, "briefings": briefings}


def mailbox_config(server: Dovecot, work: Path, database_url: str | None = None, batch: int = 200):
    os.environ["BENCH_PW"] = PASSWORD
    box = {
        "key": "bgs",
        "name": "办公室",
        "address": OFFICE,
        "source": "imap",
        "host": server.host,
        "port": server.port,
        "security": "plain",
        "username": "bgs",
        "password_env": "BENCH_PW",
        "folder": "INBOX",
        "batch": batch,
    }
    return make_config(work, database_url or f"sqlite:///{work}/bench.db", [box])


def run_ours(server: Dovecot, work: Path, database: str = "sqlite") -> dict[str, float]:
    """Two times from one run: the mail archived (every message's bytes synced and spooled with the mailbox
    position: what mbsync does), and then derived too (a `poll_once` that finds nothing new, derives what
    is spooled and composes the receipts)."""
    with postgres.schema("bench_imap_ingest") if database == "postgresql" else nullcontext() as url:
        config = mailbox_config(server, work, url)
        deps = open_deps(config)
        started = time.perf_counter()
        folder = FolderSession(config.mailboxes[0], lambda: deps.intake, deps.open_client)
        try:
            folder.spool_new(Progress(), lambda: False)
        finally:
            folder.close()
        archived = time.perf_counter() - started
        report = poll_once(config, deps)
        derived = time.perf_counter() - started
        deps.close()
    assert not report.errors, report.errors
    assert report.mailboxes[0].new, "nothing was derived"
    return {f"mailroom archived, {database}": archived, f"mailroom derived, {database}": derived}


def run_mbsync(server: Dovecot, work: Path) -> float:
    local = work / "mbsync"
    local.mkdir()
    rc = work / "mbsyncrc"
    rc.write_text(f"""FSync yes
IMAPAccount bench
Host {server.host}
Port {server.port}
User bgs
Pass {PASSWORD}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path {local}/
Inbox {local}/INBOX

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
""")
    started = time.perf_counter()
    subprocess.run(["mbsync", "-c", str(rc), "-q", "bench"], check=True, capture_output=True)
    return time.perf_counter() - started


def run_bare(server: Dovecot, batch: int = 200) -> float:
    started = time.perf_counter()
    client = IMAPClient(server.host, port=server.port, ssl=False)
    client.login("bgs", PASSWORD)
    client.select_folder("INBOX", readonly=True)
    uids = client.search("ALL")
    for index in range(0, len(uids), batch):
        client.fetch(uids[index : index + batch], [b"BODY.PEEK[]", b"INTERNALDATE"])
    client.logout()
    return time.perf_counter() - started


def ingest(count: int, corpus: str, databases: list[str], rounds: int) -> None:
    messages = CORPORA[corpus](count)
    size = sum(len(raw) for raw, _ in messages) / count
    print(f"(a) ingest of {count} messages, corpus {corpus} (mean {size / 1024:.1f} KB), {rounds} rounds")
    with Dovecot(users={"bgs": PASSWORD}, start=False) as server:
        server.fill_maildir("bgs", messages)
        server.start()
        run_bare(server)  # let Dovecot build its index first, so no contender pays for it
        contenders = [
            *(partial(run_ours, server, database=database) for database in databases),
            lambda work: {"mbsync (FSync yes)": run_mbsync(server, work)},
            lambda work: {"bare imapclient FETCH": run_bare(server)},
        ]
        times: dict[str, list[float]] = {}
        for round_number in range(rounds):
            print(f"    round {round_number + 1}, load average {os.getloadavg()[0]:.1f}:", end="")
            for run in contenders:
                work = Path(tempfile.mkdtemp(prefix="bench-"))
                try:
                    for name, elapsed in run(work).items():
                        times.setdefault(name, []).append(elapsed)
                        print(f" {name} {count / elapsed:.0f}/s;", end="", flush=True)
                finally:
                    shutil.rmtree(work, ignore_errors=True)
            print()
    mbsync = times["mbsync (FSync yes)"]
    for name, elapsed in times.items():
        share = statistics.median(theirs / ours for ours, theirs in zip(elapsed, mbsync))
        print(
            f"    {name:<30} {statistics.median(elapsed):7.2f} s  {count / statistics.median(elapsed):8.0f} msg/s"
            f"  {share:5.3f} × mbsync"
        )


def idle_poll(count: int, repeat: int = 30) -> tuple[float, float]:
    with Dovecot(users={"bgs": PASSWORD}, start=False) as server:
        raw, _ = briefings(1)[0]
        server.fill_maildir("bgs", ((raw, None) for _ in range(count)))
        server.start()
        status = server.status("bgs")  # indexes the folder
        work = Path(tempfile.mkdtemp(prefix="bench-"))
        try:
            config = mailbox_config(server, work)
            deps = open_deps(config)
            with deps.db.session() as session:  # the state a finished poll of this mailbox leaves
                advance(session, "bgs", "INBOX", status["UIDVALIDITY"], status["UIDNEXT"] - 1)
                session.commit()
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                report = poll_once(config, deps)
                times.append(time.perf_counter() - started)
                assert report.mailboxes[0].outcomes == () and not report.errors
            deps.close()
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return statistics.median(times), statistics.quantiles(times, n=20)[18]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--corpus", nargs="*", choices=sorted(CORPORA), default=["season", "briefings"])
    parser.add_argument("--databases", nargs="*", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=int, nargs="*", default=[1000, 100000])
    args = parser.parse_args()
    for corpus in args.corpus if args.messages else ():
        ingest(args.messages, corpus, args.databases, args.rounds)
    if args.idle:
        print("(b) poll with no new mail")
        results = {}
        for count in args.idle:
            results[count] = idle_poll(count)
            print(
                f"    {count:>7} messages: median {results[count][0] * 1000:6.1f} ms, "
                f"p95 {results[count][1] * 1000:6.1f} ms"
            )
        if len(results) > 1:
            small, large = min(results), max(results)
            print(f"    ratio {large}/{small}: {results[large][0] / results[small][0]:.2f}")


if __name__ == "__main__":
    main()
