"""The attention queue (待处理): what needs a person, and staff's marks of what they handled, kept by each
item's stable key (a message's SHA-256 and the reason, or a finding's text).

A message's reasons are part of what it was derived into (replies.attention, stored in message.attention
by the same write as the rest: a re-derivation or a correction changes them at once), so its items are
read through an index of the few messages that have any, never the whole archive. The findings are
computed across the archive: the caller passes how (the web app keeps them while nothing changed,
archive.findings.FindingsMemo).

Items: mail from an unregistered address that names a unit; a registered sender's mail that is neither
a report nor a briefing (a question wants an answer); a unit's mail with an unreadable attachment, a
package without a readable form, or a 超大附件 link instead of files; mail recognition or storage could
not handle; honesty findings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.corrections import in_force
from archive.evidence import summary_reports
from archive.findings import all_findings
from archive.models import Message, QueueHandledRow
from parsers.errors import MailroomError
from scoring.evidence import FINDING_LABELS, Finding

REASONS = {
    "unregistered": (
        "未登记的发件地址，邮件写明了单位：请核实是否为该单位的报送邮箱"
        "（核实后在“待处理”页确认，或 mailroom sender add）"
    ),
    "question": "已登记单位的来信，既非报表也非简报：可能需要人工答复",
    "unreadable": "附件无法读取或没有识别出表格：请核对原件，必要时联系单位重发",
    "link": "邮件是“超大附件”下载链接，没有附件：请联系单位把表格作为附件重发",
    "failed": "识别或保存时出错，已归档原件：请人工核对",
    "finding": "核查发现",
}
Findings = Callable[[Session], list[Finding]]


def every_finding(session: Session) -> list[Finding]:
    """The findings as they are now (what a command asks once)."""
    return all_findings(session, summary_reports(session))


@dataclass(frozen=True)
class Item:
    key: str  # stable: kept with staff's mark (a message's SHA-256, or a digest of a finding)
    handle: str  # what people type: "12-question", "F3a9c01d2"
    reason: str  # a REASONS key
    text: str
    unit: str | None
    message_ids: tuple[int, ...]
    handled_by: str | None = None
    handled_at: datetime | None = None
    note: str | None = None


def attention(session: Session, include_handled: bool = False, findings: Findings = every_finding) -> list[Item]:
    """Every item, oldest message first, then the findings; handled ones only when asked (they stay
    searchable). Reads the messages that have reasons, the findings, and staff's marks and corrections of
    those: the queue's own size."""
    items = [*_message_items(session), *_finding_items(findings(session))]
    handled = {row.key: row for row in session.scalars(select(QueueHandledRow))}
    corrected = set(in_force(session, [item.key.split(":")[1] for item in items if item.key.startswith("message:")]))
    marked = []
    for item in items:
        row = handled.get(item.key)
        if row is None and item.key.startswith("message:") and item.key.split(":")[1] in corrected:
            continue  # a correction of the message handles it
        if row is None:
            marked.append(item)
        elif include_handled:
            marked.append(replace(item, handled_by=row.handled_by, handled_at=row.handled_at, note=row.note))
    return marked


def waiting(session: Session, findings: Findings = every_finding) -> int:
    """How many items wait for a person (the count in the web menu)."""
    return len(attention(session, findings=findings))


def mark_handled(session: Session, handle: str, note: str, by: str) -> QueueHandledRow:
    """Mark the item `handle` names as handled, with a note."""
    item = next((item for item in attention(session, include_handled=True) if item.handle == handle), None)
    if item is None:
        raise MailroomError(f"待处理事项中没有 {handle}（mailroom queue 列出各项的编号）")
    if item.handled_by is not None:
        raise MailroomError(f"该事项已于 {item.handled_at:%Y-%m-%d} 由 {item.handled_by} 处理：{item.note}")
    row = QueueHandledRow(key=item.key, note=note.strip(), handled_by=by, handled_at=datetime.now(UTC))
    session.add(row)
    return row


def _message_items(session: Session) -> list[Item]:
    # Sorted here, not by the database: asked to order by arrival, SQLite walks the arrival index over the
    # whole archive instead of reading the few rows the partial index holds.
    rows = sorted(
        session.execute(
            select(Message.arrival, Message.id, Message.sha256, Message.subject, Message.unit, Message.attention).where(
                Message.attention.is_not(None)
            )
        )
    )
    return [
        Item(f"message:{sha}:{reason}", f"{id_}-{reason}", reason, subject or "（无主题）", unit, (id_,))
        for _, id_, sha, subject, unit, reasons in rows
        for reason in cast(str, reasons).split()  # the query keeps attention IS NOT NULL
    ]


def _finding_items(findings: list[Finding]) -> list[Item]:
    items = []
    for finding in findings:
        digest = hashlib.sha256(f"{finding.kind}\n{finding.unit}\n{finding.message}".encode()).hexdigest()[:16]
        items.append(
            Item(
                f"finding:{digest}",
                f"F{digest[:8]}",
                "finding",
                f"{FINDING_LABELS.get(finding.kind, finding.kind)}：{finding.message}",
                finding.unit,
                tuple(finding.message_ids),
            )
        )
    return items
