#!/usr/bin/env bash
# Writes constraints.txt: the newest versions pyproject.toml allows of every package `.[test]` installs,
# resolved in a throw-away virtual environment. Run the tests after it, and commit both if they pass.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3.11}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$python" -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install -q --disable-pip-version-check -e ".[test]"
{
  echo "# Every package ./test.sh and ./run.sh install, at the version last tested (scripts/install.sh installs with"
  echo "# -c constraints.txt, so a clean clone gets these, not whatever was released since). Refresh: scripts/lock.sh"
  "$scratch/venv/bin/pip" freeze --exclude-editable --disable-pip-version-check | grep -v '^-e '
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages"
