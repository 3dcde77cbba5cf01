#!/usr/bin/env bash
# Installs mailroom and runs the main job on the embedded default: a demo season's mail in local
# Maildir folders is polled into the SQLite archive, then the archive is listed.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install.sh
mailroom=.venv/bin/mailroom
$mailroom demo var/demo
$mailroom --config var/demo/config.toml poll --once
$mailroom --config var/demo/config.toml search --kind report --limit 20
