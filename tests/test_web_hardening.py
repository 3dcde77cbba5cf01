"""The web app's edges, on SQLite and PostgreSQL: staff evidence masked on the explanation, downloads never
cached, bad input answered with a 4xx error page (never a 500), account names that cannot pass for another,
waitress's own error responses with the security headers, and `behind_proxy`'s Secure cookie and one-hop
X-Forwarded-For."""

import dataclasses
import socket
from datetime import UTC, date, datetime

import pytest

from archive.entries import add_entry
from archive.users import add_user, find_user
from bot.web.app import CONTENT_SECURITY_POLICY, create_app
from parsers.errors import MailroomError
from tests.conftest import make_config
from tests.webapp import PASSWORD, add_accounts, csrf_token, fill_archive, log_in, waitress_serving


def _clock() -> datetime:
    return datetime(2020, 5, 1, 9, tzinfo=UTC)


@pytest.fixture
def site(config, deps):
    archive = fill_archive(deps)
    add_accounts(deps)
    return create_app(config, dataclasses.replace(deps, clock=_clock), secret_key="test secret"), deps, archive


def signed_in(app, name: str):
    client = app.test_client()
    assert log_in(client, name).status_code == 302
    return client


def assert_error_page(response, status: int, back: str = "返回归档检索") -> None:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert back in response.get_data(as_text=True)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["Cache-Control"] == "no-store"


EVIDENCE = "衡水日报 2020-05-02 报道，联系 13912345678，身份证 131127 19800101 0011"


def test_staff_evidence_on_the_explanation_is_masked_for_an_auditor(site):
    """GIVEN a staff entry whose evidence holds a phone and an ID (spaced) WHEN a masked auditor opens the unit's
    explanation and the audit trail THEN neither shows them; staff and the granted auditor see them whole."""
    app, deps, _ = site
    with deps.db.session() as session:
        add_entry(session, "桃城区", "media", "city", date(2020, 5, 2), EVIDENCE, "孙倩")
    for path in ("/unit/桃城区?month=2020-05", "/entries"):
        masked = signed_in(app, "审计员").get(path).get_data(as_text=True)
        assert "139****5678" in masked and "131127********0011" in masked, path
        assert "13912345678" not in masked and "19800101" not in masked, path
        assert "13912345678" in signed_in(app, "督查员").get(path).get_data(as_text=True), path


def test_a_long_evidence_is_never_cut_inside_a_number(site):
    """GIVEN evidence whose 60-character cut on the explanation falls inside a phone number THEN the number is
    left out whole: half of it would escape masking."""
    app, deps, _ = site
    evidence = "衡水日报报道" + "残疾人服务工程" * 7 + "联系 13912345678"
    assert 55 < evidence.index("139") < 60
    with deps.db.session() as session:
        add_entry(session, "桃城区", "media", "city", date(2020, 5, 2), evidence, "孙倩")
    for name in ("审计员", "孙倩"):
        html = signed_in(app, name).get("/unit/桃城区?month=2020-05").get_data(as_text=True)
        assert "联系 …" in html or "联系…" in html, name
        assert "1391" not in html and "139*" not in html, name


