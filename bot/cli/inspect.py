"""`mailroom inspect FILES`: workbooks checked before they are sent, as the units' clerks check them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.cli.group import Context, main, pass_context
from bot.services.inspect import conclusion, describe, has_problems, inspect_files


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per form found.")
@pass_context
def inspect(context: Context, files: tuple[Path, ...], as_json: bool) -> None:
    """Check workbooks before sending: the form recognised, unit, month, rows, totals and every problem
    with its sheet, row and column. Files given together are checked as one package."""
    results = inspect_files(list(files), context.config)
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        for result in results:
            click.echo("\n".join(describe(result)))
        click.echo("\n".join(["", *conclusion(results, context.config)]))  # as the web's 自查 and its mail say
    sys.exit(1 if has_problems(results) else 0)
