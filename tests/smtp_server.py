"""A real SMTP server on loopback (aiosmtpd) that delivers each message into a Dovecot mailbox."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Delivering:
    """aiosmtpd handler: hands every accepted message to `deliver(recipient, raw)`."""

    def __init__(self, deliver: Callable[[str, bytes], None]):
        self.deliver = deliver
        self.accepted: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        for recipient in envelope.rcpt_tos:
            self.deliver(recipient.lower(), raw)
        self.accepted.append((envelope.mail_from, list(envelope.rcpt_tos), raw))
        return "250 OK delivered"


class SmtpServer:
    """Start, stop and start again on the same port (to test mail waiting while the server is down).

    With `tls` (a server-side SSLContext) it speaks TLS: from the first byte when `implicit` (465-style),
    else it offers STARTTLS and refuses every command but EHLO, NOOP and QUIT before it."""

    def __init__(
        self, deliver: Callable[[str, bytes], None], *, tls: ssl.SSLContext | None = None, implicit: bool = False
    ):
        if implicit and tls is None:
            raise ValueError("implicit TLS needs a tls context")
        self.handler = Delivering(deliver)
        self.port = free_port()
        self.tls, self.implicit = tls, implicit
        self.controller: Controller | None = None

    def start(self) -> None:
        if self.tls is None:
            options: dict = {}
        elif self.implicit:
            options = {"ssl_context": self.tls}
        else:
            options = {"tls_context": self.tls, "require_starttls": True}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextmanager
def smtp_answering(handler: Delivering) -> Iterator[SmtpServer]:
    """A plain SMTP server on loopback answering with `handler` (a Delivering that refuses what a test needs),
    started for the `with` and stopped after it."""
    server = SmtpServer(lambda recipient, raw: None)
    server.handler = handler
    server.start()
    try:
        yield server
    finally:
        server.stop()
