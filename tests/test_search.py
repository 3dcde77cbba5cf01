"""Full-text search: Chinese terms of any length, found in subjects, bodies, file names and registry rows,
the same on SQLite and PostgreSQL."""

import random
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, text

from archive.fulltext import rebuild, term_grams
from archive.ingest import Incoming, ingest_batch
from archive.search import Query, count, search
from bot.demo.folder import compose
from parsers.searchdoc import grams, normalise
from tests.conftest import DATA

SHANGHAI = ZoneInfo("Asia/Shanghai")
REHAB = "hskf2006@126.com"
MAY = datetime(2020, 5, 6, 9, 0, tzinfo=SHANGHAI)


def mail(subject: str, body: str, arrival: datetime, sender: str = "ryxcl@163.com", files=()) -> bytes:
    message = compose(sender, REHAB, subject, arrival, body=body)
    for name, data in files:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


def archive(deps, *raws: bytes) -> list[int]:
    items = [Incoming(raw, "kfb", "import", origin=f"/m/{n}.eml") for n, raw in enumerate(raws)]
    return [outcome.id for outcome in ingest_batch(deps.db, deps.store, deps.recognizer, items)]


def found(deps, words: str, **filters) -> list[int]:
    with deps.db.session() as session:
        return [message.id for message in search(session, Query(text=words, limit=0, **filters))]


@pytest.fixture
def archived(deps):
    registry = (DATA / "workbooks" / "rehab-registry-two-age-sheets.xlsx").read_bytes()
    ids = archive(
        deps,
        mail(
            "饶阳县5月份康复服务实名制登记表", "见附件。", MAY, files=[("新建 Microsoft Excel 工作表.xlsx", registry)]
        ),
        mail(
            "关于王家庄村无障碍改造的情况说明",
            "联系电话 0318-7221234，ＡＢＣ全角。张家庄村委会",
            MAY + timedelta(days=1),
        ),
        mail(
            "枣强县贫困残疾人服务工程专项信息（1）",
            "大营镇 张庄 今年完成改造",
            MAY - timedelta(days=3),
            sender="zqxcl@163.com",
        ),
    )
    return dict(zip(["registry", "village", "briefing"], ids))


def test_grams_are_strings_of_one_to_four_characters_inside_runs_of_letters_and_digits():
    assert grams("王家庄村委 ab") == {
        "王",
        "家",
        "庄",
        "村",
        "委",
        "王家",
        "家庄",
        "庄村",
        "村委",
        "王家庄",
        "家庄村",
        "庄村委",
        "王家庄村",
        "家庄村委",
        "a",
        "b",
        "ab",
    }
    assert grams("ab ab-ab") == {"a", "b", "ab"}
    rng = random.Random(4)  # runs of every length, short and past the 64 whose slices are kept ready
    for _ in range(200):
        text = "".join(rng.choice("王家庄村委ab1 -，") for _ in range(rng.randint(0, 160)))
        runs = [run for run in re.split(r"[ \-，]+", text) if run]
        assert grams(text) == {
            run[i : i + size] for run in runs for size in range(1, 5) for i in range(len(run) - size + 1)
        }
    assert term_grams("王") == ({"王"}, True)
    assert term_grams("王家") == ({"王家"}, True)
    assert term_grams("王家庄村") == ({"王家庄村"}, True)
    assert term_grams("王家庄村委") == ({"王家庄村", "家庄村委"}, False)
    assert term_grams("0318-7221234") == ({"0318", "7221", "2212", "2123", "1234"}, False)
    assert term_grams("王家-") == ({"王家"}, False)
    assert normalise("ＡＢＣ１２") == "abc12"


def test_a_two_character_name_inside_a_registry_row_finds_its_message(deps, archived):
    assert found(deps, "王斐") == [archived["registry"]]
    assert found(deps, "刘秀英") == [archived["registry"]]
    assert found(deps, "13112419620315011842") == [archived["registry"]]


def test_a_village_inside_a_subject_and_single_characters(deps, archived):
    assert found(deps, "王家庄") == [archived["village"]]
    assert found(deps, "庄") == [archived["village"], archived["briefing"]]  # newest first
    assert found(deps, "家庄村无障") == [archived["village"]]
    assert found(deps, "工作表") == [archived["registry"]]  # an attachment's file name


