"""The archive as scoring evidence: form arrivals, 附件2 figures, briefing articles and staff entries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, case, or_, select
from sqlalchemy.orm import Session

from archive.models import ArticleRow, Attachment, FormReadingRow, Message, StaffEntryRow
from parsers.articles import body_article_key, is_article
from parsers.recognize import forwarded_article
from parsers.records import Kind, counted_month
from scoring.briefings import article_places, briefing_counts
from scoring.evidence import Article, FormArrival, StaffEntry, StaffKind, SummaryReport
from scoring.settings import Calendar

# Kinds whose forms never count: machine mail is not a submission, nor a clerk's 自查 (it asks what the files
# say, it does not send them), nor mail staff corrected to "other" (recognition itself never makes a message
# with a workbook other: it is then a report).
NOT_SUBMISSIONS = ("auto", "bounce", "selfcheck", "other")
# The kinds whose forms are no package: those, and a briefing, which counts by its articles (a report staff
# corrected to a briefing counted twice: its package, and its Word file as an article).
NOT_PACKAGES = (*NOT_SUBMISSIONS, "briefing")

# The kinds that count as a submission whatever they carry: a package whose files could not be read is still
# the package its receipt speaks of. A receipt and a 核实通知 say a reply carrying a package is the report it
# is (replies.receipt.receipt_for), and word what counts by these (bot.outgoing.receipts).
COUNTED_KINDS = (Kind.REPORT.value, Kind.BRIEFING.value)


def submission(kind: str, forms: bool) -> bool:
    """Whether mail of this kind, carrying forms or not, counts (its sender registered for its unit): the one rule
    for what a sender is told and what scoring reads (a form counts unless its message's kind is one of
    NOT_SUBMISSIONS). A report or a briefing counts (a briefing by its articles: its forms are no package,
    NOT_PACKAGES); any other kind evidence does not leave out counts by the forms it carries: a reply, sent by
    pressing 回复 on the notice or on our receipt."""
    return kind in COUNTED_KINDS or (forms and kind not in NOT_SUBMISSIONS)


@dataclass(frozen=True)
class Evidence:
    arrivals: tuple[FormArrival, ...]
    summaries: tuple[SummaryReport, ...]
    articles: tuple[Article, ...]
    entries: tuple[StaffEntry, ...]


def load_evidence(session: Session) -> Evidence:
    arrivals, summaries = _forms(session)
    return Evidence(arrivals, summaries, _articles(session), _entries(session))


def locked(problems: Iterable[Mapping[str, Any]]) -> bool:
    """Whether a password keeps the form shut (a 附件1 so counts not: FormArrival.locked), by its stored problems."""
    return any(problem.get("code") == "encrypted" for problem in problems)


def summary_reports(session: Session, unit: str | None = None) -> tuple[SummaryReport, ...]:
    """The 附件2 figures alone (what the honesty findings read), without the rest of the archive; one unit's when
    given."""
    return _forms(session, FormReadingRow.form == 2, *([Message.unit == unit] if unit else []))[1]


def package_arrivals(session: Session, unit: str, month: str) -> tuple[FormArrival, ...]:
    """The form arrivals of one unit's package for one month: what a receipt's package status needs,
    read without the rest of the archive."""
    arrivals, _ = _forms(session, Message.unit == unit, or_(Message.month == month, FormReadingRow.month == month))
    return tuple(arrival for arrival in arrivals if arrival.month == month)


def briefing_count(session: Session, unit: str, month: str, calendar: Calendar) -> int:
    """How many articles count for `unit` in the local month `month`."""
    return briefing_counts(_month_articles(session, month, calendar), calendar).get((unit, month), (0, ()))[0]


def briefing_place(session: Session, message_id: int, month: str, calendar: Calendar) -> tuple[int, int] | None:
    """The places (first, last; from 1) of a message's articles among its unit's counted articles of the
    local month `month`, by arrival; None when none of them counts (a resend, an unregistered sender)."""
    return article_places(_month_articles(session, month, calendar), calendar).get(message_id)


def carries_articles(session: Session, message_id: int) -> bool:
    """Whether a briefing's mail holds any article (article_keys found one)."""
    found = select(ArticleRow.id).where(ArticleRow.message_id == message_id).limit(1)
    return session.scalar(found) is not None


def copied_from_another_unit(session: Session, message_id: int) -> bool:
    """Whether an article of the message came first in another unit's counting mail (a copy of another
    county's article: it counts for that unit only). Units by the name their mail was filed under: a unit renamed
    between years is another unit here (its article sent in both years counted in the first anyway)."""
    mine = session.get(Message, message_id)
    if mine is None:
        return False
    keys = select(ArticleRow.key).where(ArticleRow.message_id == message_id)
    first: dict[str, str | None] = {}
    for key, unit in session.execute(
        select(ArticleRow.key, Message.unit)
        .join(Message, ArticleRow.message_id == Message.id)
        .where(*_COUNTING, ArticleRow.key.in_(keys))
        .order_by(Message.arrival, Message.id)
    ):
        first.setdefault(key, unit)
    return any(unit != mine.unit for unit in first.values())


