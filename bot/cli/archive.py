"""The archive's commands: search, show, and the upkeep of the index and the raw store."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

import click

from archive.fulltext import rebuild
from archive.models import FormReadingRow, Message
from archive.search import (
    ORDERS,
    Query,
    arrival_bounds,
    arrival_day,
    carrying_forms,
    count,
    get_message,
    search,
    sender_address,
)
from archive.verify import recorded_files, verify
from bot.cli.console import progress, table
from bot.cli.errors import month_param
from bot.cli.group import Context, main, pass_context, unit_param
from bot.config import Config
from bot.services.scores import unit_name
from bot.services.show import (
    KIND_LABELS,
    answers_json,
    arrival_source,
    decisions_json,
    describe_message,
    kind_text,
    message_problems,
    settled_problems,
)
from parsers.errors import MailroomError
from parsers.records import Kind


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return arrival_day(value)
    except MailroomError as error:
        raise click.BadParameter(str(error)) from None


def _sender(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    if not sender_address(value):
        raise click.BadParameter("应为邮箱地址或其一部分，例如 zqxcl@163.com、zqxcl 或 @163.com")
    return value.strip()


def _limit(_ctx: click.Context, _param: click.Parameter, value: int) -> int:
    if value < 0:
        raise click.BadParameter(f"应为 0 或正整数（0 表示全部），而不是 {value}")
    return value


@main.command(name="search")
@click.argument("text", required=False, default="")
@click.option("--unit", callback=unit_param, help="单位名称或简称，如 桃城区 或 桃城。")
@click.option(
    "--kind",
    type=click.Choice([kind.value for kind in Kind]),
    help="邮件类别：" + "、".join(f"{kind.value}（{KIND_LABELS.get(kind.value, kind.value)}）" for kind in Kind) + "。",
)
@click.option("--month", metavar="YYYY-MM", callback=month_param, help="报送月份，如 2020-04。")
@click.option("--since", metavar="YYYY-MM-DD", callback=_day, help="在这一天或之后到达的（本地时间）。")
@click.option("--until", metavar="YYYY-MM-DD", callback=_day, help="在这一天或之前到达的（本地时间）。")
@click.option(
    "--sender",
    metavar="ADDRESS",
    callback=_sender,
    help="发件人的邮箱地址（zqxcl@163.com），或其一部分（zqxcl、@163.com：含有它的地址）。",
)
@click.option(
    "--order",
    type=click.Choice(ORDERS),
    default="newest",
    show_default=True,
    help="排列顺序：newest 最新的在前；relevance 词语出现在主题和附件名中的在前，其次是出现在正文中的。",
)
@click.option("--limit", default=50, show_default=True, callback=_limit, help="最多列出多少封；0 表示全部。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 列表输出。")
@pass_context
def search_(
    context: Context,
    text: str,
    unit: str | None,
    kind: str | None,
    month: str | None,
    since: date | None,
    until: date | None,
    sender: str | None,
    order: str,
    limit: int,
    as_json: bool,
) -> None:
    """按文字和筛选条件查找已归档的邮件。

    TEXT 在主题、正文、附件名和从表格中读出的内容里查找：多个词用空格或标点隔开；
    用引号括起的短语（"一个短语" 或 “一个短语”）整体查找；中文词语长短不限。"""
    if since and until and since > until:
        raise click.UsageError(f"--since {since} 晚于 --until {until}，查不到任何邮件")
    first, last = arrival_bounds(since, until, context.config.timezone)
    if unit:  # as the month's plan year calls it, when one is given: 枣强县 in 2021 is its successor 枣强区
        unit = unit_name(context.config, unit, month)
    query = Query(
        text=text,
        unit=unit,
        kind=kind,
        month=month,
        sender=sender,
        order=order,
        limit=limit,
        since=first,
        until=last,
    )
    with context.deps.db.session() as session:
        found = search(session, query)
        forms = set() if as_json else carrying_forms(session, found)  # the table's labels
        rows = [summary(message, context.config) for message in found]
        total = len(rows) if not limit or len(rows) < limit else count(session, query)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    lines = table(
        [("编号", "到达时间", "类别", "单位", "月份", "发件人", "主题")]
        + [
            (
                f"#{row['id']}",
                row["arrival"][:16].replace("T", " "),
                kind_text(row["kind"], row["id"] in forms),
                row["unit"] or "—",
                row["month"] or "—",
                # mail without a From address (a bounce, a broken header) says so, not "unregistered"
                row["sender"] + ("" if row["registered"] else "［未登记］") if row["sender"] else "（无发件人）",
                row["subject"],
            )
            for row in rows
        ]
    )
    click.echo("\n".join(lines[1:] and lines))
    click.echo(
        f"共 {total} 封" + (f"，显示前 {len(rows)} 封（--limit 0 显示全部）" if total > len(rows) else ""), err=True
    )


def summary(message: Message, config: Config) -> dict[str, Any]:
    return {
        "id": message.id,
        "sha256": message.sha256,
        "mailbox": message.mailbox,
        "arrival": message.arrival.astimezone(config.timezone).isoformat(),
        "arrival_trusted": message.arrival_trusted,
        "arrival_source": arrival_source(message),
        "unit": message.unit,
        "kind": message.kind,
        "month": message.month,
        "sender": message.from_addr,
        "registered": message.registered,
        "own_mailbox": (message.from_addr or "").lower() in config.own_addresses,
        "subject": message.subject,
    }


@main.command()
@click.argument("message_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 格式输出。")
@pass_context
def show(context: Context, message_id: int, as_json: bool) -> None:
    """显示编号为 MESSAGE_ID 的已归档邮件：邮件头、识别结果、附件、在哪些邮箱中见到、问题。

    编号即 search 列出的“#编号”。"""
    with context.deps.db.session() as session:
        message = get_message(session, message_id)
        if message is None:
            raise MailroomError(f"没有编号为 {message_id} 的邮件")
        decisions = decisions_json(session, message, context.config.timezone)
        detail = summary(message, context.config) | {
            "message_id": message.message_id,
            "date_header": message.date_header,
            "from_name": message.from_name,
            "to": message.to_addrs,
            "cc": message.cc_addrs,
            "month_source": message.month_source,
            "size": message.size,
            "problems": message_problems(message, context.deps.recognizer.stamp, decisions),
            "settled_problems": settled_problems(message.problems, decisions),
            "body_text": message.body_text,
            "attachments": [
                {
                    "filename": a.filename,
                    "type": a.sniffed_type,
                    "declared_type": a.declared_type,
                    "size": a.size,
                    "sha256": a.sha256,
                    "forms": [_form_json(r) for r in message.readings if r.attachment_id == a.id],
                }
                for a in message.attachments
            ],
            "seen": [
                {
                    "mailbox": s.mailbox,
                    "source": s.source,
                    "folder": s.folder,
                    "uidvalidity": s.uidvalidity,
                    "uid": s.uid,
                    "origin": s.origin,
                    # a copy with trace headers of its own (parsers.copies): its own bytes, kept beside
                    "copy_raw_path": str(context.deps.store.message_path(s.sha256)) if s.sha256 else None,
                }
                for s in message.sightings
            ],
            "raw_path": str(context.deps.store.message_path(message.sha256)),
            "decisions": decisions,
            "answers": answers_json(session, message.id, context.config.timezone),
        }
    if as_json:
        click.echo(json.dumps(detail, ensure_ascii=False, indent=1))
    else:
        click.echo("\n".join(describe_message(detail)))