def test_downloads_are_never_stored_by_the_browser(site):
    app, _, archive = site
    client = signed_in(app, "孙倩")
    html = client.get(f"/message/{archive.package}").get_data(as_text=True)
    import re

    reading = re.search(r"/reading/(\d+)\.csv", html).group(1)
    for path in (
        f"/message/{archive.package}/original.eml",
        f"/message/{archive.package}/attachment/1",
        f"/message/{archive.package}/reading/{reading}.csv",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
        assert "attachment" in response.headers["Content-Disposition"], path


def test_bad_input_is_a_4xx_error_page_never_a_500(site):
    app, _, archive = site
    client = signed_in(app, "孙倩")
    for month in ("0000-01", "9999-12", "1919-12", "2120-12"):  # no plan covers them: refused, saying so
        for path in ("/standings", "/matrix", "/progress", "/unit/桃城区"):
            assert_error_page(client.get(f"{path}?month={month}"), 404)
    for huge in (2**31, 2**63, 2**64 + 5):
        for path in (
            f"/message/{huge}",
            f"/message/{archive.package}/attachment/{huge}",
            f"/message/{huge}/original.eml",
            f"/message/{archive.package}/reading/{huge}.csv",
        ):
            assert_error_page(client.get(path), 404)
    assert_error_page(client.get(f"/message/{2**31 - 1}"), 404)


@pytest.mark.parametrize("target", ["/search\r\nSet-Cookie: evil=1", "/search%0d%0aX: y", "/search\n", "/s\x7f"])
def test_a_control_character_in_next_is_ignored_at_login(site, target):
    """GIVEN a login whose `next` carries CR/LF WHEN the password is right THEN the login goes to the search
    page (no 500 after the session was set, no header split)."""
    from urllib.parse import unquote

    app, _, _ = site
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"csrf_token": token, "name": "孙倩", "password": PASSWORD, "next": unquote(target)}
    )
    assert response.status_code == 302 and response.location == "/search"
    assert "evil" not in response.headers.get("Set-Cookie", "")
    assert client.get(f"/login?next={target}").status_code in (200, 302)


def test_an_unexpected_error_is_a_500_page_with_the_headers(config, deps):
    app = create_app(config, dataclasses.replace(deps, clock=_clock), secret_key="test secret")
    app.view_functions["auth.favicon"] = lambda: 1 / 0  # a public page that fails
    response = app.test_client().get("/favicon.ico")
    assert_error_page(response, 500, back="前往登录")  # nobody signed in
    assert "ZeroDivisionError" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "name",
    [
        "staff1\u200b",
        "staff\u200d1",
        "\u202estaff1",
        "staff1\x00",
        "staff 1",
        "staff1\u3164",
        "staff\u034f1",
        "\ufeffstaff1",
    ],
)
def test_an_account_name_with_invisible_characters_is_refused(deps, name):
    with deps.db.session() as session:
        add_user(session, "staff1", PASSWORD, "staff")
        with pytest.raises(MailroomError, match="不可见字符|空格"):
            add_user(session, name, PASSWORD, "auditor")


def test_account_names_are_nfkc_normalised(deps):
    """GIVEN an account made as full-width `ｓｔａｆｆ１` THEN it is `staff1`: found and refused again by either
    spelling, and logs in by either."""
    with deps.db.session() as session:
        made = add_user(session, "ｓｔａｆｆ１", PASSWORD, "staff")
        assert made.name == "staff1" and find_user(session, "staff1").id == made.id
        with pytest.raises(MailroomError, match="已存在"):
            add_user(session, "staff1", PASSWORD, "auditor")
    from archive.users import log_in as account_log_in

    with deps.db.session() as session:
        assert account_log_in(session, "ｓｔａｆｆ１", PASSWORD, "192.0.2.1", _clock()).user.name == "staff1"


