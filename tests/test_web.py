"""The web app through Flask's test client, on SQLite and PostgreSQL: logging in, throttled failures, CSRF,
roles, sessions that die with a new password, role or grant, masking of personal numbers, downloads byte for
byte, the 核查发现 page, and the safety headers."""

import dataclasses
import email
import email.policy
import io
import os
import re
import stat
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest

from archive.fulltext import index_messages, unindex_messages
from archive.models import Message
from archive.users import remove_user, set_access, set_password
from bot.web.app import CONTENT_SECURITY_POLICY, create_app, load_secret_key, secret_path
from parsers.errors import ConfigError
from tests.conftest import make_config
from tests.webapp import (
    BODY_PHONE,
    BODY_PHONE_MASKED,
    PASSWORD,
    PERSON,
    PERSON_ID,
    PERSON_ID_MASKED,
    SHANGHAI,
    _message,
    add_accounts,
    csrf_token,
    fill_archive,
    log_in,
    share_person,
    store_one,
)


class Clock:
    def __init__(self):
        self.now = datetime(2020, 5, 1, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def site(config, deps, clock):
    archive = fill_archive(deps)
    add_accounts(deps)
    app = create_app(config, dataclasses.replace(deps, clock=clock), secret_key="test secret")
    return app, deps, archive


def signed_in(app, name: str):
    client = app.test_client()
    assert log_in(client, name).status_code == 302
    return client


def page(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code, response.get_data(as_text=True)[:500])
    return response.get_data(as_text=True)


def test_the_pages_bear_the_configured_name_of_the_system(config, deps, clock):
    """GIVEN [general] name WHEN a page is shown THEN its title and header say that name, as the mails sign
    with it: the pages said "残疾人服务工程督导归档" and the mails a name written into their templates."""
    named = dataclasses.replace(config, name="示例市残联残疾人服务工程督导系统")
    app = create_app(named, dataclasses.replace(deps, clock=clock), secret_key="test secret")
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "<title>登录 · 示例市残联残疾人服务工程督导系统</title>" in page
    assert '<span class="brand">示例市残联残疾人服务工程督导系统</span>' in page


def test_every_page_needs_a_login_and_a_good_password(site):
    app, _, archive = site
    client = app.test_client()
    response = client.get(f"/message/{archive.package}")
    assert response.status_code == 302 and response.location.startswith("/login?next=/message/")
    wrong = log_in(client, "孙倩", "wrong password")
    assert wrong.status_code == 401 and "账号或密码不对" in wrong.get_data(as_text=True)
    assert log_in(client, "nobody", PASSWORD).status_code == 401
    right = log_in(client, "孙倩")
    assert right.status_code == 302 and right.location == "/search"
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and PASSWORD not in cookie
    assert "归档检索" in page(client, "/search")


def test_login_goes_back_where_it_was_asked_but_never_off_site(site):
    app, _, archive = site
    client = app.test_client()
    token = csrf_token(page(client, f"/login?next=/message/{archive.package}"))
    back = client.post(
        "/login",
        data={"csrf_token": token, "name": "孙倩", "password": PASSWORD, "next": f"/message/{archive.package}"},
    )
    assert back.location == f"/message/{archive.package}"
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        other = app.test_client()
        token = csrf_token(page(other, "/login"))
        away = other.post("/login", data={"csrf_token": token, "name": "孙倩", "password": PASSWORD, "next": target})
        assert away.location == "/search", target


def test_a_post_without_the_csrf_token_is_refused(site):
    app, deps, _ = site
    client = app.test_client()
    refused = client.post("/login", data={"name": "孙倩", "password": PASSWORD})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    client = signed_in(app, "孙倩")
    forged = client.post("/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert client.get("/search").status_code == 200  # the forged logout did nothing
    award = client.post(
        "/entries", data={"unit": "桃城区", "kind_level": "media:city", "date": "2020-04-02", "evidence": "衡水日报"}
    )
    assert award.status_code == 400 and "页面已过期" in award.get_data(as_text=True)
    assert "衡水日报" not in page(client, "/entries")


def test_auditors_read_but_every_write_is_refused_in_chinese(site):
    app, _, _ = site
    auditor = signed_in(app, "督查员")
    token = csrf_token(page(auditor, "/entries"))
    refused = auditor.post(
        "/entries",
        data={
            "csrf_token": token,
            "unit": "桃城区",
            "kind_level": "media:city",
            "date": "2020-04-02",
            "evidence": "衡水日报",
        },
    )
    assert refused.status_code == 403 and "审计账号只能查看" in refused.get_data(as_text=True)
    assert auditor.post("/entries/1/revoke", data={"csrf_token": token, "reason": "x"}).status_code == 403
    staff = signed_in(app, "孙倩")
    token = csrf_token(page(staff, "/entries"))
    done = staff.post(
        "/entries",
        data={
            "csrf_token": token,
            "unit": "桃城",
            "kind_level": "media:city",
            "date": "2020-04-02",
            "evidence": "衡水日报 2020-04-02",
        },
    )
    assert done.status_code == 302
    entries = page(staff, "/entries")
    assert "已登记 #1：桃城区 市级媒体 2020-04-02" in entries and "孙倩" in entries
    bad_day = {"csrf_token": token, "unit": "桃城", "kind_level": "media:city", "evidence": "衡水日报"}
    staff.post("/entries", data=bad_day | {"date": "2020-02-30"})  # it said to write YYYY-MM-DD, which it was
    assert "未登记：日历上没有 2020-02-30 这一天" in page(staff, "/entries")
    staff.post("/entries", data=bad_day | {"date": " "})
    assert "未登记：请填写日期，如 2020-05-01" in page(staff, "/entries")
    staff.post("/entries/1/revoke", data={"csrf_token": token, "reason": "重复登记"})
    trail = page(auditor, "/entries")
    assert "已撤销：孙倩" in trail and "重复登记" in trail and "新登记" not in trail


def test_a_new_password_or_removal_ends_the_sessions(site):
    app, deps, _ = site
    staff, auditor = signed_in(app, "孙倩"), signed_in(app, "审计员")
    with deps.db.session() as session:
        set_password(session, "孙倩", "another password")
    assert staff.get("/search").status_code == 302
    assert auditor.get("/search").status_code == 200
    with deps.db.session() as session:
        remove_user(session, "审计员")
    assert auditor.get("/search").status_code == 302
    assert log_in(app.test_client(), "孙倩", "another password").status_code == 302


def test_a_new_role_or_grant_ends_the_sessions_and_holds_at_once(site):
    """GIVEN open sessions WHEN an account's grant or role changes THEN those sessions end, and the next login
    sees what the account may see now."""
    app, deps, archive = site
    path = f"/message/{archive.package}"
    granted, staff, auditor = signed_in(app, "督查员"), signed_in(app, "孙倩"), signed_in(app, "审计员")
    assert PERSON_ID in page(granted, path)
    with deps.db.session() as session:
        set_access(session, "督查员", personal=False)
        set_access(session, "孙倩", role="auditor")
    assert granted.get(path).status_code == 302 and staff.get(path).status_code == 302
    assert auditor.get(path).status_code == 200  # other accounts keep their sessions
    for name in ("督查员", "孙倩"):
        masked = page(signed_in(app, name), path)
        assert PERSON_ID_MASKED in masked and PERSON_ID not in masked, name
    demoted = signed_in(app, "孙倩")
    token = csrf_token(page(demoted, "/entries"))
    refused = demoted.post(
        "/entries",
        data={
            "csrf_token": token,
            "unit": "桃城区",
            "kind_level": "media:city",
            "date": "2020-04-02",
            "evidence": "衡水日报",
        },
    )
    assert refused.status_code == 403
    with deps.db.session() as session:
        set_access(session, "审计员", role="staff")
    assert auditor.get(path).status_code == 302
    assert PERSON_ID in page(signed_in(app, "审计员"), path)


LOCKED = "登录失败次数过多，请 15 分钟后再试"


def refusal(response) -> str:
    """The message a refused login shows (the name typed is echoed back in the form, so not the whole page)."""
    import re

    return re.search(r'<p class="note error"[^>]*>([^<]*)</p>', response.get_data(as_text=True)).group(1)


def test_five_failed_logins_lock_a_name_for_fifteen_minutes_whether_it_exists_or_not(site, clock):
    """GIVEN 5 wrong passwords for a name within 15 minutes WHEN it logs in again THEN it is refused with 429,
    even with the right password, alike for a name no account has, until 15 minutes after the 5th failure."""
    app, _, _ = site
    client = app.test_client()
    for name in ("孙倩", "nobody"):
        for _ in range(5):
            clock.now += timedelta(minutes=2)
            assert log_in(client, name, "wrong password").status_code == 401
    fifth = clock.now  # nobody's 5th failure; 孙倩's was 10 minutes before
    locked, unknown = log_in(client, "孙倩"), log_in(client, "nobody", PASSWORD)
    assert locked.status_code == unknown.status_code == 429
    assert refusal(unknown) == LOCKED and refusal(locked) == "登录失败次数过多，请 5 分钟后再试"
    assert unknown.headers["Retry-After"] == "900"
    assert log_in(client, "审计员").status_code == 302  # other names are not locked
    clock.now = fifth + timedelta(minutes=5) - timedelta(seconds=1)
    assert log_in(app.test_client(), "孙倩").status_code == 429
    clock.now = fifth + timedelta(minutes=5)
    assert log_in(app.test_client(), "孙倩").status_code == 302
    clock.now = fifth + timedelta(minutes=15) - timedelta(seconds=1)
    last = log_in(app.test_client(), "nobody", PASSWORD)
    assert last.status_code == 429 and refusal(last) == "登录失败次数过多，请 1 分钟后再试"
    clock.now = fifth + timedelta(minutes=15)
    assert log_in(app.test_client(), "nobody", PASSWORD).status_code == 401  # checked again, not locked


def test_failures_count_within_fifteen_minutes_and_a_success_forgets_them(site, clock):
    app, _, _ = site
    client = app.test_client()
    for _ in range(4):
        assert log_in(client, "孙倩", "wrong password").status_code == 401
    assert log_in(client, "孙倩").status_code == 302
    for _ in range(4):
        assert log_in(app.test_client(), "孙倩", "wrong password").status_code == 401
    clock.now += timedelta(minutes=15)  # those 4 are now too old to count with the next
    assert log_in(app.test_client(), "孙倩", "wrong password").status_code == 401
    assert log_in(app.test_client(), "孙倩").status_code == 302
    for _ in range(5):
        assert log_in(app.test_client(), "孙倩", "wrong password").status_code == 401
    assert log_in(app.test_client(), "孙倩").status_code == 429


def test_one_address_trying_many_names_is_locked(site, clock):
    """GIVEN 20 failed logins from one client address, each for another name WHEN that address logs in, even
    rightly THEN it is refused for 15 minutes; other addresses are not."""
    app, _, _ = site

    def client_at(address: str):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return client

    sprayer = client_at("192.0.2.7")
    for n in range(20):
        assert log_in(sprayer, f"guess{n}", "wrong password").status_code == 401
    refused = log_in(sprayer, "孙倩")
    assert refused.status_code == 429 and refusal(refused) == LOCKED
    assert log_in(client_at("192.0.2.8"), "孙倩").status_code == 302
    clock.now += timedelta(minutes=15)
    assert log_in(client_at("192.0.2.7"), "孙倩").status_code == 302


def test_logout_ends_every_session_of_the_account(site):
    app, _, _ = site
    first, second = signed_in(app, "孙倩"), signed_in(app, "孙倩")
    token = csrf_token(page(first, "/search"))
    out = first.post("/logout", data={"csrf_token": token})
    assert out.status_code == 302 and out.location.startswith("/login")
    assert first.get("/search").status_code == 302 and second.get("/search").status_code == 302


def test_a_login_lasts_session_hours(site, clock):
    app, _, _ = site
    client = signed_in(app, "孙倩")
    clock.now += timedelta(hours=11)
    assert client.get("/search").status_code == 200
    clock.now += timedelta(hours=2)
    assert client.get("/search").status_code == 302


def test_pages_carry_the_safety_headers(site):
    app, _, archive = site
    client = signed_in(app, "孙倩")
    for path in (
        "/login",
        "/search",
        f"/message/{archive.package}",
        "/standings?month=2020-04",
        "/matrix?month=2020-04",
        "/progress?month=2020-04",
        "/findings",
        "/entries",
        "/message/999999",
    ):
        response = client.get(path)
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert "script-src 'none'" in CONTENT_SECURITY_POLICY and "default-src 'none'" in CONTENT_SECURITY_POLICY
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
    missing = client.get("/message/999999")
    assert missing.status_code == 404 and "没有编号为 999999 的邮件" in missing.get_data(as_text=True)


def test_search_finds_a_two_character_name_with_the_filters(site):
    app, _, archive = site
    client = signed_in(app, "孙倩")
    found = page(client, f"/search?q={PERSON}")
    assert {archive.package} <= linked(found) and archive.late not in linked(found)
    assert f"/message/{archive.package}" in page(
        client, f"/search?q={PERSON}&unit=枣强县&kind=report&month=2020-04&sender=zqxcl@163.com&order=relevance"
    )
    assert f"/message/{archive.package}" not in page(client, f"/search?q={PERSON}&unit=桃城区")
    # a unit by an alias, spaces aside, as `search --unit` takes it (it was a 400)
    for alias in ("枣强", "%20枣强县%20"):
        assert f"/message/{archive.package}" in page(client, f"/search?q={PERSON}&unit={alias}")
    # a month as people type it in a browser that has no month box (2020年4月, 2020/4): the month it names
    for typed in ("2020年4月", "2020/4", "2020-4", "２０２０．０４"):
        assert f"/message/{archive.package}" in page(client, f"/search?q={PERSON}&month={typed}")
    assert f"/message/{archive.package}" not in page(client, f"/search?q={PERSON}&month=2020年5月")
    bad = client.get("/search?month=2020-13&unit=衡水市")
    assert bad.status_code == 400 and "月份请写成 YYYY-MM" in bad.get_data(as_text=True)
    assert "没有名为 衡水市 的单位" in bad.get_data(as_text=True)
    # a part of the sender's address, for staff and a masked auditor alike; one holding no address is refused
    for viewer in (client, signed_in(app, "审计员")):
        assert f"/message/{archive.package}" in page(viewer, "/search?sender=ZQXCL")
        assert f"/message/{archive.package}" not in page(viewer, "/search?sender=tcqcl")
    empty = client.get("/search?sender=%3C%3E")
    assert empty.status_code == 400 and "发件人请写邮箱地址或其一部分" in empty.get_data(as_text=True)
    # text holding nothing to find is said so, not silently taken for no text
    listed = page(client, "/search?q=%25&unit=枣强县")
    assert "“%”中没有可查找的文字（只有标点或符号），以下按其他条件列出" in listed
    assert f"/message/{archive.package}" in listed
    assert "以下列出全部邮件" in page(client, "/search?q=%25")
    assert "没有可查找的文字" not in page(client, f"/search?q={PERSON}")


def test_search_pages_through_the_results(site):
    """GIVEN 52 briefings WHEN listed 50 a page THEN each page says how many there are in all and which it
    shows, the pager keeps every filter (the arrival days too), and a page past the last says so and links to
    the last one instead of saying nothing was found."""
    from archive.ingest import Incoming, ingest_batch
    from tests.webapp import SHANGHAI, _message

    app, deps, _ = site
    raws = [
        _message(
            "jxcl@163.com",
            f"景县贫困残疾人服务工程专项信息（{n}）",
            datetime(2020, 6, 1, 8, n, tzinfo=SHANGHAI),
            f"第{n}篇",
        )
        for n in range(52)
    ]
    ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "bgs", "import") for raw in raws])
    client = signed_in(app, "孙倩")
    first = page(client, "/search?kind=briefing")
    assert "共 52 封；第 1 页：第 1–50 封" in first and "下一页" in first and "上一页" not in first
    second = page(client, "/search?kind=briefing&page=2")
    assert "共 52 封；第 2 页：第 51–52 封" in second and "上一页" in second and "下一页" not in second
    days = page(client, "/search?kind=briefing&since=2020-06-01&until=2020-06-01")
    [following] = re.findall(r'<a rel="next" href="([^"]+)"', days)
    assert "since=2020-06-01" in following and "until=2020-06-01" in following and "kind=briefing" in following
    assert "共 52 封；第 2 页：第 51–52 封" in page(client, following.replace("&amp;", "&"))
    past = page(client, "/search?kind=briefing&page=3")
    assert "没有找到符合条件的邮件" not in past and "共 52 封，只有 2 页，没有第 3 页" in past
    [last] = re.findall(r'<a rel="last" href="([^"]+)">到最后一页（第 2 页）</a>', past)
    assert "kind=briefing" in last and "page=2" in last
    assert "第 51–52 封" in page(client, last.replace("&amp;", "&"))


