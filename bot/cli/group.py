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
from bot.cli.helptext import VERSION_OPTION, HelpCommand, HelpGroup

if TYPE_CHECKING:
    from bot.config import Config
    from bot.daemon.deps import Deps

# name: (the module that registers it, the line `mailroom --help` shows for it, at most 62 columns)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("bot.cli.daemon", "建立或升级数据库和归档目录。"),
    "copy-database": ("bot.cli.daemon", "把整个数据库复制到另一个空数据库（如换用 PostgreSQL）。"),
    "poll": ("bot.cli.daemon", "从每个邮箱收取新邮件并归档，发出应发的回执。"),
    "serve": ("bot.cli.daemon", "无人值守运行：收信、回执、催报提醒、月度排名通报。"),
    "status": ("bot.cli.daemon", "各邮箱最近收信和错误、待发邮件、定时任务。"),
    "remind": ("bot.cli.daemon", "立即为仍缺报表的单位运行催报提醒。"),
    "import": ("bot.cli.daemon", "归档 .eml 文件、Maildir 文件夹和 mbox 文件。"),
    "inspect": ("bot.cli.inspect", "报送前检查表格：附件、单位、月份、问题。"),
    "demo": ("bot.cli.demo", "生成演示文件夹：配置、Maildir 邮箱、一整季来信。"),
    "search": ("bot.cli.archive", "按文字和筛选条件查找已归档的邮件。"),
    "show": ("bot.cli.archive", "显示一封已归档邮件：邮件头、识别结果、附件。"),
    "verify": ("bot.cli.archive", "重新计算每个归档文件的哈希值，与数据库核对。"),
    "reindex": ("bot.cli.archive", "根据归档重建全文检索索引。"),
    "standings": ("bot.cli.scores", "各单位截至 MONTH 的累计得分排名。"),
    "matrix": ("bot.cli.scores", "报送矩阵：各附件按时、迟报还是未报。"),
    "explain": ("bot.cli.scores", "UNIT 截至 MONTH 得到或失去的每一分及其依据。"),
    "findings": ("bot.cli.scores", "数据核查发现：只供工作人员核实，从不改变得分。"),
    "award": ("bot.cli.scores", "为 UNIT 登记媒体报道或创新性工作。"),
    "awards": ("bot.cli.scores", "列出工作人员的全部登记，包括已撤销的。"),
    "revoke": ("bot.cli.scores", "撤销一条工作人员登记；记录仍然保留。"),
    "digest": ("bot.cli.digest", "MONTH 的月度排名通报，--year 年度最终排名；--send 发出。"),
    "rederive": ("bot.cli.staff", "从原始邮件重新识别，并说明有哪些变化。"),
    "sender": ("bot.cli.staff", "工作人员确认单位的报送邮箱，或撤销确认。"),
    "senders": ("bot.cli.staff", "各单位的发件地址：配置的和工作人员确认的。"),
    "correct": ("bot.cli.staff", "更正一封邮件的识别结果，留有记录。"),
    "corrections": ("bot.cli.staff", "全部更正，包括已撤销的。"),
    "queue": ("bot.cli.staff", "待处理事项：需要人工处理的事。"),
    "user": ("bot.cli.users", "`mailroom web` 的账号：工作人员、审计人员、单位填报人员。"),
    "web": ("bot.cli.web", "网页：供工作人员、审计人员和单位填报人员使用。"),
    "year": ("bot.cli.years", "计划年度：列出各年度；为一个年度结账，保存其结果。"),
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

    def warn_if_behind(self, what: str) -> None:
        """Say on stderr, before `what` is shown ("以下排名和得分"), when messages wait to be derived again under
        today's configuration or code: until `mailroom rederive` (or `serve`, in the background) has done so,
        they count as they were derived before."""
        from archive.rederive import behind

        with self.deps.db.session() as session:
            waiting = behind(session, self.deps.recognizer.stamp)
        if waiting:
            click.echo(f"注意：有 {waiting} 封邮件尚待重新识别，{what}可能不是最新的（mailroom rederive）", err=True)

    def open_deps(self, create_folders: bool = False, adopt: bool = False) -> Deps:
        """The archive, opened once. Only `mailroom init` passes `create_folders` (a SQLite database's missing
        folder is made): any other command refuses one, since a mistyped path would be a new, empty archive; and
        `adopt` (`init --pair`: the database and the archive folder paired whatever they held, archive.pairing)."""
        if self._deps is None:
            from bot.daemon.deps import open_deps

            self._deps = open_deps(self.config, create_folders=create_folders, adopt=adopt)
        return self._deps

    def close(self) -> None:
        if self._deps is not None:
            self._deps.close()


pass_context = click.make_pass_decorator(Context)


def unit_param(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A unit option's value as given, once it names a unit of some year by its name or any alias (桃城 → 桃城区),
    spacing and width aside (parsers.records.named_unit): the command takes it as the year it concerns calls it
    (`search --month 2021-04`: 枣强县 is 2021's 枣强区), resolving it once."""
    from parsers.errors import InputError
    from parsers.records import named_unit

    if value is None:
        return None
    context = ctx.find_object(Context)
    assert context is not None  # main() puts a Context on the root before any command runs
    try:
        named_unit(context.config.units, value)
        return value
    except InputError as error:
        raise click.BadParameter(str(error)) from None


class Group(HelpGroup):
    """The commands of `COMMANDS`, each module imported when one of its commands is wanted; every error,
    click's own included, one line of Chinese and a documented exit code (bot/cli/errors.py), never a
    traceback; every help in Chinese (bot/cli/helptext.py)."""

    command_class = HelpCommand
    group_class = HelpGroup  # `mailroom user` and the like: not this table's group

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
        with formatter.section("命令"):
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
    help="配置文件（默认用环境变量 MAILROOM_CONFIG 指定的文件，未指定时用 ./config.toml）。",
)
@click.option("-v", "--verbose", is_flag=True, help="显示运行日志，便于在旁查看；出现内部错误时显示详细信息。")
@click.version_option(package_name="mailroom", help=VERSION_OPTION)
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """mailroom：归档各单位报送的月度报表和简报信息，并识别、评分、回复。"""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # imapclient warns, in English, of a server's reply it cannot decode (a folder's Chinese name in UTF-8);
    # what failed is said by mailroom itself, naming the folder
    logging.getLogger("imapclient").setLevel(logging.ERROR)
    ctx.obj = Context(config_path)
    ctx.call_on_close(ctx.obj.close)
