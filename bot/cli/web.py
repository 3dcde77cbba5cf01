"""`mailroom web`: serves the web app with waitress on [web] host and port (bot.web.server)."""

from __future__ import annotations

import errno
import logging

import click

from bot.cli.group import Context, main, pass_context
from parsers.errors import ServiceError


@main.command()
@click.option("--host", help="Listen on this address instead of [web] host (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Listen on this port instead of [web] port.")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True)
@pass_context
def web(context: Context, host: str | None, port: int | None, threads: int) -> None:
    """The web app for staff and auditors (archive search, messages and downloads, standings, matrix,
    explanations, the audit trail) and the units' clerks (自查 only). Accounts: `mailroom user add`. Put a TLS
    reverse proxy in front."""
    from archive.users import list_users
    from bot.web.app import create_app
    from bot.web.server import make_server

    config, deps = context.config, context.deps
    host, port = host or config.web.host, port or config.web.port
    app = create_app(config, deps)
    with deps.db.session() as session:
        if not list_users(session):
            click.echo("还没有任何账号：先运行 mailroom user add 名称 --role staff", err=True)
    logging.getLogger().setLevel(logging.INFO)
    try:
        server = make_server(app, host, port, threads)  # binds: a port in use is refused here, before a word
    except OSError as error:
        raise ServiceError(_cannot_listen(host, port, error)) from error
    click.echo(f"mailroom web 正在 http://{host}:{port}/ 上服务（Ctrl-C 停止）", err=True)
    server.run()


def _cannot_listen(host: str, port: int, error: OSError) -> str:
    """Why the web app cannot listen on host:port, and what to change."""
    if error.errno == errno.EADDRINUSE:
        return f"端口 {port} 已被占用：请停止占用它的程序，或用 --port / 配置 [web] port 换一个端口"
    if error.errno == errno.EACCES:
        return f"无权监听端口 {port}（1024 以下的端口需要 root）：请用 --port / 配置 [web] port 换一个 1024 以上的端口"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"本机没有地址 {host}，无法在其上监听：请检查 --host / 配置 [web] host"
    return f"无法在 {host}:{port} 上监听：{error.strerror or error}"
