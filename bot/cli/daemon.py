"""`mailroom init, poll, serve, status, remind, import`: the archive opened, mail fetched and imported, the
daemon run and asked how it does, the reminder job run by hand."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import click

from bot.cli.console import progress
from bot.cli.errors import month_param
from bot.cli.group import Context, main, pass_context
from bot.daemon.importer import find_sources, import_sources
from bot.daemon.poll import PollReport, poll_once
from bot.outgoing.outbox import FlushReport
from parsers.errors import InputError


@main.command()
@pass_context
def init(context: Context) -> None:
    """Create or upgrade the database and the archive folder; say whether messages are due for rederive.
    The one command that also makes a SQLite database's missing folder: the others refuse it (a typo)."""
    from bot.daemon.status import behind_line, due_for_rederive

    config = context.config
    deps = context.open_deps(create_folders=True)  # opening creates and upgrades
    click.echo(f"数据库已就绪: {config.database_url}")
    click.echo(f"归档目录已就绪: {config.archive_path}")
    if due := due_for_rederive(deps):
        click.echo(behind_line(due, "mailroom serve 启动后会在后台重新识别，也可以现在运行 mailroom rederive"))


@main.command()
@click.option(
    "--once",
    is_flag=True,
    help="Poll every mailbox once and exit (otherwise poll every [schedule] poll_minutes until Ctrl-C).",
)
@pass_context
def poll(context: Context, once: bool) -> None:
    """Fetch new mail from every configured mailbox into the archive."""
    minutes = context.config.schedule.poll_minutes
    while True:
        report = poll_once(context.config, context.deps)
        _print_poll(report)
        if once:
            sys.exit(1 if report.errors else 0)
        time.sleep(minutes * 60)


def _print_poll(report: PollReport) -> None:
    _print_mailboxes(report)
    click.echo(f"回执：新排队 {report.receipts} 封")
    if report.outbox is not None:
        click.echo(_sent_line(report.outbox))


def _sent_line(report: FlushReport) -> str:
    if report.busy:
        return "发信：另一个实例正在发送，由它发出"
    line = f"发信：成功 {report.sent} 封"
    if report.failed:
        line += f"，{report.failed} 封未发出（稍后自动重试）：" + "；".join(report.errors)
    return line


def _print_mailboxes(report: PollReport, shown: int = 30) -> None:
    for box in report.mailboxes:
        if box.error:
            click.echo(f"{box.mailbox}: 失败 — {box.error}")
            continue
        if box.busy:
            click.echo(f"{box.mailbox}: 另一个实例正在收取，本次跳过")
            continue
        line = f"{box.mailbox}: 取回 {box.taken} 封，新归档 {box.new} 封"
        if len(box.outcomes) != box.taken:  # mail a stopped or killed poll left spooled, derived now
            line += f"，识别 {len(box.outcomes)} 封"
        click.echo(line + ("（UIDVALIDITY 已变化，已重新扫描）" if box.rescanned else ""))
        new = [outcome for outcome in box.outcomes if outcome.new]
        for outcome in new[:shown]:
            click.echo(
                f"  #{outcome.id} {outcome.kind} {outcome.unit or '?'} {outcome.month or ''} "
                f"{'' if outcome.registered else '[未登记发件人] '}{outcome.subject}"
            )
        if len(new) > shown:
            click.echo(f"  …另有 {len(new) - shown} 封（mailroom search 可查）")


