"""A closed year after it is closed: asked for by today's names, changed by staff, reminded, and its findings.

GIVEN 2020 closed (`mailroom year close 2020`) with 景县's and 阜城县's December packages in it (阜城县's
实用技术培训 going down from November to December: a 2020 finding) and 阜城县's 2021 附件2 going down too (a
2021 finding)
THEN
- 景县 renamed in place (name = "景州市", aliases = ["景县", …]) is found in 2020's kept figures by either
  name or an alias, shown by the name it was kept under, on the command line, the web pages and the digest;
  a unit not kept is answered in Chinese (exit 2, 404), never a KeyError or a 500;
- a correction, an award or a revocation touching 2020 says that 2020 is closed and its kept figures stay as
  they are, and its differences are said apart from today's changes; reminding for a 2020 month is refused;
- each month's digest shows its own plan year's findings only, and `mailroom findings` labels each by year;
- a correction that itself says --not-counted is not followed by a warning that the message still does not
  count (for any year).
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner, Result

from archive.corrections import add_correction
from bot.cli.group import main
from bot.config import load_config
from bot.demo.season import PLANS, SHANGHAI, Spec, load_units, mails_of, month_figures, write_maildirs
from bot.demo.season.files import form_file
from bot.services.decisions import rederive_report, still_not_counted
from bot.web.app import create_app
from tests.test_years import config_text
from tests.webapp import add_accounts, csrf_token, fill_archive, log_in

RENAMED = ('name = "景县"\naliases = ["景 县", "景州"]', 'name = "景州市"\naliases = ["景县", "景 县", "景州"]')
KEPT_AS = "结账后改名的单位仍按结账时的名称显示：景县（现名 景州市）。"
CLOSED_BLOCK = "已结账的 2020 年（"
KEPT_STAYS = "结账时保存的排名、得分说明和报送矩阵不会改变"
FINDING_2020 = "阜城县实用技术培训累计完成数由 70 降为 56"
FINDING_2021 = "阜城县康复服务累计完成数由 40 降为 30"


def package(unit: str, month: int, year: int, figures: dict[str, int], forms: tuple[int, ...]) -> list:
    """One mail to 教就部 carrying `forms` of `unit`'s package for `month` of `year`, on the 10th (on time)."""
    plan = next(plan for plan in PLANS if plan.name == unit)
    info = load_units()[0][unit]
    units, boxes = load_units()
    when = datetime(year, month, 10, 10, tzinfo=SHANGHAI)
    files = tuple(
        (f"附件{form}.{extension}", data)
        for form in forms
        for extension, data in [form_file(plan, info, month, form, figures, when, year, "xlsx")]
    )
    return mails_of(
        Spec(
            units[unit].sender,
            boxes["jjb"],
            f"{unit}{month}月份目标任务进展情况及附件",
            when,
            f"{unit} {year}-{month}",
            files,
        )
    )


def season() -> list:
    fucheng = next(plan for plan in PLANS if plan.name == "阜城县")
    jingxian = next(plan for plan in PLANS if plan.name == "景县")
    every = tuple(range(1, 11))
    november = month_figures(fucheng, 11) | {"rural_training": 70}
    december = month_figures(fucheng, 12) | {"rural_training": 56}  # 70 → 56: a 2020 finding
    return [
        *package("阜城县", 11, 2020, november, every),
        *package("阜城县", 12, 2020, december, every),
        *package("景县", 12, 2020, month_figures(jingxian, 12), every),
        *package("阜城县", 4, 2021, month_figures(fucheng, 4) | {"rehab": 40}, (2,)),
        *package("阜城县", 5, 2021, month_figures(fucheng, 5) | {"rehab": 30}, (2,)),  # a 2021 finding
    ]


def cli(path: Path, env: dict[str, str], *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, ["--config", str(path), *args], env=env)
    assert result.exit_code == code, (args, result.output)
    return result


def message_id(path: Path, env: dict[str, str], unit: str, month: str) -> int:
    found = json.loads(cli(path, env, "search", "--unit", unit, "--month", month, "--kind", "report", "--json").stdout)
    [hit] = found["results"] if isinstance(found, dict) else found
    return hit["id"]


