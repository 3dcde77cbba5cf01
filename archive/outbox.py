"""The outbox: every outgoing mail is stored before it is sent, once per cause, retried with backoff.

The guarantee across a crash: a mail is marked `sending` (committed) before the SMTP transaction and
`sent` after the server accepts it. If the process dies between the server's acceptance and that
second commit, the mail stays `sending`, and the next sender (who holds the outbox lock, so the one who
left it is gone) sends it again with the same Message-ID. So delivery is at least once, a second copy is
possible only in that window, and it is recognisable as the same mail. A cause is never queued twice
(unique key).

States (`OutboxMail.state`): pending (waiting for `next_attempt_at`), sending, sent, and failed: refused for
good by the receiving side (a 5xx for its recipients or its data), never tried again by itself; `status` lists
them. A failed mail staff can ask for again (a digest: `mailroom digest --send`) is stored again in its place,
composed anew, and pending once more (`queue_again`): still one mail per cause. And withdrawn: a mail no longer
owed before it went (a reminder whose unit has since sent every form: bot.outgoing.reminders), never sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP  # CRLF line ends: smtplib sends bytes as they are
from email.utils import getaddresses
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from archive.models import OutboxMail

MAX_BACKOFF = timedelta(hours=1)
UNSENT = ("pending", "sending")  # what the sender still has to send; "failed" is refused for good


# What each kind of outgoing mail is called in the operator's and the staff's lines.
KIND_TEXT = {
    "receipt": "回执",
    "selfcheck": "自查结果",
    "change": "核实通知",
    "digest": "月度排名通报",
    "final_digest": "年度最终排名通报",
    "reminder": "催报提醒",
}
# Where an outgoing mail stands (OutboxMail.state), in the staff's words.
STATE_TEXT = {
    "pending": "待发",
    "sending": "正在发送",
    "sent": "已发出",
    "failed": "被对方服务器拒收",
    "withdrawn": "已撤回（不再需要发出）",
}
DIGEST_CAUSE = "digest:"
FINAL_DIGEST_CAUSE = "final-digest:"


def digest_cause(month: str) -> str:
    """The cause of a month's digest: one digest per month, however often it is asked for."""
    return f"{DIGEST_CAUSE}{month}"


def final_digest_cause(year: int) -> str:
    """The cause of a plan year's final ranking, owed by closing the year: one per year."""
    return f"{FINAL_DIGEST_CAUSE}{year}"


def reminder_cause(month: str, unit: str, overdue: bool = False) -> str:
    """The outbox cause of a unit's reminder for `month`: one before the deadline, one after it. The one before
    keeps the cause every reminder had before the two were told apart, so a unit reminded then is not reminded
    before the deadline again."""
    return f"reminder:{month}:{unit}" + (":after-deadline" if overdue else "")


class Reminded(NamedTuple):
    month: str
    unit: str
    overdue: bool  # the reminder after the deadline


def reminder_of(cause: str) -> Reminded | None:
    """What a reminder's outbox cause (reminder_cause) says it was for; None for another mail's cause."""
    parts = cause.split(":")
    if len(parts) < 3 or parts[0] != "reminder":
        return None
    return Reminded(parts[1], parts[2], parts[3:] == ["after-deadline"])


@dataclass(frozen=True)
class Fate:
    """One outbox mail as the last sending pass left it: its id, state and last error."""

    id: int
    state: str
    error: str | None

    def said_in(self, line: str) -> bool:
        """Whether a line of a sending pass's errors or refusals ("#12: …", "#12 回执 …") is this mail's."""
        return line.startswith((f"#{self.id}:", f"#{self.id} "))


def mail_fate(session: Session, cause: str) -> Fate | None:
    """The mail stored for `cause` as it stands; None when none is."""
    row = session.execute(
        select(OutboxMail.id, OutboxMail.state, OutboxMail.last_error).where(OutboxMail.cause == cause)
    ).first()
    return None if row is None else Fate(*row)


def mail_state(session: Session, cause: str) -> tuple[str, str | None] | None:
    """The state of the mail stored for `cause` and its last error; None when none is."""
    fate = mail_fate(session, cause)
    return None if fate is None else (fate.state, fate.error)


