"""When two stored mails are one message: copies of one mail delivered to several of our mailboxes.

A clerk who sends one package To 教就部 and Cc 康复部 (or To all four departments, as "any form may arrive at
any of the 4 mailboxes" invites) makes one mail, which each receiving mailbox stores with trace headers of its
own on top (Received, Delivered-To, Return-Path, X-* of its spam filter). Their bytes differ, so their SHA-256
do; what the sender wrote does not. The copy key names what the sender wrote: the Message-ID, the headers the
sender sets that say who and what (From, To, Cc, Subject, Date) and the body, byte for byte (line endings
aside: a Maildir holds LF, IMAP hands out CRLF). Mail without a Message-ID has no key: nothing tells two
such mails apart from one sent twice.
"""

from __future__ import annotations

import hashlib
import re
from email.parser import BytesHeaderParser
from email.policy import compat32

_SENDER_HEADERS = ("message-id", "from", "to", "cc", "subject", "date")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_FOLDING = re.compile(r"\s+")


def copy_key(raw: bytes) -> str | None:
    """The SHA-256 of what the sender wrote (see the module), or None for mail without a Message-ID."""
    end = _HEAD_END.search(raw)
    head, body = (raw[: end.start()], raw[end.end() :]) if end else (raw, b"")
    said: dict[str, list[str]] = {}
    for name, value in BytesHeaderParser(policy=compat32).parsebytes(head + b"\n\n").raw_items():
        if name.lower() in _SENDER_HEADERS:
            said.setdefault(name.lower(), []).append(_FOLDING.sub(" ", value).strip())
    if not "".join(said.get("message-id", ())):
        return None
    digest = hashlib.sha256()
    for name in _SENDER_HEADERS:
        for value in said.get(name, ()):
            digest.update(f"{name}:{value}\n".encode("utf-8", "surrogateescape"))
    digest.update(b"\n")
    digest.update(body.replace(b"\r\n", b"\n"))
    return digest.hexdigest()
