"""The outbox: every outgoing mail is stored before it is sent, once per cause, retried with backoff.

The guarantee across a crash: a mail is marked `sending` (committed) before the SMTP transaction and
`sent` after the server accepts it. If the process dies between the server's acceptance and that
second commit, the mail stays `sending`, and the next sender (who holds the outbox lock, so the one who
left it is gone) sends it again with the same Message-ID. So delivery is at least once, a second copy is
possible only in that window, and it is recognisable as the same mail. A cause is never queued twice
(unique key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP  # CRLF line ends: smtplib sends bytes as they are
from email.utils import getaddresses

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from archive.models import OutboxMail

MAX_BACKOFF = timedelta(hours=1)


def digest_cause(month: str) -> str:
    """The cause of a month's digest: one digest per month, however often it is asked for."""
    return f"digest:{month}"


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


def _recipients(message: EmailMessage) -> list[str]:
    return [address for _, address in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))]


def due_mail(session: Session, now: datetime) -> list[OutboxMail]:
    """Pending mail whose time has come, and mail left `sending` by a sender that died: the caller holds
    the outbox lock, so no other sender is at work."""
    return list(
        session.scalars(
            select(OutboxMail)
            .where(
                or_(
                    (OutboxMail.state == "pending") & (OutboxMail.next_attempt_at <= now), OutboxMail.state == "sending"
                )
            )
            .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
        )
    )


def next_due(session: Session) -> datetime | None:
    """When the earliest unsent mail is due."""
    return session.scalar(select(func.min(OutboxMail.next_attempt_at)).where(OutboxMail.state != "sent"))


def mark_sending(session: Session, mail: OutboxMail, now: datetime) -> None:
    mail.state, mail.sending_since = "sending", now
    mail.attempts += 1
    session.commit()


def mark_sent(session: Session, mail: OutboxMail, now: datetime) -> None:
    mail.state, mail.sent_at, mail.last_error = "sent", now, None
    session.commit()


def mark_failed(session: Session, mail: OutboxMail, now: datetime, error: str) -> None:
    """Back to pending, to be tried again after a delay that doubles with each attempt (at most an hour). The
    doubling stops at 2^16 minutes, past the hour already: timedelta overflowed on the 42nd failure (a day and
    a half of a server down) and stopped the daemon, again on every restart."""
    delay = min(timedelta(minutes=1) * 2 ** min(max(mail.attempts - 1, 0), 16), MAX_BACKOFF)
    mail.state, mail.sending_since, mail.next_attempt_at = "pending", None, now + delay
    mail.last_error, mail.last_error_at = error, now
    session.commit()


@dataclass(frozen=True)
class Backlog:
    """Unsent mail: how many, since when the oldest waits, and the newest error the server gave."""

    count: int
    oldest: datetime | None
    last_error: str | None
    last_error_at: datetime | None


def backlog(session: Session) -> Backlog:
    unsent = OutboxMail.state != "sent"
    count, oldest = session.execute(select(func.count(), func.min(OutboxMail.created_at)).where(unsent)).one()
    error = session.execute(
        select(OutboxMail.last_error, OutboxMail.last_error_at)
        .where(unsent, OutboxMail.last_error_at.is_not(None))
        .order_by(OutboxMail.last_error_at.desc())
        .limit(1)
    ).first()
    return Backlog(count, oldest, *(error or (None, None)))
