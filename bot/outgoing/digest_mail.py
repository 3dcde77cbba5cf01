"""The digest as a mail: composed for the staff list with its workbook attached, and queued once a month, for
the schedule and for `mailroom digest --send` alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy.orm import Session

from archive.models import JobRun
from archive.outbox import digest_cause, queue_mail
from bot.config import Config
from bot.outgoing.digest import Digest, build_digest, render_digest, workbook_name
from bot.outgoing.render import compose
from bot.outgoing.workbooks import digest_workbook
from parsers.errors import ConfigError

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def compose_digest(config: Config, digest: Digest, workbook_bytes: bytes) -> EmailMessage:
    """The digest mail to the staff list ([smtp] staff): text and HTML alternatives, the workbook attached
    (its Chinese name RFC 2231-encoded), Auto-Submitted: auto-generated."""
    out = config.outgoing
    if not out.sender:
        raise ConfigError("smtp.sender is missing: the address the digest is sent from")
    if not out.staff:
        raise ConfigError("smtp.staff is missing: the list of addresses that receive the digest")
    subject, html, text = render_digest(digest)
    message = compose(out, list(out.staff), subject, text, html, digest.generated, auto_submitted="auto-generated")
    message.add_attachment(workbook_bytes, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=workbook_name(digest))
    return message


@dataclass(frozen=True)
class PreparedDigest:
    """A month's digest with its workbook and the mail that carries them."""

    digest: Digest
    workbook: bytes
    message: EmailMessage


def prepare_digest(config: Config, session: Session, month: str, now: datetime) -> PreparedDigest:
    digest = build_digest(config, session, month, now)
    workbook = digest_workbook(digest)
    return PreparedDigest(digest, workbook, compose_digest(config, digest, workbook))


def queue_digest(session: Session, prepared: PreparedDigest, now: datetime) -> bool:
    """Store the digest mail in the outbox, and the job's run for the month, in one commit; False when this
    month's digest already is."""
    month = prepared.digest.month
    queued = queue_mail(session, digest_cause(month), "digest", prepared.message, now)
    if queued is not None:
        session.merge(JobRun(job="digest", period=month, done_at=now, summary=f"发送给 {queued.recipients}"))
    session.commit()
    return queued is not None
