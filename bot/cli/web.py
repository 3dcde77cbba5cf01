"""`mailroom web`: serves the web app with waitress on [web] host and port (bot.web.server)."""

from __future__ import annotations

import logging

import click

from bot.cli.group import Context, main, pass_context


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
    click.echo(f"mailroom web 正在 http://{host}:{port}/ 上服务（Ctrl-C 停止）", err=True)
    make_server(app, host, port, threads).run()
