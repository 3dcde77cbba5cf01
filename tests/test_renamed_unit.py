"""A unit renamed for the next year keeps its predecessor's address, and its old name as an alias (README: "units
of different years may share them"). Each mail is recognised among the units of its month's plan year: 2020's mail
stays 枣强县's, 2021's is 枣强区's, December's package sent in January under the old name is 2020's 枣强县's
whether its subject or only its workbooks' titles name the month.

GIVEN the example configuration with a 2021 plan in which 枣强县 (last_year = 2020) is succeeded by 枣强区
(first_year = 2021, aliases 枣强县 and 枣强, the same address)
WHEN the unit's mail of both years is stored as ingest stores it
THEN each is filed for the unit and month its year's plan holds, registered, and none is "unplanned"."""

from __future__ import annotations

import dataclasses
import io
from datetime import date, datetime

import openpyxl
import pytest

from archive.evidence import Evidence
from archive.models import Message
from bot.daemon.deps import open_deps, recognizer_for
from bot.services.inspect import inspect_untrusted
from bot.services.scores import compute_standings, unit_name
from parsers.derive import UNPLANNED_MARK
from scoring.evidence import StaffEntry
from tests.conftest import example_data, make_config, with_next_year
from tests.test_inspect import BOOKS
from tests.test_year_boundary import package
from tests.webapp import SHANGHAI, _message, store_one

SENDER = "zqxcl@163.com"


@pytest.fixture
def config(tmp_path, database_url):
    data = with_next_year(example_data(), {})
    [old] = [unit for unit in data["unit"] if unit["name"] == "枣强县"]
    successor = {
        "name": "枣强区",
        "aliases": ["枣强县", "枣强"],
        "senders": [SENDER],
        "first_year": 2021,
        "targets": {"2021": old["targets"]["2021"]},
    }
    old["last_year"] = 2020
    del old["targets"]["2021"]
    return make_config(tmp_path, database_url, general=data["general"], unit=[*data["unit"], successor])


@pytest.fixture
def deps(config):
    opened = open_deps(config)
    yield opened
    opened.close()


def filed(deps, id_: int) -> tuple:
    with deps.db.session() as session:
        row = session.get(Message, id_)
        return row.unit, row.month, row.kind, row.registered, any(UNPLANNED_MARK in p for p in row.problems)


@pytest.mark.parametrize(
    ("subject", "arrival", "expected"),
    [
        ("枣强县9月份报表", datetime(2020, 10, 10, 9), ("枣强县", "2020-09")),
        ("枣强县4月份报表", datetime(2021, 5, 10, 9), ("枣强区", "2021-04")),
        ("枣强4月份报表", datetime(2021, 5, 10, 9), ("枣强区", "2021-04")),
        ("4月份报表", datetime(2021, 5, 10, 9), ("枣强区", "2021-04")),  # by its address alone
        ("枣强县12月份报表", datetime(2021, 1, 8, 9), ("枣强县", "2020-12")),  # December's, sent in January
    ],
)
def test_a_renamed_units_mail_is_filed_for_the_unit_of_its_months_plan_year(deps, subject, arrival, expected):
    raw = _message(SENDER, subject, arrival.replace(tzinfo=SHANGHAI), "报表见附件。", ("summary-unit-row-only.xlsx",))
    assert filed(deps, store_one(deps, raw)) == (*expected, "report", True, False)


def test_decembers_package_whose_titles_alone_name_the_month_is_the_predecessors(deps):
    """Its subject names no month, its workbooks are titled "枣强县…12月份…", it arrives in January: 2020-12, the
    old unit's, and no form is told it names another unit (its titles were read among 2021's units first)."""
    raw = package("枣强县", "报表", 12, datetime(2021, 1, 8, 10, tzinfo=SHANGHAI))
    id_ = store_one(deps, raw)
    assert filed(deps, id_) == ("枣强县", "2020-12", "report", True, False)
    with deps.db.session() as session:
        readings = session.get(Message, id_).readings
        assert {reading.unit for reading in readings if reading.form} == {"枣强县"}


