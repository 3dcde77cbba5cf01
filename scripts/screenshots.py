"""The README's pictures of the charts, taken in Debian's Chromium from the demo season.

    .venv/bin/python -m scripts.screenshots [--demo DIR] [--out docs/charts]

Chinese needs a CJK font in Chromium (Debian: `apt-get install fonts-noto-cjk`, the first font mailroom.css
names); without one every character is a box, so the script refuses to start. Without --demo, a fresh
demo (`mailroom demo`, then `poll --once`, about a minute) is made in a temporary folder; --demo reuses
one already polled (var/demo after ./run.sh). A staff account is added for the screenshots and removed
after. Writes into --out:

    standings-trend.png   月度排名: each unit's cumulative score month by month (December)
    matrix-grid.png       报送矩阵: the year's packages as a coloured grid (December)
    progress-bars.png     目标任务完成进度: 附件2 against the targets, by task (June)
    digest-ranking.png    the digest mail's ranking as bars (December), as a browser shows the mail
"""

from __future__ import annotations

import argparse
import logging
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from archive.users import add_user, remove_user
from bot.config import load_config
from bot.daemon.deps import open_deps
from bot.web.app import create_app
from tests.browser import CHROMIUM, CHROMIUM_ARGS, serving, sign_in

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "截图用账号"
# (file, page, what to photograph)
PAGES = (
    ("standings-trend.png", "/standings?month=2020-12", "section#trend"),
    ("matrix-grid.png", "/matrix?month=2020-12", "section#grid"),
    ("progress-bars.png", "/progress?month=2020-06", "div.charts.progress"),
)


def has_chinese_font() -> bool:
    found = (
        subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True)
        if shutil.which("fc-list")
        else None
    )
    return bool(found and found.stdout.strip())


def mailroom(config: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "bot", "--config", str(config), *args], check=True, stdout=subprocess.DEVNULL)


def make_demo(directory: Path) -> None:
    subprocess.run([sys.executable, "-m", "bot", "demo", str(directory)], check=True, stdout=subprocess.DEVNULL)
    mailroom(directory / "config.toml", "poll", "--once")


def take(demo: Path, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    config_path = demo / "config.toml"
    config = load_config(config_path)
    deps = open_deps(config)
    password = secrets.token_urlsafe(16)
    with deps.db.session() as session:
        add_user(session, ACCOUNT, password, "staff")
    written = []
    try:
        with (
            serving(create_app(config, deps, secret_key=secrets.token_hex(16))) as url,
            sync_playwright() as driver,
            tempfile.TemporaryDirectory() as digest,
        ):
            mailroom(config_path, "digest", "--month", "2020-12", "--out", digest)
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = sign_in(browser, url, ACCOUNT, password)
            page.set_viewport_size({"width": 1280, "height": 900})
            for name, path, selector in PAGES:
                page.goto(url + path)
                page.locator(selector).screenshot(path=out / name)
                written.append(out / name)
            page.goto((Path(digest) / "digest.html").as_uri())
            page.locator("table[role=presentation]").first.screenshot(path=out / "digest-ranking.png")
            written.append(out / "digest-ranking.png")
            browser.close()
    finally:
        with deps.db.session() as session:
            remove_user(session, ACCOUNT)
        deps.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", type=Path, help="a demo folder already polled (default: a fresh one)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "charts")
    arguments = parser.parse_args()
    if not has_chinese_font():
        raise SystemExit("no Chinese font for Chromium: apt-get install fonts-noto-cjk")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    arguments.out.mkdir(parents=True, exist_ok=True)
    if arguments.demo:
        written = take(arguments.demo, arguments.out)
    else:
        with tempfile.TemporaryDirectory() as temporary:
            make_demo(Path(temporary) / "demo")
            written = take(Path(temporary) / "demo", arguments.out)
    for path in written:
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
