"""The main job's demo: every message it writes is archived and recognised for what it is."""

from collections import Counter

from bot.config import load_config
from bot.demo import write_demo
from bot.deps import open_deps
from bot.poll import poll_once


def test_demo_mail_is_archived_and_recognised(tmp_path, database_url):
    _, written = write_demo(tmp_path / "demo")
    config = load_config(tmp_path / "demo" / "config.toml", environ={"MAILROOM_DATABASE_URL": database_url})
    assert {box.source for box in config.mailboxes} == {"maildir"}
    deps = open_deps(config)
    report = poll_once(config, deps)
    deps.close()
    outcomes = [outcome for box in report.mailboxes for outcome in box.outcomes]
    assert len(outcomes) == written and all(outcome.new for outcome in outcomes)
    assert all(outcome.registered and outcome.month == "2020-04" for outcome in outcomes)
    kinds = Counter(outcome.kind for outcome in outcomes)
    assert kinds["report"] == 13 * 3 and kinds["briefing"] == written - 13 * 3
    assert {outcome.unit for outcome in outcomes} == {unit.name for unit in config.units}
