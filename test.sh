#!/usr/bin/env bash
# Installs everything the tests need, then runs them. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install.sh --test
exec .venv/bin/python -m pytest "$@"
