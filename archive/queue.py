"""The attention queue (待处理): what needs a person, and staff's marks of what they handled, kept by each
item's stable key (a message's SHA-256 and the reason, or a digest of a finding's masked text).

A finding's key, and the handle shown from it (F + its first 8 hex digits), are computed from what a viewer
without the personal grant is shown of it: its text masked, and where its person is registered. A digest of
the text whole would hand out a function of a 证号's hidden digits, which a script inverts by trying them all
(a birth date and a sequence number: seconds). Marks staff made under the earlier keys, digests of the text
whole, keep matching (_earlier_keys): they are only looked up, never shown.

A message's reasons are part of what it was derived into (replies.attention, stored in message.attention
by the same write as the rest: a re-derivation or a correction changes them at once), so its items are
read through an index of the few messages that have any, never the whole archive. The findings are
computed across the archive: the caller passes how (the web app keeps them while nothing changed,
archive.findings.FindingsMemo).

Items: a submission whose unit neither its subject nor its sender tells (the units its forms' titles name
are suggested); mail from an unregistered address that names a unit; a unit's mail staff forwarded whose
original sender is not the unit's; a registered sender's mail naming another unit; a registered sender's
mail that is neither a report nor a briefing (a question wants an answer); a unit's mail with an unreadable attachment,
a package without a readable form, or a 超大附件 link instead of files; a form whose own title names another
unit or month than its mail (replies.mismatch); mail recognition or storage could not handle; a bounce of our
mail, and our mail the receiving server refused for good (a unit that never got its receipt); honesty
findings, one wrongly attached registry's persons registered by two units one item (its persons in the
item's detail).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.corrections import in_force
from archive.entries import hold, written
from archive.evidence import summary_reports
from archive.findings import NO_UNIT, PersonFinding, all_findings, shared_groups
from archive.models import CorrectionRow, FormReadingRow, Message, OutboxMail, QueueHandledRow
from archive.outbox import KIND_TEXT, reminder_of
from parsers.errors import MailroomError
from parsers.privacy import mask_personal
from parsers.recognize import units_named_together
from replies.mismatch import Mismatch, mismatches, staff_line, staff_summary
from scoring.evidence import FINDING_LABELS, Finding

REASONS = {
    "nounit": (
        "主题和发件地址都看不出是哪个单位的报送：请核实发件人，确认其报送邮箱（mailroom sender add；表格标题"
        "写明了单位时，“待处理”页有确认按钮），或更正该邮件的单位并选择计分（“更正”，或 mailroom correct --counted）"
    ),
    "unregistered": (
        "未登记的发件地址，邮件写明了单位：请核实是否为该单位的报送邮箱"
        "（核实后在“待处理”页确认，或 mailroom sender add）"
    ),
    "nosender": (
        "发件人（From）写了多个地址或没有可辨认的地址，无法确定是谁发来的，可能是冒用单位的报送邮箱；"
        "没有发回执，不计分：请查看原件的发件人，核实确是该单位的报送后，更正该邮件并选择计分"
        "（“更正”，或 mailroom correct --counted）"
    ),
    "forwarded": (
        "工作人员转发（或从部门邮箱直接发出）的单位报送，原邮件的发件人不是该单位登记的报送邮箱"
        "（或邮件中没有原发件人），暂不计分："
        "请核实原邮件确是该单位报送后，更正该邮件并选择计分（“更正”，或 mailroom correct --counted）；"
        "不要把转发它的部门邮箱确认为单位的报送邮箱"
    ),
    "conflict": (
        "已登记单位的报送邮箱发来的邮件，主题（或附件名）写的却是另一个单位，"
        "已按发件邮箱的单位记录{told}：请核实是哪个单位的报送，"
        "如属另一单位请更正该邮件的单位（“更正”，或 mailroom correct --unit）"
    ),
    "unplanned": (
        "单位不在该邮件所属月份的年度计划中（可能已合并或更名），不计入任何单位{told}："
        "请核实后更正该邮件的单位（“更正”，或 mailroom correct --unit）"
    ),
    "question": "已登记单位的来信，既非报表也非简报：可能需要人工答复",
    "unreadable": "附件无法读取或没有识别出表格：请核对原件，必要时联系单位重发",
    "link": (
        "邮件中是“超大附件”、网盘或在线文档的下载链接，链接里的文件系统无法下载{told}：请联系单位把表格作为附件重发"
    ),
    "mismatch": "表格标题写的单位或月份与邮件不符{told}：请核对是否附错了文件，必要时更正邮件或联系单位重发",
    "failed": "识别或保存时出错，已归档原件：请人工核对",
    "bounced": (
        "退信：从该邮箱发出的邮件（回执、催报、通报，或工作人员发出的邮件）未能送达：请按退信正文中的原因处理"
        "（地址写错、对方邮箱已满等），必要时电话告知对方邮件的内容"
    ),
    "refused": (
        "我方发出的邮件被对方服务器拒收，不会再发：请按服务器所说的原因核对收件地址（单位的报送邮箱，或配置 "
        "[smtp] staff），必要时电话告知对方；通报可按上面所说的命令重新发送"
    ),
    "finding": "核查发现",
}
SEVERAL_UNITS = (
    "未登记的发件地址发来多个单位的表格，可能是代各单位转发：不要把该地址确认为其中一个单位的报送邮箱（其他单位的表格会随之"
    "计入该单位）；请逐个单位核实后更正（“更正”，或 mailroom correct），或请各单位用登记的邮箱重发"
)
# Whether the sender was told, as its reason says it: a receipt goes to registered senders only (SPEC).
TOLD, NOT_TOLD = "（回执已告知单位）", "（发件地址未登记，没有发回执，单位尚不知道）"
Findings = Callable[[Session], list[Finding]]
_LONG_AGO = datetime.min.replace(tzinfo=UTC)
SENDER_REASONS = ("unregistered", "nounit")  # whose item names the sender's address: it is what is confirmed


def every_finding(session: Session) -> list[Finding]:
    """The findings as they are now (what a command asks once)."""
    return all_findings(session, summary_reports(session))


@dataclass(frozen=True)
class Item:
    key: str  # stable: kept with staff's mark (a message's SHA-256, or a digest of a finding's masked text)
    handle: str  # what people type: "12-question", "F3a9c01d2"
    reason: str  # a REASONS key
    text: str
    unit: str | None
    message_ids: tuple[int, ...]
    detail: tuple[str, ...] = ()  # what the text sums up: each form disagreeing with its mail, each person
    suggested_units: tuple[str, ...] = ()  # "nounit": the units the message's forms' titles name
    sender: str | None = None  # "unregistered", "nounit": the address staff are asked to confirm
    handled_by: str | None = None
    handled_at: datetime | None = None
    note: str | None = None
    answered: bool = True  # its message's sender got a receipt (a registered one)
    several_units: tuple[str, ...] = ()  # "unregistered", "nounit": the units a mail names or brings forms of, if 2+

    @property
    def reason_text(self) -> str:
        if self.several_units and self.reason in SENDER_REASONS:  # no one unit's address to confirm
            return SEVERAL_UNITS
        return REASONS[self.reason].replace("{told}", TOLD if self.answered else NOT_TOLD)

    @property
    def correctable(self) -> int | None:
        """The one message whose correction handles this item; None for a finding, or our own mail refused."""
        if self.reason in ("finding", "refused") or len(self.message_ids) != 1:
            return None
        return self.message_ids[0]


def attention(session: Session, include_handled: bool = False, findings: Findings = every_finding) -> list[Item]:
    """Every item, oldest message first, then the findings; handled ones only when asked (they stay
    searchable). Reads the messages that have reasons, the outbox's refused mail, the findings, and staff's
    marks and corrections of those: the queue's own size."""
    found = findings(session)
    items = [*_message_items(session), *_refused_items(session), *_finding_items(found)]
    handled = {row.key: row for row in session.scalars(select(QueueHandledRow))}
    unmatched = {key for key in handled if key.startswith("finding:")} - {item.key for item in items}
    if unmatched:  # marks made before the keys were made from masked text, or named the messages
        earlier = {
            key: (olds, ids) for key, (olds, ids) in _earlier_keys(found).items() if unmatched.intersection(olds)
        }
        wanted = {message_id for _, ids in earlier.values() for message_id in ids}
        rows = session.execute(select(Message.id, Message.archived_at).where(Message.id.in_(wanted)))
        archived = {message_id: at for message_id, at in rows}
        for key, (olds, ids) in earlier.items():
            # a mark stands for what was there when it was made: not for a finding of the same text on mail since
            old = next(
                (
                    old
                    for old in olds
                    if old in unmatched and all(archived.get(i, _LONG_AGO) <= handled[old].handled_at for i in ids)
                ),
                None,
            )
            if old is not None and key not in handled:
                handled[key] = handled[old]
    corrected = in_force(session, [item.key.split(":")[1] for item in items if item.key.startswith("message:")])
    marked = []
    for item in items:
        row = handled.get(item.key)
        _, sha, reason = item.key.split(":", 2) if item.key.startswith("message:") else ("", "", "")
        if row is None and sha in corrected and _settles(corrected[sha], reason):
            continue
        if row is None:
            marked.append(item)
        elif include_handled:
            marked.append(replace(item, handled_by=row.handled_by, handled_at=row.handled_at, note=row.note))
    return marked


