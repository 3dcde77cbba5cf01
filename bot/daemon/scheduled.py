"""The month's scheduled jobs: reminders before the deadline, the standings digest after it.

A job is due for the current month once its day and time have come (and, for reminders, while the
deadline has not passed), until its run for the month is recorded, which happens in the commit that
queues its mail (or, for a digest already in the outbox, one an earlier version sent without recording
its run, in a commit of its own: `run_digest`). So a daemon that was down at the moment catches up when
it starts, and a job is never done twice for a month, however many instances or restarts. While mail
archived raw waits to be derived (archive/spool.py), a due job waits for it, up to SPOOL_WAIT: a reminder
must not go to a unit whose package is in the spool, nor a digest leave without it. In the daemon it waits as
well for every mailbox to be looked at since the job's time: one started after it, down over the 17th, reminded
units whose forms sat unread on the server, and its digest said them all 未报.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.closing import closed_years
from archive.models import JobRun, MailboxState
from archive.outbox import STATE_TEXT, digest_cause, mail_state
from archive.spool import spooled_counts
from bot.config import Config

SPOOL_WAIT = timedelta(hours=1)  # after this a due job goes without what is still spooled (status shows it)


@dataclass(frozen=True)
class MonthlyJob:
    job: str  # reminders | digest
    name: str  # what `mailroom status` shows
    day: int
    at: time

    def time_in(self, config: Config, month: str) -> datetime:
        start = config.plan(month).calendar.month_start(month)
        return datetime.combine(start.date().replace(day=self.day), self.at, tzinfo=config.timezone)

    def window_end(self, config: Config, month: str) -> datetime:
        """After this a missed run is no longer worth doing: a reminder after the deadline (of the month's
        plan), a digest in another month."""
        calendar = config.plan(month).calendar
        if self.job == "reminders":
            return calendar.deadline_for(month)
        return calendar.month_end(month)

    def spool_waited(self, config: Config, month: str) -> datetime:
        """Until when the job waits for spooled mail: SPOOL_WAIT, or half its window when that is shorter
        (a reminder an hour before the deadline still goes)."""
        start = self.time_in(config, month)
        return min(start + SPOOL_WAIT, start + (self.window_end(config, month) - start) / 2)


def monthly_jobs(config: Config) -> tuple[MonthlyJob, ...]:
    plan = config.schedule
    return (
        MonthlyJob("reminders", "催报提醒", plan.reminder_day, plan.reminder_time),
        MonthlyJob("digest", "月度排名通报", plan.digest_day, plan.digest_time),
    )


def due_since(config: Config, session: Session, job: MonthlyJob, now: datetime) -> datetime | None:
    """Since when the job's run for the current month is due, while it is (its time come, its window open, no
    run recorded); None otherwise, and in a month no plan covers."""
    month = config.local_month(now)
    if not config.plans.covers(month):
        return None
    start = job.time_in(config, month)
    if start <= now <= job.window_end(config, month) and session.get(JobRun, (job.job, month)) is None:
        return start
    return None


def missed(config: Config, session: Session, job: MonthlyJob, now: datetime) -> list[str]:
    """This year's months whose run of the job never happened, its window past (no daemon ran then, or the run
    failed), since the job first ran here: what nothing will do by itself any more (`status` says how to do it by
    hand). None of a closed year; a digest found in the outbox (sent by a version that recorded no run) was run."""
    runs = set(session.scalars(select(JobRun.period).where(JobRun.job == job.job)))
    year = config.local_month(now)[:4]
    if not runs or int(year) in closed_years(session):
        return []
    first = min(runs)
    return [
        month
        for month in config.plans.months()
        if month[:4] == year
        and first < month
        and month not in runs
        and job.window_end(config, month) < now
        and not (job.job == "digest" and mail_state(session, digest_cause(month)) is not None)
    ]


def due_jobs(
    config: Config, session: Session, now: datetime, since: datetime | None = None
) -> list[tuple[MonthlyJob, str]]:
    """The jobs due now, each with its month; none in a month no plan covers. A job waits while mail is spooled
    and, in a daemon begun at `since`, while a mailbox has not been looked at since the job's time (_looked);
    up to its spool wait, or SPOOL_WAIT from `since` when that is later (a daemon started after the job's time
    looks first; half the job's window left at most, as the spool wait)."""
    month = config.local_month(now)
    due = [(job, month) for job in monthly_jobs(config) if due_since(config, session, job, now) is not None]
    if not due:
        return due
    spooled = any(spooled_counts(session).get(box.key) for box in config.mailboxes)
    states = {state.mailbox: state for state in session.scalars(select(MailboxState))} if since else {}
    kept = []
    for job, month in due:
        start, waited = job.time_in(config, month), job.spool_waited(config, month)
        if since is not None:
            waited = max(waited, min(since + SPOOL_WAIT, since + (job.window_end(config, month) - since) / 2))
        unread = since is not None and not all(
            _looked(states.get(box.key), start, now, since) for box in config.mailboxes
        )
        if now >= waited or not (spooled or unread):
            kept.append((job, month))
    return kept


def _looked(state: MailboxState | None, start: datetime, now: datetime, since: datetime) -> bool:
    """Whether the mailbox's mail of `start` is archived: a look that succeeded since then, or, by this daemon,
    a watch in IDLE still current (the server tells of new mail at once)."""
    if state is None or state.last_ok_at is None:
        return False
    idle = state.watch == "idle" and state.next_poll_at is not None and state.next_poll_at >= now
    return state.last_ok_at >= start or (idle and state.last_ok_at >= since)


def no_plan_now(config: Config, now: datetime) -> str | None:
    """What `status` and `serve` say when no plan covers `now`'s month or any after it: no reminder and no digest
    will go out (a configuration of years gone by, the new year not yet written in); None otherwise."""
    month = config.local_month(now)
    if any(later >= month for later in config.plans.months()):
        return None
    return (
        f"本月（{month}）及以后的月份不在任何年度计划内（{config.plans.covered()}）：不会再发出催报提醒和月度排名通报；"
        "新的年度请在配置中写入（general.years 与该年的目标，见 README 的“A new year”）"
    )


def next_time(config: Config, job: MonthlyJob, now: datetime) -> datetime | None:
    """The job's next scheduled time in a month a plan covers, from `now` on."""
    for month in config.plans.months():
        when = job.time_in(config, month)
        if when >= now:
            return when
    return None


def run_digest(config: Config, session: Session, month: str, now: datetime) -> str:
    """The digest job of `month`: queued with its run; or, when the month's digest is already in the outbox
    (sent or waiting, whatever version put it there), its run recorded without making it again. What the log
    says: "已排队", or that it was already there."""
    # here, not at the top: `status` reads the schedule and needs none of the digest's makings (openpyxl)
    from bot.outgoing.digest_mail import ALREADY, digest_in_outbox, prepare_digest, queue_digest

    found = digest_in_outbox(session, month, now)
    if found is None and queue_digest(session, prepare_digest(config, session, month, now), now) != ALREADY:
        return "已排队"
    state = STATE_TEXT.get(found or "", "刚由另一处排队")
    return f"已在发件队列中（{state}）：不再重复生成，记为已完成"
