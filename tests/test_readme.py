"""The README's tables are complete and true: every command is in the commands table, and what `./test.sh`
installs is what the README says it installs."""

from __future__ import annotations

import re

from bot.cli.group import COMMANDS
from tests.conftest import ROOT


def section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    return text[start : text.index("\n## ", start + 1)]


def test_every_command_is_in_the_commands_table():
    table = section("Commands")
    named = set(re.findall(r"`mailroom ([a-z-]+)", table)) | set(re.findall(r"; `([a-z-]+) ", table))
    assert set(COMMANDS) <= named, sorted(set(COMMANDS) - named)


def test_the_readme_names_every_package_test_sh_installs():
    install = (ROOT / "scripts" / "install.sh").read_text(encoding="utf-8")
    packages = re.search(r'if \[ "\$want_test" = yes \]; then\n\s*debian_packages\+=\(([^)]*)\)', install).group(1)
    intro = (ROOT / "README.md").read_text(encoding="utf-8").split("## Commands")[0]
    for package in packages.split():
        assert f"`{package}`" in intro, package
