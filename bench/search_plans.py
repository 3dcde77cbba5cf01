"""Where our search spends its time: the SQL that `search()` sends, each statement timed alone, and the
plans of the slowest queries (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN ANALYZE).

The statements are recorded as they go to the driver, so this follows archive/search.py as it changes."""

from __future__ import annotations

import statistics
import time
from typing import Any

from sqlalchemy import event

from archive.db import Database
from archive.search import Query, search
from bench.search_corpus import Corpus, QuerySet
from bench.search_report import Engine


def sent_statements(db: Database, query: str) -> list[tuple[str, Any]]:
    """The statements and parameters one `search(limit=50)` sends: the ids first, then the messages (on
    PostgreSQL the EXPLAIN that chooses the plan comes before them and is left out here)."""
    sent: list[tuple[str, Any]] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.session() as session:
            search(session, Query(text=query, limit=50))
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return [(statement, parameters) for statement, parameters in sent if not statement.startswith("EXPLAIN")]


def time_statement(db: Database, statement: str, parameters: Any, repeats: int = 5, slow: float = 0.2) -> float:
    """The median of `repeats` runs after one to warm up; a statement slower than `slow` runs once."""
    with db.engine.connect() as connection:
        runs = []
        for _ in range(repeats + 1):
            started = time.perf_counter()
            connection.exec_driver_sql(statement, parameters).fetchall()
            runs.append(time.perf_counter() - started)
            if runs[0] > slow:
                return runs[0]
    return statistics.median(runs[1:])


def plan_of(db: Database, statement: str, parameters: Any) -> list[str]:
    with db.engine.connect() as connection:
        if db.engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            return [row[3] for row in rows]
        rows = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
        return [row[0] for row in rows]


def explain(engine: Engine, db: Database, sets: list[QuerySet], column: str, corpus: Corpus) -> None:
    """Each query's time in its id statement and in loading its messages; the slowest plans of each set."""
    split = engine.split.setdefault(column, {})
    for query_set in sets:
        for query in query_set.queries:
            statements = sent_statements(db, query)
            split[query] = [time_statement(db, statement, parameters) for statement, parameters in statements[:2]]
        slowest = max(query_set.queries, key=lambda query: engine.latency[column][query])
        statement, parameters = sent_statements(db, slowest)[0]
        engine.plans[f"{column}, {query_set.label}, slowest: {slowest}"] = {
            "search ms": round(engine.latency[column][slowest] * 1e3, 2),
            "true hits": len(corpus.hits(slowest)),
            "messages holding its pairs": corpus.holding_grams(slowest, 2),
            "messages holding its triples": corpus.holding_grams(slowest, 3),
            "id statement ms": round(split[slowest][0] * 1e3, 2),
            "message load ms": round(split[slowest][1] * 1e3, 2) if len(split[slowest]) > 1 else None,
            "sql": statement,
            "parameters": repr(parameters)[:300],
            "plan": plan_of(db, statement, parameters),
        }
