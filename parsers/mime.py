"""Raw message bytes in, a ParsedMessage out: headers, body text and attachments, all decoded.

Why compat32 and our own decoding: measured here, mail-parser and the stdlib `policy=default`
both silently turn a GBK-only character in a gb2312-labelled subject into U+FFFD, and
`policy=default` parses 3-4 times slower than compat32. compat32 keeps raw values (8-bit bytes as
surrogate escapes), and decoding them ourselves with gb18030 was both the fastest and the only
correct way.
"""

from __future__ import annotations

import binascii
import email
import email.message
import hashlib
import io
import mimetypes
import re
from dataclasses import dataclass, field
from email import errors as email_errors
from email.generator import BytesGenerator
from email.policy import compat32
from email.utils import getaddresses
from typing import cast

from parsers.maildate import parse_mail_date
from parsers.mime_headers import (
    attachment_filename,
    decode_header,
    header_param,
    raw_header,
    raw_text,
    received_dates,
    received_dates_of,
    unfolded,
)
from parsers.notices import FORWARDED_HEADING, invitation_text, read_report_text
from parsers.records import Attachment, ParsedMessage
from parsers.sniff import (
    codec_for,
    decode_base64_lenient,
    decode_text,
    decode_zip_name,
    html_to_text,
    sniff_type,
)

__all__ = [
    "attachment_filename",
    "decode_base64_lenient",
    "decode_header",
    "decode_text",
    "decode_zip_name",
    "html_to_text",
    "parse_mail_date",
    "parse_message",
    "received_dates",
    "sniff_type",
]

_MAX_DEPTH = 20
_BODY_TYPES = ("text/plain", "text/html")
_CALENDAR_TYPES = ("text/calendar", "application/ics")
_REPORT_PARTS = ("message/delivery-status", "message/disposition-notification")
_EXTENSIONS = {"jpeg": "jpg", "text": "txt", "ole": "bin", "encrypted-office": "bin", "unknown": ""}
# Text types an unnamed part may declare, by the extension its name is given (mimetypes knows some by the
# machine's own tables only).
_TEXT_KINDS = {
    "text/rtf": "rtf",
    "application/rtf": "rtf",
    "text/vcard": "vcf",
    "text/x-vcard": "vcf",
    "text/csv": "csv",
}


@dataclass
class _Walk:
    """What walking one message's parts collects; forwarded messages share it."""

    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unnamed: int = 0
    charset: str | None = None  # what the parts declare: raw 8-bit names are read in it
    invitation: bool = False  # an invitation's calendar data was written into the text (once, of its copies)
    attached_senders: list[str] = field(default_factory=list)  # each attached message's From address, or ""


@dataclass
class _Texts:
    """The text pieces of one message (the outer one, or one forwarded inside it)."""

    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    def body(self) -> str:
        main = self.plain or [html_to_text(html) for html in self.html]
        body = "\n\n".join(text.strip() for text in [*main, *self.extra] if text.strip())
        return body.replace("\x00", "")  # NUL cannot be stored in a PostgreSQL text column


def _subparts(part: email.message.Message) -> list[email.message.Message]:
    """The parts of a multipart (or message/*) part: the parser makes its payload a list of messages."""
    return cast(list[email.message.Message], part.get_payload())


def _walk(part: email.message.Message, walk: _Walk, texts: _Texts, depth: int) -> None:
    if depth > _MAX_DEPTH:
        walk.problems.append("邮件嵌套层数过多，更深的部分未解析")
        return
    content_type = part.get_content_type()
    if not part.is_multipart():
        _walk_leaf(part, content_type, walk, texts, depth)
    elif content_type == "message/delivery-status":
        texts.extra.append(
            "\n".join(
                f"{name}: {decode_header(value)}" for block in _subparts(part) for name, value in block.raw_items()
            )
        )
    elif content_type == "message/disposition-notification":  # a read receipt's report: its fields are headers
        fields = [(name, decode_header(value)) for block in _subparts(part) for name, value in block.raw_items()]
        texts.extra.append(read_report_text(fields))
    elif part.get_content_maintype() == "message":
        _walk_attached_message(part, walk, texts, depth)
    else:
        for sub in _subparts(part):
            _walk(sub, walk, texts, depth + 1)


