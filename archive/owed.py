"""What senders are owed: the receipt decision, recorded in the same commit that stores a message, and
the queue of owed replies that the sender works through (bot/outgoing/receipts.py composes them into the outbox).

A crash between storing and composing loses nothing: the owed row waits for the next sender pass. A
crash between composing and the owed row's `queued_at` cannot happen: both are one commit.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from archive.evidence import COUNTED_KINDS, locked, submission
from archive.models import CorrectionRow, Message, OutboxMail, OwedReply
from parsers.document import text_characters
from parsers.no_form import IMAGES, NO_FORM_CODES, why_no_form
from parsers.records import Kind
from parsers.workbook import is_lock_file
from replies.problems import problem_lines, problems_and_hints
from replies.receipt import FileFacts, MessageFacts, addressable, reply_owed, told_to_sender


def owe_receipts(
    session: Session,
    messages: Iterable[Message],
    own_addresses: frozenset[str],
    max_age: timedelta | None,
    at: datetime | None = None,
) -> int:
    """Record, in the caller's transaction, the reply owed to each newly stored message that is owed one
    (decided as of the moment it was archived, or `at`, when it is read only later: a receipt, or a 自查's
    answer); returns how many. One reply per message, whatever happens: its cause ("receipt:12",
    "selfcheck:12") is unique. A message threaded under one of our own outgoing mails (its In-Reply-To names an
    outbox Message-ID) is told to the rule that keeps us from answering our own mail answered back."""
    messages = list(messages)
    ours = _our_message_ids(session, {message.in_reply_to for message in messages if message.in_reply_to})
    owed = [
        (message, kind)
        for message in messages
        if (
            kind := reply_owed(
                replace(message_facts(message), answers_ours=message.in_reply_to in ours),
                own_addresses,
                at or message.archived_at,
                max_age,
            )
        )
    ]
    session.add_all(
        OwedReply(cause=f"{kind}:{message.id}", kind=kind, message_id=message.id, owed_at=at or message.archived_at)
        for message, kind in owed
    )
    return len(owed)


def owed_before(session: Session, message_id: int) -> bool:
    """Whether the message was ever owed a reply (a receipt, a 自查's answer, a notice): a message read once and
    answered, stored raw by a later re-derivation (its reader died), is not owed its receipt again when read."""
    return session.scalar(select(OwedReply.id).where(OwedReply.message_id == message_id).limit(1)) is not None


def _our_message_ids(session: Session, wanted: set[str]) -> set[str]:
    """Those of the Message-IDs that are of mail we composed (receipts, answers, notices, reminders, digests)."""
    if not wanted:
        return set()
    return set(session.scalars(select(OutboxMail.message_id).where(OutboxMail.message_id.in_(wanted))))


@dataclass(frozen=True)
class Counted:
    """What a message counts as, as its sender hears it: its unit, kind, month, whether its sender counts, and
    whether it carries forms (a reply that does counts as a report: submission)."""

    unit: str | None
    kind: str
    month: str | None
    registered: bool
    forms: bool = False

    @classmethod
    def of(cls, message: Message) -> Counted:
        forms = any(reading.form is not None for reading in message.readings)
        return cls(message.unit, message.kind, message.month, bool(message.registered), forms)

    @property
    def counts(self) -> bool:
        return self.registered and self.unit is not None and submission(self.kind, self.forms)

    def told_alike(self, other: Counted) -> bool:
        """Whether a sender told one would learn nothing from the other: both count, as the same unit's mail of
        the same kind and month, or neither counts."""
        if not (self.counts or other.counts):
            return True
        return self.counts == other.counts and self._where == other._where

    @property
    def _where(self) -> tuple[str | None, str, str | None]:
        return self.unit, self._heard_kind, self.month

    @property
    def _heard_kind(self) -> str:
        """Its kind as its receipt says it: a reply carrying forms is the report it counts as."""
        return Kind.REPORT.value if self.kind not in COUNTED_KINDS and submission(self.kind, self.forms) else self.kind

    def under(self, row: CorrectionRow | None, named: UnitNamed = lambda name, month: name) -> Counted:
        """As a correction makes it (parsers.derive.corrected), when one is given; its unit as `named` says. Its
        forms are its files', whatever is corrected."""
        if row is None:
            return self
        return Counted(
            named(row.unit, row.month or self.month) or self.unit,
            row.kind or self.kind,
            row.month or self.month,
            self.registered if row.counted is None else row.counted,
            self.forms,
        )


# The unit a correction names (by the name staff gave, of a month), as today's configuration calls it
# (archive.rederive.today_name).
UnitNamed = Callable[[str | None, str | None], str | None]
# What a sender was told of its message: a receipt or a notice handed to the mail server (sent, or being
# tried); one refused for good never reached it.
TOLD_KINDS = ("receipt", "change")


def settle_notice(
    session: Session,
    message: Message,
    recognised: Counted,
    because: str | None,
    closed: Collection[int],
    own_addresses: frozenset[str],
    named: UnitNamed = lambda name, month: name,
) -> None:
    """In the caller's transaction, once a message is derived again into something else: owe its sender a
    核实通知, reword the one waiting, or withdraw it, by what the sender was last told (told_before), never by
    what this one run changed. `recognised`: the message as recognised before any correction. Nothing is owed
    while its receipt waits to be composed (it will say the message as it is now), when it now counts as the
    sender was told (a change undone before anything said it), or when every month concerned is of a closed
    year (`closed`: its kept results do not change); nor ever to a sender no mail of ours may go to
    (replies.receipt.addressable: one of `own_addresses`, the configuration's department mailboxes, whose staff
    know what they decided; a no-reply address). A notice is owed for a staff decision (`because`, its why)
    only; one waiting stays when something else (the configuration) changed the message."""
    if because is None and not _notice_waiting(session, message.id):
        return  # no decision, no notice to reword or withdraw: a re-derivation of thousands reads nothing more
    if not addressable(message.from_addr, own_addresses):
        withdraw_change(session, message.id)  # one owed before its address became one of ours
        return
    now = Counted.of(message)
    if _receipt_waiting(session, message.id):
        withdraw_change(session, message.id)
        return
    told = told_before(session, message, recognised, named)
    owed = now.counts if told is None else not told.told_alike(now)
    months = {state.month for state in (told, now) if state is not None and state.counts}
    if owed and months and all(month is not None and int(month[:4]) in closed for month in months):
        owed = False  # a closed year's kept results stand, whatever the archive now says (README "Closing a year")
    if not owed:
        withdraw_change(session, message.id)
    elif because is not None:
        owe_change(session, message, because)


def told_before(
    session: Session, message: Message, recognised: Counted, named: UnitNamed = lambda name, month: name
) -> Counted | None:
    """What the message's sender was last told it counts as: the message as recognised, under the correction in
    force when the last receipt or notice it was handed was composed; None when it was handed none (a receipt
    goes to a unit's registered senders only)."""
    last = session.scalars(
        select(OutboxMail)
        .where(OutboxMail.about_message == message.id, OutboxMail.kind.in_(TOLD_KINDS), OutboxMail.state != "failed")
        .order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc())
        .limit(1)
    ).first()
    if last is None:
        return None
    rows = session.scalars(select(CorrectionRow).where(CorrectionRow.message_sha256 == message.sha256))
    then = [
        row
        for row in rows
        if row.entered_at <= last.created_at and (row.revoked_at is None or row.revoked_at > last.created_at)
    ]
    return recognised.under(max(then, key=lambda row: row.id, default=None), named)


