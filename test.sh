#!/usr/bin/env bash
# Installs everything the tests need, checks the code (format, lint, types, import layers), then runs the
# tests in one process per core (pytest-xdist; `-n 0` for one). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install.sh --test
scripts/check.sh
exec .venv/bin/python -m pytest -n auto "$@"
