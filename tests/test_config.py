"""The configuration: the example loads whole, overrides apply, a bad value names its key."""

import re
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from bot.config import build_config, load_config
from parsers.errors import ConfigError, InputError
from parsers.records import TASKS
from tests.conftest import ROOT, example_data, with_next_year

ALL_ZERO = {task: 0 for task in TASKS}


def test_example_config_holds_the_plan():
    config = load_config(ROOT / "config.example.toml", environ={})
    assert [unit.name for unit in config.units][:3] == ["桃城区", "冀州区", "枣强县"]
    assert len(config.units) == 13
    assert {box.address for box in config.mailboxes} == {
        "hsscljjb@163.com",
        "hskf2006@126.com",
        "hscljyb@126.com",
        "hsclbgs666@163.com",
    }
    jing = next(unit for unit in config.units if unit.name == "景县")
    assert "景 县" in jing.aliases and jing.targets == ()  # recognition's units; targets are the plan's
    assert config.plans.years == (2020,)
    plan = config.plan("2020-04")
    assert plan.unit("景县").target("rehab") == 233 and plan.unit("景县").target("college") == 0
    assert plan.calendar.deadline_day == 20 and plan.calendar.deadline_time == time(23, 59, 59)
    assert str(config.timezone) == "Asia/Shanghai"
    assert plan.scoring.zero_target_earns is True
    assert dict(plan.scoring.media_points) == {"central": 4, "provincial": 2, "city": 1}
    assert config.database_url == f"sqlite:///{ROOT / 'var' / 'mailroom.db'}"


def test_a_sqlite_url_naming_its_driver_is_relative_to_the_config_file_like_the_short_form():
    """GIVEN [database] url = "sqlite+pysqlite:///var/x.db" (SQLAlchemy's long form of the same database) WHEN
    the configuration loads THEN it is the file beside the config, as "sqlite:///var/x.db" would be, where it
    was left relative to whatever folder the command ran in (and the checks for a new database missed it)."""
    data = example_data()
    for written in ("sqlite+pysqlite:///var/x.db", "sqlite:///var/x.db"):
        data["database"] = {"url": written}
        assert (
            build_config(data, Path("/srv/mailroom/config.toml"), {}).database_url == "sqlite:////srv/mailroom/var/x.db"
        )
    data["database"] = {"url": "sqlite+pysqlite:////abs/x.db"}
    assert build_config(data, Path("/srv/mailroom/config.toml"), {}).database_url == "sqlite:////abs/x.db"


def test_web_section_has_loopback_defaults_and_checks_its_values():
    config = load_config(ROOT / "config.example.toml", environ={})
    assert (config.web.host, config.web.port, config.web.behind_proxy, config.web.session_hours) == (
        "127.0.0.1",
        8080,
        False,
        12,
    )
    data = example_data()
    data.pop("web")
    assert build_config(data, Path("/tmp/config.toml"), {}).web.port == 8080  # the section is optional
    data["web"] = {"host": "0.0.0.0", "port": 9000, "behind_proxy": True}
    web = build_config(data, Path("/tmp/config.toml"), {}).web
    assert (web.host, web.port, web.behind_proxy) == ("0.0.0.0", 9000, True)
    for bad, message in (
        ({"port": 70000}, "web.port 应为端口号 1–65535，而不是 70000"),
        ({"behind_proxy": "yes"}, "web.behind_proxy 应为 true 或 false，而不是 'yes'"),
        ({"session_hours": 0}, "web.session_hours 应为正数，而不是 0"),
    ):
        data["web"] = bad
        with pytest.raises(ConfigError, match=re.escape(message)):
            build_config(data, Path("/tmp/config.toml"), {})


