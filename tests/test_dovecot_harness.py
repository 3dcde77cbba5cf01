"""Tests of the Dovecot test harness itself (tests/dovecot.py)."""

from __future__ import annotations

import datetime as dt
import imaplib
import os
import socket
import time

import imapclient
import pytest

try:  # importable both as tests.dovecot (repo root on sys.path) and dovecot
    from tests.dovecot import INSTALL_HINT, Dovecot, DovecotError, dovecot_binary
except ImportError:
    from dovecot import INSTALL_HINT, Dovecot, DovecotError, dovecot_binary

pytestmark = pytest.mark.imap

UTC = dt.UTC
PLUS3 = dt.timezone(dt.timedelta(hours=3))


def _require_dovecot() -> None:
    if dovecot_binary() is None:
        pytest.skip("dovecot-imapd not installed: run scripts/install.sh")


# Accounts created up front (adding one to a running server takes ~0.5-1 s).
POOL = [f"u{i}" for i in range(1, 21)]
_unused: list[str] = []


@pytest.fixture(scope="module")
def server():
    _require_dovecot()
    users = {"jjb": "pw1", "kfb": "pw2"}
    users.update({u: f"secret-{u}" for u in POOL})
    _unused[:] = POOL
    with Dovecot(users=users) as d:
        yield d


@pytest.fixture
def user(server: Dovecot) -> str:
    """A fresh, empty mailbox account on the shared server."""
    return _unused.pop(0)


@pytest.fixture
def own_server():
    """A private server, for tests that restart or stop it."""
    _require_dovecot()
    with Dovecot(users={"jjb": "pw1"}) as d:
        yield d


def _message(subject: str, body: str = "Hello\r\n") -> bytes:
    # CRLF line endings: Dovecot serves bare LF as CRLF, so only CRLF input
    # comes back byte-identical.  8-bit UTF-8 in a header on purpose.
    return (
        f"From: Отдел <otdel@example.org>\r\n"
        f"To: jjb@example.org\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '.')}@example.org>\r\n"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n"
        f"\r\n"
        f"{body}"
    ).encode()


def test_install_hint_text():
    assert INSTALL_HINT == "dovecot-imapd not installed: run scripts/install.sh"


def test_server_starts_on_loopback_high_port(server: Dovecot):
    assert server.running
    assert server.host == "127.0.0.1"
    assert server.port > 1024 and server.port not in (143, 993)
    assert server.version.startswith("2.3.")
    with socket.create_connection((server.host, server.port), timeout=5) as s:
        assert s.recv(200).startswith(b"* OK")
    conf = server.config_text()
    for line in (
        "ssl = no",
        "disable_plaintext_auth = no",
        "protocols = imap",
        "imap_id_log = *",
        "mail_location = maildir:~/Maildir",
    ):
        assert line in conf
    assert str(server.root) in conf  # base_dir, state_dir, log_path
    assert "starting up for imap" in server.log_text()
    with server.client("jjb") as c:
        assert b"UIDPLUS" in c.capabilities()
    with server.client("kfb") as c:
        assert c.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] == 0


def test_failed_logins_do_not_slow_down_later_logins(server: Dovecot):
    # The auth penalty (2, 4, 8... s per failure from one IP) is disabled; a
    # failure itself still takes ~0.5 s (Dovecot's failure flush timer).
    for _ in range(3):
        c = imapclient.IMAPClient(server.host, port=server.port, ssl=False, timeout=10)
        start = time.monotonic()
        with pytest.raises(imaplib.IMAP4.error):
            c.login("jjb", "wrong password")
        assert time.monotonic() - start < 1.5
        c.shutdown()
    start = time.monotonic()
    server.client("jjb").logout()
    assert time.monotonic() - start < 1.0


def test_add_user_while_running(server: Dovecot):
    server.add_user("late", "late-pw")
    with server.client("late") as c:
        assert c.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"] == 0
    server.add_user("late", "LATE-PW")  # same size, maybe same second: still seen
    with server.client("late") as c:
        c.noop()
    with pytest.raises(ValueError):
        server.add_user("bad:name", "x")


def test_mail_dir_belongs_to_mail_user(server: Dovecot, user: str):
    md = server.mail_dir(user)
    assert md == server.root / "home" / user / "Maildir"
    for sub in ("cur", "new", "tmp"):
        assert (md / sub).is_dir()
    if os.geteuid() == 0:
        st = md.stat()
        assert (st.st_uid, st.st_gid) == (65534, 65534)


