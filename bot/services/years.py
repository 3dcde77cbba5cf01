"""Plan years: closing one (`mailroom year close 2020`) keeps its months' standings, explanations and matrix as
they are, with the plan and the derivation they came from; a closed year's months are then shown as kept
(bot.services.scores.shown_standings, shown_matrix), with a note when today's figures would differ."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.closing import close_year, closed_years
from archive.evidence import load_evidence
from archive.models import ClosedYear, Message
from archive.outbox import digest_cause, final_digest_cause, mail_state
from archive.rederive import behind, unreadable_messages
from bot.config import Config
from bot.services.scores import compute_standings, month_matrix
from parsers.errors import InputError, MailroomError
from scoring.evidence import Finding, SummaryReport
from scoring.settings import month_label, parse_month


def close_plan_year(config: Config, session: Session, year: int, stamp: str, by: str, now: datetime) -> ClosedYear:
    """Keep the year's figures as they are now, flushed, not committed: the caller commits them with the year's
    final ranking (bot.outgoing.digest_mail.close_year_with_final_digest), which closing owes. Refused for a year
    no plan covers, one already closed, one not yet ended (December's articles, a corrected 附件2 for the fourth
    quarter may still come: the last digest, sent on the 21st, is not the year's last word: the final ranking
    is), one whose last digest has not gone out (said: never sent, waiting, or refused and how to send it
    again), while a message of the year is kept as it was because its raw file cannot be read, or while messages
    wait to be derived again under `stamp` (the figures kept must be those of one configuration)."""
    plan = config.plans.year(year)
    done = closed_years(session).get(year)
    if done is not None:
        raise MailroomError(
            f"{year} 年已于 {done.closed_at.astimezone(config.timezone):%Y-%m-%d %H:%M} "
            f"由 {done.closed_by} 结账，不能重复结账"
        )
    last = plan.months[-1]
    ends = plan.calendar.month_end(last)
    if now < ends:
        raise MailroomError(
            f"{year} 年尚未结束（{ends:%Y-%m-%d %H:%M} 截止），不能结账：年底前{month_label(last)}的简报、"
            f"四季度任务完成情况和更正的报表还可能到来；请在 {ends:%Y-%m-%d} 之后再结账"
        )
    _require_sent(session, year, last)
    _require_readable(config, session, year)
    waiting = behind(session, stamp)
    if waiting:
        raise MailroomError(f"有 {waiting} 封邮件尚待按现在的配置重新识别，结账前请先运行 mailroom rederive")
    evidence = load_evidence(session)
    months = [
        (compute_standings(config, evidence, month), month_matrix(config, evidence, month, now))
        for month in plan.months
    ]
    return close_year(session, year, months, plan.fingerprint, stamp, by, now)


def _require_readable(config: Config, session: Session, year: int) -> None:
    """MailroomError while a message of the year (by the month it counts for, or the one it arrived in) is kept
    as it was derived because its raw file cannot be read (archive.rederive.unreadable_messages): its figures may
    be those of an older configuration, and no re-derivation can tell until the file is back."""
    ids = [
        message.id
        for message in unreadable_messages(session)
        if year in {int(message.month[:4]) if message.month else None, message.arrival.astimezone(config.timezone).year}
    ]
    if ids:
        named = "、".join(f"#{id_}" for id_ in ids)
        raise MailroomError(
            f"{year} 年有 {len(ids)} 封邮件（{named}）的原件在归档中缺失或无法读取，其识别结果未按现在的配置更新，"
            "不能结账：请从备份恢复这些文件，运行 mailroom verify 确认无缺失，再运行 mailroom rederive --all，然后结账"
        )


def _require_sent(session: Session, year: int, last: str) -> None:
    """MailroomError unless the year's last monthly digest has gone out, saying what to do for it to go."""
    found = mail_state(session, digest_cause(last))
    send = f"mailroom digest --month {last} --send"
    digest = f"{year} 年的最后一期月度排名通报（{last}）"
    if found is None:
        raise MailroomError(f"{digest}尚未发出，不能结账；请先发送：{send}")
    state, error = found
    if state == "failed":
        why = f"：{error}" if error else ""
        again = "" if send in (error or "") else f"；请核对配置 [smtp] staff 后用 {send} 重新发送"
        raise MailroomError(f"{digest}被对方服务器拒收，尚未发出，不能结账{why}{again}，发出后再结账")
    if state != "sent":
        why = f"（发信服务器最近错误：{error}）" if error else ""
        raise MailroomError(
            f"{digest}还在发送队列中，尚未发出，不能结账{why}；发出后再结账"
            "（mailroom status 查看待发邮件；运行中的 mailroom serve 或 mailroom poll --once 会发出）"
        )


