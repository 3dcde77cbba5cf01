"""`mailroom serve`: the daemon. One worker per mailbox and one sender, each a thread, all stopping
within seconds of SIGTERM.

- A mailbox worker holds its mailbox (one instance at a time), archives what is new (raw first, then
  derived: archive/spool.py), then waits: in IMAP
  IDLE when the server offers it (new mail is fetched the moment the server announces it; IDLE is asked
  again every IDLE_RENEW, with a full look each time), else until the next poll. Maildir folders are
  looked at every few seconds (listing new/ costs nothing), the mailbox held between looks. After an error
  it records it, waits and tries again; a worker that finds its mailbox held by another instance stands by,
  saying so. A clean stop clears how it waited and when it meant to look next, so `status` shows no plan
  nobody will carry out. At work on its mailbox it makes sure, at each look (between batches, each second of
  IDLE) but at most every HOLD_SECONDS, that it holds the mailbox still: on PostgreSQL the lock ends with its
  session (a restart of the server), and a stand-by instance may then take it; the worker takes it again if
  nobody did, else stops (leaving IDLE, logging out) and stands by itself.
- The sender composes the receipts owed (recorded when each message was stored), runs the month's
  reminders and digest when due (bot/daemon/scheduled.py) and sends the outbox. A worker that stored new mail
  wakes it, so a receipt leaves seconds after its message arrives. It checks the stop flag between mails.
- At start, in the background: mail spooled for a mailbox no longer configured is derived, then messages
  derived under another configuration or code version (a new release, a migration that changed parsing)
  are derived again, by the path `mailroom rederive` takes, a small batch per transaction, so a mailbox
  worker's write waits at most for one batch's; a stop leaves the rest due.

While it runs, the daemon holds a lock shared by every instance (bot/daemon/status.py, `serving`): that,
not its records, is how `mailroom status` tells whether a daemon runs. On PostgreSQL a restart of the server
ends the session that holds it: the main thread looks every PRESENCE_SECONDS and takes it again.

Nothing here holds work only in memory: a kill at any moment leaves every owed reply in the database.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import load_only

from archive.locks import Lock
from archive.models import MailboxState, Message
from archive.outbox import next_due
from archive.rederive import LOCK as REDERIVE_LOCK
from archive.rederive import due, rederive, waiting_for_file
from archive.state import record_poll
from bot.config import Config, Mailbox
from bot.daemon.deps import Deps
from bot.daemon.imap import RETRYABLE, FolderSession, IdleDropped, Progress, failure_text
from bot.daemon.poll import (
    POLL_ERRORS,
    derive_orphans,
    derive_spooled_anyway,
    fetch_mailbox,
    one_line,
    send_owed,
)
from bot.daemon.scheduled import due_jobs, no_plan_now, run_digest
from bot.daemon.status import Presence, serving
from bot.outgoing.reminders import queue_reminders, summary
from parsers.errors import MailroomError

log = logging.getLogger(__name__)
IDLE_RENEW = timedelta(minutes=24)  # servers may drop an IDLE after 30 minutes (RFC 2177 says 29)
MAILDIR_SECONDS = 5.0  # how often a Maildir's new/ is listed
RECONNECT_SECONDS = 5.0  # after a server closed an IDLE connection (connecting then retries on its own)
STEADY_IDLE = 60.0  # an IDLE that lasted this long before the server closed it was a restart, not a habit
SENDER_SECONDS = 60.0  # the sender looks at least this often (backoffs, receipts waiting for their hour)
STOP_SECONDS = 8.0  # SIGTERM to exit, at most: systemd's default kill is at 90 s, the promise is 10 s
REDERIVE_BATCH = 20  # messages a background re-derivation writes per transaction (SQLite's write lock is held for one)
PRESENCE_SECONDS = 10.0  # how often the daemon makes sure it holds its presence lock still (one round trip)
HOLD_SECONDS = 5.0  # how often, at most, a mailbox worker at work makes sure it holds its mailbox still (the same)
REDERIVE_RETRY = 5.0  # seconds between looks while another instance (or a `status` looking) holds the lock
DECIDED_SECONDS = 60.0  # how often serve looks for messages a staff decision left underived


def serve(config: Config, deps: Deps) -> bool:
    """Run until SIGTERM or Ctrl-C; False when a worker stopped it by failing (exit 1, so that a
    supervisor restarts it). Ctrl-C stops as gracefully as SIGTERM, then raises KeyboardInterrupt, so that the
    command ends as any command Ctrl-C stops (exit 130); SIGTERM, a supervisor's stop, returns True."""
    wake, failed, told = threading.Event(), threading.Event(), threading.Event()
    received: list[int] = []
    workers = [
        threading.Thread(
            target=_guarded,
            args=(failed, f"mailbox {box.key}", watch_mailbox, config, deps, box, wake.set, told),
            name=f"mailbox-{box.key}",
            daemon=True,
        )
        for box in config.mailboxes
    ]
    workers.append(
        threading.Thread(
            target=_guarded, args=(failed, "sender", run_sender, config, deps, wake), name="sender", daemon=True
        )
    )
    workers.append(
        threading.Thread(
            target=_guarded, args=(failed, "rederive", rederive_then_watch, config, deps), name="rederive", daemon=True
        )
    )

    def stop(signum, _frame) -> None:
        log.info("收到 %s：正在停止", signal.Signals(signum).name)
        received.append(signum)
        deps.stop.set()
        wake.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with serving(deps) as presence:
        log.info("mailroom 守护进程已启动，收取 %d 个邮箱", len(config.mailboxes))
        if outside := no_plan_now(config, deps.clock()):
            log.warning("%s", outside)
        if presence.others:  # one line for the whole instance: its workers then stand by without a line each
            told.set()
            log.warning(
                "另一个 mailroom serve 实例正在运行，邮箱由它收取：本实例待命，每 %.0f 秒查看一次，它停止后接管"
                "（若是误启动，停止本实例即可）",
                config.schedule.poll_minutes * 60,
            )
        for worker in workers:
            worker.start()
        _until_stopped(deps, presence)
        end = time.monotonic() + STOP_SECONDS
        for worker in workers:
            worker.join(max(0.0, end - time.monotonic()))
    left = [worker.name for worker in workers if worker.is_alive()]
    if left:  # e.g. a mail in the hands of a hung SMTP server: it stays `sending` and goes again next start
        log.warning("不再等待以下任务结束：%s", "、".join(left))
    log.info("已停止")
    if failed.is_set():
        return False
    if signal.SIGINT in received:
        raise KeyboardInterrupt
    return True


