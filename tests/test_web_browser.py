"""The web app as people use it: Debian's headless Chromium (Playwright) against the app served on a loopback
port, on the embedded default (SQLite; the pages' PostgreSQL side is covered by tests/test_web.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archive.evidence import load_evidence
from archive.models import Message
from bot.config import Config
from bot.daemon.deps import Deps, open_deps
from bot.services.scores import matrix_json, month_matrix
from bot.web.app import create_app
from tests.browser import chromium, serving, sign_in
from tests.conftest import make_config
from tests.webapp import PASSWORD, PERSON, PERSON_ID, PERSON_ID_MASKED, Archive, add_accounts, fill_archive

TITLE_SUFFIX = " · 衡水市残联残疾人服务工程督导系统"


@dataclass(frozen=True)
class Served:
    url: str
    config: Config
    deps: Deps
    archive: Archive


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    """The app on a free loopback port over an archive of the sample messages."""
    tmp = tmp_path_factory.mktemp("web")
    config = make_config(tmp, f"sqlite:///{tmp}/mailroom.db")
    deps = open_deps(config)
    archive = fill_archive(deps)
    add_accounts(deps)
    try:
        with serving(create_app(config, deps, secret_key="browser tests")) as url:
            yield Served(url, config, deps, archive)
    finally:
        deps.close()


@pytest.fixture(scope="module")
def browser():
    with chromium() as opened:
        yield opened


def signed_in(browser, served: Served, name: str):
    return sign_in(browser, served.url, name, PASSWORD)


def test_log_in_find_a_name_open_the_message_and_download_the_original(browser, served):
    page = signed_in(browser, served, "孙倩")
    page.fill("input[name=q]", PERSON)
    page.click("button:has-text('检索')")
    page.wait_for_url("**/search?q=*")
    results = page.locator("table.results a.subject")
    assert results.count() == 1 and "枣强县4月份报表" in results.first.inner_text()
    results.first.click()
    page.wait_for_url(f"**/message/{served.archive.package}?q=*")
    assert PERSON in page.locator("table.parsed").inner_text()
    assert page.locator("mark.hit").first.inner_text() == PERSON and page.locator("mark.hit").first.is_visible()
    page.click("#hits a")  # 第一处: the person, in the registry, opened and in view
    assert page.locator("#hit-1").is_visible() and page.url.endswith("#hit-1")
    page.click("text=← 归档检索")  # back to the search it came from
    page.wait_for_url("**/search?q=*")
    assert page.locator("input[name=q]").input_value() == PERSON
    page.go_back()
    with page.expect_download() as info:
        page.click("#download-eml")
    download = info.value
    with served.deps.db.session() as session:
        sha = session.get(Message, served.archive.package).sha256
    assert Path(download.path()).read_bytes() == served.deps.store.read_message(sha)
    assert download.suggested_filename == f"邮件{served.archive.package}.eml"  # the RFC 5987 name, decoded
    page.click("nav a:has-text('核查发现')")
    page.wait_for_url("**/findings")
    assert page.locator("h1").inner_text() == "核查发现"
    page.context.close()


def test_an_auditor_sees_masked_ids_where_staff_see_them_whole(browser, served):
    path = f"{served.url}/message/{served.archive.package}"
    shown = {}
    for name in ("孙倩", "审计员"):
        page = signed_in(browser, served, name)
        page.goto(path)
        row = page.locator("table.parsed tr", has_text=PERSON)
        # 工作表, 行, 姓名, 残疾人证号: the fourth cell
        shown[name] = (row.locator("td").nth(3).inner_text(), page.locator("body").inner_text())
        page.context.close()
    assert shown["孙倩"][0] == PERSON_ID
    assert shown["审计员"][0] == PERSON_ID_MASKED
    assert PERSON_ID not in shown["审计员"][1] and "下载原始邮件" not in shown["审计员"][1]


def test_a_script_in_a_message_never_runs(browser, served):
    page = signed_in(browser, served, "孙倩")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    for message_id in (served.archive.html_script, served.archive.text_script):
        page.goto(f"{served.url}/message/{message_id}")
        page.wait_for_load_state("load")
        assert page.title() == f"邮件 #{message_id}{TITLE_SUFFIX}"
        assert page.evaluate("() => window.pwned") is None
        assert page.locator("main script, main img, main iframe").count() == 0
    assert "<script>window.pwned=true</script>" in page.locator("#body").inner_text()  # shown as text
    assert dialogs == []
    page.context.close()


def test_the_matrix_cells_are_coloured_by_their_status(browser, served):
    month = "2020-04"
    with served.deps.db.session() as session:
        evidence = load_evidence(session)
    expected = matrix_json(month, month_matrix(served.config, evidence, month, datetime.now(UTC)))["units"]
    page = signed_in(browser, served, "审计员")
    page.goto(f"{served.url}/matrix?month={month}")
    shown = page.evaluate("""() => ({
        legend: Object.fromEntries([...document.querySelectorAll('.legend .swatch')]
            .map(e => [e.dataset.status, getComputedStyle(e).backgroundColor])),
        cells: [...document.querySelectorAll('td.cell')].map(e => ({
            unit: e.dataset.unit, form: e.dataset.form, colour: getComputedStyle(e).backgroundColor,
            href: e.querySelector('a') ? e.querySelector('a').getAttribute('href') : null}))})""")
    page.context.close()
    legend = shown["legend"]
    assert set(legend) == {"on_time", "late", "missing"} and len(set(legend.values())) == 3
    assert "rgba(0, 0, 0, 0)" not in legend.values()
    seen_statuses = set()
    for cell in shown["cells"]:
        package = expected[cell["unit"]]
        status = package["status"] if cell["form"] == "all" else package["forms"][cell["form"]]["status"]
        seen_statuses.add(status)
        assert cell["colour"] == legend[status], cell
        if cell["form"] != "all":
            message_id = package["forms"][cell["form"]]["message_id"]
            assert cell["href"] == (f"/message/{message_id}" if message_id else None), cell
    assert seen_statuses == {"on_time", "late", "missing"}
    assert len(shown["cells"]) == sum(len(package["forms"]) + 1 for package in expected.values())


def test_the_matrix_prints_across_the_page_and_a_search_down_it(browser, served):
    """GIVEN the month's matrix (13 units by the forms, and the year's grid) WHEN printed THEN on A4 landscape
    pages (a tester found it cramped on portrait); the other pages print as before, on portrait."""
    page = signed_in(browser, served, "孙倩")
    for path, across in (("/matrix?month=2020-04", True), ("/search", False)):
        page.goto(served.url + path)
        boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", page.pdf(prefer_css_page_size=True))
        assert boxes and all((float(width) > float(height)) == across for width, height in boxes), (path, boxes)


def test_every_field_a_staff_member_fills_has_a_name_a_screen_reader_reads(browser, served):
    """A placeholder is not a label: it is gone once the field holds text, and many readers skip it."""
    page = signed_in(browser, served, "孙倩")
    unnamed: dict[str, list[str]] = {}
    counted = 0
    for path in ("/queue", "/entries", f"/message/{served.archive.package}", "/search", "/selfcheck"):
        page.goto(served.url + path)
        fields = page.evaluate("""() => [...document.querySelectorAll('main input, main select, main textarea')]
            .filter(e => e.type !== 'hidden' && e.type !== 'submit')
            .map(e => ({name: e.name, named: e.labels.length > 0 || !!e.getAttribute('aria-label')}))""")
        counted += len(fields)
        unnamed[path] = [field["name"] for field in fields if not field["named"]]
    page.context.close()
    assert counted >= 10  # the pages hold the forms this is about (the queue's, the correction's, the entries')
    assert unnamed == {path: [] for path in unnamed}


@pytest.mark.parametrize("path", ["/queue", "/standings?month=2020-04", "/search?q=报表", "/message/{package}"])
def test_on_a_phone_the_page_never_scrolls_sideways_and_its_tables_scroll_in_their_own_box(browser, served, path):
    """GIVEN staff on a phone (375 × 667) WHEN they open 待处理, the standings, a search and a message THEN the page
    itself is no wider than the screen (the menu stays in view), while a table wider than the screen scrolls in its
    own box: 待处理 was 1,181 px wide, its actions 800 px off-screen, and headers stood one character a line."""
    page = signed_in(browser, served, "孙倩")
    page.set_viewport_size({"width": 375, "height": 667})
    page.goto(served.url + path.format(package=served.archive.package))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    boxes = page.evaluate(
        "[...document.querySelectorAll('main table')].map(t => [t.clientWidth, getComputedStyle(t).overflowX])"
    )
    assert boxes and all(width <= 375 and overflow == "auto" for width, overflow in boxes)
    page.context.close()


@pytest.mark.parametrize(
    "path, width",
    [("/standings?month=2020-04", 718), ("/matrix?month=2020-04", 1047), ("/message/{package}", 718)],
)
def test_a_printed_table_keeps_every_column_on_the_paper(browser, served, path, width):
    """GIVEN the standings, the matrix (landscape) and a message WHEN printed on A4 with a centimetre's margins (718
    CSS px across a portrait page, 1047 landscape) THEN every table is laid out whole within the paper, where the
    phone's rule (max-width 760 px, which paper matched) put each in a box that scrolled, and print cut off the
    standings' last two columns and the matrix's 附件9 and 附件10 without a word."""
    page = signed_in(browser, served, "孙倩")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": width, "height": 1000})
    page.goto(served.url + path.format(package=served.archive.package))
    cut = page.evaluate(
        """() => [...document.querySelectorAll('main table')]
            .filter(t => t.scrollWidth > t.clientWidth + 1 || t.getBoundingClientRect().right > innerWidth + 1)
            .map(t => t.className + ' ' + t.scrollWidth + '/' + t.clientWidth)"""
    )
    assert page.locator("main table").count() and cut == []
    page.context.close()


def test_a_refused_correction_says_why_in_view_where_the_page_opens(browser, served):
    """GIVEN staff correcting a message with a reason and nothing chosen WHEN refused THEN the page opens on why, in
    view and announced (role alert), the reason field described by it, where it opened on the form and the words
    stood just above the window's top: the form came back as typed and nothing seemed to have failed."""
    page = signed_in(browser, served, "孙倩")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{served.url}/message/{served.archive.text_script}")
    page.fill("#correct input[name=reason]", "单位来电说明")
    page.press("#correct input[name=reason]", "Enter")
    page.wait_for_url("**#correcting")
    why = page.locator("#correcting [role=alert]")
    box = why.bounding_box()
    assert "未更正" in why.inner_text() and box and box["y"] >= 0 and box["y"] + box["height"] <= 768
    described = page.get_attribute("#correcting input[name=reason]", "aria-describedby")
    assert described == why.get_attribute("id")
    page.context.close()