@pytest.mark.parametrize(
    ("name", "month", "unit"),
    [
        ("枣强县", "2020-09", "枣强县"),
        ("枣强县", "2021-05", "枣强区"),
        ("枣强", "2021-05", "枣强区"),
        ("枣强", None, "枣强县"),
    ],
)
def test_staff_naming_the_old_name_mean_the_unit_of_the_months_plan_year(config, name, month, unit):
    """`explain 枣强县 --month 2021-05` is 枣强区's (its alias there); for 2020, or with no month, 枣强县's own."""
    assert unit_name(config, name, month) == unit


def test_the_successor_registering_its_predecessors_persons_the_next_year_is_no_finding(deps):
    """GIVEN 枣强县's April 2020 package and 枣强区's April 2021 package registering the same persons WHEN the
    findings are read THEN none says a person is registered by two units: a year's registries are compared with
    that year's (a renamed unit, or a person who moved, is no double registration)."""
    from archive.findings import all_findings

    store_one(deps, package("枣强县", "枣强县4月份报表", 4, datetime(2020, 5, 10, 9, tzinfo=SHANGHAI)))
    store_one(deps, package("枣强县", "枣强区4月份报表", 4, datetime(2021, 5, 10, 9, tzinfo=SHANGHAI)))
    with deps.db.session() as session:
        units = {row.unit for row in session.query(Message).filter(Message.kind == "report")}
        assert units == {"枣强县", "枣强区"}
        assert not [finding for finding in all_findings(session, []) if finding.kind == "person_in_two_units"]


def test_commands_take_the_old_name_as_the_month_concerned_calls_it(config, deps, monkeypatch):
    """GIVEN 枣强区's April 2021 package and 桃城区's WHEN staff search, award and correct naming 枣强县 for 2021
    THEN each means 枣强区: search --month 2021-04 finds its package, the award and the correction are 枣强区's."""
    import json

    from click.testing import CliRunner

    import bot.config
    from bot.cli.group import main

    may = datetime(2021, 5, 10, 9, tzinfo=SHANGHAI)
    files = ("summary-unit-row-only.xlsx",)
    own = store_one(deps, _message(SENDER, "枣强区4月份报表", may, "报表见附件。", files))
    other = store_one(deps, _message("tcqcl@163.com", "桃城区4月份报表", may, "报表见附件。", files))
    monkeypatch.setattr(bot.config, "load_config", lambda path=None, environ=None: config)

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, ["--config", "unused.toml", *args])
        assert result.exit_code == 0, result.output
        return result.output

    found = json.loads(run("search", "--unit", "枣强县", "--month", "2021-04", "--json"))
    assert [hit["id"] for hit in found] == [own]
    awarded = run(
        "award",
        "枣强县",
        "--kind",
        "media",
        "--level",
        "city",
        "--date",
        "2021-05-10",
        "--evidence",
        "衡水日报",
        "--by",
        "孙倩",
    )
    assert "枣强区" in awarded
    run("correct", str(other), "--unit", "枣强县", "--reason", "电话核实", "--by", "孙倩")
    assert filed(deps, other)[0] == "枣强区"


def test_a_successors_counterpart_is_the_unit_one_of_its_spellings_names_whole():
    """A 2021 unit 桃城冀州合并区 (alias 冀州区) is 2020's 冀州区, never 桃城区 for holding 桃城 in its name."""
    from parsers.records import Unit
    from parsers.unit_names import counterpart

    merged = (Unit("桃城冀州合并区", ("冀州区",)),)
    before = (Unit("桃城区", ("桃城",)), Unit("冀州区", ("冀州",)))
    assert counterpart("桃城冀州合并区", merged, before) == "冀州区"
    assert counterpart("桃城区", before, before) == "桃城区"  # a unit of both years stays itself


