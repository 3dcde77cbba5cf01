"""Staff in the loop: `rederive` (every derived record made again from the raw mail), the senders staff
confirm as a unit's (`sender add/remove`, `senders`) and corrections of one message (`correct`,
`corrections`), each taking effect at once."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from typing import Any

import click
from sqlalchemy.orm import Session

from archive.corrections import add_correction, corrections, revoke_correction
from archive.evidence import load_evidence
from archive.queue import REASONS, Item, attention, mark_handled
from archive.rederive import LOCK, Change, behind, due, rederive
from archive.staff_senders import (
    add_sender,
    confirmed_because,
    messages_from,
    plain_address,
    remove_sender,
    staff_senders,
)
from bot.cli.console import progress
from bot.cli.errors import month_param
from bot.cli.group import Context, main, pass_context
from bot.config import Config
from bot.services.scores import compute_standings, unit_name
from bot.services.show import correction_what
from parsers.errors import InputError, MailroomError


def standings_totals(config: Config, session: Session) -> dict[tuple[str, str], int]:
    """{(unit, month): cumulative total} for every month a plan covers."""
    evidence = load_evidence(session)
    return {
        (row.unit, month): row.total
        for month in config.plans.months()
        for row in compute_standings(config, evidence, month).rows
    }


def run_rederive(
    context: Context, ids: list[int] | None, everything: bool, dry_run: bool, because: str | None = None
) -> dict[str, Any]:
    """Derive again (all that is due, or `ids`), with the standings before and after; a dry run rolls
    the whole of it back. `because`: a staff decision's why (a message it makes count is owed a notice)."""
    config, deps = context.config, context.deps
    intake = deps.intake
    with deps.db.session() as session:
        before = standings_totals(config, session)
        todo = due(session, intake.recognizer.stamp, everything, ids)
        with progress(len(todo), "重新识别") as advance:
            changes = rederive(intake, session, todo, advance=advance, commit=not dry_run, because=because)
        after = standings_totals(config, session)
        if dry_run:
            session.rollback()
    return {
        "messages_checked": len(todo),
        "messages_changed": [_change_json(c) for c in changes],
        "standings_changed": [
            {"unit": unit, "month": month, "before": before.get((unit, month)), "after": total}
            for (unit, month), total in sorted(after.items())
            if before.get((unit, month)) != total
        ],
    }


def _change_json(change: Change) -> dict[str, Any]:
    return {"id": change.id, "subject": change.subject, "before": change.before, "after": change.after}


def describe(report: dict[str, Any], dry_run: bool) -> list[str]:
    verb = "将改变" if dry_run else "已改变"
    lines = [f"检查 {report['messages_checked']} 封邮件，识别结果{verb} {len(report['messages_changed'])} 封"]
    for change in report["messages_changed"]:
        differs = [
            f"{key} {change['before'][key]!r} → {change['after'][key]!r}"
            for key in change["before"]
            if change["before"][key] != change["after"][key]
        ]
        lines.append(f"  #{change['id']} {change['subject']}：{'；'.join(differs)}")
    lines.append(f"累计得分{verb} {len(report['standings_changed'])} 处")
    for item in report["standings_changed"]:
        lines.append(f"  {item['unit']} {item['month']}：{item['before']} → {item['after']}")
    return lines


@main.command(name="rederive")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Every message, not only those derived under another configuration or code version.",
)
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@click.option("--json", "as_json", is_flag=True)
@pass_context
def rederive_(context: Context, everything: bool, dry_run: bool, as_json: bool) -> None:
    """Derive every message again from its raw bytes under the current configuration, staff decisions and
    code, and say which messages and standings changed. Safe while `serve` runs; resumable."""
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


@main.group(name="sender")
def sender() -> None:
    """Addresses staff confirm as a unit's (or no longer): recognition counts them at once."""


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
@click.option("--reason", required=True, help="Why: how the address was confirmed.")
@click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Count its mail from this day on (default: all of it)."
)
@click.option("--by", default=getpass.getuser, show_default="the login name")
@pass_context
def sender_add(context: Context, unit: str, address: str, reason: str, since: datetime | None, by: str) -> None:
    """Confirm ADDRESS as UNIT's: its mail counts for UNIT from now on and, re-derived now, in the past."""
    name = unit_name(context.config, unit)
    with context.deps.db.session() as session:
        row = add_sender(session, name, address, reason, by, since.date() if since else None)
        session.commit()
        affected = messages_from(session, row.address)
    click.echo(
        f"已确认 {row.address} 为 {name} 的报送邮箱（#{row.id}{'，自 ' + str(row.since) + ' 起' if row.since else ''}）"
    )
    _echo_effect(context, affected, confirmed_because(row.address, name, reason))


@sender.command(name="remove")
@click.argument("unit")
@click.argument("address")
@click.option("--reason", required=True)
@click.option("--by", default=getpass.getuser, show_default="the login name")
@pass_context
def sender_remove(context: Context, unit: str, address: str, reason: str, by: str) -> None:
    """Revoke a confirmation (kept on record); its mail is re-derived at once."""
    name = unit_name(context.config, unit)
    with context.deps.db.session() as session:
        row = remove_sender(session, name, address, reason, by)
        session.commit()
        affected = messages_from(session, row.address)
    click.echo(f"已撤销 #{row.id}：{row.address} 不再作为 {name} 的报送邮箱")
    _echo_effect(context, affected, None)


def _echo_effect(context: Context, affected: list[int], because: str | None) -> None:
    """Derive the messages a decision concerns again, say what changed, send what is now owed."""
    from bot.daemon.poll import send_owed

    report = run_rederive(context, affected, everything=True, dry_run=False, because=because)
    click.echo("\n".join(describe(report, dry_run=False)))
    if because is not None:
        send_owed(context.config, context.deps, context.deps.clock())


