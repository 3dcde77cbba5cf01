"""Start-up of the command line, as processes: `mailroom --help` against `python -c pass`, and
`mailroom inspect FILE` against a bare python-calamine script reading the same workbook.

    .venv/bin/python -m bench.startup [--rounds 15] [--rows 300 50000] [--in-process]

Each round runs every command once, in turn (interleaved, so a machine busy with something else slows them
alike); reported are the medians of the wall-clock times, the ratios of the medians, and the load average.
Goals (issue 17): `--help` ≤ 8 × `python -c pass`; `inspect` ≥ 0.7 × the bare-calamine script (as rows per
second, i.e. the script's time over inspect's). Then the same two in one process, once everything is imported
(`--in-process`): the read alone, as inspect_files does it (pre-scan, calamine in a forked child, the checks)
against the bare script's read, so what the start costs and what the reading costs are told apart. The
workbook is the registry bench.workbook_read writes (附件3, shared strings, as Excel saves it). Nothing is
asserted: this is a measurement, written up in bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.workbook_read import registry_xlsx

ROOT = Path(__file__).resolve().parent.parent
MAILROOM = [sys.executable, "-m", "bot"]  # this checkout's code (run from ROOT), as the `mailroom` script runs it
CALAMINE = (
    "import sys\nfrom python_calamine import CalamineWorkbook\n"
    "rows = sum(1 for _ in CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_index(0).iter_rows())"
)


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def measure(commands: dict[str, list[str]], rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in commands}
    for command in commands.values():  # a first run of each warms the disk cache
        timed(command)
    for _ in range(rounds):
        for name, command in commands.items():
            times[name].append(timed(command))
    return {name: statistics.median(values) for name, values in times.items()}


def read_alone(path: Path, rounds: int) -> dict[str, float]:
    """Both reads in this process, interleaved, after a first round that imports and warms everything."""
    from python_calamine import CalamineWorkbook

    from bot.config import load_config
    from bot.services.inspect import inspect_files

    config = load_config(ROOT / "config.example.toml")
    reads = {
        "calamine": lambda: sum(1 for _ in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows()),
        "inspect": lambda: inspect_files([path], config),
    }
    times: dict[str, list[float]] = {name: [] for name in reads}
    for round_ in range(rounds + 1):
        for name, read in reads.items():
            started = time.perf_counter()
            read()
            if round_:
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--rows", type=int, nargs="+", default=[300, 50_000])
    parser.add_argument("--in-process", action="store_true", help="also time the reads alone, in this process")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    help_times = measure({"pass": [sys.executable, "-c", "pass"], "help": [*MAILROOM, "--help"]}, args.rounds)
    print(
        f"python -c pass {help_times['pass'] * 1000:.0f} ms, mailroom --help {help_times['help'] * 1000:.0f} ms: "
        f"{help_times['help'] / help_times['pass']:.1f} × (goal ≤ 8)"
    )
    config = str(ROOT / "config.example.toml")
    with tempfile.TemporaryDirectory(prefix="mailroom-bench-") as folder:
        for rows in args.rows:
            path = Path(folder) / f"附件3-{rows}.xlsx"
            path.write_bytes(registry_xlsx(rows))
            times = measure(
                {
                    "calamine": [sys.executable, "-c", CALAMINE, str(path)],
                    "inspect": [*MAILROOM, "--config", config, "inspect", str(path)],
                },
                args.rounds,
            )
            print(
                f"{rows:,} rows: bare calamine {times['calamine'] * 1000:.0f} ms, mailroom inspect "
                f"{times['inspect'] * 1000:.0f} ms: {times['calamine'] / times['inspect']:.2f} × (goal ≥ 0.7)"
            )
            if args.in_process:
                alone = read_alone(path, args.rounds)
                print(
                    f"{rows:,} rows, read alone in one process: calamine {alone['calamine'] * 1000:.0f} ms, "
                    f"inspect_files {alone['inspect'] * 1000:.0f} ms: {alone['calamine'] / alone['inspect']:.2f} ×"
                )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