def test_the_system_s_name_is_general_name_else_the_from_s_name_else_a_name_of_no_city():
    """GIVEN [general] name, or (a configuration older than the key) only [smtp] sender_name, or neither WHEN read
    THEN the system's name (every mail's signature, the web's title) is that name, the From's name, or one naming
    no city: it was 衡水市 in every template whatever the configuration said."""

    def read(name: str | None, sender_name: str | None):
        data = example_data()
        data["general"].pop("name")
        data["smtp"].pop("sender_name")
        if name is not None:
            data["general"]["name"] = name
        if sender_name is not None:
            data["smtp"]["sender_name"] = sender_name
        config = build_config(data, Path("/tmp/config.toml"), {})
        return config.name, config.outgoing.sender_name

    assert read("某市残联督导系统", None) == ("某市残联督导系统", "某市残联督导系统")
    assert read("某市残联督导系统", "某市残联") == ("某市残联督导系统", "某市残联")
    assert read(None, "衡水市残联督导系统") == ("衡水市残联督导系统", "衡水市残联督导系统")
    assert read(None, None) == ("残疾人服务工程督导系统", "")  # (the From: the address alone, as before)
    with pytest.raises(ConfigError, match="general.name 应为非空的名称"):
        read("  ", None)


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


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["deadline"].update(day=31), "deadline.day 应为 1–28 日之一，而不是 31"),
        (lambda d: d["general"].update(timezone="Mars/Olympus"), "general.timezone：未知的时区 'Mars/Olympus'"),
        (lambda d: d["scoring"].update(task_points="three"), "scoring.task_points 应为整数，而不是 'three'"),
        (
            lambda d: d["mailbox"][1].update(after_archive="shred"),
            "[[mailbox]] kfb（康复部）的 after_archive 应为 none 或 flag 或 seen 或 move",
        ),
        (lambda d: d["mailbox"][0].pop("host"), '缺少 [[mailbox]] jjb（教就部）的 host（source = "imap" 时必填）'),
        (lambda d: d["mailbox"][0].update(security="plain"), "只允许用于本机回环地址"),
        (lambda d: d["unit"][2]["targets"].update(rehab=-1), "unit[2].targets.rehab 应为 ≥ 0 的整数，而不是 -1"),
        (lambda d: d["unit"][0]["targets"].update(swimming=3), "unit[0].targets.swimming：未知的任务"),
        (lambda d: d.pop("unit"), "缺少 [[unit]]"),
    ],
)
def test_bad_values_name_their_key(change, message):
    data = example_data()
    change(data)
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_config(data, Path("/tmp/config.toml"), {})


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda d: d["mailbox"][3].update(port=0),
            "[[mailbox]] bgs（办公室）的 port 应为端口号 1–65535，而不是 0",
        ),
        (
            lambda d: d["mailbox"][2].update(security="plain"),
            '[[mailbox]] fwb（服务部）的 security = "plain" 只允许用于本机回环地址，不能用于 imap.126.com',
        ),
        (
            lambda d: d["mailbox"][3].update(after_archive="move"),
            '缺少 [[mailbox]] bgs（办公室）的 move_to（after_archive = "move" 时必填）',
        ),
        (
            lambda d: d["mailbox"][2].update(colour="red"),
            "未知的配置项 [[mailbox]] fwb（服务部）的 colour（这里可用的有 address、after_archive、batch、ca_file、"
            "folder、host、key、move_to、name、password_env、port、security、source、username）",
        ),
        (lambda d: d["mailbox"][2].pop("key"), "缺少 [[mailbox]] 服务部（hscljyb@126.com）的 key"),
        (
            lambda d: d["mailbox"][3].update(key="jjb"),
            "[[mailbox]] 的 key 'jjb' 用了 2 次（教就部（hsscljjb@163.com）、办公室（hsclbgs666@163.com））："
            "每个邮箱的 key 须不同",
        ),
    ],
)
def test_a_mailboxs_errors_name_it_by_its_key_and_name_not_its_place(change, message):
    """A [[mailbox]] is named as the file names it (its key, with its name), never as mailbox[3]: nobody
    counts the tables of a file. One without a key is named by its name and address."""
    data = example_data()
    change(data)
    with pytest.raises(ConfigError) as raised:
        build_config(data, Path("/tmp/config.toml"), {})
    assert str(raised.value) == message


