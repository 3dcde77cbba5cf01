"""The demo's April–June polled into an archive, built once per test process and database kind, and copied for
each test that asks for it: polling it took 8–28 s, and some 80 tests each polled their own.

The copy is the whole demo folder (config, Maildirs, archive, outbox; on SQLite the database file too: every
path in it is relative to the config) and, on PostgreSQL, a database the server copies from the built one
(CREATE DATABASE … TEMPLATE), dropped after the test. Their names carry the test process's pid: a process
killed before it dropped its own leaves them to the next run's sweep (of the dead pids' only: another run may
be going on beside)."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from bot.cli.group import main
from bot.demo.folder import write_demo
from tests.conftest import POSTGRES_URL


class DemoArchives:
    """The built demo folders of one test process, by database kind, each built when first asked for."""

    def __init__(self, root: Path):
        self.root = root
        self.built: dict[str, Path] = {}
        self.template: str | None = None  # the PostgreSQL database built (one a process), dropped at the end

    def folder(self, kind: str) -> Path:
        if kind not in self.built:
            directory = self.root / kind
            write_demo(directory, months=(4, 5, 6))
            if kind == "postgresql":
                _sweep_databases_of_the_dead()
                if self.template is not None:  # a build that failed before: its database goes first
                    _drop(self.template)
                self.template = _own_name("demo")
                _admin(f'CREATE DATABASE "{self.template}"')
                _point_at(directory / "config.toml", _database_url(self.template))
            result = CliRunner().invoke(main, ["--config", str(directory / "config.toml"), "poll", "--once"])
            assert result.exit_code == 0, result.output
            self.built[kind] = directory
        return self.built[kind]

    @contextmanager
    def copy(self, kind: str, target: Path) -> Iterator[Path]:
        """A copy of the built demo at `target`; its config's path. On PostgreSQL its own database, dropped after."""
        built = self.folder(kind)
        shutil.copytree(built, target, symlinks=True)
        config = target / "config.toml"
        if kind != "postgresql":
            yield config
            return
        name = _own_name("test")
        _admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        try:
            _point_at(config, _database_url(name), was=_database_url(str(self.template)))
            yield config
        finally:
            _drop(name)

    def close(self) -> None:
        if self.template is not None:
            _drop(self.template)


_OURS = re.compile(r"mailroom_(?:demo|test)_(\d+)_[0-9a-f]+")


def _own_name(what: str) -> str:
    return f"mailroom_{what}_{os.getpid()}_{uuid.uuid4().hex[:12]}"


def _sweep_databases_of_the_dead() -> None:
    """Drop the demo databases of test processes no longer running (killed before they dropped their own)."""
    for (name,) in _admin("SELECT datname FROM pg_database WHERE datname LIKE 'mailroom\\_%'"):
        if (ours := _OURS.fullmatch(name)) and not Path(f"/proc/{ours.group(1)}").exists():
            _drop(name)


def _drop(name: str) -> None:
    # FORCE: a session the test left open (a leak of its own) must not keep its database for good
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', skip=False)


def _database_url(name: str) -> str:
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def _point_at(config: Path, url: str, was: str = "sqlite:///mailroom.db") -> None:
    text = config.read_text(encoding="utf-8")
    assert f'url = "{was}"' in text
    config.write_text(text.replace(f'url = "{was}"', f'url = "{url}"'), encoding="utf-8")


def _admin(statement: str, skip: bool = True) -> list[tuple]:
    """A statement outside any transaction (CREATE and DROP DATABASE need that), on the test server; its rows.
    A server not there skips the test (`skip`), as conftest.fresh_database does; after the test, it fails it."""
    import psycopg

    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        connection = psycopg.connect(plain, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        if not skip:
            raise
        pytest.skip(f"PostgreSQL not reachable at {plain} ({error.__class__.__name__})")
    with connection:
        cursor = connection.execute(statement)
        return cursor.fetchall() if cursor.description else []