def _settles(correction: CorrectionRow, reason: str) -> bool:
    """Whether a correction in force on a message handles its item of `reason`: it does, but not a failure to
    read it (its file missing), nor the sender's mail still not counting when the correction left that as it
    was (a unit given, 计分不变: confirming the sender or counting it is still to do, or marking it handled), nor
    a mail of no unit when the correction gave it none."""
    if reason == "failed":
        return False
    if reason == "nounit":  # a month or kind corrected leaves the unit still to tell
        return correction.unit is not None or correction.counted is not None
    return reason != "unregistered" or correction.counted is not None


def waiting(session: Session, findings: Findings = every_finding) -> int:
    """How many items wait for a person (the count in the web menu)."""
    return len(attention(session, findings=findings))


def mark_handled(
    session: Session, handle: str, note: str, by: str, *, zone: tzinfo, findings: Findings = every_finding
) -> QueueHandledRow:
    """Mark the item `handle` names as handled, with a note: checked again while holding its key, so that two
    staff marking it at once (a double click) get the second told it is handled, where it was a 500 page."""
    items = attention(session, include_handled=True, findings=findings)
    item = next((item for item in items if item.handle == handle), None)
    if item is None:
        raise MailroomError(f"待处理事项中没有 {handle}（mailroom queue 列出各项的编号）")
    if item.handled_by is None:
        hold(session, f"queue:{item.key}")
        if (done := session.get(QueueHandledRow, item.key)) is not None:
            item = replace(item, handled_by=done.handled_by, handled_at=done.handled_at, note=done.note)
    if item.handled_by is not None and item.handled_at is not None:
        raise MailroomError(
            f"该事项已于 {item.handled_at.astimezone(zone):%Y-%m-%d} 由 {item.handled_by} 处理：{item.note}"
        )
    row = QueueHandledRow(key=item.key, note=written(note), handled_by=by, handled_at=datetime.now(UTC))
    session.add(row)
    return row