def test_a_message_opened_from_a_search_leads_back_to_that_search(site):
    """GIVEN an auditor's search for 王斐 in 枣强县's April mail, on its second page of results WHEN a result is
    opened THEN its "← 归档检索" leads back to that same search (text, filters, order and page), where it led to
    an empty search form; a message opened from elsewhere leads to the plain search page."""
    from html import unescape
    from urllib.parse import parse_qs, urlsplit

    app, _, archive = site
    client = signed_in(app, "审计员")
    asked = f"q={PERSON}&unit=枣强&month=2020-04&order=relevance"
    found = page(client, f"/search?{asked}")
    [opened] = {unescape(link) for link in re.findall(rf'href="(/message/{archive.package}[^"]*)"', found)}
    [back] = re.findall(r'<a href="([^"]*)">← 归档检索</a>', page(client, opened))
    back = unescape(back)
    assert urlsplit(back).path == "/search"
    assert parse_qs(urlsplit(back).query) == {
        "q": [PERSON],
        "unit": ["枣强县"],
        "month": ["2020-04"],
        "order": ["relevance"],
    }
    assert f"/message/{archive.package}" in page(client, back)
    second = parse_qs(
        urlsplit(unescape(re.findall(r'<a href="([^"]*)">← 归档检索', page(client, f"{opened}&page=2"))[0])).query
    )
    assert second["page"] == ["2"]
    assert re.search(r'<a href="/search">← 归档检索</a>', page(client, f"/message/{archive.package}"))