def _receipt_waiting(session: Session, message_id: int) -> bool:
    """Whether the message's receipt is owed and not yet composed (or taken back out of the outbox unsent)."""
    return _waiting(session, message_id, "receipt")


def _notice_waiting(session: Session, message_id: int) -> bool:
    return _waiting(session, message_id, "change")


def _waiting(session: Session, message_id: int, kind: str) -> bool:
    return (
        session.scalar(
            select(OwedReply.id).where(
                OwedReply.message_id == message_id, OwedReply.kind == kind, OwedReply.queued_at.is_(None)
            )
        )
        is not None
    )


def owe_change(session: Session, message: Message, because: str) -> None:
    """Record, in the caller's transaction, a notice owed to the sender of a message a staff decision changed
    ("change:12", then "change:12:2"…). One notice waits per message at a time: while one is not yet composed
    (it is composed from the message as derived then), a later decision only rewords its why."""
    notices = list(
        session.scalars(
            select(OwedReply)
            .where(OwedReply.message_id == message.id, OwedReply.kind == "change")
            .order_by(OwedReply.id)
        )
    )
    if (waiting := next((row for row in notices if row.queued_at is None), None)) is not None:
        waiting.note = because
        return
    causes = {row.cause for row in notices}
    number = len(notices) + 1
    cause = f"change:{message.id}" + (f":{number}" if number > 1 else "")
    while cause in causes:
        number += 1
        cause = f"change:{message.id}:{number}"
    session.add(OwedReply(cause=cause, kind="change", message_id=message.id, owed_at=datetime.now(UTC), note=because))


def withdraw_change(session: Session, message_id: int) -> None:
    """In the caller's transaction, drop the notice owed for this message and not yet composed: what it would
    say, the sender was told already, or needs not be told."""
    session.execute(
        delete(OwedReply).where(
            OwedReply.message_id == message_id, OwedReply.kind == "change", OwedReply.queued_at.is_(None)
        )
    )