def _month_articles(session: Session, month: str, calendar: Calendar) -> list[Article]:
    """The month's articles of every unit, less those whose key counted before the month began (a key
    counts once, for its first arrival)."""
    start, end = calendar.month_start(month), calendar.month_end(month)
    articles = _articles(session, Message.arrival >= start, Message.arrival <= end)
    counted_before = set(
        session.scalars(
            select(ArticleRow.key)
            .join(Message, ArticleRow.message_id == Message.id)
            .where(*_COUNTING, Message.arrival < start, ArticleRow.key.in_({article.key for article in articles}))
        )
    )
    return [article for article in articles if article.key not in counted_before]


def _forms(session: Session, *where: ColumnElement[bool]) -> tuple[tuple[FormArrival, ...], tuple[SummaryReport, ...]]:
    rows = session.execute(
        select(
            FormReadingRow.form,
            FormReadingRow.readable,
            FormReadingRow.month,
            FormReadingRow.tasks,
            Message.id,
            Message.unit,
            Message.arrival,
            Message.registered,
            Message.month,
            Message.month_source,
            # a 附件1 not read: its problems, which say whether a password keeps it shut (few rows, short lists)
            case((and_(FormReadingRow.form == 1, FormReadingRow.readable.is_(False)), FormReadingRow.problems)),
        )
        .join(Message, FormReadingRow.message_id == Message.id)
        .where(FormReadingRow.form.is_not(None), Message.unit.is_not(None), Message.kind.not_in(NOT_PACKAGES), *where)
        .order_by(Message.arrival, Message.id, FormReadingRow.id)
    )
    arrivals, summaries = [], []
    for form, readable, stated, tasks, message_id, unit, arrival, registered, month, month_source, shut in rows:
        month = counted_month(month, month_source, stated)
        if month is None:
            continue
        arrivals.append(FormArrival(unit, month, form, arrival, message_id, registered, readable, locked(shut or ())))
        if form == 2 and readable and registered and tasks:  # no figures: no row of the unit found (another's 附件2)
            done = {task: figures.get("done") for task, figures in tasks.items()}
            unread = frozenset(task for task, figures in tasks.items() if figures.get("done_unread"))
            summaries.append(SummaryReport(unit, arrival, message_id, month, done, unread))
    return tuple(arrivals), tuple(summaries)


# The briefings whose articles are evidence, and those of them that count (Article.counts): a registered
# unit's sender's.
_BRIEFINGS = (Message.kind == "briefing", Message.unit.is_not(None))
_COUNTING = (*_BRIEFINGS, Message.registered)


def _articles(session: Session, *where: ColumnElement[bool]) -> tuple[Article, ...]:
    rows = session.execute(
        select(Message.unit, Message.arrival, Message.id, ArticleRow.key, Message.registered)
        .join(Message, ArticleRow.message_id == Message.id)
        .where(*_BRIEFINGS, *where)
        .order_by(Message.arrival, Message.id, ArticleRow.id)
    )
    return tuple(
        # _BRIEFINGS keeps only messages with a unit
        Article(cast(str, unit), arrival, message_id, key, registered, is_reply=False, is_auto=False)
        for unit, arrival, message_id, key, registered in rows
    )


def article_keys(
    subject: str, body: str, attachments: Iterable[Attachment], by_text: Mapping[int, str] | None = None
) -> list[str]:
    """The articles a briefing message carries, by key: each article file (SPEC: .doc, .docx, .wps, .pdf, .txt)
    by its text when it was read (`by_text`, by the attachment's position: parsers.articles), else by its
    bytes; without one, the article written in the body, if it holds one (none: a briefing's mail that counts
    nothing, its receipt saying the article is missing)."""
    keys: list[str] = []
    for attachment in attachments:
        key = (by_text or {}).get(attachment.ordinal) or attachment.sha256
        if is_article(attachment.filename, attachment.sniffed_type) and key not in keys:
            keys.append(key)
    if keys:
        return keys
    in_body = article_key(subject, body)
    return [in_body] if in_body is not None else []


def article_key(subject: str, body: str) -> str | None:
    """An article sent in the body, keyed by its text as an article file is: the same text sent twice (with other
    spacing, pasted after it was attached, or forwarded, inline or attached, by the unit or by staff: a forward is
    keyed on the forwarded message's own text, parsers.recognize.forwarded_article, not on the forwarder's comment
    and the quoted headers) is one article. None when the text holds no article (parsers.articles.body_article_key)."""
    return body_article_key(forwarded_article(subject, body)[1])


def _entries(session: Session) -> tuple[StaffEntry, ...]:
    return tuple(
        StaffEntry(
            row.id,
            row.unit,
            cast(StaffKind, row.kind),  # the CLI and the web form take media or innovation only
            row.level,
            row.date,
            row.evidence,
            revoked=row.revoked_at is not None,
        )
        for row in session.scalars(select(StaffEntryRow).order_by(StaffEntryRow.id))
    )
