"""One pass over every configured mailbox, and one pass of the sender: `mailroom poll --once` runs both,
the daemon's mailbox workers and its sender run them apart (bot/daemon/serve.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from imapclient.exceptions import IMAPClientError
from sqlalchemy.exc import SQLAlchemyError

from archive.db import database_problem, sqlite_file
from archive.ingest import Outcome
from archive.outbox import Fate, mail_fate
from archive.spool import derive_spooled, spooled_counts
from archive.state import record_poll
from bot.config import Config, Mailbox
from bot.daemon.deps import Deps
from bot.daemon.imap import poll_imap
from bot.daemon.maildir import poll_maildir
from bot.outgoing.outbox import FlushReport, flush_outbox, sent_copier, transport_for
from bot.outgoing.receipts import queue_owed_receipts
from bot.outgoing.reminders import refresh_reminders
from bot.services.inspect import archive_inspector
from parsers.errors import MailroomError

log = logging.getLogger(__name__)
# What can go wrong polling one mailbox without being a bug: recorded for `status`, the next mailbox goes on.
POLL_ERRORS = (MailroomError, SQLAlchemyError, IMAPClientError, OSError)
ORPHAN_BATCH = 200  # messages a commit when deriving a removed mailbox's spooled mail


@dataclass(frozen=True)
class MailboxReport:
    mailbox: str
    outcomes: tuple[Outcome, ...] = ()
    rescanned: bool = False
    error: str | None = None
    busy: bool = False  # another instance was polling it: skipped this time
    fetched: int | None = None  # messages fetched from the server (IMAP); the outcomes are those derived
    untidied: str | None = None  # the after_archive action failed: the mail is archived, the mailbox not tidied
    tidied: int = 0  # mail archived before, moved out of the folder in this poll (after_archive = "move")

    @property
    def problem(self) -> str | None:
        """What went wrong in this poll: its error, else the tidying that failed."""
        return self.error or self.untidied

    @property
    def taken(self) -> int:
        """Messages taken from the mailbox in this poll."""
        return len(self.outcomes) if self.fetched is None else self.fetched

    @property
    def new(self) -> int:
        return sum(outcome.new for outcome in self.outcomes)


@dataclass(frozen=True)
class SendReport:
    receipts: int  # owed receipts composed into the outbox in this pass
    outbox: FlushReport


@dataclass(frozen=True)
class PollReport:
    mailboxes: tuple[MailboxReport, ...]
    receipts: int = 0
    outbox: FlushReport | None = None
    # The database failed midway (its disk full, a lock another program holds): the pass stopped there, and
    # `mailboxes` holds the mailboxes done before it; the receipts and the outbox are not reported (`outbox`
    # None: if the failure came while sending, what went before it was sent and recorded all the same).
    stopped: SQLAlchemyError | None = None

    @property
    def errors(self) -> list[MailboxReport]:
        """The mailboxes that failed; and, when the database stopped the pass, one more report that says so
        (named DATABASE, never a mailbox's key), so that whatever counts the errors counts that one too."""
        failed = [report for report in self.mailboxes if report.problem]
        if self.stopped is not None:
            failed.append(MailboxReport(DATABASE, error=one_line(self.stopped)))
        return failed


DATABASE = "（数据库）"


def poll_once(config: Config, deps: Deps) -> PollReport:
    """Poll each mailbox once (one failing never stops the others), then compose the receipts owed and
    send what the outbox holds. A database that fails outside one mailbox's fetch (recording the poll, the
    outbox) stops the pass: what was done so far is reported, with the error in `stopped`."""
    reports: list[MailboxReport] = []
    try:
        for box in config.mailboxes:
            reports.append(poll_mailbox(box, deps))
        reports.extend(derive_orphans(config, deps))
        sent = send_owed(config, deps, deps.clock())
    except (SQLAlchemyError, _Unrecorded) as failure:
        if isinstance(failure, _Unrecorded):
            reports.append(failure.report)
        error = failure.error if isinstance(failure, _Unrecorded) else failure
        log.error("本次收取到此停止：%s", one_line(error, deps))
        return PollReport(tuple(reports), stopped=error)
    return PollReport(tuple(reports), sent.receipts, sent.outbox)


class _Unrecorded(Exception):
    """A mailbox polled whose poll the database failed to record: its report (its mail may be archived all the
    same) and the database's error."""

    def __init__(self, report: MailboxReport, error: SQLAlchemyError) -> None:
        super().__init__(str(error))
        self.report, self.error = report, error


def derive_orphans(config: Config, deps: Deps) -> list[MailboxReport]:
    """Mail spooled for a mailbox the configuration no longer has (removed or renamed after it was
    archived): derived here, as its worker would have, so that none waits for a worker that never comes."""
    configured = {box.key for box in config.mailboxes}
    with deps.db.session() as session:
        orphans = [key for key in spooled_counts(session) if key not in configured]
    reports = []
    for key in orphans:
        with deps.exclusive(f"mailbox-{key}") as mine:
            if not mine:
                continue
            try:
                outcomes = tuple(derive_spooled(deps.intake, key, ORPHAN_BATCH, deps.stop.is_set))
                reports.append(MailboxReport(str(key), outcomes, fetched=0))
            except POLL_ERRORS as error:
                log.error("%s（已不在配置中）：识别其已暂存的邮件失败：%s", key, error)
                reports.append(MailboxReport(str(key), error=one_line(error, deps)))
    return reports


def send_owed(config: Config, deps: Deps, now: datetime) -> SendReport:
    """Compose every owed receipt into the outbox and send what is due, unless another instance is
    sending right now. Between mails it stops as soon as `deps.stop` is set."""
    with deps.exclusive("outbox") as mine:
        if not mine:
            return SendReport(0, FlushReport(0, 0, busy=True))
        with deps.db.session() as session:
            receipts = queue_owed_receipts(
                config,
                session,
                now,
                stopping=deps.stop.is_set,
                inspector=archive_inspector(config, deps.store, deps.sandbox),
                set_aside=deps.set_aside,
            )
            refresh_reminders(config, session, now)  # one that waited out an outage is sent as things are now
        flushed = flush_outbox(
            deps.db,
            config.outgoing,
            deps.transport or transport_for(config.outgoing),
            now,
            sent_copier(config, deps.open_client),
            stopping=deps.stop.is_set,
            rest=deps.smtp_rest,
        )
        return SendReport(receipts, flushed)


def send_outbox(config: Config, deps: Deps, now: datetime, cause: str) -> tuple[FlushReport, Fate]:
    """What `mailroom digest --send` and `year close` send after queueing their mail (that of `cause`): the whole
    outbox, owed receipts included; and that mail's fate, which is what the command reports and exits by
    (another mail failing with it is no fault of its own)."""
    report = send_owed(config, deps, now).outbox
    with deps.db.session() as session:
        return report, mail_fate(session, cause) or Fate(0, "pending", None)


def poll_mailbox(box: Mailbox, deps: Deps) -> MailboxReport:
    """One mailbox's new mail, polled by one instance at a time. A database that fails recording the poll
    raises `_Unrecorded`, which carries the mailbox's report (its mail may be archived all the same)."""
    with deps.exclusive(f"mailbox-{box.key}") as mine:
        if not mine:
            log.info("%s: 另一个实例正在收取此邮箱，本次跳过", box.key)
            return MailboxReport(box.key, busy=True)
        report = fetch_mailbox(box, deps)
        try:
            record_poll(deps.db, box.key, box.folder, report.error, untidied=report.untidied)
        except SQLAlchemyError as error:
            raise _Unrecorded(report, error) from error
        return report


def fetch_mailbox(box: Mailbox, deps: Deps) -> MailboxReport:
    """Archive what is new in one mailbox (the caller holds it); an error is reported, never raised."""
    try:
        if box.source == "maildir":
            return MailboxReport(box.key, tuple(poll_maildir(box, deps.intake)))
        progress = poll_imap(
            box,
            deps.intake,
            open_client=deps.open_client,
            retries=deps.retries,
            backoff=deps.backoff,
            sleep=deps.sleep,
            stopping=deps.stop.is_set,
        )
        return MailboxReport(
            box.key,
            tuple(progress.outcomes),
            progress.rescanned,
            fetched=progress.fetched,
            untidied=progress.untidied,
            tidied=progress.tidied,
        )
    except POLL_ERRORS as error:
        said = one_line(error, deps)
        log.error("%s: 收取失败：%s", box.key, said)
        return MailboxReport(box.key, derive_spooled_anyway(box, deps), error=said)


def derive_spooled_anyway(box: Mailbox, deps: Deps) -> tuple[Outcome, ...]:
    """What the mailbox has spooled (a look a kill or a stop cut short), derived though its server cannot be
    reached now: the bytes are on disk, and their receipts owed (the caller holds the mailbox)."""
    try:
        return tuple(derive_spooled(deps.intake, box.key, box.batch, deps.stop.is_set))
    except POLL_ERRORS as error:
        log.error("%s: 识别已暂存的邮件失败：%s", box.key, one_line(error, deps))
        return ()


def one_line(error: Exception, deps: Deps | None = None) -> str:
    """What `status` shows of an error: our own messages as they are, a database's the operator can act on
    in Chinese (archive.db.database_problem), others with their type."""
    first = next(iter(str(error).strip().splitlines()), "")
    if isinstance(error, MailroomError):
        return first or error.__class__.__name__
    if isinstance(error, SQLAlchemyError):
        said = database_problem(error, sqlite_file(deps.db.url) if deps is not None else None)
        if said is not None:
            return said
    return f"{error.__class__.__name__}: {first}" if first else error.__class__.__name__