def _until_stopped(deps: Deps, presence: Presence) -> None:
    """Wait for the stop, making sure every PRESENCE_SECONDS that the presence lock is still held: on
    PostgreSQL it ends with its session (a restart of the server), and `status` would then say no daemon runs."""
    lost, check = False, time.monotonic() + PRESENCE_SECONDS
    while not deps.stop.wait(1.0):
        if time.monotonic() >= check:
            lost, check = _keep_presence(presence, lost), time.monotonic() + PRESENCE_SECONDS


def _keep_presence(presence: Presence, lost: bool) -> bool:
    """Take the presence lock again if it was lost; whether it is lost still. A database that stays away is
    said once, not at every check."""
    try:
        if presence.keep():
            log.warning("与数据库的连接曾中断（数据库重启？），已重新登记本守护进程：mailroom status 又能看到它在运行")
        return False
    except SQLAlchemyError as error:
        if not lost:
            log.error(
                "与数据库的连接已中断，无法重新登记本守护进程（期间 mailroom status 会显示守护进程未运行），"
                "每 %.0f 秒重试：%s",
                PRESENCE_SECONDS,
                _first_line(error),
            )
        return True


def _first_line(error: SQLAlchemyError) -> str:
    """The driver's own words, without SQLAlchemy's statement and link."""
    said = str(getattr(error, "orig", None) or error).strip()
    return said.splitlines()[0] if said else error.__class__.__name__


def _guarded(failed: threading.Event, name: str, work: Callable[..., None], *args) -> None:
    """A worker's loop; if it ever fails with a bug, the daemon stops (a supervisor restarts it) rather
    than run on without that mailbox or without a sender."""
    deps: Deps = args[1]
    try:
        work(*args)
    except Exception:  # a bug: logged whole, and the daemon exits 1
        log.exception("%s 因意外错误停止：守护进程随之停止", name)
        failed.set()
        deps.stop.set()


