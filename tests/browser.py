"""Headless Chromium (Debian's package, driven by Playwright) for reading a page as a person sees it."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
# No background networking: this machine reaches no internet, and Chromium must not try.
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@contextmanager
def chromium() -> Iterator:
    """A Playwright browser on Debian's Chromium (never a downloaded one); skips when it is not installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed: run scripts/install.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def page_of(path: Path) -> Iterator:
    """A Playwright page showing the file; skips when Chromium is not installed."""
    with chromium() as browser:
        page = browser.new_page()
        page.goto(path.as_uri())
        yield page