def test_append_roundtrip_byte_identical_with_internaldate(server: Dovecot, user: str):
    raw = _message("append roundtrip", "line one\r\nстрока два\r\n")
    when = dt.datetime(2024, 2, 29, 23, 59, 58, tzinfo=PLUS3)
    uid = server.append(user, raw, internaldate=when)
    uid2 = server.append(user, _message("second"), internaldate=when, flags=[b"\\Seen"])
    assert uid2 == uid + 1
    with server.client(user) as c:
        c.select_folder("INBOX", readonly=True)
        data = c.fetch([uid, uid2], ["BODY.PEEK[]", "INTERNALDATE", "FLAGS", "RFC822.SIZE"])
    assert data[uid][b"BODY[]"] == raw
    assert data[uid][b"RFC822.SIZE"] == len(raw)
    assert data[uid][b"INTERNALDATE"] == when  # same instant (Maildir keeps no zone)
    assert b"\\Seen" not in data[uid][b"FLAGS"]
    assert b"\\Seen" in data[uid2][b"FLAGS"]


def test_append_into_new_folder_and_append_many(server: Dovecot, user: str):
    base = dt.datetime(2023, 5, 1, 8, 0, tzinfo=UTC)
    msgs = [(_message(f"many {i}"), base + dt.timedelta(days=i)) for i in range(5)]
    uids = server.append_many(user, msgs, folder="Reports/2023")
    assert uids == list(range(uids[0], uids[0] + 5))
    assert "Reports/2023" in server.folders(user)
    with server.client(user) as c:
        c.select_folder("Reports/2023", readonly=True)
        got = c.fetch(uids, ["INTERNALDATE", "BODY.PEEK[]"])
    for uid, (raw, when) in zip(uids, msgs):
        assert got[uid][b"BODY[]"] == raw
        assert got[uid][b"INTERNALDATE"] == when


def test_recreate_folder_changes_uidvalidity(server: Dovecot, user: str):
    server.append(user, _message("in archive"), folder="Archive")
    before = server.status(user, "Archive")
    assert before["MESSAGES"] == 1
    new = server.recreate_folder(user, "Archive")
    after = server.status(user, "Archive")
    assert new == after["UIDVALIDITY"] == server.uidvalidity(user, "Archive")
    assert after["UIDVALIDITY"] != before["UIDVALIDITY"]
    assert after["MESSAGES"] == 0 and after["UIDNEXT"] == 1


def test_recreate_inbox_changes_uidvalidity_and_drops_sessions(server: Dovecot, user: str):
    for i in range(3):
        server.append(user, _message(f"inbox {i}"))
    old = server.uidvalidity(user)
    other_before = server.status("kfb")
    watcher = server.client(user)
    watcher.select_folder("INBOX")
    new = server.recreate_folder(user, "INBOX")
    assert new != old
    st = server.status(user)
    assert st["UIDVALIDITY"] == new and st["MESSAGES"] == 0 and st["UIDNEXT"] == 1
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        watcher.noop()
    watcher.shutdown()
    # The re-created INBOX works normally, UIDs restart at 1.
    assert server.append(user, _message("after recreate")) == 1
    # Other accounts are untouched.
    assert server.status("kfb") == other_before


def test_id_command_is_logged(server: Dovecot, user: str):
    # Before login it is logged by imap-login, after login by imap(user).
    with imapclient.IMAPClient(server.host, port=server.port, ssl=False) as c:
        c.id_({"name": "harness-prelogin", "version": "1.2"})
        c.login(user, server.password(user))
    with server.client(user) as c:
        c.id_({"name": "harness-test", "version": "0.1"})
    server.wait_for_log(r"imap-login: Info: ID sent: name=harness-prelogin, version=1\.2")
    m = server.wait_for_log(rf"imap\({user}\).*ID sent: name=harness-test, version=0\.1")
    assert m.group(0) in server.log_text()
    assert any("harness-test" in line for line in server.id_log_lines())


def test_fill_maildir_visible_over_imap_with_dates_and_flags(server: Dovecot, user: str):
    base = dt.datetime(2022, 12, 31, 22, 30, 15, tzinfo=UTC)
    msgs = [
        (_message("filled 0"), base),
        (_message("filled 1"), base - dt.timedelta(days=400)),  # older, but UID order = given order
        (_message("filled 2"), base + dt.timedelta(hours=1), [b"\\Seen", "\\Flagged"]),
    ]
    paths = server.fill_maildir(user, msgs)
    assert len(paths) == 3 and all(os.path.exists(p) for p in paths)
    if os.geteuid() == 0:
        assert os.stat(paths[0]).st_uid == 65534
    with server.client(user) as c:
        info = c.select_folder("INBOX", readonly=True)
        assert info[b"EXISTS"] == 3
        uids = c.search("ALL")
        got = c.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE", "FLAGS", "RFC822.SIZE"])
    assert [got[u][b"BODY[]"] for u in sorted(uids)] == [m[0] for m in msgs]
    assert [got[u][b"INTERNALDATE"] for u in sorted(uids)] == [m[1] for m in msgs]
    assert [got[u][b"RFC822.SIZE"] for u in sorted(uids)] == [len(m[0]) for m in msgs]
    flags = [set(got[u][b"FLAGS"]) - {b"\\Recent"} for u in sorted(uids)]
    assert flags == [set(), set(), {b"\\Seen", b"\\Flagged"}]


