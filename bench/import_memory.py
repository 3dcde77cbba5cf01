"""Peak memory of `mailroom import` against the size of the import: the demo season once, twice and four
times (each copy's Message-IDs changed, so every copy is archived anew), into a fresh SQLite archive.

    .venv/bin/python -m bench.import_memory [--copies 1 2 4] [--keep DIR]

Each size is generated into a Maildir, then imported by `mailroom import` as a process of its own, as an
operator runs it; its peak RSS is read from the kernel when it ends (os.wait4: the main process, not the
reader processes, whose size is bounded by one batch). Goal (issue 17): flat, 4 × ≤ 1.1 × the 1 × peak.
Nothing is asserted: this is a measurement, written up in bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.demo.season import generate_season

ROOT = Path(__file__).resolve().parent.parent
MAILROOM = Path(sys.executable).with_name("mailroom")


def write_copies(folder: Path, copies: int) -> int:
    """The season `copies` times into folder/box, a Maildir; the number of files written."""
    for sub in ("cur", "new", "tmp"):
        (folder / "box" / sub).mkdir(parents=True, exist_ok=True)
    written = 0
    season = generate_season()
    for copy in range(copies):
        for mail in season:
            raw = re.sub(rb"(?im)^(Message-ID:\s*<)", rb"\g<1>copy%d." % copy, mail.raw, count=1)
            (folder / "box" / "new" / f"{written:06d}.eml").write_bytes(raw)
            written += 1
    return written


def peak_import(folder: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of `mailroom import folder/box` into an archive of its own."""
    environment = {
        **os.environ,
        "MAILROOM_DATABASE_URL": f"sqlite:///{folder / 'archive.db'}",
        "MAILROOM_ARCHIVE_PATH": str(folder / "archive"),
    }
    command = [str(MAILROOM), "--config", str(ROOT / "config.example.toml"), "import", str(folder / "box")]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"mailroom import failed ({process.returncode}) in {folder}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="mailroom-memory-"))
    peaks: dict[int, float] = {}
    try:
        for copies in args.copies:
            folder = base / f"x{copies}"
            messages = write_copies(folder, copies)
            seconds, peak = peak_import(folder)
            peaks[copies] = peak
            print(
                f"{copies} × the season, {messages:,} messages: {seconds:.1f} s, peak RSS {peak:.0f} MB "
                f"(load average {os.getloadavg()[0]:.1f})"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    smallest, largest = min(peaks), max(peaks)
    print(f"{largest} × / {smallest} ×: {peaks[largest] / peaks[smallest]:.2f} (goal ≤ 1.1)")


if __name__ == "__main__":
    main()