def _walk_leaf(part: email.message.Message, content_type: str, walk: _Walk, texts: _Texts, depth: int) -> None:
    """A body text part goes to the texts, nameless inline images (signature and HTML decorations) are
    skipped, an invitation's calendar data (text/calendar beside its text) is no attachment but what it says
    joins the texts, anything else is an attachment; a mail file attached as plain bytes (an .eml sent as
    application/octet-stream) is also opened, as a message/rfc822 part is."""
    filename = attachment_filename(part, walk.charset)
    disposition = part.get_content_disposition()
    is_body_type = content_type in _BODY_TYPES or part.get_content_maintype() == "multipart"
    if content_type in _CALENDAR_TYPES or (filename or "").lower().endswith(".ics"):
        _add_invitation(part, walk, texts)
    if filename is None and disposition != "attachment":
        if part.get_content_maintype() == "image" or content_type in _CALENDAR_TYPES:
            return
        if is_body_type or content_type == "text/rfc822-headers":
            _add_text(part, content_type, walk, texts)
            return
    data, damaged = _payload_bytes(part)
    sniffed = sniff_type(data, filename or "")
    if filename is None:
        walk.unnamed += 1
        declared = _TEXT_KINDS.get(content_type) or (mimetypes.guess_extension(content_type) or ".bin").lstrip(".")
        if sniffed == "text" and content_type != "text/plain" and declared != "bin":
            extension = declared  # text of the kind it says (an RTF body, a contact card): not a .txt, no article
        else:
            extension = _EXTENSIONS.get(sniffed, sniffed) or declared
        filename = f"未命名附件{walk.unnamed}.{extension}"
    if damaged:
        walk.problems.append(f"附件“{filename}”的 base64 编码损坏，已尽量解码")
    walk.attachments.append(Attachment(filename, content_type, sniffed, data, hashlib.sha256(data).hexdigest()))
    if sniffed == "eml":
        _walk_inner(email.message_from_bytes(data, policy=compat32), walk, texts, depth)


def _add_invitation(part: email.message.Message, walk: _Walk, texts: _Texts) -> None:
    """What an invitation's calendar data says, into the texts once (Google sends it inline and as invite.ics)."""
    if walk.invitation:
        return
    walk.invitation = True
    data, _ = _payload_bytes(part)
    content_type_header = raw_header(part, "content-type")
    charset = header_param(content_type_header, "charset") if content_type_header else None
    texts.extra.append(invitation_text(decode_text(data, charset)[0]))


def _add_text(part: email.message.Message, content_type: str, walk: _Walk, texts: _Texts) -> None:
    data, damaged = _payload_bytes(part)
    content_type_header = raw_header(part, "content-type")
    charset = header_param(content_type_header, "charset") if content_type_header else None
    text, clean = decode_text(data, charset)
    text = text.replace("\r\n", "\n")
    if damaged:
        walk.problems.append("正文的 base64 编码损坏，已尽量解码")
    if not clean:
        walk.problems.append("正文含无法识别的字符，已用替代符号显示")
    if content_type == "text/html":
        texts.html.append(text)
    elif content_type == "text/plain" or part.get_content_maintype() == "multipart":
        texts.plain.append(text)
    else:
        texts.extra.append(text)


def _payload_bytes(part: email.message.Message) -> tuple[bytes, bool]:
    """The decoded bytes of a leaf part and whether its base64 was damaged."""
    encoding = (raw_header(part, "content-transfer-encoding") or "").strip().lower()
    if encoding.startswith("base64"):
        # Base64 text is ASCII; 8-bit bytes in it come back as U+FFFD, which counts as damage.
        text = part.get_payload()
        return decode_base64_lenient(text.encode("ascii", "replace")) if isinstance(text, str) else (b"", False)
    # get_payload() would turn raw 8-bit bytes into U+FFFD; decode=True hands them back as
    # they are (and undoes quoted-printable and uuencode).
    data = part.get_payload(decode=True)
    return (data if isinstance(data, bytes) else b""), False


def _walk_attached_message(part: email.message.Message, walk: _Walk, texts: _Texts, depth: int) -> None:
    """A message/rfc822 part: its attachments join ours, its text follows ours after a
    separator. With a file name it is also kept as an .eml attachment."""
    payload = _subparts(part)
    if not payload:
        return
    inner, data, damaged = payload[0], None, False
    encoding = (raw_header(part, "content-transfer-encoding") or "").strip().lower()
    inner_payload = inner.get_payload()
    if encoding.startswith(("base64", "quoted-printable")) and isinstance(inner_payload, str):
        # Not allowed by RFC 2046, sent anyway: the parser read the encoded text as a body.
        raw = inner_payload.encode("utf-8", "surrogateescape")
        data, damaged = decode_base64_lenient(raw) if "base64" in encoding else (binascii.a2b_qp(raw), False)
        inner = email.message_from_bytes(data, policy=compat32)
    filename = attachment_filename(part)
    if filename is not None:
        data = _message_bytes(inner) if data is None else data
        if damaged:
            walk.problems.append(f"附件“{filename}”的 base64 编码损坏，已尽量解码")
        walk.attachments.append(
            Attachment(filename, "message/rfc822", sniff_type(data, filename), data, hashlib.sha256(data).hexdigest())
        )
    _walk_inner(inner, walk, texts, depth)