def _form_json(reading: FormReadingRow) -> dict[str, Any]:
    """One form read from an attachment, as `show --json` gives it."""
    return {
        "source": reading.source,
        "form": reading.form,
        "unit": reading.unit,
        "month": reading.month,
        "rows": reading.rows,
        "readable": reading.readable,
        "characters": sum(not char.isspace() for char in reading.text or "") if reading.form == 1 else None,
        "done": {task: figures.get("done") for task, figures in reading.tasks.items()} if reading.form == 2 else None,
        "problems": list(reading.problems),
    }


@main.command(name="verify")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 格式输出核对结果。")
@pass_context
def verify_(context: Context, as_json: bool) -> None:
    """重新计算每封已归档邮件和每个附件的哈希值（包括已归档原件、尚未识别的邮件），与数据库核对。

    报告缺失或被改动的文件；发现任何一处时退出码为 1。"""
    store = context.deps.store
    with context.deps.db.session() as session:
        files = recorded_files(session, store)
    with progress(len(files), "核对") as advance:
        report = verify(files, store, advance)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "checked": report.checked,
                    "unrecorded": [str(p) for p in report.unrecorded],
                    "findings": [
                        {
                            "problem": f.problem,
                            "path": str(f.path),
                            "sha256": f.sha256,
                            "actual": f.actual,
                            "rows": list(f.rows),
                        }
                        for f in report.findings
                    ],
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    else:
        for finding in report.findings:
            what = "缺失" if finding.problem == "missing" else f"被改动（现 SHA-256 {finding.actual}）"
            click.echo(f"{what}: {finding.path}  ← {'、'.join(finding.rows)}")
        for path in report.unrecorded:
            click.echo(f"数据库中没有记录的文件（入库前中断，可保留）: {path}")
        missing = sum(f.problem == "missing" for f in report.findings)
        click.echo(
            f"核对 {report.checked} 个文件：缺失 {missing} 个，被改动 {len(report.findings) - missing} 个，"
            f"未记录 {len(report.unrecorded)} 个"
        )
    sys.exit(1 if report.findings else 0)


@main.command()
@pass_context
def reindex(context: Context) -> None:
    """根据归档重建全文检索索引（检索程序升级后使用）。"""
    with context.deps.db.engine.begin() as connection:
        count = rebuild(connection)
    click.echo(f"已重建 {count} 封邮件的检索索引")
