"""Headless Chromium (Debian's package, driven by Playwright) for reading a page as a person sees it, and
the web app served on a loopback port for it to read."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
# No background networking: this machine reaches no internet, and Chromium must not try.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


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


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app on a free loopback port, in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="mailroom-web", daemon=True)
    thread.start()  # the socket is already listening: no wait needed before the first request
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def sign_in(browser, url: str, name: str, password: str):
    """A page of a fresh browser context, signed in as `name` through the login form."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(url + "/search")
    assert page.url.startswith(url + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button:has-text('登录')")
    page.wait_for_url(url + "/search**")
    return page