def _message_items(session: Session) -> list[Item]:
    # Sorted here, not by the database: asked to order by arrival, SQLite walks the arrival index over the
    # whole archive instead of reading the few rows the partial index holds.
    rows = sorted(
        session.execute(
            select(
                Message.arrival,
                Message.id,
                Message.sha256,
                Message.subject,
                Message.unit,
                Message.attention,
                Message.month,
                Message.month_source,
                Message.from_addr,
                Message.registered,
                Message.problems,
            ).where(Message.attention.is_not(None))
        )
    )
    forms = _forms_of(
        session, [row.id for row in rows if {"nounit", "mismatch", "unregistered"} & set(row.attention.split())]
    )
    items = []
    for row in rows:
        for reason in cast(str, row.attention).split():  # the query keeps attention IS NOT NULL
            item = Item(
                f"message:{row.sha256}:{reason}",
                f"{row.id}-{reason}",
                reason,
                row.subject or "（无主题）",
                row.unit,
                (row.id,),
                sender=row.from_addr if reason in SENDER_REASONS else None,
                answered=bool(row.registered),
            )
            if reason == "nounit":
                item = _unit_suggested(item, forms.get(row.id, []))
            elif reason == "mismatch":
                item = _mismatched(item, mismatches(row, forms.get(row.id, [])))
            elif reason == "unregistered":
                item = _several_units(item, forms.get(row.id, []), row.problems or [])
            items.append(item)
    return items


