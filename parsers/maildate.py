"""The dates of a mail's headers (Date, Received) as aware datetimes, read the way Chinese servers write them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
_CHINA_TIME = timezone(timedelta(hours=8))
# A bare "CST" in a Chinese server's header means China Standard Time, not US Central.
_BARE_CST = re.compile(r"(\d:\d\d(?::\d\d)?)\s+CST\b")


def parse_mail_date(value: str | None) -> datetime | None:
    """A tz-aware datetime from an RFC 5322 date; -0000 is UTC, no zone at all is China time."""
    if not value:
        return None
    text = _BARE_CST.sub(r"\1 +0800", _LINE_BREAKS.sub(" ", value))
    try:
        parsed = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC if "-0000" in text else _CHINA_TIME)
    return parsed
