"""`mailroom status`: whether a daemon runs now, and what it recorded — each mailbox's last poll, how it waits
and when it looks next, its last error — the receipts owed and the outbox behind them, the month's jobs.

Whether a daemon runs is not read from its records (a killed or stopped daemon leaves them as they were):
every running `mailroom serve` holds a shared lock for its whole life (`serving`), which `status` tests
without taking it from anyone (`daemon_running`): on PostgreSQL by reading pg_locks, on the embedded default
by trying the lock file for an instant, non-blocking (a `serve` starting in that instant waits for it). On
PostgreSQL the lock ends with its session: a running daemon makes sure now and then that it holds it still,
and takes it again after a restart of the server (bot/daemon/serve.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.attempts import given_up
from archive.locks import held, shared
from archive.models import JobRun, MailboxState, Message
from archive.outbox import KIND_TEXT, backlog, digest_cause, newest_state
from archive.owed import owed_waiting
from archive.rederive import LOCK, behind
from archive.spool import spooled_counts
from archive.state import all_states
from bot.config import Config
from bot.daemon.deps import Deps
from bot.daemon.scheduled import due_since, missed, monthly_jobs, next_time, no_plan_now
from bot.services.years import FINAL_NEVER_SENT, never_sent_finals

WATCH_TEXT = {"idle": "IDLE 等待新邮件", "poll": "定时轮询", "retry": "出错后等待重试", None: "未由守护进程监视"}
PRESENCE = "daemon"  # the lock every running `mailroom serve` holds, shared, for its whole life


@dataclass(frozen=True)
class Presence:
    """What `serving` yields: whether another instance was running already, and `keep`, which the daemon
    calls now and then: True when the lock had been lost with its database session (PostgreSQL restarted)
    and was taken again; SQLAlchemyError while the database is away."""

    others: bool
    keep: Callable[[], bool]


@contextmanager
def serving(deps: Deps) -> Iterator[Presence]:
    """Held by `mailroom serve` while it runs, shared with any other instance (several may run against one
    PostgreSQL database)."""
    others = daemon_running(deps)
    with shared(deps.db, deps.store.root / "locks", PRESENCE) as lock:
        yield Presence(others, lock.keep)


def daemon_running(deps: Deps) -> bool:
    """Whether a `mailroom serve` runs now against this archive (on PostgreSQL: on any machine)."""
    return held(deps.db, deps.store.root / "locks", PRESENCE)


def gather_status(config: Config, deps: Deps) -> dict[str, Any]:
    zone = config.timezone

    def local(instant: datetime | None) -> str | None:
        return instant.astimezone(zone).isoformat(timespec="seconds") if instant else None

    running = daemon_running(deps)
    states = {state.mailbox: state for state in all_states(deps.db)}
    recorded = [state.last_poll_at for state in states.values() if state.last_poll_at]
    with deps.db.session() as session:
        spooled = spooled_counts(session)
    configured = {box.key for box in config.mailboxes}
    mailboxes = []
    for box in config.mailboxes:
        state = states.get(box.key)
        worked = running and _worked(deps, box.key, state)
        mailboxes.append(
            {
                "mailbox": box.key,
                "name": box.name,
                "watch": state.watch if state and worked else None,
                "last_poll": local(state.last_poll_at if state else None),
                "last_ok": local(state.last_ok_at if state else None),
                "next_poll": local(state.next_poll_at if state and worked else None),
                "last_error": state and state.last_error,
                "spooled": spooled.get(box.key, 0),
                "last_error_at": local(state.last_error_at if state else None),
                "failing": bool(
                    state and state.last_error_at and (not state.last_ok_at or state.last_error_at > state.last_ok_at)
                ),
            }
        )
    with deps.exclusive(LOCK) as free:
        rederiving = not free
    due = due_for_rederive(deps)
    decided = decided_due(deps) if due else 0
    with deps.db.session() as session:
        owed, owed_since = owed_waiting(session)
        set_aside = given_up(session)
        finals = never_sent_finals(session)
        waiting = backlog(session, deps.clock())
        jobs = []
        for job in monthly_jobs(config):
            last = session.scalars(
                select(JobRun).where(JobRun.job == job.job).order_by(JobRun.done_at.desc()).limit(1)
            ).first()
            jobs.append(
                {
                    "job": job.job,
                    "name": job.name,
                    "next_run": local(next_time(config, job, deps.clock())),
                    # due and not yet run (a daemon that was down): `serve` runs it as soon as it starts
                    "due_since": local(due_since(config, session, job, deps.clock())),
                    # months it never ran, their window past: nothing will do them by itself any more
                    "missed": missed(config, session, job, deps.clock()),
                    "last_period": last and last.period,
                    "last_run": local(last.done_at if last else None),
                    "last_summary": last and last.summary,
                    # the digest's mail as the outbox holds it now (sent, waiting, refused), not as the run left it
                    "mail_state": _digest_state(session, job.job, last.period if last else None),
                }
            )
    return {
        "daemon_running": running,
        "last_recorded": local(max(recorded, default=None)),
        "mailboxes": mailboxes,
        "receipts_owed": owed,
        "receipts_owed_since": local(owed_since),
        "outbox_backlog": waiting.count,
        "outbox_oldest": local(waiting.oldest),
        # of those, held for a later hour by receipts_per_hour (never tried yet): waiting by design
        "outbox_held": waiting.held,
        "outbox_held_until": local(waiting.held_until),
        "smtp_last_error": waiting.last_error,
        "smtp_last_error_at": local(waiting.last_error_at),
        # a mail sent since that error: the server works again (the mail that failed waits its turn)
        "smtp_sent_since": local(waiting.last_sent_at)
        if waiting.last_sent_at and waiting.last_error_at and waiting.last_sent_at > waiting.last_error_at
        else None,
        # mail the receiving side refused for good (5xx), never tried again: how many, the newest with why
        "outbox_refused": waiting.refused_count,
        "outbox_refused_mail": [
            {
                "id": mail.id,
                "kind": mail.kind,
                "recipients": mail.recipients,
                "subject": mail.subject,
                "error": mail.error,
                "at": local(mail.at),
            }
            for mail in waiting.refused
        ],
        # "folder": mail is only written there, never sent ([smtp] transport, for demos and tests)
        "transport": config.outgoing.transport,
        "outbox_folder": str(config.outgoing.folder) if config.outgoing.transport == "folder" else None,
        "jobs": jobs,
        # no plan covers this month or any after it: the jobs will never run (scheduled.no_plan_now)
        "no_plan": no_plan_now(config, deps.clock()),
        # mail archived for a mailbox no longer configured: derived by `poll --once` and at `serve`'s start
        "spooled_elsewhere": {str(key): count for key, count in spooled.items() if key not in configured},
        "rederive_due": due,
        # of those, the ones a staff decision marked due (a correction, its revocation, a sender confirmed or not)
        "rederive_due_decided": decided,
        "rederive_running": rederiving,
        # stored raw, unread and unanswered: deriving each by itself, the process died twice (archive.attempts)
        "given_up": set_aside,
        # closed years whose final ranking was never queued (closed by a version that did not send it)
        "final_never_sent": finals,
    }


def _digest_state(session: Session, job: str, month: str | None) -> str | None:
    """The state of the month's newest digest mail: one sent again on staff's asking (`digest:M#2`) after it."""
    return newest_state(session, digest_cause(month)) if job == "digest" and month is not None else None


def due_for_rederive(deps: Deps) -> int:
    """How many messages were derived under another configuration or code version than this one's."""
    with deps.db.session() as session:
        return behind(session, deps.recognizer.stamp)


