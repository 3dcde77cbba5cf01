"""Commands import only what they use: `mailroom --help` lists the commands from bot/cli/group.py's table and
loads none of their modules, so neither the database (SQLAlchemy), the migrations (alembic), the web app
(Flask) nor the demo's season generator; and the table and the command modules agree."""

import importlib
import pkgutil
import subprocess
import sys

from click.testing import CliRunner

import bot.cli
from bot.cli.group import COMMANDS, main
from bot.cli.helptext import width

HEAVY = ("sqlalchemy", "alembic", "flask", "bot.demo.season", "bot.demo.folder", "xlwt")


def _loaded_after(args: list[str], watched: tuple[str, ...]) -> list[str]:
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom bot.cli.group import main\n"
        f"result = CliRunner().invoke(main, {args!r})\nassert result.exit_code == 0, result.output\n"
        f"print(' '.join(name for name in {watched!r} if name in sys.modules))"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def test_help_lists_every_command_and_imports_none_of_their_modules():
    modules = tuple(sorted({module for module, _ in COMMANDS.values()}))
    assert _loaded_after(["--help"], HEAVY + modules) == []
    listing = CliRunner().invoke(main, ["--help"]).output
    assert all(f"  {name} " in listing for name in COMMANDS)


def test_a_command_loads_its_own_module_only():
    others = tuple(sorted({module for module, _ in COMMANDS.values()} - {"bot.cli.inspect"}))
    assert _loaded_after(["inspect", "--help"], others + ("sqlalchemy", "flask")) == []


def test_inspect_reads_and_checks_a_workbook_without_the_database_or_other_commands():
    """`mailroom inspect --unit 桃城 FILE` as a clerk runs it: the unit looked up and the workbook read and checked
    in a forked reader, yet neither SQLAlchemy, Flask nor another command's module is loaded (a unit's name once
    went through the scores, which load the database)."""
    from tests.conftest import DATA, ROOT

    others = tuple(sorted({module for module, _ in COMMANDS.values()} - {"bot.cli.inspect"}))
    book = str(DATA / "workbooks" / "summary-unit-row-only.xlsx")
    args = ["--config", str(ROOT / "config.example.toml"), "inspect", "--unit", "桃城", book]
    assert _loaded_after(args, others + ("sqlalchemy", "flask")) == []


def test_the_table_names_each_command_of_every_command_module_and_no_other():
    for info in pkgutil.iter_modules(bot.cli.__path__):
        importlib.import_module(f"bot.cli.{info.name}")  # registers its commands on main
    registered = {name: command.callback.__module__ for name, command in main.commands.items()}
    assert registered == {name: module for name, (module, _) in COMMANDS.items()}
    # one line in 80 columns, a Chinese character taking two
    assert all(summary and width(summary) <= 62 for _, summary in COMMANDS.values())


def test_the_configuration_loads_without_the_scoring_engine():
    """Every command but --help reads the configuration; `inspect` and the mail commands score nothing."""
    code = (
        "import sys\nfrom bot.config import load_config\nload_config('config.example.toml')\n"
        "print(' '.join(name for name in ('scoring.components', 'scoring.standings') if name in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split() == []


def test_python_m_bot_runs_from_a_deployments_folder_whose_archive_is_no_package(tmp_path):
    """GIVEN a deployment's folder holding its archive/ (locks/ and messages/ in it) WHEN `python -m bot` is run from
    there THEN the command runs, where the folder was imported as the archive package: an internal error."""
    from tests.conftest import ROOT

    (tmp_path / "archive" / "locks").mkdir(parents=True)
    (tmp_path / "archive" / "messages").mkdir()
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "MAILROOM_DATABASE_URL": f"sqlite:///{tmp_path}/mailroom.db"}
    env["MAILROOM_ARCHIVE_PATH"] = str(tmp_path / "archive")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--config", "config.toml", "senders"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "内部错误" not in done.stderr, done.stderr