def _walk_inner(inner: email.message.Message, walk: _Walk, texts: _Texts, depth: int) -> None:
    """An attached message: its attachments join ours, its text follows ours after a separator; its sender is
    read from its own From header (before those of the messages it carries in turn)."""
    sender = raw_header(inner, "from")
    addresses = _author(_addresses([sender], walk.charset)) if sender is not None else []
    walk.attached_senders.append(next((address for _, address in addresses if "@" in address), ""))
    inner_texts = _Texts()
    _walk(inner, walk, inner_texts, depth + 1)
    summary = [
        f"{label}: {decode_header(value)}"
        for label, value in (
            ("发件人", raw_header(inner, "from")),
            ("日期", raw_header(inner, "date")),
            ("主题", raw_header(inner, "subject")),
        )
        if value is not None
    ]
    texts.extra.append("\n".join([FORWARDED_HEADING, *summary, "", inner_texts.body()]))


def _message_bytes(msg: email.message.Message) -> bytes:
    """A parsed message serialised again (the archive keeps the byte-exact original)."""
    buffer = io.BytesIO()
    policy = compat32.clone(linesep="\r\n", max_line_length=None)
    try:
        BytesGenerator(buffer, mangle_from_=False, policy=policy).flatten(msg)
    except UnicodeEncodeError:  # the generator fails on 8-bit bytes in a multipart without parts
        return msg.as_string(policy=policy).encode("utf-8", "surrogateescape")
    return buffer.getvalue()


_AUTOMATION_HEADERS = frozenset(
    {
        "auto-submitted",
        "x-autoreply",
        "x-autorespond",
        "x-auto-response-suppress",
        "precedence",
        "list-id",
        "list-unsubscribe",
        "list-post",
        "x-failed-recipients",
        "auto-reply",
    }
)
_DEFECT_PROBLEMS = (
    (email_errors.CloseBoundaryNotFoundDefect, "邮件不完整：缺少结束分隔线，可能在传输中被截断"),
    (email_errors.StartBoundaryNotFoundDefect, "邮件声明为多部分，但找不到分隔线，已按正文处理"),
)
_MESSAGE_ID = re.compile(r"<[^<>]*>")


def parse_message(raw: bytes) -> ParsedMessage:
    """Everything we read out of one raw message. Never raises: bytes that cannot be parsed
    give an empty record whose problems say so (the raw bytes are archived regardless)."""
    try:
        return _parse(email.message_from_bytes(bytes(raw), policy=compat32))
    except Exception as error:  # the last line of defence: one bad message must not stop a poll
        return unparsed(f"邮件结构无法解析（{type(error).__name__}），原件已保存")


def unparsed(*problems: str) -> ParsedMessage:
    """The record of a message nothing could be read from: empty, its problems saying why."""
    return ParsedMessage(
        message_id=None,
        subject="",
        from_addr=None,
        from_name="",
        to_addrs=(),
        cc_addrs=(),
        date_header=None,
        date=None,
        received_dates=(),
        in_reply_to=None,
        references=(),
        automation=(),
        content_type="",
        return_path=None,
        body_text="",
        attachments=(),
        problems=problems,
    )


def _parse(msg: email.message.Message) -> ParsedMessage:
    headers: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        headers.setdefault(name.lower(), []).append(raw_text(value))
    first = {name: values[0] for name, values in headers.items()}
    declared = declared_charset(msg)
    walk, texts = _Walk(charset=declared), _Texts()
    _walk(msg, walk, texts, 0)
    subject = decode_header(first.get("subject"), declared)
    senders = _author(_addresses(headers.get("from", []), declared))
    date_header = decode_header(first["date"], declared) if "date" in first else None  # 星期六 in raw 8-bit too
    return ParsedMessage(
        message_id="".join(decode_header(first.get("message-id")).split()) or None,
        subject=subject,
        from_addr=senders[0][1] if senders else None,
        from_name=senders[0][0] if senders else _whole(headers.get("from", []), declared),
        to_addrs=tuple(address for _, address in _addresses(headers.get("to", []), declared)),
        cc_addrs=tuple(address for _, address in _addresses(headers.get("cc", []), declared)),
        date_header=date_header,
        date=parse_mail_date(date_header),
        received_dates=received_dates_of(headers.get("received", [])),
        in_reply_to=next(iter(_message_ids(first.get("in-reply-to"))), None),
        references=tuple(_message_ids(first.get("references"))),
        automation=tuple(
            (name.lower(), decode_header(value))
            for name, value in msg.raw_items()
            if name.lower() in _AUTOMATION_HEADERS
        ),
        content_type=msg.get_content_type(),
        return_path=_return_path(first.get("return-path")),
        body_text=texts.body(),
        attachments=tuple(walk.attachments),
        problems=_problems(msg, headers, subject, walk.problems),
        report_type=_report_type(msg),
        attached_senders=tuple(walk.attached_senders),
    )


