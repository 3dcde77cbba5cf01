"""What a staff decision (a correction, a sender confirmed) or a re-derivation changed: the messages derived
again, with each message's recognition, the submission matrix and the cumulative standings before and after,
said in Chinese. `mailroom rederive`, `correct`, `sender` and the web's 待处理 page report the same."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.closing import closed_years
from archive.corrections import mark_due, replacing
from archive.evidence import load_evidence
from archive.ingest import Intake
from archive.models import Message
from archive.rederive import Change, due, rederive, unreadable_messages
from archive.staff_senders import messages_from
from bot.config import Config
from bot.services.scores import STATUS_NAMES, compute_standings, month_matrix
from bot.services.show import KIND_LABELS
from parsers.form_layouts import form_list
from scoring.settings import parse_month


def scores_now(
    config: Config, session: Session, now: datetime
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str, int], str]]:
    """For every month a plan covers, from one reading of the evidence: {(unit, month): cumulative total}, and
    {(unit, month, form): on_time | late | missing} as `matrix` says it at `now`."""
    evidence = load_evidence(session)
    months = config.plans.months()
    totals = {
        (row.unit, month): row.total for month in months for row in compute_standings(config, evidence, month).rows
    }
    statuses: dict[tuple[str, str, int], str] = {
        (unit, month, form.form): form.status
        for month in months
        for unit, package in month_matrix(config, evidence, month, now).items()
        for form in package.forms
    }
    return totals, statuses


def rederive_report(
    config: Config,
    intake: Intake,
    now: datetime,
    ids: list[int] | None,
    everything: bool,
    dry_run: bool,
    because: str | None = None,
    progress: Callable[[int], AbstractContextManager[Callable[[int], None]]] | None = None,
) -> dict[str, Any]:
    """Derive again (all that is due, or `ids`) through `intake`, with the standings and the matrix (as of
    `now`) before and after; a dry run rolls the whole of it back. `because`: a staff decision's why (a message
    it makes count is owed a notice). `progress(n)`: a context giving what is told of each message done."""
    with intake.db.session() as session:
        closed_json = [
            {
                "year": row.year,
                "closed_at": row.closed_at.astimezone(config.timezone).isoformat(),
                "closed_by": row.closed_by,
            }
            for row in sorted(closed_years(session).values(), key=lambda row: row.year)
        ]
        closed = {item["year"] for item in closed_json}
        before, forms_before = scores_now(config, session, now)
        todo = due(session, intake.recognizer.stamp, everything, ids)
        with progress(len(todo)) if progress else nullcontext(lambda n: None) as advance:
            changes = rederive(
                intake,
                session,
                todo,
                advance=advance,
                commit=not dry_run,
                because=because,
                retry=everything or ids is not None,  # staff asked: one given up after two deaths too
            )
        after, forms_after = scores_now(config, session, now)
        checked = set(todo)
        unreadable = [
            {"id": message.id, "subject": message.subject}
            for message in unreadable_messages(session)
            if message.id in checked
        ]
        if dry_run:
            session.rollback()

    def kept(month: str) -> dict[str, bool]:
        """A closed year's month: its kept figures stay as they are, whatever changed in today's."""
        return {"closed": True} if parse_month(month)[0] in closed else {}

    return {
        "messages_checked": len(todo),
        "messages_changed": [_change_json(c) for c in changes],
        # kept as they were: their raw file is missing or unreadable (archive.rederive._keep_as_it_was)
        "messages_unreadable": unreadable,
        "standings_changed": [
            {"unit": unit, "month": month, "before": before.get((unit, month)), "after": total} | kept(month)
            for (unit, month), total in sorted(after.items())
            if before.get((unit, month)) != total
        ],
        "matrix_changed": [
            {
                "unit": unit,
                "month": month,
                "form": form,
                "before": forms_before.get((unit, month, form)),
                "after": status,
            }
            | kept(month)
            for (unit, month, form), status in forms_after.items()
            if forms_before.get((unit, month, form)) != status
        ],
    } | ({"closed_years": closed_json} if closed_json else {})  # the closed years, said apart by `describe`


def _change_json(change: Change) -> dict[str, Any]:
    return {"id": change.id, "subject": change.subject, "before": change.before, "after": change.after}


# What a message's change is reported by (archive.rederive.summary), in the words `show` uses.
# `registered`: whether the message counts for its unit (its sender registered for it, or staff said so).
SUMMARY_LABELS = {"unit": "单位", "kind": "类别", "month": "月份", "registered": "计分", "forms": "读出的表格"}


def describe(report: dict[str, Any], dry_run: bool) -> list[str]:
    """What a re-derivation changed, in Chinese lines. A closed year's months (`closed` items) are said apart:
    what was kept when the year was closed does not change, today's figures only differ from it."""
    verb = "将改变" if dry_run else "已改变"
    lines = [f"检查 {report['messages_checked']} 封邮件，识别结果{verb} {len(report['messages_changed'])} 封"]
    if unreadable := report["messages_unreadable"]:
        ids = "、".join(f"#{item['id']}" for item in unreadable)
        kept = "将保留" if dry_run else "保留了"
        lines.append(
            f"{len(unreadable)} 封邮件的原始文件缺失或无法读取，{kept}原有的识别结果：{ids}"
            "（mailroom verify 列出缺失的文件；从备份恢复后运行 mailroom rederive --all）"
        )
    for change in report["messages_changed"]:
        differs = [
            f"{SUMMARY_LABELS.get(key, key)}：{_value_text(key, change['before'][key])} → "
            f"{_value_text(key, change['after'][key])}"
            for key in change["before"]
            if change["before"][key] != change["after"][key]
        ]
        lines.append(f"  #{change['id']} {change['subject']}：{'；'.join(differs)}")
    matrix = [item for item in report["matrix_changed"] if not item.get("closed")]
    standings = [item for item in report["standings_changed"] if not item.get("closed")]
    # a closed year's differences are said apart below: these counts are then of the months not closed
    scope = (
        "未结账月份的"
        if any(item.get("closed") for item in report["matrix_changed"] + report["standings_changed"])
        else ""
    )
    lines.append(f"{scope}报送情况{verb} {len(matrix)} 处")
    lines += _matrix_lines(matrix)
    lines.append(f"{scope}累计得分{verb} {len(standings)} 处")
    lines += _standings_lines(standings)
    for closed in report.get("closed_years", ()):
        year = closed["year"]
        matrix = [item for item in report["matrix_changed"] if item.get("closed") and item["month"][:4] == str(year)]
        standings = [
            item for item in report["standings_changed"] if item.get("closed") and item["month"][:4] == str(year)
        ]
        if not matrix and not standings:
            continue
        lines.append(
            f"已结账的 {year} 年（{closed['closed_at'][:10]} 由 {closed['closed_by']} 结账）：结账时保存的排名、"
            f"得分说明和报送矩阵不会改变；按现在的归档重新计算{'将' if dry_run else ''}与之不同的有报送情况 "
            f"{len(matrix)} 处、累计得分 {len(standings)} 处，查看该年时会注明"
        )
        lines += _matrix_lines(matrix)
        lines += _standings_lines(standings)
    return lines


