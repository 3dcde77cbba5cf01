"""`mailroom copy-database`: the archive's database moved whole into another (SQLite to PostgreSQL, or back), as an
operator does when the federation outgrows the embedded default. An operator who only set MAILROOM_DATABASE_URL
and paired the new database with `init --pair` lost the closed years, the staff's decisions and accounts, and
answered every mail of the last week again."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select

from archive.db import Database
from archive.entries import add_entry
from archive.models import Base, Message, OutboxMail
from archive.search import Query, search
from archive.users import add_user
from bot.cli.group import main
from bot.daemon.deps import open_deps
from bot.daemon.poll import send_owed
from bot.daemon.status import serving
from parsers.errors import ConfigError
from tests import test_owed
from tests.conftest import ROOT, fresh_database
from tests.test_owed import briefing, store
from tests.webapp import PERSON, _message, add_accounts, fill_archive, store_one

config = test_owed.config  # the example config, its receipts owed to mail of any age (the tests' is from 2020)


def rows(url: str) -> dict[str, list[dict]]:
    """Every row of every table of the model, in the order of its key."""
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            return {
                table.name: [
                    dict(row._mapping) for row in connection.execute(select(table).order_by(*table.primary_key.columns))
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        database.dispose()


def copy(config, target: str):
    env = {"MAILROOM_DATABASE_URL": config.database_url, "MAILROOM_ARCHIVE_PATH": str(config.archive_path)}
    return CliRunner().invoke(main, ["--config", str(ROOT / "config.example.toml"), "copy-database", target], env=env)


def test_the_database_is_copied_whole_and_the_archive_folder_pairs_with_the_copy(config, deps, tmp_path):
    """GIVEN an archive with mail, its receipts sent, staff accounts and an award WHEN copied into a new
    database of the other kind THEN every row of every table is there alike (ids, times, raw mail), the
    archive folder opens with the copy, search finds a name there, nothing is owed or sent again, and the next
    message gets a new id; a second copy into the same database is refused, copying nothing."""
    archive = fill_archive(deps)
    add_accounts(deps)
    with deps.db.session() as session:
        add_entry(session, "景县", "media", "provincial", date(2020, 5, 10), "河北日报", "孙倩", config.plans)
        session.commit()
    store(deps, briefing(1))
    now = datetime(2020, 5, 6, 10, tzinfo=UTC)
    assert send_owed(config, deps, now).outbox.sent == 3  # the archive's two packages and the briefing
    other = "postgresql" if config.database_url.startswith("sqlite") else "sqlite"
    with fresh_database(other, tmp_path, "copy") as target:
        done = copy(config, target)
        assert done.exit_code == 0, done.output
        assert "检索索引：" in done.output and "mailroom verify" in done.output
        before, after = rows(config.database_url), rows(target)
        identity = before.pop("archive_identity")
        assert after.pop("archive_identity") == [{"archive_id": deps.store.identity()}] != identity
        assert before == after and len(before["message"]) >= 4 and before["outbox"]
        moved = dataclasses.replace(config, database_url=target)
        copied = open_deps(moved, sleep=lambda seconds: None)  # the folder pairs with the copy: not refused
        try:
            with copied.db.session() as session:
                assert archive.package in [found.id for found in search(session, Query(text=PERSON))]
            assert send_owed(moved, copied, now) == send_owed(config, deps, now)  # nothing owed, nothing sent
            raw = _message("jxcl2020@163.com", "景县情况", datetime(2020, 5, 7, 9, tzinfo=UTC), "新来的")
            newest = max(message["id"] for message in before["message"])
            assert store_one(copied, raw) == newest + 1
            with copied.db.session() as session:
                assert session.scalar(select(Message.subject).where(Message.id == newest + 1)) == "景县情况"
                assert len(session.scalars(select(OutboxMail)).all()) == len(before["outbox"])
        finally:
            copied.close()
        # the old database is retired: a shell still naming it is told to use the new one, not let archive into it
        old = copy(config, target)
        assert old.exit_code == 2 and "已用 mailroom copy-database 复制到新的数据库，不再使用" in old.output


def test_a_target_holding_rows_or_another_programs_tables_is_refused_untouched(config, deps, tmp_path):
    """GIVEN a target URL naming, by mistake, a database of another program, or one of ours holding an account
    WHEN copied into THEN each is refused before anything in it is made, upgraded or written."""
    fill_archive(deps)
    other = "postgresql" if config.database_url.startswith("sqlite") else "sqlite"
    with fresh_database(other, tmp_path, "foreign") as foreign, fresh_database(other, tmp_path, "ours") as ours:
        database = Database(foreign)
        with database.engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE invoice (id INTEGER PRIMARY KEY)")
        refused = copy(config, foreign)
        assert refused.exit_code == 2 and "目标数据库中已有其他程序的表（invoice）" in refused.output
        assert inspect(database.engine).get_table_names() == ["invoice"]
        database.dispose()
        database = Database(ours)
        database.upgrade()
        with database.session() as session:
            add_user(session, "孙倩", "a long enough password", "staff")
            session.commit()
        refused = copy(config, ours)
        assert refused.exit_code == 2 and "表 web_user 不是空的" in refused.output
        with database.session() as session:
            assert session.scalar(select(func.count()).select_from(Message)) == 0
        database.dispose()


def test_a_copy_is_refused_while_serve_runs(config, deps, tmp_path):
    fill_archive(deps)
    with serving(deps), fresh_database("sqlite", tmp_path, "copy") as target:
        refused = copy(config, target)
    assert refused.exit_code == 2 and "mailroom serve 正在运行" in refused.output


def test_a_copy_into_the_database_in_use_is_refused(config, deps):
    fill_archive(deps)
    refused = copy(config, config.database_url)
    assert refused.exit_code == 2 and "就是现在使用的数据库" in refused.output


def test_a_source_written_during_the_copy_leaves_the_target_empty(config, deps, tmp_path):
    """GIVEN a staff account added to the source while its rows are being copied (the web app, which the command
    cannot see, still running) WHEN the copy ends THEN it is refused and the target holds nothing, where the
    account was silently left behind in the old, retired database."""
    from archive.copy import copy_database

    fill_archive(deps)
    other = "postgresql" if config.database_url.startswith("sqlite") else "sqlite"
    added = []

    def meanwhile(_rows: int) -> None:
        if not added:
            with deps.db.session() as session:
                added.append(add_user(session, "孙倩", "a long enough password", "staff").name)
                session.commit()

    with fresh_database(other, tmp_path, "copy") as url:
        target = Database(url)
        try:
            with pytest.raises(ConfigError, match="复制期间源数据库被写入（web_user（0 → 1））"):
                copy_database(deps.db, target, meanwhile)
            with target.session() as session:
                assert session.scalar(select(func.count()).select_from(Message)) == 0
        finally:
            target.dispose()
    assert added == ["孙倩"]


def test_the_old_database_is_taken_back_on_purpose_and_a_missing_folder_is_refused(config, deps, tmp_path):
    """GIVEN a database copied away WHEN `init --pair` is run with it THEN it is the archive's again (the folder's
    identity kept, never the copied-away mark); a SQLite target in a folder that is not there is refused naming
    TARGET_URL."""
    fill_archive(deps)
    folder = deps.store.identity()
    with fresh_database("sqlite", tmp_path, "copy") as target:
        assert copy(config, target).exit_code == 0
    env = {"MAILROOM_DATABASE_URL": config.database_url, "MAILROOM_ARCHIVE_PATH": str(config.archive_path)}
    run = lambda *args: CliRunner().invoke(main, ["--config", str(ROOT / "config.example.toml"), *args], env=env)  # noqa: E731
    assert run("status").exit_code == 2
    assert run("init", "--pair").exit_code == 0
    assert run("status").exit_code == 0 and deps.store.identity() == folder
    missing = copy(config, f"sqlite:///{tmp_path}/no-such-folder/copy.db")
    assert missing.exit_code == 2 and f"TARGET_URL 的文件夹 {tmp_path}/no-such-folder 不存在" in missing.output


def test_a_database_copied_away_never_hands_its_mark_to_a_new_folder(config, deps, tmp_path):
    """GIVEN a database copied away before it held any mail, taken back with `init --pair` beside a new, empty
    archive folder WHEN paired THEN both get a fresh identity, where the folder was given the copied-away mark
    and every command after was refused, `init --pair` too."""
    from archive.pairing import RETIRED, pair, retire
    from archive.store import RawStore

    retire(deps.db)
    store = RawStore(tmp_path / "new-archive")
    with pytest.raises(ConfigError, match="已用 mailroom copy-database 复制到新的数据库"):
        pair(deps.db, store, "db", adopt=False)
    pair(deps.db, store, "db", adopt=True)
    assert store.identity() is not None and not store.identity().startswith(RETIRED)
    pair(deps.db, store, "db")  # paired: no refusal