def _refused_items(session: Session) -> list[Item]:
    """Our own mail the receiving server refused for good (OutboxMail "failed": never tried again by itself):
    a receipt a unit never got is for a person to tell it, as a bounce after acceptance is ("bounced"). Read
    through the outbox's state index: the few refused, never the whole outbox."""
    rows = session.execute(
        select(
            OutboxMail.id,
            OutboxMail.cause,
            OutboxMail.message_id,
            OutboxMail.kind,
            OutboxMail.recipients,
            OutboxMail.last_error,
            Message.unit,
            OutboxMail.about_message,
        )
        .outerjoin(Message, Message.id == OutboxMail.about_message)
        .where(OutboxMail.state == "failed")
        .order_by(OutboxMail.id)
    )
    return [
        Item(
            f"outbox:{cause}:{message_id}",  # a mail stored again in its place (queue_again) is another mail
            f"R{mail_id}",
            "refused",
            f"{KIND_TEXT.get(kind, kind)}未能发出：{error or f'{recipients}：对方服务器拒收'}",
            unit or _reminded_unit(cause),
            (about,) if about is not None else (),
        )
        for mail_id, cause, message_id, kind, recipients, error, unit, about in rows
    ]


def _reminded_unit(cause: str) -> str | None:
    """The unit a reminder was for (no message of theirs is about it); None for any other mail."""
    reminded = reminder_of(cause)
    return reminded.unit if reminded else None


def _forms_of(session: Session, message_ids: list[int]) -> dict[int, list[FormReadingRow]]:
    """The forms read from these messages (the few the queue names), in the order they were read."""
    forms: dict[int, list[FormReadingRow]] = {}
    if message_ids:
        for form in session.scalars(
            select(FormReadingRow).where(FormReadingRow.message_id.in_(message_ids)).order_by(FormReadingRow.id)
        ):
            forms.setdefault(form.message_id, []).append(form)
    return forms


def _unit_suggested(item: Item, forms: list[FormReadingRow]) -> Item:
    """A submission of no unit: the units its forms' titles name, for staff to confirm the sender as one."""
    units = _form_units(forms)
    named = f"表格标题写的单位：{'、'.join(units)}" if units else "附件中也没有写明单位"
    several = units if len(units) > 1 else ()
    return replace(item, text=f"{item.text}（{named}）", suggested_units=units, several_units=several)


def _several_units(item: Item, forms: list[FormReadingRow], problems: list[str]) -> Item:
    """An unregistered address's mail carrying several units' forms, or naming several units (a city person
    forwarding three counties' packages): no unit's address to confirm, which would count the others' forms as
    one unit's and lose them."""
    units = tuple(dict.fromkeys((*units_named_together(problems), *_form_units(forms))))
    if len(units) < 2:
        return item
    return replace(item, text=f"{item.text}（涉及多个单位：{'、'.join(units)}）", several_units=units)


def _form_units(forms: list[FormReadingRow]) -> tuple[str, ...]:
    """The units the forms' titles name, each once, in the order read."""
    return tuple(dict.fromkeys(form.unit for form in forms if form.unit))