def test_a_mailboxs_missing_password_names_the_mailbox(monkeypatch):
    box = load_config(ROOT / "config.example.toml", environ={}).mailbox("kfb")
    monkeypatch.delenv("MAILROOM_KFB_PASSWORD", raising=False)
    with pytest.raises(ConfigError) as raised:
        box.password()
    assert str(raised.value) == "[[mailbox]] kfb（康复部）：环境变量 MAILROOM_KFB_PASSWORD 未设置"


def test_cli_reports_a_bad_config_in_one_line(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text(
        (ROOT / "config.example.toml").read_text(encoding="utf-8").replace("day = 20", "day = 40"), encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(bad), "init"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["配置错误 (config error): deadline.day 应为 1–28 日之一，而不是 40"]


def test_cli_names_a_missing_config_file(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(tmp_path / "nope.toml"), "init"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2 and "找不到配置文件" in result.stderr and "nope.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_subcommand_has_help():
    from click.testing import CliRunner

    from bot.cli.group import COMMANDS, main

    expected = "init poll serve status import search show inspect standings matrix explain findings award awards"
    assert {*expected.split(), "revoke", "demo"} <= set(COMMANDS)
    for name in COMMANDS:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0 and "用法：" in result.output and len(result.output) > 80, name
    module = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True)
    assert module.returncode == 0 and "inspect" in module.stdout


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["deadline"].update(dya=20), "未知的配置项 deadline.dya（是不是 deadline.day？）"),
        (
            lambda d: d["schedule"].update(poll_minuts=1),
            "未知的配置项 schedule.poll_minuts（是不是 schedule.poll_minutes？）",
        ),
        (lambda d: d.update(schedul={"poll_minutes": 1}), "未知的配置项 [schedul]（是不是 [schedule]？）"),
        (
            lambda d: d["mailbox"][0].update(hots=d["mailbox"][0].pop("host")),
            "未知的配置项 [[mailbox]] jjb（教就部）的 hots（是不是 host？）",
        ),  # not "[[mailbox]] jjb（教就部）的 host is missing"
        (lambda d: d["unit"][3].update(alias=["武邑"]), "未知的配置项 unit[3].alias（是不是 unit[3].aliases？）"),
        (
            lambda d: d["general"].update(colour="red"),
            "未知的配置项 general.colour（这里可用的有 name、timezone、year、years）",
        ),
    ],
)
def test_unknown_sections_and_keys_are_refused_naming_the_nearest_known_one(change, message):
    data = example_data()
    change(data)
    with pytest.raises(ConfigError) as raised:
        build_config(data, Path("/tmp/config.toml"), {})
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda d: d["scoring"].update(q2_completion=-1),
            "scoring.q2_completion 应为 0–1 之间的比例（0.5 即 50%），而不是 -1",
        ),
        (
            lambda d: d["scoring"].update(q3_completion=50),
            "scoring.q3_completion 应为 0–1 之间的比例（0.5 即 50%），而不是 50",
        ),
        (lambda d: d["scoring"].update(q4_cap=-10), "scoring.q4_cap 应为 0–100 分，而不是 -10"),
        (lambda d: d["scoring"].update(task_points=300), "scoring.task_points 应为 0–100 分，而不是 300"),
        (lambda d: d["scoring"].update(briefings_per_month=0), "scoring.briefings_per_month 应为 1–1000 篇，而不是 0"),
        (lambda d: d["scoring"].update(briefing_months=[4, 4, 13]), "scoring.briefing_months 应为不重复的月份 1–12"),
        (
            lambda d: d["scoring"]["media_points"].update(central=-4),
            "scoring.media_points.central 应为 0–100 分，而不是 -4",
        ),
        (
            lambda d: d["scoring"]["media_points"].update(centrl=4),
            "scoring.media_points.centrl：未知的级别（可用的有：central",
        ),
        (lambda d: d["general"].update(year=20), "general.year 应为年份 2000–2100，而不是 20"),
        (lambda d: d["forms"].update(required=[]), "forms.required 应为不重复的附件编号 1–10，至少一个"),
    ],
)
def test_every_number_is_checked_against_its_meaning(change, message):
    data = example_data()
    change(data)
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_config(data, Path("/tmp/config.toml"), {})


