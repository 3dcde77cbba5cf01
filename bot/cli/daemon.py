"""`mailroom init, copy-database, poll, serve, status, remind, import`: the archive opened (or its database
copied into another), mail fetched and imported, the daemon run and asked how it does, the reminder job run by
hand."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import click

from bot.cli.console import progress, table
from bot.cli.errors import month_param
from bot.cli.group import Context, main, pass_context
from bot.daemon.importer import find_sources, import_sources
from bot.daemon.poll import PollReport, poll_once
from bot.outgoing.outbox import FlushReport
from parsers.errors import ConfigError, InputError, MailroomError


@main.command()
@click.option(
    "--pair",
    is_flag=True,
    help="数据库与归档目录不配套时（空数据库旁的归档已有邮件、归档目录缺失、两者各属一套）仍将二者配对：只在确有此意时使用。",
)
@pass_context
def init(context: Context, pair: bool) -> None:
    """建立或升级数据库和归档目录，并说明是否有邮件需要重新识别。

    只有这个命令会为 SQLite 数据库建立缺少的文件夹；其他命令遇到缺少的文件夹会拒绝（以防路径写错）。"""
    from bot.config import masked_url
    from bot.daemon.status import behind_line, decided_due, due_for_rederive

    config = context.config
    deps = context.open_deps(create_folders=True, adopt=pair)  # opening creates and upgrades
    click.echo(f"数据库已就绪: {masked_url(config.database_url)}")
    click.echo(f"归档目录已就绪: {config.archive_path}")
    if due := due_for_rederive(deps):
        doing = "mailroom serve 启动后会在后台重新识别，也可以现在运行 mailroom rederive"
        click.echo(behind_line(due, doing, decided_due(deps)))


@main.command("copy-database")
@click.argument("target_url", metavar="TARGET_URL")
@pass_context
def copy_database(context: Context, target_url: str) -> None:
    """把整个数据库复制到另一个空数据库（如从 SQLite 换到 PostgreSQL）：每张表逐行复制、编号不变，再建立检索索引。

    复制前请先停止 serve 和 web。归档目录不动，复制好的数据库与它配对；已发的回执、通报和工作人员的决定都在，
    不会重发。复制后把 MAILROOM_DATABASE_URL（或配置中的 [database] url）改为 TARGET_URL，运行 mailroom verify
    核对，再启动 serve 和 web。PostgreSQL 的密码请放在 PGPASSWORD 或 ~/.pgpass 中，不要写进地址（命令行别人看得到）。"""
    from sqlalchemy.exc import SQLAlchemyError

    from archive.copy import copy_database as copy_rows
    from archive.copy import source_counts
    from archive.db import Database, driver_says, sqlite_file
    from archive.pairing import retire
    from bot.config import masked_url
    from bot.daemon.status import daemon_running

    deps = context.deps
    if daemon_running(deps):
        raise ConfigError(
            "mailroom serve 正在运行：请先停止 serve 和 web，再复制数据库（否则复制期间的邮件和操作不在新数据库中）"
        )
    if target_url == deps.db.url:
        raise ConfigError("TARGET_URL 就是现在使用的数据库：请写另一个新建的空数据库的地址")
    if (file := sqlite_file(target_url)) is not None and not Path(file).parent.is_dir():
        raise ConfigError(f"TARGET_URL 的文件夹 {Path(file).parent} 不存在：请检查地址是否写错，或先创建该文件夹")
    target = Database(target_url)
    counts = source_counts(deps.db)
    try:
        with progress(sum(counts.values()), "复制") as advance:
            indexed = copy_rows(deps.db, target, advance, lambda: click.echo("正在建立检索索引……", err=True))
    finally:
        target.dispose()
    try:
        retire(deps.db)  # a shell still naming the old database is refused, not let archive into it
        retired = "旧数据库留作备份：已标记为不再使用，命令遇到它会拒绝并提示改用新数据库"
    except (SQLAlchemyError, MailroomError) as error:
        why = driver_says(error) if isinstance(error, SQLAlchemyError) else str(error)
        retired = f"注意：未能把旧数据库标记为不再使用（{why}），请勿再让任何命令使用它"
    click.echo(f"已复制到 {masked_url(target_url)}：")
    for line in table([("表", "行数"), *[(name, str(rows)) for name, rows in counts.items()]], align="<>"):
        click.echo(f"  {line}")
    click.echo(f"检索索引：{indexed} 封邮件")
    click.echo(
        "下一步：把 MAILROOM_DATABASE_URL（或配置 [database] url）改为新地址，运行 mailroom verify 核对，"
        f"再启动 serve 和 web。{retired}"
    )


@main.command()
@click.option(
    "--once",
    is_flag=True,
    help="每个邮箱只收取一次就退出，有邮箱收取失败或有邮件未能发出时退出码为 1"
    "（不加时每隔配置 [schedule] poll_minutes 分钟收取一次，直到按 Ctrl-C）。",
)
@pass_context
def poll(context: Context, once: bool) -> None:
    """从配置的每个邮箱收取新邮件并归档，然后生成并发出应发的回执。"""
    minutes = context.config.schedule.poll_minutes
    while True:
        report = poll_once(context.config, context.deps)
        _print_poll(report)
        if report.stopped is not None:  # the database failed midway: what was done is above, why on stderr
            raise report.stopped
        if once:
            unsent = report.outbox is not None and bool(report.outbox.failed or report.outbox.refused)
            sys.exit(1 if report.errors or unsent else 0)
        time.sleep(minutes * 60)


def _print_poll(report: PollReport) -> None:
    _print_mailboxes(report)
    if report.stopped is not None:  # the receipts and the outbox were not reached, or not to their end
        return
    click.echo(f"回执：新排队 {report.receipts} 封")
    if report.outbox is not None:
        click.echo(_sent_line(report.outbox))


def _sent_line(report: FlushReport) -> str:
    if report.busy:
        return "发信：另一个实例正在发送，由它发出"
    line = f"发信：成功 {report.sent} 封"
    if report.failed:
        line += f"，{report.failed} 封未发出（留在发送队列中，由 serve 或下次 poll 再试）：" + "；".join(report.errors)
    if report.refused:
        line += f"，{len(report.refused)} 封被对方服务器拒收、不再重试：" + "；".join(report.refused)
    return line


def _print_mailboxes(report: PollReport, shown: int = 30) -> None:
    for box in report.mailboxes:
        if box.error:
            derived = f"；此前已归档的 {len(box.outcomes)} 封已识别" if box.outcomes else ""  # spooled before
            click.echo(f"{box.mailbox}: 失败 — {box.error}{derived}")
            continue
        if box.busy:
            click.echo(f"{box.mailbox}: 另一个实例正在收取，本次跳过")
            continue
        line = f"{box.mailbox}: 取回 {box.taken} 封，新归档 {box.new} 封"
        if len(box.outcomes) != box.taken:  # mail a stopped or killed poll left spooled, derived now
            line += f"，识别 {len(box.outcomes)} 封"
        if box.tidied:  # `move` switched on, or a failed move's leftovers
            line += f"，另将此前已归档的 {box.tidied} 封移到了 move_to 所指的文件夹"
        click.echo(line + ("（UIDVALIDITY 已变化，已重新扫描）" if box.rescanned else ""))
        if box.untidied:
            click.echo(f"  {box.untidied}")
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
    """无人值守运行：监视每个邮箱，回执即时发出，催报提醒和月度排名通报按时发出。

    服务器支持时用 IMAP IDLE 等待新邮件，否则定时轮询；定时任务按配置的时区（默认 Asia/Shanghai）；
    按旧配置或旧版本识别的邮件在后台重新识别。

    SIGTERM 或 Ctrl-C 使其在几秒内停止：SIGTERM（如 systemctl stop）退出码为 0，Ctrl-C 为 130
    （已中断）；因程序出错而停止时为 1。"""
    from bot.daemon.serve import serve as run
    from bot.daemon.status import behind_line, decided_due, due_for_rederive

    logging.getLogger().setLevel(logging.INFO)
    if due := due_for_rederive(context.deps):
        doing = "正在后台重新识别，完成前统计可能与现行配置不符（进度见 mailroom status）"
        click.echo(behind_line(due, doing, decided_due(context.deps)))
    if not run(context.config, context.deps):  # Ctrl-C: KeyboardInterrupt, after the graceful stop (exit 130)
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="以 JSON 格式输出。")
@pass_context
def status(context: Context, as_json: bool) -> None:
    """守护进程是否在运行，以及它的记录：各邮箱最近收信、如何等待和下次查看的时间、最近的错误。

    还有待生成的回执、待发邮件的积压和发信服务器最近的错误，以及催报提醒、月度排名通报这两项定时任务
    的上次和下次运行。"""
    from bot.daemon.status import describe_status, gather_status

    data = gather_status(context.config, context.deps)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    click.echo("\n".join(describe_status(data)))


@main.command()
@click.option("--month", required=True, metavar="YYYY-MM", callback=month_param, help="要催报的报送月份，如 2020-04。")
@click.option("--dry-run", is_flag=True, help="只列出将提醒哪些单位，不排队、不发送。")
@click.option(
    "--after-deadline",
    is_flag=True,
    help="MONTH 的报送截止时间已过也照样提醒：提醒中会写明已超过报送时限，请尽快补报。",
)
@pass_context
def remind(context: Context, month: str, dry_run: bool, after_deadline: bool) -> None:
    """立即运行催报提醒：MONTH 仍缺报表的每个单位收到提醒：截止前、截止后各至多一封（同一封不会发第二次）；
    输出提醒了哪些单位，或为什么没有提醒。

    MONTH 的报送截止时间过后，只有加 --after-deadline 才发送：这时的提醒只能催补已逾期的报表
    （而把月份写错，例如写成往年的月份，会发给每个单位），所以要由操作的工作人员明确表示确实要发；
    截止前后都可以先加 --dry-run 查看。已结账年度（mailroom year close）的月份不再催报。"""
    from bot.daemon.poll import send_owed
    from bot.outgoing.reminders import REMINDED, passed_deadline, queue_reminders
    from bot.outgoing.render import date_time_text, deadline_text
    from bot.services.years import refuse_closed_month
    from parsers.form_layouts import form_list
    from scoring.settings import month_label

    config, deps = context.config, context.deps
    now = deps.clock()
    deadline = passed_deadline(config, month, now)  # a month no plan covers is refused here
    with deps.db.session() as session:  # so is one of a closed year, a dry run too: it would remind no one
        refuse_closed_month(config, session, month, "催报")
    late = ""
    if deadline is not None:
        late = (
            f"{month_label(month)}报表的报送截止时间 {deadline_text(deadline, config.timezone)} 已过"
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
    help="把每封邮件都归入这个部门邮箱（写配置中的 key、名称或地址，如 jjb 或 教就部），而不按收件地址归入。",
)
@click.option("--force", is_flag=True, help="文件开头不是邮件头也照样归档。")
@pass_context
def import_(context: Context, paths: tuple[Path, ...], mailbox_name: str | None, force: bool) -> None:
    """归档 .eml 文件、Maildir 文件夹和 mbox 文件（补录以往的邮件）。

    不是邮件的文件会被拒绝并说明原因，除非加 --force。"""
    key = context.config.mailbox(mailbox_name).key if mailbox_name else None
    sources = find_sources(list(paths), force)
    with progress(len(sources), "导入") as advance:
        outcomes = import_sources(context.deps, sources, key, advance)
    new = sum(outcome.new for outcome in outcomes)
    click.echo(f"读取 {len(outcomes)} 封邮件：新归档 {new} 封，已在归档中 {len(outcomes) - new} 封")
