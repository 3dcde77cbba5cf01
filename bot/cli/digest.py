"""`mailroom digest`: the monthly standings digest, written to a folder and, with --send, sent to the staff."""

from __future__ import annotations

from email.policy import SMTP
from pathlib import Path

import click

from bot.cli.group import Context, main, pass_context
from bot.cli.scores import month_option
from bot.daemon.poll import send_outbox
from bot.outgoing.digest import render_digest, workbook_name
from bot.outgoing.digest_mail import PreparedDigest, prepare_digest, queue_digest


@main.command(name="digest")
@month_option
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="把 digest.html、digest.txt、digest.eml 和 Excel 表格写入这个文件夹。",
)
@click.option("--send", is_flag=True, help="发送给工作人员名单（配置 [smtp] staff），每月只发一次。")
@pass_context
def digest_(context: Context, month: str, out: Path | None, send: bool) -> None:
    """MONTH 的月度排名通报。

    内容有含各项得分的排名、报送矩阵、简报信息、任务完成情况、与上月相比的变化和数据核查发现，并附
    Excel 表格。用 --out 写出文件，或用 --send 发送（可同时使用）。"""
    if out is None and not send:
        raise click.UsageError("请用 --out 目录 写出文件，或用 --send 发送（可同时使用）")
    config, deps = context.config, context.deps
    now = deps.clock()
    with deps.db.session() as session:
        prepared = prepare_digest(config, session, month, now)
        if out is not None:
            _write(out, prepared)
            click.echo(f"已写入 {out}：digest.html、digest.txt、digest.eml、{workbook_name(prepared.digest)}")
        if send and not queue_digest(session, prepared, now):
            click.echo(f"{month} 的月报此前已发送或已在发送队列中，不重复发送", err=True)
            return
    if send:
        # The outbox goes out as a whole, as after a poll: whatever else is due leaves with the digest.
        report = send_outbox(config, deps, now)
        if report.busy:
            click.echo("月报已加入发送队列；另一个实例正在发送邮件，将由它发出")
            return
        click.echo(
            f"月报已加入发送队列（收件人 {'、'.join(config.outgoing.staff)}）；本次发出 {report.sent} 封"
            + (f"，{report.failed} 封未发出、稍后自动重试：{'；'.join(report.errors)}" if report.failed else "")
            + (
                f"，{len(report.refused)} 封被对方服务器拒收、不再重试：{'；'.join(report.refused)}"
                if report.refused
                else ""
            )
        )


def _write(out: Path, prepared: PreparedDigest) -> None:
    _, html, text = render_digest(prepared.digest)
    out.mkdir(parents=True, exist_ok=True)
    (out / "digest.html").write_text(html, encoding="utf-8")
    (out / "digest.txt").write_text(text, encoding="utf-8")
    (out / workbook_name(prepared.digest)).write_bytes(prepared.workbook)
    (out / "digest.eml").write_bytes(prepared.message.as_bytes(policy=SMTP))