def test_no_match_across_separate_runs(deps, archived):
    """GIVEN '联系电话 0318-7221234，ＡＢＣ全角。张家庄村委会' (runs apart by punctuation and by a space between Latin
    letters and figures) WHEN a term spanning two runs is searched THEN nothing: it exists in no run. (A space
    beside Chinese characters only lays them out: '大营镇 张庄' is one run, test_spaces_that_lay_chinese_out….)"""
    assert found(deps, "全角张家") == []
    assert found(deps, "abc全角") == [archived["village"]]  # full-width letters and Chinese: one run
    assert found(deps, "话0318") == [archived["village"]]  # a space between Chinese and a figure is layout
    assert found(deps, "7221234abc") == []
    assert found(deps, "大营镇 张庄") == [archived["briefing"]]  # two terms, both present


def test_spaces_that_lay_chinese_out_do_not_hide_a_term(deps):
    """GIVEN subjects written as units write them: 景 县 padded to three characters, figures set apart WHEN
    searched as one would type them THEN found, unquoted and quoted, whichever way the query is spaced; and two
    words a space apart (大营镇 张庄) whether asked apart, together or as a phrase spaced either way."""
    padded, figures, words = archive(
        deps,
        mail("景 县12月份残疾人服务工程进展情况报告", "见附件", MAY),
        mail("枣强县 2020 年 12 月份报表", "完成 12 人", MAY + timedelta(days=1), sender="zqxcl@163.com"),
        mail("简报", "大营镇 张庄 今年完成改造", MAY + timedelta(days=2)),
    )
    for asked in ("景县12月份", "景县", "“景县12月份”", '"景 县12月份"'):
        assert found(deps, asked) == [padded], asked
    for asked in ("2020年12月份", "枣强县2020年", "“枣强县 2020年12月”", "12人"):
        assert found(deps, asked) == [figures], asked
    for asked in ("大营镇 张庄", "大营镇张庄", "“镇 张庄”", "“大营镇张庄”"):
        assert found(deps, asked) == [words], asked


def test_long_terms_are_confirmed_by_the_stored_text(deps, archived):
    """GIVEN all grams of a term present but not in that order WHEN searched THEN not found."""
    assert found(deps, "庄家王") == []
    assert found(deps, "王家庄村委") == []  # 王家庄村 in the subject, 家庄村委 in the body
    assert found(deps, "张家庄村委") == [archived["village"]]
    assert found(deps, "0318-7221234") == [archived["village"], archived["registry"]]
    assert found(deps, "abc") == [archived["village"]]  # full-width ＡＢＣ, any case
    assert found(deps, "ＡＢ") == [archived["village"]]


def test_filters_combine_with_text_and_relevance_puts_subject_hits_first(deps, archived):
    assert found(deps, "庄", unit="枣强县") == [archived["briefing"]]
    assert found(deps, "庄", sender="RYXCL@163.com") == [archived["village"]]
    assert found(deps, "改造") == [archived["village"], archived["briefing"]]
    relevant = found(deps, "改造", order="relevance")
    assert relevant == [archived["village"], archived["briefing"]]
    assert found(deps, "完成改造", order="relevance") == [archived["briefing"]]
    with deps.db.session() as session:
        page = [m.id for m in search(session, Query(text="庄", limit=1, offset=1))]
    assert page == [archived["briefing"]]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite always reads its FTS5 index
@pytest.mark.parametrize("walk", [True, False], ids=["walk", "index"])
def test_both_postgresql_plans_find_the_same_hits(deps, archived, monkeypatch, walk):
    """PostgreSQL finds a term either by walking the newest documents' text or by the GIN index's matches,
    whichever its estimates say is cheaper: both give the same hits in the same order."""
    assert deps.db.engine.dialect.name == "postgresql"
    monkeypatch.setattr("archive.search._walk_is_cheaper", lambda session, grams, wanted: walk)
    assert found(deps, "王斐") == [archived["registry"]]
    assert found(deps, "庄") == [archived["village"], archived["briefing"]]
    assert found(deps, "家庄村无障") == [archived["village"]]
    assert found(deps, "王家庄村委") == []
    assert found(deps, "0318-7221234") == [archived["village"], archived["registry"]]
    assert found(deps, "大营镇 张庄") == [archived["briefing"]]
    assert found(deps, "ＡＢ") == [archived["village"]]
    assert found(deps, "庄", unit="枣强县") == [archived["briefing"]]
    assert found(deps, "完成改造", order="relevance") == [archived["briefing"]]
    assert found(deps, "改造", order="relevance") == [archived["village"], archived["briefing"]]
    with deps.db.session() as session:
        assert [m.id for m in search(session, Query(text="庄", limit=1, offset=1))] == [archived["briefing"]]


def test_newest_first_follows_arrival_not_archiving_order(deps):
    older = archive(deps, mail("旧邮件 桃城区", "", MAY))
    newer = archive(deps, mail("新邮件 桃城区", "", MAY + timedelta(hours=1)))
    oldest = archive(deps, mail("补录 桃城区", "", MAY - timedelta(days=30)))
    assert found(deps, "桃城") == newer + older + oldest