def test_search_keeps_the_arrival_days_asked_for_both_included_in_local_time(site):
    """GIVEN mail that arrived on April 10, 11, 18 and 25 at 10:00 and at 00:30 on April 26 (Beijing time; the
    25th in UTC) WHEN searched by 到达日期 THEN each day asked for is included whole, in local time, as
    `mailroom search --since/--until` keeps them, and the form shows the days asked for."""
    from tests.webapp import SHANGHAI, _message, store_one

    app, deps, archive = site
    raw = _message("tcqcl@163.com", "桃城区情况", datetime(2020, 4, 26, 0, 30, tzinfo=SHANGHAI), "夜里发的")
    midnight = store_one(deps, raw)
    everything = {archive.html_script, archive.text_script, archive.package, archive.late, midnight}
    client = signed_in(app, "孙倩")

    def found(args: str) -> set[int]:
        html = page(client, f"/search?{args}")
        hits = linked(html) & everything
        assert f"共 {len(hits)} 封" in html or not hits, args
        return hits

    assert found("since=2020-04-18&until=2020-04-18") == {archive.package}
    assert found("since=2020-04-11&until=2020-04-25") == {archive.text_script, archive.package, archive.late}
    assert found("since=2020-04-26") == {midnight}
    assert found("until=2020-04-25") == everything - {midnight}
    assert found("until=2020-04-09") == set()
    assert found("q=桃城区&since=2020-04-25") == {archive.late, midnight}
    form = page(client, "/search?since=2020-04-11&until=2020-04-25")
    assert 'name="since" type="date" value="2020-04-11"' in form
    assert 'name="until" type="date" value="2020-04-25"' in form


def test_search_says_what_is_wrong_with_the_arrival_days_and_lists_nothing(site):
    """An arrival day that is not a day, or a range that ends before it starts, or a page past the last walked, is
    said in Chinese (400), as the month is; it never lists every message as if no day had been asked for."""
    import html

    app, _, _ = site
    client = signed_in(app, "孙倩")
    for args, says in (
        ("since=2020-02-30", "到达日期（起）不对：日历上没有 2020-02-30 这一天"),
        ("until=2020-5-1", "到达日期（止）不对：日期应写作 YYYY-MM-DD，例如 2020-05-01，而不是 '2020-5-1'"),
        ("since=2020-12-01&until=2020-11-01", "起始日期 2020-12-01 晚于截止日期 2020-11-01，查不到任何邮件"),
        ("q=桃城区&page=100000", "最多只能翻到第 1000 页"),  # it showed page 1, as if that were the page asked for
    ):
        response = client.get(f"/search?{args}")
        text = html.unescape(response.get_data(as_text=True))
        assert response.status_code == 400 and says in text, (args, text[-800:])
        assert 'class="results"' not in text and "/message/" not in text, args


def test_a_page_past_the_end_counts_only_what_the_viewer_may_find(site):
    """GIVEN a piece of 王斐's hidden ID digits WHEN a page past the last is asked for THEN staff are told how
    many there are; an auditor without the grant, whose search finds nothing for it, is told nothing was found
    (the count is of the masked text as well)."""
    app, _, _ = site
    piece = PERSON_ID[6:16]
    staff, auditor = signed_in(app, "孙倩"), signed_in(app, "审计员")
    assert "共 1 封，只有 1 页，没有第 2 页" in page(staff, f"/search?q={piece}&page=2")
    masked = page(auditor, f"/search?q={piece}&page=2")
    assert "没有找到符合条件的邮件" in masked and "共 1 封" not in masked
    assert "共 1 封" in page(auditor, f"/search?q={PERSON_ID}&page=1")


def test_a_summarys_percentages_read_as_the_receipts_and_digest_write_them(site):
    """GIVEN 景县's 附件2 (120 of 233 is 51.5021…%) WHEN its message is opened or its table exported THEN
    百分比 has one decimal and a percent sign, as the digest writes it, not the float that was stored."""
    from tests.webapp import SHANGHAI, _message, store_one

    app, deps, _ = site
    raw = _message(
        "jxcl@163.com",
        "景县4月份报表",
        datetime(2020, 4, 20, 10, tzinfo=SHANGHAI),
        "附件2",
        ("summary-jing-xian-with-space.xls",),
    )
    summary = store_one(deps, raw)
    client = signed_in(app, "孙倩")
    html = page(client, f"/message/{summary}")
    assert "<td>康复服务</td><td>233</td><td>120</td><td>51.5%</td>" in html
    assert "<td>适配辅助器具</td><td>115</td><td>60</td><td>52.2%</td>" in html
    assert "<td>托养服务</td><td>48</td><td>24</td><td>50.0%</td>" in html
    assert "<td>资助上大学</td><td></td><td></td><td></td>" in html  # not filled in: nothing made up
    [reading] = re.findall(rf"/message/{summary}/reading/(\d+)\.csv", html)
    exported = client.get(f"/message/{summary}/reading/{reading}.csv").data.decode("utf-8-sig").split("\r\n")
    assert exported[:3] == ["任务,目标数,完成数,百分比", "康复服务,233,120,51.5%", "适配辅助器具,115,60,52.2%"]


def test_a_percentage_stored_as_read_is_shown_with_one_decimal():
    """What the reader stored from a share a workbook computed (95 of 530 is 17.924528…) reads as the
    digest writes it; a 百分比 the unit left empty stays empty."""
    from archive.models import FormReadingRow
    from bot.web.present import Masker, reading_table

    reading = FormReadingRow(
        form=2,
        tasks={
            "rehab": {"target": 530, "done": 95, "percent": 17.924528},
            "devices": {"target": 115, "done": 21, "percent": 18.26087},
            "day_care": {"target": 48, "done": 48, "percent": 100.0},
            "college": {"target": None, "done": None, "percent": None},
        },
    )
    for hide in (False, True):
        table = reading_table(reading, Masker(hide))
        assert table is not None and table.columns == ("任务", "目标数", "完成数", "百分比")
        assert table.rows == (
            ("康复服务", "530", "95", "17.9%"),
            ("适配辅助器具", "115", "21", "18.3%"),
            ("托养服务", "48", "48", "100.0%"),
            ("资助上大学", "", "", ""),
        )


def test_a_registry_has_no_empty_serial_column(site):
    """The reader takes a registry's 序号 only as where its table starts and keeps none of it, so neither the
    page nor the CSV has a 序号 column that would look as if every unit had left it blank; 工作表 and 行 say
    where each person is in the workbook."""
    app, _, archive = site
    client = signed_in(app, "孙倩")
    html = page(client, f"/message/{archive.package}")
    assert "<th>序号</th>" not in html
    assert "<th>工作表</th><th>行</th><th>姓名</th><th>残疾人证号</th>" in html
    assert f"<td>7岁以上</td><td>4</td><td>{PERSON}</td><td>{PERSON_ID}</td>" in html
    exported = client.get(f"/message/{archive.package}/reading/{_registry_reading(html)}.csv").data.decode("utf-8-sig")
    header, first = exported.split("\r\n")[:2]
    assert header.startswith("工作表,行,姓名,残疾人证号,") and "序号" not in header
    assert first.startswith(f"7岁以上,4,{PERSON},\t{PERSON_ID},")  # a tab keeps the ID text in Excel, WPS, Calc