def watch_mailbox(
    config: Config, deps: Deps, box: Mailbox, wake: Callable[[], None], told: threading.Event | None = None
) -> None:
    """Until stopped: hold the mailbox, archive what is new, wait for more. `told`: set once the instance has
    said that another instance is at work, so that a stand-by needs no line of its own. A database away (a
    restart of PostgreSQL ends every session) is no bug: the worker says so and tries again, as after an IMAP
    error."""
    interval = config.schedule.poll_minutes * 60
    standing_by = False
    while not deps.stop.is_set():
        try:
            pause, standing_by = _take_turn(config, deps, box, wake, told, standing_by)
        except SQLAlchemyError as error:
            pause = min(interval, 60.0)
            log.error("%s: 数据库暂时不可用，%.0f 秒后重试：%s", box.key, pause, _first_line(error))
        deps.stop.wait(pause)
    _unwatched(deps, box)


def _take_turn(
    config: Config,
    deps: Deps,
    box: Mailbox,
    wake: Callable[[], None],
    told: threading.Event | None,
    standing_by: bool,
) -> tuple[float, bool]:
    """One turn of a mailbox worker: the mailbox's work if this instance holds it, else stand-by; how long to
    wait before the next turn, and whether it stands by."""
    interval = config.schedule.poll_minutes * 60
    with deps.hold(f"mailbox-{box.key}") as lock:
        mine = lock.held
        if mine and standing_by:
            log.info("%s: 另一个实例已不再收取此邮箱，由本实例接管", box.key)
        elif not mine and not standing_by and not (told and told.is_set()):
            log.info("%s: 另一个实例正在收取此邮箱：本实例待命，每 %.0f 秒查看一次，它停止后接管", box.key, interval)
        if not mine:
            return interval, True  # another instance works it; take over if that one goes away
        holding = _Holding(box, lock)
        if box.source == "imap":
            pause = _watch_imap(config, deps, box, wake, holding)
        else:
            pause = _watch_maildir(deps, box, wake, holding, min(interval, MAILDIR_SECONDS))
        if isinstance(holding.lost, SQLAlchemyError):  # work stopped (IDLE left, logged out); taken again later
            pause = min(interval, 60.0)
            log.error(
                "%s: 数据库暂时不可用，无法确认本实例仍在收取此邮箱：已停止收取，%.0f 秒后重试：%s",
                box.key,
                pause,
                _first_line(holding.lost),
            )
            return pause, False
        if holding.lost:  # work stopped: stand by like any stand-by worker
            log.warning(
                "%s: 与数据库的连接曾中断，期间另一个实例已接管此邮箱：本实例已停止收取，待命，每 %.0f 秒查看一次，"
                "它停止后接管",
                box.key,
                interval,
            )
            return interval, True
        return pause, False


class _Holding:
    """Whether a worker at work on its mailbox holds it still: asked at each look (between batches, each second
    of IDLE), put to the database at most every HOLD_SECONDS (one round trip on the lock's own connection). A
    lock whose session ended (a restart of PostgreSQL) is taken again; if another instance took it meanwhile
    (`lost` True) or the database is away (`lost` the error), the worker holds it no longer and stops working
    the mailbox. The lock file of the embedded default cannot be lost so."""

    def __init__(self, box: Mailbox, lock: Lock) -> None:
        self.box, self.lock = box, lock
        self.due = time.monotonic() + HOLD_SECONDS
        self.lost: bool | SQLAlchemyError = False

    def __call__(self) -> bool:
        if self.lost:
            return False
        if time.monotonic() < self.due:
            return True
        try:
            taken_again = self.lock.keep()
        except SQLAlchemyError as error:
            self.lost = error
            return False
        self.due = time.monotonic() + HOLD_SECONDS
        if not self.lock.held:
            self.lost = True
        elif taken_again:
            log.warning("%s: 与数据库的连接曾中断（数据库重启？），已重新取得此邮箱，继续收取", self.box.key)
        return self.lock.held


def _unwatched(deps: Deps, box: Mailbox) -> None:
    """At a clean stop: the mailbox is no longer waited on, and its next look is no longer planned (its last
    poll, success and error stay on record). Not when another instance works it now: its record stands."""
    try:
        with deps.exclusive(f"mailbox-{box.key}") as mine:
            if not mine:
                return
            with deps.db.session() as session:
                state = session.get(MailboxState, box.key)
                if state is not None:
                    state.watch, state.next_poll_at = None, None
                    session.commit()
    except SQLAlchemyError as failure:  # the database is away: `status` tells a stopped daemon all the same
        log.error("%s: 无法记录收取的停止：%s", box.key, failure)


