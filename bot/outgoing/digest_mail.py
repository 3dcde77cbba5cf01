"""The digest as a mail: composed for the staff list with its workbook attached, and queued once a month, for
the schedule and for `mailroom digest --send` alike."""

from __future__ import annotations

import base64
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
    under its Chinese name (see attach), Auto-Submitted: auto-generated."""
    out = config.outgoing
    if not out.sender:
        raise ConfigError("smtp.sender 未填写：汇总邮件从这个地址发出，请在配置文件 [smtp] 中写明")
    if not out.staff:
        raise ConfigError("smtp.staff 为空：汇总邮件发给这些工作人员地址，请在配置文件 [smtp] 中至少写一个")
    subject, html, text = render_digest(digest)
    message = compose(out, list(out.staff), subject, text, html, digest.generated, auto_submitted="auto-generated")
    attach(message, workbook_bytes, *XLSX_TYPE, workbook_name(digest))
    return message


def attach(message: EmailMessage, data: bytes, maintype: str, subtype: str, filename: str) -> None:
    """Attach `data` named as Chinese webmail and Outlook name their attachments: RFC 2047 encoded-words in
    quoted strings, `name="=?utf-8?b?…?="` on Content-Type and `filename="=?utf-8?b?…?="` on
    Content-Disposition. add_attachment writes RFC 2231's `filename*0*=` alone, which older Outlook and
    Foxmail show as ATT00001 or mojibake; encoded-words in parameters are outside the RFCs but every client
    reads them (and so does parsers/mime.py).

    The two headers are stored folded by hand (set_raw, every line within 78 characters): the email package
    would decode the encoded-words and fold them back into RFC 2231. Content-Type folds after its colon: its
    type alone is 65 characters, and policy.SMTP refolds (and mangles) a header whose first line is longer."""
    message.add_attachment(data, maintype=maintype, subtype=subtype)
    *_, part = message.iter_attachments()  # the one just added
    words = "\n ".join(_encoded_words(filename))
    del part["Content-Type"]
    del part["Content-Disposition"]
    part.set_raw("Content-Type", f'\n {maintype}/{subtype};\n name="{words}"')
    part.set_raw("Content-Disposition", f'attachment;\n filename="{words}"')


def _encoded_words(text: str, most: int = 36) -> list[str]:
    """`text` as UTF-8 B encoded-words of at most `most` bytes each, whole characters (36 bytes: 60-character
    words, so `filename="` and a word fit a folded line)."""
    chunks = [""]
    for character in text:
        if chunks[-1] and len((chunks[-1] + character).encode()) > most:
            chunks.append("")
        chunks[-1] += character
    return [f"=?utf-8?b?{base64.b64encode(chunk.encode()).decode('ascii')}?=" for chunk in chunks]


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
