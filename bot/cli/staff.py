"""Staff in the loop: `rederive` (every derived record made again from the raw mail), the senders staff
confirm as a unit's (`sender add/remove`, `senders`) and corrections of one message (`correct`,
`corrections`), each taking effect at once."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from typing import Any

import click

from archive.corrections import (
    add_correction,
    corrected_message,
    corrections,
    hold_message,
    replacing,
    revoke_correction,
)
from archive.decisions import revoked_because
from archive.entries import person_on_record, reason_on_record
from archive.queue import Item, attention, mark_handled
from archive.rederive import LOCK
from archive.staff_senders import (
    add_sender,
    confirmed_because,
    plain_address,
    remove_sender,
    staff_senders,
)
from bot.cli.console import progress
from bot.cli.errors import month_param
from bot.cli.group import Context, main, pass_context
from bot.cli.helptext import LOGIN_NAME
from bot.services.decisions import (
    derivation_owed,
    describe,
    message_month,
    rederive_report,
    still_not_counted,
)
from bot.services.scores import unit_name
from bot.services.show import decided_text
from bot.services.years import closed_notes
from parsers.errors import InputError, MailroomError


def run_rederive(
    context: Context, ids: list[int] | None, everything: bool, dry_run: bool, because: str | None = None
) -> dict[str, Any]:
    """bot.services.decisions.rederive_report with a progress bar on a terminal."""
    deps = context.deps
    return rederive_report(
        context.config, deps.intake, deps.clock(), ids, everything, dry_run, because, lambda n: progress(n, "重新识别")
    )


@main.command(name="rederive")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="重新识别全部邮件，而不只是按其他配置或程序版本识别的邮件。",
)
@click.option("--dry-run", is_flag=True, help="只说明将有哪些变化，不做任何修改。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 格式输出。")
@pass_context
def rederive_(context: Context, everything: bool, dry_run: bool, as_json: bool) -> None:
    """按现在的配置、工作人员的决定和程序，从原始邮件重新识别，并说明哪些邮件的识别结果和哪些累计得分有变化。

    不加 --all 时只重新识别按其他配置或程序版本识别的邮件。`serve` 运行时也可以安全执行；中途停止后再次
    运行会接着完成。"""
    if dry_run:
        report = run_rederive(context, None, everything, dry_run)
    else:
        with context.deps.exclusive(LOCK) as mine:
            if not mine:
                raise MailroomError(
                    "另一个进程正在重新识别（mailroom serve 的后台重新识别，或另一个 mailroom rederive）："
                    "请等它完成，进度见 mailroom status"
                )
            report = run_rederive(context, None, everything, dry_run)
    click.echo(json.dumps(report, ensure_ascii=False, indent=1) if as_json else "\n".join(describe(report, dry_run)))
    if report["messages_unreadable"]:
        sys.exit(1)  # done, but messages whose raw file is missing kept what they had


@main.group(name="sender")
def sender() -> None:
    """工作人员确认某地址为单位的报送邮箱，或撤销确认：识别结果立即按此计算。"""


def address_param(_ctx: click.Context | None, _param: click.Parameter | None, value: str) -> str:
    """ADDRESS of `sender add`: one plain address (archive.staff_senders.plain_address, the check add_sender
    makes too), refused as a usage error before the archive is opened."""
    try:
        return plain_address(value)
    except InputError as error:
        raise click.BadParameter(str(error)) from None


@sender.command(name="add")
@click.argument("unit")
@click.argument("address", callback=address_param)
@click.option("--reason", required=True, help="原因：如何确认了这个地址。")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="从这一天起的邮件才计入（默认：全部邮件）。",
)
@click.option("--by", default=getpass.getuser, show_default=LOGIN_NAME, help="确认人。")
@pass_context
def sender_add(context: Context, unit: str, address: str, reason: str, since: datetime | None, by: str) -> None:
    """确认 ADDRESS 为 UNIT 的报送邮箱。

    此后来自它的邮件计入 UNIT；以前来自它的邮件也立即重新识别，同样计入。UNIT 写单位名称或简称。"""
    name = unit_name(context.config, unit, f"{since.year:04d}-{since.month:02d}" if since else _this_month(context))
    reason, by = reason_on_record(reason, "确认原因"), person_on_record(by, "确认人")
    with context.deps.db.session() as session:
        own = context.config.own_addresses
        row = add_sender(
            session,
            name,
            address,
            reason,
            by,
            since.date() if since else None,
            own,
            zone=context.config.timezone,
            configured=context.config.units,
        )
        affected = derivation_owed(session, row.address)
        session.commit()
    click.echo(
        f"已确认 {row.address} 为 {name} 的报送邮箱（#{row.id}{'，自 ' + str(row.since) + ' 起' if row.since else ''}）"
    )
    if not _echo_effect(context, affected, confirmed_because(row.address, name, reason)):
        sys.exit(1)


@sender.command(name="remove")
@click.argument("unit")
@click.argument("address")
@click.option("--reason", required=True, help="撤销原因。")
@click.option("--by", default=getpass.getuser, show_default=LOGIN_NAME, help="撤销人。")
@pass_context
def sender_remove(context: Context, unit: str, address: str, reason: str, by: str) -> None:
    """撤销确认 ADDRESS 为 UNIT 的报送邮箱（记录保留）。

    来自该地址的邮件立即重新识别。"""
    name = unit_name(context.config, unit, _this_month(context))
    reason, by = reason_on_record(reason, "撤销原因"), person_on_record(by, "撤销人")
    with context.deps.db.session() as session:
        aliases = next(unit.aliases for unit in context.config.units if unit.name == name)
        row = remove_sender(session, name, address, reason, by, aliases)
        affected = derivation_owed(session, row.address)
        session.commit()
    click.echo(f"已撤销 #{row.id}：{row.address} 不再作为 {name} 的报送邮箱")
    if not _echo_effect(context, affected, None):
        sys.exit(1)


def _this_month(context: Context) -> str:
    """This month, local: the month a unit named without one is taken in, as that plan year calls it (枣强县 in
    2021: 枣强区)."""
    return context.config.local_month(context.deps.clock())


def _echo_effect(context: Context, affected: list[int], because: str | None) -> bool:
    """Derive the messages a decision concerns again, say what changed, send what is now owed. Whether the
    decision took effect on each: False when one kept what it had (its raw file missing or unreadable: the
    decision waits on record, and the command ends with exit 1, as `rederive` does)."""
    from bot.daemon.poll import send_owed

    report = run_rederive(context, affected, everything=True, dry_run=False, because=because)
    click.echo("\n".join(describe(report, dry_run=False)))
    if because is not None:
        send_owed(context.config, context.deps, context.deps.clock())
    return not any(item["id"] in affected for item in report["messages_unreadable"])


@main.command(name="senders")
@click.argument("unit", required=False)
@pass_context
def senders(context: Context, unit: str | None) -> None:
    """各单位的发件地址：配置中的，以及工作人员确认的（包括已撤销的）。

    给出 UNIT 时只列出该单位。"""
    config = context.config
    name = unit_name(config, unit, _this_month(context)) if unit else None
    zone = config.timezone  # dates as staff read them (stored in UTC)
    shown = [each for each in config.units if name is None or each.name == name]
    with context.deps.db.session() as session:
        confirmed = staff_senders(session, [s for each in shown for s in (each.name, *each.aliases)] if name else ())
    for configured in shown:
        click.echo(f"{configured.name}：配置 {'、'.join(configured.senders) or '无'}")
        # by its name or an alias: one confirmed before the unit was renamed is recorded under its old name
        for row in (row for row in confirmed if row.unit in (configured.name, *configured.aliases)):
            state = (
                f"，{row.revoked_at.astimezone(zone):%Y-%m-%d} 由 {row.revoked_by} 撤销：{row.revoke_reason}"
                if row.revoked_at
                else ""
            )
            since = f"自 {row.since} 起，" if row.since else ""
            click.echo(
                f"  #{row.id} {row.address}：{since}{row.entered_at.astimezone(zone):%Y-%m-%d} 由 {row.entered_by} 确认"
                f"（{row.reason}）{state}"
            )


KINDS = ("report", "briefing", "reply", "auto", "bounce", "selfcheck", "other")


@main.command(name="correct")
@click.argument("message_id", type=int, required=False)
@click.option("--unit", help="邮件实际所属的单位（名称或简称）。")
@click.option("--kind", type=click.Choice(KINDS), help="邮件实际的类别。")
@click.option("--month", callback=month_param, metavar="YYYY-MM", help="邮件实际的报送月份。")
@click.option("--counted/--not-counted", default=None, help="其发件人是否计入该单位。")
@click.option("--revoke", "revoke_id", type=int, metavar="N", help="改为撤销更正 #N（记录保留）。")
@click.option(
    "--reason", required=True, help="原因：工作人员核实了什么（原文写入发给单位的核实通知，请用单位能看的话写）。"
)
@click.option("--by", default=getpass.getuser, show_default=LOGIN_NAME, help="更正人或撤销人。")
@pass_context
def correct(
    context: Context,
    message_id: int | None,
    unit: str | None,
    kind: str | None,
    month: str | None,
    counted: bool | None,
    revoke_id: int | None,
    reason: str,
    by: str,
) -> None:
    """更正编号为 MESSAGE_ID 的邮件的识别结果（单位、类别、月份、是否计入），留有记录。

    邮件立即重新识别，并说明有哪些变化。`--revoke N` 撤销一条更正。"""
    changes = unit is not None or kind is not None or month is not None or counted is not None
    if revoke_id is not None and (message_id is not None or changes):
        raise click.UsageError("--revoke N 只撤销更正 #N，不能同时给出邮件编号或 --unit、--kind、--month、--counted")
    if revoke_id is None and message_id is not None and not changes:
        raise click.UsageError("请至少给出 --unit、--kind、--month、--counted/--not-counted 中的一项")
    with context.deps.db.session() as session:
        if revoke_id is not None:
            row = revoke_correction(session, revoke_id, reason, by, zone=context.config.timezone)
            message_id = corrected_message(session, row)
            said = [f"已撤销更正 #{row.id}"]
            because = revoked_because(row)
        elif message_id is None:
            raise click.UsageError("请给出邮件编号，或用 --revoke 撤销一条更正")
        else:
            # the unit named as the plan year of the month the mail is to count for calls it (枣强县 in 2021: 枣强区)
            anchor = month or message_month(session, message_id)
            name = unit_name(context.config, unit, anchor) if unit else None
            hold_message(session, message_id)  # what it replaces is read under the hold add_correction takes
            earlier = replacing(session, message_id)
            row = add_correction(
                session,
                message_id,
                reason,
                by,
                unit=name,
                kind=kind,
                month=month,
                counted=counted,
                plans=context.config.plans,
            )
            session.flush()
            said = [f"已登记更正 #{row.id}（邮件 #{message_id}）"]
            if earlier is not None:
                said.append(
                    f"它取代了更正 #{earlier.id}（{decided_text(earlier)}），后者已撤销；"
                    f"未更正的项保持原样，现为：{decided_text(row)}"
                )
            because = row.reason
        month_before = message_month(session, message_id)
        session.commit()
    click.echo("\n".join(said))
    if message_id is not None:
        applied = _echo_effect(context, [message_id], because)
        what = "撤销这次更正" if revoke_id is not None else "这次更正"
        with context.deps.db.session() as session:
            notes = closed_notes(context.config, session, [month_before, message_month(session, message_id)], what)
            warning = still_not_counted(session, message_id, "请再次更正并加 --counted")
        for line in [*notes, *([warning] if warning else [])]:
            click.echo(line)
        if not applied:
            sys.exit(1)


@main.command(name="corrections")
@pass_context
def corrections_(context: Context) -> None:
    """列出全部更正，包括已撤销的：哪封邮件、改了什么、谁、何时、为什么。"""
    zone = context.config.timezone  # dates as staff read them (stored in UTC)
    with context.deps.db.session() as session:
        for row, message_id in corrections(session):
            what = decided_text(row)
            state = (
                f"；{row.revoked_at.astimezone(zone):%Y-%m-%d} 由 {row.revoked_by} 撤销：{row.revoke_reason}"
                if row.revoked_at
                else ""
            )
            click.echo(
                f"#{row.id} 邮件 #{message_id}：{what}"
                f"（{row.entered_at.astimezone(zone):%Y-%m-%d} {row.entered_by}：{row.reason}）{state}"
            )


@main.group(name="queue", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 格式输出。")
@click.option("--all", "include_handled", is_flag=True, help="也列出已处理的事项，以及处理人和时间。")
@click.pass_context
def queue(ctx: click.Context, as_json: bool, include_handled: bool) -> None:
    """待处理事项：需要人工处理的事。

    `queue done HANDLE --note TEXT` 把一项标记为已处理。"""
    if ctx.invoked_subcommand is not None:
        return
    context: Context = ctx.obj
    with context.deps.db.session() as session:
        items = attention(session, include_handled)
    context.warn_if_behind("待处理事项")  # a message's reasons are part of its derivation
    if as_json:
        click.echo(json.dumps([_item_json(item) for item in items], ensure_ascii=False, indent=1))
        return
    zone = context.config.timezone
    for item in items:
        done = (
            f"  [已处理：{item.handled_at.astimezone(zone):%Y-%m-%d} {item.handled_by}：{item.note}]"
            if item.handled_by and item.handled_at
            else ""
        )
        messages = "、".join(f"#{id_}" for id_ in item.message_ids)
        sender = f"  发件地址 {item.sender}" if item.sender else ""
        click.echo(
            f"{item.handle}  {item.unit or '未识别单位'}  {messages}  {item.text}{sender}\n    {item.reason_text}{done}"
        )
    click.echo(f"共 {sum(item.handled_by is None for item in items)} 项待处理")


@queue.command(name="done")
@click.argument("handle")
@click.option("--note", required=True, help="做了什么处理。")
@click.option("--by", default=getpass.getuser, show_default=LOGIN_NAME, help="处理人。")
@pass_context
def queue_done(context: Context, handle: str, note: str, by: str) -> None:
    """把一项待处理事项标记为已处理。

    HANDLE 写 `mailroom queue` 每项开头的标识，如 12-question。标记后 `queue --all` 仍会列出它，并写明
    处理人、时间和处理说明。"""
    with context.deps.db.session() as session:
        mark_handled(session, handle, note, by, zone=context.config.timezone)
        session.commit()
    click.echo(f"已标记为已处理：{handle}")


def _item_json(item: Item) -> dict[str, Any]:
    return {
        "item": item.handle,
        "reason": item.reason,
        "reason_text": item.reason_text,
        "text": item.text,
        "unit": item.unit,
        "message_ids": list(item.message_ids),
        "detail": list(item.detail),
        "suggested_units": list(item.suggested_units),
        "sender": item.sender,
        "handled_by": item.handled_by,
        "handled_at": item.handled_at.isoformat() if item.handled_at else None,
        "note": item.note,
    }
