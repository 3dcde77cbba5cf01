"""`mailroom year`: the plan years (`year list`) and closing one (`year close 2020`)."""

from __future__ import annotations

import getpass
import json
import sys

import click

from archive.outbox import final_digest_cause
from bot.cli.console import sent_line
from bot.cli.group import Context, main, pass_context
from bot.cli.helptext import LOGIN_NAME
from bot.daemon.poll import send_outbox
from bot.outgoing.digest_mail import close_year_with_final_digest
from bot.services.years import FINAL_NEVER_SENT, years_json

# What `year list` says of a closed year's final ranking, by its state in the outbox (None: never queued).
FINAL_STATE = {
    "sent": "年度最终排名通报已发出",
    "pending": "年度最终排名通报待发出（mailroom status 查看待发邮件）",
    "sending": "年度最终排名通报待发出（mailroom status 查看待发邮件）",
    "failed": (
        "年度最终排名通报被对方服务器拒收：请核对配置 [smtp] staff 后用 mailroom digest --year {year} --send 重新发送"
    ),
    None: FINAL_NEVER_SENT,
}


@main.group()
def year() -> None:
    """计划年度：每年按各自的目标和规则计分；已结账的年度保留结账时的结果。"""


@year.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 格式输出。")
@pass_context
def list_(context: Context, as_json: bool) -> None:
    """列出每个计划年度。

    包括其月份、单位、计划的哈希值，以及是否已结账（按哪一版计划结账）。"""
    with context.deps.db.session() as session:
        listed = years_json(context.config, session)
    if as_json:
        click.echo(json.dumps(listed, ensure_ascii=False, indent=1))
        return
    for item in listed:
        first, last = item["months"]
        line = f"{item['year']} 年：{first} 至 {last}，{len(item['units'])} 个单位，计划 {item['plan_hash']}"
        closed = item["closed"]
        if closed is None:
            line += "；未结账"
        else:
            when = closed["closed_at"][:16].replace("T", " ")
            line += f"；已于 {when} 由 {closed['closed_by']} 结账（识别 {closed['derived_with']}）"
            if closed["plan_hash"] != item["plan_hash"]:
                line += f"，结账时为计划 {closed['plan_hash']}，此后该年的配置已改动：查看时会注明与结账时的不同"
            line += f"；{FINAL_STATE[closed['final_digest']].format(year=item['year'])}"
        click.echo(line)


@year.command(name="close")
@click.argument("number", metavar="YEAR", type=int)
@click.option("--by", default=getpass.getuser, show_default=LOGIN_NAME, help="结账人。")
@pass_context
def close(context: Context, number: int, by: str) -> None:
    """为 YEAR 结账（在该年最后一期月度排名通报发出之后），并发出年度最终排名。

    该年的排名、得分依据和报送矩阵按现在的样子保存，连同它们所依据的计划和识别版本；
    此后的改动只在旁边注明，不会改变保存的结果。结账的同时，该年度的最终排名通报加入发送队列，
    发给工作人员名单（配置 [smtp] staff）。"""
    config, deps = context.config, context.deps
    now = deps.clock()
    with deps.db.session() as session:
        closed = close_year_with_final_digest(config, session, number, deps.recognizer.stamp, by, now)
    months = config.plans.year(number).months
    click.echo(
        f"{number} 年已结账：{months[0]} 至 {months[-1]} 的排名、得分依据和报送矩阵已保存"
        f"（计划 {closed.plan_hash}，识别 {closed.derived_with}）"
    )
    report, fate = send_outbox(config, deps, now, final_digest_cause(number))
    click.echo(sent_line(config, f"{number} 年度最终排名通报", report, fate))
    if not report.busy and fate.state != "sent":
        sys.exit(1)  # closed, but its final ranking not (yet) delivered: "done, but something is wrong"
