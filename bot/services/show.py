"""`mailroom show`: one archived message in Chinese words, every attachment with the forms read from it (form,
rows or characters, completed figures) and their problems, where the message was seen and what went wrong:
its own problems, and a form whose title names another unit or month than the message (replies.mismatch,
what the receipt told the unit and 待处理 lists), computed from what was derived, never stored twice; the staff
decisions it stands on, in the words the unit is told them (decided_text), with who, when and why, and the
problems a decision settled said as settled, not as open."""

from __future__ import annotations

import email
from collections.abc import Sequence
from email import policy
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.decisions import Decision, message_decisions, unit_decisions
from archive.models import CorrectionRow, Message, OutboxMail, StaffSenderRow
from archive.outbox import KIND_TEXT, STATE_TEXT
from parsers.derive import UNPLANNED_MARK
from parsers.form_layouts import FORM_TITLES
from parsers.recognize import NO_UNIT_MARK, NOT_COUNTED_MARK, UNIT_CONFLICT_MARK
from replies.mismatch import staff_lines
from replies.problems import merged_problems, problems_and_hints
from scoring.evidence import TASK_LABELS
from scoring.settings import month_label

KIND_LABELS = {
    "briefing": "简报信息",
    "report": "月度报表",
    "reply": "回复",
    "auto": "自动回复",
    "bounce": "退信",
    "selfcheck": "自查",
    "other": "其他来信",
}
MONTH_SOURCES = {
    "subject": "取自主题",
    "subjects": "主题写了多个月份，各表按表中所写月份计入",
    "attachment": "取自附件名",
    "workbook": "取自表格标题",
    "reply": "取自表格标题（主题引用的是此前另一个月份的回执）",
    "arrival": "按到达时间",
    "staff": "人工更正",
}
SOURCES = {"imap": "IMAP", "maildir": "Maildir", "import": "导入"}


def kind_text(kind: str, forms: bool) -> str:
    """A kind in words; a reply carrying forms says so: it is the 月度报表 its receipt calls it, which the standings
    count (its sender registered) and a search for 月度报表 finds (archive.search.of_kind)."""
    label = KIND_LABELS.get(kind, kind)
    return f"{label}（附报表）" if kind == "reply" and forms else label


ARRIVAL_SOURCES = {
    "server": "收件服务器时间",
    "date": "取自 Date 头，未经服务器确认",
    "archived": "归档时间：邮件无服务器接收时间，Date 头缺失或无法识别",
}


def arrival_source(message: Message) -> str:
    """Where a message's arrival was read (an ARRIVAL_SOURCES key): the server's time, the sender's Date header,
    or, with neither, the moment it was archived."""
    return "server" if message.arrival_trusted else ("date" if message.sent_at else "archived")


def _sender_kind(detail: dict[str, Any]) -> str:
    """What the sender is: one of our own department mailboxes (staff forwarding a unit's mail, which is then
    counted by the forwarded sender: its problems say so), a unit's registered address, or neither."""
    if detail.get("own_mailbox"):
        return "本会部门邮箱，工作人员发出或转发"
    return sender_standing(detail["registered"], detail["decisions"])


def sender_standing(registered: bool, decisions: Sequence[dict[str, Any]]) -> str:
    """Whether the sender counts for the message's unit: a registered address or not; or, when a correction in
    force says whether the mail counts (decision_json's "counted"), that (a counted mail's sender was shown as
    registered, which it is not)."""
    said = next((d for d in decisions if d["decision"] == "correction" and d.get("counted") is not None), None)
    if said is not None:
        return f"{'经核实计入' if said['counted'] else '经核实不计入'}（更正 #{said['id']}）"
    return "登记的报送邮箱" if registered else "未登记的发件人"


def shown_sender(name: str, address: str | None) -> str:
    """The sender as a person reads it: 名字 <address>, the address alone, or a From naming no one address, which
    parsers.mime keeps whole as the name (`jxcl2020@163.com <x@evil.example>`), said to be no one's."""
    if address is None:
        return f"（无法确定：{name}）" if name else "（无）"
    return f"{name} <{address}>" if name else address


