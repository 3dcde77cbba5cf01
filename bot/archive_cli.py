"""The archive's commands: search, show, and the upkeep of the index and the raw store."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from archive.fulltext import rebuild
from archive.models import Message
from archive.search import ORDERS, Query, get_message, search
from archive.verify import recorded_files, verify
from bot.cli import Context, main, pass_context
from bot.config import Config
from parsers.errors import MailroomError
from parsers.records import Kind


@main.command(name="search")
@click.argument("text", required=False, default="")
@click.option("--unit", help="Unit name, e.g. 桃城区.")
@click.option("--kind", type=click.Choice([kind.value for kind in Kind]))
@click.option("--month", metavar="YYYY-MM")
@click.option("--sender", metavar="ADDRESS")
@click.option("--order", type=click.Choice(ORDERS), default="newest", show_default=True,
              help="relevance: terms in the subject and file names first, then in the body.")
@click.option("--limit", default=50, show_default=True, help="0 means no limit.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_context
def search_(context: Context, text: str, unit: str | None, kind: str | None, month: str | None,
            sender: str | None, order: str, limit: int, as_json: bool) -> None:
    """Find archived messages by text (subject, body, file names, what was read from the workbooks; terms
    separated by spaces, Chinese of any length) and filters."""
    query = Query(text=text, unit=unit, kind=kind, month=month, sender=sender, order=order, limit=limit)
    with context.deps.db.session() as session:
        rows = [summary(message, context.config) for message in search(session, query)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for row in rows:
        flag = "" if row["registered"] else " [未登记]"
        click.echo(f"#{row['id']:<6} {row['arrival'][:16]} {row['kind']:<8} {row['unit'] or '?':<5} "
                   f"{row['month'] or '':<7} {row['sender']}{flag}  {row['subject']}")
    click.echo(f"共 {len(rows)} 封", err=True)


def summary(message: Message, config: Config) -> dict[str, Any]:
    return {
        "id": message.id, "sha256": message.sha256, "mailbox": message.mailbox,
        "arrival": message.arrival.astimezone(config.timezone).isoformat(),
        "arrival_trusted": message.arrival_trusted, "unit": message.unit, "kind": message.kind,
        "month": message.month, "sender": message.from_addr, "registered": message.registered,
        "subject": message.subject,
    }


@main.command()
@click.argument("message_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_context
def show(context: Context, message_id: int, as_json: bool) -> None:
    """Show one archived message: headers, recognition, attachments, where it was seen, problems."""
    with context.deps.db.session() as session:
        message = get_message(session, message_id)
        if message is None:
            raise MailroomError(f"没有编号为 {message_id} 的邮件")
        detail = summary(message, context.config) | {
            "message_id": message.message_id, "date_header": message.date_header, "from_name": message.from_name,
            "to": message.to_addrs, "cc": message.cc_addrs, "month_source": message.month_source,
            "size": message.size, "problems": list(message.problems), "body_text": message.body_text,
            "attachments": [{"filename": a.filename, "type": a.sniffed_type, "declared_type": a.declared_type,
                             "size": a.size, "sha256": a.sha256} for a in message.attachments],
            "seen": [{"mailbox": s.mailbox, "source": s.source, "folder": s.folder, "uidvalidity": s.uidvalidity,
                      "uid": s.uid, "origin": s.origin} for s in message.sightings],
            "raw_path": str(context.deps.store.message_path(message.sha256)),
        }
    if as_json:
        click.echo(json.dumps(detail, ensure_ascii=False, indent=1))
    else:
        _print_detail(detail)


def _print_detail(detail: dict[str, Any]) -> None:
    labels = [("subject", "主题"), ("sender", "发件人"), ("from_name", "发件人名称"), ("to", "收件人"),
              ("arrival", "到达时间"), ("date_header", "Date 头"), ("mailbox", "邮箱"), ("unit", "单位"),
              ("kind", "类别"), ("month", "报送月份"), ("registered", "登记发件人"), ("sha256", "SHA-256"),
              ("raw_path", "原始文件")]
    for key, label in labels:
        click.echo(f"{label}: {detail[key]}")
    for attachment in detail["attachments"]:
        click.echo(f"附件: {attachment['filename']} ({attachment['type']}, {attachment['size']} 字节)")
    for seen in detail["seen"]:
        place = f"UID {seen['uid']} / UIDVALIDITY {seen['uidvalidity']}" if seen["uid"] else seen["origin"]
        click.echo(f"见于: {seen['mailbox']} {seen['source']} {place}")
    for problem in detail["problems"]:
        click.echo(f"问题: {problem}")
    click.echo("")
    click.echo(detail["body_text"])


@main.command(name="verify")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@pass_context
def verify_(context: Context, as_json: bool) -> None:
    """Hash every archived message and attachment again and compare with the database: reports files
    missing or altered and rows without their file; exits 1 on any such finding."""
    store = context.deps.store
    with context.deps.db.session() as session:
        files = recorded_files(session, store)
    with click.progressbar(length=len(files), label="核对", file=sys.stderr) as bar:
        report = verify(files, store, bar.update)
    if as_json:
        click.echo(json.dumps({"checked": report.checked, "unrecorded": [str(p) for p in report.unrecorded],
                               "findings": [{"problem": f.problem, "path": str(f.path), "sha256": f.sha256,
                                             "actual": f.actual, "rows": list(f.rows)} for f in report.findings]},
                              ensure_ascii=False, indent=1))
    else:
        for finding in report.findings:
            what = "缺失" if finding.problem == "missing" else f"被改动（现 SHA-256 {finding.actual}）"
            click.echo(f"{what}: {finding.path}  ← {'、'.join(finding.rows)}")
        for path in report.unrecorded:
            click.echo(f"数据库中没有记录的文件（入库前中断，可保留）: {path}")
        missing = sum(f.problem == "missing" for f in report.findings)
        click.echo(f"核对 {report.checked} 个文件：缺失 {missing} 个，被改动 {len(report.findings) - missing} 个，"
                   f"未记录 {len(report.unrecorded)} 个")
    sys.exit(1 if report.findings else 0)


@main.command()
@pass_context
def reindex(context: Context) -> None:
    """Build the full-text index again from the archive (after an upgrade of the indexer)."""
    with context.deps.db.engine.begin() as connection:
        count = rebuild(connection)
    click.echo(f"已重建 {count} 封邮件的检索索引")
