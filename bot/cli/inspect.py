"""`mailroom inspect FILES`: workbooks checked before they are sent, as the units' clerks check them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.cli.group import Context, main, pass_context, unit_param
from bot.services.inspect import conclusion, describe, has_problems, inspect_files


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--unit",
    callback=unit_param,
    help="本单位（名称或简称，如 桃城区 或 桃城）：表中写的是别的单位时，作为问题指出。",
)
@click.option("--json", "as_json", is_flag=True, help="每个表格输出一个 JSON 对象。")
@pass_context
def inspect(context: Context, files: tuple[Path, ...], unit: str | None, as_json: bool) -> None:
    """报送前检查表格：识别出的附件、单位、月份、行数、合计，以及每个问题所在的工作表、行和列。

    一起给出的文件按同一次报送检查。"""
    results = inspect_files(list(files), context.config, unit)  # the unit as today's plan year calls it
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        for result in results:
            click.echo("\n".join(describe(result)))
        click.echo("\n".join(["", *conclusion(results, context.config)]))  # as the web's 自查 and its mail say
    sys.exit(1 if has_problems(results) else 0)
