"""Frozen records that flow out of the parsers: plain data, no I/O."""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from parsers.errors import InputError

TASKS = ("rehab", "devices", "rural_training", "day_care", "barrier_free", "college")


@dataclass(frozen=True)
class Unit:
    """A reporting unit (county, district or zone) and who may send for it."""

    name: str
    aliases: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()
    targets: tuple[tuple[str, int], ...] = ()
    # whom its mail greets ("高新区社发局"); None: "<name>残联". Wording, not scoring: out of repr, so out of the
    # plan's fingerprint (a year closed before the field existed is not said changed since)
    addressee: str | None = field(default=None, repr=False)

    def target(self, task: str) -> int:
        return dict(self.targets).get(task, 0)


_INVISIBLE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")


def fold(text: str) -> str:
    """NFKC (full-width letters, digits, dashes and brackets become ASCII) without any whitespace or invisible
    character: how subjects, titles, file names and unit names are compared."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


def named_unit(units: Sequence[Unit], name: str, first: Sequence[Unit] = ()) -> Unit:
    """The unit a person names by its name or an alias (桃城 → 桃城区), as every command and page takes it:
    spacing and width aside (" 景县 ", "景　县" with a full-width space, and "景 县" are 景县, as recognition
    reads a subject's words); among `first` (the units of the plan year concerned) before all `units`, since
    units of different years may share a name or an alias (枣强县, the old name of 2021's 枣强区). InputError, in
    Chinese, for a name no unit has."""
    if first:
        try:
            return named_unit(first, name)
        except InputError:
            pass
    for unit in units:
        if name == unit.name or name in unit.aliases:
            return unit
    folded = fold(name)
    for unit in units:
        if folded and folded in {fold(spelling) for spelling in (unit.name, *unit.aliases)}:
            return unit
    raise InputError(f"没有名为 {name.strip()} 的单位；单位有：{'、'.join(unit.name for unit in units)}")


def name_as_today(units: Sequence[Unit], name: str, first: Sequence[Unit] = ()) -> str:
    """The name of the unit `name` names (named_unit): a unit renamed since (its old name now an alias) by its new
    name; a name no unit answers to any more (one gone from the configuration) as it was recorded."""
    try:
        return named_unit(units, name, first).name
    except InputError:
        return name


class Kind(str, enum.Enum):  # noqa: UP042 (StrEnum would change str(kind) and f"{kind}")
    """What a message is, as far as the plan cares."""

    BRIEFING = "briefing"
    REPORT = "report"
    REPLY = "reply"
    AUTO = "auto"
    BOUNCE = "bounce"
    SELFCHECK = "selfcheck"  # a clerk's 自查: answered with the inspection of its files, never counted
    OTHER = "other"


@dataclass(frozen=True)
class Attachment:
    """One file carried by a message, its name decoded and its type sniffed from its bytes."""

    filename: str
    declared_type: str
    sniffed_type: str
    data: bytes = field(repr=False)
    sha256: str = ""

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class ParsedMessage:
    """What we read out of a raw message. Every string is already decoded to text."""

    message_id: str | None
    subject: str
    from_addr: str | None
    from_name: str
    to_addrs: tuple[str, ...]
    cc_addrs: tuple[str, ...]
    date_header: str | None
    date: datetime | None
    received_dates: tuple[datetime, ...]  # newest (topmost) first
    in_reply_to: str | None
    references: tuple[str, ...]
    automation: tuple[tuple[str, str], ...]  # lower-cased header name, value: Auto-Submitted, List-*, …
    content_type: str
    return_path: str | None
    body_text: str
    attachments: tuple[Attachment, ...]
    problems: tuple[str, ...] = ()  # decoding problems, in Chinese, for staff
    # A multipart/report's report-type: "delivery-status" (a bounce), "disposition-notification" (a read receipt)
    report_type: str = ""
    # The From address of each message attached to this one (message/rfc822, or an .eml file), outermost first,
    # lower-cased; "" for one whose From holds no address. A forward's original sender, from its own header.
    attached_senders: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recognition:
    """What a message was recognised as: unit, kind, reporting month and whether the sender counts."""

    unit: str | None
    kind: Kind
    month: str | None  # "YYYY-MM"
    # "subject", "subjects" (several months: counted_month), "attachment" or "arrival"; once derived, also
    # "workbook" (the forms' titles, none else naming one) or "reply" (the forms', over a quoted receipt's)
    month_source: str
    registered: bool
    problems: tuple[str, ...] = ()


def counted_month(message_month: str | None, month_source: str, stated: str | None) -> str | None:
    """The month a form of a message is counted for: a staff correction's month, or a subject's one month,
    rules the whole package (a form's title is most often last month's, left unchanged); else, a subject naming
    several months ("7、8月份报表", a unit catching up) or none, the month the form's own title names; else the
    message's month."""
    if month_source in ("subject", "staff") or not stated:
        return message_month
    return stated