def decided_due(deps: Deps) -> int:
    """How many messages a staff decision marked due for derivation (archive.corrections.mark_due: derived
    with no stamp; else only mail archived before derivation was stamped, migration 0014, and never derived
    since). One count more, asked only when some are due."""
    with deps.db.session() as session:
        return session.scalar(select(func.count()).select_from(Message).where(Message.derived_with.is_(None))) or 0


# The staff decisions that mark messages due (archive.corrections.mark_due), in the words staff know them by.
DECISIONS = "工作人员的决定（更正、发件人确认或其撤销）"


def behind_line(due: int, doing: str, decided: int | None = None) -> str:
    """The one line that says the archive is behind what derives it now, why, and what is done about it: of
    `due`, `decided` were marked due by a staff decision (decided_due), the others derived under another
    configuration or code version (a new version, a migration that changed parsing, a changed configuration).
    `decided` None: not counted, and the line names every cause."""
    if decided is None:
        return f"有 {due} 封邮件等待重新识别（配置、程序版本或工作人员的决定有变化）：{doing}"
    if decided == 0:
        return f"有 {due} 封邮件的识别结果来自旧的配置或程序版本：{doing}"
    if decided >= due:
        return f"有 {due} 封邮件的识别结果尚未按{DECISIONS}更新：{doing}"
    return (
        f"有 {due} 封邮件的识别结果尚待更新（{decided} 封尚未按工作人员的决定更新，"
        f"{due - decided} 封来自旧的配置或程序版本）：{doing}"
    )


# How long after its recorded next look a polling worker that has not looked again is taken for gone.
OVERDUE = timedelta(seconds=60)


def _worked(deps: Deps, key: str, state: MailboxState | None) -> bool:
    """Whether a worker of a running daemon works the mailbox now, so that how it waits and when it looks next
    are shown: one in IDLE holds the mailbox's lock throughout; one waiting to poll or to retry lets it go
    between looks, and is taken for gone once its next look is OVERDUE. A killed instance's plans are not shown
    (a stand-by instance takes the mailbox over within poll_minutes)."""
    if state is None:
        return False
    if held(deps.db, deps.store.root / "locks", f"mailbox-{key}"):
        return True
    next_look = state.next_poll_at if state.watch in ("poll", "retry") else None
    return next_look is not None and next_look + OVERDUE >= deps.clock()


