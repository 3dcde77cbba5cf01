"""The charts, checked against what the command line prints, on the demo season.

GIVEN the season of bot/demo/season (April–December 2020) imported with `mailroom import` and the staff entries of
tests/season_expected.py made with `mailroom award` (SQLite: the charts read the evidence every page reads,
whose PostgreSQL side tests/test_season.py covers)
WHEN 月度排名, 报送矩阵, 目标任务完成进度 and a unit's explanation are read
THEN each point of the score trend is that month's `mailroom standings --json`, each cell of the grid that
month's `mailroom matrix --json`, each bar the 附件2 figures `mailroom explain` scores (and the season's design),
and each shape sits where its number says; a masked auditor sees the same charts; Chromium draws them under
the pages' policy, on screen and in print.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from bot.config import Config, load_config
from bot.daemon.deps import open_deps
from bot.demo.season import PLANS, QUARTER_TASKS, UnitPlan, at, month_figures
from bot.demo.season.events import CORRECTIONS
from bot.services.charts import bars_by_task, ranking_bars, score_trend
from bot.services.scores import STATUS_NAMES
from bot.web.app import create_app
from parsers.records import TASKS
from scoring.completion import UnitCompletion, task_figure
from scoring.evidence import TASK_LABELS
from scoring.standings import Standings, UnitStanding, rank
from tests.browser import chromium, serving, sign_in
from tests.test_season import CONFIG, import_season, run
from tests.webapp import PASSWORD, add_accounts, log_in

MONTHS = tuple(f"2020-{number:02d}" for number in range(4, 13))
CHECKPOINTS = ("2020-06", "2020-09", "2020-12")  # where the scoring reads 附件2
TASK_OF = {label: task for task, label in TASK_LABELS.items()}
FIGURE_LINE = re.compile(r"截至(\d+)月底(\S+?)完成 (\d+)/(\d+)，")
ZERO_TARGET_LINE = re.compile(r"\+\d+  (\S+?)全年目标为 0，")


@dataclass(frozen=True)
class Season:
    env: dict[str, str]
    config: Config
    app: Flask


@pytest.fixture(scope="module")
def season(tmp_path_factory, season_mail) -> Iterator[Season]:
    tmp = tmp_path_factory.mktemp("charts")
    env = import_season(tmp, f"sqlite:///{tmp}/mailroom.db", season_mail)
    config = load_config(CONFIG, environ=env)
    deps = open_deps(config)
    add_accounts(deps)
    try:
        yield Season(env, config, create_app(config, deps, secret_key="charts"))
    finally:
        deps.close()


def cli_json(season: Season, *args: str) -> dict:
    result = run(season.env, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def page(season: Season, path: str, account: str = "孙倩") -> str:
    client = season.app.test_client()
    assert log_in(client, account).status_code == 302
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def charts(html: str, kind: str) -> list[ET.Element]:
    """The page's SVG charts of one kind (the class after "chart"), parsed."""
    return [ET.fromstring(svg) for svg in re.findall(r"<svg\b.*?</svg>", html, re.S) if f'class="chart {kind}"' in svg]


def axis(chart: ET.Element, low: str, high: str, coordinate: str) -> tuple[float, float]:
    """Where the ticks labelled `low` and `high` stand on the chart's `coordinate` ("x" or "y")."""
    ticks = {tick.text: float(tick.get(coordinate)) for tick in chart.iter("text") if tick.get("class") == "tick"}
    return ticks[low], ticks[high]


