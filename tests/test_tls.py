"""TLS with certificate checks, against real servers on loopback: Dovecot (implicit TLS and STARTTLS) and an
SMTP server (implicit TLS and STARTTLS), their certificates issued by a CA the tests make (trustme).

GIVEN servers whose certificate names `localhost` only, issued by the test CA
WHEN mailroom is given that CA (`ca_file`) and connects to `localhost`
THEN it fetches and sends over TLS; connecting to `127.0.0.1` instead (a name the certificate does not
hold), or without the CA (the system's store does not know it), it is refused with one Chinese line
before logging in, and nothing is fetched or sent.
"""

from __future__ import annotations

import contextlib
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
import trustme
from sqlalchemy import func, select

from archive.models import Message, OutboxMail
from archive.outbox import queue_mail
from bot.config import Outgoing
from bot.daemon.deps import open_deps
from bot.daemon.imap import connect
from bot.daemon.poll import poll_once
from bot.outgoing.outbox import SmtpTransport, flush_outbox
from bot.tls import SmtpCertificateRefused
from tests.conftest import make_config
from tests.smtp_server import SmtpServer

OFFICE = "hsclbgs666@163.com"
CA_FILE = "certs/test-ca.pem"  # relative: to the config file, which make_config puts in tmp_path
RAW = b"From: zqxcl@163.com\r\nTo: hsclbgs666@163.com\r\nSubject: TLS\r\nMessage-ID: <tls@test>\r\n\r\nbody\r\n"


@dataclass(frozen=True)
class Pki:
    ca: trustme.CA
    server: trustme.LeafCert  # names localhost, nothing else
    folder: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server.configure_cert(context)
        return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    ca = trustme.CA(organization_name="mailroom test CA")
    server = ca.issue_cert("localhost")
    folder = tmp_path_factory.mktemp("pki")
    (folder / "server.pem").write_bytes(b"".join(pem.bytes() for pem in server.cert_chain_pems))
    server.private_key_pem.write_to_path(str(folder / "server.key"))
    return Pki(ca, server, folder)


def give_ca(pki: Pki, base: Path) -> None:
    (base / CA_FILE).parent.mkdir(parents=True, exist_ok=True)
    pki.ca.cert_pem.write_to_path(str(base / CA_FILE))


@pytest.fixture(scope="module")
def dovecot(pki):
    from tests.dovecot import INSTALL_HINT, Dovecot, dovecot_binary

    if dovecot_binary() is None:
        pytest.skip(INSTALL_HINT)
    with Dovecot(
        users={"bgs": "office-pw"}, tls_cert=pki.folder / "server.pem", tls_key=pki.folder / "server.key"
    ) as server:
        yield server


@pytest.fixture
def folder(dovecot):
    """A folder of its own holding one message, for each test."""
    name = f"T{uuid.uuid4().hex[:12]}"
    dovecot.append("bgs", RAW, folder=name)
    return name


@pytest.fixture
def mailbox_config(tmp_path, pki, dovecot, folder, monkeypatch):
    monkeypatch.setenv("TEST_PW_BGS", "office-pw")
    give_ca(pki, tmp_path)

    def build(security: str, host: str = "localhost", **extra):
        box = {
            "key": "bgs",
            "name": "办公室",
            "address": OFFICE,
            "source": "imap",
            "host": host,
            "port": dovecot.tls_port if security == "tls" else dovecot.port,
            "security": security,
            "username": "bgs",
            "password_env": "TEST_PW_BGS",
            "folder": folder,
            **extra,
        }
        return make_config(tmp_path, f"sqlite:///{tmp_path}/mailroom.db", [box])

    return build


def logins(dovecot) -> list[str]:
    return [line for line in dovecot.log_text().splitlines() if "Login: user=<bgs>" in line]


def poll(config) -> tuple[object, int, list[float]]:
    """One poll; the mailbox's report, the messages stored, and every pause before a reconnect."""
    pauses: list[float] = []
    deps = open_deps(config, sleep=pauses.append, backoff=0.0)
    try:
        report = poll_once(config, deps)
        with deps.db.session() as session:
            stored = session.scalar(select(func.count()).select_from(Message))
    finally:
        deps.close()
    return report.mailboxes[0], stored, pauses


@pytest.mark.imap
@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_imap_over_tls_is_verified_by_the_configured_ca(dovecot, mailbox_config, security):
    config = mailbox_config(security, ca_file=CA_FILE)
    before = len(logins(dovecot))

    client = connect(config.mailboxes[0])
    try:
        assert isinstance(client.socket(), ssl.SSLSocket)
        assert client.socket().getpeercert()["subjectAltName"] == (("DNS", "localhost"),)
    finally:
        client.shutdown()
    box, stored, _ = poll(config)

    assert box.error is None and stored == 1 and [outcome.new for outcome in box.outcomes] == [True]
    dovecot.wait_for_log(r"Login: user=<bgs>.*TLS")
    assert all("TLS" in line for line in logins(dovecot)[before:])


@pytest.mark.imap
@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_imap_certificate_for_another_host_is_refused_before_login(dovecot, mailbox_config, folder, security):
    config = mailbox_config(security, host="127.0.0.1", ca_file=CA_FILE)
    before = len(logins(dovecot))

    box, stored, pauses = poll(config)

    assert box.error is not None and len(box.error.splitlines()) == 1
    assert box.error.startswith("bgs: 服务器 127.0.0.1 的证书与主机名 127.0.0.1 不符，已拒绝连接，未收取任何邮件")
    assert stored == 0 and pauses == []  # refused at once: no reconnecting to the same certificate
    assert logins(dovecot)[before:] == []
    assert dovecot.status("bgs", folder)["MESSAGES"] == 1