def test_fill_maildir_while_selected_and_into_subfolder(server: Dovecot, user: str):
    when = dt.datetime(2021, 6, 1, 12, 0, tzinfo=UTC)
    with server.client(user) as c:
        c.select_folder("INBOX")
        server.fill_maildir(user, [(_message("live 1"), when), (_message("live 2"), when)])
        c.noop()
        assert c.search("ALL") == [1, 2]
    server.fill_maildir(user, [(_message("sub"), when)], folder="Dept/Incoming")
    assert "Dept/Incoming" in server.folders(user)
    assert server.status(user, "Dept/Incoming")["MESSAGES"] == 1
    with pytest.raises(ValueError):
        server.fill_maildir(user, [(b"x", when, ["$Keyword"])])


def test_users_are_isolated(server: Dovecot, user: str):
    server.append(user, _message("only for new user"))
    assert server.status(user)["MESSAGES"] == 1
    assert server.mail_dir(user) != server.mail_dir("kfb")
    with pytest.raises(KeyError):
        server.mail_dir("nosuchuser")


def test_restart_keeps_mail_and_drops_connections(own_server: Dovecot):
    d = own_server
    raw = _message("survives restart")
    when = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    uid = d.append("jjb", raw, internaldate=when)
    validity = d.uidvalidity("jjb")
    port = d.port
    c = d.client("jjb")
    c.select_folder("INBOX")
    d.restart()
    assert d.running and d.port == port
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        c.noop()
    c.shutdown()
    d.wait_for_log(r"imap\(jjb\).*Disconnected: Server shutting down")
    assert d.uidvalidity("jjb") == validity
    with d.client("jjb") as c2:
        c2.select_folder("INBOX", readonly=True)
        got = c2.fetch([uid], ["BODY.PEEK[]", "INTERNALDATE"])[uid]
    assert got[b"BODY[]"] == raw and got[b"INTERNALDATE"] == when

    # Hard restart (SIGKILL, like a crash), then a stop/start by hand.
    d.restart(graceful=False, downtime=0.1)
    assert d.status("jjb")["MESSAGES"] == 1
    d.stop()
    assert not d.running
    with pytest.raises(OSError):
        socket.create_connection((d.host, d.port), timeout=2).close()
    with pytest.raises(DovecotError):
        d.client("jjb")
    d.start()
    assert d.status("jjb")["MESSAGES"] == 1


def test_kick_drops_only_that_user(own_server: Dovecot):
    d = own_server
    d.add_user("other", "pw")
    a, b = d.client("jjb"), d.client("other")
    a.select_folder("INBOX")
    b.select_folder("INBOX")
    assert d.kick("jjb") == 1
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        a.noop()
    a.shutdown()
    b.noop()
    b.logout()


def test_fill_maildir_before_start():
    _require_dovecot()
    when = dt.datetime(2019, 11, 5, 9, 15, 0, tzinfo=UTC)
    msgs = [(_message(f"pre {i}"), when + dt.timedelta(seconds=i)) for i in range(50)]
    with Dovecot(users={"jjb": "pw1"}, start=False) as d:
        assert not d.running
        d.fill_maildir("jjb", msgs)
        d.fill_maildir("jjb", msgs[:1], folder="Old")
        d.start()
        with d.client("jjb") as c:
            assert c.select_folder("INBOX", readonly=True)[b"EXISTS"] == 50
            got = c.fetch(list(range(1, 51)), ["INTERNALDATE", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        assert [got[u][b"INTERNALDATE"] for u in range(1, 51)] == [m[1] for m in msgs]
        assert got[50][b"BODY[HEADER.FIELDS (SUBJECT)]"].strip() == b"Subject: pre 49"
        assert d.status("jjb", "Old")["MESSAGES"] == 1


def test_close_leaves_nothing_behind():
    _require_dovecot()
    d = Dovecot(users={"jjb": "pw"})
    pid, root = d.pid, d.root
    d.close()
    assert not d.running
    assert not root.exists()
    assert not os.path.exists(f"/proc/{pid}")