def again_causes(cause: str) -> ColumnElement[bool]:
    """The causes of `cause`'s mail sent once more on staff's asking (`digest --send --again`: "digest:M#2", …)."""
    return OutboxMail.cause.like(f"{cause}#%")


def newest_state(session: Session, cause: str) -> str | None:
    """The state of the newest mail of `cause`, or of one sent again after it (again_causes); None: none."""
    return session.scalar(
        select(OutboxMail.state)
        .where(or_(OutboxMail.cause == cause, again_causes(cause)))
        .order_by(OutboxMail.id.desc())
        .limit(1)
    )


def queue_mail(
    session: Session,
    cause: str,
    kind: str,
    message: EmailMessage,
    now: datetime,
    about_message: int | None = None,
    not_before: datetime | None = None,
) -> OutboxMail | None:
    """Store a mail to send (from `not_before`, default now), unless one was already stored for this cause;
    the caller commits."""
    if session.scalar(select(OutboxMail.id).where(OutboxMail.cause == cause)) is not None:
        return None
    mail = OutboxMail(
        cause=cause,
        kind=kind,
        recipients=", ".join(_recipients(message)),
        subject=str(message["Subject"]),
        message_id=str(message["Message-ID"]),
        raw=message.as_bytes(policy=SMTP),
        about_message=about_message,
        state="pending",
        attempts=0,
        created_at=now,
        next_attempt_at=not_before or now,
    )
    session.add(mail)
    return mail


def queue_again(
    session: Session, cause: str, message: EmailMessage, now: datetime, was: str = "failed"
) -> OutboxMail | None:
    """Store `message` (composed anew: the address refused may have been corrected since) in place of the mail of
    `cause` refused for good (or, `was` "withdrawn", withdrawn before it went), pending from now as a new mail;
    None, and nothing changed, when that mail is not so (it is sent, or waiting). The caller commits."""
    mail = session.scalar(select(OutboxMail).where(OutboxMail.cause == cause, OutboxMail.state == was))
    if mail is None:
        return None
    replace_content(mail, message)
    mail.state, mail.attempts, mail.created_at, mail.next_attempt_at = "pending", 0, now, now
    mail.sending_since = mail.sent_at = mail.last_error = mail.last_error_at = None
    return mail


def replace_content(mail: OutboxMail, message: EmailMessage, keep_id: bool = False) -> None:
    """`mail` made `message`: its recipients, subject and bytes (as queue_mail stores them); with `keep_id`, under
    the Message-ID it had (the same mail, composed again: a copy a server took before is known as the same)."""
    if keep_id:
        del message["Message-ID"]
        message["Message-ID"] = mail.message_id
    mail.recipients = ", ".join(_recipients(message))
    mail.subject, mail.message_id = str(message["Subject"]), str(message["Message-ID"])
    mail.raw = message.as_bytes(policy=SMTP)


def withdraw(mail: OutboxMail, why: str, now: datetime) -> None:
    """A mail not yet sent that is no longer owed: state `withdrawn`, never sent, `why` on record."""
    mail.state, mail.last_error, mail.last_error_at = "withdrawn", why, now


def _recipients(message: EmailMessage) -> list[str]:
    return [address for _, address in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))]


def due_mail(session: Session, now: datetime) -> list[OutboxMail]:
    """Pending mail whose time has come, and mail left `sending` by a sender that died: the caller holds
    the outbox lock, so no other sender is at work. A mail planned by a clock that ran fast is due now (its
    wait would last as long as the clock was ahead: a month ahead, a month's wait): one tried before whose
    next try lies further ahead than the longest backoff, or one queued further ahead of now than that."""
    ahead = now + MAX_BACKOFF
    return list(
        session.scalars(
            select(OutboxMail)
            .where(
                or_(
                    (OutboxMail.state == "pending")
                    & or_(
                        OutboxMail.next_attempt_at <= now,
                        (OutboxMail.attempts > 0) & (OutboxMail.next_attempt_at > ahead),
                        OutboxMail.created_at > ahead,
                    ),
                    OutboxMail.state == "sending",
                )
            )
            .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
        )
    )


def next_due(session: Session) -> datetime | None:
    """When the earliest unsent mail is due (mail planned by a fast clock is due at once all the same:
    `due_mail`; the daemon's sender looks every minute)."""
    return session.scalar(select(func.min(OutboxMail.next_attempt_at)).where(OutboxMail.state.in_(UNSENT)))


