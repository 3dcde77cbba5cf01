"""The `mailroom` command line."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import click

from bot.cli_errors import month_param, run_reporting_errors
from bot.config import Config, load_config
from bot.console import progress
from bot.deps import Deps, open_deps
from bot.importer import find_sources, import_sources
from bot.inspect import describe, has_problems, inspect_files
from bot.outbox import FlushReport
from bot.poll import PollReport, poll_once


class Context:
    """Loads the config and opens the archive on first use, so `--help` needs neither."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._config: Config | None = None
        self._deps: Deps | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def deps(self) -> Deps:
        if self._deps is None:
            self._deps = open_deps(self.config)
        return self._deps

    def close(self) -> None:
        if self._deps is not None:
            self._deps.close()


pass_context = click.make_pass_decorator(Context)


class Group(click.Group):
    """Every error, click's own included, one line of Chinese and a documented exit code (bot/cli_errors.py),
    never a traceback."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        sys.exit(run_reporting_errors(lambda: super(Group, self).main(args, prog_name, complete_var, False, **extra)))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="FILE", envvar="MAILROOM_CONFIG",
              help="Configuration file (default: $MAILROOM_CONFIG, else ./config.toml).")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, for people reading along.")
@click.version_option(package_name="mailroom")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """mailroom: archives the units' monthly reports and briefings, recognises, scores and answers them."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = Context(config_path)
    ctx.call_on_close(ctx.obj.close)


@main.command()
@pass_context
def init(context: Context) -> None:
    """Create or upgrade the database and the archive folder; say whether messages are due for rederive."""
    from bot.status import behind_line, due_for_rederive

    config = context.config
    context.deps  # opening creates and upgrades
    click.echo(f"数据库已就绪: {config.database_url}")
    click.echo(f"归档目录已就绪: {config.archive_path}")
    if due := due_for_rederive(context.deps):
        click.echo(behind_line(due, "mailroom serve 启动后会在后台重新识别，也可以现在运行 mailroom rederive"))


@main.command()
@click.option("--once", is_flag=True, help="Poll every mailbox once and exit (otherwise poll every "
                                           "[schedule] poll_minutes until Ctrl-C).")
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
        line = f"{box.mailbox}: 取回 {len(box.outcomes)} 封，新归档 {box.new} 封"
        click.echo(line + ("（UIDVALIDITY 已变化，已重新扫描）" if box.rescanned else ""))
        new = [outcome for outcome in box.outcomes if outcome.new]
        for outcome in new[:shown]:
            click.echo(f"  #{outcome.id} {outcome.kind} {outcome.unit or '?'} {outcome.month or ''} "
                       f"{'' if outcome.registered else '[未登记发件人] '}{outcome.subject}")
        if len(new) > shown:
            click.echo(f"  …另有 {len(new) - shown} 封（mailroom search 可查）")


@main.command()
@pass_context
def serve(context: Context) -> None:
    """Run unattended: watch every mailbox (IMAP IDLE where offered, else polling), send receipts at once,
    reminders and the digest on schedule (Asia/Shanghai); messages derived under an older configuration or
    version are derived again in the background. SIGTERM or Ctrl-C stops within seconds."""
    from bot.serve import serve as run
    from bot.status import behind_line, due_for_rederive

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
    from bot.status import describe_status, gather_status

    data = gather_status(context.config, context.deps)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    click.echo("\n".join(describe_status(data)))


@main.command()
@click.option("--month", required=True, metavar="YYYY-MM", callback=month_param, help="The reporting month to remind for.")
@click.option("--dry-run", is_flag=True, help="Say who would be reminded; queue and send nothing.")
@pass_context
def remind(context: Context, month: str, dry_run: bool) -> None:
    """Run the reminder job now: each unit still missing forms of MONTH gets one reminder (never a second
    one for the same month); says what was sent, or why nothing."""
    from bot.poll import send_owed
    from bot.reminders import REMINDED, queue_reminders

    config, deps = context.config, context.deps
    now = deps.clock()
    with deps.db.session() as session:
        results = queue_reminders(config, session, month, now, dry_run=dry_run)
    for result in results:
        missing = "、".join(f"附件{n}" for n in result.missing)
        click.echo(f"{result.unit}：{'将提醒' if dry_run and result.outcome == REMINDED else result.outcome}"
                   + (f"（尚缺 {missing}）" if missing else ""))
    if dry_run or not any(result.outcome == REMINDED for result in results):
        click.echo("未发送任何提醒" + ("（试运行）" if dry_run else ""))
        return
    sent = send_owed(config, deps, now).outbox
    click.echo(_sent_line(sent))


@main.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--mailbox", "mailbox_name", metavar="NAME",
              help="Attribute every message to this department mailbox (key, name or address) instead of "
                   "the one it was addressed to.")
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


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per form found.")
@pass_context
def inspect(context: Context, files: tuple[Path, ...], as_json: bool) -> None:
    """Check workbooks before sending: the form recognised, unit, month, rows, totals and every problem
    with its sheet, row and column. Files given together are checked as one package."""
    results = inspect_files(list(files), context.config)
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        for result in results:
            click.echo("\n".join(describe(result)))
    sys.exit(1 if has_problems(results) else 0)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("var/demo"))
def demo(directory: Path) -> None:
    """Write a demo (config, Maildir mailboxes full of a season of unit mail) into DIRECTORY, replacing one
    already there; then run `mailroom --config DIRECTORY/config.toml poll --once`."""
    from bot.demo import write_demo  # the season generator, only for this command

    config, written = write_demo(directory)
    click.echo(f"演示数据已写入 {directory}：{len(config.units)} 个单位，{written} 封邮件")
    click.echo(f"配置文件：{config.path}")


# The scoring, digest and archive commands live in their own modules and register on `main` when imported.
from bot import scores_cli, years_cli  # noqa: E402,F401
from bot import digest_cli  # noqa: E402,F401
from bot import archive_cli  # noqa: E402,F401
from bot import staff_cli  # noqa: E402,F401
from bot import users_cli, web  # noqa: E402,F401  (bot.web registers `mailroom web`)
