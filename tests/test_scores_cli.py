"""Staff entries and the scoring commands over a real archive (SQLite and PostgreSQL)."""

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from bot.cli.group import main
from bot.demo.folder import compose
from tests.conftest import ROOT

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = "hsclbgs666@163.com"


def run(env, *args):
    result = CliRunner().invoke(main, ["--config", str(ROOT / "config.example.toml"), *args], env=env)
    return result


def environment(tmp_path, database_url):
    return {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}


def test_award_list_and_revoke_keep_who_and_when(tmp_path, database_url):
    env = environment(tmp_path, database_url)
    first = run(
        env,
        "award",
        "桃城",
        "--kind",
        "media",
        "--level",
        "central",
        "--date",
        "2020-05-10",
        "--evidence",
        "人民日报 2020-05-10 第4版",
        "--by",
        "孙倩",
    )
    assert first.exit_code == 0, first.output
    assert "已登记 #1：桃城区 中央级媒体" in first.output
    twice = run(
        env,
        "award",
        "桃城区",
        "--kind",
        "media",
        "--level",
        "central",
        "--date",
        "2020-05-11",
        "--evidence",
        "人民日报  2020-05-10 第4版",
        "--by",
        "孙倩",
    )
    assert twice.exit_code == 1 and "同一事项不重复计分" in twice.output
    wrong = run(
        env, "award", "桃城区", "--kind", "media", "--level", "national", "--date", "2020-05-11", "--evidence", "x"
    )
    assert wrong.exit_code == 2
    unknown = run(
        env, "award", "衡水市", "--kind", "media", "--level", "city", "--date", "2020-05-11", "--evidence", "x"
    )
    assert unknown.exit_code == 2 and "没有名为 衡水市 的单位" in unknown.output
    assert run(env, "revoke", "1", "--reason", "重复登记", "--by", "王斐").exit_code == 0
    listed = run(env, "awards").stdout
    assert "桃城区 媒体报道·中央级媒体 人民日报" in listed and "media" not in listed and "central" not in listed
    [entry] = json.loads(run(env, "awards", "--json").stdout)
    assert (entry["unit"], entry["entered_by"], entry["revoked_by"], entry["revoke_reason"]) == (
        "桃城区",
        "孙倩",
        "王斐",
        "重复登记",
    )
    assert entry["revoked_at"] is not None
    again = run(env, "revoke", "1", "--reason", "x")
    assert again.exit_code == 1 and "已于" in again.output


ARTICLE = "{unit}第{number}篇稿件：本县开展助残日活动，走访慰问困难残疾人家庭。"  # a briefing's text, one each


