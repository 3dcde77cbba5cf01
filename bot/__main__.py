import os
import sys
from pathlib import Path

# `python -m bot` puts the current folder first on sys.path: run from a deployment's folder, its archive/ (the raw
# mail, with locks/ and messages/ in it) would be imported as the archive package ("cannot import name …")
if sys.path and sys.path[0] in ("", os.getcwd()) and Path.cwd().resolve() != Path(__file__).resolve().parents[1]:
    del sys.path[0]

from bot.cli.group import main  # noqa: E402

if __name__ == "__main__":  # reader workers (bot/services/sandbox.py) import this module again: they must not run it
    main()
