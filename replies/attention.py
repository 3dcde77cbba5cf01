"""What in an archived message needs a person (the attention queue, 待处理), from what it was derived into.
Pure, so a message's row carries its reasons from the moment it is made (archive.ingest.message_row)
and the queue is read through an index of the few messages that have any, however large the archive."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from parsers.derive import UNPLANNED_MARK
from parsers.notices import carries_invitation, only_thanks
from parsers.recognize import FORWARDED_MARK, STAFF_MAIL_MARK, UNIT_CONFLICT_MARK, is_read_receipt
from replies.mismatch import SUBMISSION_KINDS, Form, Mail, is_submission, mismatches
from replies.receipt import download_link, package_attached

# A message kept as it was derived because its raw file could not be read again (archive.rederive).
UNREADABLE_MARK = "重新识别时无法读取原件"
# A message-level problem that says recognition or storage failed (parsers.derive, archive.ingest, archive.attempts,
# archive.rederive).
FAILURE_MARKS = ("内部错误", "异常终止", "保存识别结果时出错", UNREADABLE_MARK)
MACHINE_KINDS = ("auto", "bounce")
# A delivery status notice's own words (RFC 3464): a delay, a delivery or a relay is told and the mail goes on;
# a failure is final.
_GOES_ON = re.compile(r"^Action:\s*(?:delayed|delivered|relayed|expanded)", re.IGNORECASE | re.MULTILINE)
_FAILED = re.compile(r"^Action:\s*failed", re.IGNORECASE | re.MULTILINE)
# The kinds whose mail may leave its files behind a download link (a briefing's article may be its text).
_LINK_KINDS = ("report", "reply", "other")


class Reading(Form, Protocol):
    """A form read as the mismatch check knows it, and whether it could be read."""

    @property
    def readable(self) -> bool: ...


class Named(Protocol):
    """An attachment as stored (archive.models.Attachment): its file name."""

    @property
    def filename(self) -> str: ...


class Derived(Mail, Protocol):
    """What the reasons read: a message as stored (archive.models.Message) has all of it. The members are
    read-only, so that a type narrower than the protocol's (a body_text never None) matches too."""

    @property
    def kind(self) -> str: ...

    @property
    def registered(self) -> bool: ...

    @property
    def problems(self) -> list[str] | None: ...

    @property
    def body_text(self) -> str | None: ...

    @property
    def from_addr(self) -> str | None: ...

    @property
    def subject(self) -> str: ...

    @property
    def attachments(self) -> Sequence[Named]: ...

    @property
    def readings(self) -> Iterable[Reading]: ...


def attention_reasons(message: Derived) -> tuple[str, ...]:
    """Why the message needs a person, in the order the queue lists them (archive.queue.REASONS):
    recognition or storage failed; a submission whose unit neither its subject nor its sender tells (its
    forms' titles may: staff confirm the sender or correct the message); mail naming a unit from an
    unregistered address; a registered sender's mail naming only another unit (recorded for the sender's);
    a unit's mail staff forwarded whose original sender is not the unit's, or a package staff sent from our
    mailbox themselves (confirming our mailbox would be wrong: staff correct it; staff's own letter naming a
    unit needs nobody); a submission of a unit the plan of its month's year does not hold
    (merged or renamed); a registered sender's mail that leaves files behind a download link (超大附件, a
    cloud drive, a shared document: beside attachments too), or else is neither report nor briefing and
    carries nothing (a question, not a reply saying only thanks; a calendar invitation, its .ics aside); a
    package, or a reply carrying one (forms, or files a package is sent as), with an unreadable attachment or no
    readable form; a form whose
    own title names another unit or month than the submission it came in is recorded for, a reply carrying
    forms being one (replies.mismatch, what the receipt tells the unit). A bounce says a mail of ours did not
    arrive (a unit never told what it is missing): a person tells them (a report that it is delayed, delivered or
    relayed, which still goes, does not). Other machine mail and read receipts need nobody (a read receipt carrying
    a package is that package's mail: parsers.recognize.is_read_receipt); a 自查 answers itself. A submission whose
    From names no one address (several: `jxcl2020@163.com <x@evil.example>`; or none) has no sender to confirm:
    "nosender" instead of "nounit" or "unregistered"."""
    if message.kind == "bounce":
        said = message.body_text or ""
        return () if _GOES_ON.search(said) and not _FAILED.search(said) else ("bounced",)
    if message.kind in MACHINE_KINDS:
        return ()
    reasons = []
    if any(mark in problem for problem in message.problems or () for mark in FAILURE_MARKS):
        reasons.append("failed")
    if message.kind == "selfcheck":
        return tuple(reasons)
    if is_read_receipt(message.kind, message.subject or "", message.body_text or ""):
        return tuple(reasons)
    readings = list(message.readings)
    names = [attachment.filename for attachment in message.attachments]
    package = message.kind == "report" or (
        message.kind == "reply"
        and (any(reading.form for reading in readings) or package_attached(message.subject or "", names))
    )
    if message.unit is None:
        if message.kind in SUBMISSION_KINDS or package or any(reading.unit for reading in readings):
            reasons.append("nounit" if message.from_addr else "nosender")
        return tuple(reasons)
    problems = message.problems or ()
    if any(FORWARDED_MARK in problem for problem in problems) and not message.registered:
        reasons.append("forwarded")
    elif not message.registered and not any(STAFF_MAIL_MARK in problem for problem in problems):
        reasons.append("unregistered" if message.from_addr else "nosender")
    if any(UNIT_CONFLICT_MARK in problem for problem in problems):
        reasons.append("conflict")
    if any(UNPLANNED_MARK in problem for problem in problems):
        reasons.append("unplanned")
    if message.registered and message.kind in _LINK_KINDS and download_link(message.body_text or "") is not None:
        reasons.append("link")
    elif (
        message.registered
        and message.kind in ("other", "reply")
        and (not names or carries_invitation(message.body_text or "", names))
        and not (message.kind == "reply" and not names and only_thanks(message.body_text or ""))
    ):
        reasons.append("question")
    if (
        message.attachments
        and package
        and (
            any(not reading.readable for reading in readings)
            or not any(reading.form and reading.readable for reading in readings)
        )
    ):
        reasons.append("unreadable")
    if is_submission(message.kind, readings) and mismatches(message, readings):
        reasons.append("mismatch")
    return tuple(reasons)
