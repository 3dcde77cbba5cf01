"""What in an archived message needs a person (the attention queue, 待处理), from what it was derived into.
Pure, so a message's row carries its reasons from the moment it is made (archive.ingest.message_row)
and the queue is read through an index of the few messages that have any, however large the archive."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from parsers.derive import UNPLANNED_MARK
from replies.mismatch import SUBMISSION_KINDS, Form, Mail, mismatches
from replies.receipt import LARGE_ATTACHMENT

# A message-level problem that says recognition or storage failed (parsers.derive, archive.ingest, archive.attempts).
FAILURE_MARKS = ("内部错误", "异常终止", "保存识别结果时出错")
MACHINE_KINDS = ("auto", "bounce")


class Reading(Form, Protocol):
    """A form read as the mismatch check knows it, and whether it could be read."""

    @property
    def readable(self) -> bool: ...


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
    def attachments(self) -> list: ...

    @property
    def readings(self) -> Iterable[Reading]: ...


def attention_reasons(message: Derived) -> tuple[str, ...]:
    """Why the message needs a person, in the order the queue lists them (archive.queue.REASONS):
    recognition or storage failed; a submission whose unit neither its subject nor its sender tells (its
    forms' titles may: staff confirm the sender or correct the message); mail naming a unit from an
    unregistered address; a submission of a unit the plan of its month's year does not hold (merged or
    renamed); a registered sender's mail that is neither report nor briefing (a question, or a 超大附件 link
    instead of files); a package with an unreadable attachment or no readable form; a form
    whose own title names another unit or month than the mail is recorded for (replies.mismatch, what the
    receipt tells the unit). Machine mail needs nobody; a 自查 answers itself."""
    if message.kind in MACHINE_KINDS:
        return ()
    reasons = []
    if any(mark in problem for problem in message.problems or () for mark in FAILURE_MARKS):
        reasons.append("failed")
    if message.kind == "selfcheck":
        return tuple(reasons)
    readings = list(message.readings)
    if message.unit is None:
        if message.kind in SUBMISSION_KINDS or any(reading.unit for reading in readings):
            reasons.append("nounit")
        return tuple(reasons)
    if not message.registered:
        reasons.append("unregistered")
    if any(UNPLANNED_MARK in problem for problem in message.problems or ()):
        reasons.append("unplanned")
    if message.registered and message.kind in ("other", "reply") and not message.attachments:
        reasons.append("link" if LARGE_ATTACHMENT.search(message.body_text or "") else "question")
    if (
        message.attachments
        and message.kind == "report"
        and (
            any(not reading.readable for reading in readings)
            or not any(reading.form and reading.readable for reading in readings)
        )
    ):
        reasons.append("unreadable")
    if message.kind in SUBMISSION_KINDS and mismatches(message, readings):
        reasons.append("mismatch")
    return tuple(reasons)
