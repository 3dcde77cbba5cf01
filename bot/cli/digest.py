"""`mailroom digest`: the monthly standings digest (or a closed year's final ranking), written to a folder and,
with --send, sent to the staff; sent again when the SMTP server refused it for good."""

from __future__ import annotations

import sys
from email.policy import SMTP
from pathlib import Path

import click

from bot.cli.console import sent_line
from bot.cli.errors import month_param
from bot.cli.group import Context, main, pass_context
from bot.config import Config
from bot.daemon.poll import send_outbox
from bot.outgoing.digest import render_digest, workbook_name
from bot.outgoing.digest_mail import (
    ALREADY,
    QUEUED,
    QUEUED_AGAIN,
    PreparedDigest,
    prepare_digest,
    prepare_final_digest,
    queue_digest,
    queue_digest_again,
)


@main.command(name="digest")
@click.option("--month", callback=month_param, metavar="YYYY-MM", help="月份，如 2020-09：该月的月度排名通报。")
@click.option("--year", "year", type=int, metavar="YYYY", help="已结账的年度，如 2020：该年度的最终排名通报。")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="把 digest.html、digest.txt、digest.eml 和 Excel 表格写入这个文件夹。",
)
@click.option(
    "--send",
    is_flag=True,
    help="发送给工作人员名单（配置 [smtp] staff），每月（年度最终排名每年）只发一次；被对方服务器拒收的，再次发送。",
)
@click.option(
    "--again",
    is_flag=True,
    help="与 --send 同用：此前已发送的，按现在的归档重新生成后再发送一次（如此前的通报因服务器时钟错误提前发出）。",
)
@pass_context
def digest_(context: Context, month: str | None, year: int | None, out: Path | None, send: bool, again: bool) -> None:
    """MONTH 的月度排名通报，或已结账年度的最终排名通报（--year）。

    内容有含各项得分的排名、报送矩阵、简报信息、任务完成情况、与上月相比的变化和数据核查发现，并附
    Excel 表格。用 --out 写出文件，或用 --send 发送（可同时使用）。年度最终排名在 mailroom year close
    结账时自动发出；被对方服务器拒收（或结账早于此功能）时，用 --year YYYY --send 发送。"""
    if (month is None) == (year is None):
        raise click.UsageError("请用 --month 指定月份，或用 --year 指定已结账的年度（年度最终排名），二者选一")
    if out is None and not send:
        raise click.UsageError("请用 --out 目录 写出文件，或用 --send 发送（可同时使用）")
    if again and not send:
        raise click.UsageError("--again 要与 --send 同用：再次发送已发出的通报")
    config, deps = context.config, context.deps
    context.warn_if_behind("通报中的排名和得分")
    now = deps.clock()
    what = f"{month} 的月度排名通报" if year is None else f"{year} 年度最终排名通报"
    with deps.db.session() as session:
        if year is None:
            assert month is not None
            prepared = prepare_digest(config, session, month, now)
        else:
            prepared = prepare_final_digest(config, session, year, now)
        if out is not None:
            _write(out, prepared, config)
            click.echo(f"已写入 {out}：digest.html、digest.txt、digest.eml、{workbook_name(prepared.digest)}")
        cause, queued = prepared.cause, None
        if send and again:
            cause, queued = queue_digest_again(session, prepared, now) or "", QUEUED
            if not cause:
                raise click.UsageError(f"{what}尚未发出（或在发送队列中、被拒收）：不用 --again，用 --send 发送")
        elif send:
            queued = queue_digest(session, prepared, now)
    if queued == ALREADY:
        click.echo(f"{what}此前已发送或已在发送队列中，不重复发送（确需再发一次，用 --send --again）", err=True)
        return
    if send:
        said = f"{what}此前被对方服务器拒收，已按现在的配置重新生成；" if queued == QUEUED_AGAIN else ""
        said = f"{what}应要求按现在的归档重新生成，再次发送；" if again else said
        report, fate = send_outbox(config, deps, now, cause)
        click.echo(said + sent_line(config, what, report, fate))
        if not report.busy and fate.state != "sent":
            sys.exit(1)  # queued, but not (yet) delivered: "done, but something is wrong"


def _write(out: Path, prepared: PreparedDigest, config: Config) -> None:
    _, html, text = render_digest(prepared.digest, config)
    out.mkdir(parents=True, exist_ok=True)
    (out / "digest.html").write_text(html, encoding="utf-8")
    (out / "digest.txt").write_text(text, encoding="utf-8")
    (out / workbook_name(prepared.digest)).write_bytes(prepared.workbook)
    (out / "digest.eml").write_bytes(prepared.message.as_bytes(policy=SMTP))
