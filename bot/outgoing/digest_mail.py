"""The digest as a mail: composed for the staff list with its workbook attached, and queued once a month, for
the schedule and for `mailroom digest --send` alike; a year's final ranking queued once, by closing the year."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive.models import ClosedYear, JobRun, OutboxMail
from archive.outbox import again_causes, digest_cause, final_digest_cause, mail_state, queue_again, queue_mail
from bot.config import Config
from bot.outgoing.digest import Digest, build_digest, render_digest, workbook_name
from bot.outgoing.render import compose
from bot.outgoing.workbooks import digest_workbook
from bot.services.years import close_plan_year
from parsers.errors import ConfigError, InputError

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def compose_digest(config: Config, digest: Digest, workbook_bytes: bytes) -> EmailMessage:
    """The digest mail to the staff list ([smtp] staff): text and HTML alternatives, the workbook attached
    under its Chinese name (RFC 2231: see attach), Auto-Submitted: auto-generated. A month's digest and a year's
    final ranking alike."""
    out = config.outgoing
    if not out.sender:
        raise ConfigError("smtp.sender 未填写：月度排名通报从这个地址发出，请在配置文件 [smtp] 中写明")
    if not out.staff:
        raise ConfigError("smtp.staff 为空：月度排名通报发给这些工作人员地址，请在配置文件 [smtp] 中至少写一个")
    subject, html, text = render_digest(digest, config)
    message = compose(
        out,
        list(out.staff),
        subject,
        text,
        html,
        digest.generated,
        zone=config.timezone,
        auto_submitted="auto-generated",
    )
    attach(message, workbook_bytes, *XLSX_TYPE, workbook_name(digest))
    return message


def attach(message: EmailMessage, data: bytes, maintype: str, subtype: str, filename: str) -> None:
    """Attach `data` under its Chinese name, on Content-Disposition as RFC 2183 and RFC 2231 have it:
    `filename*=utf-8''…` percent-encoded, split into `filename*0*=`, `filename*1*=`, … when long (add_attachment
    writes it so: Python's email package, parsers/mime.py and every current client read it back). Content-Type
    names it too, for clients that read only that (older Outlook and Foxmail, which show RFC 2231 as ATT00001):
    `name="=?utf-8?b?…?="` in RFC 2047 encoded-words, as Outlook, Gmail and Thunderbird write it; a client that
    reads RFC 2231 takes Content-Disposition's.

    Content-Type is stored folded by hand (set_raw, every line within 78 characters): the email package would
    decode the encoded-words and fold them back into RFC 2231, and it folds after the colon: the type alone is
    65 characters, and policy.SMTP refolds (and mangles) a header whose first line is longer."""
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    *_, part = message.iter_attachments()  # the one just added
    words = "\n ".join(_encoded_words(filename))
    del part["Content-Type"]
    part.set_raw("Content-Type", f'\n {maintype}/{subtype};\n name="{words}"')


def _encoded_words(text: str, most: int = 36) -> list[str]:
    """`text` as UTF-8 B encoded-words of at most `most` bytes each, whole characters (36 bytes: 60-character
    words, so `name="` and a word fit a folded line)."""
    chunks = [""]
    for character in text:
        if chunks[-1] and len((chunks[-1] + character).encode()) > most:
            chunks.append("")
        chunks[-1] += character
    return [f"=?utf-8?b?{base64.b64encode(chunk.encode()).decode('ascii')}?=" for chunk in chunks]


FINAL_KIND = "final_digest"  # the outbox's kind of a year's final ranking ("digest": a month's)


@dataclass(frozen=True)
class PreparedDigest:
    """A month's digest (or a year's final ranking) with its workbook and the mail that carries them."""

    digest: Digest
    workbook: bytes
    message: EmailMessage

    @property
    def cause(self) -> str:
        year = self.digest.final_year
        return digest_cause(self.digest.month) if year is None else final_digest_cause(year)

    @property
    def kind(self) -> str:
        return "digest" if self.digest.final_year is None else FINAL_KIND


def prepare_digest(config: Config, session: Session, month: str, now: datetime) -> PreparedDigest:
    digest = build_digest(config, session, month, now)
    workbook = digest_workbook(digest)
    return PreparedDigest(digest, workbook, compose_digest(config, digest, workbook))


def prepare_final_digest(config: Config, session: Session, year: int, now: datetime) -> PreparedDigest:
    """The year's final ranking: its last month as kept when the year was closed (in `session` at least: the
    closing queues it before its commit); refused for a year not closed."""
    digest = build_digest(config, session, config.plans.year(year).months[-1], now, final=True)
    workbook = digest_workbook(digest)
    return PreparedDigest(digest, workbook, compose_digest(config, digest, workbook))


# What queue_digest did: stored it, stored it again in place of one refused for good, or found it in the outbox.
QUEUED, QUEUED_AGAIN, ALREADY = "queued", "queued again", "already"


def queue_digest(session: Session, prepared: PreparedDigest, now: datetime) -> str:
    """Store the digest mail in the outbox, once per month (a final ranking once per year), and the month's job
    run, in one commit. QUEUED; QUEUED_AGAIN when the one stored before was refused for good (state failed: the
    staff list corrected since, the mail is composed anew and sent again); ALREADY when it is in the outbox,
    sent or waiting, whatever version put it there: the month's run is then recorded all the same (a digest
    sent by a version that recorded none would otherwise be made again every minute)."""
    cause, month = prepared.cause, prepared.digest.month
    queued = queue_mail(session, cause, prepared.kind, prepared.message, now)
    again = queue_again(session, cause, prepared.message, now) if queued is None else None
    mail = queued or again
    if prepared.digest.final_year is None:
        if mail is not None:
            said = "重新发送给" if again is not None else "发送给"
            session.merge(JobRun(job="digest", period=month, done_at=now, summary=f"{said} {mail.recipients}"))
        else:
            _record_found(session, month, now)
    session.commit()
    return QUEUED if queued is not None else QUEUED_AGAIN if again is not None else ALREADY


def queue_digest_again(session: Session, prepared: PreparedDigest, now: datetime) -> str | None:
    """Store the digest mail in the outbox once more, as staff asked (`digest --send --again`: the one sent was
    made on a wrong clock, or lost on its way), under a cause of its own (the month's, then #2, #3…), with the
    month's run saying so, in one commit; returns that cause. None, and nothing stored, unless the digest itself
    was sent: one waiting or refused goes by `--send` (sent once, or composed anew in its place)."""
    if (mail_state(session, prepared.cause) or ("",))[0] != "sent":
        return None
    mine = select(OutboxMail.cause).where(again_causes(prepared.cause))
    cause = f"{prepared.cause}#{len(session.scalars(mine).all()) + 2}"
    try:
        mail = queue_mail(session, cause, prepared.kind, prepared.message, now)
        if mail is None:  # another command's, stored since it was counted
            raise IntegrityError(None, None, ValueError(cause))
        if prepared.digest.final_year is None:
            summary = f"应工作人员要求再次发送给 {mail.recipients}"
            session.merge(JobRun(job="digest", period=prepared.digest.month, done_at=now, summary=summary))
        session.commit()
    except IntegrityError as error:  # two staff asking at once: one digest more, not two
        session.rollback()
        raise InputError("另一个命令刚刚也要求再次发送这份通报，已由它排队发送，本次不重复发送") from error
    return cause


def digest_in_outbox(session: Session, month: str, now: datetime) -> str | None:
    """The scheduled digest of `month` when it is already in the outbox (any state, whatever version put it
    there): its run recorded, committed, and its state returned; None when it is not (the schedule makes it)."""
    found = mail_state(session, digest_cause(month))
    if found is None:
        return None
    _record_found(session, month, now)
    session.commit()
    return found[0]


def _record_found(session: Session, month: str, now: datetime) -> None:
    """The month's digest job recorded as done, unless it is: its mail was found in the outbox."""
    if session.get(JobRun, ("digest", month)) is None:
        session.add(JobRun(job="digest", period=month, done_at=now, summary="此前已在发送队列中，未重复生成"))


def close_year_with_final_digest(
    config: Config, session: Session, year: int, stamp: str, by: str, now: datetime
) -> ClosedYear:
    """Close the plan year (bot.services.years.close_plan_year) and queue its final ranking in the same commit:
    what closing owes is recorded with the closing, so a crash at any instant leaves both or neither, and the
    outbox sends it, once. Nothing is kept when the final ranking cannot be made (no staff list)."""
    closed = close_plan_year(config, session, year, stamp, by, now)
    queue_digest(session, prepare_final_digest(config, session, year, now), now)
    return closed
