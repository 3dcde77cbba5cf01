"""Search as people type it: punctuation and quotes around terms, a date range, and how many were found
beyond the limit (archive.search); on the command line, filters checked like every other command's, unit
aliases, "共 N 封，显示前 M 封" and columns lined up by display width."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from archive.ingest import Incoming, ingest_batch
from archive.search import Query, count, search
from bot.cli.console import width
from bot.cli.group import main
from bot.demo.folder import compose
from parsers.searchterms import split_terms

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = "hsclbgs666@163.com"
MAY = datetime(2020, 5, 6, 9, 0, tzinfo=SHANGHAI)


def briefing(unit: str, sender: str, day: int, body: str = "大营镇 张庄 今年完成改造") -> bytes:
    return compose(
        sender, OFFICE, f"{unit}贫困残疾人服务工程专项信息（{day}）", MAY + timedelta(days=day), body=body
    ).as_bytes()


@pytest.mark.parametrize(
    "typed, terms",
    [
        ("枣强县，", ["枣强县"]),
        ("枣强县，景县", ["枣强县", "景县"]),
        ('"枣强县"', ["枣强县"]),
        ("“枣强县”", ["枣强县"]),
        ("《通知》 王斐、", ["通知", "王斐"]),
        ('"大营镇 张庄" 改造。', ["大营镇张庄", "改造"]),  # a space beside Chinese only lays it out
        ('"hello world" 改造', ["hello world", "改造"]),
        ("zqxcl@163.com 2020-05 0318-7221234 139****5678", ["zqxcl@163.com", "2020-05", "0318-7221234", "139****5678"]),
        ("景县. (高新区)", ["景县", "高新区"]),
        ("， 。", []),
    ],
)
def test_a_query_is_split_into_terms_as_people_type_them(typed, terms):
    assert split_terms(typed) == terms


@pytest.fixture
def archived(deps):
    raws = [briefing("枣强县", "zqxcl@163.com", day) for day in range(4)] + [briefing("桃城区", "tcqcl@163.com", 9)]
    items = [Incoming(raw, "bgs", "import", origin=f"/m/{n}.eml") for n, raw in enumerate(raws)]
    return [outcome.id for outcome in ingest_batch(deps.db, deps.store, deps.recognizer, items)]


def found(deps, **query) -> list[int]:
    with deps.db.session() as session:
        return [message.id for message in search(session, Query(limit=0, **query))]


def test_punctuation_and_quotes_around_terms_find_what_the_bare_terms_find(deps, archived):
    everything = sorted(archived)
    for typed in ("枣强县，", "“枣强县”", '"枣强县"', "枣强县。"):
        assert sorted(found(deps, text=typed)) == everything[:4], typed
    assert sorted(found(deps, text='"大营镇 张庄"')) == everything  # a phrase, spaces and all
    assert found(deps, text='"张庄 大营镇"') == []
    assert sorted(found(deps, text="桃城区，张庄")) == [archived[4]]


def test_a_date_range_keeps_the_arrivals_within_it(deps, archived):
    since, until = MAY + timedelta(days=1), MAY + timedelta(days=2)
    assert sorted(found(deps, since=since, until=until)) == archived[1:3]
    assert sorted(found(deps, text="张庄", since=since)) == archived[1:]
    assert found(deps, until=MAY - timedelta(seconds=1)) == []


def test_the_count_is_of_every_match_whatever_the_limit(deps, archived):
    with deps.db.session() as session:
        assert len(search(session, Query(text="张庄", limit=2))) == 2
        assert count(session, Query(text="张庄", limit=2)) == len(archived)
        assert count(session, Query(unit="枣强县", limit=1)) == 4
        assert count(session, Query(text="枣强县，", kind="briefing", limit=1)) == 4


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """`mailroom ARGS` on the example config with a SQLite archive holding 55 briefings of 枣强县 and 3 of 桃城区
    (imported as .eml files): (exit code, stdout lines, stderr lines)."""
    from tests.conftest import ROOT

    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("MAILROOM_DATABASE_URL", f"sqlite:///{tmp_path}/mailroom.db")
    monkeypatch.setenv("MAILROOM_ARCHIVE_PATH", str(tmp_path / "archive"))
    mail = tmp_path / "mail"
    mail.mkdir()
    for day in range(55):
        (mail / f"zq{day}.eml").write_bytes(briefing("枣强县", "zqxcl@163.com", day % 28))
    for day in range(3):
        (mail / f"tc{day}.eml").write_bytes(briefing("桃城", "tcqcl@163.com", day))

    def invoke(*args: str) -> tuple[int, list[str], list[str]]:
        result = CliRunner().invoke(main, ["--config", str(config), *args], prog_name="mailroom")
        return result.exit_code, result.stdout.splitlines(), result.stderr.strip().splitlines()

    assert invoke("import", str(mail))[0] == 0
    return invoke


@pytest.mark.parametrize(
    "args, says",
    [
        (["--month", "2020-13"], "选项 --month 的值不对：月份应写作 YYYY-MM，例如 2020-05，而不是 '2020-13'"),
        (["--month", "hello"], "选项 --month 的值不对：月份应写作 YYYY-MM，例如 2020-05，而不是 'hello'"),
        (["--unit", "不存在县"], "选项 --unit 的值不对：没有名为 不存在县 的单位；单位有：桃城区、"),
        (["--limit", "-1"], "选项 --limit 的值不对：应为 0 或正整数（0 表示全部），而不是 -1"),
        (["--sender", " "], "选项 --sender 的值不对：应为邮箱地址或其一部分，例如 zqxcl@163.com、zqxcl 或 @163.com"),
        (["--sender", "<>"], "选项 --sender 的值不对：应为邮箱地址或其一部分，例如 zqxcl@163.com、zqxcl 或 @163.com"),
        (["--since", "2020-5-1"], "选项 --since 的值不对：日期应写作 YYYY-MM-DD，例如 2020-05-01，而不是 '2020-5-1'"),
        (
            ["--since", "2020-05-03", "--until", "2020-05-02"],
            "--since 2020-05-03 晚于 --until 2020-05-02，查不到任何邮件",
        ),
    ],
)
def test_search_filters_are_checked_in_one_line_with_exit_2(cli, args, says):
    code, out, err = cli("search", *args)
    assert code == 2 and out == [] and len(err) == 1
    assert err[0].startswith(f"用法错误 (usage error): {says}")


def test_the_sender_filter_takes_an_address_as_people_write_it_or_a_part_of_one(cli):
    """GIVEN 55 briefings from zqxcl@163.com and 3 from tcqcl@163.com WHEN searched by sender as the address,
    full-width or in capitals, as a message shows it ("枣强县残联 <zqxcl@163.com>"), or by a part of it THEN each
    finds the same mail the address does; a part two addresses share finds both."""
    for asked in (
        "zqxcl@163.com",
        "ＺＱＸＣＬ@163.com",
        "枣强县残联 <zqxcl@163.com>",
        "zqxcl",
        "XCL@163",
        "zqxcl@163.com;",
        "mailto:zqxcl@163.com",
        "zqxcl@163.com (枣强县残联)",
    ):
        assert cli("search", "--sender", asked, "--limit", "0")[2] == ["共 55 封"], asked
    assert cli("search", "--sender", "@163.com", "--limit", "0")[2] == ["共 58 封"]
    assert cli("search", "--sender", "tcq")[2] == ["共 3 封"]
    assert cli("search", "--sender", "100%_")[2] == ["共 0 封"]


def test_search_takes_a_unit_alias_and_says_how_many_it_found_and_showed(cli):
    code, out, err = cli("search", "--unit", "桃城")
    assert code == 0 and err == ["共 3 封"] and len(out) == 4 and all("桃城区" in line for line in out[1:])
    code, out, err = cli("search", "张庄")
    assert code == 0 and err == ["共 58 封，显示前 50 封（--limit 0 显示全部）"] and len(out) == 51
    assert cli("search", "张庄", "--limit", "0")[2] == ["共 58 封"]
    code, out, err = cli("search", "--since", "2020-05-07", "--until", "2020-05-07")
    assert err == ["共 3 封"]  # 枣强县's mail of days 1 and 29 (both on May 7), 桃城区's of day 1


def test_search_columns_line_up_by_display_width(cli):
    """GIVEN rows whose cells differ in width (#1 and #58, 枣强县 and 桃城区 beside ASCII) WHEN listed THEN
    each column starts at the same display column on every line as its header."""
    _, out, _ = cli("search", "--limit", "0")
    header, rows = out[0], out[1:]
    column = {name: width(header[: header.index(name)]) for name in ("单位", "月份", "发件人", "主题")}
    for line in rows:
        unit = "枣强县" if "枣强县" in line else "桃城区"
        sender = line.index("zqxcl@" if unit == "枣强县" else "tcqcl@")
        assert width(line[: line.index(unit)]) == column["单位"], line
        month = re.compile(r"2020-\d\d ").search(line, line.index(unit)).start()
        assert width(line[:month]) == column["月份"], line
        assert width(line[:sender]) == column["发件人"], line
        assert width(line[: line.index(unit[:2], sender)]) == column["主题"], line


def reply_with_package() -> bytes:
    """枣强县's April package sent by pressing 回复 on the notice."""
    from tests.webapp import _message

    notice = "回复：关于报送4月份残疾人服务工程报表的通知"
    at = datetime(2020, 5, 12, 10, tzinfo=SHANGHAI)
    return _message("zqxcl@163.com", notice, at, "请查收。", ("summary-unit-row-only.xlsx",))


def test_a_reply_carrying_the_package_is_found_as_the_report_its_receipt_calls_it(deps):
    """GIVEN a package sent as a reply (kind reply, its forms counted, its receipt saying 类别：月度报表) WHEN staff
    search 月度报表 THEN it is found, where only a search of replies found it; a reply without forms is not."""
    from tests.webapp import _message, store_one

    package = store_one(deps, reply_with_package())
    at = datetime(2020, 5, 12, 11, tzinfo=SHANGHAI)
    thanks = store_one(deps, _message("jxcl2020@163.com", "回复：回执：景县4月份报表", at, "收到，谢谢"))
    assert found(deps, kind="report") == [package]
    assert set(found(deps, kind="reply")) == {package, thanks}


def test_a_reply_carrying_the_package_says_so_where_a_search_for_reports_lists_it(cli, tmp_path):
    """Listed under 月度报表 as 回复 alone, it read as a search gone wrong."""
    (tmp_path / "reply.eml").write_bytes(reply_with_package())
    assert cli("import", str(tmp_path / "reply.eml"))[0] == 0
    code, lines, _ = cli("search", "--kind", "report", "--json")
    [found_id] = [item["id"] for item in json.loads("\n".join(lines))]
    code, lines, _ = cli("search", "--kind", "report")
    assert code == 0 and any(f"#{found_id}" in line and "回复（附报表）" in line for line in lines), lines
    code, lines, _ = cli("show", str(found_id))
    assert code == 0 and any("枣强县 · 回复（附报表）" in line for line in lines), lines
