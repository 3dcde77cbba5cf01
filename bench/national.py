"""A national-size run: 2,900 units and one month of their mail, on PostgreSQL.

    .venv/bin/python -m bench.national [--units 2900] [--month 12] [--database-url URL] [--keep DIR]

A configuration of N units (default 2,900, about 300 cities' worth of counties) is generated from the
example configuration: each unit a copy of one of the season's 13 unit plans (bot/demo/season), renamed, with
its own sender address and targets, and the four department mailboxes. One month of their mail — every
unit's report package (附件1 as .docx, 附件2–10 as .xlsx, .xls or zipped, with cumulative registries) and
its briefing articles — is generated (in two processes) into four Maildirs. Then, each as its own
process as an operator would run it:

    mailroom import <maildirs>                  into a fresh PostgreSQL schema (peak RSS of the process)
    mailroom standings / matrix --month M       for all N units
    mailroom digest --month M --out DIR         the digest and its workbook
    mailroom search …                           a unit's name, a rare person's name, an absent word

Reported: the mail (messages, bytes, files, registry rows), each command's wall time, the import's rate
and peak memory, the database's size by table and the raw store's size. Nothing is asserted beyond the
commands succeeding and every message being archived: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench import postgres

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
# Place-name characters that occur in none of the season's subjects, bodies or form titles, so a unit's
# name or its two-character alias is found only where it was written.
PLACE = (
    "安宁和永定兴隆泰丰昌盛福寿乐华阳清凤岭松柏桐梅兰竹菊青云峰江湖溪泉石"
    "桥川原宝金玉沙田临汾涞源涿鹿阜城柳林榆德惠顺开广灵怀仁浑汤阴淇滑浚濮范扶沟睢杞"
)


def unit_names(count: int, seed: int = 2900) -> list[str]:
    """`count` distinct county names of two place characters and 县."""
    rng = random.Random(seed)
    pairs = [a + b for a in PLACE for b in PLACE if a != b]
    if count > len(pairs):
        raise SystemExit(f"at most {len(pairs)} units")
    return [pair + "县" for pair in rng.sample(pairs, count)]


def national_config(names: list[str], database_url: str, archive: Path) -> str:
    """The example configuration with its 13 units replaced by `names`, each unit's targets those of the
    season plan it copies (unit i copies plan i mod 13)."""
    from bot.demo.season import PLANS, load_units

    template, _ = load_units(EXAMPLE)
    head = EXAMPLE.read_text(encoding="utf-8").split("[[unit]]", 1)[0]
    head = re.sub(r"(?m)^url = .*$", f'url = "{database_url}"', head, count=1)
    head = re.sub(r"(?m)^path = .*$", f'path = "{archive}"', head, count=1)
    units = []
    for number, name in enumerate(names):
        targets = template[PLANS[number % len(PLANS)].name].targets
        listed = ", ".join(f"{key} = {value}" for key, value in targets.items())
        units.append(
            f'[[unit]]\nname = "{name}"\naliases = ["{name[:2]}"]\nsenders = ["{sender(number)}"]\n'
            f"targets = {{ {listed} }}\n"
        )
    return head + "\n".join(units)


def sender(number: int) -> str:
    return f"county{number:04d}@163.com"


def _unit_mail(job: tuple[int, str, int, str]) -> tuple[int, int]:
    """One unit's month written into the Maildirs under `folder`: (mail files, bytes)."""
    from bot.demo.season import PLANS, UnitInfo, briefing_specs, load_units, package_dispatches
    from bot.demo.season.mail import mails_of

    number, name, month, folder = job
    plan = PLANS[number % len(PLANS)]
    template, boxes = load_units(EXAMPLE)
    aliases = [plan.name, plan.name[:2]]
    subject, article = plan.subject, plan.article
    for old in aliases:  # the copy writes its own name where the plan wrote its unit's name or alias
        subject, article = subject.replace(old, name), article.replace(old, name[:2])
    copy = replace(plan, name=name, subject=subject, article=article)
    unit = UnitInfo(name, sender(number), template[plan.name].targets)
    keys = {address: key for key, address in boxes.items()}
    files = size = 0
    specs = package_dispatches(copy, unit, month, boxes, seed=number) + briefing_specs(copy, unit, month, boxes, number)
    for n, spec in enumerate(specs):
        for mail in mails_of(spec):
            path = Path(folder) / keys[mail.mailbox_address] / "new" / f"{number:04d}-{n:02d}-{files}.eml"
            path.write_bytes(mail.raw)
            files, size = files + 1, size + len(mail.raw)
    return files, size