def _watch_maildir(deps: Deps, box: Mailbox, wake: Callable[[], None], mine: Callable[[], bool], every: float) -> float:
    """A look at the Maildir every `every` seconds, the mailbox held between looks (a stand-by instance would
    otherwise find it free between two and take it, each in turn), until stopped or `mine()` says this instance
    holds it no longer; the next turn may follow at once."""
    while not deps.stop.is_set() and mine():
        _look_once(deps, box, wake, every)
        deps.stop.wait(every)
    return 0.0


def _look_once(deps: Deps, box: Mailbox, wake: Callable[[], None], pause: float) -> float:
    report = fetch_mailbox(box, deps)
    if report.new:
        wake()
    _record(deps, box, report.error, "poll", pause, report.untidied)
    return pause


def _watch_imap(
    config: Config, deps: Deps, box: Mailbox, wake: Callable[[], None], mine: Callable[[], bool] = lambda: True
) -> float:
    """One connection's life: look, then IDLE and look again on news, until stopped, the connection fails or
    `mine()` says this instance holds the mailbox no longer (asked between batches and in IDLE: the
    connection is then left cleanly, the batch in hand committed); returns how long to wait before the next
    connection."""
    interval = config.schedule.poll_minutes * 60

    def stopping() -> bool:
        return deps.stop.is_set() or not mine()

    try:
        folder = FolderSession(box, lambda: deps.intake, deps.open_client)
    except (*RETRYABLE, *POLL_ERRORS) as error:
        if any(outcome.new for outcome in derive_spooled_anyway(box, deps)):
            wake()  # their receipts are owed now
        return _failed(deps, box, error, interval)
    untidied = None  # the after_archive action that failed on the last mail fetched (status shows it)
    try:
        while not stopping():
            progress = Progress()
            folder.archive_new(progress, stopping)
            # a move's leftovers are looked at each time; a message passed over is said though nothing was fetched
            if progress.fetched or progress.untidied or box.after_archive == "move":
                untidied = progress.untidied
            if any(outcome.new for outcome in progress.outcomes):
                wake()
            if progress.outcomes:  # mail that came while deriving is announced to no IDLE: look again first
                continue
            if not folder.can_idle:
                _record(deps, box, None, "poll", interval, untidied)
                return interval
            renew = min(IDLE_RENEW.total_seconds(), interval)
            _record(deps, box, None, "idle", renew, untidied)
            folder.wait_for_news(renew, stopping)
        return 0.0
    except IdleDropped as error:  # the server restarted: new mail waits for its start, not for a minute
        # (one that closes each IDLE within a minute is waited for as after any error: logins at that pace
        # are what NetEase throttles)
        return _failed(deps, box, error, interval, RECONNECT_SECONDS if error.lasted >= STEADY_IDLE else 60.0)
    except (*RETRYABLE, *POLL_ERRORS) as error:
        return _failed(deps, box, error, interval)
    finally:
        folder.close()


def _failed(deps: Deps, box: Mailbox, error: BaseException, interval: float, retry: float = 60.0) -> float:
    retry = min(interval, retry)
    said = failure_text(box, error)
    log.error("%s: %s；%.0f 秒后重试", box.key, said, retry)
    _record(deps, box, said, "retry", retry)
    return retry


def _record(deps: Deps, box: Mailbox, error: str | None, watch: str, pause: float, untidied: str | None = None) -> None:
    """What `mailroom status` shows: the daemon's own times, not a guess."""
    try:
        next_poll_at = deps.clock() + timedelta(seconds=pause)
        record_poll(deps.db, box.key, box.folder, error, watch=watch, next_poll_at=next_poll_at, untidied=untidied)
    except SQLAlchemyError as failure:  # the database is away: the worker carries on, status lags
        log.error("%s: 无法记录本次收取：%s", box.key, failure)


def rederive_then_watch(config: Config, deps: Deps) -> None:
    """The re-derivation worker of `serve`: what is due at its start (rederive_behind), then, until stopped,
    what staff decisions leave underived (derive_decided)."""
    rederive_behind(config, deps)
    derive_decided(deps)


def rederive_behind(config: Config, deps: Deps) -> None:
    """Derive what a removed mailbox left spooled, and again whatever is due (archive.rederive.due), once,
    by one instance: another instance's run is waited for, and then finds nothing left."""
    while not deps.stop.is_set():
        try:
            with deps.exclusive(REDERIVE_LOCK) as mine:
                if mine:
                    derive_orphans(config, deps)
                    _rederive_due(deps)
                    return
        except (MailroomError, SQLAlchemyError) as error:  # the database away: what is done is committed
            log.error("重新识别：%s；%.0f 秒后重试", one_line(error, deps), REDERIVE_RETRY)
        deps.stop.wait(REDERIVE_RETRY)