def test_a_failed_login_is_announced_and_describes_the_fields(browser, served):
    context = browser.new_context()
    page = context.new_page()
    page.goto(served.url + "/login")
    page.fill("input[name=name]", "孙倩")
    page.fill("input[name=password]", "not the password")
    page.press("input[name=password]", "Enter")
    alert = page.locator("[role=alert]")
    alert.wait_for()
    assert "账号或密码" in alert.inner_text()
    for field in ("name", "password"):
        assert page.get_attribute(f"input[name={field}]", "aria-describedby") == alert.get_attribute("id")
    context.close()


def test_the_standings_tell_a_component_not_yet_scored_from_a_zero_as_the_cli_does(browser, served):
    """GIVEN April's standings (the quarters not yet scored) WHEN read THEN such a component is "—", in a grey that
    reads (4.5:1 at least; the link's blue hid the grey meant for it, and 0 looked like a zero earned), each row
    headed by its unit for a screen reader going down a column."""
    page = signed_in(browser, served, "审计员")
    page.goto(f"{served.url}/standings?month=2020-04")
    shown = page.evaluate(
        """() => {
            const rgb = c => c.match(/\\d+/g).slice(0, 3).map(Number).map(v => v / 255)
                .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
            const lum = c => { const [r, g, b] = rgb(c); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
            const open = [...document.querySelectorAll('table.standings td.open a')];
            return {
                texts: [...new Set(open.map(a => a.textContent.trim()))],
                contrast: Math.min(...open.map(a => 1.05 / (lum(getComputedStyle(a).color) + 0.05))),
                grey: open.length ? getComputedStyle(open[0]).color : null,
                blue: getComputedStyle(document.querySelector('table.standings tbody th a')).color,
                heads: [...document.querySelectorAll('table.standings tbody tr')]
                    .map(tr => tr.children[1].tagName + ':' + tr.children[1].getAttribute('scope')),
            };
        }"""
    )
    page.context.close()
    assert shown["texts"] == ["—"] and shown["contrast"] >= 4.5 and shown["grey"] != shown["blue"]
    assert shown["heads"] and set(shown["heads"]) == {"TH:row"}


def test_the_year_grid_above_the_matrix_is_no_wall_of_tab_stops(browser, served):
    """The grid's cells link to their month's matrix as its month headers do: only the headers take the keyboard's
    focus (a keyboard user tabbed past every unit's every month to reach the month's table)."""
    page = signed_in(browser, served, "孙倩")
    page.goto(f"{served.url}/matrix?month=2020-04")
    stops = page.evaluate(
        """() => [...document.querySelectorAll('svg.status-grid a')].filter(a => a.tabIndex >= 0).length"""
    )
    months = page.locator("svg.status-grid text.tick").count()
    assert months and stops == months
    page.context.close()