@pytest.mark.imap
def test_imap_without_the_ca_trusts_only_the_system_store(dovecot, mailbox_config):
    box, stored, _ = poll(mailbox_config("tls"))
    assert "证书不是受信任的 CA 签发" in box.error and "ca_file" in box.error and stored == 0


@pytest.fixture(scope="module", params=["tls", "starttls"])
def smtp_server(request, pki):
    server = SmtpServer(lambda recipient, raw: None, tls=pki.server_context(), implicit=request.param == "tls")
    server.start()
    yield request.param, server
    server.stop()


def outgoing(tmp_path: Path, security: str, port: int, host: str = "localhost", ca: bool = True) -> Outgoing:
    return Outgoing(
        transport="smtp",
        host=host,
        port=port,
        security=security,
        sender=OFFICE,
        timeout_seconds=10,
        ca_file=tmp_path / CA_FILE if ca else None,
    )


def test_smtp_over_tls_is_verified_by_the_configured_ca(tmp_path, pki, smtp_server):
    """The server takes mail only over TLS (implicit, or STARTTLS required): a mail accepted went over TLS."""
    security, server = smtp_server
    give_ca(pki, tmp_path)
    with contextlib.closing(SmtpTransport(outgoing(tmp_path, security, server.port))) as transport:
        transport.send(RAW, OFFICE, ["zqxcl@163.com"], "tls-test")
    assert server.handler.accepted[-1] == (OFFICE, ["zqxcl@163.com"], RAW)


def test_smtp_certificate_for_another_host_is_refused_and_the_mail_kept(tmp_path, pki, smtp_server):
    """GIVEN a receipt in the outbox and the SMTP server reached as 127.0.0.1 (its certificate says localhost)
    WHEN the outbox is sent
    THEN nothing reaches the server; the mail waits in the outbox with one Chinese line as its error."""
    security, server = smtp_server
    give_ca(pki, tmp_path)
    config = make_config(tmp_path, f"sqlite:///{tmp_path}/mailroom.db")
    deps = open_deps(config)
    now = datetime(2020, 5, 6, 1, 0, tzinfo=UTC)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = OFFICE, "zqxcl@163.com", "回执"
    message["Message-ID"] = "<receipt@test>"
    message.set_content("已收到")
    accepted = list(server.handler.accepted)
    try:
        with deps.db.session() as session:
            queue_mail(session, "receipt:tls", "receipt", message, now)
            session.commit()
        out = outgoing(tmp_path, security, server.port, host="127.0.0.1")
        report = flush_outbox(deps.db, out, SmtpTransport(out), now)
        with deps.db.session() as session:
            mail = session.scalars(select(OutboxMail)).one()
    finally:
        deps.close()

    assert (report.sent, report.failed) == (0, 1)
    assert mail.state == "pending" and mail.next_attempt_at > now
    assert mail.last_error.startswith(
        "smtp: 服务器 127.0.0.1 的证书与主机名 127.0.0.1 不符，已拒绝连接，未发送任何邮件"
    )
    assert len(mail.last_error.splitlines()) == 1
    assert server.handler.accepted == accepted


def test_smtp_without_the_ca_is_refused(tmp_path, smtp_server):
    security, server = smtp_server
    with pytest.raises(SmtpCertificateRefused, match="证书不是受信任的 CA 签发"):
        SmtpTransport(outgoing(tmp_path, security, server.port, ca=False)).send(RAW, OFFICE, ["a@b.c"], "x")


def test_ca_file_is_relative_to_the_config_file_and_defaults_to_the_system_store(tmp_path, pki):
    give_ca(pki, tmp_path)
    box = {
        "key": "bgs",
        "name": "办公室",
        "address": OFFICE,
        "source": "imap",
        "host": "imap.163.com",
        "username": "bgs",
        "password_env": "X",
    }
    config = make_config(tmp_path, "sqlite://", [box, {**box, "key": "kfb", "ca_file": CA_FILE}])
    assert [b.ca_file for b in config.mailboxes] == [None, tmp_path / CA_FILE]
    assert config.outgoing.ca_file is None
    with_smtp = make_config(tmp_path, "sqlite://", [box], smtp={"ca_file": str(tmp_path / CA_FILE)})
    assert with_smtp.outgoing.ca_file == tmp_path / CA_FILE


@pytest.mark.parametrize("content", [None, b"not a certificate\n"], ids=["missing", "not-pem"])
def test_a_ca_file_that_holds_no_certificate_is_a_config_error(tmp_path, content):
    from parsers.errors import ConfigError

    if content is not None:
        (tmp_path / "ca.pem").write_bytes(content)
    box = {
        "key": "bgs",
        "name": "办公室",
        "address": OFFICE,
        "source": "imap",
        "host": "imap.163.com",
        "username": "bgs",
        "password_env": "X",
        "ca_file": "ca.pem",
    }
    with pytest.raises(ConfigError, match=r"\[\[mailbox\]\] bgs（办公室）的 ca_file 应为可读的 PEM 证书文件"):
        make_config(tmp_path, "sqlite://", [box])
    with pytest.raises(ConfigError, match=r"smtp\.ca_file 应为可读的 PEM 证书文件"):
        make_config(tmp_path, "sqlite://", None, smtp={"ca_file": "ca.pem"})