def test_the_score_trend_is_the_standings_month_by_month(season):
    """GIVEN the standings of April to M by `mailroom standings --json` WHEN 月度排名 of M is read THEN a chart per
    unit in M's ranking, captioned with its rank and total, each month's point at that month's total on 0–100."""
    standings = {month: cli_json(season, "standings", "--month", month) for month in MONTHS}
    for last in CHECKPOINTS:
        drawn = charts(page(season, f"/standings?month={last}"), "trend-chart")
        ranking = standings[last]["units"]
        assert [chart.get("data-unit") for chart in drawn] == [row["unit"] for row in ranking]
        months = [month for month in MONTHS if month <= last]
        for chart, row in zip(drawn, ranking):
            unit = row["unit"]
            totals = {
                month: next(line["total"] for line in standings[month]["units"] if line["unit"] == unit)
                for month in months
            }
            dots = [dot for dot in chart.iter("circle") if dot.get("class") == "dot"]
            assert {dot.get("data-month"): int(dot.get("data-score")) for dot in dots} == totals, unit
            zero, full = axis(chart, "0", "100", "y")
            for dot in dots:
                assert float(dot.get("cy")) == pytest.approx(
                    zero + (full - zero) * int(dot.get("data-score")) / 100, abs=0.11
                ), (unit, dot.get("data-month"))
            xs = [float(dot.get("cx")) for dot in dots]
            assert all(later > earlier for earlier, later in zip(xs, xs[1:]))
            [line] = [line for line in chart.iter("polyline") if line.get("class") == "line"]
            assert line.get("points") == " ".join(f"{dot.get('cx')},{dot.get('cy')}" for dot in dots)
            [value] = [text for text in chart.iter("text") if text.get("class") == "value"]
            assert int(value.text) == row["total"]
            assert len([line for line in chart.iter("polyline") if line.get("class") == "others"]) == 12
        captions = re.findall(
            r"<figcaption>(\d+)\. <a [^>]*>([^<]+)</a> (\d+) 分</figcaption>", page(season, f"/standings?month={last}")
        )
        assert captions == [(str(row["rank"]), row["unit"], str(row["total"])) for row in ranking]


def test_the_grid_is_each_months_matrix(season):
    """GIVEN `mailroom matrix --month m --json` for April to December WHEN 报送矩阵 of December is read THEN a cell
    per unit and month with that package's status, as a colour class and as the status's first character,
    linking to that month's matrix; December's column outlined."""
    [grid] = charts(page(season, "/matrix?month=2020-12"), "status-grid")
    cells = {
        (rect.get("data-unit"), rect.get("data-month")): rect
        for rect in grid.iter("rect")
        if rect.get("class", "").startswith("cell ")
    }
    links = {
        (link[0].get("data-unit"), link[0].get("data-month")): link for link in grid.iter("a") if link[0].tag == "rect"
    }
    seen = set()
    for month in MONTHS:
        expected = cli_json(season, "matrix", "--month", month)["units"]
        for unit, package in expected.items():
            rect, link = cells[(unit, month)], links[(unit, month)]
            assert rect.get("data-status") == package["status"], (unit, month)
            assert rect.get("class") == f"cell status-{package['status']}"
            assert link[1].text == STATUS_NAMES[package["status"]][0]  # 按, 迟, 未
            assert link.get("href") == f"/matrix?month={month}"
            seen.add(package["status"])
    assert len(cells) == 13 * len(MONTHS) and seen == {"on_time", "late", "missing"}
    [outline] = [rect for rect in grid.iter("rect") if rect.get("class") == "current"]
    assert float(outline.get("x")) + 1 == float(cells[("桃城区", "2020-12")].get("x"))


def scored_figures(season: Season, unit: str) -> dict[tuple[str, str], tuple[int, int] | None]:
    """(checkpoint, task) → (完成数, target) as `mailroom explain UNIT --month 2020-12` scores them (None: the
    target is 0)."""
    result = run(season.env, "explain", unit, "--month", "2020-12")
    assert result.exit_code == 0, result.output
    figures: dict[tuple[str, str], tuple[int, int] | None] = {}
    checkpoint = None
    for line in result.output.splitlines():
        if heading := re.match(r"(二|三|四)季度(任务完成|超额完成)", line):
            checkpoint = {"二": "2020-06", "三": "2020-09", "四": "2020-12"}[heading.group(1)]
        elif found := FIGURE_LINE.search(line):
            figures[(checkpoint, TASK_OF[found.group(2)])] = (int(found.group(3)), int(found.group(4)))
        elif found := ZERO_TARGET_LINE.search(line):
            figures[(checkpoint, TASK_OF[found.group(1)])] = None
    return figures