def describe_message(detail: dict[str, Any]) -> list[str]:
    """The lines `show` prints, from the same object `show --json` prints."""
    sender = shown_sender(detail["from_name"], detail["sender"])
    arrival = detail["arrival"][:19].replace("T", " ")
    lines = [
        f"邮件 #{detail['id']}",
        f"主题：{detail['subject'] or '（无主题）'}",
        f"发件人：{sender}（{_sender_kind(detail)}）",
        f"收件人：{detail['to'] or '（无）'}",
        *([f"抄送：{detail['cc']}"] if detail["cc"] else []),
        f"到达时间：{arrival}（{ARRIVAL_SOURCES[detail['arrival_source']]}）",
        f"Date 头：{detail['date_header'] or '（无）'}",
        f"识别为：{_recognition(detail)}"
        + ("（尚待重新识别，见“邮件的问题”）" if WAITING in detail["problems"] else ""),
        f"所在邮箱：{detail['mailbox'] or '（导入）'}",
        f"大小：{detail['size']} 字节",
        f"SHA-256：{detail['sha256']}",
        f"原件：{detail['raw_path']}",
    ]
    lines += _attachments(detail["attachments"], detail["kind"] == "briefing")
    lines += ["", "见于："] + [f"- {_sighting(seen)}" for seen in detail["seen"]]
    if detail["decisions"]:
        lines += ["", "工作人员的决定："] + [f"- {decision_line(decision)}" for decision in detail["decisions"]]
    if detail["answers"]:
        lines += ["", "就此邮件发出的邮件（正文见 --json）："] + [
            f"- {answer_line(answer)}" for answer in detail["answers"]
        ]
    if detail["settled_problems"]:
        lines += ["", "已了结的问题："] + [f"- {problem}" for problem in detail["settled_problems"]]
    problems = [*detail["problems"], *(line for line in detail_mismatches(detail) if line not in detail["problems"])]
    if problems:
        lines += ["", "邮件的问题："] + [f"- {problem}" for problem in problems]
    return lines + ["", "正文：", detail["body_text"] or "（无正文）"]


# Said first among a message's problems while it is due for derivation: what `show` and the message's page show
# is then what it was derived to before, which a staff decision listed beside it may already contradict.
WAITING = (
    "等待按最新的配置和决定重新识别（这里的识别结果尚未更新）："
    "请运行 mailroom rederive，运行中的 mailroom serve 也会在后台处理"
)


def derivation_waits(message: Message, stamp: str | None = None) -> bool:
    """Whether the message is due for derivation (archive.rederive.due): a staff decision marked it (derived
    with no stamp), or, given today's `stamp` (Recognizer.stamp), it was derived under another configuration
    or code version."""
    return message.derived_with is None or (stamp is not None and message.derived_with != stamp)


def message_problems(message: Message, stamp: str | None = None, decisions: Sequence[dict[str, Any]] = ()) -> list[str]:
    """A message's open problems as staff read them (`show --json`'s "problems", the message's page): that it
    waits to be derived again (derivation_waits, with `stamp` if given), those its derivation recorded that no
    decision in force settled (open_problems: given its `decisions`, as decisions_json gives them), then each
    form whose own title names another unit or month than the message."""
    waiting = [WAITING] if derivation_waits(message, stamp) else []
    recorded = open_problems(message.problems, decisions)
    return [*waiting, *recorded, *staff_lines(message.kind, message, message.readings)]


