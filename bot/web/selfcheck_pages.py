"""自查: a unit's clerk (or anyone signed in) uploads workbooks and Word files and sees exactly what
`mailroom inspect` says of them. The files are read in the reader sandbox, as ingest reads mail, and
forgotten: nothing of them is stored, and the page shows nothing of the archive."""

from __future__ import annotations

import unicodedata

from flask import Blueprint, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.services.inspect import conclusion, describe, has_problems, inspect_untrusted
from bot.web.auth import viewer
from bot.web.site import TOO_LARGE, UPLOAD_BYTES, site

blueprint = Blueprint("selfcheck", __name__)
UPLOAD_FILES = 20  # files at once: a month's package, 附件1–10, with room to spare
NAME_CHARS = 120


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
    files = [(file_label(upload.filename or ""), upload.read()) for upload in uploads]
    current = site()
    # A unit's clerk checks that unit's files: another unit's form is then a problem (the wrong file chosen).
    results = inspect_untrusted(files, current.config, current.deps.sandbox, viewer().unit)
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
