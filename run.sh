#!/usr/bin/env bash
# Installs mailroom and runs the main job on the embedded default, with no server at all: the four
# department mailboxes are local Maildir folders holding a demo month of unit mail, the archive is
# SQLite, and outgoing mail (receipts) is written as .eml files into an outbox folder.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install.sh
mailroom=".venv/bin/mailroom --config var/demo/config.toml"
.venv/bin/mailroom demo var/demo
$mailroom poll --once | tail -n 3
echo
$mailroom standings --month 2020-04
echo
$mailroom matrix --month 2020-04
echo
echo "回执已写入 var/demo/outbox/（$(ls var/demo/outbox | wc -l) 封 .eml）；归档在 var/demo/archive/，数据库 var/demo/mailroom.db"
