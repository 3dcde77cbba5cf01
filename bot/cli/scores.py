"""The scoring commands: standings, matrix, explain, and the staff entries (award, awards, revoke)."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from archive.entries import add_entry, list_entries, revoke_entry
from archive.evidence import load_evidence, summary_reports
from archive.findings import all_findings
from bot.cli.console import UNSCORED, UNSCORED_LEGEND, table
from bot.cli.errors import month_param
from bot.cli.group import Context, main, pass_context
from bot.cli.helptext import LOGIN_NAME
from bot.services.explain import explanation
from bot.services.scores import (
    STATUS_NAMES,
    Kept,
    matrix_json,
    shown_matrix,
    shown_standings,
    standings_json,
    unit_name,
)
from bot.services.show import decision_line
from bot.services.years import closed_notes, finding_years
from scoring.settings import ENTRY_KINDS, INNOVATION_LEVELS, MEDIA_LEVELS
from scoring.standings import COMPONENT_LABELS, Standings


def month_option(function):
    return click.option("--month", required=True, callback=month_param, metavar="YYYY-MM", help="月份，如 2020-09。")(
        function
    )


@main.command(name="standings")
@month_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 格式输出排名。")
@click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False, path_type=Path), help="把排名写入这个 Excel 表格文件。")
@pass_context
def standings_(context: Context, month: str, as_json: bool, xlsx: Path | None) -> None:
    """各单位截至 MONTH 月底的累计得分排名，按该月所在年度的计划计分。"""
    context.config.plan(month)  # a month no plan covers is refused before the archive is read
    context.warn_if_behind("以下排名和得分")
    with context.deps.db.session() as session:
        result, kept = shown_standings(context.config, session, load_evidence(session), month, context.deps.clock())
    if xlsx:
        from bot.outgoing.workbooks import write_shown_standings

        write_shown_standings(xlsx, context.config, result, kept)
        click.echo(f"已写入 {xlsx}", err=True)
    if as_json:
        data = standings_json(result, kept)
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
    elif not xlsx:
        click.echo(f"{month} 累计得分排名（截至 {result.as_of:%Y-%m-%d %H:%M}）")
        _say_kept(context, kept)
        click.echo("\n".join(standings_table(result)))
        click.echo(UNSCORED_LEGEND)


def _say_kept(context: Context, kept: Kept | None, unit: str | None = None) -> None:
    """A closed year's note: when it was closed, and what today's figures would change (`unit`'s only)."""
    for line in kept.lines(context.config, unit) if kept else ():
        click.echo(line)


def standings_table(result: Standings) -> list[str]:
    """The ranking as lines lined up by display width; a component not yet scored shows "—", as in the digest."""
    header = ["名次", "单位", "总分", *(COMPONENT_LABELS[item.name] for item in result.rows[0].components)]
    rows = [
        [row.rank, row.unit, row.total, *(item.points if item.closed else UNSCORED for item in row.components)]
        for row in result.rows
    ]
    return table([header, *rows], align="><" + ">" * (len(header) - 2))


@main.command(name="matrix")
@month_option
@click.option("--json", "as_json", is_flag=True, help="以 JSON 格式输出。")
@pass_context
def matrix_(context: Context, month: str, as_json: bool) -> None:
    """MONTH 的报送矩阵：各单位的每个附件是按时报送、迟报还是未报。

    以现在所知为准；已结账的年度以结账时所知为准。"""
    config = context.config
    calendar = config.plan(month).calendar
    context.warn_if_behind("以下报送矩阵")
    with context.deps.db.session() as session:
        packages, kept = shown_matrix(config, session, load_evidence(session), month, datetime.now(UTC))
    data = matrix_json(month, packages) | ({"closed": kept.json()} if kept else {})
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    forms = calendar.required_forms_for(month)
    click.echo(f"{month} 报送情况（截止 {calendar.deadline_for(month):%m-%d %H:%M}）")
    _say_kept(context, kept)
    rows = [
        [
            unit,
            STATUS_NAMES[package["status"]],
            *(STATUS_NAMES[package["forms"][str(form)]["status"]] for form in forms),
        ]
        for unit, package in data["units"].items()
    ]
    click.echo("\n".join(table([["单位", "状态", *(f"附件{form}" for form in forms)], *rows])))


@main.command()
@click.argument("unit")
@month_option
@pass_context
def explain(context: Context, unit: str, month: str) -> None:
    """UNIT 截至 MONTH 月底得到或失去的每一分，以及作为依据的邮件或工作人员登记。

    UNIT 写单位名称或简称。"""
    context.config.plan(month)  # a month no plan covers is refused before the archive is read
    context.warn_if_behind("以下得分说明")
    with context.deps.db.session() as session:
        evidence = load_evidence(session)
        result, kept = shown_standings(context.config, session, evidence, month, context.deps.clock())
        # a closed year's month: the unit among those kept, by the name asked for, today's name or an alias
        explained = explanation(context.config, session, result, unit, kept, evidence.summaries, evidence.articles)
    row = explained.row
    click.echo(f"{row.unit} {month}：总分 {row.total}，第 {row.rank} 名")
    _say_kept(context, kept, row.unit)
    for component in explained.components:
        state = "" if component.closed else "（尚未到评分时间）"
        click.echo(f"\n{component.label}：{component.points} 分{state}")
        for item in component.items:
            refs = [f"邮件 #{i}" for i in item.message_ids] + [f"登记 #{i}" for i in item.staff_entry_ids]
            click.echo(f"  {item.points:+d}  {item.line}" + (f"  ← {'、'.join(refs)}" if refs else ""))
    if explained.decisions:
        click.echo("\n工作人员的决定（识别结果以此为准）：")
    for decision in explained.decisions:
        messages = "、".join(f"邮件 #{i}" for i in decision["message_ids"])
        click.echo(f"  {decision_line(decision)}  ← {messages}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="以 JSON 格式输出。")
@pass_context
def findings(context: Context, as_json: bool) -> None:
    """数据核查发现：累计完成数下降、附件2 的完成数与实名制登记表不符、同一人由两个单位登记。

    按年度分列（所依据的邮件中最晚一封的报送年度）；只供工作人员核实，从不改变得分。"""
    context.warn_if_behind("以下核查发现")
    with context.deps.db.session() as session:
        summaries = summary_reports(session)
        found = all_findings(session, summaries)
        years = finding_years(session, found, summaries, context.config.timezone)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "year": year,
                        "unit": f.unit,
                        "kind": f.kind,
                        "message": f.message,
                        "message_ids": list(f.message_ids),
                    }
                    for f, year in zip(found, years, strict=True)
                ],
                ensure_ascii=False,
                indent=1,
            )
        )
        return
    by_year: dict[int | None, list] = {}
    for finding, year in zip(found, years, strict=True):
        by_year.setdefault(year, []).append(finding)
    for year in sorted(by_year, key=lambda year: year or 0):
        click.echo(f"{year} 年（{len(by_year[year])} 条）：" if year else f"年度不明（{len(by_year[year])} 条）：")
        for finding in by_year[year]:
            click.echo(
                f"  {finding.unit}：{finding.message}  ← " + "、".join(f"邮件 #{i}" for i in finding.message_ids)
            )
    click.echo(f"共 {len(found)} 条", err=True)