def test_an_auditor_sees_personal_numbers_masked_everywhere(site):
    app, _, archive = site
    staff, auditor, granted = signed_in(app, "孙倩"), signed_in(app, "审计员"), signed_in(app, "督查员")
    whole = page(staff, f"/message/{archive.package}")
    assert PERSON_ID in whole and BODY_PHONE in whole and PERSON in whole
    assert PERSON_ID in page(granted, f"/message/{archive.package}")
    masked = page(auditor, f"/message/{archive.package}")
    assert PERSON_ID_MASKED in masked and BODY_PHONE_MASKED in masked and PERSON in masked
    for number in (PERSON_ID, BODY_PHONE, "13832100001", "0318-7221234", "13112419550607022542"):
        assert number not in masked
    results = page(auditor, f"/search?q={PERSON}")
    assert BODY_PHONE not in results and BODY_PHONE_MASKED in results
    csv = auditor.get(f"/message/{archive.package}/reading/{_registry_reading(whole)}.csv")
    assert csv.status_code == 200 and csv.data.startswith("\ufeff".encode())
    text = csv.data.decode("utf-8")
    assert PERSON in text and PERSON_ID_MASKED in text and PERSON_ID not in text
    assert PERSON_ID in staff.get(f"/message/{archive.package}/reading/{_registry_reading(whole)}.csv").data.decode()


def test_a_registry_exports_as_a_workbook_whose_ids_are_text_as_written(site):
    """GIVEN a registry WHEN exported as Excel THEN each ID is a text cell as written (the CSV's tab, which keeps it
    text, stays in the cell, so a lookup across rows failed on it), 行 a number; the workbook opens in openpyxl
    and our own reader; for an auditor without the grant the IDs are masked, as on the page."""
    app, _, archive = site
    staff, auditor = signed_in(app, "孙倩"), signed_in(app, "审计员")
    html = page(staff, f"/message/{archive.package}")
    assert f"/message/{archive.package}/reading/{_registry_reading(html)}.xlsx" in html
    url = f"/message/{archive.package}/reading/{_registry_reading(html)}.xlsx"
    response = staff.get(url)
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][:4] == ("工作表", "行", "姓名", "残疾人证号")
    assert rows[1][:4] == ("7岁以上", 4, PERSON, PERSON_ID)
    masked = list(openpyxl.load_workbook(io.BytesIO(auditor.get(url).data)).active.iter_rows(values_only=True))
    assert masked[1][3] == PERSON_ID_MASKED and PERSON_ID not in str(masked)


def test_a_workbook_export_never_holds_a_formula(site):
    """A cell of mail beginning with = (untrusted) is written as text, never as a formula openpyxl would make of
    it; an identifier in a quantity column stays text; a control character is dropped."""
    from types import SimpleNamespace

    from bot.web.download import xlsx_bytes
    from bot.web.present import Masker

    tasks = {"rehab": {"target": "=1+1", "done": "0318", "percent": None}, "devices": {"target": "1\x0b2", "done": 3}}
    reading = SimpleNamespace(form=2, tasks=tasks, persons=[])
    app, _, _ = site
    with app.test_request_context():
        data = xlsx_bytes(reading, Masker(hide=False))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [(cell.value, cell.data_type) for cell in sheet[2]][1:3] == [("=1+1", "s"), ("0318", "s")]
    assert sheet["B3"].value == "12"  # a control character a workbook cannot hold is dropped (it was a 500)


def _registry_reading(html: str) -> int:
    import re

    return int(re.search(r'id="reading-(\d+)">\s*<h2>附件3', html).group(1))


def test_an_auditor_searches_the_masked_text_only(site):
    """GIVEN 王斐's 残疾人证号 and a phone in a message WHEN an auditor without the grant searches for them
    THEN a whole number in any spelling is searched as its masked form (found, and found alike with a hidden
    digit changed), a piece of the hidden digits finds nothing; staff find the numbers and their pieces."""
    app, _, archive = site
    hit = archive.package
    auditor, staff = signed_in(app, "审计员"), signed_in(app, "孙倩")
    other_id = PERSON_ID[:9] + str((int(PERSON_ID[9]) + 1) % 10) + PERSON_ID[10:]
    other_phone = BODY_PHONE[:4] + str((int(BODY_PHONE[4]) + 1) % 10) + BODY_PHONE[5:]
    for query in (
        PERSON_ID,
        other_id,
        BODY_PHONE,
        other_phone,
        "１３９０３１８１２３４",
        "139-0318-1234",
        "₁₃₉₀₃₁₈₁₂₃₄",
        PERSON_ID_MASKED,
        BODY_PHONE_MASKED,
        PERSON,
    ):
        assert hit in linked(page(auditor, f"/search?q={query}")), query
    for query in (PERSON_ID[6:16], BODY_PHONE[3:7] + BODY_PHONE[7], "0315011"):
        assert hit not in linked(page(auditor, f"/search?q={query}")), query
    for query in (PERSON_ID, PERSON_ID[6:16], BODY_PHONE, "139-0318-1234", "₁₃₉₀₃₁₈₁₂₃₄"):
        assert hit in linked(page(staff, f"/search?q={query}")), query
    assert hit not in linked(page(staff, f"/search?q={other_id}"))
    assert hit in linked(page(auditor, "/search?sender=zqxcl@163.com"))
    assert "按遮蔽后的样子查找" in page(auditor, "/search") and "按遮蔽后的样子查找" not in page(staff, "/search")


def test_downloads_are_the_archived_bytes_served_as_attachments(site):
    app, deps, archive = site
    client = signed_in(app, "孙倩")
    with deps.db.session() as session:
        from archive.models import Message

        message = session.get(Message, archive.package)
        sha, files = message.sha256, [(a.ordinal, a.filename, a.sha256) for a in message.attachments]
    original = client.get(f"/message/{archive.package}/original.eml")
    assert original.data == deps.store.read_message(sha)
    assert original.headers["Content-Type"] == "application/octet-stream"
    assert original.headers["X-Content-Type-Options"] == "nosniff"
    assert original.headers["Content-Disposition"].startswith("attachment;")
    assert f"filename*=UTF-8''%E9%82%AE%E4%BB%B6{archive.package}.eml" in original.headers["Content-Disposition"]
    for ordinal, filename, file_sha in files:
        response = client.get(f"/message/{archive.package}/attachment/{ordinal}")
        assert response.data == deps.store.read_file(file_sha)
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["Content-Disposition"] == f"attachment; filename={filename}"
    assert client.get(f"/message/{archive.package}/attachment/99").status_code == 404


def test_an_auditor_without_the_grant_may_not_download_originals(site):
    app, _, archive = site
    auditor = signed_in(app, "审计员")
    for path in (f"/message/{archive.package}/original.eml", f"/message/{archive.package}/attachment/1"):
        refused = auditor.get(path)
        assert refused.status_code == 403 and "无权下载" in refused.get_data(as_text=True), path
    assert "下载原始邮件" not in page(auditor, f"/message/{archive.package}")
    granted = signed_in(app, "督查员")
    assert granted.get(f"/message/{archive.package}/original.eml").status_code == 200


def test_mail_content_is_escaped(site):
    app, _, archive = site
    client = signed_in(app, "孙倩")
    html = page(client, f"/message/{archive.text_script}")
    assert "&lt;script&gt;window.pwned=true&lt;/script&gt;" in html and "<script" not in html
    shown = page(client, f"/message/{archive.html_script}")
    assert "<script" not in shown and "<img" not in shown and "onerror" not in shown and "<iframe" not in shown


