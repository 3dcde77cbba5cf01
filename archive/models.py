"""The database schema. Alembic migrations in archive/migrations create and upgrade it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """A point in time: timestamptz on PostgreSQL, UTC text on SQLite, always aware in Python."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class Base(DeclarativeBase):
    pass


class Message(Base):
    """One message, stored once however many mailboxes and imports it was seen in."""

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str | None] = mapped_column(Text, index=True)
    # What the sender wrote (parsers.copies): a copy of this mail delivered to another of our mailboxes, with
    # trace headers of its own, is a sighting of this message, not a message of its own.
    copy_key: Mapped[str | None] = mapped_column(String(64), index=True)
    mailbox: Mapped[str | None] = mapped_column(String(64), index=True)  # first department mailbox seen in
    arrival: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    arrival_trusted: Mapped[bool] = mapped_column(Boolean)  # server time (True) or the sender's Date (False)
    date_header: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    from_addr: Mapped[str | None] = mapped_column(String(320), index=True)
    from_name: Mapped[str] = mapped_column(Text, default="")
    to_addrs: Mapped[str] = mapped_column(Text, default="")
    cc_addrs: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    month: Mapped[str | None] = mapped_column(String(7), index=True)
    month_source: Mapped[str] = mapped_column(String(16))
    registered: Mapped[bool] = mapped_column(Boolean)
    problems: Mapped[list] = mapped_column(JSON, default=list)
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What derived the columns above and the rows below: parsers.derive.derivation_stamp of the
    # configuration, the staff's decisions and the code. Another stamp: `mailroom rederive` is due.
    derived_with: Mapped[str | None] = mapped_column(String(40))
    # Why the message needs a person (replies.attention: "unregistered question", …); NULL for nearly every
    # message, so the attention queue reads the few that have one through a partial index.
    attention: Mapped[str | None] = mapped_column(String(64))

    attachments: Mapped[list[Attachment]] = relationship(back_populates="message", order_by="Attachment.ordinal")
    readings: Mapped[list[FormReadingRow]] = relationship(back_populates="message", order_by="FormReadingRow.id")
    sightings: Mapped[list[Sighting]] = relationship(back_populates="message", order_by="Sighting.id")
    articles: Mapped[list[ArticleRow]] = relationship(back_populates="message", order_by="ArticleRow.id")


class ArticleRow(Base):
    """One article of a briefing message, by the key that names its content (archive.evidence.article_keys):
    a key seen before counts nothing, so a receipt looks its month's keys up here."""

    __tablename__ = "article"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(80), index=True)

    message: Mapped[Message] = relationship(back_populates="articles")


class Attachment(Base):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(Text)
    declared_type: Mapped[str] = mapped_column(String(255))
    sniffed_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)

    message: Mapped[Message] = relationship(back_populates="attachments")


class FormReadingRow(Base):
    """What one form in an attachment (a workbook sheet, a zip member, a .docx) was read as."""

    __tablename__ = "form_reading"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachment.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(Text)  # file name, zip member, sheet
    form: Mapped[int | None] = mapped_column(Integer)
    unit: Mapped[str | None] = mapped_column(String(64))
    month: Mapped[str | None] = mapped_column(String(7))
    rows: Mapped[int] = mapped_column(Integer)
    readable: Mapped[bool] = mapped_column(Boolean)
    tasks: Mapped[dict] = mapped_column(JSON, default=dict)  # 附件2: {task: {target, done, percent}}
    text: Mapped[str] = mapped_column(Text, default="")  # 附件1: the report's text
    problems: Mapped[list] = mapped_column(JSON, default=list)  # [{sheet, row, column, code, message}]

    message: Mapped[Message] = relationship(back_populates="readings")
    attachment: Mapped[Attachment] = relationship()
    persons: Mapped[list[PersonRow]] = relationship(back_populates="reading", order_by="PersonRow.id")


