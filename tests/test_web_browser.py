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
