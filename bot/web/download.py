"""Downloads: the original .eml and each attachment byte for byte from the raw store, and a registry's
parsed rows as CSV or as an Excel workbook (masked like the page). Files are always downloads (application/octet-stream,
Content-Disposition: attachment, nosniff), never shown by the browser: mail is untrusted.

The original mail and workbooks hold personal numbers unmasked, so only accounts that may see them
(staff, auditors granted --personal) get them; the others get a 403 page saying so, and the masked CSV.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, abort, send_file
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from archive.models import Attachment, FormReadingRow, Message
from bot.web.auth import viewer
from bot.web.present import Masker, masker, reading_table, shown
from bot.web.site import site
from parsers.form_layouts import FORM_TITLES
from parsers.sniff import visible_name

blueprint = Blueprint("download", __name__)
ORIGINALS_REFUSED = (
    "原始邮件和附件中的残疾人证号、身份证号和电话号码没有遮蔽，本账号无权下载。"
    "页面上的内容和“导出 CSV”（已遮蔽）可以查看；如确需原件，请管理员为账号授权"
    "（mailroom user set 账号名 --personal）。"
)
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\"]')
NAME_CHARS = 180  # a longer attachment name is shortened in the middle
_EXTENSION = re.compile(r"\.[^.\s]{1,16}$")
_ASCII_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,16}")
_RFC5987_SAFE = "!#$&+-.^_`|~"  # attr-char (RFC 5987) besides letters and digits, as werkzeug quotes it
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CELL_CHARACTERS = 32767  # the most an Excel cell holds
# A table's columns that hold quantities: a spreadsheet may read them as numbers. Every other cell is text as
# written: 残疾人证号, 身份证号, phones, dates and grades are identifiers, which a number would mangle.
QUANTITY_COLUMNS = frozenset({"行", "目标数", "完成数", "百分比", "补贴金额"})
# What Excel, WPS or LibreOffice would take for a number or a date: digits with number punctuation only.
_NUMBER_CHARS = r"[\d\s.,:/%+\-−eE()¥$]"
_NUMBER_LIKE = re.compile(rf"(?=.*\d){_NUMBER_CHARS}+")
_LONG_OR_ZERO_LED = re.compile(r"\s*(0\d+|\d{12,})\s*")  # an identifier whatever its column


def safe_filename(name: str, fallback: str) -> str:
    """A file name for Content-Disposition: no path, no control or bidi characters (sniff.visible_name), no
    quotes, at most NAME_CHARS characters. A longer name loses the middle of its stem, never its extension:
    without ".xlsx" the saved file opens in nothing, and the stem's end often says which month or version it is."""
    cleaned = _UNSAFE_NAME.sub("_", visible_name(name)).strip(" .")
    return _shortened(cleaned) if cleaned else fallback