def test_an_award_and_a_confirmed_sender_of_the_old_name_are_the_renamed_units(config):
    """GIVEN an award and a sender confirmation recorded under 枣强县, the name 枣强区 succeeded (its alias now)
    WHEN 2021's standings are computed and 2021's mail is recognised THEN the award counts for 枣强区 and the
    address is 枣强区's (both were dropped: they matched the stored name only); in 2020, 枣强县's own."""
    award = StaffEntry(1, "枣强县", "innovation", "provincial", date(2021, 9, 1), "省级推广")
    evidence = Evidence((), (), (), (award,))
    assert compute_standings(config, evidence, "2021-12").row("枣强区").component("innovation").points > 0
    award_2020 = dataclasses.replace(award, date=date(2020, 9, 1))
    standing = compute_standings(config, Evidence((), (), (), (award_2020,)), "2020-12")
    assert standing.row("枣强县").component("innovation").points > 0
    recognizer = dataclasses.replace(recognizer_for(config), confirmed=(("枣强县", "zq.clerk@qq.com", None),))
    senders = {unit.name: unit.senders for unit in recognizer.units_at(datetime(2021, 9, 10, tzinfo=SHANGHAI))}
    assert "zq.clerk@qq.com" in senders["枣强区"]
    senders = {unit.name: unit.senders for unit in recognizer.units_at(datetime(2020, 9, 10, tzinfo=SHANGHAI))}
    assert "zq.clerk@qq.com" in senders["枣强县"]


def test_a_confirmation_under_the_old_name_is_the_renamed_units_to_revoke_and_to_greet(config, deps):
    """GIVEN a clerk's address confirmed under 枣强县, which 枣强区 succeeded WHEN staff revoke it as 枣强区's (it
    counts for 枣强区) THEN it is revoked (it was "没有被确认为 枣强区 的报送邮箱"); while in force, 2021's mail
    from it is greeted 枣强区 (it was greeted 枣强县). The address both years register needs no confirming for
    either name."""
    from types import SimpleNamespace

    from archive.staff_senders import add_sender, remove_sender
    from bot.outgoing.receipts import sender_unit
    from parsers.errors import MailroomError

    with deps.db.session() as session:
        add_sender(session, "枣强县", "zq.clerk@qq.com", "电话核实", "孙倩", None, zone=SHANGHAI)
        session.commit()
        mail = SimpleNamespace(
            from_addr="zq.clerk@qq.com", arrival=datetime(2021, 9, 10, tzinfo=SHANGHAI), month="2021-09", unit=None
        )
        assert sender_unit(config, session, mail) == "枣强区"
        row = remove_sender(session, "枣强区", "zq.clerk@qq.com", "地址有误", "孙倩", ("枣强县", "枣强"))
        assert row.unit == "枣强县" and row.revoked_at is not None
        for name in ("枣强县", "枣强区"):
            with pytest.raises(MailroomError, match=f"已是配置中 {name} 的报送邮箱，无需确认"):
                add_sender(session, name, SENDER, "x", "孙倩", None, zone=SHANGHAI, configured=config.units)


def _renamed_summary(unit: str, month: str) -> bytes:
    """The sample 附件2 (桃城区's, April) as `unit` fills it in for `month` ("2021年4月份")."""
    book = openpyxl.load_workbook(BOOKS / "summary-unit-row-only.xlsx")
    for row in book.active.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.value = cell.value.replace("桃城区", unit).replace(" 4 月份", month)
    saved = io.BytesIO()
    book.save(saved)
    return saved.getvalue()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "account, unit, month, other_unit",
    [
        ("枣强县", "枣强区", "2021年4月份", False),
        ("枣强", "枣强区", "2021年4月份", False),
        ("饶阳县", "枣强区", "2021年4月份", True),
        ("枣强区", "枣强县", "2020年12月份", False),  # December's files, checked in May
        ("枣强县", "枣强县", "2020年12月份", False),
    ],
)
def test_a_clerk_account_of_either_name_checks_the_units_files_of_either_year_as_its_own(
    config, account, unit, month, other_unit
):
    """GIVEN a clerk's account made for 枣强县 in 2020 (or 枣强, an alias of both), or for 枣强区 WHEN the clerk
    checks on 自查 in May 2021 枣强区's April 附件2, or 枣强县's December one THEN it is the clerk's own unit's
    form, as `inspect --unit 枣强县` says (it was "表中写的单位是枣强区，您是枣强县的填报员"); a clerk of another
    unit is still told so."""
    files = [("附件2.xlsx", _renamed_summary(unit, month))]
    results = inspect_untrusted(files, config, None, account, datetime(2021, 5, 10, 9, tzinfo=SHANGHAI))
    codes = [problem["code"] for result in results for problem in result["problems"]]
    assert ("other-unit" in codes) == other_unit, results
