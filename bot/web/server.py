"""Serving the app with waitress, whose own responses carry our security headers too.

waitress answers some requests itself, before the app sees them: a malformed request line or header, a body
or header section too large, an app that failed before it started its response. Those answers are made by
its channel's error task; ours adds the same headers the app puts on every response.

Why waitress stays (README, "The web app"): it is pure Python with no C extension to build on the target
machine, runs on Windows and Linux alike, buffers slow clients' requests and responses in its own threads so
a slow client holds no app thread, and refuses malformed and oversized requests itself. gunicorn would add
forking workers (a 2-core machine needs none for this load) and the same unheadered error pages of its own.
"""

from __future__ import annotations

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from bot.web.app import ERROR_TITLES, SECURITY_HEADERS
from bot.web.site import TOO_LARGE, UPLOAD_BYTES

SERVER_HEADERS = (*SECURITY_HEADERS.items(), ("Cache-Control", "no-store"))
# The 自查 upload's files and its multipart framing; the app refuses every other body over 64 KiB itself.
MULTIPART_SLACK = 1024 * 1024


class SecureErrorTask(ErrorTask):
    """waitress's own error response (400, 413, 431, 500…) with the app's security headers, as a page in
    Chinese: it said "Request Entity Too Large / exceeds max_body of 22020096" to a clerk whose upload was
    too large."""

    def execute(self) -> None:
        error = self.request.error
        body = error_page(error.code).encode("utf-8")
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend(
            [*SERVER_HEADERS, ("Content-Type", "text/html; charset=utf-8"), ("Connection", "close")]
        )
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


def error_page(code: int) -> str:
    """A plain page for an answer waitress makes before the app is asked (no template, no session)."""
    title = {**ERROR_TITLES, 431: "请求头过大"}.get(code, "请求无效")
    advice = TOO_LARGE if code == 413 else "请返回上一页重试；如再次出现，请联系系统管理员"
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title></head>'
        f'<body><h1>{title}</h1><p>{advice}。</p><p><a href="/">返回首页</a></p></body></html>'
    )


class SecureChannel(HTTPChannel):
    error_task_class = SecureErrorTask


def make_server(app: Flask, host: str, port: int, threads: int = 4) -> BaseWSGIServer:
    """A waitress server for `app`, not yet running (`.run()` serves until `.close()`); port 0: any free."""
    server = create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="mailroom",
        max_request_body_size=UPLOAD_BYTES + MULTIPART_SLACK,
        max_request_header_size=64 * 1024,
    )
    for dispatcher in [server, *getattr(server, "map", {}).values()]:
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = SecureChannel
    return server