def test_a_closed_year_is_asked_for_by_any_name_changed_on_record_and_reminded_never(tmp_path, database_url):
    two_years = tmp_path / "two-years.toml"
    two_years.write_text(config_text({}, outbox=tmp_path / "outbox"), encoding="utf-8")
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}
    write_maildirs(tmp_path / "mail", season())
    cli(two_years, env, "import", str(tmp_path / "mail"))
    cli(two_years, env, "digest", "--month", "2020-12", "--send")
    cli(two_years, env, "year", "close", "2020", "--by", "孙倩")

    check_findings_by_year(tmp_path, two_years, env)
    check_changes_to_a_closed_year(two_years, env)

    renamed = tmp_path / "renamed.toml"
    text = two_years.read_text(encoding="utf-8")
    assert RENAMED[0] in text
    renamed.write_text(text.replace(*RENAMED), encoding="utf-8")
    cli(renamed, env, "rederive")  # 景县's mail is 景州市's now
    check_renamed_unit(tmp_path, renamed, env)
    check_pages(renamed, env)


def check_findings_by_year(tmp_path: Path, path: Path, env: dict[str, str]) -> None:
    """Each digest shows its own year's findings; `findings` says each one's year."""
    for month, shown, hidden in (("2020-12", FINDING_2020, FINDING_2021), ("2021-05", FINDING_2021, FINDING_2020)):
        out = tmp_path / f"digest-{month}"
        cli(path, env, "digest", "--month", month, "--out", str(out))
        section = (out / "digest.txt").read_text(encoding="utf-8").split("五、数据核查发现")[1]
        assert shown in section and hidden not in section, month
    april = tmp_path / "digest-2021-04"  # the 2021 finding not yet (its second 附件2 comes in May), 2020's never
    cli(path, env, "digest", "--month", "2021-04", "--out", str(april))
    section = (april / "digest.txt").read_text(encoding="utf-8").split("五、数据核查发现")[1]
    assert "阜城县" not in section and FINDING_2020 not in (april / "digest.html").read_text(encoding="utf-8")
    listed = json.loads(cli(path, env, "findings", "--json").stdout)
    years = {finding["message"].split("（")[0]: finding["year"] for finding in listed}
    assert years == {FINDING_2020: 2020, FINDING_2021: 2021}
    text = cli(path, env, "findings").stdout.splitlines()
    assert text[0] == "2020 年（1 条）：" and FINDING_2020 in text[1]
    assert text[2] == "2021 年（1 条）：" and FINDING_2021 in text[3]


