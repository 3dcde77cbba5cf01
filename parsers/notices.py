"""Mail about mail rather than a submission: read receipts (MDNs), calendar invitations and the answers to them,
and the message a forward holds in its text.

parsers.mime writes what an attached message, an MDN's report and an invitation's calendar data say into the
message's text under a heading of its own (the calendar data and the report are no attachments), so that
what is stored says it to the receipt rules and the attention queue as it says it to recognition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from parsers.records import fold

FORWARDED_HEADING = "-------- 转发的邮件 --------"  # an attached message's text follows it
READ_REPORT_HEADING = "-------- 阅读回执 --------"
INVITATION_HEADING = "-------- 会议邀请 --------"
_CALENDAR_FILES = (".ics", ".vcs")
# The subject of an answer to a meeting invitation, as Outlook writes it before the meeting's subject: "已接受: …",
# "已拒绝: …", "暂定: …" in Chinese, "Accepted: …", "Declined: …", "Tentative: …" in English (Google Calendar:
# "Tentatively accepted: …"). Matched folded (no whitespace, "：" as ":") at the subject's start only: a unit's
# "景县9月份报表（已接受修改意见：…）" is no answer.
_INVITATION_ANSWER = re.compile(r"^(?:已接受|已拒绝|暂定|accepted|declined|tentative|tentativelyaccepted):", re.I)

# A line that opens a forwarded message in a mail's text. Words that say so: parsers.mime's FORWARDED_HEADING,
# QQ's "------------------ 原始邮件 ------------------", 163's "-------- 转发邮件信息 --------", Outlook's
# "-----原始邮件-----" and "-----Original Message-----", Gmail's "---------- Forwarded message ---------", Apple
# Mail's "Begin forwarded message:" and "以下是转发的邮件："; what follows such a line is the forwarded message's
# header block, or there is none to read. A rule alone (Outlook's "________________________________", a
# signature's "--") opens one only when header lines follow it.
_FORWARD_LINE = re.compile(
    r"^[ \t>]*(?:[-_=—–*]{2,}[ \t]*(?:转发|原始|原邮件|邮件原件|forwarded|original)[^\n]*"
    r"|(?:begin forwarded message|以下是转发的邮件|转发的邮件)[ \t]*[:：]?[ \t]*)$",
    re.I,
)
_RULE_LINE = re.compile(r"^[ \t>]*[-_=—–]{2,}[ \t]*$")
# One line of a quoted header block: its field's name (as QQ, 163, Outlook, Gmail, Apple Mail and parsers.mime's
# summary of an attached message write it) and its value.
_FIELD_LINE = re.compile(
    r"^[ \t>]*\**(发件人|寄件者|from|发送时间|发送日期|发件时间|日期|时间|sent|date|收件人|to|抄送|cc|主题|subject)"
    r"\**[ \t]*[:：]\**[ \t]*(.*?)[ \t]*$",
    re.I,
)
_SENDER_FIELDS = frozenset({"发件人", "寄件者", "from"})
_SUBJECT_FIELDS = frozenset({"主题", "subject"})
_QUOTE_MARK = re.compile(r"^[ \t]*(?:>[ \t]?)+", re.M)
# The address in a sender field ("景县残联 <jxcl2020@163.com>", QQ's "\"景县残联\"<…>;"): ASCII, so a display name
# glued to it is not taken for part of it.
_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

# iCalendar (RFC 5545): a property line "NAME;PARAM=…:value", long lines folded by a leading space or tab.
_ICS_FOLD = re.compile(r"\r?\n[ \t]")
_ICS_LINE = re.compile(r"^([A-Za-z-]+)(?:;[^:\r\n]*)?:([^\r\n]*)$", re.M)
_ICS_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})\d{2}(Z?))?$")
_ICS_FIELDS = (("SUMMARY", "主题"), ("DTSTART", "时间"), ("LOCATION", "地点"), ("ORGANIZER", "组织者"))


@dataclass(frozen=True)
class QuotedMessage:
    """A forwarded message as a mail's text holds it: what its header block says and the text below it."""

    sender: str | None  # the address on its sender line, lower-cased; None when that line has none (or is missing)
    subject: str | None
    text: str  # its own text, quote marks (">") taken off


def forwarded_message(body: str) -> QuotedMessage | None:
    """The forwarded message a mail's text holds: the one parsers.mime wrote under FORWARDED_HEADING (an attached
    message), else the first quoted header block (an inline forward's). Only the first block is read: the
    forwarder's comment above it and whatever its own text quotes below it name no sender of it. A line saying
    a forwarded message follows ("原始邮件", "Forwarded message") is followed by its header block, or the block
    cannot be read (sender None); without such a line, a sender line among other header lines (a date, a
    subject, recipients) is a block (Outlook's, its rule lost with its HTML)."""
    lines = body.split("\n")
    start = next((n for n, line in enumerate(lines) if line.strip() == FORWARDED_HEADING), None)
    n = 0 if start is None else start
    while n < len(lines):
        line = lines[n]
        if _FORWARD_LINE.match(line) or _RULE_LINE.match(line):
            first = next((m for m in range(n + 1, len(lines)) if lines[m].strip()), len(lines))
            fields, end = _field_run(lines, first, spaced=start is None)
            if _FORWARD_LINE.match(line) or _names_sender(fields):
                return _quoted(fields, lines[end:])
        elif _FIELD_LINE.match(line):
            fields, end = _field_run(lines, n)
            if _names_sender(fields) and not all(name in _SENDER_FIELDS for name, _ in fields):
                return _quoted(fields, lines[end:])
            n = end - 1
        if start is not None:
            break
        n += 1
    return None


def _names_sender(fields: list[tuple[str, str]]) -> bool:
    return any(name in _SENDER_FIELDS for name, _ in fields)


def _field_run(lines: list[str], start: int, spaced: bool = True) -> tuple[list[tuple[str, str]], int]:
    """The header lines from `start` on ((name, value) each, name lower-cased) and where they end; `spaced`: a
    blank line between two of them is no end (Apple Mail spaces them; parsers.mime's summary never does)."""
    fields: list[tuple[str, str]] = []
    n = start
    while n < len(lines):
        if match := _FIELD_LINE.match(lines[n]):
            fields.append((match.group(1).lower(), match.group(2)))
            n += 1
        elif spaced and not lines[n].strip() and fields and n + 1 < len(lines) and _FIELD_LINE.match(lines[n + 1]):
            n += 1
        else:
            break
    return fields, n


def _quoted(fields: list[tuple[str, str]], below: list[str]) -> QuotedMessage:
    sender = next((value for name, value in fields if name in _SENDER_FIELDS), "")
    subject = next((value for name, value in fields if name in _SUBJECT_FIELDS and value), None)
    text = _QUOTE_MARK.sub("", "\n".join(below)).strip()
    return QuotedMessage(_quoted_sender(sender), subject, text)


def _quoted_sender(sender: str) -> str | None:
    """The quoted mail's sender: its one address, or none when the line names several (a registered address as the
    display name, `"jxcl2020@163.com"<x@evil.example>`, as QQ Mail quotes what the From said: parsers.mime._author)."""
    addresses = {address.lower() for address in _ADDRESS.findall(sender)}
    return addresses.pop() if len(addresses) == 1 else None


# Where a reply's quote of the mail it answers begins, besides a forward's lines: "在 2020年12月19日，… 写道：",
# "On …, … wrote:", and ">" quoting.
_WROTE_LINE = re.compile(r"(?:写道|wrote)[ \t]*[:：][ \t]*$|^[ \t]*>", re.I)
# A reply that only acknowledges, its words one by one: thanks and "received", to a teacher or a leader. Any other
# word (没收到, 不明白, 请重发, 数据有误, a date) says more, and is for a person to read.
_THANKS = re.compile(
    r"(?:[\u4e00-\u9fff]?(?:老师|领导|主任|科长|同志)|您好|你好|已经|已|都|均|收到|收悉|谢谢|多谢|感谢|辛苦|好的|好|"
    r"知道|明白|了|啦|哈|嗯|的|您|OK|ok|Ok|okay)+"
)
_NOT_WORDS = re.compile(r"[\W_]+")


def own_words(body: str) -> str:
    """A reply's own text: its lines above the quote of the mail it answers (a forward's line or rule, a "…写道："
    line, ">" quoting, or a header block naming a sender: a line of the clerk's own such as "时间：下周一" is no
    quote)."""
    own = []
    for line in body.split("\n"):
        field = _FIELD_LINE.match(line)
        if (
            _FORWARD_LINE.match(line)
            or _RULE_LINE.match(line)
            or _WROTE_LINE.search(line)
            or (field and field.group(1).lower() in _SENDER_FIELDS)
        ):
            break
        own.append(line)
    return "\n".join(own).strip()


def only_thanks(body: str) -> bool:
    """Whether a reply only acknowledges ("收到，谢谢！", "李老师：好的，已收到"): every word of its own text is one of
    thanks or receipt, none asks, refuses or says more."""
    words = _NOT_WORDS.sub("", own_words(body))
    return bool(words) and _THANKS.fullmatch(words) is not None


def carries_forwarded_message(body: str) -> bool:
    """Whether a mail's text holds a message attached to it (parsers.mime wrote it under FORWARDED_HEADING)."""
    return FORWARDED_HEADING in body


def carries_read_report(body: str) -> bool:
    """Whether a mail's text holds an MDN's report (parsers.mime wrote it under READ_REPORT_HEADING)."""
    return READ_REPORT_HEADING in body


def carries_invitation(body: str, filenames: Iterable[str]) -> bool:
    """Whether a mail is a calendar invitation (or its answer): its calendar data, as parsers.mime wrote it
    under INVITATION_HEADING, or an .ics file attached."""
    return INVITATION_HEADING in body or any(name.strip().lower().endswith(_CALENDAR_FILES) for name in filenames)


def answers_invitation(subject: str) -> bool:
    """Whether a subject (its Re:/回复: prefixes off) is an answer to a meeting invitation: accepted, declined or
    tentative, one that reached us as text alone (its calendar data dropped on the way, or never sent: else
    carries_invitation tells it). The meeting's subject after "已接受:" may read as a package's ("已接受: 景县9月份
    报表填报培训会"), yet it is no submission, nor one whose files were forgotten."""
    return _INVITATION_ANSWER.match(fold(subject)) is not None


def read_report_text(fields: Iterable[tuple[str, str]]) -> str:
    """An MDN's report (Reporting-UA, Final-Recipient, Disposition, …) as the message's text shows it."""
    return "\n".join([READ_REPORT_HEADING, *(f"{name}: {value}" for name, value in fields)])


def invitation_text(calendar: str) -> str:
    """What an invitation's calendar data says (its event's subject, time, place, organiser), as the
    message's text shows it."""
    unfolded = _ICS_FOLD.sub("", calendar)
    # the event's own properties: a time zone's definition before it has a DTSTART of its own
    event = unfolded.split("BEGIN:VEVENT", 1)[-1]
    properties: dict[str, str] = {}
    for match in _ICS_LINE.finditer(event):
        properties.setdefault(match.group(1).upper(), match.group(2).strip())
    lines = [INVITATION_HEADING]
    for key, label in _ICS_FIELDS:
        if value := _ics_value(key, properties.get(key, "")):
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


def _ics_value(key: str, value: str) -> str:
    if key == "DTSTART" and (time := _ICS_TIME.match(value)):
        year, month, day, hour, minute, utc = time.groups()
        clock = f" {hour}:{minute}{' UTC' if utc else ''}" if hour else ""
        return f"{year}-{month}-{day}{clock}"
    if key == "ORGANIZER":
        value = re.sub(r"^mailto:", "", value, flags=re.I)
    return value.replace("\\n", " ").replace("\\N", " ").replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\")