def _report_type(msg: email.message.Message) -> str:
    """A multipart/report's report-type, lower-cased ("delivery-status", "disposition-notification"); one
    written without it is told by its report part. "" for any other message."""
    if msg.get_content_type() != "multipart/report":
        return ""
    header = raw_header(msg, "content-type") or ""
    if declared := (header_param(header, "report-type") or "").strip().lower():
        return declared
    parts = {sub.get_content_type() for sub in _subparts(msg) if isinstance(sub, email.message.Message)}
    return next((kind.partition("/")[2] for kind in sorted(parts) if kind in _REPORT_PARTS), "")


# One address as a mail program sends to it, or a local part alone (MAILER-DAEMON): no spaces, commas or brackets
# (an encoded word may hide a list).
_ONE_ADDRESS = re.compile(r"[^\s@,;:<>()\[\]\"]+(?:@[^\s@,;:<>()\[\]\"]+)?")


def _addresses(values: list[str], declared: str | None = None) -> list[tuple[str, str]]:
    """(decoded display name, lower-cased address) pairs; display names are decoded after
    splitting, so a decoded name holding a comma cannot split one address into two. A mailbox written
    as one encoded word, name and address together (`=?utf-8?b?…?=` for `"景县残联" <jxcl2020@163.com>`,
    as some OA systems and hand-made mailers write it), is split after decoding."""
    pairs = getaddresses([unfolded(value) for value in values])
    found: list[tuple[str, str]] = []
    for name, address in pairs:
        decoded = decode_header(address) if address else ""
        if _ONE_ADDRESS.fullmatch(decoded):
            found.append((decode_header(name, declared), decoded.lower()))
        elif decoded:  # the whole mailbox in one encoded word (naive mailers), or a list: each address it holds
            found.extend(
                (inner_name, inner.lower())
                for inner_name, inner in getaddresses([decoded])
                if _ONE_ADDRESS.fullmatch(inner)
            )
    return found


def _whole(values: list[str], declared: str | None) -> str:
    """A From naming no one address, decoded whole (kept as the sender's name: what staff are shown of it)."""
    return " ".join(decode_header(unfolded(value), declared) for value in values).strip()


def _author(senders: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The From's mailbox, or none when it names several addresses: whose mail it is cannot be told (an address
    written as the display name, `jxcl2020@163.com <x@evil.example>`, is two to the parser and one to a mail
    program, which shows the first and answers the second; a unit's registered address must not be borrowed
    so). The same address twice (`jxcl2020@163.com<jxcl2020@163.com>`, as naive mailers write it) is one."""
    return senders[:1] if len({address for _, address in senders}) == 1 else []


def declared_charset(msg: email.message.Message) -> str | None:
    """The first charset the message's parts declare beyond ASCII: what its raw 8-bit headers (a
    Big5 mail's subject without encoded words) were most likely written in."""
    for part in msg.walk():
        header = raw_header(part, "content-type")
        charset = header_param(header, "charset") if header else None
        if charset and codec_for(charset) not in (None, "ascii"):
            return charset
    return None


def _message_ids(value: str | None) -> list[str]:
    if not value:
        return []
    text = decode_header(value)
    return ["".join(found.split()) for found in _MESSAGE_ID.findall(text)] or text.split()


def _return_path(value: str | None) -> str | None:
    if value is None:
        return None
    text = decode_header(value)
    match = re.search(r"<([^<>]*)>", text)
    return (match.group(1) if match else text).strip().lower()


def _problems(
    msg: email.message.Message, headers: dict[str, list[str]], subject: str, found: list[str]
) -> tuple[str, ...]:
    problems = []
    if not headers:
        problems.append("邮件没有可识别的邮件头")
    defects = [defect for part in msg.walk() for defect in part.defects]
    problems += [text for kind, text in _DEFECT_PROBLEMS if any(isinstance(defect, kind) for defect in defects)]
    if "\ufffd" in subject:
        problems.append("邮件主题含无法识别的字符，已用替代符号显示")
    problems += found
    return tuple(dict.fromkeys(problems))