def derive_decided(deps: Deps, every: float = DECIDED_SECONDS) -> None:
    """Until stopped, each `every` seconds: derive the messages a staff decision marked due (derived with no
    stamp: archive.corrections.mark_due) that its command left underived (killed, a reader crashed), those
    already waiting at the look before, so that a command deriving its own decision's messages just now is
    not raced. Looked up by a partial index (0022): the look costs what waits, not the archive's size. One kept
    as it was for its raw file (the problem on record, for staff: 待处理, `status`, `year close` refusing) is
    passed over while that file stays unreadable, not tried and logged again at every look; it is derived at
    the first look that finds the file back (archive.rederive.waiting_for_file)."""
    seen: set[int] = set()
    while not deps.stop.wait(every):
        try:
            with deps.db.session() as session:
                messages = session.scalars(
                    select(Message)
                    .where(Message.derived_with.is_(None))
                    .options(load_only(Message.id, Message.sha256, Message.problems))
                ).all()
                waiting = {message.id for message in messages}
                ready = {message.id for message in messages if not waiting_for_file(deps.store, message)}
            if left := sorted(seen & ready):
                with deps.exclusive(REDERIVE_LOCK) as mine:
                    if mine:  # else `mailroom rederive` (or another instance) is deriving: looked at again next time
                        _rederive_due(deps, left)
            seen = waiting
        except (MailroomError, SQLAlchemyError) as error:  # the database away: looked at again next time
            log.error("重新识别：%s", one_line(error, deps))


def _rederive_due(deps: Deps, ids: list[int] | None = None) -> None:
    intake = deps.intake
    with deps.db.session() as session:
        todo = due(session, intake.recognizer.stamp, everything=False, ids=None) if ids is None else ids
        if not todo:
            return
        why = "此前在另一份配置或另一版本下识别" if ids is None else "工作人员的决定尚未生效"
        log.info("重新识别 %d 封邮件（%s）", len(todo), why)
        changes = rederive(intake, session, todo, batch=REDERIVE_BATCH, stopping=deps.stop.is_set)
    left = "（已停止：其余的在下次启动时继续）" if deps.stop.is_set() else ""
    log.info("重新识别完成：%d 封邮件的识别结果改变%s", len(changes), left)


def run_sender(config: Config, deps: Deps, wake: threading.Event) -> None:
    """Until stopped: compose the owed receipts, do the month's jobs when due (once the mailboxes are looked at:
    scheduled.due_jobs), send the outbox."""
    since = deps.clock()
    while not deps.stop.is_set():
        wake.clear()
        try:
            run_due_jobs(config, deps, since)
            report = send_owed(config, deps, deps.clock())
            if report.receipts or report.outbox.sent or report.outbox.failed:
                log.info(
                    "发信：新排队回复 %d 封，发出 %d 封，未发出 %d 封",
                    report.receipts,
                    report.outbox.sent,
                    report.outbox.failed,
                )
        except (MailroomError, SQLAlchemyError) as error:
            log.error("发信：%s", one_line(error, deps))  # never the statement
        wake.wait(_sender_pause(deps))


def _sender_pause(deps: Deps) -> float:
    try:
        with deps.db.session() as session:
            due = next_due(session)
    except SQLAlchemyError:
        return SENDER_SECONDS
    if due is None:
        return SENDER_SECONDS
    if deps.smtp_rest.until is not None:  # the server left alone: no mail is tried before then
        due = max(due, deps.smtp_rest.until)
    return min(SENDER_SECONDS, max(1.0, (due - deps.clock()).total_seconds()))


def run_due_jobs(config: Config, deps: Deps, since: datetime | None = None) -> None:
    """The month's reminders and digest, once each, when their time has come (by one instance; in a daemon begun
    at `since`, once its mailboxes are looked at)."""
    with deps.exclusive("outbox") as mine:
        if not mine:
            return
        now = deps.clock()
        with deps.db.session() as session:
            for job, month in due_jobs(config, session, now, since):
                if job.job == "reminders":
                    log.info("%s 的催报：%s", month, summary(queue_reminders(config, session, month, now)))
                else:
                    log.info("%s 的排名通报：%s", month, run_digest(config, session, month, now))
