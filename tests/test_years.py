"""Year after year: each month scored under the plan of its year, months no plan covers refused everywhere,
and a closed year's figures kept as they were.

GIVEN the demo season (2020) and a generated 2021 quarter (April–June: other targets, other rules, a deadline
on the 15th) archived together, under a config holding both plans
THEN every 2020 figure is what the one-year config gives and what tests/season_expected.py worked out, the
2021 quarter scores as its own plan's arithmetic says, a month no plan covers is refused by each command and
page and gets no reminder or digest, and 2020, once closed, shows its kept figures after its targets are
edited, with the difference beside them, in every command and page and in its digest.
"""

from __future__ import annotations

import dataclasses
import email
import json
import re
from datetime import datetime
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook
from sqlalchemy import func, select

from archive.db import Database
from archive.evidence import load_evidence
from archive.models import JobRun, OutboxMail
from bot.cli.group import main
from bot.config import Config, load_config
from bot.daemon.scheduled import due_jobs, monthly_jobs, next_time
from bot.daemon.serve import run_due_jobs
from bot.demo.season import PLANS, SHANGHAI, Spec, load_units, mails_of, month_figures, write_maildirs
from bot.demo.season.files import article_docx, form_file
from bot.demo.season.sheets import organisation
from bot.outgoing.digest import render_digest
from bot.outgoing.digest_mail import prepare_digest
from bot.outgoing.reminders import queue_reminders
from bot.services.scores import compute_standings, month_matrix
from bot.web.app import create_app
from parsers.errors import InputError, MailroomError
from tests.conftest import ROOT, example_data, make_config, with_next_year
from tests.season_expected import COMPONENTS, EXPECTED, STAFF_ENTRIES
from tests.test_digest import drawn_ranking
from tests.webapp import add_accounts, log_in

# The 2021 plan: other targets for three units, and its own rules and deadline.
TARGETS_2021 = {
    "桃城区": {"rehab": 200, "devices": 184},
    "枣强县": {"rehab": 500, "devices": 115},
    "高新区": {"rehab": 20},
}
RULES_2021 = {
    "task_points": 2,
    "on_time_points": 10,
    "on_time_deduction": 4,
    "briefings_per_month": 4,
    "briefing_points": 1,
}
DEADLINE_2021 = 15
YEAR_TABLES = (
    "\n[year.2021.scoring]\n"
    + "".join(f"{key} = {value}\n" for key, value in RULES_2021.items())
    + f"\n[year.2021.deadline]\nday = {DEADLINE_2021}\n"
)
WITHOUT_SUMMARY = "高新区"  # sends no 附件2 in 2021; its December 2020 附件2 arrives in January instead
QUARTER = (4, 5, 6)
OUTSIDE = ("2021-03", "2020-03", "2019-12", "2022-01")
COVERED = "计划覆盖 2020年4月至2020年12月、2021年4月至2021年12月"


# ---------------------------------------------------------------------------------------------
# The configs and the 2021 quarter


def config_text(
    targets_2021: dict[str, dict[str, int]],
    edited_2020: dict[str, dict[str, int]] | None = None,
    outbox: Path | None = None,
) -> str:
    """config.example.toml with a 2021 plan beside 2020's (targets by year, [year.2021.…]); `edited_2020`
    changes some of 2020's targets; mail goes to the `outbox` folder."""
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^year = 2020 .*$", "years = [2020, 2021]", text)
    text = text.replace("reminder_day = 17", "reminder_day = 12")  # before 2021's deadline of the 15th
    units = {unit["name"]: unit["targets"] for unit in example_data()["unit"]}

    def by_year(match: re.Match) -> str:
        name = match.group(1)
        lines = []
        for year, targets in ((2020, (edited_2020 or {}).get(name)), (2021, targets_2021.get(name))):
            written = units[name] | (targets or {})
            lines.append(f"targets.{year} = {{ " + ", ".join(f"{k} = {v}" for k, v in written.items()) + " }")
        return match.group(0).split("targets = ")[0] + "\n".join(lines)

    text = re.sub(r'name = "([^"]+)"\n(?:(?!\[\[).*\n)*?targets = \{[^}]*\}', by_year, text)
    if outbox is not None:
        text = text.replace('transport = "smtp"', 'transport = "folder"').replace(
            'folder = "var/outbox"', f'folder = "{outbox}"'
        )
    return text + YEAR_TABLES


