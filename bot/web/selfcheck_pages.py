"""自查: a unit's clerk (or anyone signed in) uploads workbooks and Word files and sees exactly what
`mailroom inspect` says of them. The files are read in the reader sandbox, as ingest reads mail, and
forgotten: nothing of them is stored, and the page shows nothing of the archive."""

from __future__ import annotations

import threading
import unicodedata

from flask import Blueprint, current_app, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.services.inspect import conclusion, describe, has_problems, inspect_untrusted
from bot.web.auth import viewer
from bot.web.site import TOO_LARGE, UPLOAD_BYTES, site

blueprint = Blueprint("selfcheck", __name__)
UPLOAD_FILES = 20  # files at once: a month's package, 附件1–10, with room to spare
NAME_CHARS = 120
RETRY_SECONDS = 30
CHECKS = "mailroom.selfchecks"


class Admission:
    """Who is checking files now: at most `at_once` checks, one an account. One that finds no room is answered at
    once (`enter` gives why, in Chinese), rather than waiting in a thread the other pages need: the web server
    has 4 (bot.web.server), and a check waits on the reader sandbox's workers, as many as may check at once."""

    def __init__(self, at_once: int):
        self.at_once = at_once
        self._checking: set[str] = set()
        self._lock = threading.Lock()

    def enter(self, account: str) -> tuple[int, str] | None:
        """None when `account` may check now (then `leave` when done), else the status and what to tell it."""
        with self._lock:
            if account in self._checking:
                return 429, "本账号上一次提交的文件还在检查中，请等检查结果出来后再提交"
            if len(self._checking) >= self.at_once:
                return 503, f"其他用户正在检查文件，系统正忙，请约 {RETRY_SECONDS} 秒后再提交"
            self._checking.add(account)
            return None

    def leave(self, account: str) -> None:
        with self._lock:
            self._checking.discard(account)


@blueprint.record_once
def _keep_admission(state) -> None:
    sandbox = state.app.extensions["mailroom"].deps.sandbox  # None: read here, one at a time (tests' trusted input)
    state.app.extensions[CHECKS] = Admission(sandbox.limits.workers if sandbox is not None else 1)


@blueprint.context_processor
def upload_limits() -> dict:
    """The limits, said on the page before a clerk meets them."""
    return {"limits": {"files": UPLOAD_FILES, "megabytes": UPLOAD_BYTES // (1024 * 1024)}}


@blueprint.route("/selfcheck", methods=["GET", "POST"])
def selfcheck_page():
    if request.method == "GET":
        return render_template("selfcheck.html", results=None, error=None)
    uploads = [upload for upload in request.files.getlist("files") if upload.filename]
    if not uploads:
        return render_template("selfcheck.html", results=None, error="请先选择要检查的文件"), 400
    if len(uploads) > UPLOAD_FILES:
        return render_template(
            "selfcheck.html", results=None, error=f"一次最多检查 {UPLOAD_FILES} 个文件，请分几次上传"
        ), 400
    admission: Admission = current_app.extensions[CHECKS]
    account = viewer().name
    if refused := admission.enter(account):
        status, said = refused
        return render_template("selfcheck.html", results=None, error=said), status, {"Retry-After": str(RETRY_SECONDS)}
    try:
        files = [(file_label(upload.filename or ""), upload.read()) for upload in uploads]
        current = site()
        # A unit's clerk checks that unit's files: another unit's form is then a problem (the wrong file chosen).
        results = inspect_untrusted(files, current.config, current.deps.sandbox, viewer().unit)
    finally:
        admission.leave(account)
    return render_template(
        "selfcheck.html",
        results=[describe(result) for result in results],
        clean=not has_problems(results),
        conclusion=conclusion(results, current.config),
        error=None,
    )


@blueprint.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge):
    return render_template("selfcheck.html", results=None, error=TOO_LARGE), 413


def file_label(name: str) -> str:
    """An uploaded file's name as shown: its last part (a browser may send a whole Windows path), without
    control or invisible characters, at most NAME_CHARS characters."""
    last = name.replace("\\", "/").rsplit("/", 1)[-1]
    shown = "".join(char for char in last if unicodedata.category(char)[0] != "C").strip()
    return shown[:NAME_CHARS] or "未命名文件"
