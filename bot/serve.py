"""`mailroom serve`: the daemon. APScheduler runs the same one-pass functions the commands run."""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Config
from bot.deps import Deps
from bot.digest import prepare_digest, queue_digest
from bot.poll import poll_once, send_outbox
from bot.reminders import queue_reminders

log = logging.getLogger(__name__)
OUTBOX_MINUTES = 1


@dataclass(frozen=True)
class Job:
    id: str
    name: str  # what `mailroom status` shows
    trigger: BaseTrigger
    run: Callable[[], None]


def jobs(config: Config, deps: Deps) -> list[Job]:
    zone, plan = config.timezone, config.schedule
    return [
        Job("poll", f"收信（每 {plan.poll_minutes} 分钟）", IntervalTrigger(minutes=plan.poll_minutes, timezone=zone),
            lambda: _poll(config, deps)),
        Job("outbox", f"发信重试（每 {OUTBOX_MINUTES} 分钟）", IntervalTrigger(minutes=OUTBOX_MINUTES, timezone=zone),
            lambda: _flush(config, deps)),
        Job("digest", f"月度排名通报（每月 {plan.digest_day} 日 {plan.digest_time:%H:%M}）",
            CronTrigger(day=plan.digest_day, hour=plan.digest_time.hour, minute=plan.digest_time.minute,
                        timezone=zone),
            lambda: _digest(config, deps)),
        Job("reminders", f"催报提醒（每月 {plan.reminder_day} 日 {plan.reminder_time:%H:%M}）",
            CronTrigger(day=plan.reminder_day, hour=plan.reminder_time.hour, minute=plan.reminder_time.minute,
                        timezone=zone),
            lambda: _remind(config, deps)),
    ]


def _poll(config: Config, deps: Deps) -> None:
    report = poll_once(config, deps)
    new = sum(box.new for box in report.mailboxes)
    log.info("poll: %d new message(s), %d receipt(s) queued, %d sent", new, report.receipts,
             report.outbox.sent if report.outbox else 0)
    for box in report.errors:
        log.error("poll %s failed: %s", box.mailbox, box.error)


def _flush(config: Config, deps: Deps) -> None:
    report = send_outbox(config, deps, deps.clock())
    if report.sent or report.failed:
        log.info("outbox: %d sent, %d failed", report.sent, report.failed)


def _remind(config: Config, deps: Deps) -> None:
    now = deps.clock()
    month = config.calendar.month_of(now)
    with deps.db.session() as session:
        units = queue_reminders(config, session, month, now)
    log.info("reminders for %s: %s", month, "、".join(units) or "none needed")
    _flush(config, deps)


def _digest(config: Config, deps: Deps) -> None:
    now = deps.clock()
    month = config.calendar.month_of(now)
    with deps.db.session() as session:
        queued = queue_digest(session, prepare_digest(config, session, month, now), now)
    log.info("digest for %s: %s", month, "queued" if queued else "already sent")
    _flush(config, deps)


def schedule(scheduler: BaseScheduler, config: Config, deps: Deps) -> None:
    for job in jobs(config, deps):
        # One run at a time per job; a run missed while the machine slept runs once, not many times.
        scheduler.add_job(job.run, job.trigger, id=job.id, name=job.name, max_instances=1, coalesce=True,
                          misfire_grace_time=3600)
    scheduler.modify_job("poll", next_run_time=datetime.now(timezone.utc))


def serve(config: Config, deps: Deps) -> None:
    """Run until SIGTERM or Ctrl-C; a stop lets the batch in hand finish and be committed."""
    scheduler = BlockingScheduler(timezone=config.timezone)
    schedule(scheduler, config, deps)

    def stop(signum, _frame) -> None:
        log.info("received %s: finishing the work in hand, then stopping", signal.Signals(signum).name)
        deps.stop.set()
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("mailroom serving %d mailbox(es)", len(config.mailboxes))
    scheduler.start()
    log.info("stopped")


def next_runs(config: Config, deps: Deps, now: datetime) -> list[tuple[str, datetime | None]]:
    """When each job runs next, for `mailroom status`."""
    return [(job.name, job.trigger.get_next_fire_time(None, now)) for job in jobs(config, deps)]