@main.command()
@click.argument("unit")
@click.option(
    "--kind", required=True, type=click.Choice(["media", "innovation"]), help="media 媒体报道；innovation 创新性工作。"
)
@click.option(
    "--level",
    required=True,
    type=click.Choice(["central", "provincial", "city", "national"]),
    help="级别。media："
    + "、".join(f"{key}（{label}）" for key, label in MEDIA_LEVELS.items())
    + "；innovation："
    + "、".join(f"{key}（{label}）" for key, label in INNOVATION_LEVELS.items())
    + "。",
)
@click.option(
    "--date",
    "day",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="报道或获评的日期，如 2020-06-18。",
)
@click.option("--evidence", required=True, help="证明材料：报道、通知或案例。")
@click.option("--by", default=getpass.getuser, show_default=LOGIN_NAME, help="登记人。")
@pass_context
def award(context: Context, unit: str, kind: str, level: str, day: datetime, evidence: str, by: str) -> None:
    """为 UNIT 登记媒体报道或创新性工作（邮件无法证明的得分）。

    UNIT 写单位名称或简称。"""
    levels = MEDIA_LEVELS if kind == "media" else INNOVATION_LEVELS
    if level not in levels:
        raise click.BadParameter(f"{kind} 的级别只能是 {' / '.join(levels)}", param_hint="--level")
    with context.deps.db.session() as session:
        row = add_entry(
            session,
            unit_name(context.config, unit, f"{day.year:04d}-{day.month:02d}"),
            kind,
            level,
            day.date(),
            evidence,
            by,
            context.config.plans,
        )
        said = [f"已登记 #{row.id}：{row.unit} {levels[level]} {row.date}（{row.evidence}）"]
        said += closed_notes(context.config, session, [row.date], "这条登记")
    click.echo("\n".join(said))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="以 JSON 格式输出。")
@pass_context
def awards(context: Context, as_json: bool) -> None:
    """列出工作人员的全部登记，包括已撤销的，以及登记人和撤销人。"""
    with context.deps.db.session() as session:
        rows = [_entry_json(row) for row in list_entries(session)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for row in rows:
        state = f"已撤销（{row['revoked_by']}：{row['revoke_reason']}）" if row["revoked_at"] else "有效"
        kind, levels = ENTRY_KINDS.get(row["kind"], (row["kind"], {}))
        click.echo(
            f"#{row['id']} {row['date']} {row['unit']} {kind}·{levels.get(row['level'], row['level'])} "
            f"{row['evidence']} 登记人 {row['entered_by']} {state}"
        )


def _entry_json(row) -> dict[str, Any]:
    return {
        "id": row.id,
        "unit": row.unit,
        "kind": row.kind,
        "level": row.level,
        "date": row.date.isoformat(),
        "evidence": row.evidence,
        "entered_by": row.entered_by,
        "entered_at": row.entered_at.isoformat(),
        "revoked_by": row.revoked_by,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "revoke_reason": row.revoke_reason,
    }


@main.command()
@click.argument("entry_id", type=int)
@click.option("--reason", required=True, help="撤销原因。")
@click.option("--by", default=getpass.getuser, show_default=LOGIN_NAME, help="撤销人。")
@pass_context
def revoke(context: Context, entry_id: int, reason: str, by: str) -> None:
    """撤销编号为 ENTRY_ID 的工作人员登记；记录仍然保留，并写明撤销人、时间和原因。"""
    with context.deps.db.session() as session:
        row = revoke_entry(session, entry_id, reason, by, zone=context.config.timezone)
        said = [f"已撤销 #{row.id}（{row.unit} {row.evidence}）"]
        said += closed_notes(context.config, session, [row.date], "撤销这条登记")
    click.echo("\n".join(said))
