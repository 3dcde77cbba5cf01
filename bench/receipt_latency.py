"""How long a unit waits for its receipt: from the IMAP APPEND of its mail to the receipt's arrival at the
SMTP server, with `mailroom serve` running on the default configuration (poll_minutes = 5: only IDLE can
make it seconds). A real Dovecot and a real SMTP server (aiosmtpd) on loopback; SQLite.

    python -m bench.receipt_latency [--mails 20] [--gap 2]

Mails are APPENDed one at a time, `gap` seconds after the previous receipt, alternately to the four
department mailboxes; prints each latency, p50 and p95.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.demo.folder import compose
from tests.daemon_harness import DEPARTMENTS, PASSWORD, Daemon, imap_boxes, receipts, serve_config, wait_for
from tests.dovecot import Dovecot
from tests.smtp_server import SmtpServer

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNITS = (
    ("枣强县", "zqxcl@163.com"),
    ("景县", "jxcl2020@163.com"),
    ("桃城区", "tcqcl@163.com"),
    ("故城县", "gcxcl@163.com"),
)


def measure(mails: int, gap: float) -> list[float]:
    with tempfile.TemporaryDirectory() as scratch, Dovecot(users={key: PASSWORD for key in DEPARTMENTS}) as dovecot:
        tmp = Path(scratch)
        smtp = SmtpServer(lambda recipient, raw: None)
        smtp.start()
        folder = "INBOX"
        config = serve_config(tmp, imap_boxes(dovecot, folder), {"port": smtp.port}, poll_minutes=None)
        daemon = Daemon(config, f"sqlite:///{tmp}/mailroom.db", tmp / "archive")
        process = daemon.start()
        latencies = []
        try:
            wait_for(lambda: all(box["watch"] == "idle" for box in daemon.status()["mailboxes"]), 60, "IDLE")
            keys = list(DEPARTMENTS)
            for number in range(mails):
                key = keys[number % len(keys)]
                unit, sender = UNITS[number % len(UNITS)]
                article = compose(
                    sender,
                    DEPARTMENTS[key],
                    f"{unit}贫困残疾人服务工程专项信息（{number}）",
                    datetime.now(SHANGHAI),
                    body=f"第{number}篇",
                )
                appended = time.monotonic()
                dovecot.append(key, article.as_bytes(), folder=folder)
                wait_for(
                    lambda article=article: any(
                        r.in_reply_to == article["Message-ID"] for r in receipts(smtp.handler.accepted)
                    ),
                    120,
                    f"receipt {number}",
                    step=0.01,
                )
                latencies.append(time.monotonic() - appended)
                print(f"mail {number + 1:2d} ({key}): {latencies[-1]:.2f} s", flush=True)
                time.sleep(gap)
        finally:
            daemon.terminate(process)
            daemon.close()
            smtp.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=20)
    parser.add_argument("--gap", type=float, default=2.0)
    args = parser.parse_args()
    latencies = sorted(measure(args.mails, args.gap))
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    print(
        f"{len(latencies)} mails, load average {os.getloadavg()[0]:.2f}: "
        f"p50 {statistics.median(latencies):.2f} s, p95 {p95:.2f} s, max {latencies[-1]:.2f} s"
    )


if __name__ == "__main__":
    main()
