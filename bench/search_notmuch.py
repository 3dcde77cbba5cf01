"""notmuch over the same messages: a Maildir, `notmuch new` with XAPIAN_CJK_NGRAM=1 at index and query time
and its own config file, then its searches timed as commands and warm in one process (bench/notmuch_queries.py
under the system Python, which has Debian's python3-notmuch2), and its hits checked against the truth."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

from bench.search_corpus import Corpus, QuerySet
from bench.search_report import Engine, rounds

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = "/usr/bin/python3"


def notmuch_environment(work: Path) -> dict[str, str]:
    work.mkdir(parents=True, exist_ok=True)
    config = work / "notmuch-config"
    config.write_text(
        f"[database]\npath={work / 'maildir'}\n\n[user]\nname=Bench\nprimary_email=bench@example.cn\n\n"
        "[new]\ntags=inbox;\nignore=\n\n[search]\nexclude_tags=\n\n[maildir]\nsynchronize_flags=false\n"
    )
    return {**os.environ, "NOTMUCH_CONFIG": str(config), "XAPIAN_CJK_NGRAM": "1", "HOME": str(work)}


def notmuch(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(["notmuch", *args], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"notmuch {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed, done.stdout


def index_with_notmuch(engine: Engine, work: Path, corpus: Corpus) -> dict[str, str]:
    """The messages written into a Maildir and indexed by `notmuch new`; returns the environment to query with."""
    env = notmuch_environment(work)
    maildir = work / "maildir"
    started = time.perf_counter()
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for message in corpus.messages:
        (maildir / "cur" / f"{message.number:06d}.bench:2,S").write_bytes(message.raw)
    engine.build["Maildir written (not part of the index)"] = time.perf_counter() - started
    print(f"notmuch: indexing {len(corpus.messages):,} messages …", flush=True)
    engine.build["notmuch new"], _ = notmuch(env, "new", "--quiet")
    xapian = maildir / ".notmuch" / "xapian"
    engine.sizes = {"Xapian database": sum(path.stat().st_size for path in xapian.rglob("*") if path.is_file())}
    version = [notmuch(env, "--version")[0] for _ in range(21)]
    engine.notes.append(f"`notmuch --version` (process start alone): median {statistics.median(version) * 1e3:.1f} ms")
    return env


def run_notmuch(
    work: Path, corpus: Corpus, sets: list[QuerySet], truth: dict[str, set[int]], args: argparse.Namespace
) -> Engine:
    engine = Engine("notmuch")
    env = index_with_notmuch(engine, work, corpus)
    queries = [query for query_set in sets for query in query_set.queries]

    def time_commands(*command: str) -> dict[str, float]:
        seconds = {}
        for query in queries:
            notmuch(env, *command, query)
            seconds[query] = statistics.median(notmuch(env, *command, query)[0] for _ in range(args.command_repeats))
        return seconds

    engine.latency["search --limit=50, a process each"] = rounds(
        lambda: time_commands("search", "--output=messages", "--sort=newest-first", "--limit=50"), args.rounds
    )
    engine.latency["count, a process each"] = rounds(lambda: time_commands("count"), 1)
    warm = notmuch_in_process(env, queries, args.repeats)
    if isinstance(warm, str):
        engine.notes.append(f"in process: not measured ({warm})")
        found = {
            query: {
                int(line.removeprefix("id:").partition(".")[0])
                for line in notmuch(env, "search", "--output=messages", query)[1].split()
            }
            for query in queries
        }
    else:
        engine.latency["newest 50, warm in one process"] = {query: answer["seconds"] for query, answer in warm.items()}
        found = {query: set(answer["hits"]) for query, answer in warm.items()}
    for query, expected in truth.items():
        if found[query] != expected:
            engine.wrong[query] = how_wrong(corpus, query, found[query], expected)
    return engine


def how_wrong(corpus: Corpus, query: str, found: set[int], expected: set[int]) -> str:
    """Extra hits that hold every pair of the query but not the query; missing ones with it in the subject."""
    extra, missing = found - expected, expected - found
    pairs = [query[i : i + 2] for i in range(len(query) - 1)] or [query]
    apart = sum(1 for number in extra if all(pair in corpus.messages[number].text for pair in pairs))
    in_subject = sum(1 for number in missing if query in corpus.messages[number].text.partition("\n")[0])
    return (
        f"{len(extra)} extra ({apart} hold its pairs apart), "
        f"{len(missing)} missing ({in_subject} with it in the subject)"
    )


def notmuch_in_process(env: dict[str, str], queries: list[str], repeats: int) -> dict | str:
    """The warm figures from bench/notmuch_queries.py under the system Python, or why there are none."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"no {SYSTEM_PYTHON}"
    done = subprocess.run(
        [SYSTEM_PYTHON, str(ROOT / "bench" / "notmuch_queries.py")],
        env=env,
        capture_output=True,
        input=json.dumps({"queries": queries, "repeats": repeats}),
        text=True,
    )
    if done.returncode != 0:
        return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
    return json.loads(done.stdout)