def test_a_key_is_known_because_the_builder_reads_it():
    """GIVEN a table whose builder reads `a` (present) and `b` (absent, a default) WHEN checked THEN only the
    key it never read is unknown, hinted with the absent one; a map the builder iterates is known whole."""
    from bot.config_keys import ReadTable, unknown_keys

    table = ReadTable({"s": {"a": 1, "bb": 2}, "m": {"x": 1, "y": 2}, "lost": {"z": 1}})
    section, mapping = table.get("s"), table.get("m")
    section.get("a"), "b" in section
    dict(mapping.items())
    assert unknown_keys(table) == ["s.bb（是不是 s.b？）", "[lost]（这里可用的有 m、s）"]


def test_cli_names_every_unknown_key_in_one_line(tmp_path):
    bad = tmp_path / "config.toml"
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    bad.write_text(text.replace("day = 20", "dya = 20").replace("[schedule]", "[schedul]"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(bad), "init"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "配置错误 (config error): 未知的配置项 deadline.dya（是不是 deadline.day？）、[schedul]（是不是 [schedule]？）"
    ]


# ---------------------------------------------------------------------------------------------
# Plans by year


def test_a_plan_per_year_with_its_own_targets_rules_and_units():
    """GIVEN the example with a 2021 plan: other targets for 景县, its own scoring, deadline and forms, 滨湖新区
    leaving after 2020 and a new unit joining in 2021 WHEN built THEN each year has its own, 2020's unchanged;
    recognition knows every unit of every year."""
    data = with_next_year(
        example_data(),
        {"景县": {"rehab": 300, "devices": 120, "rural_training": 88, "day_care": 48, "barrier_free": 0, "college": 0}},
        scoring={"q2_completion": 0.6, "briefing_months": [5, 6]},
        deadline={"day": 15},
        forms={"first_report_month": 5},
    )
    data["schedule"]["reminder_day"] = 12  # before 2021's deadline of the 15th
    data["unit"][12]["last_year"] = 2020
    del data["unit"][12]["targets"]["2021"]
    data["unit"].append(
        {
            "name": "开发区",
            "senders": ["kfq@163.com"],
            "first_year": 2021,
            "targets": {"2021": dict(ALL_ZERO, rehab=10)},
        }
    )
    config = build_config(data, Path("/tmp/config.toml"), {})
    first, second = config.plans.plans
    assert config.plans.years == (2020, 2021) and first == load_config(ROOT / "config.example.toml", environ={}).plan(
        "2020-04"
    )  # 2020's plan is the single-year file's, to the last target
    assert second.unit("景县").target("rehab") == 300 and second.unit("景县").target("barrier_free") == 0
    assert second.unit("桃城区").targets == first.unit("桃城区").targets
    assert (second.scoring.q2_completion, second.scoring.briefing_months, second.scoring.task_points) == (
        0.6,
        (5, 6),
        3,
    )
    assert (second.calendar.deadline_day, second.calendar.first_report_month) == (15, 5)
    assert (first.calendar.deadline_day, first.scoring.q2_completion) == (20, 0.5)
    assert "滨湖新区" not in [unit.name for unit in second.units] and "开发区" in [unit.name for unit in second.units]
    assert "开发区" not in [unit.name for unit in first.units]
    with pytest.raises(InputError, match="滨湖新区 不在 2021 年的计划内"):  # explain refuses it for 2021's months
        second.unit("滨湖新区")
    assert [unit.name for unit in config.units][-2:] == ["滨湖新区", "开发区"]
    assert config.plans.months()[8:10] == ("2020-12", "2021-05")
    assert config.plans.around("2021-02") == ("2020-12", "2021-05")


@pytest.mark.parametrize("month", ["2021-03", "2020-03", "2019-12", "2022-01"])
def test_a_month_no_plan_covers_is_refused_naming_it(month):
    config = build_config(
        with_next_year(example_data(), {}, forms={"first_report_month": 5}, scoring={"briefing_months": [5]}),
        Path("/tmp/config.toml"),
        {},
    )
    with pytest.raises(InputError) as raised:
        config.plan(month if month != "2021-03" else "2021-04")
    assert str(raised.value).startswith(
        f"{month if month != '2021-03' else '2021-04'} 不在任何年度计划内（计划覆盖 "
        "2020年4月至2020年12月、2021年5月至2021年12月）"
    )
    assert not config.plans.covers(month)


def _plan_error(change) -> str:
    data = with_next_year(example_data(), {})
    change(data)
    with pytest.raises(ConfigError) as raised:
        build_config(data, Path("/tmp/config.toml"), {})
    return str(raised.value)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda d: d["unit"][3]["targets"].pop("2021"),
            "unit[3]（武邑县）缺少 2021 年的目标 targets.2021"
            "（若该单位 2021 年不在计划内，请写 first_year 或 last_year）",
        ),
        (
            lambda d: d["unit"][0].update(targets=d["unit"][0]["targets"]["2020"]),
            "unit[0].targets：有多个计划年度（2020、2021）时，目标须按年写，如 targets.2020 = { rehab = … }",
        ),
        (lambda d: d["unit"][1]["targets"].update({"2019": {}}), "unit[1].targets.2019：2019 年不在任何年度计划内"),
        (lambda d: d["unit"][2].update(last_year=2020), "unit[2].targets.2021：枣强县 2021 年不在计划内"),
        (
            lambda d: d["unit"][2].update(first_year=2019),
            "unit[2].first_year 应为计划年度之一（2020、2021），而不是 2019",
        ),
        (
            lambda d: d["unit"][2]["targets"]["2021"].update(rehab=-5),
            "unit[2].targets.2021.rehab 应为 ≥ 0 的整数，而不是 -5",
        ),
        (lambda d: d.update(year={"2022": {"scoring": {"q4_cap": 8}}}), "year.2022：2022 年不在任何年度计划内"),
        (
            lambda d: d.update(year={"2021": {"scoring": {"q2_completion": 50}}}),
            "year.2021.scoring.q2_completion 应为 0–1 之间的比例（0.5 即 50%），而不是 50",
        ),
        (
            lambda d: d.update(year={"2021": {"deadline": {"day": 31}}}),
            "year.2021.deadline.day 应为 1–28 日之一，而不是 31",
        ),
        (
            lambda d: d.update(year={"2021": {"forms": {"first_report_month": 6}}}),
            "scoring.briefing_months：2021 年 4 月不在该年计划的报送月份内（6–12 月）："
            "该年的首个报送月份由 year.2021.forms.first_report_month 定为 6 月，"
            "请为该年写 [year.2021.scoring] briefing_months = [6, 7, 8, 9, 10, 11]",
        ),
        (
            lambda d: d.update(year={"2021": {"scoring": {"briefing_months": [3, 4]}}}),
            "year.2021.scoring.briefing_months：2021 年 3 月不在该年计划的报送月份内（4–12 月）",
        ),
        (
            lambda d: d.update(year={"2021": {"scorring": {}}}),
            "未知的配置项 year.2021.scorring（是不是 year.2021.scoring？）",
        ),
        (lambda d: d["general"].update(year=2020), "general.year 与 general.years 只能写一个"),
        (lambda d: d["general"].update(years=[2020, 2020]), "general.years 应为不重复的年份 2000–2100，至少一个"),
        (
            lambda d: [(unit.update(last_year=2020), unit["targets"].pop("2021")) for unit in d["unit"]],
            "2021 年的计划没有任何单位",
        ),
    ],
)
def test_a_wrong_plan_is_one_line_naming_its_year_unit_or_month(change, message):
    assert _plan_error(change).startswith(message)