@main.command()
@pass_context
def serve(context: Context) -> None:
    """Run unattended: watch every mailbox (IMAP IDLE where offered, else polling), send receipts at once,
    reminders and the digest on schedule (Asia/Shanghai); messages derived under an older configuration or
    version are derived again in the background. SIGTERM or Ctrl-C stops within seconds."""
    from bot.daemon.serve import serve as run
    from bot.daemon.status import behind_line, due_for_rederive

    logging.getLogger().setLevel(logging.INFO)
    if due := due_for_rederive(context.deps):
        click.echo(behind_line(due, "正在后台重新识别，完成前统计可能与现行配置不符（进度见 mailroom status）"))
    if not run(context.config, context.deps):
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True)
@pass_context
def status(context: Context, as_json: bool) -> None:
    """Each mailbox's last poll, how the daemon waits on it and when it looks next, its last error; the
    owed receipts and the outbox backlog with the server's last error; the month's jobs."""
    from bot.daemon.status import describe_status, gather_status

    data = gather_status(context.config, context.deps)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    click.echo("\n".join(describe_status(data)))


@main.command()
@click.option(
    "--month", required=True, metavar="YYYY-MM", callback=month_param, help="The reporting month to remind for."
)
@click.option("--dry-run", is_flag=True, help="Say who would be reminded; queue and send nothing.")
@click.option(
    "--after-deadline",
    is_flag=True,
    help="Remind although MONTH's deadline has passed: the reminder then says so and asks for the forms at once.",
)
@pass_context
def remind(context: Context, month: str, dry_run: bool, after_deadline: bool) -> None:
    """Run the reminder job now: each unit still missing forms of MONTH gets one reminder (never a second
    one for the same month); says what was sent, or why nothing. After MONTH's deadline it sends only with
    --after-deadline: a reminder then can only chase forms already late (and a mistyped month, a past year's,
    would otherwise reach every unit), so the clerk says that is what they mean; --dry-run shows it either way."""
    from bot.daemon.poll import send_owed
    from bot.outgoing.reminders import REMINDED, passed_deadline, queue_reminders
    from bot.outgoing.render import date_time_text
    from parsers.forms import form_list
    from scoring.settings import month_label

    config, deps = context.config, context.deps
    now = deps.clock()
    deadline = passed_deadline(config, month, now)  # a month no plan covers is refused here
    late = ""
    if deadline is not None:
        late = (
            f"{month_label(month)}报表的报送截止时间 {date_time_text(deadline, config.timezone)} 已过"
            f"（现在是 {date_time_text(now, config.timezone)}），提醒将写明已超过报送时限、请尽快补报"
        )
        if not dry_run and not after_deadline:
            raise InputError(f"{late}；确认要发送请加 --after-deadline（可先加 --dry-run 查看将提醒哪些单位）")
    with deps.db.session() as session:
        results = queue_reminders(config, session, month, now, dry_run=dry_run)
    for result in results:
        missing = form_list(result.missing)
        click.echo(
            f"{result.unit}：{'将提醒' if dry_run and result.outcome == REMINDED else result.outcome}"
            + (f"（尚缺 {missing}）" if missing else "")
        )
    if late and dry_run:
        click.echo(late + ("" if after_deadline else "；实际发送须加 --after-deadline"))
    if dry_run or not any(result.outcome == REMINDED for result in results):
        click.echo("未发送任何提醒" + ("（试运行）" if dry_run else ""))
        return
    sent = send_owed(config, deps, now).outbox
    click.echo(_sent_line(sent))


@main.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--mailbox",
    "mailbox_name",
    metavar="NAME",
    help="Attribute every message to this department mailbox (key, name or address) instead of "
    "the one it was addressed to.",
)
@click.option("--force", is_flag=True, help="Archive a file even if it does not start with mail headers.")
@pass_context
def import_(context: Context, paths: tuple[Path, ...], mailbox_name: str | None, force: bool) -> None:
    """Archive .eml files, Maildir folders and mbox files (backfill of past seasons). A file that is not mail
    is refused, saying why, unless --force."""
    key = context.config.mailbox(mailbox_name).key if mailbox_name else None
    sources = find_sources(list(paths), force)
    with progress(len(sources), "导入") as advance:
        outcomes = import_sources(context.deps, sources, key, advance)
    new = sum(outcome.new for outcome in outcomes)
    click.echo(f"读取 {len(outcomes)} 封邮件：新归档 {new} 封，已在归档中 {len(outcomes) - new} 封")