def generate(names: list[str], month: int, folder: Path) -> tuple[int, int]:
    for key in ("jjb", "kfb", "fwb", "bgs"):
        for sub in ("cur", "new", "tmp"):
            (folder / key / sub).mkdir(parents=True, exist_ok=True)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        counts = pool.map(_unit_mail, [(n, name, month, str(folder)) for n, name in enumerate(names)], chunksize=8)
    return tuple(sum(column) for column in zip(*counts))  # type: ignore[return-value]


def mailroom(config: Path, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), *args], cwd=ROOT, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"mailroom {' '.join(args[:2])} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def recognised(url: str) -> list[tuple[str, int]]:
    """Messages by kind, and those whose unit was not found (each mail was written for one unit)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT kind || CASE WHEN unit IS NULL THEN ' (no unit)' ELSE '' END, "
                "count(*) FROM message GROUP BY 1 ORDER BY 2 DESC"
            )
        ).all()
    engine.dispose()
    return [(kind, count) for kind, count in rows]


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=2900)
    parser.add_argument("--month", type=int, default=12, help="the month of 2020 (default: December)")
    parser.add_argument("--database-url", default=postgres.DEFAULT)
    parser.add_argument(
        "--keep",
        type=Path,
        help="Work in this folder and keep it, and the PostgreSQL schema (default: temporary ones).",
    )
    args = parser.parse_args()
    month = f"2020-{args.month:02d}"
    with (
        tempfile.TemporaryDirectory(prefix="national-") as scratch,
        postgres.schema("bench_national", keep=args.keep is not None, base=args.database_url) as url,
    ):
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        print(f"load average at start: {os.getloadavg()[0]:.1f}")
        names = unit_names(args.units)
        config = work / "config.toml"
        config.write_text(national_config(names, url, work / "archive"), encoding="utf-8")
        started = time.perf_counter()
        files, size = generate(names, args.month, work / "mail")
        print(
            f"mail: {args.units:,} units, {files:,} mail files, {size / 1e6:,.0f} MB; generated in "
            f"{time.perf_counter() - started:.0f} s"
        )
        seconds, out = mailroom(config, "import", str(work / "mail"))
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"import: {seconds:,.0f} s, {files / seconds:.0f} messages/s, peak RSS {peak:,.0f} MB "
            f"(load average {os.getloadavg()[0]:.1f}) — {out.strip().splitlines()[-1] if out.strip() else ''}"
        )
        for label, command in (
            ("standings", ("standings", "--month", month)),
            ("standings --json", ("standings", "--month", month, "--json")),
            ("matrix", ("matrix", "--month", month)),
            ("digest", ("digest", "--month", month, "--out", str(work / "digest"))),
            ("search a unit", ("search", names[len(names) // 2], "--limit", "20")),
            ("search a unit filtered", ("search", "--unit", names[7], "--limit", "20")),
            ("search a rare word", ("search", "轮椅适配", "--limit", "20")),
            ("search an absent word", ("search", "不存在的词语", "--limit", "20")),
        ):
            best = min(mailroom(config, *command)[0] for _ in range(2))
            print(f"{label}: {best:.2f} s (best of 2, process start included)")
        print("recognised: " + ", ".join(f"{kind} {count:,}" for kind, count in recognised(url)))
        sizes = postgres.table_sizes(url)
        total = sum(size for _, _, size in sizes)
        print(
            f"database: {total / 1e6:,.0f} MB; largest tables: "
            + ", ".join(f"{name} {rows:,} rows {size / 1e6:,.0f} MB" for name, rows, size in sizes[:6])
        )
        print(f"raw store: {folder_bytes(work / 'archive') / 1e6:,.0f} MB")


if __name__ == "__main__":
    main()
