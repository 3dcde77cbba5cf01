"""A whole season of the 13 units' mail, April–December 2020, imported and scored end to end.

GIVEN the season of bot/demo/season in four department Maildirs and the staff entries of
tests/season_expected.py made with `mailroom award`
WHEN `mailroom import` archives it (on SQLite and on PostgreSQL)
THEN `mailroom standings` for June, September and December equals the hand-worked tables exactly, the
submission matrix shows the late and missing packages the season was built with, every month's briefing
count is the designed one, and the only honesty finding is 阜城县's 完成数 going down.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from click.testing import CliRunner, Result

from archive.db import Database
from archive.evidence import briefing_count, load_evidence, package_arrivals
from bot.cli.group import main
from bot.config import load_config
from bot.demo.season import WRITES_XLS, GeneratedMail, write_maildirs
from scoring.briefings import briefing_counts
from tests.conftest import ROOT
from tests.season_expected import BRIEFING_COUNTS, COMPONENTS, EXPECTED, MATRIX_CELLS, PACKAGE_EXCEPTIONS, STAFF_ENTRIES

CONFIG = ROOT / "config.example.toml"
REPORT_MONTHS = tuple(f"2020-{number:02d}" for number in range(4, 13))
BRIEFING_LINE = re.compile(r"(\d+)月报送简报信息 (\d+) 篇")


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(CONFIG), *args], env=env)


def import_season(tmp_path, database_url, mails: tuple[GeneratedMail, ...]) -> dict[str, str]:
    """The season archived and the staff entries made; returns the CLI's environment."""
    env = {"MAILROOM_DATABASE_URL": database_url, "MAILROOM_ARCHIVE_PATH": str(tmp_path / "archive")}
    write_maildirs(tmp_path / "mail", mails)
    result = run(env, "import", str(tmp_path / "mail"))
    assert result.exit_code == 0, result.output
    distinct = len({mail.raw for mail in mails})
    assert f"读取 {len(mails)} 封邮件：新归档 {distinct} 封，已在归档中 {len(mails) - distinct} 封" in result.output
    for award in STAFF_ENTRIES:
        entered = run(env, *award.args)
        assert entered.exit_code == award.exit_code, entered.output
    return env


def standings_table(env: dict[str, str], month: str) -> list[tuple[str, int, int, tuple[int, ...]]]:
    result = run(env, "standings", "--month", month, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["month"] == month
    return [
        (
            row["unit"],
            row["rank"],
            row["total"],
            tuple(row["components"][name] or 0 for name in COMPONENTS),
        )  # null: not yet scored, counts 0
        for row in data["units"]
    ]


def check_matrix(env: dict[str, str]) -> None:
    for month in REPORT_MONTHS:
        result = run(env, "matrix", "--month", month, "--json")
        assert result.exit_code == 0, result.output
        units = json.loads(result.stdout)["units"]
        statuses = {unit: package["status"] for unit, package in units.items()}
        assert statuses == {unit: PACKAGE_EXCEPTIONS.get((unit, month), "on_time") for unit in units}, month
        for (cell_month, unit, form), (status, arrival) in MATRIX_CELLS.items():
            if cell_month != month:
                continue
            cell = units[unit]["forms"][str(form)]
            assert cell["status"] == status, (month, unit, form, cell)
            if arrival is not None:
                assert datetime.fromisoformat(cell["arrival"]) == datetime.fromisoformat(arrival), (unit, form)


def check_briefing_counts(env: dict[str, str]) -> None:
    for unit, expected in BRIEFING_COUNTS.items():
        result = run(env, "explain", unit, "--month", "2020-11")
        assert result.exit_code == 0, result.output
        counts = {int(month): int(count) for month, count in BRIEFING_LINE.findall(result.output)}
        assert counts == dict(zip(range(4, 12), expected)), unit


def check_receipt_evidence(database_url: str) -> None:
    """What a receipt reads for one unit and month (not the whole archive) equals the whole archive's
    evidence for that unit and month: every package's arrivals and every month's briefing count, with the
    season's resent and shared articles."""
    config = load_config(CONFIG, environ={})
    db = Database(database_url)
    try:
        with db.session() as session:
            evidence = load_evidence(session)
            counts = briefing_counts(evidence.articles, config.plan("2020-04").calendar)
            for unit in (unit.name for unit in config.units):
                for month in REPORT_MONTHS:
                    assert package_arrivals(session, unit, month) == tuple(
                        a for a in evidence.arrivals if (a.unit, a.month) == (unit, month)
                    ), (unit, month)
                    assert (
                        briefing_count(session, unit, month, config.plan(month).calendar)
                        == counts.get((unit, month), (0, ()))[0]
                    ), (unit, month)
    finally:
        db.dispose()


def check_honesty(env: dict[str, str]) -> None:
    """The season's registries match their 附件2 and no person is registered twice: one finding only."""
    findings = json.loads(run(env, "findings", "--json").stdout)
    assert [(finding["unit"], finding["kind"]) for finding in findings] == [("阜城县", "completion_decreased")]
    assert "由 60 降为 56" in findings[0]["message"]


def check_wps_files(mails: tuple[GeneratedMail, ...]) -> None:
    """饶阳县's October 附件7–8 are WPS .et files when xlwt is installed (the matrix cell of 2020-10 then
    shows an .et file read); without it the season writes .xlsx, and the cell shows only that."""
    october = [mail for mail in mails if mail.note.startswith("饶阳县 2020-10 package to 服务部")]
    assert [mail.files for mail in october] == [
        ("附件7.et", "附件8.et") if WRITES_XLS else ("附件7.xlsx", "附件8.xlsx")
    ]


def test_season_scores_as_designed(tmp_path, database_url, season_mail):
    check_wps_files(season_mail)
    env = import_season(tmp_path, database_url, season_mail)
    assert {month: standings_table(env, month) for month in EXPECTED} == {
        month: list(rows) for month, rows in EXPECTED.items()
    }
    check_matrix(env)
    check_briefing_counts(env)
    check_receipt_evidence(database_url)
    check_honesty(env)
