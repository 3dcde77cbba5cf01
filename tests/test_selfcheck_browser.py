"""The 自查 page as a unit's clerk uses it: Debian's headless Chromium (Playwright) against the app served by
waitress (bot/web/server.py, the server `mailroom web` runs) on a loopback port, on the embedded default."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from archive.users import add_user
from bot.daemon.deps import open_deps
from bot.services.inspect import describe, inspect_untrusted
from bot.web.app import create_app
from tests.browser import chromium
from tests.conftest import make_config
from tests.webapp import BOOKS, PASSWORD, PERSON, fill_archive, waitress_serving

CLERK = "景县填报员"
FILES = ("summary-jing-xian-with-space.xls", "bad-ids-and-phones.xlsx")


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, object]]:
    tmp = tmp_path_factory.mktemp("selfcheck")
    config = make_config(tmp, f"sqlite:///{tmp}/mailroom.db")
    deps = open_deps(config)
    fill_archive(deps)  # an archive with 枣强县's package (王斐) in it: the clerk must see none of it
    with deps.db.session() as session:
        add_user(session, CLERK, PASSWORD, "unit", unit="景县")
    try:
        with waitress_serving(create_app(config, deps, secret_key="browser tests")) as port:
            yield f"http://127.0.0.1:{port}", config
    finally:
        deps.close()


def test_a_clerk_sees_nothing_but_the_inspection_of_their_own_files(served, tmp_path):
    """GIVEN 景县's clerk in Chromium WHEN they sign in THEN they land on 自查, whose menu offers nothing else;
    WHEN they choose a 附件2 and a faulty 附件3 (桃城区's) and press 检查 THEN the page shows what the inspection
    says of those files as 景县's, line for line, and what that comes to, and nothing of the archive; the
    search page and a message are refused."""
    url, config = served
    for name in FILES:
        (tmp_path / name).write_bytes((BOOKS / name).read_bytes())
    with chromium() as browser:
        page = browser.new_context().new_page()
        page.goto(url + "/")
        page.fill("input[name=name]", CLERK)
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('登录')")
        page.wait_for_url(url + "/selfcheck")
        assert page.locator("nav a").all_inner_texts() == ["自查"]
        assert "景县填报员（填报单位 景县）" in page.locator(".who").inner_text()
        page.set_input_files("input[name=files]", [str(tmp_path / name) for name in FILES])
        page.click("button:has-text('检查')")
        page.wait_for_selector("h2:has-text('检查结果')")
        shown = [line.strip() for line in page.locator(".inspected p.file, .inspected li").all_inner_texts()]
        files = [(name, (BOOKS / name).read_bytes()) for name in FILES]
        assert shown == [
            line.strip()
            for result in inspect_untrusted(files, config, None, "景县")  # the inspection, read here
            for line in describe(result)
        ]
        assert "问题：表中写的单位是桃城区，而您单位是景县；请核对是否选错了文件" in shown
        assert page.locator(".conclusion p").all_inner_texts() == [
            "发现问题：请按上面的提示修改后再检查一次。",
            "这些文件属于不同月份（2020年4月：bad-ids-and-phones.xlsx；2020年5月：summary-jing-xian-with-space.xls），已按月份分别检查；如不是一并补报几个月，请核对标题中的月份（可能是沿用了上个月的表格）。",
        ]
        text = page.locator("main").inner_text()
        assert PERSON not in text and "枣强县" not in text
        for path in ("/search", "/message/1", "/standings", "/matrix", "/queue", "/message/1/original.eml"):
            response = page.goto(url + path)
            assert response.status == 403, path
            assert "填报单位账号只能使用“自查”页面" in page.locator("main").inner_text()
            assert PERSON not in page.content() and not re.search(r"枣强县4月份报表", page.content())