def _settling(problem: str, decisions: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The correction in force that settles `problem`, if any: one giving the message its unit settles whose
    mail it is (a unit conflict, UNIT_CONFLICT_MARK, the 待处理 reason "conflict"; a unit not recognised,
    NO_UNIT_MARK); one saying it counts settles why it would not (NOT_COUNTED_MARK: its sender not the unit's,
    a staff mailbox), but neither a unit not recognised without a unit given, nor a unit outside its year's
    plan (UNPLANNED_MARK)."""
    for decision in decisions:
        if decision["decision"] != "correction":
            continue
        unit_given = bool(decision.get("unit"))
        if unit_given and (UNIT_CONFLICT_MARK in problem or problem.startswith(NO_UNIT_MARK)):
            return decision
        unsettled = UNPLANNED_MARK in problem or (problem.startswith(NO_UNIT_MARK) and not unit_given)
        if decision.get("counted") and NOT_COUNTED_MARK in problem and not unsettled:
            return decision
    return None


def open_problems(problems: Sequence[str], decisions: Sequence[dict[str, Any]]) -> list[str]:
    """The problems still open: those no correction in force settled (settled_problems says those)."""
    return [problem for problem in problems if _settling(problem, decisions) is None]


def settled_problems(problems: Sequence[str], decisions: Sequence[dict[str, Any]]) -> list[str]:
    """Each problem a correction in force settled, its cause without what it said staff would do, and the
    correction: "主题写的单位是阜城县，与发件邮箱登记的单位不符：发件人 a@b.cn 是冀州区的报送邮箱
    （已由更正 #1 核实：报送单位更正为阜城县）"."""
    settled = []
    for problem in problems:
        settling = _settling(problem, decisions)
        if settling is None:
            continue
        head, mark, rest = problem.partition(UNIT_CONFLICT_MARK)
        cause = head + mark + rest.split("，")[0] if mark else problem.split("，不计分")[0]
        settled.append(f"{cause}（已由更正 #{settling['id']} 核实：{settling['what']}）")
    return settled


def detail_mismatches(detail: dict[str, Any]) -> list[str]:
    """The same lines of the forms disagreeing with the message, from `show --json`'s object."""
    mail = SimpleNamespace(unit=detail["unit"], month=detail["month"], month_source=detail["month_source"])
    forms = [
        SimpleNamespace(source=form["source"], form=form["form"], unit=form["unit"], month=form["month"])
        for attachment in detail["attachments"]
        for form in attachment.get("forms", [])
    ]
    return staff_lines(detail["kind"], mail, forms)


def _recognition(detail: dict[str, Any]) -> str:
    forms = any(form.get("form") for attachment in detail["attachments"] for form in attachment.get("forms", []))
    kind = kind_text(detail["kind"], forms)
    month = detail["month"]
    month_text = (
        f"{month_label(month)}（{MONTH_SOURCES.get(detail['month_source'], detail['month_source'])}）"
        if month
        else "月份未识别"
    )
    return f"{detail['unit'] or '单位未识别'} · {kind} · {month_text}"


def _attachments(attachments: list[dict[str, Any]], briefing: bool = False) -> list[str]:
    """Each attachment with the forms read from it; a briefing's files are its articles (no form is looked for)."""
    if not attachments:
        return ["", "附件：无"]
    lines = ["", f"附件（{len(attachments)} 个）："]
    for number, attachment in enumerate(attachments, 1):
        lines.append(f"{number}. {attachment['filename']}（{attachment['type']}，{attachment['size']} 字节）")
        forms = attachment.get("forms", [])
        if not forms:
            lines.append("   简报稿件" if briefing else "   未识别为任何附件表格")
        for form in forms:
            prefix = f"{form['source']}：" if form["source"] != attachment["filename"] else ""
            lines.append(f"   {prefix}{form_facts(form)}")
            problems, hints = problems_and_hints(form["problems"])
            lines += [
                f"   问题{f'［{places}］' if places else ''}：{message}"
                for places, message in merged_problems(problems)
            ]
            lines += [f"   提示：{hint}" for hint in hints]
    return lines


def form_facts(form: dict[str, Any]) -> str:
    """ "附件2 目标任务完成情况汇总表 · 景县 · 2020年4月 · 1 行 · 完成数 康复服务 38，…" for one form read."""
    number = form["form"]
    facts = [f"附件{number} {FORM_TITLES.get(number, '')}" if number else "未识别为附件表格"]
    facts += [form["unit"] or "单位未写明", month_label(form["month"]) if form["month"] else "月份未写明"]
    if not form["readable"]:
        facts.append("无法读取")
    elif number == 1:
        facts.append(f"正文 {form['characters']} 字" if form["characters"] else "已收到，未读出文字")
    else:
        facts.append(f"{form['rows']} 行")
    done = "，".join(
        f"{TASK_LABELS.get(task, task)} {value}"
        for task, value in (form.get("done") or {}).items()
        if value is not None
    )
    return " · ".join(facts + ([f"完成数 {done}"] if done else []))


# A place that held a copy of the mail with trace headers of its own (parsers.copies), kept byte for byte too.
COPY = "（同一封邮件的副本，原样另存）"


def _sighting(seen: dict[str, Any]) -> str:
    source = SOURCES.get(seen["source"], seen["source"])
    if seen["uid"] is not None:
        where = f"{seen['folder']} UID {seen['uid']}（UIDVALIDITY {seen['uidvalidity']}）"
    else:
        where = seen["origin"] or ""
    copy = COPY if seen.get("copy_raw_path") else ""
    return " ".join(part for part in (seen["mailbox"] or "", source, where) if part) + copy


def answers_json(session: Session, message_id: int, zone: ZoneInfo) -> list[dict[str, Any]]:
    """What we mailed about the message (its receipt, 自查 answer, 核实通知), oldest first, each with its plain text:
    what a unit phoning about its receipt was told, which staff could only find in the outbox's files."""
    rows = session.scalars(select(OutboxMail).where(OutboxMail.about_message == message_id).order_by(OutboxMail.id))
    return [
        {
            "kind": row.kind,
            "state": row.state,
            "recipients": row.recipients,
            "subject": row.subject,
            "created_at": row.created_at.astimezone(zone).isoformat(),
            "sent_at": row.sent_at.astimezone(zone).isoformat() if row.sent_at else None,
            "error": row.last_error,
            "text": _plain_text(row.raw),
        }
        for row in rows
    ]


def answer_line(answer: dict[str, Any]) -> str:
    """ "回执 · 已发出 2020-04-09 10:05 · 至 jxcl2020@163.com · 回执：景县4月份报表"."""
    state = STATE_TEXT.get(answer["state"], answer["state"])
    when = (answer["sent_at"] or answer["created_at"])[:16].replace("T", " ")
    said = f"{state} {when}" if answer["sent_at"] else f"{state}（{when} 排队）"
    error = f"（{answer['error']}）" if answer["error"] and answer["state"] != "sent" else ""
    kind = KIND_TEXT.get(answer["kind"], answer["kind"])
    return f"{kind} · {said}{error} · 至 {answer['recipients']} · {answer['subject']}"


def _plain_text(raw: bytes) -> str:
    body = email.message_from_bytes(raw, policy=policy.default).get_body(("plain",))
    return body.get_content() if body is not None else ""


def decisions_json(session: Session, message: Message, zone: ZoneInfo) -> list[dict[str, Any]]:
    """The staff decisions the message's recognition stands on, as `show --json` gives them."""
    return [
        decision_json(decision, zone) for decision in message_decisions(session, [message], zone).get(message.id, [])
    ]


def unit_decisions_json(session: Session, unit: str, month: str, zone: ZoneInfo) -> list[dict[str, Any]]:
    """The staff decisions behind UNIT's figures up to MONTH (what `explain` lists)."""
    return [decision_json(decision, zone) for decision in unit_decisions(session, unit, month, zone)]


def decision_json(decision: Decision, zone: ZoneInfo) -> dict[str, Any]:
    """A staff decision a message or a figure stands on, as `show --json` gives it; `what` says it in the words
    receipts and 核实通知 say it to the unit (decided_text)."""
    row = decision.row
    return {
        "decision": "correction" if decision.is_correction else "sender",
        "id": row.id,
        "what": decided_text(row),
        "unit": row.unit,  # the unit a correction gives the message (None: it keeps its own), or a sender's
        "counted": row.counted if isinstance(row, CorrectionRow) else None,  # a correction's 计入 or 不计入
        "reason": row.reason,
        "entered_by": row.entered_by,
        "entered_at": row.entered_at.astimezone(zone).isoformat(),
        "message_ids": list(decision.message_ids),
    }


def decided_text(row: CorrectionRow | StaffSenderRow) -> str:
    """What a staff decision decided, in plain words, as staff read it (beside who, when and why) and as a
    receipt or a 核实通知 says it to the unit (beside why alone): "报送单位更正为冀州区，经核实计入报送",
    "报送月份更正为2020年12月", "发件邮箱 a@b.cn 已确认为景县的报送邮箱（自2020年5月1日起）"."""
    if isinstance(row, StaffSenderRow):
        since = f"（自{row.since.year}年{row.since.month}月{row.since.day}日起）" if row.since else ""
        return f"发件邮箱 {row.address} 已确认为{row.unit}的报送邮箱{since}"
    parts = []
    if row.unit:
        parts.append(f"报送单位更正为{row.unit}")
    if row.kind:
        parts.append(f"邮件类别更正为{KIND_LABELS.get(row.kind, row.kind)}")
    if row.month:
        parts.append(f"报送月份更正为{month_label(row.month)}")
    if row.counted is not None:
        parts.append("经核实计入报送" if row.counted else "经核实不计入报送")
    return "，".join(parts)


def decision_line(decision: dict[str, Any]) -> str:
    """ "更正 #3：邮件类别更正为其他来信（孙倩，2020-06-02：核实：误发的草稿）", for staff: what was decided,
    who decided it, when and why."""
    label = "更正" if decision["decision"] == "correction" else "确认邮箱"
    return (
        f"{label} #{decision['id']}：{decision['what']}（{decision['entered_by']}，"
        f"{decision['entered_at'][:10]}：{decision['reason']}）"
    )