def reopen_unsent(session: Session, message_id: int) -> int:
    """In the caller's transaction, take the receipt and notice of this message that were composed into the
    outbox but never handed to a server (pending, no attempt yet) back out of it: the outbox row goes and the
    owed row waits again, to be composed by the next sender pass from the message as it is derived now (a
    receipt or notice composed before a correction says what was wrong). Mail a sender has begun, tried or
    sent stays as it is, so nothing is ever sent twice. Returns how many were taken back."""
    owed = session.scalars(
        select(OwedReply).where(
            OwedReply.message_id == message_id,
            OwedReply.kind.in_(("receipt", "change")),
            OwedReply.queued_at.is_not(None),
        )
    )
    reopened = 0
    for row in owed:
        taken = session.execute(
            delete(OutboxMail).where(
                OutboxMail.cause == row.cause, OutboxMail.state == "pending", OutboxMail.attempts == 0
            )
        )
        if taken.rowcount:  # type: ignore[attr-defined]
            row.queued_at = None
            reopened += 1
    return reopened


def owed_replies(session: Session, limit: int = 100, besides: Collection[int] = ()) -> list[OwedReply]:
    """Owed replies not yet composed into the outbox, oldest first, but for those `besides` (set aside) and those
    whose message waits to be derived again for a staff decision (derived_with cleared): composed from the message
    as it was, a notice told the old month beside the new decision's words, and nothing told the unit after."""
    waiting = (
        select(OwedReply)
        .join(Message, Message.id == OwedReply.message_id)
        .where(OwedReply.queued_at.is_(None), Message.derived_with.is_not(None))
    )
    if besides:
        waiting = waiting.where(OwedReply.id.not_in(besides))
    return list(session.scalars(waiting.order_by(OwedReply.id).limit(limit)))


def owed_waiting(session: Session) -> tuple[int, datetime | None]:
    """How many owed replies wait to be composed, and since when the oldest."""
    count, oldest = session.execute(
        select(func.count(), func.min(OwedReply.owed_at)).where(OwedReply.queued_at.is_(None))
    ).one()
    return count, oldest


def _signature(declared_type: str) -> bool:
    """An S/MIME signature (smime.p7s): the mail program's proof of who sent it, no file of the clerk's."""
    return declared_type.split(";")[0].strip().lower() in (
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
    )


def message_facts(message: Message) -> MessageFacts:
    """What the receipt rules need to know of a stored message: the forms read from each attachment, in the
    order the attachments came, and each attachment that holds none with why (parsers.inspection, in the
    words `inspect` uses). An attached message's own attachments are the message's (parsers.mime)."""
    read: dict[int, list[FileFacts]] = {}
    for r in message.readings:
        problems, hints = problems_and_hints(r.problems)
        read.setdefault(r.attachment_id, []).append(
            FileFacts(
                r.source,
                r.form,
                r.readable,
                r.rows,
                {t: f.get("done") for t, f in r.tasks.items()} if r.form == 2 else None,
                tuple(problem_lines(problems)),
                text_characters(r.text) if r.form == 1 else 0,
                r.unit,
                r.month,
                # a zip's member holding no form (a PDF, a .csv): said as a loose one is, not among a briefing's
                no_form=r.form is None and not r.readable and all(p.get("code") in NO_FORM_CODES for p in r.problems),
                notes=tuple(hints),
                locked=locked(r.problems),
            )
        )
    files: list[FileFacts] = []
    beside_forms = bool(read)  # a picture beside forms is most often a signature's logo (Outlook's image001.png)
    for a in message.attachments:
        if a.id in read:
            files.extend(read.pop(a.id))
        elif (beside_forms and a.sniffed_type in IMAGES) or is_lock_file(a.filename) or _signature(a.declared_type):
            continue
        elif a.declared_type.split(";")[0].strip().lower() != "message/rfc822" and a.sniffed_type != "eml":
            _, why = why_no_form(a.filename, a.sniffed_type, a.size, a.declared_type)
            files.append(FileFacts(a.filename, None, False, 0, problems=(why,), no_form=True))
    files.extend(facts for rest in read.values() for facts in rest)
    return MessageFacts(
        id=message.id,
        kind=message.kind,
        unit=message.unit,
        month=message.month,
        registered=message.registered,
        sender=message.from_addr,
        subject=message.subject,
        message_id=message.message_id,
        references=(),
        arrival=message.arrival,
        body_text=message.body_text,
        attachment_names=tuple(a.filename for a in message.attachments),
        files=tuple(files),
        problems=tuple(problem for problem in message.problems or () if told_to_sender(problem)),
        month_source=message.month_source,
        arrival_known=message.arrival_trusted or message.sent_at is not None,
    )
