"""The 自查 page through Flask's test client, on SQLite and PostgreSQL: a unit's clerk uploads files and sees
exactly what `mailroom inspect` says of them, nothing is stored, uploads are bounded, and every other page and
download of the archive is refused to that role."""

from __future__ import annotations

import dataclasses
import io
import re
import threading
from datetime import UTC, datetime
from html import unescape

import pytest
from sqlalchemy import func, select

from archive.models import Message
from archive.users import add_user
from bot.services.inspect import describe, inspect_untrusted
from bot.services.readers import SandboxLimits
from bot.web.app import UPLOAD_BYTES, create_app
from tests.webapp import BOOKS, PASSWORD, add_accounts, csrf_token, fill_archive, log_in

CLERK = "景县填报员"
WUYI_CLERK = "武邑县填报员"
FILES = ("summary-jing-xian-with-space.xls", "bad-ids-and-phones.xlsx", "progress-report.docx")


@pytest.fixture
def site(config, deps):
    archive = fill_archive(deps)
    add_accounts(deps)
    with deps.db.session() as session:
        add_user(session, CLERK, PASSWORD, "unit", unit="景县")
        add_user(session, WUYI_CLERK, PASSWORD, "unit", unit="武邑县")
    app = create_app(
        config,
        dataclasses.replace(deps, clock=lambda: datetime(2020, 5, 1, tzinfo=UTC)),
        secret_key="test secret",
    )
    return app, deps, archive


def clerk(app, name: str = CLERK):
    client = app.test_client()
    response = log_in(client, name)
    assert response.status_code == 302 and response.location == "/selfcheck"
    return client


def upload(client, files: dict[str, bytes]):
    token = csrf_token(client.get("/selfcheck").get_data(as_text=True))
    data = {"csrf_token": token, "files": [(io.BytesIO(content), name) for name, content in files.items()]}
    return client.post("/selfcheck", data=data, content_type="multipart/form-data")


def shown_lines(html: str) -> list[str]:
    """The results as lines: each file's heading, then its facts and problems, as `describe` writes them."""
    results = html[html.index("<h2>检查结果</h2>") :]
    return [
        unescape(text).strip()
        for text in re.findall(r'<p class="file">(.*?)</p>|<li>(.*?)</li>', results)
        for text in text
        if text
    ]


def test_a_clerk_sees_exactly_what_inspect_says_and_nothing_is_stored(site):
    """GIVEN 景县's clerk WHEN they upload a 附件2, a 附件3 full of mistakes and a 附件1 THEN the page shows, line
    for line, what the inspection says of the same files as 景县's (a malformed ID quoted masked, as every
    problem quotes it; the 附件3 and 附件1 are 桃城区's, which is said), and the archive holds no more messages or
    files than before."""
    app, deps, _ = site
    config = app.extensions["mailroom"].config
    files = {name: (BOOKS / name).read_bytes() for name in FILES}
    with deps.db.session() as session:
        before = session.scalar(select(func.count()).select_from(Message))
    stored_before = sorted(path.name for path in deps.store.root.rglob("*") if path.is_file())
    response = upload(clerk(app), files)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    expected = [
        line.strip()
        for result in inspect_untrusted(list(files.items()), config, None, "景县")  # the inspection, read here
        for line in describe(result)
    ]
    assert shown_lines(html) == expected
    assert expected.count("问题：表中写的单位是桃城区，而您单位是景县；请核对是否选错了文件") == 2
    # masked as for any viewer without the personal grant: the row and column say which cell, and the text
    # goes by mail too
    assert "残疾人证号“131102**********1042”的前 18 位（身份证号）校验位不对" in html
    assert "发现问题：请按上面的提示修改后再检查一次。" in html
    with deps.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == before
    assert sorted(path.name for path in deps.store.root.rglob("*") if path.is_file()) == stored_before


def conclusion_lines(html: str) -> list[str]:
    block = html[html.index('<div class="conclusion">') :]
    return [unescape(text) for text in re.findall(r"<p[^>]*>(.*?)</p>", block[: block.index("</div>")])]


def test_a_clean_file_says_only_what_was_checked_and_what_the_month_still_needs(site):
    """GIVEN 武邑县's clerk WHEN they check a clean 附件4 of April THEN the page says the file checked holds no
    problem and which of April's forms were not among the files, never that the month may be sent."""
    app, _, _ = site
    response = upload(clerk(app, WUYI_CLERK), {"附件4.xls": (BOOKS / "done-vs-registry-devices.xls").read_bytes()})
    html = response.get_data(as_text=True)
    assert "附件4.xls：附件4 " in html and "可以正式报送" not in html
    assert conclusion_lines(html) == [
        "所检查的文件未发现问题。",
        "本次未包含武邑县2020年4月应报送的附件1、附件2、附件3、附件5、附件6、附件7、附件8（正式报送时请一并发送）。",
    ]
    assert '<p class="note ok">所检查的文件未发现问题。</p>' in html


def test_another_units_forms_are_a_problem_for_a_clerk(site):
    """GIVEN 景县's clerk WHEN they upload 桃城区's clean 附件2 and 武邑县's clean 附件4 THEN each says whose it is
    and asks whether the wrong file was chosen, and the page says problems were found, not that all is well."""
    app, _, _ = site
    files = {
        name: (BOOKS / name).read_bytes() for name in ("summary-unit-row-only.xlsx", "done-vs-registry-devices.xls")
    }
    html = upload(clerk(app), files).get_data(as_text=True)
    lines = shown_lines(html)
    assert "问题：表中写的单位是桃城区，而您单位是景县；请核对是否选错了文件" in lines
    assert "问题：表中写的单位是武邑县，而您单位是景县；请核对是否选错了文件" in lines
    assert "未发现问题" not in html
    assert conclusion_lines(html) == ["发现问题：请按上面的提示修改后再检查一次。"]


