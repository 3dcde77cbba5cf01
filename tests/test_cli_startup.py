"""Commands import only what they use: `mailroom --help` loads neither the migrations (alembic), the web
app (Flask) nor the demo's season generator."""

import subprocess
import sys

HEAVY = ("alembic", "flask", "bot.demo.season", "bot.demo.folder", "xlwt")


def test_help_imports_neither_alembic_nor_flask_nor_the_season_generator():
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom bot.cli.group import main\n"
        "result = CliRunner().invoke(main, ['--help'])\nassert result.exit_code == 0, result.output\n"
        f"print(' '.join(name for name in {HEAVY!r} if name in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.split() == []