def test_standings_matrix_and_explanation_link_to_the_evidence(site, clock):
    app, _, archive = site
    client = signed_in(app, "审计员")
    standings = page(client, "/standings?month=2020-04")
    assert "2020年4月累计得分排名" in standings and "/unit/%E6%9E%A3%E5%BC%BA%E5%8E%BF?month=2020-04" in standings
    # typed in a browser without a month box, as people write a month: the same page, not a 400
    table = re.compile(r'<table class="standings">.*?</table>', re.S)
    for typed in ("2020年4月", "2020/4"):
        assert table.findall(page(client, f"/standings?month={typed}")) == table.findall(standings) != []
    matrix = page(client, "/matrix?month=2020-04")
    assert 'data-unit="枣强县" data-form="2" data-status="on_time"' in matrix
    assert 'data-unit="桃城区" data-form="4" data-status="late"' in matrix
    assert f"/message/{archive.package}" in matrix and f"/message/{archive.late}" in matrix
    clock.now = datetime(2020, 7, 1, 9, tzinfo=UTC)  # June ended: its task completion is scored
    client = signed_in(app, "审计员")  # the session of May 1 has expired meanwhile
    explained = page(client, "/unit/枣强?month=2020-06")
    assert "枣强县 · 2020年6月" in explained and f"/message/{archive.package}" in explained
    assert client.get("/unit/衡水市?month=2020-04").status_code == 404
    assert client.get("/matrix?month=April").status_code == 400


def test_the_standings_page_offers_them_as_the_excel_table_the_command_writes(site, tmp_path):
    """GIVEN an auditor on April's standings WHEN they follow 下载 Excel 表格 THEN they get April's standings as
    `mailroom standings --xlsx` writes them (rank, unit, total, each component), named in Chinese: staff without
    a shell had no way to take the month's ranking into their own report."""
    import openpyxl

    from archive.evidence import load_evidence
    from bot.services.scores import shown_standings

    app, deps, _ = site
    client = signed_in(app, "审计员")
    assert "/standings.xlsx?month=2020-04" in page(client, "/standings?month=2020-04")
    response = client.get("/standings.xlsx?month=2020-04")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''2020%E5%B9%B44%E6%9C%88" in response.headers["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(response.data)).active.iter_rows(min_row=3, values_only=True))
    with deps.db.session() as db:
        result, _ = shown_standings(app.extensions["mailroom"].config, db, load_evidence(db), "2020-04", deps.clock())
    assert [row[:3] for row in rows[: len(result.rows)]] == [(row.rank, row.unit, row.total) for row in result.rows]
    assert client.get("/standings.xlsx?month=2019-01").status_code == 404


def test_a_message_page_links_each_attachment_to_its_forms_and_folds_a_long_registry(site):
    """GIVEN a package of a 5-person registry and a 40-person one WHEN staff open its page THEN the attachments'
    table links each file to the forms read from it, the short registry's table shows open and the long one's is
    folded under its row count (ten registries made a page 24,000 px tall, the last form at its very end)."""
    from tests.data.workbooks.make_workbooks import REHAB_HEADER, registry_sheet, rehab_row, save

    app, deps, _ = site
    book = openpyxl.Workbook()
    rows = [rehab_row(n, f"张{n:02d}", "饶阳县", "19620315", n) for n in range(1, 41)]
    registry_sheet(book.active, "饶阳县残联4月份康复服务实名制登记表", REHAB_HEADER, rows, fill="填报单位：饶阳县残联")
    raw = _message(
        "ryxcl@163.com",
        "饶阳县4月份报表",
        datetime(2020, 4, 12, 9, tzinfo=SHANGHAI),
        "见附件",
        ("rehab-registry-two-age-sheets.xlsx",),
    )
    message = email.message_from_bytes(raw, policy=email.policy.default)
    message.add_attachment(save(book), maintype="application", subtype="octet-stream", filename="附件3-长.xlsx")
    message_id = store_one(deps, message.as_bytes())
    shown = page(signed_in(app, "孙倩"), f"/message/{message_id}")
    readings = re.findall(r'<section class="reading" id="reading-(\d+)">', shown)
    assert len(readings) == 2 and all(f'<a href="#reading-{reading}">附件3</a>' in shown for reading in readings)
    assert re.findall(r'<details class="table"( open)?>\s*<summary>表格（共 (\d+) 行）', shown) == [
        (" open", "5"),
        ("", "40"),
    ]


def shared_person_row(html: str) -> str:
    """The 核查发现 row saying 王斐 is registered by two units (桃城区's copy shares every person of the registry)."""
    import re

    [row] = [
        row
        for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)
        if "<td>同一人由两个单位登记</td>" in row and f"{PERSON}（证号" in row
    ]
    return row


def test_findings_name_the_unit_and_link_to_the_evidence(site):
    """GIVEN 王斐 registered by 枣强县 and by 桃城区 (whose registry, arriving later, is the copy) WHEN staff open
    核查发现 from the navigation THEN the finding names its unit (桃城区, whose registry brought the person, as
    待处理 files it) and kind and links to both messages, and each link opens that message."""
    import re

    app, deps, archive = site
    shared = share_person(deps)
    client = signed_in(app, "孙倩")
    assert 'href="/findings"' in page(client, "/search")
    html = page(client, "/findings")
    assert "核查发现" in html and "暂无核查发现" not in html
    row = shared_person_row(html)
    assert "<td>桃城区</td>" in row and "枣强县" in row
    links = re.findall(r'href="(/message/\d+)"', row)
    assert links == [f"/message/{archive.package}", f"/message/{shared}"]
    for link in links:
        assert PERSON in page(client, link)


def test_an_auditor_sees_the_numbers_in_findings_masked(site):
    app, deps, _ = site
    share_person(deps)
    for name in ("孙倩", "督查员"):
        assert f"证号 {PERSON_ID}" in shared_person_row(page(signed_in(app, name), "/findings")), name
    masked = page(signed_in(app, "审计员"), "/findings")
    assert f"证号 {PERSON_ID_MASKED}" in shared_person_row(masked)
    assert PERSON_ID not in masked


def test_findings_say_so_when_there_are_none(site):
    app, _, _ = site  # the sample messages agree with each other
    for name in ("孙倩", "审计员"):
        html = page(signed_in(app, name), "/findings")
        assert "暂无核查发现" in html and 'class="findings"' not in html, name


def test_the_secret_key_is_made_once_and_kept_private(tmp_path):
    config = make_config(tmp_path, f"sqlite:///{tmp_path}/mailroom.db")
    first = load_secret_key(config, environ={})
    path = secret_path(config)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) == 64
    assert load_secret_key(config, environ={}) == first
    assert load_secret_key(config, environ={"MAILROOM_WEB_SECRET": "from env, 16+ chars"}) == "from env, 16+ chars"
    assert path.parent == config.archive_path.parent and not path.is_relative_to(config.archive_path)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_secret_key(config, environ={})


def lengthen_registry(deps, message_id: int, persons: int, last: str = "") -> int:
    """The message's first registry made `persons` long by persons 补0, 补1, … after its own (rows 1000 on), the
    last named `last` when given, and the message indexed again; its reading id."""
    from sqlalchemy import select

    from archive.models import FormReadingRow, PersonRow

    with deps.db.session() as session:
        reading = session.scalars(
            select(FormReadingRow).where(FormReadingRow.message_id == message_id, FormReadingRow.persons.any())
        ).first()
        first = reading.persons[0]
        names = [f"补{n}" for n in range(persons - len(reading.persons))]
        names[-1] = last or names[-1]
        session.add_all(
            PersonRow(
                reading_id=reading.id,
                form=first.form,
                unit=first.unit,
                month=first.month,
                sheet=first.sheet,
                row=1000 + n,
                name=name,
                fields={"name": name},
            )
            for n, name in enumerate(names)
        )
        session.flush()
        unindex_messages(session, [message_id])  # searched as if it had come so
        session.expire_all()
        index_messages(session, [session.get(Message, message_id)])
        session.commit()
        return reading.id


def test_a_long_registry_shows_its_first_rows_and_exports_them_all(site):
    """GIVEN a registry of more persons than a page shows WHEN its message is opened THEN the page holds the
    first SHOWN_PERSONS and says how many there are; the CSV export holds every one."""
    from bot.web.present import SHOWN_PERSONS

    app, deps, archive = site
    reading_id = lengthen_registry(deps, archive.package, SHOWN_PERSONS + 1, last="林晓燕")
    client = signed_in(app, "孙倩")
    shown = page(client, f"/message/{archive.package}")
    assert f"仅显示前 {SHOWN_PERSONS} 行（共 {SHOWN_PERSONS + 1} 行）" in shown
    assert "林晓燕" not in shown  # the first 500 by row id
    exported = client.get(f"/message/{archive.package}/reading/{reading_id}.csv").data.decode("utf-8-sig")
    assert len(exported.strip().split("\r\n")) == SHOWN_PERSONS + 2  # header + every person


