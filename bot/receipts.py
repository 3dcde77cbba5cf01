"""Receipts for newly archived messages: facts from the archive, the decision from replies/, into the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from archive.evidence import briefing_count, package_arrivals
from archive.models import Message, OutboxMail
from archive.outbox import queue_mail
from bot.config import Config
from bot.render import compose, render_pair
from parsers.forms import FORM_TITLES
from replies.receipt import FileFacts, MessageFacts, Receipt, owes_receipt, receipt_for
from scoring.evidence import TASK_LABELS
from scoring.packages import package_status
from scoring.settings import month_label

KIND_TEXT = {"report": "月度报表", "briefing": "简报信息", "other": "其他来信"}


def queue_receipts(config: Config, session: Session, message_ids: Iterable[int], now: datetime) -> int:
    """Queue a receipt for each new message that is owed one; returns how many were queued."""
    ids = list(message_ids)
    if not ids:
        return 0
    queued = 0
    for message in session.scalars(select(Message).where(Message.id.in_(ids))
                                   .options(selectinload(Message.readings), selectinload(Message.attachments))):
        facts = message_facts(message)
        recent = _receipts_since(session, facts.sender or "", now - timedelta(hours=1))
        out = config.outgoing
        max_age = timedelta(days=out.receipts_max_age_days) if out.receipts_max_age_days else None
        if not owes_receipt(facts, config.own_addresses, recent, out.receipts_per_hour, now, max_age):
            continue
        package = number = None
        if facts.kind == "briefing":
            number = briefing_count(session, facts.unit, config.calendar.month_of(facts.arrival), config.calendar) \
                if facts.unit else 0
        elif facts.month:
            arrivals = package_arrivals(session, facts.unit, facts.month)
            package = package_status(facts.unit, facts.month, arrivals, config.calendar, now)
        receipt = receipt_for(facts, package, number, config.scoring.briefings_per_month)
        queued += queue_mail(session, f"receipt:{message.id}", "receipt", _compose(config, receipt, now), now,
                             about_message=message.id) is not None
    session.commit()
    return queued


def message_facts(message: Message) -> MessageFacts:
    files = tuple(FileFacts(r.source, r.form, r.readable, r.rows,
                            {t: f.get("done") for t, f in r.tasks.items()} if r.form == 2 else None,
                            tuple(_problem_text(p) for p in r.problems)) for r in message.readings)
    return MessageFacts(
        id=message.id, kind=message.kind, unit=message.unit, month=message.month, registered=message.registered,
        sender=message.from_addr, subject=message.subject, message_id=message.message_id, references=(),
        arrival=message.arrival, body_text=message.body_text,
        attachment_names=tuple(a.filename for a in message.attachments), files=files)


def _problem_text(problem: dict[str, Any]) -> str:
    place = "".join(str(x) for x in (problem.get("column") or "", problem.get("row") or ""))
    where = " ".join(x for x in (problem.get("sheet") or "", place) if x)
    return f"［{where}］{problem['message']}" if where else problem["message"]


def _receipts_since(session: Session, address: str, since: datetime) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMail).where(
        OutboxMail.kind == "receipt", OutboxMail.recipients == address, OutboxMail.created_at >= since))


def _compose(config: Config, receipt: Receipt, now: datetime):
    context = dict(receipt.context)
    zone = config.timezone
    context.update(
        arrival_text=f"{context['arrival'].astimezone(zone):%Y-%m-%d %H:%M:%S}（北京时间）",
        kind_text=KIND_TEXT.get(context["kind"], context["kind"]),
        month_text=_month_text(context["month"]),
        deadline_text=f"{context['deadline'].astimezone(zone):%Y年%m月%d日 %H:%M}" if context["deadline"] else "",
        files=[_file_view(f) for f in context["files"]], subject_line=receipt.subject)
    text, html = render_pair("receipt", context)
    return compose(config.outgoing, [receipt.to], receipt.subject, text, html, now,
                   in_reply_to=receipt.in_reply_to, references=receipt.references)


def _month_text(month: str | None) -> str:
    return month_label(month) if month else "未识别"


def _file_view(facts: FileFacts) -> dict[str, Any]:
    if facts.form:
        form_text = f"附件{facts.form} {FORM_TITLES.get(facts.form, '')}" + ("" if facts.readable else "（无法读取）")
    else:
        form_text = "未识别为附件表格" if facts.readable else "无法读取"
    done = "，".join(f"{TASK_LABELS[t]} {v}" for t, v in (facts.done or {}).items() if v is not None)
    return {"source": facts.source, "form": facts.form, "readable": facts.readable, "rows": facts.rows,
            "form_text": form_text, "done_text": done}
