#!/usr/bin/env bash
# The checks on the code itself, each failing on any finding: the format (ruff format), the lint rules and
# mypy's types (both set in pyproject.toml), and the import layers (pyproject.toml, [tool.importlinter]).
# ./test.sh runs them before pytest; the pre-commit hook (.pre-commit-config.yaml) runs this script.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
"$bin/ruff" format --check --quiet .
"$bin/ruff" check --quiet .
"$bin/mypy" --no-error-summary
# lint-imports prints a banner and a report even when every contract is kept: shown only when one is broken
if ! report=$("$bin/lint-imports" --no-cache 2>&1); then
  echo "$report"
  exit 1
fi