class PersonRow(Base):
    """One person on a real-name registry form, as the unit wrote it."""

    __tablename__ = "person_row"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reading_id: Mapped[int] = mapped_column(ForeignKey("form_reading.id", ondelete="CASCADE"), index=True)
    form: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str | None] = mapped_column(String(64))
    month: Mapped[str | None] = mapped_column(String(7))
    sheet: Mapped[str] = mapped_column(Text)
    row: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text, default="")
    disability_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    id_number: Mapped[str] = mapped_column(String(64), default="", index=True)
    phone: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[dict] = mapped_column(JSON, default=dict)

    reading: Mapped[FormReadingRow] = relationship(back_populates="persons")


Index("ix_form_reading_unit_month_form", FormReadingRow.unit, FormReadingRow.month, FormReadingRow.form)
Index("ix_form_reading_form", FormReadingRow.form)  # every 附件2 (the findings) without reading the rest


class Sighting(Base):
    """A place a message was seen: an IMAP UID, a Maildir file, an imported file."""

    __tablename__ = "sighting"
    __table_args__ = (UniqueConstraint("mailbox", "folder", "uidvalidity", "uid", name="uq_sighting_imap"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    mailbox: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # imap | maildir | import
    folder: Mapped[str | None] = mapped_column(Text)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    origin: Mapped[str | None] = mapped_column(Text)  # file path or Maildir key
    # The raw bytes seen there, when they are not the message's own (a copy: parsers.copies); kept in the
    # store as every message is.
    sha256: Mapped[str | None] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

    message: Mapped[Message] = relationship(back_populates="sightings")


class OnRecord:
    """A staff decision: who entered it and when; revocable (who, when, why), never deleted."""

    entered_by: Mapped[str] = mapped_column(Text)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    def revoke(self, by: str, reason: str) -> None:
        self.revoked_at, self.revoked_by, self.revoke_reason = datetime.now(UTC), by, reason.strip()


class StaffSenderRow(OnRecord, Base):
    """An address staff confirmed as a unit's (from a date, or always), revocable, never deleted."""

    __tablename__ = "staff_sender"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(320), index=True)
    since: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)


class CorrectionRow(OnRecord, Base):
    """Staff overriding one message's recognition (by its bytes' SHA-256, which never change): any of
    unit, kind, month and whether it counts; revocable, never deleted."""

    __tablename__ = "correction"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_sha256: Mapped[str] = mapped_column(String(64), index=True)
    unit: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(16))
    month: Mapped[str | None] = mapped_column(String(7))
    counted: Mapped[bool | None] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)


class QueueHandledRow(Base):
    """An attention item staff handled (archive/queue.py), by the item's stable key, with their note."""

    __tablename__ = "queue_handled"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    note: Mapped[str] = mapped_column(Text)
    handled_by: Mapped[str] = mapped_column(Text)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffEntryRow(OnRecord, Base):
    """Points no email proves (media coverage, innovation awards), entered by staff, never deleted."""

    __tablename__ = "staff_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # media | innovation
    level: Mapped[str] = mapped_column(String(16))
    date: Mapped[date] = mapped_column(Date)
    evidence: Mapped[str] = mapped_column(Text)