def check_changes_to_a_closed_year(path: Path, env: dict[str, str]) -> None:
    """A correction and an award touching 2020 are recorded, and say that 2020's kept figures stay as they are;
    a 2021 one says nothing of it; reminding for a 2020 month is refused, a dry run too."""
    kept = cli(path, env, "standings", "--month", "2020-12", "--json").stdout
    december = message_id(path, env, "阜城县", "2020-12")
    corrected = cli(path, env, "correct", str(december), "--not-counted", "--reason", "草稿", "--by", "孙倩").stdout
    lines = corrected.splitlines()
    assert "未结账月份的报送情况已改变 0 处" in lines and "未结账月份的累计得分已改变 0 处" in lines, corrected
    [block] = [line for line in lines if line.startswith(CLOSED_BLOCK)]
    assert "由 孙倩 结账）" in block and KEPT_STAYS in block and "查看该年时会注明" in block
    every = "、".join(f"附件{form}" for form in range(1, 11))
    assert f"\n  阜城县 2020-12 {every}：按时 → 未报\n" in corrected, corrected
    assert lines.index(block) > lines.index("未结账月份的累计得分已改变 0 处")
    assert any(line.startswith("注意：2020 年已于 ") and "不会因这次更正而改变" in line for line in lines), corrected
    assert "仍不计分" not in corrected  # staff said so: no warning that it still does not count
    assert cli(path, env, "standings", "--month", "2020-12", "--json").stdout != kept  # the difference is said
    assert (
        json.loads(cli(path, env, "standings", "--month", "2020-12", "--json").stdout)["units"]
        == json.loads(kept)["units"]
    )  # beside the kept figures, never in them

    award = cli(
        path,
        env,
        "award",
        "景县",
        "--kind",
        "media",
        "--level",
        "city",
        "--date",
        "2020-12-15",
        "--evidence",
        "衡水日报",
    ).stdout
    assert award.startswith("已登记 #1：景县 市级媒体 2020-12-15")
    assert "注意：2020 年已于" in award and "不会因这条登记而改变" in award
    revoked = cli(path, env, "revoke", "1", "--reason", "登错", "--by", "孙倩").stdout
    assert "不会因撤销这条登记而改变" in revoked
    later = cli(
        path, env, "award", "景县", "--kind", "media", "--level", "city", "--date", "2021-04-15", "--evidence", "日报"
    ).stdout
    assert later.startswith("已登记 #2") and "结账" not in later

    for args in (("--dry-run",), ("--after-deadline", "--dry-run"), ("--after-deadline",)):
        refused = cli(path, env, "remind", "--month", "2020-12", *args, code=2)
        assert refused.output.strip() == (
            refused.output.strip().split("2020-12 属于")[0]
            + "2020-12 属于已结账的 2020 年（"
            + refused.output.split("（", 1)[1].split("）", 1)[0]
            + "），不再为该月催报：结账时保存的排名和报送情况不会再改变"
        )
        assert (
            refused.output.startswith("用法错误 (usage error): 2020-12 属于已结账的 2020 年")
            and "由 孙倩 结账" in refused.output
        )
    assert "将提醒" in cli(path, env, "remind", "--month", "2021-05", "--dry-run").stdout


def check_renamed_unit(tmp_path: Path, path: Path, env: dict[str, str]) -> None:
    """景县 renamed 景州市 after 2020 was closed: every name finds it in 2020, shown as 景县; today's figures
    compare with it under that name; a unit that was not kept is refused in Chinese."""
    kept = {
        row["unit"]: row
        for row in json.loads(cli(path, env, "standings", "--month", "2020-12", "--json").stdout)["units"]
    }
    assert "景县" in kept and "景州市" not in kept
    closed = json.loads(cli(path, env, "standings", "--month", "2020-12", "--json").stdout)["closed"]
    assert closed["renamed"] == [{"unit": "景县", "now": "景州市"}]
    for name in ("景州市", "景县", "景州", "景 县"):
        explained = cli(path, env, "explain", name, "--month", "2020-12").stdout
        assert explained.startswith(f"景县 2020-12：总分 {kept['景县']['total']}，第 {kept['景县']['rank']} 名"), name
        assert KEPT_AS in explained and "计划内" not in explained, explained
    refused = cli(path, env, "explain", "衡水市", "--month", "2020-12", code=2)
    assert refused.output.startswith("用法错误 (usage error): 衡水市 不在 2020 年结账时保存的结果内（该年的单位：")
    assert "景县" in refused.output and "内部错误" not in refused.output
    standings = cli(path, env, "standings", "--month", "2020-12").stdout
    assert KEPT_AS in standings and "已不在该年计划内" not in standings and "结账时不在该年计划内" not in standings
    matrix = cli(path, env, "matrix", "--month", "2020-12").stdout
    assert "已不在该年计划内" not in matrix and re.search(r"^景县 ", matrix, re.M)
    out = tmp_path / "renamed-digest"
    cli(path, env, "digest", "--month", "2020-12", "--out", str(out))
    text = (out / "digest.txt").read_text(encoding="utf-8")
    assert [line for line in text.splitlines() if "景州市" in line] == [KEPT_AS]
    assert "景县" in text.split("三、")[1]  # the briefings and 附件2 figures too, under the kept name
    assert "2021-04" in cli(path, env, "explain", "景州市", "--month", "2021-04").stdout  # 2021: today's name


