"""The search bench's figures: each searcher's build, size, latency and hits, and the tables printed from them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bench.search_corpus import QuerySet

TARGETS = {"SQLite": 0.010, "PostgreSQL": 0.050}


@dataclass
class Engine:
    """One searcher's figures: how its index was built, how big it is, how fast and how right it answers."""

    name: str
    build: dict[str, float] = field(default_factory=dict)  # seconds
    sizes: dict[str, int] = field(default_factory=dict)  # bytes
    latency: dict[str, dict[str, float]] = field(default_factory=dict)  # column -> query -> seconds
    wrong: dict[str, str] = field(default_factory=dict)  # query -> how its hits differ from the truth
    notes: list[str] = field(default_factory=list)
    split: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # column -> query -> seconds per statement
    plans: dict[str, dict] = field(default_factory=dict)  # the slowest queries' statements and plans


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value at least `share` of the values are not above."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def rounds(timing: Callable[[], dict[str, float]], count: int) -> dict[str, float]:
    """Each query's median over `count` rounds of the whole query list (a round spreads a query's runs
    over time, so a burst of other work on the machine does not sink one query)."""
    each = [timing() for _ in range(count)]
    return {query: statistics.median(round_[query] for round_ in each) for query in each[0]}


def columns(engines: list[Engine]) -> Iterator[tuple[str, Engine, str]]:
    for engine in engines:
        for column in engine.latency:
            yield f"{engine.name} {column}", engine, column


def summary(engine: Engine, column: str, query_set: QuerySet) -> dict[str, float | str]:
    seconds = [engine.latency[column][query] for query in query_set.queries]
    worst = max(query_set.queries, key=lambda query: engine.latency[column][query])
    return {
        "median_ms": statistics.median(seconds) * 1e3,
        "p95_ms": percentile(seconds, 0.95) * 1e3,
        "max_ms": max(seconds) * 1e3,
        "slowest": worst,
    }


def correctness(engine: Engine, query_set: QuerySet) -> str:
    wrong = [query for query in query_set.queries if query in engine.wrong]
    text_ = f"{len(query_set.queries) - len(wrong)}/{len(query_set.queries)} exact"
    if not wrong:
        return text_
    over = sum(1 for query in wrong if not engine.wrong[query].startswith("0 extra"))
    under = sum(1 for query in wrong if ", 0 missing" not in engine.wrong[query])
    return f"{text_} ({over} with extra hits, {under} with hits missing)"


def report(engines: list[Engine], sets: list[QuerySet], truth: dict[str, set[int]]) -> dict:
    """Prints every table; returns the latency summaries (searcher and column -> set -> figures)."""
    labels = [query_set.label for query_set in sets]
    summaries = {
        name: {query_set.label: summary(engine, column, query_set) for query_set in sets}
        for name, engine, column in columns(engines)
    }
    print("\nlatency of a search for the newest 50, median / p95 over the queries (ms):")
    table(
        labels,
        {
            name: [f"{cell['median_ms']:.2f} / {cell['p95_ms']:.2f}" for cell in cells.values()]
            for name, cells in summaries.items()
        },
    )
    print("\nslowest query of each set (ms):")
    for name, cells in summaries.items():
        print(
            f"  {name}: "
            + "; ".join(f"{label} {cell['slowest']} {cell['max_ms']:.1f}" for label, cell in cells.items())
        )
    print_split(engines, sets)
    print("\nhits against the truth (every message whose subject, sender or body holds the query):")
    table(labels, {engine.name: [correctness(engine, query_set) for query_set in sets] for engine in engines})
    for engine in engines:
        for query, how in list(engine.wrong.items())[:12]:
            print(f"  {engine.name} {query!r} ({len(truth[query])} true hits): {how}")
    print("\nbuild and size:")
    for engine in engines:
        print(f"  {engine.name}: " + ", ".join(f"{what} {seconds:.1f} s" for what, seconds in engine.build.items()))
        print("    " + ", ".join(f"{what} {size / 1e6:.1f} MB" for what, size in engine.sizes.items()))
        for note in engine.notes:
            print(f"    {note}")
    print_targets(engines, labels, summaries)
    print_plans(engines)
    return summaries


def table(labels: list[str], rows: dict[str, list[str]]) -> None:
    print("| searcher | " + " | ".join(labels) + " |\n| --- |" + " --- |" * len(labels))
    for name, cells in rows.items():
        print(f"| {name} | " + " | ".join(cells) + " |")


def print_split(engines: list[Engine], sets: list[QuerySet]) -> None:
    """How much of our search() is its id statement, and how much loading the 50 messages."""
    print("\nour search() split: id statement / message load / the rest (Python, ORM), medians over the set (ms):")
    for engine in engines:
        for column, split in engine.split.items():
            cells = []
            for query_set in sets:
                ids = [split[query][0] for query in query_set.queries]
                load = [split[query][1] if len(split[query]) > 1 else 0.0 for query in query_set.queries]
                rest = [engine.latency[column][query] - sum(split[query]) for query in query_set.queries]
                cells.append(
                    f"{query_set.label} {statistics.median(ids) * 1e3:.2f} / "
                    f"{statistics.median(load) * 1e3:.2f} / {statistics.median(rest) * 1e3:.2f}"
                )
            print(f"  {engine.name} {column}: " + "; ".join(cells))


def print_targets(engines: list[Engine], labels: list[str], summaries: dict) -> None:
    print("\ntargets (p95 of every set):")
    for engine in engines:
        limit = TARGETS.get(engine.name)
        for column in engine.latency if limit is not None else ():
            worst = max(summaries[f"{engine.name} {column}"][label]["p95_ms"] for label in labels)
            print(
                f"  {engine.name} {column}: worst p95 {worst:.2f} ms, target < {limit * 1e3:.0f} ms: "
                f"{'met' if worst < limit * 1e3 else 'MISSED'}"
            )
    rivals = [name for name in summaries if name.startswith("notmuch") and "count" not in name]
    for name in (name for name in summaries if not name.startswith("notmuch")):
        for rival in rivals:
            slower = [
                label for label in labels if summaries[name][label]["p95_ms"] >= summaries[rival][label]["p95_ms"]
            ]
            print(f"  {name} below {rival} at p95: {'every set' if not slower else 'NOT for ' + ', '.join(slower)}")


def print_plans(engines: list[Engine]) -> None:
    print("\nthe slowest query of each set, its id statement's plan:")
    for engine in engines:
        for title, plan in engine.plans.items():
            print(
                f"  {engine.name} {title}: search {plan['search ms']} ms, id statement {plan['id statement ms']} ms, "
                f"message load {plan['message load ms']} ms; {plan['true hits']} true hits, messages holding "
                f"its pairs {plan['messages holding its pairs']}, its triples {plan['messages holding its triples']}"
            )
            for line in plan["plan"]:
                print(f"      {line}")