def test_a_form_is_found_by_its_number_and_title_whatever_its_file_is_called(deps, archived):
    """GIVEN 饶阳县's 附件3 sent as 新建 Microsoft Excel 工作表.xlsx under a subject naming no 附件 WHEN searched for
    附件3, or its form's title THEN it is found, and by no other form's number: 22 % of the mails carrying a 附件2
    were not found by "附件2" (staff tester)."""
    assert found(deps, "附件3") == found(deps, "康复服务实名制登记表") == [archived["registry"]]
    assert found(deps, "附件2") == []


def test_rebuild_gives_the_same_hits_and_one_document_per_message(deps, archived):
    before = {words: found(deps, words) for words in ["王斐", "庄", "0318-7221234", "镇张", "附件3"]}
    with deps.db.engine.begin() as connection:
        assert rebuild(connection) == 3
        assert rebuild(connection) == 3
        assert connection.execute(text("SELECT count(*) FROM search_doc")).scalar() == 3
    assert {words: found(deps, words) for words in before} == before


def test_cli_search_by_name_with_order_and_reindex(tmp_path, database_url):
    import json

    from click.testing import CliRunner

    from bot.cli.group import main
    from tests.conftest import ROOT

    registry = (DATA / "workbooks" / "rehab-registry-two-age-sheets.xlsx").read_bytes()
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "a.eml").write_bytes(
        mail("康复服务实名制登记表", "见附件", MAY, files=[("表.xlsx", registry)])
    )
    (tmp_path / "mail" / "b.eml").write_bytes(mail("关于王斐的情况", "", MAY - timedelta(days=1)))
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}

    def run(*args: str):
        return CliRunner().invoke(main, ["--config", str(ROOT / "config.example.toml"), *args], env=env)

    assert run("import", str(tmp_path / "mail")).exit_code == 0
    newest = [row["subject"] for row in json.loads(run("search", "王斐", "--json").stdout)]
    assert newest == ["康复服务实名制登记表", "关于王斐的情况"]
    relevant = [row["subject"] for row in json.loads(run("search", "王斐", "--order", "relevance", "--json").stdout)]
    assert relevant == ["关于王斐的情况", "康复服务实名制登记表"]
    rebuilt = run("reindex")
    assert rebuilt.exit_code == 0 and "已重建 2 封邮件" in rebuilt.stdout
    assert [row["subject"] for row in json.loads(run("search", "王斐", "--json").stdout)] == newest


def test_messages_arriving_in_the_same_second_each_get_a_document(deps):
    first = archive(deps, mail("同一秒 甲", "", MAY), mail("同一秒 乙", "", MAY))
    second = archive(deps, mail("同一秒 丙", "", MAY))
    assert sorted(found(deps, "同一秒")) == sorted(first + second)
    assert found(deps, "丙") == second


def test_every_hit_is_loaded_in_order_across_loading_batches(deps, monkeypatch):
    """GIVEN more hits than one loading statement takes (PostgreSQL: 65,535 parameters) THEN all come back."""
    import archive.search as search_module

    ids = archive(deps, *(mail(f"分批 {n}", "", MAY + timedelta(minutes=n)) for n in range(5)))
    monkeypatch.setattr(search_module, "_LOAD_BATCH", 2)
    assert found(deps, "分批") == ids[::-1]


def test_a_term_nobody_wrote_is_answered_by_the_index_alone(deps, archived):
    """GIVEN an archive WHEN the query holds a term no document holds (alone or beside a common one), with
    or without filters THEN nothing is found, and one index lookup answered it (a term that is there still
    finds its message, the usual way)."""
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731 — (conn, cursor, statement, …)
    event.listen(deps.db.engine, "before_cursor_execute", listen)
    try:
        assert found(deps, "鑫鑫") == [] and found(deps, "张庄 鑫鑫", unit="饶阳县") == []
        with deps.db.session() as session:
            assert count(session, Query(text="不存在的词")) == 0
        absent = list(statements)
        assert found(deps, "张庄") == [archived["briefing"]]
    finally:
        event.remove(deps.db.engine, "before_cursor_execute", listen)
    lookup = (
        "SELECT 1 FROM search_fts"
        if deps.db.engine.dialect.name == "sqlite"
        else "WITH hits AS MATERIALIZED (SELECT id FROM search_doc"
    )
    statistics = [statement for statement in absent if "pg_stats" in statement]  # PostgreSQL's, read once
    assert len(statistics) <= 1
    assert [statement.split(" WHERE")[0] for statement in absent if statement not in statistics] == [lookup] * 3
    assert len(statements) > len(absent) + 1  # the index lookup, then the query itself