def test_a_year_whose_deadline_comes_before_the_reminders_is_refused():
    data = with_next_year(example_data(), {}, deadline={"day": 15})
    with pytest.raises(ConfigError) as raised:
        build_config(data, Path("/tmp/config.toml"), {})
    assert str(raised.value) == "schedule.reminder_day（17 日）晚于 2021 年的报送截止日（15 日），该年不会发出催报提醒"
    data["schedule"]["reminder_day"] = 12
    assert build_config(data, Path("/tmp/config.toml"), {}).plan("2021-04").calendar.deadline_day == 15


# ---------------------------------------------------------------------------------------------
# Units: one name, alias or sender address per unit within a year; every task's target written


def _with_unit(data: dict, **unit) -> dict:
    """`data` with one more [[unit]] (unit[13] after the example's 13), all of its years' targets written."""
    years = [unit["first_year"]] if "first_year" in unit else data["general"]["years"]
    data["unit"].append({"senders": [], "targets": {str(year): dict(ALL_ZERO) for year in years}, **unit})
    return data


TAKES_OVER = "；若 unit[13] 自 2021 年起接替 unit[9]，则应给 unit[9] 写 last_year = 2020"


@pytest.mark.parametrize(
    "unit, message",
    [
        (
            {"name": "景县", "first_year": 2021, "senders": ["jx2021@163.com"]},
            "unit[13].name：景县 与 unit[9] 的名称 景县 相同，两者都在 2021 年的计划内；同一单位请只写一个 [[unit]]"
            "（各年目标写作 targets.2020、targets.2021），不同单位请改用不同的名称",
        ),
        (
            {"name": "景 县", "first_year": 2021},
            "unit[13].name：景 县 与 unit[9] 的名称 景县 相同（识别邮件时不计空格与全角、半角之别），"
            "两者都在 2021 年的计划内；",
        ),
        (
            {"name": "新单位", "first_year": 2021, "senders": ["JXCL2020@163.com"]},
            "unit[13].senders：jxcl2020@163.com 已登记给 unit[9]（景县），两者都在 2021 年的计划内；"
            "同一年度一个发件地址只能属于一个单位，请从其中一个的 senders 删去" + TAKES_OVER,
        ),
        (
            {"name": "新单位", "aliases": ["景县"], "first_year": 2021, "senders": ["new@163.com"]},
            "unit[13].aliases：别名 景县 与 unit[9]（景县）的名称 景县 相同，两者都在 2021 年的计划内，"
            "识别邮件时无法分辨是哪个单位；请从 unit[13] 的 aliases 删去 景县" + TAKES_OVER,
        ),
        (
            {"name": "新单位", "aliases": ["景州"]},
            "unit[13].aliases：别名 景州 与 unit[9]（景县）的别名 景州 相同，两者都在 2020、2021 年的计划内，"
            "识别邮件时无法分辨是哪个单位；请从 unit[13] 的 aliases 删去 景州",
        ),
        (
            {"name": "景州", "first_year": 2021},
            "unit[13].name：名称 景州 与 unit[9]（景县）的别名 景州 相同，两者都在 2021 年的计划内，"
            "识别邮件时无法分辨是哪个单位；请从 unit[9] 的 aliases 删去 景州" + TAKES_OVER,
        ),
    ],
)
def test_a_name_alias_or_address_of_two_units_in_one_year_is_refused(unit, message):
    """GIVEN a second unit in 2021 whose name, alias or sender address is already 景县's (unit[9]), which is in
    2021 too WHEN built THEN refused in one line naming both units, the year and what to write instead:
    standings would list two 景县, and recognition could not tell whose mail it is."""
    data = _with_unit(with_next_year(example_data(), {}), **unit)
    with pytest.raises(ConfigError) as raised:
        build_config(data, Path("/tmp/config.toml"), {})
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_units_of_different_years_may_share_a_name_an_alias_or_an_address():
    """GIVEN 高新区 and 滨湖新区 ending with 2020 and 高新滨湖区 taking over in 2021 with both their addresses
    and their names as aliases, and 景县 written as two units (2020; 2021 with a new address) WHEN built THEN
    accepted: no year holds two of them."""
    data = with_next_year(example_data(), {})
    gaoxin, binhu, jing = data["unit"][11], data["unit"][12], data["unit"][9]
    for unit in (gaoxin, binhu, jing):
        unit["last_year"] = 2020
        del unit["targets"]["2021"]
    merged = {
        "name": "高新滨湖区",
        "aliases": ["高新区", "滨湖新区", "滨湖"],
        "senders": [*gaoxin["senders"], *binhu["senders"]],
        "first_year": 2021,
    }
    data["unit"].insert(0, {**merged, "targets": {"2021": dict(ALL_ZERO, rehab=25)}})  # before those it follows
    _with_unit(data, name="景县", aliases=["景州"], senders=["jx2021@163.com"], first_year=2021)
    config = build_config(data, Path("/tmp/config.toml"), {})
    first, second = config.plans.plans
    assert [unit.name for unit in second.units][0] == "高新滨湖区" and "高新区" not in [u.name for u in second.units]
    assert [unit.name for unit in first.units].count("景县") == [unit.name for unit in second.units].count("景县") == 1
    assert second.unit("高新滨湖区").target("rehab") == 25