def test_the_terms_of_the_search_a_message_was_opened_from_are_marked_and_rows_past_the_shown_ones_holding_them_shown(
    site,
):
    """GIVEN a registry of 650 persons, the last 林　晓燕 (padded to width), the rest 补0…, and 王斐 among its first
    WHEN its message is opened from a search THEN each term is marked where the page shows it, as the search finds
    it (spaces and width aside, a number whatever parts its groups), the page says how many and links the first,
    and the rows past the 500 a page shows that hold a term follow them, the first 100 (the auditor who searched
    林晓燕 found the mail and not her); a viewer without the grant is matched as the search matched: the query
    masked, against the masked text."""
    from bot.web.present import SHOWN_PERSONS

    app, deps, archive = site
    lengthen_registry(deps, archive.package, SHOWN_PERSONS + 150, last="林　晓燕")
    staff = signed_in(app, "孙倩")
    assert "林　晓燕" not in page(staff, f"/message/{archive.package}")
    shown = page(staff, f"/message/{archive.package}?q=林晓燕")
    assert '<mark class="hit" id="hit-1">林　晓燕</mark>' in shown and "本页共标出检索词 1 处" in shown
    assert f"仅显示前 {SHOWN_PERSONS} 行及其后含检索词的 1 行" in shown and '<details class="table" open>' in shown
    shown = page(staff, f"/message/{archive.package}?q=补")
    assert f"仅显示前 {SHOWN_PERSONS} 行及其后含检索词的行中的前 100 行（共 {SHOWN_PERSONS + 150} 行）" in shown
    shown = page(staff, f"/message/{archive.package}?q=王斐+枣强")
    assert '<mark class="hit" id="hit-1">' in shown and '<mark class="hit">王斐</mark>' in shown.replace(
        ' id="hit-1"', ""
    )
    grouped = f"{BODY_PHONE[:3]}-{BODY_PHONE[3:7]}-{BODY_PHONE[7:]}"
    assert f'<mark class="hit" id="hit-1">{BODY_PHONE}</mark>' in page(staff, f"/message/{archive.package}?q={grouped}")
    masked = signed_in(app, "审计员")
    for asked, marked in (
        (PERSON_ID_MASKED, PERSON_ID_MASKED),
        (PERSON_ID, PERSON_ID_MASKED),
        (BODY_PHONE, BODY_PHONE_MASKED),
    ):
        shown = page(masked, f"/message/{archive.package}?q={asked}")
        assert f'<mark class="hit" id="hit-1">{marked}</mark>' in shown
    shown = re.sub(r'href="[^"]*"', "", page(masked, f"/message/{archive.package}?q={PERSON_ID[6:14]}"))  # (its search)
    assert "<mark" not in shown and PERSON_ID[6:14] not in shown and "本页显示的内容中没有找到检索词" in shown


def linked(html: str) -> set[int]:
    """The messages a page links to (a search's results carry the search: `/message/5?q=…`)."""
    return {int(found) for found in re.findall(r'href="/message/(\d+)[?"]', html)}


def waiting_count(html: str) -> int:
    """The count of waiting items beside 待处理 in the menu (none shown: 0)."""
    found = re.search(r'id="waiting-count">(\d+)<', html)
    return int(found.group(1)) if found else 0


def test_a_message_waiting_for_a_decisions_derivation_is_not_said_to_be_of_an_old_configuration(site):
    """GIVEN a message another staff member's decision left to be derived again a moment ago WHEN 待处理 is opened
    THEN it says the message is being derived for that decision, not that its result comes from an old
    configuration or version (decisions tester)."""
    app, deps, archive = site
    with deps.db.session() as session:
        session.get(Message, archive.text_script).derived_with = None
        session.commit()
    queue = page(signed_in(app, "孙倩"), "/queue")
    assert "有 1 封邮件正在按工作人员刚做的决定重新识别" in queue and "来自旧的配置或程序版本" not in queue


def test_staff_handle_a_queue_item_by_correcting_it_and_auditors_only_see_it(site):
    """GIVEN 饶阳县's question in the attention queue, counted in the menu on every page WHEN staff correct
    its message on 待处理 THEN it is derived again, leaves the queue and the count, and the correction is
    listed with who and why, on 待处理, on the message's page and on 饶阳县's explanation; an auditor sees
    the correction and the same count, and is refused when trying to correct or mark anything."""
    app, _, archive = site
    staff = signed_in(app, "孙倩")
    queue = page(staff, "/queue")
    handle = f"{archive.text_script}-question"
    assert f'id="item-{handle}"' in queue and "待处理" in queue
    waiting = waiting_count(queue)
    assert waiting >= 1 and waiting_count(page(staff, "/search")) == waiting
    token = csrf_token(queue)
    done = staff.post(
        "/corrections",
        data={
            "csrf_token": token,
            "message_id": str(archive.text_script),
            "kind": "reply",
            "reason": "单位的答复，不需处理",
        },
    )
    assert done.status_code == 302
    after = page(staff, "/queue")
    assert f'id="item-{handle}"' not in after and waiting_count(after) == waiting - 1
    assert "已登记更正 #1" in after and "单位的答复，不需处理" in after and "邮件类别更正为回复" in after
    decided = '<a href="/queue#correction-1">更正 #1</a>：邮件类别更正为回复（孙倩，'  # linked to its record
    assert decided in page(staff, f"/message/{archive.text_script}")
    assert decided in page(staff, "/unit/饶阳县?month=2020-04")
    auditor = signed_in(app, "审计员")
    seen = page(auditor, "/queue")
    assert "单位的答复，不需处理" in seen and "更正原因" not in seen and "审计账号只能查看" in seen
    assert waiting_count(seen) == waiting - 1
    assert decided in page(auditor, f"/message/{archive.text_script}")
    token = csrf_token(seen)
    assert (
        auditor.post(
            "/corrections",
            data={"csrf_token": token, "message_id": str(archive.package), "kind": "other", "reason": "x"},
        ).status_code
        == 403
    )
    assert auditor.post("/queue/done", data={"csrf_token": token, "item": "x", "note": "x"}).status_code == 403
    assert auditor.post("/corrections/1/revoke", data={"csrf_token": token, "reason": "x"}).status_code == 403


def test_confirmed_senders_are_on_the_audit_trail(site):
    """GIVEN staff confirmed an address as a unit's and revoked another WHEN an auditor reads 审计记录
    THEN both are there with who, when and why."""
    from archive.staff_senders import add_sender, remove_sender

    app, deps, _ = site
    with deps.db.session() as session:
        add_sender(session, "饶阳县", "ryx.office@qq.com", "电话核实", "孙倩", None, zone=UTC)
        add_sender(session, "景县", "jx.clerk@qq.com", "误登", "孙倩", None, zone=UTC)
        session.flush()
        remove_sender(session, "景县", "jx.clerk@qq.com", "核实有误", "孙倩")
        session.commit()
    trail = page(signed_in(app, "审计员"), "/entries")
    assert "ryx.office@qq.com" in trail and "电话核实" in trail
    assert "jx.clerk@qq.com" in trail and "已撤销：孙倩" in trail and "核实有误" in trail


def test_staff_confirm_an_unregistered_sender_from_the_queue(site):
    """GIVEN 饶阳县's April package from a clerk's own address, not registered, waiting on 待处理 WHEN staff
    confirm the address there, saying how THEN it is the unit's on the audit trail, its mail is derived again
    and counts, and the item leaves the queue; without a reason nothing is recorded; an auditor is refused."""
    from sqlalchemy import select

    from archive.models import Message
    from tests.webapp import SHANGHAI, _message, store_one

    app, deps, _ = site
    raw = _message(
        "ryx.clerk@qq.com",
        "饶阳县4月份报表",
        datetime(2020, 4, 15, 10, tzinfo=SHANGHAI),
        "见附件",
        ("summary-unit-row-only.xlsx",),
    )
    outcome = store_one(deps, raw)
    staff = signed_in(app, "孙倩")
    queue = page(staff, "/queue")
    handle = f"{outcome}-unregistered"
    assert f'id="item-{handle}"' in queue and "确认发件地址为饶阳县的报送邮箱" in queue
    row = queue[queue.index(f'id="item-{handle}"') :].split("</tr>")[0]
    assert "发件地址：ryx.clerk@qq.com" in row  # the address asked about, to confirm by phone
    token = csrf_token(queue)
    refused = staff.post("/senders", data={"csrf_token": token, "message_id": str(outcome), "reason": " "})
    assert refused.status_code == 302 and "未确认：请写明如何核实" in page(staff, "/queue")
    auditor = signed_in(app, "审计员")
    posted = {"csrf_token": csrf_token(page(auditor, "/queue")), "message_id": str(outcome), "reason": "x"}
    assert auditor.post("/senders", data=posted).status_code == 403
    with deps.db.session() as session:
        assert not session.scalar(select(Message.registered).where(Message.id == outcome))
    done = staff.post("/senders", data={"csrf_token": token, "message_id": str(outcome), "reason": "电话核实"})
    assert done.status_code == 302
    after = page(staff, "/queue")
    assert "已确认 ryx.clerk@qq.com 为 饶阳县 的报送邮箱" in after and f'id="item-{handle}"' not in after
    with deps.db.session() as session:
        assert session.scalar(select(Message.registered).where(Message.id == outcome))
    trail = page(auditor, "/entries")
    assert "ryx.clerk@qq.com" in trail and "电话核实" in trail and "孙倩" in trail
    assert "撤销确认" not in trail  # an auditor reads the record, has nothing to revoke


