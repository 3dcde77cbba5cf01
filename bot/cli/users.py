"""`mailroom user add|passwd|set|remove|list`: the accounts of `mailroom web`."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from archive.users import (
    ROLES,
    add_user,
    existing_user,
    list_users,
    new_user_name,
    remove_user,
    set_access,
    set_password,
)
from bot.cli.group import Context, main, pass_context
from bot.services.scores import unit_name

password_stdin = click.option("--password-stdin", is_flag=True, help="从标准输入的第一行读取密码（供脚本使用）。")


def _password(from_stdin: bool) -> str:
    """From standard input's first line, or typed twice at a prompt that does not echo it."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    while True:  # click's own confirmation says "Error: The two entered values do not match." in English
        typed = click.prompt("密码", hide_input=True)
        if click.prompt("再输入一次", hide_input=True) == typed:
            return typed
        click.echo("两次输入的密码不一致，请重新输入", err=True)


def _grant(personal: bool) -> str:
    return "可见个人信息" if personal else "个人信息遮蔽"


def _access(role: str, personal: bool, unit: str | None) -> str:
    """ "审计人员，个人信息遮蔽", or for a unit's clerk "填报单位 景县，仅可自查"."""
    return f"{ROLES[role]} {unit}，仅可自查" if role == "unit" else f"{ROLES[role]}，{_grant(personal)}"


unit_option = click.option("--unit", help="用于 --role unit：该账号所属的单位（名称或简称，如 景州）。")


@main.group()
def user() -> None:
    """`mailroom web` 的账号。

    工作人员可使用全部功能；审计人员只能查看，个人信息（证号、电话）遮蔽，除非用 --personal 授权；
    单位填报人员（--role unit --unit U）只能使用自查页面。"""


@user.command(name="add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(list(ROLES)),
    help="staff 工作人员：全部功能；auditor 审计人员：只能查看，个人信息遮蔽；"
    "unit 填报单位：单位的填报人员，只能使用自查页面。",
)
@click.option(
    "--personal",
    is_flag=True,
    help="允许该审计人员看到完整的残疾人证号、身份证号和电话，并下载原始邮件和表格。",
)
@unit_option
@password_stdin
@pass_context
def add(context: Context, name: str, role: str, personal: bool, unit: str | None, password_stdin: bool) -> None:
    """建立账号 NAME（密码要输入两次，或用 --password-stdin 读取）。"""
    unit = unit_name(context.config, unit) if unit is not None else None
    with context.deps.db.session() as session:  # what is refused is said before a password is asked for
        new_user_name(session, name, role, personal, unit)
    password = _password(password_stdin)
    with context.deps.db.session() as session:
        account = add_user(session, name, password, role, personal, unit)
    click.echo(f"已创建账号 {account.name}（{_access(account.role, account.personal, account.unit)}）")


@user.command()
@click.argument("name")
@password_stdin
@pass_context
def passwd(context: Context, name: str, password_stdin: bool) -> None:
    """为 NAME 设置新密码；用旧密码的登录全部失效。"""
    with context.deps.db.session() as session:  # an account that is not there is said before a password is asked
        existing_user(session, name)
    password = _password(password_stdin)
    with context.deps.db.session() as session:
        set_password(session, name, password)
    click.echo(f"已修改 {name} 的密码，原有登录已全部失效")


@user.command(name="set")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(list(ROLES)),
    help="staff：全部功能；auditor：只能查看（个人信息遮蔽，除非 --personal）；unit：只能使用自查页面。",
)
@click.option(
    "--personal/--no-personal",
    default=None,
    help="授予或收回审计人员查看完整个人信息和原始文件的权限。",
)
@unit_option
@pass_context
def set_(context: Context, name: str, role: str | None, personal: bool | None, unit: str | None) -> None:
    """修改 NAME 的角色、个人信息授权或所属单位。

    该账号现有的登录全部失效，修改立即生效。改为审计人员的账号遮蔽个人信息，除非同时给出 --personal。"""
    if role is None and personal is None and unit is None:
        raise click.UsageError("请给出 --role、--unit 或 --personal/--no-personal")
    unit = unit_name(context.config, unit) if unit is not None else None
    with context.deps.db.session() as session:
        account, changed = set_access(session, name, role, personal, unit)
    access = _access(account.role, account.personal, account.unit)
    if changed:
        click.echo(f"已修改账号 {account.name}：{access}，原有登录已全部失效")
    else:
        click.echo(f"账号 {account.name} 已是{access}，未作修改")


@user.command()
@click.argument("name")
@pass_context
def remove(context: Context, name: str) -> None:
    """删除账号 NAME；其登录立即失效。审计记录中仍保留这个名称。"""
    with context.deps.db.session() as session:
        remove_user(session, name)
    click.echo(f"已删除账号 {name}")


@user.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 格式输出。")
@pass_context
def list_(context: Context, as_json: bool) -> None:
    """列出全部账号，及其角色、所属单位、是否可见个人信息。"""
    zone = context.config.timezone
    with context.deps.db.session() as session:
        rows: list[dict[str, Any]] = [
            {
                "name": account.name,
                "role": account.role,
                "personal": account.personal,
                "unit": account.unit,
                "created_at": account.created_at.astimezone(zone).isoformat(timespec="seconds"),
                "password_changed_at": account.password_changed_at.astimezone(zone).isoformat(timespec="seconds"),
            }
            for account in list_users(session)
        ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for row in rows:
        access = _access(row["role"], row["personal"], row["unit"]).replace("，", "  ")
        click.echo(f"{row['name']}  {access}  密码修改于 {row['password_changed_at'][:16]}")
    click.echo(f"共 {len(rows)} 个账号", err=True)