def mark_sending(session: Session, mail: OutboxMail, now: datetime) -> None:
    mail.state, mail.sending_since = "sending", now
    mail.attempts += 1
    session.commit()


def mark_sent(session: Session, mail: OutboxMail, now: datetime) -> None:
    mail.state, mail.sent_at, mail.last_error = "sent", now, None
    session.commit()


def backoff(failures: int) -> timedelta:
    """The wait after the `failures`-th failure in a row: a minute, doubling, at most MAX_BACKOFF (the doubling
    stops at 2^16 minutes: timedelta overflowed on the 42nd)."""
    return min(timedelta(minutes=1) * 2 ** min(max(failures - 1, 0), 16), MAX_BACKOFF)


def mark_failed(session: Session, mail: OutboxMail, now: datetime, error: str) -> None:
    """Back to pending, to be tried again after a delay that doubles with each attempt (`backoff`)."""
    mail.state, mail.sending_since, mail.next_attempt_at = "pending", None, now + backoff(mail.attempts)
    mail.last_error, mail.last_error_at = error, now
    session.commit()


def mark_refused(session: Session, mail: OutboxMail, now: datetime, error: str) -> None:
    """Refused for good (the recipient's server answered 5xx): `failed`, never tried again; `error` says why."""
    mail.state, mail.sending_since = "failed", None
    mail.last_error, mail.last_error_at = error, now
    session.commit()


@dataclass(frozen=True)
class Refused:
    """A mail refused for good: which, to whom, and why."""

    id: int
    kind: str
    recipients: str
    subject: str
    error: str | None
    at: datetime | None


@dataclass(frozen=True)
class Backlog:
    """Unsent mail: how many, since when the oldest waits, and the newest error the server gave; and the mail
    refused for good (how many, the newest `REFUSED_SHOWN` of them)."""

    count: int
    oldest: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    refused_count: int = 0
    refused: tuple[Refused, ...] = ()
    held: int = 0  # never tried yet, planned for later (receipts_per_hour): waiting by design, not failing
    held_until: datetime | None = None
    last_sent_at: datetime | None = None  # the newest mail sent: an error before it is over


REFUSED_SHOWN = 10
# Outbox kinds of the replies to one sender that `receipts_per_hour` bounds (bot.outgoing.receipts).
ANSWERS = ("receipt", "selfcheck")


def backlog(session: Session, now: datetime | None = None) -> Backlog:
    """What waits in the outbox; with `now`, also the mail held for a later hour as of then."""
    unsent = OutboxMail.state.in_(UNSENT)
    count, oldest = session.execute(select(func.count(), func.min(OutboxMail.created_at)).where(unsent)).one()
    held, held_until = 0, None
    if now is not None:
        later = (
            OutboxMail.kind.in_(ANSWERS),
            OutboxMail.state == "pending",
            OutboxMail.attempts == 0,
            OutboxMail.next_attempt_at > now,
        )
        held, held_until = session.execute(
            select(func.count(), func.max(OutboxMail.next_attempt_at)).where(*later)
        ).one()
    error = session.execute(
        select(OutboxMail.last_error, OutboxMail.last_error_at)
        .where(unsent, OutboxMail.last_error_at.is_not(None))
        .order_by(OutboxMail.last_error_at.desc())
        .limit(1)
    ).first()
    failed = OutboxMail.state == "failed"
    refused_count = session.scalar(select(func.count()).where(failed)) or 0
    refused = tuple(
        Refused(row.id, row.kind, row.recipients, row.subject, row.last_error, row.last_error_at)
        for row in session.execute(
            select(
                OutboxMail.id,
                OutboxMail.kind,
                OutboxMail.recipients,
                OutboxMail.subject,
                OutboxMail.last_error,
                OutboxMail.last_error_at,
            )
            .where(failed)
            .order_by(OutboxMail.last_error_at.desc(), OutboxMail.id.desc())
            .limit(REFUSED_SHOWN)
        )
    )
    last_error, last_error_at = error or (None, None)
    last_sent = session.scalar(select(func.max(OutboxMail.sent_at))) if last_error_at is not None else None
    return Backlog(count, oldest, last_error, last_error_at, refused_count, refused, held, held_until, last_sent)
