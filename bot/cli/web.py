"""`mailroom web`: serves the web app with waitress on [web] host and port (bot.web.server)."""

from __future__ import annotations

import errno
import logging
import signal

import click

from bot.cli.group import Context, main, pass_context
from parsers.errors import ServiceError


@main.command()
@click.option("--host", help="在这个地址上监听，而不用配置 [web] host（默认 127.0.0.1）。")
@click.option("--port", type=click.IntRange(1, 65535), metavar="PORT", help="在这个端口上监听，而不用配置 [web] port。")
@click.option(
    "--threads", type=click.IntRange(1, 64), default=4, show_default=True, metavar="N", help="处理请求的线程数。"
)
@pass_context
def web(context: Context, host: str | None, port: int | None, threads: int) -> None:
    """运行网页服务：供工作人员和审计人员使用（归档检索、邮件及下载、月度排名、报送矩阵、得分依据、
    审计记录），也供单位填报人员使用（仅自查页面）。

    账号用 `mailroom user add` 建立。请在它前面配置启用 TLS 的反向代理。"""
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
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.run()
    finally:
        server.close()


def _stop(signum: int, frame: object) -> None:
    """A supervisor's stop (SIGTERM): the command ends as any command does, exit 0, its reader processes closed
    with it (the default death left their semaphores behind, and a warning in the log)."""
    raise SystemExit(0)


def _cannot_listen(host: str, port: int, error: OSError) -> str:
    """Why the web app cannot listen on host:port, and what to change."""
    if error.errno == errno.EADDRINUSE:
        return f"端口 {port} 已被占用：请停止占用它的程序，或用 --port / 配置 [web] port 换一个端口"
    if error.errno == errno.EACCES:
        return f"无权监听端口 {port}（1024 以下的端口需要 root）：请用 --port / 配置 [web] port 换一个 1024 以上的端口"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"本机没有地址 {host}，无法在其上监听：请检查 --host / 配置 [web] host"
    return f"无法在 {host}:{port} 上监听：{error.strerror or error}"
