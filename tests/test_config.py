"""The configuration: the example loads whole, overrides apply, a bad value names its key."""

import re
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from bot.config import build_config, load_config
from parsers.errors import ConfigError
from tests.conftest import ROOT, example_data


def test_example_config_holds_the_plan():
    config = load_config(ROOT / "config.example.toml", environ={})
    assert [unit.name for unit in config.units][:3] == ["桃城区", "冀州区", "枣强县"]
    assert len(config.units) == 13
    assert {box.address for box in config.mailboxes} == {
        "hsscljjb@163.com", "hskf2006@126.com", "hscljyb@126.com", "hsclbgs666@163.com"}
    jing = next(unit for unit in config.units if unit.name == "景县")
    assert "景 县" in jing.aliases and jing.target("rehab") == 233 and jing.target("college") == 0
    assert config.calendar.deadline_day == 20 and config.calendar.deadline_time == time(23, 59, 59)
    assert str(config.timezone) == "Asia/Shanghai"
    assert config.scoring.zero_target_earns is True
    assert dict(config.scoring.media_points) == {"central": 4, "provincial": 2, "city": 1}
    assert config.database_url == f"sqlite:///{ROOT / 'var' / 'mailroom.db'}"


def test_web_section_has_loopback_defaults_and_checks_its_values():
    config = load_config(ROOT / "config.example.toml", environ={})
    assert (config.web.host, config.web.port, config.web.behind_proxy, config.web.session_hours) == \
        ("127.0.0.1", 8080, False, 12)
    data = example_data()
    data.pop("web")
    assert build_config(data, Path("/tmp/config.toml"), {}).web.port == 8080  # the section is optional
    data["web"] = {"host": "0.0.0.0", "port": 9000, "behind_proxy": True}
    web = build_config(data, Path("/tmp/config.toml"), {}).web
    assert (web.host, web.port, web.behind_proxy) == ("0.0.0.0", 9000, True)
    for bad, message in (({"port": 70000}, "web.port must be a port"),
                         ({"behind_proxy": "yes"}, "web.behind_proxy must be true or false"),
                         ({"session_hours": 0}, "web.session_hours must be positive")):
        data["web"] = bad
        with pytest.raises(ConfigError, match=re.escape(message)):
            build_config(data, Path("/tmp/config.toml"), {})


def test_environment_overrides_database_and_archive(tmp_path):
    env = {"MAILROOM_DATABASE_URL": "postgresql+psycopg://x@h/db", "MAILROOM_ARCHIVE_PATH": str(tmp_path / "a")}
    config = load_config(ROOT / "config.example.toml", environ=env)
    assert config.database_url == "postgresql+psycopg://x@h/db"
    assert config.archive_path == tmp_path / "a"


def test_config_path_from_environment(tmp_path):
    target = tmp_path / "other.toml"
    target.write_bytes((ROOT / "config.example.toml").read_bytes())
    assert load_config(environ={"MAILROOM_CONFIG": str(target)}).path == target


def test_passwords_come_from_the_environment(monkeypatch):
    box = load_config(ROOT / "config.example.toml", environ={}).mailbox("kfb")
    assert box.password_env == "MAILROOM_KFB_PASSWORD"
    monkeypatch.delenv("MAILROOM_KFB_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="MAILROOM_KFB_PASSWORD"):
        box.password()
    monkeypatch.setenv("MAILROOM_KFB_PASSWORD", "secret")
    assert box.password() == "secret"


@pytest.mark.parametrize("change, message", [
    (lambda d: d["deadline"].update(day=31), "deadline.day must be a day 1–28"),
    (lambda d: d["general"].update(timezone="Mars/Olympus"), "general.timezone: unknown time zone"),
    (lambda d: d["scoring"].update(task_points="three"), "scoring.task_points must be a whole number"),
    (lambda d: d["mailbox"][1].update(after_archive="shred"), "mailbox[1].after_archive must be"),
    (lambda d: d["mailbox"][0].pop("host"), "mailbox[0].host is missing"),
    (lambda d: d["mailbox"][0].update(security="plain"), "only for a loopback host"),
    (lambda d: d["unit"][2]["targets"].update(rehab=-1), "unit[2].targets.rehab must be a whole number ≥ 0"),
    (lambda d: d["unit"][0]["targets"].update(swimming=3), "unit[0].targets.swimming: unknown task"),
    (lambda d: d.pop("unit"), "[[unit]] is missing"),
])
def test_bad_values_name_their_key(change, message):
    data = example_data()
    change(data)
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_config(data, Path("/tmp/config.toml"), {})


def test_cli_reports_a_bad_config_in_one_line(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text((ROOT / "config.example.toml").read_text(encoding="utf-8").replace("day = 20", "day = 40"),
                   encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(bad), "init"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["配置错误 (config error): deadline.day must be a day 1–28, not 40"]


def test_cli_names_a_missing_config_file(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(tmp_path / "nope.toml"), "init"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2 and "nope.toml not found" in result.stderr and "Traceback" not in result.stderr


def test_every_subcommand_has_help():
    from click.testing import CliRunner

    from bot.cli import main

    assert {"init", "poll", "serve", "status", "import", "search", "show", "inspect", "standings", "matrix",
            "explain", "findings", "award", "awards", "revoke", "demo"} <= set(main.commands)
    for name in main.commands:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output and len(result.output) > 80, name
    module = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True)
    assert module.returncode == 0 and "inspect" in module.stdout