def test_standings_count_briefings_and_entries(tmp_path, database_url):
    env = environment(tmp_path, database_url)
    mail = tmp_path / "mail"
    mail.mkdir()
    for number in range(9):  # 枣强县: 9 distinct articles in April, one sent twice
        raw = compose(
            "zqxcl@163.com",
            OFFICE,
            f"枣强县贫困残疾人服务工程专项信息（{number}）",
            datetime(2020, 4, 3 + number, 10, tzinfo=SHANGHAI),
            body=ARTICLE.format(unit="枣强县", number=number),
        ).as_bytes()
        (mail / f"{number}.eml").write_bytes(raw)
    duplicate = compose(
        "zqxcl@163.com",
        OFFICE,
        "转发：枣强县贫困残疾人服务工程专项信息（0）",
        datetime(2020, 4, 25, 10, tzinfo=SHANGHAI),
        body=ARTICLE.format(unit="枣强县", number=0),
    ).as_bytes()
    (mail / "dup.eml").write_bytes(duplicate)
    for number in range(7):  # 武邑县: only 7
        raw = compose(
            "wyxcl@163.com",
            OFFICE,
            f"武邑县贫困残疾人服务工程专项信息（{number}）",
            datetime(2020, 4, 3 + number, 10, tzinfo=SHANGHAI),
            body=ARTICLE.format(unit="武邑县", number=number),
        ).as_bytes()
        (mail / f"w{number}.eml").write_bytes(raw)
    assert run(env, "import", str(mail)).exit_code == 0
    assert (
        run(
            env,
            "award",
            "武邑县",
            "--kind",
            "innovation",
            "--level",
            "provincial",
            "--date",
            "2020-04-30",
            "--evidence",
            "省残联通报表扬",
        ).exit_code
        == 0
    )
    data = json.loads(run(env, "standings", "--month", "2020-04", "--json").stdout)
    rows = {row["unit"]: row for row in data["units"]}
    assert rows["枣强县"]["components"]["briefings"] == 2 and rows["枣强县"]["total"] == 2
    assert rows["武邑县"]["components"]["briefings"] == 0 and rows["武邑县"]["total"] == 5
    assert (rows["武邑县"]["rank"], rows["枣强县"]["rank"]) == (1, 2)
    assert {row["rank"] for unit, row in rows.items() if unit not in ("武邑县", "枣强县")} == {3}
    assert data["as_of"].startswith("2020-04-30T23:59:59")
    explained = run(env, "explain", "枣强", "--month", "2020-04")
    assert "简报信息：2 分" in explained.output and "邮件 #" in explained.output
    [(again, first)] = re.findall(
        r"邮件 #(\d+)（4月）的简报稿件此前已报送过（邮件 #(\d+) 等），不重复计数", explained.output
    )
    shown = json.loads(run(env, "show", again, "--json").stdout)
    assert shown["subject"].startswith("转发：") and json.loads(run(env, "show", first, "--json").stdout)[
        "subject"
    ] == ("枣强县贫困残疾人服务工程专项信息（0）")
    xlsx = tmp_path / "standings.xlsx"
    assert run(env, "standings", "--month", "2020-04", "--xlsx", str(xlsx)).exit_code == 0
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx).active
    assert [cell.value for cell in sheet[3]][:3] == [1, "武邑县", 5]
    assert run(env, "standings", "--month", "2020-13").exit_code == 2


def test_explain_says_a_decembers_figures_sent_in_january_do_not_count_for_the_end_of_the_year(tmp_path, database_url):
    """GIVEN 阜城县's November package on time and its December package sent on 8 January WHEN staff explain its
    December THEN the Q4 lines are November's figures (as of the end of December: those received by then), and a
    line says December's 附件2 came after the end of December and does not count, citing its mail."""
    from tests.test_year_boundary import package

    env = environment(tmp_path, database_url)
    mail = tmp_path / "mail"
    mail.mkdir()
    (mail / "11.eml").write_bytes(package("阜城县", "阜城县11月份报表", 11, datetime(2020, 11, 15, 9, tzinfo=SHANGHAI)))
    (mail / "12.eml").write_bytes(package("阜城县", "阜城县12月份报表", 12, datetime(2021, 1, 8, 10, tzinfo=SHANGHAI)))
    (mail / "12b.eml").write_bytes(
        package("阜城县", "阜城县12月份报表（更正）", 12, datetime(2021, 1, 9, 9, tzinfo=SHANGHAI))
    )
    assert run(env, "import", str(mail)).exit_code == 0
    december = json.loads(run(env, "search", "阜城县12月份报表", "--json", "--order", "newest").stdout)
    corrected, late = [hit["id"] for hit in december]
    explained = run(env, "explain", "阜城县", "--month", "2020-12").output
    for id_, said in (
        (late, "12月份附件2于1月8日 10:00 收到，晚于12月底，不计入以上完成数"),
        (corrected, "12月份附件2于1月9日 09:00 收到，晚于12月底，不计入以上完成数"),  # each late one is said
    ):
        assert said in explained and f"#{id_}" in explained.split(said, 1)[1].splitlines()[0], explained
    assert "截至12月底康复服务完成" in explained