def _shortened(name: str) -> str:
    if len(name) <= NAME_CHARS:
        return name
    extension = _extension(name)
    stem = name[: len(name) - len(extension)]
    kept = NAME_CHARS - len(extension) - 1  # the stem's characters either side of "…"
    head = kept - kept // 2
    return stem[:head] + "…" + stem[len(stem) - kept // 2 :] + extension


def _extension(name: str) -> str:
    """ ".xlsx" of "报表.xlsx"; "" when the name has none: no dot, or a space or over 16 characters after it."""
    found = _EXTENSION.search(name)
    return found.group() if found and found.start() > 0 else ""


def named_download(response: Response, name: str, plain: str) -> Response:
    """Content-Disposition naming the file twice: filename*=UTF-8''… (RFC 6266: what browsers use) and, for a
    client that reads only filename=, `plain` with the name's extension ("attachment.xlsx"). send_file's own
    ASCII fallback drops every other character: "" for an all-Chinese name, ".xlsx" (a hidden file) beside
    an extension."""
    if name.isascii():
        return response  # send_file's filename= is the name itself
    extension = _extension(name)
    fallback = plain + (extension if _ASCII_EXTENSION.fullmatch(extension) else "")
    encoded = "UTF-8''" + quote(name, safe=_RFC5987_SAFE)
    response.headers.set("Content-Disposition", "attachment", filename=fallback, **{"filename*": encoded})
    return response


def _original(path: Path, name: str, plain: str) -> Response:
    """The archived file as a download named `name` (`plain`: its ASCII stand-in for old clients)."""
    if not viewer().sees_personal:
        abort(403, ORIGINALS_REFUSED)
    if not path.is_file():
        abort(404, "归档中缺少这个文件（可运行 mailroom verify 检查归档）")
    # X-Content-Type-Options: nosniff is on every response (app.py), downloads included.
    response = send_file(
        path,
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=name,
        etag=False,
        conditional=False,
        max_age=0,
    )
    return named_download(response, name, plain)


# Each download reads only its own row: the message page's loading (every registry person) is not needed.
@blueprint.route("/message/<id:message_id>/original.eml")
def original_message(message_id: int):
    current = site()
    with current.deps.db.session() as db:
        sha = db.scalar(select(Message.sha256).where(Message.id == message_id))
    if sha is None:
        abort(404, f"没有编号为 {message_id} 的邮件")
    return _original(current.deps.store.message_path(sha), f"邮件{message_id}.eml", f"mail-{message_id}")


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
    return _original(current.deps.store.file_path(found.sha256), name, "attachment")


@blueprint.route("/message/<id:message_id>/reading/<id:reading_id>.csv")
def reading_csv(message_id: int, reading_id: int):
    return _reading_download(message_id, reading_id, "csv")


@blueprint.route("/message/<id:message_id>/reading/<id:reading_id>.xlsx")
def reading_xlsx(message_id: int, reading_id: int):
    return _reading_download(message_id, reading_id, "xlsx")


def _reading_download(message_id: int, reading_id: int, suffix: str):
    current = site()
    with current.deps.db.session() as db:
        reading = db.scalar(
            select(FormReadingRow)
            .where(FormReadingRow.id == reading_id, FormReadingRow.message_id == message_id)
            .options(selectinload(FormReadingRow.persons))
        )
        if reading is None:
            abort(404, f"邮件 #{message_id} 没有编号为 {reading_id} 的表格")
        write, mimetype = TABLE_FORMATS[suffix]
        data = write(reading, masker())
    name = f"邮件{message_id}-{FORM_TITLES.get(reading.form or 0, '表格')}-{reading_id}.{suffix}"
    response = send_file(
        io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name, etag=False, max_age=0
    )
    return named_download(response, name, f"mail-{message_id}-table-{reading_id}")


def csv_bytes(reading: FormReadingRow, mask: Masker) -> bytes:
    """The reading's table as CSV for Excel and WPS (LibreOffice too): UTF-8 with a BOM, without which Excel
    reads the Chinese as the local code page. A cell that a spreadsheet would take for a formula (=, +, -,
    @) is prefixed with ' so it stays text (mail is untrusted); an identifier it would take for a number is
    kept as text (`_as_text`). Every cell passes the pages' one masking step too."""
    table = reading_table(reading, mask)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if table is not None:
        writer.writerow([shown(column) for column in table.columns])
        quantities = [column in QUANTITY_COLUMNS for column in table.columns]
        writer.writerows(
            [[_cell(str(shown(cell)), quantity) for cell, quantity in zip(row, quantities)] for row in table.rows]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(reading: FormReadingRow, mask: Masker) -> bytes:
    """The same table as a workbook, for lookups across rows in Excel and WPS: every identifier a text cell as
    written (the CSV must put a tab before one, which then stays in the cell), a quantity column's whole numbers
    numbers. No cell is ever a formula, whatever it begins with (mail is untrusted); masked as the page is."""
    table = reading_table(reading, mask)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(FORM_TITLES.get(reading.form or 0, "表格")[:31])
    if table is not None:
        sheet.append([_text_cell(sheet, str(shown(column))) for column in table.columns])
        quantities = [column in QUANTITY_COLUMNS for column in table.columns]
        for row in table.rows:
            sheet.append([_xlsx_cell(sheet, str(shown(cell)), quantity) for cell, quantity in zip(row, quantities)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(sheet, text: str, quantity: bool) -> WriteOnlyCell:
    if quantity and text.isascii() and text.isdigit() and not _as_text(text, quantity):
        return WriteOnlyCell(sheet, value=int(text))
    return _text_cell(sheet, text)


def _text_cell(sheet, text: str) -> WriteOnlyCell:
    # control characters a workbook cannot hold (a cell's _x000B_ the reader decoded) dropped, as Excel's limit
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", text)[:CELL_CHARACTERS])
    cell.data_type = "s"  # openpyxl takes a value beginning with = for a formula: never one
    cell.number_format = "@"  # and text it stays when edited
    return cell


# A reading's table by each download's suffix: what writes it, and its type.
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TABLE_FORMATS = {
    "csv": (csv_bytes, "text/csv"),
    "xlsx": (xlsx_bytes, XLSX),
}


def _cell(text: str, quantity: bool) -> str:
    """One CSV cell: a would-be formula defused first (mail is untrusted: its own leading tab is not trusted)."""
    if text.startswith(_FORMULA_START):
        return "'" + text
    return "\t" + text if _as_text(text, quantity) else text


def _as_text(text: str, quantity: bool) -> bool:
    """Whether a spreadsheet would mangle the cell as a number: a 残疾人证号 of 20 digits becomes 1.31E+19
    (and loses its last digits), a leading zero goes, a phone becomes a number, a birth month 1998.10 becomes
    1998.1. Such a cell is written after a tab, which Excel, WPS and LibreOffice all keep as text (LibreOffice
    does not evaluate the ="…" formula form unless asked to on import; it shows it as written). A quantity
    column's numbers stay numbers, unless one is an identifier all the same: 12 digits or more, or a
    leading zero."""
    if quantity:
        return _LONG_OR_ZERO_LED.fullmatch(text) is not None
    return _NUMBER_LIKE.fullmatch(text) is not None