def describe_status(data: dict[str, Any]) -> list[str]:
    if data["daemon_running"]:
        lines = ["守护进程正在运行"]
    else:
        seen = f"最后记录于 {data['last_recorded']}" if data["last_recorded"] else "尚无收信记录"
        lines = [f"守护进程未运行（{seen}）：不收取新邮件，回执、提醒和汇总不会自动发出，请启动 mailroom serve"]
    for box in data["mailboxes"]:
        line = (
            f"{box['mailbox']}（{box['name']}）：{WATCH_TEXT.get(box['watch'], box['watch'])}；"
            f"上次收信 {box['last_poll'] or '从未'}，上次成功 {box['last_ok'] or '从未'}"
        )
        if box["next_poll"]:
            line += f"，下次 {box['next_poll']}"
        if box["spooled"]:
            line += f"；已归档原件、待识别 {box['spooled']} 封"
        if box["last_error"]:
            line += f"；{'当前错误' if box['failing'] else '最近错误'}（{box['last_error_at']}）：{box['last_error']}"
        lines.append(line)
    for key, count in data["spooled_elsewhere"].items():
        lines.append(f"{key}（已不在配置中）：已归档原件、待识别 {count} 封，mailroom poll --once 或 serve 启动时识别")
    owed = data["receipts_owed"]
    lines.append(f"待生成回执：{owed} 封" + (f"（最早 {data['receipts_owed_since']}）" if owed else ""))
    line = f"待发邮件：{data['outbox_backlog']} 封"
    if data["outbox_backlog"]:
        line += f"（最早 {data['outbox_oldest']} 起等待）"
    if data["outbox_held"]:
        line += (
            f"，其中 {data['outbox_held']} 封按 [smtp] receipts_per_hour 的限制排在之后的时段发出"
            f"（最晚 {data['outbox_held_until']}）"
        )
    if data["smtp_last_error"]:
        line += f"；发信服务器最近错误（{data['smtp_last_error_at']}）：{data['smtp_last_error']}"
        if data["smtp_sent_since"]:
            line += f"（此后已恢复：{data['smtp_sent_since']} 成功发出邮件）"
    lines.append(line)
    if data["outbox_refused"]:
        shown = data["outbox_refused_mail"]
        lines.append(
            f"被对方服务器拒收、不再重试的邮件：{data['outbox_refused']} 封"
            + (f"（以下是最近的 {len(shown)} 封）" if len(shown) < data["outbox_refused"] else "")
        )
        lines.extend(
            f"  {mail['at']} #{mail['id']} {KIND_TEXT.get(mail['kind'], mail['kind'])} {mail['error']}"
            for mail in shown
        )
    if data["transport"] == "folder":
        lines.append(
            f'发信方式：只写入文件夹 {data["outbox_folder"]}，不会发出（[smtp] transport = "folder"，用于演示和测试）；'
            '要真正发出，请改为 transport = "smtp" 并填写 [smtp] host、sender'
        )
    if data["rederive_due"]:
        lines.append(
            behind_line(
                data["rederive_due"],
                "mailroom serve 正在后台重新识别"
                if data["rederive_running"]
                else "请运行 mailroom rederive（mailroom serve 启动时也会在后台重新识别）",
                data.get("rederive_due_decided"),
            )
        )
    if data["given_up"]:
        lines.append(
            f"有 {data['given_up']} 封邮件只保存了原件，未识别，也未回执（识别它时程序两次异常终止；可能是连续两次"
            "被强行停止，见“待处理”）：确认程序运行正常后运行 mailroom rederive --all 再识别一次，需要时会补发回执"
        )
    lines.extend(f"{year} 年度已结账；{FINAL_NEVER_SENT.format(year=year)}" for year in data["final_never_sent"])
    if data["no_plan"]:
        lines.append(data["no_plan"])
    for job in data["jobs"]:
        done = f"上次 {job['last_period']}，{job['last_run']}：{job['last_summary']}" if job["last_run"] else "尚未运行"
        if job.get("mail_state"):
            done += f"（该月通报{MAIL_STATE_TEXT.get(job['mail_state'], job['mail_state'])}）"
        if job["due_since"]:
            when = "运行中的 mailroom serve 会立即执行" if data["daemon_running"] else "启动 mailroom serve 后立即执行"
            lines.append(f"{job['name']}：本月的已于 {job['due_since']} 到期，尚未执行（{when}）；{done}")
        else:
            when = f"下次 {job['next_run']}" if job["next_run"] else "年度计划内已无下次"
            lines.append(f"{job['name']}：{when}；{done}")
        if job["missed"]:
            months = "、".join(job["missed"])
            lines.append(f"{job['name']}：{months} 的未执行，{MISSED[job['job']]}")
    return lines


# Where a month's digest stands in the outbox now, as `status` says it after the job's run.
MAIL_STATE_TEXT = {
    "pending": "在发送队列中等待发出",
    "sending": "正在发送",
    "sent": "已发出",
    "failed": "被对方服务器拒收，见 mailroom queue（待处理）",
}


# What to do by hand for a month whose job never ran.
MISSED = {
    "digest": "可用 mailroom digest --month 月份 --send 补发",
    "reminders": "截止时间已过；仍缺附件的单位可用 mailroom remind --month 月份 --after-deadline 催报",
}
