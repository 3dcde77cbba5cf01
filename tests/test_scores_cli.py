"""Staff entries and the scoring commands over a real archive (SQLite and PostgreSQL)."""

import json
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
            body=f"第{number}篇",
        ).as_bytes()
        (mail / f"{number}.eml").write_bytes(raw)
    duplicate = compose(
        "zqxcl@163.com",
        OFFICE,
        "转发：枣强县贫困残疾人服务工程专项信息（0）",
        datetime(2020, 4, 25, 10, tzinfo=SHANGHAI),
        body="第0篇",
    ).as_bytes()
    (mail / "dup.eml").write_bytes(duplicate)
    for number in range(7):  # 武邑县: only 7
        raw = compose(
            "wyxcl@163.com",
            OFFICE,
            f"武邑县贫困残疾人服务工程专项信息（{number}）",
            datetime(2020, 4, 3 + number, 10, tzinfo=SHANGHAI),
            body=f"第{number}篇",
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
    xlsx = tmp_path / "standings.xlsx"
    assert run(env, "standings", "--month", "2020-04", "--xlsx", str(xlsx)).exit_code == 0
    from openpyxl import load_workbook

    sheet = load_workbook(xlsx).active
    assert [cell.value for cell in sheet[3]][:3] == [1, "武邑县", 5]
    assert run(env, "standings", "--month", "2020-13").exit_code == 2
