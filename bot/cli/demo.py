"""`mailroom demo DIR`: a demo folder to try mailroom on (the season generator, only for this command)."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.group import main
from bot.demo.folder import write_demo


@main.command()
@click.argument("directory", type=click.Path(path_type=Path), default=Path("var/demo"))
def demo(directory: Path) -> None:
    """在 DIRECTORY（默认 var/demo）中生成演示数据：配置文件，以及装有各单位一整季来信的 Maildir 邮箱。

    DIRECTORY 中已有的演示会被替换；只写入空文件夹或演示生成的文件夹。之后运行
    `mailroom --config DIRECTORY/config.toml poll --once`。"""
    config, written = write_demo(directory)
    click.echo(f"演示数据已写入 {directory}：{len(config.units)} 个单位，{written} 封邮件")
    click.echo(f"配置文件：{config.path}")
