"""Addresses staff confirmed as a unit's: who, when, why, from which date; revoked, never deleted.
Recognition counts them as the unit's registered senders (parsers.derive.Recognizer.confirmed)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, tzinfo
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import parseaddr

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.entries import hold, person_on_record, reason_on_record
from archive.models import Message, StaffSenderRow
from parsers.errors import InputError, MailroomError
from parsers.records import Unit
from parsers.unit_names import units_for_sender


def confirmed_senders(session: Session) -> tuple[tuple[str, str, date | None], ...]:
    """(unit, address, since) of every confirmation in force."""
    return tuple(
        (row.unit, row.address, row.since)
        for row in session.scalars(
            select(StaffSenderRow).where(StaffSenderRow.revoked_at.is_(None)).order_by(StaffSenderRow.id)
        )
    )


def plain_address(text: str) -> str:
    """`text` as the one bare address it must be (local@domain, lower case), else InputError. A confirmation
    is matched byte for byte against each message's From address, so anything else ("notanemail", a
    display name, two addresses, a domain without a dot) would be recorded and then never match: a unit
    told its address was confirmed whose mail still does not count. The standard library parses it; what
    it parses must be the whole text, with no name, comment or quoting around the address."""
    candidate = text.strip()
    try:
        address = Address(addr_spec=candidate)
    except (ValueError, IndexError, HeaderParseError):  # its parser's ways of saying "not an addr-spec"
        address = None
    plain = (
        address is not None
        and parseaddr(candidate) == ("", candidate)
        and address.addr_spec == candidate
        and not any(char.isspace() or char in '<>"[]' for char in candidate)
        and "." in address.domain
    )
    if not plain:
        raise InputError(
            f"{candidate!r} 不是一个邮箱地址：只写地址本身，形如 jxcl2020@163.com"
            "（不带姓名、尖括号或空格，域名中要有“.”）"
        )
    return candidate.lower()


def add_sender(
    session: Session,
    unit: str,
    address: str,
    reason: str,
    by: str,
    since: date | None,
    own: Collection[str] = (),
    *,
    zone: tzinfo,
    configured: Sequence[Unit] = (),
) -> StaffSenderRow:
    """Confirm `address` (refused unless a plain address: plain_address) as `unit`'s. One of our own mailboxes
    (`own`: the configured department mailboxes, Config.own_addresses) is refused: staff forward and write from
    it, and confirmed it would count all their mail, every unit's forwards alike, as `unit`'s. An address the
    configuration gives a unit (`configured`: the configured units, of every year) is refused too: the unit's
    own (by its name or an alias: a renamed unit's) needs no confirming, and another unit's cannot be confirmed
    past the configuration. A blank or
    overlong reason, or no name, is refused (reason_on_record, person_on_record), whichever door calls.

    Checked while holding the address (archive.entries.hold) until the caller commits, so of two confirming it
    at once (two commands, a double-clicked button) the second is told it is confirmed already."""
    reason = reason_on_record(reason, "确认原因")
    by = person_on_record(by, "确认人")
    address = plain_address(address)
    if address in {mailbox.strip().lower() for mailbox in own}:
        raise MailroomError(
            f"{address} 是我们自己的部门邮箱（配置中的邮箱），不能确认为 {unit} 的报送邮箱：工作人员转发的单位邮件"
            "按原发件人识别；原发件人不是该单位的报送邮箱时，"
            "请更正该邮件并选择计分（“更正”，或 mailroom correct --counted）"
        )
    holders = units_for_sender(address, configured)
    if any(unit == holder.name or unit in holder.aliases for holder in holders):
        raise MailroomError(f"{address} 已是配置中 {unit} 的报送邮箱，无需确认")
    if holders:
        raise MailroomError(
            f"{address} 是配置中 {holders[0].name} 的报送邮箱，不能确认为 {unit} 的：一个地址只属于一个单位；"
            "如该地址确已改由其他单位使用，请修改配置文件中两个单位的 senders"
        )
    hold(session, f"staff_sender:{address}")
    for row in session.scalars(
        select(StaffSenderRow)
        .where(StaffSenderRow.address == address, StaffSenderRow.revoked_at.is_(None))
        .execution_options(populate_existing=True)
    ):
        raise MailroomError(
            f"{address} 已于 {row.entered_at.astimezone(zone):%Y-%m-%d} 由 {row.entered_by} 确认为 {row.unit} 的"
            f"报送邮箱（#{row.id}）；如需改为其他单位，请先 sender remove"
        )
    row = StaffSenderRow(
        unit=unit,
        address=address,
        since=since,
        reason=reason,
        entered_by=by,
        entered_at=datetime.now(UTC),
    )
    session.add(row)
    return row


def confirmed_because(address: str, unit: str, reason: str) -> str:
    """What the notice to a sender whose mail a confirmation made count says was decided, and why."""
    return f"{address} 已确认为{unit}的报送邮箱（{reason}）"


def remove_sender(
    session: Session, unit: str, address: str, reason: str, by: str, aliases: Collection[str] = ()
) -> StaffSenderRow:
    """Revoke a confirmation, read while holding the address as add_sender holds it (of two revoking it at
    once the second finds it revoked). The address is not checked as add_sender checks it: one recorded before
    that check (any text) must still be revocable. One recorded under an alias of `unit` (its name before a
    rename) is `unit`'s, as it counts for it. A blank or overlong reason, or no name, is refused."""
    reason = reason_on_record(reason, "撤销原因")
    by = person_on_record(by, "撤销人")
    address = address.strip().lower()
    hold(session, f"staff_sender:{address}")
    row = session.scalars(
        select(StaffSenderRow)
        .where(
            StaffSenderRow.unit.in_((unit, *aliases)),
            StaffSenderRow.address == address,
            StaffSenderRow.revoked_at.is_(None),
        )
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise MailroomError(f"{address} 没有被确认为 {unit} 的报送邮箱（配置文件中的邮箱请在配置中修改）")
    row.revoke(by, reason)
    return row


def staff_senders(session: Session, spellings: Collection[str] = ()) -> list[StaffSenderRow]:
    """Every confirmation, revoked ones too; with `spellings`, those of a unit by its name or an alias (one
    confirmed for a unit renamed since is recorded under its old name)."""
    query = select(StaffSenderRow).order_by(StaffSenderRow.unit, StaffSenderRow.id)
    return list(session.scalars(query.where(StaffSenderRow.unit.in_(spellings)) if spellings else query))


def messages_from(session: Session, address: str) -> list[int]:
    """The messages sent from an address: those a change of its confirmation derives again."""
    return list(
        session.scalars(
            select(Message.id).where(func.lower(Message.from_addr) == address.strip().lower()).order_by(Message.id)
        )
    )