# A closed year whose final ranking was never queued: closed by a version that did not send it.
FINAL_NEVER_SENT = "年度最终排名通报未发出（结账时的版本不发此通报）：可用 mailroom digest --year {year} --send 发出"


def never_sent_finals(session: Session) -> list[int]:
    """The closed years whose final ranking was never queued (an upgrade from a version that did not send it)."""
    return [year for year in sorted(closed_years(session)) if final_digest_state(session, year) is None]


def final_digest_state(session: Session, year: int) -> tuple[str, str | None] | None:
    """The state of the year's final ranking in the outbox and its last error; None when it was never queued (a
    year closed by a version that did not queue it)."""
    return mail_state(session, final_digest_cause(year))


def years_json(config: Config, session: Session) -> list[dict[str, Any]]:
    """Each plan year: its months, units and plan hash, and when, by whom and under which plan it was closed."""
    closed = closed_years(session)
    listed = []
    for plan in config.plans.plans:
        row = closed.get(plan.year)
        listed.append(
            {
                "year": plan.year,
                "months": [plan.months[0], plan.months[-1]],
                "units": [unit.name for unit in plan.units],
                "plan_hash": plan.fingerprint,
                "closed": None
                if row is None
                else {
                    "closed_at": row.closed_at.astimezone(config.timezone).isoformat(),
                    "closed_by": row.closed_by,
                    "plan_hash": row.plan_hash,
                    "derived_with": row.derived_with,
                    # the year's final ranking in the outbox: pending, sending, sent, failed; null: never queued
                    "final_digest": (final_digest_state(session, plan.year) or (None,))[0],
                },
            }
        )
    return listed


def closed_year_of(session: Session, when: str | date | int | None) -> ClosedYear | None:
    """The closed year a month ("2020-12"), a day or a year belongs to; None when that year is not closed."""
    if when is None:
        return None
    year = when if isinstance(when, int) else when.year if isinstance(when, date) else parse_month(when)[0]
    return closed_years(session).get(year)


def closed_note(config: Config, closed: ClosedYear, what: str) -> str:
    """What a change touching a closed year says: it is on record and counts in today's figures, but what was
    kept when the year was closed stays as it is. `what`: the change, "这次更正", "这条登记"."""
    when = closed.closed_at.astimezone(config.timezone)
    return (
        f"注意：{closed.year} 年已于 {when:%Y-%m-%d} 由 {closed.closed_by} 结账，结账时保存的排名、得分说明和报送矩阵"
        f"不会因{what}而改变；按现在的归档重新计算的不同，只在查看该年时注明"
    )


def closed_notes(config: Config, session: Session, whens: Iterable[str | date | None], what: str) -> list[str]:
    """closed_note for each closed year among `whens` (months or days), once each."""
    years = {closed.year: closed for when in whens if (closed := closed_year_of(session, when)) is not None}
    return [closed_note(config, years[year], what) for year in sorted(years)]


def refuse_closed_month(config: Config, session: Session, month: str, what: str) -> None:
    """InputError for `what` done for a month of a closed year ("催报"): nothing done now changes what was kept."""
    closed = closed_year_of(session, month)
    if closed is not None:
        when = closed.closed_at.astimezone(config.timezone)
        raise InputError(
            f"{month} 属于已结账的 {closed.year} 年（{when:%Y-%m-%d} 由 {closed.closed_by} 结账），不再为该月{what}："
            "结账时保存的排名和报送情况不会再改变"
        )


def finding_years(
    session: Session, findings: Sequence[Finding], summaries: Sequence[SummaryReport], zone: ZoneInfo
) -> list[int | None]:
    """The plan year of each finding: that of its latest message, each message's year being its report month's
    (a 附件2's as its figures count, SummaryReport.year: December's sent in January is December's year's), else
    its arrival's. A finding whose messages span two years (one person registered by one unit in 2020 and by
    another in 2021) is news of the later one. None: a finding without messages."""
    years = {report.message_id: report.year for report in summaries}
    rest = {id_ for finding in findings for id_ in finding.message_ids} - years.keys()
    if rest:
        for id_, month, arrival in session.execute(
            select(Message.id, Message.month, Message.arrival).where(Message.id.in_(rest))
        ):
            years[id_] = int(month[:4]) if month else arrival.astimezone(zone).year
    return [max((years[id_] for id_ in finding.message_ids if id_ in years), default=None) for finding in findings]
