"""Downloads: the original .eml and each attachment byte for byte from the raw store, and a registry's
parsed rows as CSV (masked like the page). Files are always downloads (application/octet-stream,
Content-Disposition: attachment, nosniff), never shown by the browser: mail is untrusted.

The original mail and workbooks hold personal numbers unmasked, so only accounts that may see them
(staff, auditors granted --personal) get them; the others get a 403 page saying so, and the masked CSV.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from flask import Blueprint, Response, abort, send_file
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from archive.models import Attachment, FormReadingRow, Message
from bot.web.auth import viewer
from bot.web.present import Masker, masker, reading_table, shown
from bot.web.site import site
from parsers.forms import FORM_TITLES

blueprint = Blueprint("download", __name__)
ORIGINALS_REFUSED = (
    "原始邮件和附件中的残疾人证号、身份证号和电话号码没有遮蔽，本账号无权下载。"
    "页面上的内容和“导出 CSV”（已遮蔽）可以查看；如确需原件，请管理员为账号授权"
    "（mailroom user add 名称 --role auditor --personal）。"
)
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\"]')
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_filename(name: str, fallback: str) -> str:
    """A file name for Content-Disposition: no path, no control characters, no quotes."""
    cleaned = _UNSAFE_NAME.sub("_", name).strip(" .")
    return cleaned[:180] or fallback


def _original(path: Path, name: str) -> Response:
    if not viewer().sees_personal:
        abort(403, ORIGINALS_REFUSED)
    if not path.is_file():
        abort(404, "归档中缺少这个文件（可运行 mailroom verify 检查归档）")
    # send_file writes filename*=UTF-8''… (RFC 5987) beside an ASCII filename= for Chinese names.
    # X-Content-Type-Options: nosniff is on every response (app.py), downloads included.
    return send_file(
        path,
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=name,
        etag=False,
        conditional=False,
        max_age=0,
    )


# Each download reads only its own row: the message page's loading (every registry person) is not needed.
@blueprint.route("/message/<id:message_id>/original.eml")
def original_message(message_id: int):
    current = site()
    with current.deps.db.session() as db:
        sha = db.scalar(select(Message.sha256).where(Message.id == message_id))
    if sha is None:
        abort(404, f"没有编号为 {message_id} 的邮件")
    return _original(current.deps.store.message_path(sha), f"邮件{message_id}.eml")


@blueprint.route("/message/<id:message_id>/attachment/<id:ordinal>")
def attachment(message_id: int, ordinal: int):
    current = site()
    with current.deps.db.session() as db:
        found = db.execute(
            select(Attachment.filename, Attachment.sha256).where(
                Attachment.message_id == message_id, Attachment.ordinal == ordinal
            )
        ).first()
    if found is None:
        abort(404, f"邮件 #{message_id} 没有第 {ordinal} 个附件")
    name = safe_filename(found.filename, f"邮件{message_id}-附件{ordinal}")
    return _original(current.deps.store.file_path(found.sha256), name)


@blueprint.route("/message/<id:message_id>/reading/<id:reading_id>.csv")
def reading_csv(message_id: int, reading_id: int):
    current = site()
    with current.deps.db.session() as db:
        reading = db.scalar(
            select(FormReadingRow)
            .where(FormReadingRow.id == reading_id, FormReadingRow.message_id == message_id)
            .options(selectinload(FormReadingRow.persons))
        )
        if reading is None:
            abort(404, f"邮件 #{message_id} 没有编号为 {reading_id} 的表格")
        data = csv_bytes(reading, masker())
    name = f"邮件{message_id}-{FORM_TITLES.get(reading.form or 0, '表格')}-{reading_id}.csv"
    return send_file(
        io.BytesIO(data), mimetype="text/csv", as_attachment=True, download_name=name, etag=False, max_age=0
    )


def csv_bytes(reading: FormReadingRow, mask: Masker) -> bytes:
    """The reading's table as CSV for Excel and WPS: UTF-8 with a BOM; a cell that a spreadsheet would
    take for a formula (=, +, -, @) is prefixed with ' so it stays text (mail is untrusted). Every cell
    passes the pages' one masking step too."""
    table = reading_table(reading, mask)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if table is not None:
        writer.writerow([shown(column) for column in table.columns])
        writer.writerows([[_inert(str(shown(cell))) for cell in row] for row in table.rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _inert(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell
