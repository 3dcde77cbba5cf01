"""Mail about mail rather than a submission: read receipts (MDNs), calendar invitations, and the senders a
forwarded mail names inside it.

parsers.mime writes what an attached message, an MDN's report and an invitation's calendar data say into the
message's text under a heading of its own (the calendar data and the report are no attachments), so that
what is stored says it to the receipt rules and the attention queue as it says it to recognition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

FORWARDED_HEADING = "-------- 转发的邮件 --------"  # an attached message's text follows it
READ_REPORT_HEADING = "-------- 阅读回执 --------"
INVITATION_HEADING = "-------- 会议邀请 --------"
_CALENDAR_FILES = (".ics", ".vcs")

# The sender line of a forwarded message's header block, as mail programs quote it: mime's own summary of an
# attached message ("发件人: 景县残联 <jxcl2020@163.com>"), QQ's and 163's ("发件人：\"景县残联\"<…>;"), Outlook's
# ("From: …"); the address is ASCII, so a display name glued to it is not taken for part of it.
_SENDER_LINE = re.compile(r"^[ \t>]*(?:发件人|from)[ \t]*[:：]([^\n]*)$", re.I | re.M)
_ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")

# iCalendar (RFC 5545): a property line "NAME;PARAM=…:value", long lines folded by a leading space or tab.
_ICS_FOLD = re.compile(r"\r?\n[ \t]")
_ICS_LINE = re.compile(r"^([A-Za-z-]+)(?:;[^:\r\n]*)?:([^\r\n]*)$", re.M)
_ICS_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})\d{2}(Z?))?$")
_ICS_FIELDS = (("SUMMARY", "主题"), ("DTSTART", "时间"), ("LOCATION", "地点"), ("ORGANIZER", "组织者"))


def forwarded_senders(body: str) -> tuple[str, ...]:
    """The addresses on the sender lines of the message headers quoted in a mail's text (a forward's), in
    order, lower-cased: the first is the forwarded message's own sender."""
    found = (_ADDRESS.search(match.group(1)) for match in _SENDER_LINE.finditer(body))
    return tuple(dict.fromkeys(address.group(0).lower() for address in found if address))


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