class OutboxMail(Base):
    """An outgoing mail, written here before it is sent; `cause` makes a second one for the same reason
    impossible (a receipt per message, a digest per month, a reminder per unit and month)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cause: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # receipt | selfcheck | change | digest | reminder
    recipients: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    about_message: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"), index=True)
    # pending | sending | sent | failed (refused for good: the receiving server answered 5xx, never tried again)
    # | withdrawn (no longer owed before it went: never sent, why in last_error)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MailboxState(Base):
    """Where the last poll of a mailbox folder stopped, and how it went."""

    __tablename__ = "mailbox_state"

    mailbox: Mapped[str] = mapped_column(String(64), primary_key=True)
    folder: Mapped[str] = mapped_column(Text)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    watch: Mapped[str | None] = mapped_column(String(16))  # how the running daemon waits: idle | poll
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it looks next, as it planned


class OwedReply(Base):
    """A reply owed, recorded in the same commit as what makes it owed (a message stored, a correction),
    and queued into the outbox later by the sender: a crash between the two loses nothing."""

    __tablename__ = "owed_reply"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cause: Mapped[str] = mapped_column(String(200), unique=True)  # the outbox cause it becomes
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # receipt | selfcheck (a 自查's answer) | change (staff made it count)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    owed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    note: Mapped[str | None] = mapped_column(Text)  # a change's why, in the staff's words


class Spooled(Base):
    """A message archived raw and not yet derived (archive/spool.py): where it was seen, as its source said.
    The commit that stores the message deletes the row."""

    __tablename__ = "spooled"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    mailbox: Mapped[str | None] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(16))
    arrival: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the server's time, when the source knows it
    folder: Mapped[str | None] = mapped_column(Text)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    origin: Mapped[str | None] = mapped_column(Text)
    spooled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DerivationAttempt(Base):
    """A message whose derivation has started and not ended (archive/attempts.py): one row per attempt,
    `alone` when the message was derived by itself because an earlier attempt never ended."""

    __tablename__ = "derivation_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    alone: Mapped[bool] = mapped_column(Boolean)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Rewrite(Base):
    """A batch of messages whose derived rows re-derivation rewrote (archive/rederive.py). With the newest
    message's id, the newest of these says whether anything computed from the whole archive (the findings)
    may have changed since it was computed (archive.findings.archive_version)."""

    __tablename__ = "rewrite"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    messages: Mapped[int] = mapped_column(Integer)


class JobRun(Base):
    """A scheduled job done for its period (reminders or the digest of a month), committed with its mail."""

    __tablename__ = "job_run"

    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime)
    summary: Mapped[str] = mapped_column(Text)


class ArchiveIdentity(Base):
    """The identity of the archive folder this database belongs to (archive/pairing.py): one row."""

    __tablename__ = "archive_identity"

    archive_id: Mapped[str] = mapped_column(String(36), primary_key=True)


class ClosedYear(Base):
    """A plan year closed (`mailroom year close`): its months' figures are kept (ClosedMonth) as they were, with
    the plan (scoring.plans.Plan.fingerprint) and the derivation stamp they were computed under."""

    __tablename__ = "closed_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_by: Mapped[str] = mapped_column(String(64))
    plan_hash: Mapped[str] = mapped_column(String(64))
    derived_with: Mapped[str] = mapped_column(String(64))


class ClosedMonth(Base):
    """One month of a closed year: its standings (every component with every point, which is each unit's
    explanation) and its matrix, as JSON."""

    __tablename__ = "closed_month"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("closed_year.year"), index=True)
    standings: Mapped[dict[str, Any]] = mapped_column(JSON)
    matrix: Mapped[dict[str, Any]] = mapped_column(JSON)


Index("ix_message_unit_month_kind", Message.unit, Message.month, Message.kind)
# One correction in force per message (0021): of two submitted at once, the second can never stand beside it.
Index(
    "uq_correction_in_force",
    CorrectionRow.message_sha256,
    unique=True,
    sqlite_where=CorrectionRow.revoked_at.is_(None),
    postgresql_where=CorrectionRow.revoked_at.is_(None),
)
# The messages a staff decision marked due for derivation (0022): what a running `serve` looks for each minute.
Index(
    "ix_message_derive_due",
    Message.id,
    sqlite_where=Message.derived_with.is_(None),
    postgresql_where=Message.derived_with.is_(None),
)
Index(
    "ix_message_attention",
    Message.attention,
    sqlite_where=Message.attention.is_not(None),
    postgresql_where=Message.attention.is_not(None),
)


class WebUser(Base):
    """An account of `mailroom web`: staff see everything; auditors read, personal numbers masked unless
    `personal` was granted; a unit's clerk (role unit) uses the 自查 page and sees nothing of the archive.
    `session_token` is in every session cookie of the account: a new password, role or grant, a logout or
    removing the account replaces it, and every older session dies with it."""

    __tablename__ = "web_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)  # werkzeug scrypt, never the password
    role: Mapped[str] = mapped_column(String(16))  # staff | auditor | unit
    personal: Mapped[bool] = mapped_column(Boolean)
    session_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    unit: Mapped[str | None] = mapped_column(String(64))  # role unit: the unit whose clerk it is


class LoginFailure(Base):
    """A failed login to `mailroom web`: enough of them for one name, or from one client address, within a
    window lock that name or address for a while (archive.users.Throttle). Rows too old to matter are
    deleted at the next login."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name_key: Mapped[str] = mapped_column(String(64), index=True)  # SHA-256 of the name tried, never the name
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