def test_two_months_checked_together_are_checked_apart_and_said_so(site):
    """GIVEN 武邑县's clerk WHEN they check November's 附件2 with April's 附件3 THEN November's figures are not
    held against April's registry, and the page says the files are of two months, checked month by month."""
    from tests.test_inspect import APRIL_REHAB, NOVEMBER_SUMMARY

    app, _, _ = site
    html = upload(clerk(app, WUYI_CLERK), dict([NOVEMBER_SUMMARY, APRIL_REHAB])).get_data(as_text=True)
    assert "登记了" not in html
    assert conclusion_lines(html) == [
        "所检查的文件未发现问题。",
        "这些文件属于不同月份（2020年4月：附件3-4月.xlsx；2020年11月：附件2-11月.xlsx），已按月份分别检查；如不是一并补报几个月，请核对标题中的月份（可能是沿用了上个月的表格）。",
    ]


def test_uploads_are_bounded(site):
    """Nothing chosen, or more than UPLOAD_BYTES at once: a Chinese answer on the page, nothing read; the
    limits are said on the page before a clerk meets them."""
    app, _, _ = site
    client = clerk(app)
    assert "一次最多 20 个文件，合计不超过 20 MB" in client.get("/selfcheck").get_data(as_text=True)
    assert "请先选择要检查的文件" in upload(client, {}).get_data(as_text=True)
    too_big = upload(client, {"大.xlsx": b"\0" * (UPLOAD_BYTES + 1)})
    assert too_big.status_code == 413 and "合计不能超过 20 MB" in too_big.get_data(as_text=True)


def test_every_other_page_and_download_is_refused_to_a_clerk(site):
    """GIVEN 景县's clerk signed in WHEN they ask for any page of the app but 自查 (every route, every method,
    with ids of real messages, attachments, readings, entries) THEN each is refused with 403 and a Chinese
    line, and the menu offers 自查 alone."""
    app, deps, archive = site
    client = clerk(app)
    token = csrf_token(client.get("/selfcheck").get_data(as_text=True))
    values = {
        "message_id": archive.package,
        "ordinal": 0,
        "reading_id": 1,
        "entry_id": 1,
        "correction_id": 1,
        "sender_id": 1,
        "name": "景县",
        "filename": "mailroom.css",
    }
    allowed = {"selfcheck.selfcheck_page", "auth.logout", "auth.login", "auth.favicon", "static", "archive.home"}
    asked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in allowed:
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = re.sub(rf"<(?:[a-z]+:)?{argument}>", str(values[argument]), path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
            assert response.status_code == 403, (method, path, response.status_code)
            assert "填报单位账号只能使用“自查”页面" in response.get_data(as_text=True)
            asked += 1
    assert asked >= 15  # every page, download and form of the archive
    assert client.get("/").location == "/selfcheck"
    menu = client.get("/selfcheck").get_data(as_text=True)
    nav = menu[menu.index("<nav>") : menu.index("</nav>")]
    assert "自查" in nav and "归档检索" not in nav and "月度排名" not in nav
    assert "景县填报员（填报单位 景县）" in menu


class HeldSandbox:
    """The reader sandbox as the web app uses it (`run`, `failed`, `limits`), each call held until released: a
    check that takes a while, as a large workbook does."""

    failed = (TimeoutError,)

    def __init__(self, workers: int):
        self.limits = SandboxLimits(workers=workers)
        self.started, self.release = threading.Semaphore(0), threading.Event()

    def run(self, function, *args):
        self.started.release()
        self.release.wait(30)
        return function(*args)


def test_checks_at_once_are_bounded_and_one_that_finds_no_room_is_answered_at_once(config, deps):
    """GIVEN a reader sandbox of two workers, and 景县's clerk and 武邑县's clerk each checking a file (held in the
    readers) WHEN 景县's clerk submits again, and staff submit a file THEN each is answered at once, 景县 that its
    last check is still running (429), staff that the checks are busy (503), both with Retry-After, and the other
    pages still answer; once the two checks end, each has its result and staff's next check runs."""
    add_accounts(deps)
    with deps.db.session() as session:
        add_user(session, CLERK, PASSWORD, "unit", unit="景县")
        add_user(session, WUYI_CLERK, PASSWORD, "unit", unit="武邑县")
    held = HeldSandbox(workers=2)
    app = create_app(config, dataclasses.replace(deps, sandbox=held), secret_key="test secret")
    workbook = {"附件3.xlsx": (BOOKS / "bad-ids-and-phones.xlsx").read_bytes()}
    jing, wuyi, staff = clerk(app), clerk(app, WUYI_CLERK), app.test_client()
    log_in(staff, "孙倩")
    answers: dict[str, int] = {}

    def check(who: str, client) -> None:
        answers[who] = upload(client, workbook).status_code

    running = [threading.Thread(target=check, args=pair) for pair in (("jing", jing), ("wuyi", wuyi))]
    for thread in running:
        thread.start()
    assert held.started.acquire(timeout=30) and held.started.acquire(timeout=30)
    again, busy = upload(jing, workbook), upload(staff, workbook)
    assert again.status_code == 429 and "本账号上一次提交的文件还在检查中" in again.get_data(as_text=True)
    assert busy.status_code == 503 and "系统正忙" in busy.get_data(as_text=True)
    assert again.headers["Retry-After"] == busy.headers["Retry-After"] == "30"
    assert staff.get("/standings").status_code == 200
    held.release.set()
    for thread in running:
        thread.join(60)
    assert answers == {"jing": 200, "wuyi": 200}
    assert upload(staff, workbook).status_code == 200
