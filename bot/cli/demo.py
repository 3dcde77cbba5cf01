"""`mailroom demo DIR`: a demo folder to try mailroom on (the season generator, only for this command)."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.group import main
from bot.demo.folder import write_demo


@main.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("var/demo"))
def demo(directory: Path) -> None:
    """Write a demo (config, Maildir mailboxes full of a season of unit mail) into DIRECTORY, replacing one
    already there; then run `mailroom --config DIRECTORY/config.toml poll --once`."""
    config, written = write_demo(directory)
    click.echo(f"演示数据已写入 {directory}：{len(config.units)} 个单位，{written} 封邮件")
    click.echo(f"配置文件：{config.path}")