def test_waitress_own_error_responses_carry_the_security_headers(site):
    """GIVEN the app served by bot.web.server on loopback WHEN a request waitress refuses itself arrives (bad
    request line, bad header, body too large) THEN its answer has the app's security headers; the app's
    own pages have them too."""
    from bot.web.server import SERVER_HEADERS

    app, _, _ = site
    with waitress_serving(app, threads=1) as port:
        for raw, status in (
            (b"GARBAGE\r\n\r\n", b"400"),
            (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", b"400"),
            (b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", b"413"),
            (b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"200"),
        ):
            head = _exchange(port, raw).split(b"\r\n\r\n")[0].decode()
            assert head.split()[1] == status.decode(), head
            headers = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in head.split("\r\n")[1:]}
            for name, value in SERVER_HEADERS:
                assert headers.get(name.lower()) == value, (raw, name)


def _exchange(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(raw)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


@pytest.fixture
def proxied(tmp_path, database_url, deps):
    config = make_config(tmp_path, database_url, web={"behind_proxy": True})
    fill_archive(deps)
    add_accounts(deps)
    return create_app(config, dataclasses.replace(deps, clock=_clock), secret_key="test secret")


def _through_proxy(app, client_address: str, forwarded: str | None = None):
    """A client as the proxy on loopback passes it on: the proxy's own address, the client's in X-Forwarded-For,
    HTTPS in X-Forwarded-Proto (the browser spoke HTTPS to the proxy, so its cookie jar is the https one)."""
    client = app.test_client()
    client.environ_base.update(
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR=forwarded or client_address,
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_REFERER="https://localhost/login",
    )
    return client


def _proxied_log_in(client, name: str, password: str = PASSWORD):
    token = csrf_token(client.get("/login", base_url="https://localhost").get_data(as_text=True))
    return client.post(
        "/login", base_url="https://localhost", data={"csrf_token": token, "name": name, "password": password}
    )


def test_behind_a_proxy_the_session_cookie_is_secure(proxied, config, deps):
    client = _through_proxy(proxied, "192.0.2.7")
    response = _proxied_log_in(client, "孙倩")
    assert response.status_code == 302 and "Secure" in response.headers["Set-Cookie"]
    assert client.get("/search", base_url="https://localhost").status_code == 200
    plain = create_app(config, dataclasses.replace(deps, clock=_clock), secret_key="test secret")
    assert "Secure" not in log_in(plain.test_client(), "孙倩").headers["Set-Cookie"]


def test_behind_a_proxy_failures_are_counted_by_the_forwarded_address_one_hop_only(proxied):
    """GIVEN behind_proxy WHEN one client fails 20 logins, each for another name, while claiming a new address in
    front of the one the proxy appends THEN its real address is locked (the proxy's one hop is believed, the
    client's own claims are not) and another client through the same proxy is not."""
    for n in range(20):
        sprayer = _through_proxy(proxied, "192.0.2.7", forwarded=f"198.51.100.{n}, 192.0.2.7")
        assert _proxied_log_in(sprayer, f"guess{n}", "wrong password").status_code == 401
    again = _through_proxy(proxied, "192.0.2.7", forwarded="203.0.113.9, 192.0.2.7")
    assert _proxied_log_in(again, "孙倩").status_code == 429
    assert _proxied_log_in(_through_proxy(proxied, "192.0.2.8"), "孙倩").status_code == 302


def test_wrong_passwords_tried_in_parallel_are_checked_five_times_at_most(site):
    """GIVEN 16 clients trying wrong passwords for one name at once WHEN each logs in THEN at most five passwords
    are checked (401), the rest refused as locked (429): 8 of 40 were checked, several passing the look at the
    lock together during the slow password check (web attacker)."""
    import threading

    app, _, _ = site
    statuses: list[int] = []
    start = threading.Barrier(16)

    def attempt(n: int) -> None:
        client = app.test_client()
        client.environ_base.update(REMOTE_ADDR=f"192.0.2.{n}")
        start.wait()
        statuses.append(log_in(client, "孙倩", "wrong password").status_code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(statuses)) == [401, 429] and statuses.count(401) <= 5


def test_without_behind_proxy_x_forwarded_for_is_not_believed(site):
    """GIVEN no proxy configured WHEN a client fails 20 logins claiming a new X-Forwarded-For each time THEN its
    own address is locked all the same."""
    app, _, _ = site
    for n in range(20):
        client = app.test_client()
        client.environ_base.update(REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert log_in(client, f"guess{n}", "wrong password").status_code == 401
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert log_in(client, "孙倩").status_code == 429


def test_an_upload_too_large_for_waitress_is_answered_in_chinese(site):
    """GIVEN the served app WHEN a 自查 upload of 30 MB arrives (past what waitress itself lets through, so the
    app never sees it) THEN the answer is a page in Chinese saying the limit and what to do: it was waitress's
    English "Request Entity Too Large / exceeds max_body of 22020096"."""
    app, _, _ = site
    with waitress_serving(app, threads=1) as port:
        raw = b"POST /selfcheck HTTP/1.1\r\nHost: x\r\nContent-Length: 31457280\r\n\r\n"
        head, body = _exchange(port, raw).split(b"\r\n\r\n", 1)
    page = body.decode("utf-8")
    assert head.split()[1] == b"413" and b"text/html; charset=utf-8" in head
    assert "提交的内容过大" in page and "一次上传的文件合计不能超过 20 MB" in page and "max_body" not in page
