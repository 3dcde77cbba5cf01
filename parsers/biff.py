"""A look at an .xls/.et (BIFF8 in an OLE2 file) before calamine opens it: a password, and how far
each sheet's cells reach (calamine loads a sheet as one dense rectangle, so two far cells are enough
to exhaust memory)."""

from __future__ import annotations

import io
import struct

import olefile

from parsers.forms import Problem
from parsers.safety import Limits, Refused

_BOF, _EOF, _FILEPASS, _BOUNDSHEET, _DIMENSIONS = 0x0809, 0x000A, 0x002F, 0x0085, 0x0200
_WORKSHEET = 0x0010
# NUMBER, LABELSST, LABEL, RK, FORMULA, BOOLERR, RSTRING: row and column in their first 4 bytes.
_CELLS = frozenset({0x0203, 0x00FD, 0x0204, 0x027E, 0x0006, 0x0205, 0x00D6})
_MULRK = 0x00BD
# calamine builds every sheet of an .xls as it opens the file, as dense rectangles (32 bytes a cell) as far as
# the cells, or the sheet's DIMENSIONS record, reach: beyond this many in all, more than a reader's 2 GB.
MAX_OPEN_CELLS = 40_000_000


def check_xls(data: bytes, name: str, limits: Limits) -> dict[str, Problem]:
    """Sheets too large to load (by name, with their problem); Refused for a password or a broken file."""
    stream = _workbook_stream(data, name)
    sheets: list[str] = []
    extents: list[tuple[int, int]] = []  # one per top-level substream after the workbook globals
    opened: list[int] = []  # the cells calamine allocates for each, its DIMENSIONS record counted too
    depth = 0  # an embedded chart opens its own BOF…EOF inside a worksheet
    current: list[int] | None = None  # rows and columns the cells reach, then as DIMENSIONS says
    for kind, body in _records(stream):
        if kind == _FILEPASS:
            raise Refused("encrypted", f"“{name}”设置了打开密码，无法读取；请在 Excel 或 WPS 中取消密码后重新发送")
        if kind == _BOUNDSHEET and len(body) > 8:
            sheets.append(_sheet_name(body))
        elif kind == _BOF:
            depth += 1
            if depth == 1:
                worksheet = len(body) >= 4 and struct.unpack_from("<H", body, 2)[0] == _WORKSHEET
                current = [0, 0, 0, 0] if worksheet else None
        elif kind == _EOF and depth > 0:
            depth -= 1
            if depth == 0:
                extents.append((current[0], current[1]) if current else (0, 0))
                opened.append(max(current[0], current[2]) * max(current[1], current[3]) if current else 0)
                current = None
        elif depth == 1 and current is not None and len(body) >= 4 and (kind in _CELLS or kind == _MULRK):
            row, col = struct.unpack_from("<HH", body, 0)
            if kind == _MULRK and len(body) >= 6:
                col = struct.unpack_from("<H", body, len(body) - 2)[0]
            current[0], current[1] = max(current[0], row + 1), max(current[1], col + 1)
        elif depth == 1 and current is not None and kind == _DIMENSIONS and len(body) >= 10:
            # BIFF8: first and last-plus-one row (4 bytes each), then columns (2 each); BIFF5: all 2 bytes
            last_row, last_col = struct.unpack_from(
                "<IxxH" if len(body) >= 14 else "<HxxH", body, 4 if len(body) >= 14 else 2
            )
            current[2], current[3] = max(current[2], last_row), max(current[3], last_col)
    total = sum(opened)
    if total > MAX_OPEN_CELLS:
        raise Refused(
            "too-many-rows",
            f"“{name}”中工作表的内容范围过大（合计约 {total:,} 个单元格），无法打开；"
            f"请删除多余的行列（可能在很远的行列误填了内容），只保留表格本身后重新发送",
        )
    refused: dict[str, Problem] = {}
    for sheet, (rows, cols) in zip(sheets, extents[1:]):  # the first substream is the workbook's own
        if rows > limits.max_rows or rows * cols > limits.max_cells:
            refused[sheet] = Problem(
                sheet,
                None,
                None,
                "too-many-rows",
                f"工作表“{sheet}”的内容范围过大（{rows:,} 行 × {cols} 列），未读取；"
                f"请删除多余的行列，只保留表格本身后重新发送",
            )
    return refused


def _workbook_stream(data: bytes, name: str) -> bytes:
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            for stream in ("Workbook", "Book"):
                if ole.exists(stream):
                    return ole.openstream(stream).read()
    except Exception as error:  # olefile raises many kinds on a damaged container, RecursionError too
        raise Refused("unreadable", f"“{name}”已损坏，无法读取；请用 Excel 或 WPS 打开后重新保存再发送") from error
    raise Refused("unreadable", f"“{name}”不是 Excel 工作簿；请确认文件后重新发送")


def _records(stream: bytes):
    """(record type, body) of each BIFF record, in order, until the bytes run out."""
    pos, end = 0, len(stream)
    unpack = struct.unpack_from
    while pos + 4 <= end:
        kind, length = unpack("<HH", stream, pos)
        yield kind, stream[pos + 4 : pos + 4 + length]
        pos += 4 + length


def _sheet_name(body: bytes) -> str:
    length, flags = body[6], body[7]
    raw = body[8:]
    if flags & 0x1:
        return raw[: 2 * length].decode("utf-16-le", "replace")
    return raw[:length].decode("latin-1")
