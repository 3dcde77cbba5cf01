#!/usr/bin/env bash
# Installs mailroom and runs the main job on the embedded default, with no server at all: the four
# department mailboxes are local Maildir folders holding a demo season of unit mail (April–December
# 2020, 13 units), the archive is SQLite, and outgoing mail (receipts, the digest) is written as .eml
# files into an outbox folder. It prints what the poll archived in each mailbox, the December standings,
# the December matrix (each unit's report package, form by form) and where the digest went.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install.sh
mailroom=".venv/bin/mailroom --config var/demo/config.toml"
.venv/bin/mailroom demo var/demo
echo
# One line per mailbox and the receipts sent; the list of every new message is left out (search shows it).
$mailroom poll --once | grep -v '^  '
echo
$mailroom standings --month 2020-12
echo
$mailroom matrix --month 2020-12
echo
$mailroom digest --month 2020-12 --out var/demo/digest --send
echo
echo "回执与通报已写入 var/demo/outbox/（$(ls var/demo/outbox | wc -l) 封 .eml）；12 月通报另存于 var/demo/digest/"
echo "归档在 var/demo/archive/，数据库 var/demo/mailroom.db；查询示例：$mailroom search 景县 --kind report"