def designed_done(plan: UnitPlan, month: str) -> dict[str, int]:
    """完成数 at the end of the month by the season's design: the month's package, or the correction that came
    in time (a correction's figures are the plan's curve, or the ones it names)."""
    number = int(month[5:])
    correction = CORRECTIONS.get((plan.name, number))
    if correction is not None and correction.arrival <= at(number, 30 if number in (6, 9) else 31, 23, 59, 59):
        return month_figures(plan, number, as_sent=False) | dict(correction.figures or {})
    return month_figures(plan, number)


def test_the_bars_are_the_figures_the_scoring_reads(season):
    """GIVEN what `mailroom explain` scores at the end of June, September and December WHEN 目标任务完成进度 of
    those months is read THEN a bar per unit and task holds the same 完成数 and target (the season's design), as
    long as 完成数 / target on the chart's own 0–100% ticks, and says so in text; a task without a target
    (上大学) has no bar but still says each unit's 完成数, which the digest counts too."""
    scored = {unit.name: scored_figures(season, unit.name) for unit in season.config.units}
    plans = {plan.name: plan for plan in PLANS}
    for month in CHECKPOINTS:
        drawn = charts(page(season, f"/progress?month={month}"), "progress-chart")
        tasks = TASKS if month >= "2020-09" else QUARTER_TASKS  # 上大学 from September
        assert len(drawn) == len(tasks)
        for chart, task in zip(drawn, tasks):
            without_target = 0
            zero, hundred = axis(chart, "0%", "100%", "x")
            rows = [row for row in chart.iter("g") if row.get("class") == "bar-row"]
            assert [row.get("data-unit") for row in rows] == [unit.name for unit in season.config.units]
            for row in rows:
                unit, target = row.get("data-unit"), int(row.get("data-target"))
                figure = scored[unit].get((month, task), scored[unit][("2020-12", task)])  # 上大学: December
                bars = list(row.iter("rect"))
                [text] = [text.text for text in row.iter("text") if text.get("class") == "figure"]
                done = int(row.get("data-done"))
                if figure is None:
                    assert target == 0 and bars == [] and text == f"完成 {done}（无年度目标）", (month, unit, task)
                    assert done == designed_done(plans[unit], month)[task], (month, unit, task)
                    without_target += done
                    continue
                assert (done, target) == figure, (month, unit, task)
                if task in QUARTER_TASKS:
                    assert done == designed_done(plans[unit], month)[task], (month, unit, task)
                [bar] = bars
                assert "over" not in bar.get("class")  # no unit is past 200%, where the scale ends
                assert float(bar.get("x")) == zero
                assert float(bar.get("width")) == pytest.approx((hundred - zero) * done / target, abs=0.11)
                assert text == f"{done} / {target}（{done / target:.1%}）"
            if task == "college":
                assert without_target > 0  # work done the chart once left out


def test_a_units_explanation_shows_its_own_bars(season):
    explained = charts(page(season, "/unit/景县?month=2020-09"), "progress-chart")
    compared = charts(page(season, "/progress?month=2020-09"), "progress-chart")
    [own] = explained
    mine = {
        row.get("data-task"): (row.get("data-done"), row.get("data-target"))
        for row in own.iter("g")
        if row.get("class") == "bar-row"
    }
    theirs = {
        row.get("data-task"): (row.get("data-done"), row.get("data-target"))
        for chart in compared
        for row in chart.iter("g")
        if row.get("class") == "bar-row" and row.get("data-unit") == "景县"
    }
    assert mine == theirs and list(mine) == list(TASKS)


