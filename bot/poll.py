"""One poll pass over every configured mailbox: the scheduler and `mailroom poll --once` both call this."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from archive.ingest import Outcome
from archive.state import record_poll
from bot.config import Config, Mailbox
from bot.deps import Deps
from bot.imap import poll_imap
from bot.maildir import poll_maildir
from bot.outbox import FlushReport, flush_outbox, sent_copier, transport_for
from bot.receipts import queue_receipts
from parsers.errors import MailroomError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailboxReport:
    mailbox: str
    outcomes: tuple[Outcome, ...] = ()
    rescanned: bool = False
    error: str | None = None
    busy: bool = False  # another instance was polling it: skipped this time

    @property
    def new(self) -> int:
        return sum(outcome.new for outcome in self.outcomes)


@dataclass(frozen=True)
class PollReport:
    mailboxes: tuple[MailboxReport, ...]
    receipts: int = 0
    outbox: FlushReport | None = None

    @property
    def errors(self) -> list[MailboxReport]:
        return [report for report in self.mailboxes if report.error]


def poll_once(config: Config, deps: Deps) -> PollReport:
    """Poll each mailbox once (one failing never stops the others), queue the receipts owed for the new
    mail, and send what the outbox holds."""
    reports = tuple(poll_mailbox(box, deps) for box in config.mailboxes)
    new = [outcome.id for report in reports for outcome in report.outcomes if outcome.new]
    now = deps.clock()
    with deps.db.session() as session:
        receipts = queue_receipts(config, session, new, now)
    return PollReport(reports, receipts, send_outbox(config, deps, now))


def send_outbox(config: Config, deps: Deps, now: datetime) -> FlushReport:
    """Send what is due, unless another instance is sending the outbox right now."""
    with deps.exclusive("outbox") as mine:
        if not mine:
            return FlushReport(0, 0, busy=True)
        return flush_outbox(deps.db, config.outgoing, deps.transport or transport_for(config.outgoing), now,
                            sent_copier(config, deps.open_client))


def poll_mailbox(box: Mailbox, deps: Deps) -> MailboxReport:
    """One mailbox's new mail, polled by one instance at a time."""
    with deps.exclusive(f"mailbox-{box.key}") as mine:
        if not mine:
            log.info("%s: another instance is polling it, skipped", box.key)
            return MailboxReport(box.key, busy=True)
        return _poll_mailbox(box, deps)


def _poll_mailbox(box: Mailbox, deps: Deps) -> MailboxReport:
    try:
        if box.source == "maildir":
            report = MailboxReport(box.key, tuple(poll_maildir(box, deps.db, deps.store, deps.recognizer)))
        else:
            progress = poll_imap(box, deps.db, deps.store, deps.recognizer, open_client=deps.open_client,
                                 retries=deps.retries, backoff=deps.backoff, sleep=deps.sleep,
                                 stopping=deps.stop.is_set)
            report = MailboxReport(box.key, tuple(progress.outcomes), progress.rescanned)
    except MailroomError as error:
        log.error("%s: poll failed: %s", box.key, error)
        report = MailboxReport(box.key, error=str(error))
    record_poll(deps.db, box.key, box.folder, report.error)
    return report
