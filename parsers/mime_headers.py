"""A message's header values decoded: RFC 2047 encoded words, raw 8-bit bytes in the declared charset, RFC 2231
parameters (an attachment's file name), the dates of its Received headers."""

from __future__ import annotations

import email.header
import email.message
import re
import urllib.parse
from datetime import datetime

from parsers.maildate import parse_mail_date
from parsers.sniff import decode_text, decode_words, visible_name

_LINE_BREAKS = re.compile(r"\r\n|\r|\n")


def unfolded(value: str) -> str:
    """A header value on one line: its folding line breaks gone."""
    return _LINE_BREAKS.sub("", value)


def decode_header(value: str | email.header.Header | None, declared: str | None = None) -> str:
    """A header value as text: RFC 2047 words (a character split between two words survives),
    plain runs and raw 8-bit bytes, read in the `declared` charset of the message's parts when it
    fits them; see sniff.decode_words."""
    return "" if value is None else decode_words(raw_text(value), declared)


def raw_text(value: str | email.header.Header) -> str:
    """The raw text of a header value; a Header object (compat32's get() returns one for 8-bit
    values, and so do messages built in code) is turned back into surrogate-escaped text."""
    if isinstance(value, str):
        return value
    parts = []
    for chunk, charset in email.header.decode_header(value):
        if isinstance(chunk, str):
            parts.append(chunk)
        elif charset in (None, "us-ascii", "unknown-8bit"):
            parts.append(chunk.decode("ascii", "surrogateescape"))
        else:
            parts.append(decode_text(chunk, charset)[0])
    return "".join(parts)


_PARAM = re.compile(r';\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)', re.S)
_SECTION = re.compile(r"(.+)\*(\d+)(\*?)")


def attachment_filename(part: email.message.Message, declared: str | None = None) -> str | None:
    """The file name of a part: Content-Disposition filename (RFC 2231 or encoded words or raw
    8-bit), else Content-Type name; directory parts of Windows or Unix paths are dropped. The Content-Type name
    wins when the other lost more characters ("????3??12???.xlsx": a gateway that wrote the name as ASCII)."""
    names = []
    for header, key in (("content-disposition", "filename"), ("content-type", "name")):
        raw = raw_header(part, header)
        if raw is None:
            continue
        value = header_param(raw, key, declared) or ""
        name = visible_name(value.replace("\\", "/").rsplit("/", 1)[-1]).strip()
        if name:
            names.append(name)
    return min(names, key=_lost, default=None)  # the first of the least damaged


def _lost(name: str) -> int:
    """How many characters of a name a writer could not encode: each became "?" or U+FFFD."""
    return name.count("?") + name.count("\ufffd")


def raw_header(part: email.message.Message, name: str) -> str | None:
    """A header's raw value (str, 8-bit bytes surrogate-escaped), unlike get() which may
    hand back a Header object whose str() turns those bytes into U+FFFD."""
    for key, value in part.raw_items():
        if key.lower() == name:
            return raw_text(value)
    return None


def header_param(raw: str, key: str, declared: str | None = None) -> str | None:
    """A parameter of a header's raw value (`charset` of a Content-Type), RFC 2231 or plain."""
    return _param_value(_params(raw), key, declared)


def _params(raw: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for match in _PARAM.finditer(unfolded(raw)):
        value = match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params.setdefault(match.group(1).lower(), value.strip('"'))
    return params


def _param_value(params: dict[str, str], key: str, declared: str | None = None) -> str | None:
    """RFC 2231 (key*=, key*0*=, …) wins over the plain parameter, as the RFC intends."""
    if key + "*" in params:
        return _decode_rfc2231([(params[key + "*"], True)])
    sections = sorted(
        (int(m.group(2)), params[name], bool(m.group(3)))
        for name in params
        if (m := _SECTION.fullmatch(name)) and m.group(1) == key
    )
    if sections:
        return _decode_rfc2231([(value, extended) for _, value, extended in sections])
    return decode_header(params[key], declared) if key in params else None


def _decode_rfc2231(pieces: list[tuple[str, bool]]) -> str:
    charset = None
    first, extended = pieces[0]
    if extended and first.count("'") >= 2:
        charset, _language, first = first.split("'", 2)
        pieces = [(first, True), *pieces[1:]]
    data = b"".join(
        urllib.parse.unquote_to_bytes(value.encode("utf-8", "surrogateescape"))
        if is_ext
        else value.encode("utf-8", "surrogateescape")
        for value, is_ext in pieces
    )
    text = decode_text(data, charset or None)[0]
    return decode_header(text) if "=?" in text else text


def received_dates(msg: email.message.Message) -> tuple[datetime, ...]:
    """The date after the last ';' of each Received header, topmost (newest) first."""
    return received_dates_of([raw_text(v) for k, v in msg.raw_items() if k.lower() == "received"])


def received_dates_of(values: list[str]) -> tuple[datetime, ...]:
    dates = (parse_mail_date(value.rpartition(";")[2]) for value in values if ";" in value)
    return tuple(date for date in dates if date is not None)