def test_staff_revoke_a_mistaken_sender_confirmation_on_the_audit_page(site):
    """GIVEN 饶阳县's package from a clerk's own address, confirmed on 待处理 WHEN staff find the confirmation was
    a mistake and revoke it on 审计记录, saying why THEN it stays on record as revoked, the mail is derived again at
    once and counts for nothing, and 待处理 asks about the sender again; a blank reason, a second revocation and
    an auditor are refused."""
    from sqlalchemy import select

    from archive.models import Message, StaffSenderRow
    from tests.webapp import SHANGHAI, _message, store_one

    app, deps, _ = site
    when = datetime(2020, 4, 15, 10, tzinfo=SHANGHAI)
    outcome = store_one(
        deps, _message("ryx.clerk@qq.com", "饶阳县4月份报表", when, "见附件", ("summary-unit-row-only.xlsx",))
    )
    staff = signed_in(app, "孙倩")
    token = csrf_token(page(staff, "/queue"))
    assert (
        staff.post("/senders", data={"csrf_token": token, "message_id": str(outcome), "reason": "电话核实"}).status_code
        == 302
    )
    with deps.db.session() as session:
        confirmed = session.scalar(select(StaffSenderRow.id))
    trail = page(staff, "/entries")
    assert f'action="/senders/{confirmed}/revoke"' in trail and "撤销确认" in trail
    record = f'<a href="/entries#sender-{confirmed}">确认邮箱 #{confirmed}</a>'  # the decision links to its record
    assert record in page(staff, f"/message/{outcome}") and record in page(staff, "/unit/饶阳县?month=2020-04")
    blank = staff.post(f"/senders/{confirmed}/revoke", data={"csrf_token": token, "reason": " "})
    assert blank.status_code == 302 and "未撤销：请写明撤销原因" in page(staff, "/entries")
    auditor = signed_in(app, "审计员")
    assert (
        auditor.post(
            f"/senders/{confirmed}/revoke", data={"csrf_token": csrf_token(page(auditor, "/entries")), "reason": "x"}
        ).status_code
        == 403
    )
    done = staff.post(f"/senders/{confirmed}/revoke", data={"csrf_token": token, "reason": "并非该单位邮箱"})
    assert done.status_code == 302 and done.location.endswith(f"/entries#sender-{confirmed}")
    after = page(staff, "/entries")
    assert "已撤销 #" in after and "ryx.clerk@qq.com 不再作为 饶阳县 的报送邮箱" in after and "并非该单位邮箱" in after
    with deps.db.session() as session:
        assert not session.scalar(select(Message.registered).where(Message.id == outcome))
    assert f'id="item-{outcome}-unregistered"' in page(staff, "/queue")
    # confirmed again since, the page shown before revoking #1 again revokes nothing
    assert (
        staff.post("/senders", data={"csrf_token": token, "message_id": str(outcome), "reason": "再次核实"}).status_code
        == 302
    )
    again = staff.post(f"/senders/{confirmed}/revoke", data={"csrf_token": token, "reason": "再次"})
    assert again.status_code == 302 and f"未撤销：确认 #{confirmed} 已由 孙倩 撤销" in page(staff, "/entries")
    with deps.db.session() as session:
        assert session.scalar(select(Message.registered).where(Message.id == outcome))


def test_the_message_page_names_things_in_chinese_and_keeps_server_paths_from_auditors(site):
    """GIVEN 饶阳县's mail imported from a file on the server WHEN staff and an auditor open it THEN the mailbox
    is named as people know it (康复部, not its key), the file's type in words, the Date header labelled in
    Chinese, and where it was found is 导入 with the file: its path for staff, only its name for the auditor."""
    from tests.webapp import SHANGHAI, _message, store_one

    app, deps, _ = site
    raw = _message(
        "ryxcl@163.com", "饶阳县4月份报表", datetime(2020, 4, 15, 10, tzinfo=SHANGHAI), "见附件", ("encrypted.xlsx",)
    )
    origin = "/srv/mailroom/backfill/2020-04/饶阳县.eml"
    outcome = store_one(deps, raw, origin)
    staff = page(signed_in(app, "孙倩"), f"/message/{outcome}")
    assert "康复部" in staff and ">kfb<" not in staff
    assert "加密的 Office 文件（设有打开密码）" in staff and "encrypted-office" not in staff
    assert "信头日期 (Date)" in staff and "Date 头" not in staff
    assert f"康复部 导入 {origin}" in staff
    audited = page(signed_in(app, "审计员"), f"/message/{outcome}")
    assert "康复部 导入 饶阳县.eml" in audited and "/srv/mailroom" not in audited


def test_the_message_page_says_where_the_arrival_was_read_as_show_does(site):
    """GIVEN mail with the server's Received line, mail with only a Date header, and mail with neither WHEN
    staff open each THEN its arrival is labelled as `mailroom show` labels it: the server's time, the Date
    header, or the moment it was archived (never "取自 Date 头" for mail without one)."""
    from bot.demo.folder import compose
    from tests.webapp import SHANGHAI, store_one

    app, deps, _ = site
    at = datetime(2020, 4, 15, 10, tzinfo=SHANGHAI)
    undated = compose("ryxcl@163.com", "hskf2006@126.com", "饶阳县问题三", None)
    assert undated["Date"] is None and undated["Received"] is None
    ids = [
        store_one(deps, compose("ryxcl@163.com", "hskf2006@126.com", "饶阳县问题一", at).as_bytes()),
        store_one(deps, compose("ryxcl@163.com", "hskf2006@126.com", "饶阳县问题二", None, sent=at).as_bytes()),
        store_one(deps, undated.as_bytes()),
    ]
    client = signed_in(app, "孙倩")
    arrivals = [
        re.search(r"<th>到达时间</th><td>([^<]*)</td>", page(client, f"/message/{id_}")).group(1) for id_ in ids
    ]
    assert arrivals[0] == "2020-04-15 10:00:00（收件服务器时间）"
    assert arrivals[1] == "2020-04-15 10:00:00（取自 Date 头，未经服务器确认）"
    assert arrivals[2].endswith("（归档时间：邮件无服务器接收时间，Date 头缺失或无法识别）")


def test_staff_correct_a_message_from_its_page_and_read_what_changed(site):
    """GIVEN 桃城区's late April 附件4 WHEN staff, on the message's own page, correct its month to May THEN they
    are back on that page, which says the correction, and, as `mailroom correct` does, what it changed: the
    message's month, the matrix (April's 附件4 no longer in, May's in) and the standings; an auditor's page of
    the message has no such form."""
    app, _, archive = site
    staff = signed_in(app, "孙倩")
    shown = page(staff, f"/message/{archive.late}")
    assert 'id="correct"' in shown and "<option>2020-05</option>" in shown and 'name="back" value="message"' in shown
    moved = staff.post(
        "/corrections",
        data={
            "csrf_token": csrf_token(shown),
            "message_id": str(archive.late),
            "month": "2020-05",
            "back": "message",
            "reason": "单位来电说明是5月份的",
        },
    )
    assert moved.status_code == 302 and moved.location == f"/message/{archive.late}"
    after = page(staff, f"/message/{archive.late}")
    assert f"已登记更正 #1（邮件 #{archive.late}：报送月份更正为2020年5月），已重新识别" in after
    assert "检查 1 封邮件，识别结果已改变 1 封" in after
    assert "月份：2020-04 → 2020-05" in after
    assert "桃城区 2020-04 附件4：迟报 → 未报" in after and "桃城区 2020-05 附件4：未报 → 按时" in after
    assert "累计得分已改变" in after
    assert 'id="correct"' not in page(signed_in(app, "审计员"), f"/message/{archive.late}")


