"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from datetime import UTC

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from archive.db import Database
from archive.models import Base


def _modelled(object_, name, type_, reflected, compare_to) -> bool:
    # The search index (search_doc, SQLite's search_fts and its shadow tables) differs by database and is
    # written in SQL by archive.fulltext, not described by a model.
    table = object_ if type_ == "table" else getattr(object_, "table", None)
    return not (table is not None and table.name.startswith("search_"))


def test_migrations_match_the_models(database_url):
    db = Database(database_url)
    assert db.upgrade() is True
    assert db.upgrade() is False  # already at head: nothing applied twice
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": _modelled})
        differences = compare_metadata(context, Base.metadata)
        tables = set(connection.dialect.get_table_names(connection))
        if connection.dialect.name == "postgresql":  # the statistics archive.search plans by (0011)
            target = connection.exec_driver_sql(
                "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'search_doc'::regclass AND attname = 'grams'"
            ).scalar()
            assert target == 1000
    db.dispose()
    assert differences == []
    assert "search_doc" in tables


def test_the_schema_head_named_in_code_is_the_migrations_head():
    """archive.db opens a current database without loading Alembic by comparing with SCHEMA_HEAD: a new
    migration must move it."""
    from alembic.script import ScriptDirectory

    from archive.db import SCHEMA_HEAD, _alembic_config

    assert ScriptDirectory.from_config(_alembic_config()).get_current_head() == SCHEMA_HEAD


def test_processes_starting_together_on_a_new_database_migrate_it_once(database_url):
    """GIVEN a new database WHEN four openers upgrade it at the same moment (`serve` and a command typed
    beside it) THEN one migrates, the others wait and find it current: no error, one schema."""
    import threading

    barrier, results, errors = threading.Barrier(4), [], []

    def open_it() -> None:
        db = Database(database_url)
        barrier.wait()
        try:
            results.append(db.upgrade())
        except Exception as error:  # noqa: BLE001 — the test reports whatever an opener hit
            errors.append(error)
        finally:
            db.dispose()

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(results) == [False, False, False, True]


def test_migrations_index_messages_archived_before_them_as_ingest_does(deps):
    """GIVEN briefings and a report archived at head WHEN the search (0008) and article (0009) revisions
    are undone and applied again THEN their backfills give the rows ingest gave."""
    from datetime import datetime, timedelta

    from alembic import command

    from archive.db import _alembic_config
    from archive.ingest import Incoming, ingest_batch
    from bot.demo.folder import compose

    office, sender = "hsclbgs666@163.com", "zqxcl@163.com"
    arrival = datetime(2020, 5, 6, 1, 0, tzinfo=UTC)
    with_files = compose(sender, office, "枣强县专项信息：召开推进会", arrival, body="李老师：请审阅。")
    for name in ("推进会.docx", "推进会（副本）.docx", "照片.jpg"):
        with_files.add_attachment(
            b"PK same bytes" if name.endswith("docx") else b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
            maintype="application",
            subtype="octet-stream",
            filename=name,
        )
    in_body = compose(
        sender,
        office,
        "枣强县简报：开展助残日活动",
        arrival + timedelta(hours=1),
        body="五月十五日，全县开展第三十次全国助残日活动，走访慰问残疾人家庭一百余户。",
    )
    report = compose(sender, "hskf2006@126.com", "枣强县4月份目标任务进展情况", arrival, body="见附件")
    report.add_attachment(
        b"PK not a real workbook", maintype="application", subtype="octet-stream", filename="附件2.xlsx"
    )
    items = [
        Incoming(mail.as_bytes(), None, "import", origin=f"/m/{n}")
        for n, mail in enumerate([with_files, in_body, report])
    ]
    outcomes = ingest_batch(deps.db, deps.store, deps.recognizer, items)
    assert [outcome.kind for outcome in outcomes] == ["briefing", "briefing", "report"]

    def rows():
        with deps.db.engine.connect() as connection:
            articles = connection.exec_driver_sql("SELECT message_id, key FROM article ORDER BY id").all()
            documents = connection.exec_driver_sql(
                "SELECT id, message_id, head, body, rows FROM search_doc ORDER BY id"
            ).all()
        return articles, documents

    ingested = rows()
    assert [key[:5] for _, key in ingested[0]] == [ingested[0][0][1][:5], "text:"]  # one file article, one in the body
    assert len(ingested[1]) == 3
    config = _alembic_config()
    with deps.db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0007")
    assert deps.db.upgrade() is True
    assert rows() == ingested
