"""The outbox: every outgoing mail is stored before it is sent, once per cause, retried with backoff.

The guarantee across a crash: a mail is marked `sending` (committed) before the SMTP transaction and
`sent` after the server accepts it. If the process dies between the server's acceptance and that
second commit, the mail stays `sending`; after SENDING_GRACE it is sent again with the same
Message-ID. So delivery is at least once, a second copy is possible only in that window, and it is
recognisable as the same mail (same Message-ID). A cause is never queued twice (unique key).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP  # CRLF line ends: smtplib sends bytes as they are
from email.utils import getaddresses

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from archive.models import OutboxMail

SENDING_GRACE = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=1)


def queue_mail(session: Session, cause: str, kind: str, message: EmailMessage, now: datetime,
               about_message: int | None = None) -> OutboxMail | None:
    """Store a mail to send, unless one was already stored for this cause; the caller commits."""
    if session.scalar(select(OutboxMail.id).where(OutboxMail.cause == cause)) is not None:
        return None
    mail = OutboxMail(cause=cause, kind=kind, recipients=", ".join(_recipients(message)),
                      subject=str(message["Subject"]), message_id=str(message["Message-ID"]),
                      raw=message.as_bytes(policy=SMTP), about_message=about_message, state="pending", attempts=0,
                      created_at=now, next_attempt_at=now)
    session.add(mail)
    return mail


def _recipients(message: EmailMessage) -> list[str]:
    return [address for _, address in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))]


def due_mail(session: Session, now: datetime) -> list[OutboxMail]:
    """Pending mail whose time has come, and mail left `sending` by a process that died."""
    return list(session.scalars(
        select(OutboxMail)
        .where(or_((OutboxMail.state == "pending") & (OutboxMail.next_attempt_at <= now),
                   (OutboxMail.state == "sending") & (OutboxMail.sending_since <= now - SENDING_GRACE)))
        .order_by(OutboxMail.id)))


def mark_sending(session: Session, mail: OutboxMail, now: datetime) -> None:
    mail.state, mail.sending_since = "sending", now
    mail.attempts += 1
    session.commit()


def mark_sent(session: Session, mail: OutboxMail, now: datetime) -> None:
    mail.state, mail.sent_at, mail.last_error = "sent", now, None
    session.commit()


def mark_failed(session: Session, mail: OutboxMail, now: datetime, error: str) -> None:
    """Back to pending, to be tried again after a delay that doubles with each attempt (at most an hour)."""
    delay = min(timedelta(minutes=1) * 2 ** (mail.attempts - 1), MAX_BACKOFF)
    mail.state, mail.sending_since, mail.last_error, mail.next_attempt_at = "pending", None, error, now + delay
    session.commit()


def backlog(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMail).where(OutboxMail.state != "sent"))
