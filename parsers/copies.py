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

_SENDER_HEADERS = (b"message-id", b"from", b"to", b"cc", b"subject", b"date")
_HEAD_END = re.compile(rb"\r?\n\r?\n")


def copy_key(raw: bytes) -> str | None:
    """The SHA-256 of what the sender wrote (see the module), or None for mail without a Message-ID. The header
    block is read as bytes, line by line (no decoding: both copies hold the same bytes), in one pass whatever
    its size: it runs in the process that stores the batch, before any reader has seen the mail."""
    end = _HEAD_END.search(raw)
    head, body = (raw[: end.start()], raw[end.end() :]) if end else (raw, b"")
    said: dict[bytes, list[bytes]] = {}
    name: bytes | None = None
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):  # a folded line continues the field above it
            if name in said:
                said[name][-1] += b" " + line.strip()
            continue
        field, colon, value = line.partition(b":")
        name = field.strip().lower() if colon else None
        if name in _SENDER_HEADERS:
            said.setdefault(name, []).append(value.strip())
    if not b"".join(said.get(b"message-id", ())):
        return None
    digest = hashlib.sha256()
    for header in _SENDER_HEADERS:
        for value in said.get(header, ()):
            digest.update(header + b":" + b" ".join(value.split()) + b"\n")
    digest.update(b"\n")
    digest.update(body.replace(b"\r\n", b"\n"))
    return digest.hexdigest()
