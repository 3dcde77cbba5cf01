"""Bounded work per message: a 10 MB body and a 50 MB Subject line, each derived through the reader
sandbox as ingest does; time, and the peak RSS of this process and of each reader process.

    python -m bench.big_message
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bot.daemon.deps import recognizer_for
from bot.services.sandbox import Sandbox
from parsers.derive import Incoming
from tests.conftest import make_config

HEAD = b"From: zqxcl@163.com\r\nTo: hsclbgs666@163.com\r\n"


def messages() -> dict[str, bytes]:
    body = ("这是一段很长的正文。" * 350_000).encode()[: 10 * 1024 * 1024 - 3000]
    return {
        "10 MB body": HEAD + b"Subject: long body\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body,
        "50 MB Subject line": HEAD + b"Subject: " + "枣强县".encode() * 5_825_000 + b"\r\n\r\nhello\r\n",
    }


def peak_mb(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def worker_pids(sandbox: Sandbox) -> list[int]:
    """The reader processes now running (pebble keeps them in its pool manager; no public way to ask)."""
    pool = sandbox._workers()
    return [worker.pid for worker in pool._pool_manager.worker_manager.workers.values()]


def main() -> None:
    recognizer = recognizer_for(make_config(Path("/tmp"), "sqlite://"))
    sandbox = Sandbox()
    sandbox.derive(recognizer, [Incoming(raw=HEAD + b"Subject: warm up\r\n\r\nhi\r\n", mailbox="bgs", source="import")])
    try:
        for name, raw in messages().items():
            started = time.perf_counter()
            (derived,) = sandbox.derive(recognizer, [Incoming(raw=raw, mailbox="bgs", source="import")])
            seconds = time.perf_counter() - started
            workers = [peak_mb(pid) for pid in worker_pids(sandbox)]
            print(
                f"{name} ({len(raw) / 2**20:.0f} MB): {seconds:.2f} s; peak RSS here {peak_mb()} MB, "
                f"readers {workers} MB; subject {len(derived.parsed.subject):,} chars, "
                f"body {len(derived.parsed.body_text):,} chars; load {os.getloadavg()[0]:.2f}"
            )
    finally:
        sandbox.close()


if __name__ == "__main__":
    main()