def test_the_example_and_a_successor_reusing_an_address_still_load():
    assert len(load_config(ROOT / "config.example.toml", environ={}).units) == 13
    data = with_next_year(example_data(), {})
    data["unit"][12]["last_year"] = 2020
    del data["unit"][12]["targets"]["2021"]
    _with_unit(data, name="滨湖区", senders=data["unit"][12]["senders"], aliases=["滨湖新区"], first_year=2021)
    assert "滨湖区" in [unit.name for unit in build_config(data, Path("/tmp/config.toml"), {}).plan("2021-04").units]


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda d: [d["unit"][9]["targets"]["2021"].pop(task) for task in ("barrier_free", "college")],
            "unit[9].targets.2021（景县）缺少任务 barrier_free（残疾人家庭无障碍改造）、"
            "college（帮助贫困残疾学生及子女上大学）的目标：每项任务的目标都须写出，没有目标的写 0，"
            "如 barrier_free = 0, college = 0",
        ),
        (
            lambda d: d["unit"][0]["targets"]["2020"].pop("rehab"),
            "unit[0].targets.2020（桃城区）缺少任务 rehab（康复服务）的目标：每项任务的目标都须写出，没有目标的写 0，"
            "如 rehab = 0",
        ),
        (  # a misspelt task is named as such, not as a missing one
            lambda d: d["unit"][9]["targets"]["2021"].update(device=d["unit"][9]["targets"]["2021"].pop("devices")),
            "unit[9].targets.2021.device：未知的任务（可用的有：rehab、devices",
        ),
    ],
)
def test_a_task_left_out_of_a_years_targets_is_refused_naming_it(change, message):
    """GIVEN a year's targets without some task WHEN built THEN refused naming the unit, the year and each
    missing task by its key and its name, instead of scoring it against a target of 0."""
    assert _plan_error(change).startswith(message)


