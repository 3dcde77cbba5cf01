"""The database file, the archive and the web key are created readable by their owner only.

GIVEN a umask that would leave new files readable by every local user (022, the usual one)
WHEN mailroom makes its database, its archive folder and the web app's key on first use
THEN each is 0600 (a file) or 0700 (a folder): personal numbers and password hashes stay with their owner.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from archive.db import Database
from archive.store import RawStore
from bot.daemon.deps import open_deps
from bot.web.app import load_secret_key, secret_path
from tests.conftest import DATA, make_config


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_sqlite_database_and_its_wal_are_owner_only(tmp_path):
    path = tmp_path / "var" / "mailroom.db"
    db = Database(f"sqlite:///{path}")
    try:
        db.upgrade()
        with db.engine.connect() as connection:  # WAL mode: the -wal and -shm files exist while it is open
            connection.exec_driver_sql("SELECT count(*) FROM sqlite_master")
            sidecars = [Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert all(sidecar.exists() for sidecar in sidecars)
            assert {mode(sidecar) for sidecar in sidecars} == {0o600}
    finally:
        db.dispose()
    assert mode(path) == 0o600


def test_an_existing_database_keeps_its_mode(tmp_path):
    """An administrator's choice (a backup group that reads the file) is not undone on the next start."""
    path = tmp_path / "mailroom.db"
    Database(f"sqlite:///{path}").dispose()
    os.chmod(path, 0o640)
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    assert mode(path) == 0o640


def test_the_archive_folders_and_files_are_owner_only(tmp_path):
    store = RawStore(tmp_path / "var" / "archive")
    store.create()
    message = store.put_message((DATA / "mail").glob("*.eml").__next__().read_bytes())
    attachment = store.put_file(b"a workbook's bytes")
    store.close()

    assert mode(tmp_path / "var") == 0o755  # the folder above is not the archive's to change
    folders = [
        store.root,
        store.root / "messages",
        store.root / "files",
        store.message_path(message).parent,
        store.file_path(attachment).parent,
    ]
    assert {mode(folder) for folder in folders} == {0o700}
    assert {mode(store.message_path(message)), mode(store.file_path(attachment))} == {0o600}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_first_use_of_a_config_makes_all_three_owner_only(tmp_path, database_url):
    """The way a deployment meets them: the first command opens the database and the archive, the first
    `mailroom web` makes its key beside the archive."""
    config = make_config(tmp_path, database_url)
    open_deps(config).close()
    load_secret_key(config, environ={})

    assert mode(Path(config.database_url.removeprefix("sqlite:///"))) == 0o600
    assert mode(config.archive_path) == 0o700
    assert mode(secret_path(config)) == 0o600


def test_mail_written_by_the_folder_transport_is_owner_only(tmp_path):
    """The embedded default writes each outgoing mail into a folder: a 自查's answer can quote names and ID
    numbers, so the folder is 0700 and each mail 0600."""
    from bot.outgoing.outbox import FolderTransport

    folder = tmp_path / "var" / "outbox"
    FolderTransport(folder).send(b"Subject: x\r\n\r\n", "a@b.c", ["d@e.f"], "000001-selfcheck")
    assert (mode(folder), mode(folder / "000001-selfcheck.eml")) == (0o700, 0o600)
