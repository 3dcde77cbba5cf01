"""Personal numbers masked inside free text, for everything shown to people who may not see them whole:
digests, exports, web pages. Names stay: without the number a name alone identifies nobody's record."""

from __future__ import annotations

import re

# Not preceded or followed by a letter or digit: the number is a whole token, not part of a longer one
# (an 11-digit run inside a 20-character 残疾人证号 is not a phone number).
_START = r"(?<![0-9A-Za-z])"
_END = r"(?![0-9A-Za-z])"
# 残疾人证号 (20: an ID + category + grade), 身份证号 (18, or 15 of the old kind) and malformed ones of
# 15–22 characters as units type them: every such run is someone's number, none is a count or an amount.
_ID = re.compile(_START + r"\d{14,21}[\dXx]" + _END + r"|" + _START + r"\d{17}[Xx]\d{0,2}" + _END)
_MOBILE = re.compile(_START + r"(?:\+?86[-\s]?)?(1[3-9]\d)[-\s]?(\d{4})[-\s]?(\d{4})" + _END)
_LANDLINE = re.compile(_START + r"(0\d{2,3})([-\s]?)(\d{3,4})(\d{4})" + _END)


def mask_id(number: str) -> str:
    """An ID or 残疾人证号: the first 6 (the region) and the last 4 characters kept."""
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def _mobile(match: re.Match[str]) -> str:
    return f"{match.group(1)}****{match.group(3)}"


def _landline(match: re.Match[str]) -> str:
    area, separator, middle, last = match.groups()
    return f"{area}{separator}{'*' * len(middle)}{last}"


def mask_personal(text: str) -> str:
    """`text` with every 身份证号 / 残疾人证号 (`131127********0017`), mobile number (`138****5678`) and
    landline with its area code (`0318-***2889`) masked; everything else unchanged."""
    text = _ID.sub(lambda match: mask_id(match.group(0)), text)
    text = _MOBILE.sub(_mobile, text)
    return _LANDLINE.sub(_landline, text)