def check_pages(path: Path, env: dict[str, str]) -> None:
    from bot.daemon.deps import open_deps

    config = load_config(path, environ=env)
    deps = open_deps(config)
    try:
        add_accounts(deps)
        now = datetime(2021, 6, 1, 10, tzinfo=SHANGHAI)
        client = create_app(config, dataclasses.replace(deps, clock=lambda: now), secret_key="closed").test_client()
        assert log_in(client, "孙倩").status_code == 302
        for name in ("景州市", "景县", "景州"):
            response = client.get(f"/unit/{name}?month=2020-12")
            page = response.get_data(as_text=True)
            assert response.status_code == 200, page[:500]
            assert "<h1>景县 · 2020年12月" in page and KEPT_AS in page and "完成进度" in page
        missing = client.get("/unit/衡水市?month=2020-12")
        assert missing.status_code == 404 and "衡水市 不在 2020 年结账时保存的结果内" in missing.get_data(as_text=True)
        matrix = client.get("/matrix?month=2020-12")
        html = matrix.get_data(as_text=True)
        assert (
            matrix.status_code == 200
            and 'data-unit="景县" data-month="2020-12"' in html
            and "景州市" not in html.replace(KEPT_AS, "")
        )
        progress = client.get("/progress?month=2020-12").get_data(as_text=True)
        assert "景县" in progress and "景州市" not in progress
        assert "景州市" in client.get("/progress?month=2021-04").get_data(as_text=True)
        findings = client.get("/findings").get_data(as_text=True)
        # 2020's is gone with the December package staff corrected not to count
        assert re.search(r"<td>2021 年</td>\s*<td>阜城县</td>", findings) and "<td>2020 年</td>" not in findings

        token = csrf_token(client.get("/entries").get_data(as_text=True))
        client.post(
            "/entries",
            data={
                "csrf_token": token,
                "unit": "景县",
                "kind_level": "media:city",
                "date": "2020-11-02",
                "evidence": "衡水晚报",
            },
        )
        entries = client.get("/entries").get_data(as_text=True)
        assert "已登记 #3：景州市" in entries and "不会因这条登记而改变" in entries
        with deps.db.session() as session:
            from sqlalchemy import select

            from archive.models import Message

            jingxian = session.scalar(
                select(Message.id).where(Message.unit == "景州市", Message.month == "2020-12", Message.kind == "report")
            )
        token = csrf_token(client.get("/queue").get_data(as_text=True))
        client.post(
            "/corrections",
            data={"csrf_token": token, "message_id": str(jingxian), "counted": "no", "reason": "草稿"},
        )
        queue = client.get("/queue").get_data(as_text=True)
        assert CLOSED_BLOCK in queue and "不会因这次更正而改变" in queue and "未结账月份的报送情况已改变 0 处" in queue
        assert "仍不计分" not in queue
    finally:
        deps.close()


def test_a_correction_to_not_counted_warns_of_nothing(config, deps):
    """GIVEN 枣强县's package from its registered address WHEN staff correct it --not-counted THEN nothing
    says it "still" does not count (staff asked for that). A package from a stranger's address corrected to
    枣强县 is warned of (its sender is not the unit's) until staff say it is not to count either."""
    from tests.webapp import _message, store_one

    archive = fill_archive(deps)
    stranger = store_one(
        deps,
        _message(
            "2851736642@qq.com",
            "4月份附件2",
            datetime(2020, 4, 16, 10, tzinfo=SHANGHAI),
            "见附件",
            ("summary-unit-row-only.xlsx",),
        ),
    )
    now = datetime(2020, 5, 1, tzinfo=SHANGHAI)

    def corrected(message_id: int, **changes) -> str | None:
        with deps.db.session() as session:
            add_correction(session, message_id, "核实", "孙倩", plans=config.plans, **changes)
            session.commit()
        rederive_report(config, deps.intake, now, [message_id], True, False, "核实")
        with deps.db.session() as session:
            return still_not_counted(session, message_id, "请再次更正并加 --counted")

    assert corrected(archive.package, counted=False) is None
    warning = corrected(stranger, unit="枣强县")
    assert warning == (
        f"注意：邮件 #{stranger} 仍不计分：发件人 2851736642@qq.com 不是枣强县登记的报送邮箱。"
        "如经核实应计分，请再次更正并加 --counted"
    )
    assert corrected(stranger, counted=False) is None  # replaces it: 枣强县's, not counted, as staff say