def test_a_masked_auditor_sees_the_same_charts(season):
    """Nothing a chart shows is personal, and masking (which every rendered value passes) leaves every
    coordinate as it is."""
    for path in (
        "/standings?month=2020-12",
        "/matrix?month=2020-12",
        "/progress?month=2020-12",
        "/unit/桃城区?month=2020-12",
    ):
        staff, auditor = page(season, path), page(season, path, "审计员")
        assert re.findall(r"<svg\b.*?</svg>", staff, re.S) == re.findall(r"<svg\b.*?</svg>", auditor, re.S), path


def test_before_the_first_report_month_there_is_no_page_to_chart(season):
    """2020-03 lies before the plan's first report month: no plan covers it, so there is no page (and no chart)
    for it, and April's charts start at April."""
    client = season.app.test_client()
    assert log_in(client, "孙倩").status_code == 302
    for path in ("/standings?month=2020-03", "/matrix?month=2020-03"):
        response = client.get(path)
        assert response.status_code == 404 and "2020-03 不在任何年度计划内" in response.get_data(as_text=True)
    [grid] = charts(page(season, "/matrix?month=2020-04"), "status-grid")
    assert "2020-03" not in ET.tostring(grid, encoding="unicode")


# ---------------------------------------------------------------------------------------------
# In Chromium


CHART_PAGES = (
    "/standings?month=2020-12",
    "/matrix?month=2020-12",
    "/progress?month=2020-12",
    "/unit/景县?month=2020-12",
)
DRAWN = """() => [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    const painted = [...svg.querySelectorAll('circle.dot, polyline.line, rect.cell, rect.bar')].map(shape => {
        const style = getComputedStyle(shape);
        return {fill: style.fill, stroke: style.stroke, width: shape.getBoundingClientRect().width,
                status: shape.dataset.status || null};
    });
    const texts = [...svg.querySelectorAll('text')].filter(text => text.getBoundingClientRect().width > 0).length;
    return {kind: svg.getAttribute('class'), label: svg.getAttribute('aria-label'), width: box.width,
            height: box.height, painted, texts,
            exact: getComputedStyle(svg).printColorAdjust};
})"""


def test_chromium_draws_the_charts_on_screen_and_in_print(season):
    """GIVEN the pages served on loopback WHEN Chromium shows them THEN every chart has a size, every shape is
    painted (a status cell in its legend's colour) and labelled, no policy violation is reported; printed, the
    menu goes and the charts stay, in colour, with their text."""
    with serving(season.app) as url, chromium() as browser:
        page = sign_in(browser, url, "审计员", PASSWORD)
        complaints: list[str] = []
        page.on("console", lambda message: complaints.append(message.text))
        for media in ("screen", "print"):
            page.emulate_media(media=media)
            for path in CHART_PAGES:
                page.goto(url + path)
                drawn = page.evaluate(DRAWN)
                assert drawn, path
                for chart in drawn:
                    assert chart["width"] > 100 and chart["height"] > 50 and chart["texts"] > 5, (path, chart["kind"])
                    assert chart["painted"] or chart["label"].count("（无年度目标）") == 13, chart["label"]  # 上大学
                    for shape in chart["painted"]:
                        assert shape["width"] > 0 and (
                            shape["fill"] not in ("none", "rgba(0, 0, 0, 0)") or shape["stroke"] != "none"
                        ), (path, shape)
                if path.startswith("/matrix"):
                    legend = dict(
                        page.evaluate("""() => [...document.querySelectorAll('.legend .swatch')]
                        .map(e => [e.dataset.status, getComputedStyle(e).backgroundColor])""")
                    )
                    cells = [shape for chart in drawn for shape in chart["painted"] if shape["status"]]
                    assert len(cells) == 13 * len(MONTHS)
                    assert all(shape["fill"] == legend[shape["status"]] for shape in cells)
                if media == "print":
                    assert page.locator("header.top").is_hidden() and page.locator("form.month").is_hidden()
                    assert all(chart["exact"] == "exact" for chart in drawn)
        page.context.close()
    assert not [text for text in complaints if "Content Security Policy" in text or "Refused" in text], complaints


