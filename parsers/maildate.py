"""The dates of a mail's headers (Date, Received) as aware datetimes, read the way Chinese servers and mail
programs write them: RFC 5322 first; then what some programs put there instead, Chinese weekday and month
names (星期六, 19 十二月 2020 16:48:00 +0800) and ISO-like dates (2020-12-19 16:48:00, 2020年12月19日 16:48)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
_CHINA_TIME = timezone(timedelta(hours=8))
# A bare "CST" in a Chinese server's header means China Standard Time, not US Central.
_BARE_CST = re.compile(r"(\d:\d\d(?::\d\d)?)\s+CST\b")
_CN_WEEKDAY = re.compile(r"(?:星期|周|礼拜)[一二三四五六日天]\s*,?\s*")
# Longest first, so that 十二月 is not read as 十 and 二月.
_CN_MONTHS = {
    name: english
    for name, english in zip(
        ("十二月", "十一月", "十月", "一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月"),
        ("Dec", "Nov", "Oct", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep"),
    )
}
_CN_MONTH = re.compile("|".join(_CN_MONTHS))
_ISO_LIKE = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*[T ]?\s*(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:\.\d+)?\s*(?:(Z)|([+-])(\d{2}):?(\d{2}))?\s*$"
)


def parse_mail_date(value: str | None) -> datetime | None:
    """A tz-aware datetime from a Date or Received date; -0000 is UTC, no zone at all is China time."""
    if not value:
        return None
    text = _BARE_CST.sub(r"\1 +0800", _LINE_BREAKS.sub(" ", value))
    parsed = _rfc5322(text)
    if parsed is None:
        parsed = _rfc5322(_CN_MONTH.sub(lambda m: _CN_MONTHS[m.group()], _CN_WEEKDAY.sub("", text)))
    if parsed is None:
        return _iso_like(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC if "-0000" in text else _CHINA_TIME)
    return parsed


def _rfc5322(text: str) -> datetime | None:
    try:
        return parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None


def _iso_like(text: str) -> datetime | None:
    match = _ISO_LIKE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, utc, sign, zone_hours, zone_minutes = match.groups()
    if utc:
        zone: timezone = UTC
    elif sign:
        offset = timedelta(hours=int(zone_hours), minutes=int(zone_minutes))
        zone = timezone(-offset if sign == "-" else offset)
    else:
        zone = _CHINA_TIME
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=zone)
    except ValueError:  # 2020-02-30, 25:00
        return None
