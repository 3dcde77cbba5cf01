"""The web app for staff, auditors and the units' clerks (自查 only): `create_app(config, deps)` builds it;
`mailroom web` serves it.

Mail is untrusted content: every page is escaped by Jinja, no page runs a script (the policy forbids
them all), bodies are shown as text, and files are only ever downloaded, never shown by the browser.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, Request, Response, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from bot.config import Config
from bot.daemon.deps import Deps
from bot.outgoing.render import TEMPLATES
from bot.web import archive_pages, auth, download, entries_pages, queue_pages, score_pages, selfcheck_pages
from bot.web.present import decision_links, shown, template_helpers
from bot.web.site import MAX_ID, UPLOAD_BYTES, Site
from parsers.errors import ConfigError

WEB_TEMPLATES = TEMPLATES / "web"
SECRET_ENV = "MAILROOM_WEB_SECRET"
# The key that signs the session cookies: the file made on first use holds 64 hex digits.
SECRET_MIN_CHARS = 16
SECRET_COMMAND = 'python -c "import secrets; print(secrets.token_hex(32))"'
# No script runs on any page (there is none of ours); styles and images only from the app itself.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
ERROR_TITLES = {
    400: "请求无效",
    403: "无权访问",
    404: "没有找到",
    405: "不允许的操作",
    413: "提交的内容过大",
    500: "服务器出错",
}
FORM_BYTES = 64 * 1024  # forms are small
UPLOAD_PAGES = {"selfcheck.selfcheck_page"}


class BoundedRequest(Request):
    """A request body may be FORM_BYTES, or UPLOAD_BYTES on the upload page (known before any body is read:
    the CSRF check reads the form first)."""

    # Flask's is settable and may be None; ours is per request, never set, never None.
    @property  # type: ignore[misc]  # read-only on purpose, see above
    def max_content_length(self) -> int:  # type: ignore[override]
        return UPLOAD_BYTES if self.endpoint in UPLOAD_PAGES else FORM_BYTES


class IdConverter(IntegerConverter):
    """`<id:name>`: a row id; one too large for the database matches no route (404), never a 500."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 (werkzeug's own name)
        super().__init__(map, min=0, max=MAX_ID)


def secret_path(config: Config) -> Path:
    """The generated key lives beside the archive folder, not in it (the archive holds only mail)."""
    return config.archive_path.parent / "web-secret"


def load_secret_key(config: Config, environ: dict[str, str] | os._Environ = os.environ) -> str:
    """MAILROOM_WEB_SECRET when set; else the key in the 0600 file beside the archive, made on first use.
    A key shorter than SECRET_MIN_CHARS is refused (ConfigError): an empty one left every page a 500, and a
    short one lets anyone who guesses it sign a session cookie as any account."""
    if environ.get(SECRET_ENV):
        key = environ[SECRET_ENV]
        if len(key.strip()) < SECRET_MIN_CHARS:
            raise ConfigError(
                f"环境变量 {SECRET_ENV} 太短（{len(key.strip())} 个字符，至少要 {SECRET_MIN_CHARS} 个）：请设为一串随机"
                f"字符，例如 {SECRET_COMMAND} 的输出，或取消该变量，改用自动生成的 {secret_path(config)}"
            )
        return key
    path = secret_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # made on first use; kept as it is after that
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"网页签名密钥文件 {path} 其他用户也能读取：请运行 chmod 600 {path} 后重新启动")
    key = path.read_text(encoding="ascii").strip()
    if len(key) < SECRET_MIN_CHARS:
        raise ConfigError(
            f"网页签名密钥文件 {path} 为空或太短（{len(key)} 个字符，至少要 {SECRET_MIN_CHARS} 个）：请删除它，"
            f"mailroom web 下次启动时会重新生成（所有人需要重新登录）；或运行 {SECRET_COMMAND} > {path}; "
            f"chmod 600 {path}"
        )
    return key


def create_app(config: Config, deps: Deps, secret_key: str | None = None) -> Flask:
    app = Flask(__name__, template_folder=str(WEB_TEMPLATES), static_folder=str(WEB_TEMPLATES / "static"))
    app.config.update(
        SECRET_KEY=secret_key or load_secret_key(config),
        SESSION_COOKIE_NAME="mailroom_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.web.behind_proxy,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.web.session_hours),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which has its own limit
    )
    app.request_class = BoundedRequest
    app.extensions["mailroom"] = Site(config, deps)
    app.url_map.converters["id"] = IdConverter
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    app.jinja_env.finalize = shown  # every rendered value masked for a viewer without the grant
    app.jinja_env.filters["decision_links"] = decision_links
    CSRFProtect(app)
    _register(app)
    app.after_request(_secure)
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(HTTPException, _http_error)
    if config.web.behind_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    return app


def _register(app: Flask) -> None:
    for module in (auth, archive_pages, download, score_pages, entries_pages, queue_pages, selfcheck_pages):
        app.register_blueprint(module.blueprint)
    app.context_processor(template_helpers)


def _secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # Pages and downloads carry personal data: never kept by a browser or a proxy (send_file's own
    # `no-cache` is replaced: it lets a browser keep an unmasked original on disk).
    response.headers["Cache-Control"] = "no-store"
    return response


def _csrf_failed(error: CSRFError) -> tuple[str, int]:
    return render_template(
        "error.html",
        title="页面已过期",
        message="表单已过期或来源不明（缺少有效的 CSRF 令牌）。请返回上一页，刷新后重新提交。",
    ), 400


def _http_error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    message = error.description if isinstance(error.description, str) and _is_ours(error) else ""
    return render_template("error.html", title=ERROR_TITLES.get(code, "出错了"), message=message), code


def _is_ours(error: HTTPException) -> bool:
    """Our own abort() messages are Chinese; werkzeug's stock English descriptions are not shown."""
    return any("\u4e00" <= char <= "\u9fff" for char in error.description or "")
