"""A personal number glued to letters or symbols (a phone-number mailbox, `tel13912345678`): the stored text
holds it masked, so a viewer with the personal grant finds it by its masked form in the text and its digits
among the numbers, exactly (another number that masks the same way is not found), and at least whatever a
masked viewer finds of it (archive.search). And `mailroom search` lists a hit that has no From address."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from archive.ingest import Incoming, ingest_batch
from archive.search import Query, count, search
from bot.demo.folder import compose

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAY = datetime(2020, 5, 6, 9, 0, tzinfo=SHANGHAI)
REHAB = "hskf2006@126.com"


def mail(sender: str, subject: str, body: str, arrival: datetime) -> bytes:
    return compose(sender, REHAB, subject, arrival, body=body).as_bytes()


def archive(deps, *raws: bytes) -> list[int]:
    items = [Incoming(raw, "kfb", "import", origin=f"/m/{n}.eml") for n, raw in enumerate(raws)]
    return [outcome.id for outcome in ingest_batch(deps.db, deps.store, deps.recognizer, items)]


def found(deps, words: str, personal: bool = True, **options) -> list[int]:
    with deps.db.session() as session:
        return [m.id for m in search(session, Query(text=words, limit=0, personal=personal, **options))]


@pytest.fixture
def glued(deps):
    """Mail whose numbers are glued to letters and symbols, and twins whose numbers mask the same way."""
    ids = archive(
        deps,
        mail("张三 <zhangsan13912345678@qq.com>", "请假条", "请批准。", MAY),
        mail(
            "MAILER-DAEMON@163.com",
            "系统退信",
            "Delivery failed: 13912345678@163.com\n联系方式 tel13912345678",
            MAY + timedelta(hours=1),
        ),
        mail("张三 <zhangsan13900005678@qq.com>", "请假条", "另一个人。", MAY + timedelta(hours=2)),
        mail(
            "MAILER-DAEMON@163.com",
            "系统退信",
            "Delivery failed: 13900005678@163.com 13900000000@163.com\n联系方式 tel13900005678",
            MAY + timedelta(hours=3),
        ),
    )
    return dict(zip(["zhangsan", "bounce", "twin", "twin_bounce"], ids))


QUERIES = {  # what a granted viewer finds: exactly the message that holds this number
    "13912345678@163.com": "bounce",
    "zhangsan13912345678@qq.com": "zhangsan",
    "tel13912345678": "bounce",
    "failed: 13912345678@163.com": "bounce",
    '"联系方式 tel13912345678"': "bounce",  # a phrase
}


def test_a_granted_viewer_finds_a_number_glued_to_letters_or_symbols_exactly(deps, glued):
    for words, wanted in QUERIES.items():
        assert found(deps, words) == [glued[wanted]], words
        with deps.db.session() as session:
            assert count(session, Query(text=words)) == 1, words
    assert found(deps, "13900005678@163.com") == [glued["twin_bounce"]]
    assert found(deps, "13900000000@163.com") == [glued["twin_bounce"]]
    assert found(deps, "zhangsan13900005678@qq.com") == [glued["twin"]]
    assert found(deps, "13912345678@qq.com") == [glued["zhangsan"]]
    assert found(deps, "13912345678") == [glued["bounce"], glued["zhangsan"]]  # plain, as before
    assert found(deps, "139-1234-5678") == [glued["bounce"], glued["zhangsan"]]
    assert found(deps, "13912345679@163.com") == []
    assert found(deps, "请假条 zhangsan13912345678@qq.com", order="relevance") == [glued["zhangsan"]]
    assert found(deps, "13912345678@163.com", sender="mailer-daemon@163.com") == [glued["bounce"]]


def test_a_granted_viewer_finds_at_least_what_a_masked_viewer_finds_of_the_right_number(deps, glued):
    """The masked viewer finds both twins (they mask alike); the granted one the right one of them."""
    for words, wanted in QUERIES.items():
        masked = found(deps, words, personal=False)
        assert glued[wanted] in masked, words
        granted = found(deps, words)
        assert set(granted) <= set(masked), words
    assert found(deps, "13912345678@163.com", personal=False) == [glued["twin_bounce"], glued["bounce"]]
    assert found(deps, "zhangsan13912345678@qq.com", personal=False) == [glued["twin"], glued["zhangsan"]]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite always reads its FTS5 index
@pytest.mark.parametrize("walk", [True, False], ids=["walk", "index"])
def test_both_postgresql_plans_find_glued_numbers_alike(deps, glued, monkeypatch, walk):
    monkeypatch.setattr("archive.search._walk_is_cheaper", lambda session, grams, wanted: walk)
    for words, wanted in QUERIES.items():
        assert found(deps, words) == [glued[wanted]], words
    assert found(deps, "13900000000@163.com") == [glued["twin_bounce"]]
    assert found(deps, "请假条 zhangsan13912345678@qq.com", order="relevance") == [glued["zhangsan"]]


def test_a_glued_number_search_reads_the_index(deps, glued):
    """The granted search of a glued number is answered from the index: SQLite's FTS5 table, PostgreSQL's
    GIN index (no walk over the table's documents: the number's digits are rare)."""
    from sqlalchemy import event

    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731 — (conn, cursor, statement, …)
    event.listen(deps.db.engine, "before_cursor_execute", listen)
    try:
        assert found(deps, "13912345678@163.com") == [glued["bounce"]]
        assert found(deps, "13912345679@163.com") == []  # nobody wrote it: one lookup answers
    finally:
        event.remove(deps.db.engine, "before_cursor_execute", listen)
    main = [statement for statement in statements if "message_id" in statement and "search_doc" in statement]
    if deps.db.engine.dialect.name == "sqlite":  # the absent number is answered by the FTS5 lookup alone
        assert len(main) == 1 and "search_fts MATCH" in main[0]
    else:  # every match read through the GIN index (the planner cannot walk instead), then sorted
        assert main and all(
            statement.startswith("WITH hits AS MATERIALIZED") and "search_doc.grams @>" in statement
            for statement in main
        )


def test_cli_search_lists_a_hit_without_a_from_address(tmp_path, database_url):
    from click.testing import CliRunner

    from bot.cli.group import main
    from tests.conftest import ROOT

    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "a.eml").write_bytes(
        b"To: hskf2006@126.com\r\nSubject: =?utf-8?b?5peg5Y+R5Lu25Lq6?=\r\n"
        b"Date: Wed, 06 May 2020 09:00:00 +0800\r\nMessage-ID: <nofrom@test>\r\n\r\nhello\r\n"
    )
    (tmp_path / "mail" / "b.eml").write_bytes(mail("ryxcl@163.com", "有发件人", "hello", MAY))
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}

    def run(*args: str):
        return CliRunner().invoke(main, ["--config", str(ROOT / "config.example.toml"), *args], env=env)

    assert run("import", str(tmp_path / "mail")).exit_code == 0
    result = run("search", "hello")
    assert result.exit_code == 0, (result.output, result.exception)
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert any(line.startswith("#1 ") and line.split()[-2:] == ["（无发件人）", "无发件人"] for line in lines), lines
    assert any("ryxcl@163.com" in line and "有发件人" in line for line in lines), result.stdout
