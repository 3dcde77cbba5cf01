"""Where each mailbox's polling stands: UIDVALIDITY, last UID archived, last success and last error."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import Database
from archive.models import MailboxState


def load_state(db: Database, mailbox: str) -> MailboxState | None:
    with db.session() as session:
        return session.get(MailboxState, mailbox)


def advance(session: Session, mailbox: str, folder: str, uidvalidity: int, last_uid: int) -> None:
    """Record, in the caller's transaction, that every UID up to `last_uid` is archived."""
    state = session.get(MailboxState, mailbox) or MailboxState(mailbox=mailbox, last_uid=0)
    state.folder, state.uidvalidity, state.last_uid = folder, uidvalidity, last_uid
    session.add(state)


def record_poll(
    db: Database,
    mailbox: str,
    folder: str,
    error: str | None = None,
    *,
    watch: str | None = None,
    next_poll_at: datetime | None = None,
    untidied: str | None = None,
) -> None:
    """Stamp the end of a poll: its time, its error or its success, and (from the daemon) how it waits
    now — "idle" or "poll" — and when it looks next. `untidied`: a success whose after_archive action failed,
    kept as the last error of the same moment (status shows it, not as a current failure)."""
    now = datetime.now(UTC)
    with db.session() as session:
        state = session.get(MailboxState, mailbox) or MailboxState(mailbox=mailbox, folder=folder, last_uid=0)
        state.last_poll_at = now
        if error is None:
            state.last_ok_at = now
        if error is not None or untidied is not None:
            state.last_error, state.last_error_at = error or untidied, now
        state.watch, state.next_poll_at = watch, next_poll_at
        session.add(state)
        session.commit()


def all_states(db: Database) -> list[MailboxState]:
    with db.session() as session:
        return list(session.scalars(select(MailboxState).order_by(MailboxState.mailbox)))