@main.command(name="senders")
@click.argument("unit", required=False)
@pass_context
def senders(context: Context, unit: str | None) -> None:
    """Each unit's senders: those in the configuration and those staff confirmed (revoked ones too)."""
    config = context.config
    name = unit_name(config, unit) if unit else None
    with context.deps.db.session() as session:
        confirmed = staff_senders(session, name)
    for configured in config.units:
        if name and configured.name != name:
            continue
        click.echo(f"{configured.name}：配置 {'、'.join(configured.senders) or '无'}")
        for row in (row for row in confirmed if row.unit == configured.name):
            state = (
                f"，{row.revoked_at:%Y-%m-%d} 由 {row.revoked_by} 撤销：{row.revoke_reason}" if row.revoked_at else ""
            )
            since = f"自 {row.since} 起，" if row.since else ""
            click.echo(
                f"  #{row.id} {row.address}：{since}{row.entered_at:%Y-%m-%d} 由 {row.entered_by} 确认"
                f"（{row.reason}）{state}"
            )


KINDS = ("report", "briefing", "reply", "auto", "bounce", "selfcheck", "other")


@main.command(name="correct")
@click.argument("message_id", type=int, required=False)
@click.option("--unit", help="The unit the message is really from (name or alias).")
@click.option("--kind", type=click.Choice(KINDS), help="What it really is.")
@click.option("--month", callback=month_param, metavar="YYYY-MM", help="Its reporting month.")
@click.option("--counted/--not-counted", default=None, help="Whether its sender counts for the unit.")
@click.option("--revoke", "revoke_id", type=int, metavar="N", help="End correction #N instead (kept on record).")
@click.option("--reason", required=True, help="Why: what staff checked.")
@click.option("--by", default=getpass.getuser, show_default="the login name")
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
    """Override what one message was recognised as (unit, kind, month, counted), on record; it is derived
    again at once and the command says what changed. `--revoke N` ends a correction."""
    with context.deps.db.session() as session:
        if revoke_id is not None:
            row = revoke_correction(session, revoke_id, reason, by)
            message_id = next((id_ for found, id_ in corrections(session) if found.id == row.id), None)
            click.echo(f"已撤销更正 #{row.id}")
        elif message_id is None:
            raise click.UsageError("请给出邮件编号，或用 --revoke 撤销一条更正")
        else:
            name = unit_name(context.config, unit) if unit else None
            row = add_correction(session, message_id, reason, by, unit=name, kind=kind, month=month, counted=counted)
            session.flush()
            click.echo(f"已登记更正 #{row.id}（邮件 #{message_id}）")
        session.commit()
    if message_id is not None:
        _echo_effect(context, [message_id], None if revoke_id is not None else f"{reason}（{by}）")


@main.command(name="corrections")
@pass_context
def corrections_(context: Context) -> None:
    """Every correction, revoked ones too: which message, what, who, when and why."""
    with context.deps.db.session() as session:
        for row, message_id in corrections(session):
            what = correction_what(row)
            state = (
                f"；{row.revoked_at:%Y-%m-%d} 由 {row.revoked_by} 撤销：{row.revoke_reason}" if row.revoked_at else ""
            )
            click.echo(
                f"#{row.id} 邮件 #{message_id}：{what}"
                f"（{row.entered_at:%Y-%m-%d} {row.entered_by}：{row.reason}）{state}"
            )


@main.group(name="queue", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("--all", "include_handled", is_flag=True, help="Handled items too, with who and when.")
@click.pass_context
def queue(ctx: click.Context, as_json: bool, include_handled: bool) -> None:
    """The attention queue (待处理): what needs a person. `queue done ITEM --note TEXT` marks one handled."""
    if ctx.invoked_subcommand is not None:
        return
    context: Context = ctx.obj
    with context.deps.db.session() as session:
        items = attention(session, include_handled)
        stale = behind(session, context.deps.recognizer.stamp)
    if stale:  # a message's reasons are part of its derivation
        click.echo(f"有 {stale} 封邮件尚待重新识别，待处理事项可能不全（mailroom rederive）", err=True)
    if as_json:
        click.echo(json.dumps([_item_json(item) for item in items], ensure_ascii=False, indent=1))
        return
    for item in items:
        done = f"  [已处理：{item.handled_at:%Y-%m-%d} {item.handled_by}：{item.note}]" if item.handled_by else ""
        messages = "、".join(f"#{id_}" for id_ in item.message_ids)
        click.echo(
            f"{item.handle}  {item.unit or '未识别单位'}  {messages}  {item.text}\n    {REASONS[item.reason]}{done}"
        )
    click.echo(f"共 {sum(item.handled_by is None for item in items)} 项待处理")


@queue.command(name="done")
@click.argument("handle")
@click.option("--note", required=True, help="What was done.")
@click.option("--by", default=getpass.getuser, show_default="the login name")
@pass_context
def queue_done(context: Context, handle: str, note: str, by: str) -> None:
    """Mark an item handled (it stays listed with `queue --all`, with who, when and the note)."""
    with context.deps.db.session() as session:
        mark_handled(session, handle, note, by)
        session.commit()
    click.echo(f"已标记为已处理：{handle}")


def _item_json(item: Item) -> dict[str, Any]:
    return {
        "item": item.handle,
        "reason": item.reason,
        "reason_text": REASONS[item.reason],
        "text": item.text,
        "unit": item.unit,
        "message_ids": list(item.message_ids),
        "handled_by": item.handled_by,
        "handled_at": item.handled_at.isoformat() if item.handled_at else None,
        "note": item.note,
    }
