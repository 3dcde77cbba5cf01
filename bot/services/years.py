"""Plan years: closing one (`mailroom year close 2020`) keeps its months' standings, explanations and matrix as
they are, with the plan and the derivation they came from; a closed year's months are then shown as kept
(bot.services.scores.shown_standings, shown_matrix), with a note when today's figures would differ."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.closing import close_year, closed_years
from archive.evidence import load_evidence
from archive.models import ClosedYear, OutboxMail
from archive.outbox import digest_cause
from archive.rederive import behind
from bot.config import Config
from bot.services.scores import compute_standings, month_matrix
from parsers.errors import MailroomError
from scoring.settings import month_label


def close_plan_year(config: Config, session: Session, year: int, stamp: str, by: str, now: datetime) -> ClosedYear:
    """Keep the year's figures as they are now. Refused for a year no plan covers, one already closed, one not
    yet ended (December's articles, a corrected 附件2 for the fourth quarter may still come: the last digest,
    sent on the 21st, is not the year's last word), one whose last digest has not gone out, or while messages
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
    sent = session.scalar(select(OutboxMail.state).where(OutboxMail.cause == digest_cause(last)))
    if sent != "sent":
        raise MailroomError(
            f"{year} 年的最后一期月报（{last}）尚未发出，不能结账；请先发送：mailroom digest --month {last} --send"
        )
    waiting = behind(session, stamp)
    if waiting:
        raise MailroomError(f"有 {waiting} 封邮件尚待按现在的配置重新识别，结账前请先运行 mailroom rederive")
    evidence = load_evidence(session)
    months = [
        (compute_standings(config, evidence, month), month_matrix(config, evidence, month, now))
        for month in plan.months
    ]
    return close_year(session, year, months, plan.fingerprint, stamp, by, now)


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
                },
            }
        )
    return listed
