"""Personal numbers masked inside free text, for everything shown to people who may not see them whole:
digests, exports, web pages. Names stay: without the number a name alone identifies nobody's record.

The numbers are found by parsers.personal, in every spelling it knows; each is replaced by its masked
canonical form (`131127********0017`, `138****5678`, `0318-***2889`), whatever separators, widths or
invisible characters it was written with, so the masked text holds no hidden digit in any form."""

from __future__ import annotations

import re

from parsers.personal import find_numbers, mask_id

__all__ = ["mask_id", "mask_personal"]

# Our own check of an ID says which check character it should have (parsers.checks): that character is a
# function of the hidden digits, so it is hidden too.
_CHECK_HINT = re.compile(r"(校验位不对（第 18 位应为 )[0-9X]")


def mask_personal(text: str) -> str:
    """`text` with every 身份证号 / 残疾人证号, mobile number and landline with its area code masked;
    everything else unchanged. Masking masked text changes nothing."""
    found = find_numbers(text)
    if found:
        parts, at = [], 0
        for number in found:
            parts += [text[at:number.start], number.masked()]
            at = number.end
        parts.append(text[at:])
        text = "".join(parts)
    return _CHECK_HINT.sub(r"\1*", text) if "校验位" in text else text
