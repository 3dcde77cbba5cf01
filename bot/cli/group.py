"""The `mailroom` group: the context every command gets, the one-line errors, and the table of commands.

A command module imports `main`, `Context` and `pass_context` from here and registers its commands on `main`
with click's decorators. This module never imports a command module by name: `COMMANDS` says which module
holds each command, `main` lists them from the table (so `mailroom --help` imports no command module, and
none of the archive, the database or the web app) and imports a command's module only when that command
runs or shows its own help.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import TYPE_CHECKING, Any

import click

from bot.cli.errors import run_reporting_errors

if TYPE_CHECKING:
    from bot.config import Config
    from bot.daemon.deps import Deps

# name: (the module that registers it, the line `mailroom --help` shows for it)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("bot.cli.daemon", "Create or upgrade the database and the archive folder."),
    "poll": ("bot.cli.daemon", "Fetch new mail from every mailbox into the archive."),
    "serve": ("bot.cli.daemon", "Run unattended: mailboxes, receipts, reminders, the digest."),
    "status": ("bot.cli.daemon", "Each mailbox's last poll and error, owed mail, the jobs."),
    "remind": ("bot.cli.daemon", "Run the reminder job now for the units still missing forms."),
    "import": ("bot.cli.daemon", "Archive .eml files, Maildir folders and mbox files."),
    "inspect": ("bot.cli.inspect", "Check workbooks before sending: form, unit, month, problems."),
    "demo": ("bot.cli.demo", "Write a demo folder: config, Maildirs, a season of mail."),
    "search": ("bot.cli.archive", "Find archived messages by text and filters."),
    "show": ("bot.cli.archive", "One archived message: headers, recognition, attachments."),
    "verify": ("bot.cli.archive", "Hash every archived file again; compare with the database."),
    "reindex": ("bot.cli.archive", "Build the full-text index again from the archive."),
    "standings": ("bot.cli.scores", "The ranking of the units by their cumulative score at MONTH."),
    "matrix": ("bot.cli.scores", "The submission matrix: forms on time, late or missing."),
    "explain": ("bot.cli.scores", "Each point UNIT earned or lost by MONTH, and its evidence."),
    "findings": ("bot.cli.scores", "Honesty findings shown to staff (they never change a score)."),
    "award": ("bot.cli.scores", "Enter media coverage or an innovation award for UNIT."),
    "awards": ("bot.cli.scores", "List every staff entry, revoked ones included."),
    "revoke": ("bot.cli.scores", "Revoke a staff entry; it stays on record."),
    "digest": ("bot.cli.digest", "The standings digest of MONTH; --send sends it to the staff."),
    "rederive": ("bot.cli.staff", "Derive messages again from their raw bytes; say what changed."),
    "sender": ("bot.cli.staff", "Addresses staff confirm as a unit's (or no longer)."),
    "senders": ("bot.cli.staff", "Each unit's senders: configured and confirmed by staff."),
    "correct": ("bot.cli.staff", "Override what one message was recognised as, on record."),
    "corrections": ("bot.cli.staff", "Every correction, revoked ones too."),
    "queue": ("bot.cli.staff", "The attention queue (待处理): what needs a person."),
    "user": ("bot.cli.users", "Accounts of `mailroom web`: staff, auditors, units' clerks."),
    "web": ("bot.cli.web", "The web app for staff, auditors and the units' clerks."),
    "year": ("bot.cli.years", "Plan years: list them; close one, keeping its figures."),
}


class Context:
    """Loads the config and opens the archive on first use, so `--help` needs neither."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._config: Config | None = None
        self._deps: Deps | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from bot.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    @property
    def deps(self) -> Deps:
        return self.open_deps()

    def open_deps(self, create_folders: bool = False) -> Deps:
        """The archive, opened once. Only `mailroom init` passes `create_folders` (a SQLite database's missing
        folder is made): any other command refuses one, since a mistyped path would be a new, empty archive."""
        if self._deps is None:
            from bot.daemon.deps import open_deps

            self._deps = open_deps(self.config, create_folders=create_folders)
        return self._deps

    def close(self) -> None:
        if self._deps is not None:
            self._deps.close()


pass_context = click.make_pass_decorator(Context)


class Group(click.Group):
    """The commands of `COMMANDS`, each module imported when one of its commands is wanted; every error,
    click's own included, one line of Chinese and a documented exit code (bot/cli/errors.py), never a
    traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            importlib.import_module(COMMANDS[cmd_name][0])  # its decorators register its commands here
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as error:  # click suggests from the commands loaded: all of them
            raise click.exceptions.NoSuchCommand(error.command_name, possibilities=COMMANDS, ctx=ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in sorted(COMMANDS.items())])

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        sys.exit(run_reporting_errors(lambda: super(Group, self).main(args, prog_name, complete_var, False, **extra)))


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    metavar="FILE",
    envvar="MAILROOM_CONFIG",
    help="Configuration file (default: $MAILROOM_CONFIG, else ./config.toml).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, for people reading along.")
@click.version_option(package_name="mailroom")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """mailroom: archives the units' monthly reports and briefings, recognises, scores and answers them."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    ctx.obj = Context(config_path)
    ctx.call_on_close(ctx.obj.close)
