#!/usr/bin/env bash
# The checks on the code itself, each failing on any finding: the format (ruff format), the lint rules and
# mypy's types (both set in pyproject.toml), and the import layers (pyproject.toml, [tool.importlinter]).
# ./test.sh runs them before pytest; the pre-commit hook (.pre-commit-config.yaml) runs this script.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
"$bin/ruff" format --check --quiet .
"$bin/ruff" check --quiet .
"$bin/mypy"
"$bin/lint-imports" --no-cache
