"""The archive as scoring evidence: form arrivals, 附件2 figures, briefing articles and staff entries."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import Attachment, FormReadingRow, Message, StaffEntryRow
from parsers.recognize import strip_prefixes
from scoring.evidence import Article, FormArrival, StaffEntry, SummaryReport

# Kinds whose forms never count: machine mail is not a submission.
MACHINE = ("auto", "bounce")
# What an article file is (SPEC: .doc/.docx/.wps/.pdf/.txt), by sniffed type or by name.
ARTICLE_TYPES = ("doc", "docx", "wps", "pdf", "text")
ARTICLE_SUFFIXES = (".doc", ".docx", ".wps", ".pdf", ".txt")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Evidence:
    arrivals: tuple[FormArrival, ...]
    summaries: tuple[SummaryReport, ...]
    articles: tuple[Article, ...]
    entries: tuple[StaffEntry, ...]


def load_evidence(session: Session) -> Evidence:
    arrivals, summaries = _forms(session)
    return Evidence(arrivals, summaries, _articles(session), _entries(session))


def _forms(session: Session) -> tuple[tuple[FormArrival, ...], tuple[SummaryReport, ...]]:
    rows = session.execute(
        select(FormReadingRow.form, FormReadingRow.readable, FormReadingRow.month, FormReadingRow.tasks,
               Message.id, Message.unit, Message.arrival, Message.registered, Message.month,
               Message.month_source)
        .join(Message, FormReadingRow.message_id == Message.id)
        .where(FormReadingRow.form.is_not(None), Message.unit.is_not(None), Message.kind.not_in(MACHINE))
        .order_by(Message.arrival, Message.id))
    arrivals, summaries = [], []
    for form, readable, stated, tasks, message_id, unit, arrival, registered, month, month_source in rows:
        month = report_month(month, month_source, stated)
        if month is None:
            continue
        arrivals.append(FormArrival(unit, month, form, arrival, message_id, registered, readable))
        if form == 2 and readable and registered:
            done = {task: figures.get("done") for task, figures in tasks.items()}
            summaries.append(SummaryReport(unit, arrival, message_id, month, done))
    return tuple(arrivals), tuple(summaries)


def report_month(message_month: str | None, month_source: str, stated: str | None) -> str | None:
    """A subject's month rules the whole package; else the workbook's own title; else the arrival month."""
    if month_source == "subject" or not stated:
        return message_month
    return stated


def _articles(session: Session) -> tuple[Article, ...]:
    messages = session.scalars(
        select(Message).where(Message.kind == "briefing", Message.unit.is_not(None))
        .order_by(Message.arrival, Message.id)).all()
    files = _article_files(session, [message.id for message in messages])
    articles = []
    for message in messages:
        keys = files.get(message.id) or [article_key(message.subject, message.body_text)]
        articles.extend(Article(message.unit, message.arrival, message.id, key, message.registered,
                                is_reply=False, is_auto=False) for key in keys)
    return tuple(articles)


def _article_files(session: Session, message_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for message_id, sha, sniffed, name in session.execute(
            select(Attachment.message_id, Attachment.sha256, Attachment.sniffed_type, Attachment.filename)
            .where(Attachment.message_id.in_(message_ids)).order_by(Attachment.ordinal)):
        if sniffed in ARTICLE_TYPES or name.lower().endswith(ARTICLE_SUFFIXES):
            keys = found.setdefault(message_id, [])
            if sha not in keys:
                keys.append(sha)
    return found


def article_key(subject: str, body: str) -> str:
    """An article sent in the body: the same subject and text sent twice (forwarded, or with other
    spacing) is one article."""
    text = strip_prefixes(subject)[0] + "\n" + _SPACE.sub("", body)
    return "body:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _entries(session: Session) -> tuple[StaffEntry, ...]:
    return tuple(StaffEntry(row.id, row.unit, row.kind, row.level, row.date, row.evidence,
                            revoked=row.revoked_at is not None)
                 for row in session.scalars(select(StaffEntryRow).order_by(StaffEntryRow.id)))