def quarter_2021() -> list:
    """The 2021 quarter: each unit's April–June package in one mail on its usual day (plan.day, 10:00; late
    under 2021's deadline of the 15th when that is after it), figures on the design's curve, the month only
    in the subject without a year and in the workbooks' titles; half its 2020 briefings each month; and
    高新区's December 2020 附件2 arriving on 2021-01-08, without which it sends no 附件2 in 2021."""
    units, boxes = load_units()
    specs = []
    for plan in PLANS:
        unit = dataclasses.replace(units[plan.name], targets=units[plan.name].targets | TARGETS_2021.get(plan.name, {}))
        sender = f"{organisation(plan.name)} <{unit.sender}>"
        forms = (1, 3, 4, 5, 6, 7, 8) if plan.name == WITHOUT_SUMMARY else tuple(range(1, 9))
        for month in QUARTER:
            arrival = datetime(2021, month, plan.day, 10, tzinfo=SHANGHAI)
            figures = month_figures(plan, month, as_sent=False)
            files = tuple(
                (f"附件{form}.{extension}", data)
                for form in forms
                for extension, data in [form_file(plan, unit, month, form, figures, arrival, 2021, "xlsx")]
            )
            specs.append(
                Spec(
                    sender,
                    boxes["jjb"],
                    f"{plan.name}{month}月份目标任务进展情况及附件",
                    arrival,
                    f"{plan.name} 2021-{month:02d} package",
                    files,
                )
            )
            for number in range(plan.briefings[month - 4] // 2):
                when = datetime(2021, month, 2 + number, 9, tzinfo=SHANGHAI)
                specs.append(
                    Spec(
                        sender,
                        boxes["bgs"],
                        f"{plan.name}贫困残疾人服务工程专项信息",
                        when,
                        f"{plan.name} 2021-{month:02d} article {number}",
                        (article_docx(plan.name, month, number, when, 2021),),
                        kind="briefing",
                    )
                )
    gaoxin = next(plan for plan in PLANS if plan.name == WITHOUT_SUMMARY)
    late = datetime(2021, 1, 8, 10, tzinfo=SHANGHAI)
    december = form_file(gaoxin, units[gaoxin.name], 12, 2, month_figures(gaoxin, 12), late, 2021, "xlsx")
    specs.append(
        Spec(
            f"{organisation(gaoxin.name)} <{units[gaoxin.name].sender}>",
            boxes["jjb"],
            "高新区12月份目标任务完成情况汇总表（补报）",
            late,
            "高新区 2020-12 附件2 sent in January",
            ((f"附件2.{december[0]}", december[1]),),
        )
    )
    return [mail for spec in specs for mail in mails_of(spec)]


def expected_2021_june() -> dict[str, tuple[int, tuple[int, ...]]]:
    """{unit: (total, components)} of 2021-06 worked out from the quarter's design and 2021's rules: no staff
    entries, Q3 and Q4 not yet scored."""
    units, _ = load_units()
    rules, found = RULES_2021, {}
    for plan in PLANS:
        targets = units[plan.name].targets | TARGETS_2021.get(plan.name, {})
        june = month_figures(plan, 6, as_sent=False)
        earned = sum(
            targets.get(task, 0) == 0 or (plan.name != WITHOUT_SUMMARY and june[task] >= targets[task] / 2)
            for task in ("rehab", "devices", "rural_training", "day_care", "barrier_free")
        )
        bad_months = 3 if plan.name == WITHOUT_SUMMARY or plan.day > DEADLINE_2021 else 0
        on_time = max(0, rules["on_time_points"] - rules["on_time_deduction"] * bad_months)
        briefings = sum(plan.briefings[month - 4] // 2 >= rules["briefings_per_month"] for month in QUARTER)
        components = (rules["task_points"] * earned, on_time, 0, 0, 0, briefings * rules["briefing_points"], 0, 0)
        found[plan.name] = (sum(components), components)
    return found


def run(path: Path, env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(path), *args], env=env)


def cli_json(path: Path, env: dict[str, str], *args: str) -> dict:
    result = run(path, env, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def rows(data: dict) -> list[tuple[str, int, int, tuple[int, ...]]]:
    return [
        (
            row["unit"],
            row["rank"],
            row["total"],
            tuple(row["components"][name] or 0 for name in COMPONENTS),
        )  # null: not yet scored, counts 0
        for row in data["units"]
    ]


# ---------------------------------------------------------------------------------------------
# The season and the 2021 quarter together


def test_each_year_is_scored_under_its_own_plan_and_a_closed_year_keeps_its_figures(
    tmp_path, database_url, season_mail
):
    two_years = tmp_path / "two-years.toml"
    two_years.write_text(config_text(TARGETS_2021, outbox=tmp_path / "outbox"), encoding="utf-8")
    one_year = ROOT / "config.example.toml"
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}
    write_maildirs(tmp_path / "mail", [*season_mail, *quarter_2021()])
    imported = run(two_years, env, "import", str(tmp_path / "mail"))
    assert imported.exit_code == 0, imported.output
    for award in STAFF_ENTRIES:
        assert run(two_years, env, *award.args).exit_code == award.exit_code

    # 2020: what the one-year config gives, to every point and cell, and what the season was designed to score.
    for month, expected in EXPECTED.items():
        assert rows(cli_json(two_years, env, "standings", "--month", month)) == list(expected), month
    check_2020_unchanged(load_config(one_year, environ=env), load_config(two_years, environ=env), database_url)

    # 2021: its own targets, rules and deadline; December 2020's 附件2 sent in January is no 2021 figure.
    june = {row[0]: (row[2], row[3]) for row in rows(cli_json(two_years, env, "standings", "--month", "2021-06"))}
    assert june == expected_2021_june()
    matrix = cli_json(two_years, env, "matrix", "--month", "2021-05")["units"]
    assert {unit: package["status"] for unit, package in matrix.items()} == {
        plan.name: "missing" if plan.name == WITHOUT_SUMMARY else "late" if plan.day > DEADLINE_2021 else "on_time"
        for plan in PLANS
    }
    explained = run(two_years, env, "explain", "高新区", "--month", "2021-06").output
    assert "截至6月底未收到附件2，康复服务不计分" in explained
    assert cli_json(two_years, env, "matrix", "--month", "2020-12")["units"]["高新区"]["status"] == "on_time"

    check_outside_every_plan_refused(two_years, env)
    check_closing(tmp_path, two_years, env)


def check_2020_unchanged(one: Config, two: Config, database_url: str) -> None:
    """Every 2020 standing with every point behind it (the explanations), every matrix cell and the digest's
    text are the same under the one-year config and the two-year one."""
    now = datetime(2021, 7, 1, tzinfo=SHANGHAI)
    db = Database(database_url)
    try:
        with db.session() as session:
            evidence = load_evidence(session)
            for month in one.plans.months():
                assert compute_standings(one, evidence, month) == compute_standings(two, evidence, month), month
                assert month_matrix(one, evidence, month, now) == month_matrix(two, evidence, month, now), month
            for month in ("2020-06", "2020-12"):
                assert render_digest(prepare_digest(one, session, month, now).digest) == render_digest(
                    prepare_digest(two, session, month, now).digest
                ), month
    finally:
        db.dispose()


def check_outside_every_plan_refused(path: Path, env: dict[str, str]) -> None:
    for month in OUTSIDE:
        for args in (("standings",), ("matrix",), ("explain", "景县"), ("digest", "--out", "x"), ("remind",)):
            result = run(path, env, *args, "--month", month)
            assert result.exit_code == 2, (args, month, result.output)
            assert result.output.strip().splitlines() == [
                f"用法错误 (usage error): {month} 不在任何年度计划内（{COVERED}）"
            ]


def check_closing(tmp_path: Path, path: Path, env: dict[str, str]) -> None:
    """2020 closes once December's digest has gone out; after 景县's 2020 target is edited, every command and
    page still shows what was kept, and says what the edit would change."""
    refused = run(path, env, "year", "close", "2020", "--by", "孙倩")
    assert refused.exit_code == 1 and "最后一期月度排名通报（2020-12）尚未发出" in refused.output
    assert run(path, env, "digest", "--month", "2020-12", "--send").exit_code == 0
    closed = run(path, env, "year", "close", "2020", "--by", "孙倩")
    assert closed.exit_code == 0 and "2020 年已结账：2020-04 至 2020-12" in closed.output, closed.output
    assert "不能重复结账" in run(path, env, "year", "close", "2020").output
    assert run(path, env, "year", "close", "2019").exit_code == 2
    kept_matrix = cli_json(path, env, "matrix", "--month", "2020-07")

    edited = tmp_path / "edited.toml"
    edited.write_text(config_text(TARGETS_2021, {"景县": {"rehab": 500}}, tmp_path / "outbox"), encoding="utf-8")
    standings = cli_json(edited, env, "standings", "--month", "2020-12")
    assert rows(standings) == list(EXPECTED["2020-12"])  # as kept
    # 景县's 康复服务 target 233 → 500: September's 233 no longer reaches 100% (see season_expected), 76 → 73,
    # below 武强县 (75) and 武邑县 (74), who each move up a place.
    change = "景县 总分 76 → 73，名次 8 → 11，三季度任务完成 15 → 12"
    assert [(item["unit"], item["change"]) for item in standings["closed"]["changes"]] == [
        ("景县", change),
        ("武强县", "武强县 名次 10 → 9"),
        ("武邑县", "武邑县 名次 11 → 10"),
    ]
    assert standings["closed"]["closed_by"] == "孙倩"
    text = run(edited, env, "standings", "--month", "2020-12").output
    assert "2020 年已于" in text and "由 孙倩 结账" in text and f"重新计算，结果会不同：{change}" in text
    book = tmp_path / "standings-2020-12.xlsx"
    assert run(edited, env, "standings", "--month", "2020-12", "--xlsx", str(book)).exit_code == 0
    below = [str(row[0]) for row in load_workbook(book).active.iter_rows(min_row=16, values_only=True)]
    assert any("由 孙倩 结账" in line for line in below) and any(f"结果会不同：{change}" in line for line in below)
    explained = run(edited, env, "explain", "景县", "--month", "2020-12").output
    assert "景县 2020-12：总分 76，第 8 名" in explained and change in explained
    assert "武强县" not in explained  # only 景县's own changes
    matrix = cli_json(edited, env, "matrix", "--month", "2020-07")
    assert matrix == kept_matrix and matrix["closed"]["changes"] == []  # targets change no matrix cell
    listed = run(edited, env, "year", "list").output
    assert "2020 年：2020-04 至 2020-12，13 个单位" in listed and "此后该年的配置已改动" in listed
    assert "2021 年：2021-04 至 2021-12，13 个单位" in listed and "未结账" in listed

    check_closed_digest(tmp_path, edited, env, change)

    config = load_config(edited, environ=env)
    from bot.daemon.deps import open_deps

    deps = open_deps(config)
    try:
        add_accounts(deps)
        client = create_app(config, deps, secret_key="years").test_client()
        assert log_in(client, "孙倩").status_code == 302
        page = client.get("/standings?month=2020-12").get_data(as_text=True)
        assert 'class="note error" id="kept"' in page and change in page
        unit_page = client.get("/unit/景县?month=2020-12").get_data(as_text=True)
        assert "总分 76，第 8 名" in unit_page and change in unit_page
        assert 'class="note ok" id="kept"' in client.get("/matrix?month=2020-07").get_data(as_text=True)
    finally:
        deps.close()


def check_closed_digest(tmp_path: Path, path: Path, env: dict[str, str], change: str) -> None:
    """December's digest, written again after the edit, shows what `standings` shows: the kept figures,
    compared with November as kept, the same note of what today's figures would change, in its text, HTML,
    workbook and mail; the sections the closing did not keep say so. A closed month sent only now (November)
    goes out as kept too."""
    kept = {month: cli_json(path, env, "standings", "--month", month) for month in ("2020-11", "2020-12")}
    before = {row["unit"]: row for row in kept["2020-11"]["units"]}
    ranking = []
    for row in kept["2020-12"]["units"]:
        gained, moved = row["total"] - before[row["unit"]]["total"], before[row["unit"]]["rank"] - row["rank"]
        ranking.append(
            f"{row['rank']}. {row['unit']} {row['total']} 分（较上月 {f'{gained:+d}' if gained else '持平'}，名次 "
            f"{'不变' if not moved else f'↑{moved}' if moved > 0 else f'↓{-moved}'}）"
        )
    assert "8. 景县 76 分（较上月 " in ranking[8]  # as kept (today: 73, 11th)
    out = tmp_path / "closed-digest"
    written = run(path, env, "digest", "--month", "2020-12", "--out", str(out))
    assert written.exit_code == 0, written.output
    text = (out / "digest.txt").read_text(encoding="utf-8")
    assert [line.split("：")[0] for line in text.splitlines() if re.match(r"\d+\. ", line)] == ranking
    note = f"重新计算，结果会不同：{change}"
    assert "由 孙倩 结账，以下为结账时保存的结果" in text and note in text
    assert text.count("结账时未保存此项，以下按现在的归档计算") == 3  # briefings, 附件2 figures, findings
    html = (out / "digest.html").read_text(encoding="utf-8")
    assert note in html and [bar[1::2] for bar in drawn_ranking(html)] == [
        (row["unit"], row["total"]) for row in kept["2020-12"]["units"]
    ]
    message = email.message_from_bytes((out / "digest.eml").read_bytes(), policy=policy.default)
    assert message.get_body(("plain",)).get_content() == text
    [workbook] = out.glob("*.xlsx")
    sheet = load_workbook(workbook)["排名"]
    table = list(sheet.iter_rows(min_row=3, max_row=15, values_only=True))
    assert [(row[0], row[1], row[2], row[-1]) for row in table] == [
        (row["rank"], row["unit"], row["total"], before[row["unit"]]["rank"]) for row in kept["2020-12"]["units"]
    ]
    assert any(note in str(cell.value) for cell in sheet["A"])

    sent = run(path, env, "digest", "--month", "2020-11", "--send")
    assert sent.exit_code == 0, sent.output
    [november] = [
        parsed
        for mail in (tmp_path / "outbox").glob("*-digest.eml")
        if (parsed := email.message_from_bytes(mail.read_bytes(), policy=policy.default))["Subject"].startswith(
            "2020年11月"
        )
    ]
    mailed = november.get_body(("plain",)).get_content()
    assert "由 孙倩 结账" in mailed and "重新计算，结果会不同：景县 总分" in mailed
    assert [line.split("：")[0].split(" 分")[0] for line in mailed.splitlines() if re.match(r"\d+\. ", line)] == [
        f"{row['rank']}. {row['unit']} {row['total']}" for row in kept["2020-11"]["units"]
    ]


# ---------------------------------------------------------------------------------------------
# Months no plan covers: refused by the pages, nothing done by the jobs


@pytest.fixture
def two_year_config(tmp_path, database_url) -> Config:
    data = with_next_year(example_data(), TARGETS_2021, scoring=RULES_2021, deadline={"day": DEADLINE_2021})
    return make_config(
        tmp_path,
        database_url,
        general=data["general"],
        unit=data["unit"],
        year=data["year"],
        schedule={**data["schedule"], "reminder_day": 12},
    )


def test_the_pages_offer_and_accept_only_months_a_plan_covers(two_year_config):
    from bot.daemon.deps import open_deps

    deps = open_deps(two_year_config)
    try:
        add_accounts(deps)
        clock = datetime(2021, 2, 10, 12, tzinfo=SHANGHAI)  # between the plans: the last covered month is shown
        app = create_app(two_year_config, dataclasses.replace(deps, clock=lambda: clock), secret_key="years")
        client = app.test_client()
        assert log_in(client, "孙倩").status_code == 302
        for month in OUTSIDE:
            for path in ("/standings", "/matrix", "/progress", "/unit/景县"):
                response = client.get(f"{path}?month={month}")
                assert response.status_code == 404, (path, month)
                assert f"{month} 不在任何年度计划内（{COVERED}）" in response.get_data(as_text=True)
        december = client.get("/standings").get_data(as_text=True)
        assert "2020年12月累计得分排名" in december
        assert 'href="?month=2021-04" rel="next">2021-04 →' in december and "2021-01" not in december
        assert 'min="2020-04" max="2021-12"' in december
        assert 'rel="prev"' not in client.get("/matrix?month=2020-04").get_data(as_text=True)
        assert 'rel="next"' not in client.get("/progress?month=2021-12").get_data(as_text=True)
        april = client.get("/matrix?month=2021-04").get_data(as_text=True)
        assert 'href="?month=2020-12" rel="prev"' in april and "2021-04-15 23:59:59" in april  # 2021's deadline
    finally:
        deps.close()


def test_the_reminder_and_digest_jobs_do_nothing_for_a_month_no_plan_covers(two_year_config, deps):
    config = two_year_config

    def mails() -> int:
        with deps.db.session() as session:
            return session.scalar(select(func.count()).select_from(OutboxMail))

    for month in OUTSIDE:
        year, number = map(int, month.split("-"))
        for day, hour in ((12, 9), (21, 10)):  # the reminders' and the digest's moments
            now = datetime(year, number, day, hour, 30, tzinfo=SHANGHAI)
            with deps.db.session() as session:
                assert due_jobs(config, session, now) == []
            run_due_jobs(config, dataclasses.replace(deps, clock=lambda now=now: now))
        with deps.db.session() as session, pytest.raises(InputError, match=f"{month} 不在任何年度计划内"):
            queue_reminders(config, session, month, datetime(year, number, 12, 9, tzinfo=SHANGHAI))
        with deps.db.session() as session, pytest.raises(InputError, match=f"{month} 不在任何年度计划内"):
            prepare_digest(config, session, month, datetime(year, number, 21, 9, tzinfo=SHANGHAI))
    assert mails() == 0
    with deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(JobRun)) == 0
    reminders, digest = monthly_jobs(config)
    after_2020 = datetime(2020, 12, 25, tzinfo=SHANGHAI)
    assert next_time(config, reminders, after_2020) == datetime(2021, 4, 12, 9, tzinfo=SHANGHAI)
    assert next_time(config, digest, after_2020) == datetime(2021, 4, 21, 9, tzinfo=SHANGHAI)
    april = datetime(2021, 4, 12, 9, 30, tzinfo=SHANGHAI)
    run_due_jobs(config, dataclasses.replace(deps, clock=lambda: april))
    with deps.db.session() as session:  # a covered month: 2021's 13 units reminded, under 2021's deadline
        reminders_sent = session.scalars(select(OutboxMail).where(OutboxMail.kind == "reminder")).all()
    assert len(reminders_sent) == 13 and all("截止4月15日" in mail.subject for mail in reminders_sent)