# ---------------------------------------------------------------------------------------------
# The layout alone


def test_a_bar_past_the_scales_end_stops_there_and_says_how_far():
    """GIVEN one unit at 300% of its target WHEN the bars are laid out THEN the scale ends at 200% (the others
    keep their length), that bar is cut at the end and marked, and its text gives the whole figure."""
    far = UnitCompletion("甲县", (task_figure("rehab", 10, 30),), message_id=1)
    near = UnitCompletion("乙县", (task_figure("rehab", 10, 5),), message_id=2)
    none = UnitCompletion("丙县", (task_figure("rehab", 10, None),))
    chart = bars_by_task((far, near, none), ("rehab",), (("二季度 50%", 0.5), ("三季度 100%", 1.0)))
    [panel] = chart.panels
    bars = {bar.unit: bar for bar in panel.bars}
    track = chart.track.end - chart.track.start
    assert chart.track.top == 2.0 and [tick.label for tick in chart.ticks] == ["0%", "50%", "100%", "150%", "200%"]
    assert bars["甲县"].over and bars["甲县"].length == track and bars["甲县"].text == "30 / 10（300.0%）"
    assert not bars["乙县"].over and bars["乙县"].length == track / 4 and bars["乙县"].text == "5 / 10（50.0%）"
    assert bars["丙县"].length == 0 and bars["丙县"].text == "未收到附件2"
    assert [(mark.label, mark.at) for mark in chart.marks] == [
        ("二季度 50%", chart.track(0.5)),
        ("三季度 100%", chart.track(1.0)),
    ]


def test_a_task_without_a_target_says_the_work_done_without_a_bar():
    """GIVEN a task whose annual target is 0 WHEN the bars are laid out THEN a unit that did such work has no
    bar (there is no share) but its 完成数 is said; one whose 附件2 is missing or left the task blank says so."""
    did = UnitCompletion("甲县", (task_figure("college", 0, 3),), message_id=1)
    blank = UnitCompletion("乙县", (task_figure("college", 0, None),), message_id=2)
    missing = UnitCompletion("丙县", (task_figure("college", 0, None),))
    [panel] = bars_by_task((did, blank, missing), ("college",), ()).panels
    bars = {bar.unit: bar for bar in panel.bars}
    assert [(bar.length, bar.share, bar.over) for bar in panel.bars] == [(0.0, None, False)] * 3
    assert bars["甲县"].text == "完成 3（无年度目标）" and bars["甲县"].done == 3
    assert bars["乙县"].text == "附件2未填报"
    assert bars["丙县"].text == "未收到附件2"


def test_the_ranking_bars_are_whole_pixels_of_full_marks():
    rows = [SimpleNamespace(unit="甲县", rank=1, total=87), SimpleNamespace(unit="乙县", rank=2, total=0)]
    chart = ranking_bars(rows, full=100, track=240)
    assert [(bar.unit, bar.filled, bar.rest) for bar in chart.bars] == [("甲县", 209, 31), ("乙县", 0, 240)]


def test_one_month_of_trend_is_a_point_in_the_middle():
    standings = standings_of("2020-04", (("甲县", 2), ("乙县", 0)))
    chart = score_trend([standings], full=100)
    [first, second] = chart.lines
    assert (first.unit, first.rank, first.total) == ("甲县", 1, 2) and len(first.points) == 1
    assert first.last.x == (chart.frame.left + chart.frame.plot_right) / 2 and [t.label for t in chart.months] == [
        "4月"
    ]
    assert second.last.y == chart.frame.plot_bottom and first.last.y < second.last.y


def standings_of(month: str, totals: tuple[tuple[str, int], ...]) -> Standings:
    """Standings of the given totals, without components."""
    return Standings(
        month,
        datetime(2020, 4, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
        tuple(UnitStanding(unit, total, position, ()) for unit, total, position in rank(list(totals))),
    )