def test_a_task_left_out_of_a_single_years_plain_targets_is_refused():
    data = example_data()
    del data["unit"][0]["targets"]["college"]
    with pytest.raises(ConfigError) as raised:
        build_config(data, Path("/tmp/config.toml"), {})
    assert str(raised.value) == (
        "unit[0].targets（桃城区）缺少任务 college（帮助贫困残疾学生及子女上大学）的目标："
        "每项任务的目标都须写出，没有目标的写 0，如 college = 0"
    )


def test_common_briefing_months_before_the_common_first_report_month_name_the_common_table_alone():
    data = with_next_year(example_data(), {})
    data["forms"]["first_report_month"] = 6
    with pytest.raises(ConfigError) as raised:
        build_config(data, Path("/tmp/config.toml"), {})
    assert str(raised.value) == "scoring.briefing_months：2020 年 4 月不在该年计划的报送月份内（6–12 月）"


def test_cli_refuses_two_units_of_one_name_in_one_year_before_any_standings(tmp_path):
    """The tester's case: a second `[[unit]] name = "景县"` for 2021 listed 景县 twice in 2021's standings."""
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8").replace("year = 2020 ", "years = [2020, 2021] ")
    text = re.sub(r"(?m)^targets = (\{.*\})$", r"targets.2020 = \1\ntargets.2021 = \1", text)
    text += '\n[[unit]]\nname = "景县"\nfirst_year = 2021\nsenders = ["jx2021@163.com"]\ntargets.2021 = { rehab = 1 }\n'
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(path), "standings", "--month", "2021-04"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("配置错误 (config error): unit[13].name：景县 与 unit[9] 的名称 景县 相同")
