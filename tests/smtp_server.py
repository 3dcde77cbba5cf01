"""A real SMTP server on loopback (aiosmtpd) that delivers each message into a Dovecot mailbox."""

from __future__ import annotations

import socket
from typing import Callable

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
    """Start, stop and start again on the same port (to test mail waiting while the server is down)."""

    def __init__(self, deliver: Callable[[str, bytes], None]):
        self.handler = Delivering(deliver)
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