def _mismatched(item: Item, found: list[Mismatch]) -> Item:
    """Which forms disagree with the mail and how; each one in the detail."""
    if not found:  # re-derived since: the stored reason is older than its forms (never, but say so plainly)
        return item
    return replace(
        item,
        text=f"{item.text}：{staff_summary(found)}",
        detail=tuple(staff_line(mismatch) for mismatch in found),
    )


def _finding_items(findings: list[Finding]) -> list[Item]:
    """One item a finding, except the persons registered by two units: one item a message and form that
    brought them (archive.findings.shared_groups), each person in its detail. A group of one person keeps
    the key its finding has (_finding_key), so what staff marked before grouping stays marked."""
    items = [_finding_item(finding) for finding in findings if not isinstance(finding, PersonFinding)]
    for group in shared_groups(findings):
        if len(group.persons) == 1:
            single = _finding_item(group.persons[0])
            items.append(replace(single, detail=(group.persons[0].message,)))
            continue
        digest = _digest(f"person_in_two_units\n{group.form}\n{group.message_id}\n{'、'.join(group.others)}")
        message_ids = sorted({id_ for person in group.persons for id_ in person.message_ids})
        items.append(
            Item(
                f"finding:{digest}",
                f"F{digest[:8]}",
                "finding",
                f"{FINDING_LABELS['person_in_two_units']}：{group.summary()}",
                group.unit or NO_UNIT,
                (group.message_id, *(id_ for id_ in message_ids if id_ != group.message_id)),
                detail=tuple(person.message for person in group.persons),
            )
        )
    return items


def _finding_item(finding: Finding) -> Item:
    digest = _finding_key(finding)
    return Item(
        f"finding:{digest}",
        f"F{digest[:8]}",
        "finding",
        f"{FINDING_LABELS.get(finding.kind, finding.kind)}：{finding.message}",
        finding.unit,
        tuple(finding.message_ids),
    )


@lru_cache(maxsize=16384)  # the web asks on every page for the menu's count, of the findings it keeps
def _finding_key(finding: Finding) -> str:
    """A finding's key, from what a viewer without the grant is shown of it, so it is the same whatever a
    hidden digit is: its kind, unit and text masked and, for a person, where they are first registered (message,
    sheet, row: two persons whose masked texts are the same are told apart by it); for any other, the messages
    it stands on (the same wrong figure in September's 附件2 and November's is two findings, each handled apart)."""
    if isinstance(finding, PersonFinding) and finding.places:
        _, message_id, sheet, row = finding.places[0]
        return _digest(f"{_masked_text(finding)}\n{message_id}\n{mask_personal(sheet)}\n{row}")
    return _digest(f"{_masked_text(finding)}\n{' '.join(map(str, sorted(finding.message_ids)))}")


def _masked_text(finding: Finding) -> str:
    return f"{finding.kind}\n{finding.unit}\n{mask_personal(finding.message)}"


def _earlier_keys(findings: list[Finding]) -> dict[str, tuple[list[str], tuple[int, ...]]]:
    """By each finding item's key, the keys its finding had before, where they differ, and the messages it stands
    on: a digest of its text whole (the 证号 unmasked); of its text masked alone (before a finding other than a
    person's named its messages); and, for a person in two units, the key it had when it was filed under the first
    of the units by name (before it went under the unit whose registry brought them: archive.findings). Staff's
    marks under those keys still handle it, when its messages were all archived by then (attention). Looked up
    among the marks only, never shown or given out."""
    earlier: dict[str, tuple[list[str], tuple[int, ...]]] = {}
    for finding in findings:
        key = _finding_key(finding)
        olds = [_digest(f"{finding.kind}\n{finding.unit}\n{finding.message}"), _digest(_masked_text(finding))]
        if isinstance(finding, PersonFinding) and finding.places:
            first = min((unit for unit, *_ in finding.places if unit), default=finding.unit)
            if first != finding.unit:
                was = replace(finding, unit=first)
                olds += [_finding_key(was), _digest(f"{was.kind}\n{was.unit}\n{was.message}")]
        earlier[f"finding:{key}"] = ([f"finding:{old}" for old in olds if old != key], tuple(finding.message_ids))
    return earlier


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
