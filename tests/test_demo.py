"""The main job's demo: the whole season of bot/demo/season in four Maildirs, archived, recognised and scored.

GIVEN `write_demo` (the demo config, its mailboxes all Maildirs, and every mail of the season)
WHEN one poll reads them
THEN every mail file is archived (a copy Cc'd to a second department as the message already archived),
each message is recognised as the kind the season means it to be, and the December standings are those
of tests/season_expected.py without the staff entries, which the demo never makes.

SQLite only: writing the demo and one poll take ~30 s. The same season on PostgreSQL, through the same
ingest, is the PostgreSQL half of tests/test_season.py.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest
from click.testing import CliRunner

from bot.cli.group import main
from bot.config import load_config
from bot.daemon.deps import open_deps
from bot.daemon.poll import poll_once
from bot.demo.folder import write_demo
from tests.season_expected import COMPONENTS, EXPECTED

Row = tuple[str, int, int, tuple[int, ...]]
# The components only staff entries (`mailroom award`, STAFF_ENTRIES) earn.
STAFF_COMPONENTS = ("media", "innovation")


def without_staff_entries(rows: tuple[Row, ...], unit_order: list[str]) -> list[Row]:
    """The hand-worked rows with the staff entries' points taken out, ranked again as the standings rank:
    by total, ties sharing a rank and keeping the config's order of units."""
    staff = [COMPONENTS.index(name) for name in STAFF_COMPONENTS]
    rows_left = []
    for unit, _, total, components in rows:
        points = sum(components[index] for index in staff)
        kept = tuple(0 if index in staff else value for index, value in enumerate(components))
        rows_left.append((unit, total - points, kept))
    rows_left.sort(key=lambda row: (-row[1], unit_order.index(row[0])))
    ranked: list[Row] = []
    for position, (unit, total, components) in enumerate(rows_left, start=1):
        rank = ranked[-1][1] if ranked and ranked[-1][2] == total else position
        ranked.append((unit, rank, total, components))
    return ranked


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_demo_season_is_archived_recognised_and_scored(tmp_path, database_url, season_mail):
    directory = tmp_path / "demo"
    _, written = write_demo(directory)
    config = load_config(directory / "config.toml", environ={"MAILROOM_DATABASE_URL": database_url})
    assert {box.source for box in config.mailboxes} == {"maildir"}
    folders = {box.address: box.path for box in config.mailboxes}
    in_maildirs = Counter((path.parent.parent, path.read_bytes()) for path in directory.glob("mail/*/new/*"))
    assert written == len(season_mail)
    assert in_maildirs == Counter((folders[mail.mailbox_address], mail.raw) for mail in season_mail)

    deps = open_deps(config)
    try:
        report = poll_once(config, deps)
    finally:
        deps.close()
    outcomes = [outcome for box in report.mailboxes for outcome in box.outcomes]
    meant = {hashlib.sha256(mail.raw).hexdigest(): mail.kind for mail in season_mail}
    assert len(outcomes) == written
    assert sorted(outcome.sha256 for outcome in outcomes if outcome.new) == sorted(meant)
    assert {outcome.sha256: outcome.kind for outcome in outcomes} == meant
    assert Counter(outcome.kind for outcome in outcomes) == Counter(mail.kind for mail in season_mail)
    assert {outcome.unit for outcome in outcomes} - {None} == {unit.name for unit in config.units}

    result = CliRunner().invoke(
        main,
        ["--config", str(directory / "config.toml"), "standings", "--month", "2020-12", "--json"],
        env={"MAILROOM_DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.output
    table = [
        (row["unit"], row["rank"], row["total"], tuple(row["components"][name] for name in COMPONENTS))
        for row in json.loads(result.stdout)["units"]
    ]
    assert table == without_staff_entries(EXPECTED["2020-12"], [unit.name for unit in config.units])