def test_a_second_correction_keeps_what_it_leaves_unsaid_and_bad_input_is_a_flash(site):
    """GIVEN 桃城区's April package corrected to May WHEN staff then correct only its kind THEN the month stays May
    (the form's 不变 means as it stands) and the page says so; the same correction again is refused; a month
    that is no month is said, never a 500; a package corrected to a unit whose address it was not sent from is
    said to count still for nothing."""
    from tests.webapp import SHANGHAI, _message, store_one

    app, deps, archive = site
    staff = signed_in(app, "孙倩")

    def correct(**fields: str) -> str:
        shown = page(staff, f"/message/{archive.late}")
        data = {"csrf_token": csrf_token(shown), "message_id": str(archive.late), "back": "message", **fields}
        response = staff.post("/corrections", data=data)
        assert response.status_code == 302, response.status_code
        return page(staff, f"/message/{archive.late}")

    correct(month="2020-05", reason="5月的")
    after = correct(unit="景县", reason="景县代报")
    assert (
        "已登记更正 #2（邮件 #" in after
        and "报送单位更正为景县，报送月份更正为2020年5月，取代此前的更正 #1，未更正的项保持原样" in after
    )
    with deps.db.session() as session:
        assert session.get(Message, archive.late).month == "2020-05"
    assert f"未更正：与邮件 #{archive.late} 现行的更正 #2 相同，未重复登记" in correct(unit="景县", reason="再次")
    assert "未更正：月份“2020-13”无效：应写作 YYYY-MM" in correct(month="2020-13", reason="x")
    arrival = datetime(2020, 4, 16, 10, tzinfo=SHANGHAI)
    stranger = store_one(
        deps, _message("2851736642@qq.com", "4月份附件2", arrival, "见附件", ("summary-unit-row-only.xlsx",))
    )
    shown = page(staff, f"/message/{stranger}")
    data = {"csrf_token": csrf_token(shown), "message_id": str(stranger), "unit": "枣强县", "reason": "电话核实"}
    assert staff.post("/corrections", data=data).status_code == 302
    assert f"注意：邮件 #{stranger} 仍不计分：发件人 2851736642@qq.com 不是枣强县登记的报送邮箱" in page(
        staff, "/queue"
    )


def test_a_reason_is_kept_without_control_or_format_characters(site):
    """GIVEN a correction's reason holding a right-to-left override and a zero-width space (pasted from
    elsewhere) WHEN recorded THEN they are not kept: on a 核实通知 they would reorder or hide the unit's words."""
    from archive.corrections import corrections

    app, deps, archive = site
    staff = signed_in(app, "孙倩")
    shown = page(staff, f"/message/{archive.late}")
    reason = "单位\u202e来电\u200b说明"
    data = {"csrf_token": csrf_token(shown), "message_id": str(archive.late), "kind": "other", "reason": reason}
    assert staff.post("/corrections", data=data).status_code == 302
    with deps.db.session() as session:
        [(row, _)] = corrections(session)
    assert row.reason == "单位来电说明"


def test_a_correction_made_meanwhile_by_another_is_not_undone(site):
    """GIVEN two staff with 桃城区's late April package open on its page WHEN the first corrects its month and
    the second, on the page as it was, corrects its kind THEN the second is refused, told whose correction now
    stands, and the first's stands."""
    app, _, archive = site
    first, second = signed_in(app, "孙倩"), signed_in(app, "孙倩")
    pages = [page(client, f"/message/{archive.late}") for client in (first, second)]
    assert 'name="in_force" value=""' in pages[0]

    def correct(client, shown: str, **fields: str) -> str:
        """The page's correction form submitted as shown, with these fields chosen."""
        [in_force] = re.findall(r'name="in_force" value="([^"]*)"', shown)
        data = {"csrf_token": csrf_token(shown), "message_id": str(archive.late), "back": "message"}
        assert client.post("/corrections", data={**data, "in_force": in_force, **fields}).status_code == 302
        return page(client, f"/message/{archive.late}")

    after = correct(first, pages[0], month="2020-05", reason="5月的")
    assert 'name="in_force" value="1"' in after
    refused = correct(second, pages[1], kind="other", reason="误发")
    assert f"未更正：邮件 #{archive.late} 的更正刚刚有变化（现行的更正是 #1（孙倩））" in refused
    assert "更正 #1</a>：报送月份更正为2020年5月" in refused and "更正 #2" not in refused


def section(html: str, name: str) -> str:
    """The inside of the page's <section class="NAME">, "" when the page has none."""
    found = re.search(rf'<section class="{name}"[^>]*>(.*?)</section>', html, re.S)
    return found.group(1) if found else ""


def test_a_unit_conflict_a_correction_settled_is_no_open_problem_on_the_message_or_the_queue(site):
    """GIVEN 桃城区's registered address sending a package whose subject names 冀州区 (a conflict, on 待处理 and
    among the message's problems) WHEN staff correct its unit on the message's page THEN the page lists the
    conflict as settled by the correction, no more among its problems; the decision reads as the unit is told it
    (报送单位更正为冀州区), with who and why; 待处理 lists no item of it, and its 更正记录 says the correction in
    the same words."""
    from parsers.recognize import UNIT_CONFLICT_MARK
    from tests.webapp import SHANGHAI, _message, store_one

    app, deps, _ = site
    arrival = datetime(2020, 4, 16, 10, tzinfo=SHANGHAI)
    raw = _message("tcqcl@163.com", "冀州区4月份报表", arrival, "见附件", ("devices-registry-merged-poor-header.xls",))
    clash = store_one(deps, raw)
    staff = signed_in(app, "孙倩")
    assert f'id="item-{clash}-conflict"' in page(staff, "/queue")
    shown = page(staff, f"/message/{clash}")
    assert UNIT_CONFLICT_MARK in section(shown, "problems") and not section(shown, "settled")
    data = {"csrf_token": csrf_token(shown), "message_id": str(clash), "unit": "冀州区", "back": "message"}
    assert staff.post("/corrections", data={**data, "reason": "电话核实：冀州区的报表"}).status_code == 302
    shown = page(staff, f"/message/{clash}")
    assert UNIT_CONFLICT_MARK not in section(shown, "problems")
    assert (
        f"<li>主题写的单位是冀州区，{UNIT_CONFLICT_MARK}：发件人 tcqcl@163.com 是桃城区的报送邮箱"
        "（已由更正 #1 核实：报送单位更正为冀州区）</li>"
    ) in section(shown, "settled")
    decided = section(shown, "decisions")
    assert '<li><a href="/queue#correction-1">更正 #1</a>：报送单位更正为冀州区（孙倩，' in decided
    assert "：电话核实：冀州区的报表）</li>" in decided
    queue = page(staff, "/queue")
    assert f'id="item-{clash}-conflict"' not in queue
    assert "<th>更正内容</th>" in queue and "更正为 " not in queue
    fixes = re.search(r'<tr id="correction-1"[^>]*>(.*?)</tr>', queue, re.S).group(1)
    assert "<td>报送单位更正为冀州区</td>" in fixes and "<td>电话核实：冀州区的报表</td>" in fixes


def test_a_reading_says_what_it_holds_and_which_attachment_it_came_from(site):
    """GIVEN 饶阳县's package with its 附件1 as a Word document and its 附件2 WHEN staff open the message THEN the
    report says its length in characters (a document has no rows) and each reading names its attachment by its
    place among them, where 来自附件 1 read as a form's number."""
    from tests.webapp import SHANGHAI, _message, store_one

    app, deps, _ = site
    when = datetime(2020, 4, 15, 10, tzinfo=SHANGHAI)
    files = ("progress-report.docx", "summary-unit-row-only.xlsx")
    outcome = store_one(deps, _message("ryxcl@163.com", "饶阳县4月份报表", when, "见附件", files))
    shown = page(signed_in(app, "孙倩"), f"/message/{outcome}")
    assert re.search(r"来自第 1 个附件：progress-report\.docx；正文 [1-9]\d* 字", shown), shown
    assert "来自第 2 个附件：summary-unit-row-only.xlsx；" in shown and "0 行" not in shown