def test_a_year_is_not_closed_before_it_has_ended(config, deps):
    """GIVEN December's digest sent on the 21st WHEN staff close 2020 that day THEN it is refused, saying when
    they may: a corrected 附件2 or December's articles may still come and count."""
    from bot.services.years import close_plan_year

    with deps.db.session() as session, pytest.raises(MailroomError) as refused:
        close_plan_year(
            config, session, 2020, deps.recognizer.stamp, "孙倩", datetime(2020, 12, 21, 10, tzinfo=SHANGHAI)
        )
    assert str(refused.value).startswith("2020 年尚未结束（2020-12-31 23:59 截止），不能结账")


def test_a_plan_s_fingerprint_is_of_what_scores_it_not_of_how_its_mail_greets():
    """GIVEN the example configuration's 2020 plan WHEN fingerprinted THEN the hash the release of 2026-12-05
    (b307af8) computed for it, and the same with every unit's `addressee` changed: a year closed under that
    release was said, after an upgrade that added `addressee`, to have had its configuration changed since."""
    plan = load_config(ROOT / "config.example.toml", environ={}).plans.year(2020)
    assert plan.fingerprint == "0e94b825f1c3a31c"  # `year list` of a year closed by b307af8, the same file
    greeted = dataclasses.replace(plan, units=tuple(dataclasses.replace(u, addressee="某局") for u in plan.units))
    assert greeted.fingerprint == plan.fingerprint
    retargeted = dataclasses.replace(plan, units=(dataclasses.replace(plan.units[0], targets=()), *plan.units[1:]))
    assert retargeted.fingerprint != plan.fingerprint