def _matrix_lines(items: list[dict[str, Any]]) -> list[str]:
    grouped: dict[tuple[str, str, str | None, str], list[int]] = {}  # a month moved: its forms in one line
    for item in items:
        grouped.setdefault((item["unit"], item["month"], item["before"], item["after"]), []).append(item["form"])
    return [
        f"  {unit} {month} {form_list(sorted(forms))}：{STATUS_NAMES.get(before or '', '不在计划内')} → "
        f"{STATUS_NAMES[after]}"
        for (unit, month, before, after), forms in grouped.items()
    ]


def _standings_lines(items: list[dict[str, Any]]) -> list[str]:
    return [f"  {item['unit']} {item['month']}：{item['before']} → {item['after']}" for item in items]


def _value_text(key: str, value: Any) -> str:
    """One value of a message's summary in Chinese: 武强县, 其他来信, 2020-08, 是, 附件1、附件2 (a.xlsx)."""
    if key == "registered":
        return "是" if value else "否"
    if key == "kind":
        return KIND_LABELS.get(value, value) if value else "未识别"
    if key == "forms":
        return (
            "、".join(
                f"{source} " + (f"附件{form}" if form else "未识别为附件表格") + ("" if readable else "（无法读取）")
                for source, form, readable, _rows in value
            )
            or "无"
        )
    return str(value) if value is not None else "未识别"


def still_not_counted(session: Session, message_id: int, remedy: str) -> str | None:
    """A warning when a corrected report or briefing still counts for nothing: its sender is not registered
    for the unit it now belongs to (correcting the unit alone does not make it count), so staff need not find
    out from the standings; `remedy` says how to make it count where they are. None when it counts, is no
    submission, or does not count because the correction in force says so (--not-counted: staff asked for it)."""
    message = session.get(Message, message_id)
    if message is None or message.registered or message.kind not in ("report", "briefing") or not message.unit:
        return None
    correction = replacing(session, message_id)  # the correction in force on it
    if correction is not None and correction.counted is False:
        return None
    return (
        f"注意：邮件 #{message_id} 仍不计分：发件人 {message.from_addr or '（无地址）'} 不是{message.unit}登记的"
        f"报送邮箱。如经核实应计分，{remedy}"
    )


def derivation_owed(session: Session, address: str) -> list[int]:
    """The messages from an address whose confirmation staff changed, marked due for derivation in the caller's
    transaction, the one that records the change: derived again at once by the caller, and should that not
    happen (a crash, a reader killed), by `serve` or `mailroom rederive`, `year close` refusing meanwhile."""
    affected = messages_from(session, address)
    mark_due(session, list(session.scalars(select(Message.sha256).where(Message.id.in_(affected)))))
    return affected


def message_month(session: Session, message_id: int | None) -> str | None:
    """The month a message counts for now (None: none, or no such message): a change to it touches that year."""
    message = session.get(Message, message_id) if message_id is not None else None
    return message.month if message is not None else None
