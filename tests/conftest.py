"""Shared fixtures: a config built from config.example.toml, and a database on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import socket
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.config import Config, build_config

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
POSTGRES_URL = os.environ.get("MAILROOM_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def example_data() -> dict:
    with open(ROOT / "config.example.toml", "rb") as handle:
        return tomllib.load(handle)


def with_next_year(data: dict, targets: dict[str, dict[str, int]], **year_tables: dict) -> dict:
    """The config `data` with a 2021 plan beside its 2020 one: each unit's targets by year (2021's are 2020's
    with `targets`' of the unit's name over them), and [year.2021.…] tables (scoring, deadline, forms) as given."""
    data["general"] = {**{k: v for k, v in data["general"].items() if k != "year"}, "years": [2020, 2021]}
    for unit in data["unit"]:
        unit["targets"] = {"2020": unit["targets"], "2021": {**unit["targets"], **targets.get(unit["name"], {})}}
    if year_tables:
        data["year"] = {"2021": year_tables}
    return data


def make_config(tmp_path: Path, database_url: str, mailboxes: list[dict] | None = None, **tables) -> Config:
    """The example config with its mailboxes replaced by local ones (Maildir unless given)."""
    data = example_data()
    data["database"] = {"url": database_url}
    data["archive"] = {"path": str(tmp_path / "archive")}
    if mailboxes is None:
        mailboxes = [
            {
                "key": box["key"],
                "name": box["name"],
                "address": box["address"],
                "source": "maildir",
                "path": str(tmp_path / "maildirs" / box["key"]),
            }
            for box in data["mailbox"]
        ]
        for box in mailboxes:  # a configured Maildir must exist (bot.daemon.maildir.ensure_maildir)
            for sub in ("cur", "new", "tmp"):
                (Path(box["path"]) / sub).mkdir(parents=True, exist_ok=True)
    data["mailbox"] = mailboxes
    # Tests never reach the internet: outgoing mail goes to a folder unless a test gives its own SMTP server.
    data["smtp"] = {**data["smtp"], "transport": "folder", "folder": str(tmp_path / "outbox")}
    if "smtp" in tables:  # a test's own [smtp] says how mail goes out, which is never guessed: the folder unless said
        tables["smtp"] = {"transport": "folder", "folder": str(tmp_path / "outbox"), **tables["smtp"]}
    data.update(tables)
    return build_config(data, tmp_path / "config.toml", {})


def _postgres_schema_url(base: str, schema: str) -> str:
    return f"{base}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Every storage test runs on the embedded default and on PostgreSQL, each in a fresh database."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@contextmanager
def fresh_database(kind: str, folder: Path, name: str = "mailroom") -> Iterator[str]:
    """The URL of a new, empty database of `kind` ("sqlite": a file in `folder`; "postgresql": a schema of its
    own in the test database, dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder}/{name}.db"
        return
    import psycopg

    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(plain, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(
            f"PostgreSQL not reachable at {plain} ({error.__class__.__name__}); "
            "set MAILROOM_TEST_POSTGRES to test on PostgreSQL"
        )
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield _postgres_schema_url(POSTGRES_URL, schema)
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.fixture
def config(tmp_path, database_url) -> Config:
    return make_config(tmp_path, database_url)


@pytest.fixture
def deps(config):
    from bot.daemon.deps import open_deps

    opened = open_deps(config, sleep=lambda seconds: None, backoff=0.0)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def season_mail():
    """The demo season (bot.demo.season, seed 2020, the example config's units), generated once per session:
    the season and demo tests read the same bytes."""
    from bot.demo.season import generate_season

    return tuple(generate_season())


@pytest.fixture(scope="session")
def demo_archives(tmp_path_factory):
    """The demo's April–June polled, once per test process and database kind, for tests to copy (see
    tests/demo_archive.py)."""
    from tests.demo_archive import DemoArchives

    archives = DemoArchives(tmp_path_factory.mktemp("demo-archives"))
    yield archives
    archives.close()


@contextmanager
def port_in_use() -> Iterator[int]:
    """A loopback port some other program listens on, while the block runs."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]
