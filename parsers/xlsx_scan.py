"""The .xlsx pre-scan: every part inflated under the caps, DTDs refused, each sheet measured, and
the workbook stored again uncompressed for calamine.

python-calamine loads a whole sheet as one dense rectangle (32 bytes a cell) before any row can be
read, and aborts the process when that allocation fails; so every cell reference is looked at here,
streamed, before calamine opens the file."""

from __future__ import annotations

import bisect
import functools
import io
import itertools
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from defusedxml import ElementTree as SafeTree
from defusedxml.common import DefusedXmlException

from parsers.forms import Problem
from parsers.safety import DOCTYPE, Budget, Limits, Refused, check_directory, entity_refusal, read_member, stream_member

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_TOKEN = re.compile(rb"<(row|c)\b([^>]*)>")
_R_ATTRIBUTE = re.compile(rb"""\br=["']([A-Z]*)(\d*)["']""")  # either quote: XML allows both, and so does calamine
_OVERLAP = 32
_FULL_CALC = re.compile(rb"""<(?:\w+:)?calcPr\b[^>]*\bfullCalcOnLoad=["'](?:1|true)["']""")


@dataclass
class XlsxLayout:
    """What the pre-scan learned: each sheet's XML part, the sheets refused with their problem, and
    the workbook again with every part stored uncompressed: calamine reads exactly the bytes checked
    here, and is spared inflating them a second time."""

    parts: dict[str, str] = field(default_factory=dict)
    refused: dict[str, Problem] = field(default_factory=dict)
    stored: io.RawIOBase | io.BytesIO = field(default_factory=io.BytesIO)
    # The workbook asks to be calculated when opened (calcPr fullCalcOnLoad): the results its formulas hold are
    # not to be trusted. xlsxwriter and other exporters save every formula with 0 and set it.
    recalculate_on_open: bool = False


_EMPTY_SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet '
    b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>'
)


def check_xlsx(data: bytes, name: str, limits: Limits, budget: Budget) -> XlsxLayout:
    """Inflate every part under the caps, refuse DTDs, measure each sheet, and store it all again."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise Refused(
            "unreadable", f"“{name}”不是完整的 Excel 文件（可能在发送时被截断），请重新保存后再发送"
        ) from error
    with archive:
        infos = check_directory(archive, name, limits, budget)
        if any(info.filename == "xl/workbook.bin" for info in infos):
            raise Refused("unreadable", f"“{name}”是 Excel 二进制工作簿（.xlsb），无法检查；请“另存为”.xlsx 后重新发送")
        layout = XlsxLayout(parts=_sheet_parts(archive, data, name, limits, budget))
        sheet_of_part = {part: sheet for sheet, part in layout.parts.items()}
        stored: list[StoredMember] = []
        for info in infos:
            kept: list[bytes] = []
            chunks = _keeping(stream_member(data, info, name, limits, budget), kept)
            sheet = sheet_of_part.get(info.filename)
            if sheet is None and not info.filename.lower().startswith("xl/worksheets/"):
                _scan_part(chunks, info.file_size, name)
            elif _sheet_verdict(chunks, kept, name, limits) == "refuse":
                if sheet is None:  # not named to us (Strict namespace, a name in another case): calamine finds it
                    raise _unnamed_too_large(name, limits)
                layout.refused[sheet] = _too_many_rows(sheet, limits)
                stored.append(StoredMember(info.filename, [_EMPTY_SHEET], zlib.crc32(_EMPTY_SHEET), len(_EMPTY_SHEET)))
                continue
            # every kept member was read to its end, where stream_member checked its size and CRC
            stored.append(StoredMember(info.filename, kept, info.CRC, info.file_size))
    layout.stored = PiecesFile(stored_zip(stored))
    workbook = b"".join(chunk for member in stored if member.name == "xl/workbook.xml" for chunk in member.chunks)
    layout.recalculate_on_open = _FULL_CALC.search(workbook) is not None
    return layout


class StoredMember(NamedTuple):
    """A member to store: its name, its bytes in chunks, and their CRC-32 and length."""

    name: str
    chunks: list[bytes]
    crc: int
    size: int


def _keeping(chunks: Iterator[bytes], kept: list[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        kept.append(chunk)
        yield chunk


def _sheet_verdict(chunks: Iterator[bytes], kept: list[bytes], name: str, limits: Limits) -> str:
    verdict = _scan_sheet(chunks, name, limits)
    if verdict == "measure":  # rare: references past Z or past 10^(digits − 1) rows somewhere
        verdict = _measure_sheet(iter(kept), limits)
    return verdict


def stored_zip(members: list[StoredMember]) -> list[bytes]:
    """A zip of uncompressed members, as the pieces of bytes that make it up in order: headers and
    the members' own chunks, never copied into one (PiecesFile reads them as one file). Written
    directly, as zipfile's writer costs more than the copying for a small workbook. Members are
    capped far below 4 GB, so no zip64 is needed."""
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, chunks, crc, size in members:
        encoded = name.encode("utf-8")
        flags = 0 if name.isascii() else 0x800
        local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, 0, 0, 0x21, crc, size, size, len(encoded), 0)
        central.append(
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                20,
                20,
                flags,
                0,
                0,
                0x21,
                crc,
                size,
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
        out += [local, encoded, *chunks]
        offset += len(local) + len(encoded) + size
    directory_size = sum(map(len, central))
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central), directory_size, offset, 0)
    return [*out, *central, end]


class PiecesFile(io.RawIOBase):
    """A read-only, seekable binary file over byte strings laid end to end. calamine copies the
    whole file into its own buffer as it opens it; read from here, the 16 MB of a 50,000-row
    sheet are copied once, not joined into one string first and copied again."""

    def __init__(self, pieces: list[bytes]) -> None:
        super().__init__()
        self._pieces = [piece for piece in pieces if piece]
        self._starts = list(itertools.accumulate(map(len, self._pieces), initial=0))
        self._size = self._starts.pop()
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET and offset < 0:
            raise ValueError(f"negative seek value {offset}")
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(base + offset, 0)  # as io.BytesIO does
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size, self._position + size)
        taken: list[bytes] = []
        index = bisect.bisect_right(self._starts, self._position) - 1
        while self._position < end:
            piece, start = self._pieces[index], self._starts[index]
            whole = self._position == start and end - start >= len(piece)
            taken.append(piece if whole else piece[self._position - start : end - start])
            self._position += len(taken[-1])
            index += 1
        return taken[0] if len(taken) == 1 else b"".join(taken)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _scan_part(chunks: Iterator[bytes], size: int, name: str) -> None:
    first = True
    for chunk in chunks:
        if first and DOCTYPE.search(chunk, 0, 4096):
            raise entity_refusal(name)
        if first and (claim := _SHARED_COUNT.search(chunk, 0, 4096)) and int(claim[1]) > max(size // 4, 1_000_000):
            raise _false_string_count(name)
        first = False


# calamine reserves room for the shared strings the table's header claims (24 bytes each) before reading
# one, and aborts when it cannot: a claim past what the part could hold (an entry takes at least `<si/>`)
# and past a million is refused before it
_SHARED_COUNT = re.compile(rb"""<(?:\w+:)?sst\b[^>]*?\buniqueCount\s*=\s*["'](\d+)""")


def _false_string_count(name: str) -> Refused:
    return Refused(
        "unreadable",
        f"“{name}”的共享字符串表已损坏（声明的字符串个数远多于文件所含），无法读取；"
        f"请用 Excel 或 WPS 打开后“另存为”新的 .xlsx 文件再发送",
    )


@functools.lru_cache(maxsize=8)
def _far_reference(max_rows: int) -> re.Pattern[bytes]:
    """A reference past column Z, or to a row with as many digits as max_rows: what a bomb needs."""
    digits = len(str(max_rows))
    return re.compile(rb"""r=["'][A-Z]?+(?:[A-Z]|[0-9]{%d})""" % digits)


def _scan_sheet(chunks: Iterator[bytes], name: str, limits: Limits) -> str:
    """ "ok", "refuse", or "measure" when only an exact look at every reference can tell.

    With every cell referenced, columns A–Z and rows below 10^(digits of max_rows − 1), calamine's
    rectangle stays under max_rows × 26 cells; one regex search per chunk proves that. A sheet
    without references is measured as it streams, and left as soon as it is too large."""
    first = next(chunks, b"")
    if DOCTYPE.search(first, 0, 4096):
        raise entity_refusal(name)
    if _has_unreferenced(first):
        return _measure_sheet(itertools.chain([first], chunks), limits)
    far = _far_reference(limits.max_rows)
    tail = b""
    measure = False
    for chunk in itertools.chain([first], chunks):
        # the chunk, and where it meets the one before: a reference is far shorter than _OVERLAP
        if far.search(chunk) or far.search(tail + chunk[:_OVERLAP]):
            if _window_too_large(tail + chunk, limits):
                return "refuse"
            measure = True
        tail = chunk[-_OVERLAP:] if len(chunk) >= _OVERLAP else (tail + chunk)[-_OVERLAP:]
    return "measure" if measure else "ok"


def _has_unreferenced(chunk: bytes) -> bool:
    """Cells or rows without an r attribute (calamine then places them one after another), or
    elements spelt with a namespace prefix: judged on the sheet's first 8 KB, since a writer
    spells every row and cell alike."""
    cut = chunk.rfind(b"<", 0, 1 << 13)
    head = chunk[:cut] if len(chunk) > 1 << 13 and cut > 0 else chunk  # never half a tag
    cells = head.count(b"<c ") + head.count(b"<c>")
    rows = head.count(b"<row ") + head.count(b"<row>")
    prefixed = b":c " in head or b":row " in head
    referenced_cells = head.count(b'<c r="') + head.count(b"<c r='")
    referenced_rows = head.count(b'<row r="') + head.count(b"<row r='")
    return prefixed or cells != referenced_cells or rows != referenced_rows


def _window_too_large(window: bytes, limits: Limits) -> bool:
    max_row = max_col = 0
    for _, attributes in _TOKEN.findall(window):
        match = _R_ATTRIBUTE.search(attributes)
        if match and match.group(2):
            max_row = max(max_row, int(match.group(2)))
            max_col = max(max_col, column_number(match.group(1).decode()))
    return max_row > limits.max_rows or max_row * max(max_col, 1) > limits.max_cells


def _measure_sheet(chunks: Iterator[bytes], limits: Limits) -> str:
    """Walk every row and cell as calamine places them, stopping as soon as a cap is passed."""
    row = col = max_row = max_col = 0
    tail = b""
    for chunk in chunks:
        window = tail + chunk
        cut = window.rfind(b"<")
        for kind, attributes in _TOKEN.findall(window, 0, cut):
            match = _R_ATTRIBUTE.search(attributes)
            if kind == b"row":
                row = int(match.group(2)) if match and match.group(2) else row + 1
                col = 0
                continue
            if match and match.group(1):
                col = column_number(match.group(1).decode())
                row = int(match.group(2)) if match.group(2) else row
            else:
                col += 1
            max_row, max_col = max(max_row, row), max(max_col, col)
        if max_row > limits.max_rows or max_row * max(max_col, 1) > limits.max_cells:
            return "refuse"
        tail = window[cut:]
    return "ok"


def _too_many_rows(sheet: str, limits: Limits) -> Problem:
    return Problem(
        sheet,
        None,
        None,
        "too-many-rows",
        f"工作表“{sheet}”超过 {limits.max_rows:,} 行（或单元格范围过大，可能在很远的行列误填了内容），"
        f"未读取；请删除多余的行列，只保留表格本身后重新发送",
    )


def _unnamed_too_large(name: str, limits: Limits) -> Refused:
    return Refused(
        "too-many-rows",
        f"“{name}”中有工作表超过 {limits.max_rows:,} 行（或单元格范围过大，可能在很远的行列误填了内容），"
        f"无法读取；请删除多余的行列，只保留表格本身后重新发送",
    )


def column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _sheet_parts(archive: zipfile.ZipFile, data: bytes, name: str, limits: Limits, budget: Budget) -> dict[str, str]:
    """Sheet name → its XML part, from xl/workbook.xml and its relationships (parsed by defusedxml)."""
    sheets = _attributes(archive, data, "xl/workbook.xml", f"{_MAIN}sheet", "sheets", name, limits, budget)
    rels = _attributes(
        archive, data, "xl/_rels/workbook.xml.rels", f"{_PKG_REL}Relationship", None, name, limits, budget
    )
    if sheets is None or rels is None:
        return {}
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    parts: dict[str, str] = {}
    for sheet in sheets:
        target = targets.get(sheet.get(f"{_REL}id"), "")
        if target:
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            parts[sheet.get("name", "")] = path
    return parts


def _attributes(
    archive: zipfile.ZipFile,
    data: bytes,
    part: str,
    tag: str,
    until: str | None,
    name: str,
    limits: Limits,
    budget: Budget,
) -> list[dict[str, str]] | None:
    """The attributes of each `tag` element of a part, streamed, up to the end of the first element whose local
    name is `until` (the sheets' list, before the defined names a damaged workbook can hold by the hundred
    thousand), in whichever namespace (Excel's Strict one too, whose sheets are not named to us); None without
    the part."""
    try:
        info = archive.getinfo(part)
    except KeyError:
        return None
    xml = read_member(data, info, name, limits, Budget(budget.remaining))
    found: list[dict[str, str]] = []
    try:
        for _, node in SafeTree.iterparse(io.BytesIO(xml)):
            if node.tag == tag:
                found.append(dict(node.attrib))
            elif until is not None and node.tag.rpartition("}")[2] == until:
                break
    except DefusedXmlException as error:
        raise entity_refusal(name) from error
    except SafeTree.ParseError as error:
        raise Refused(
            "unreadable", f"“{name}”的工作簿结构已损坏，无法读取；请用 Excel 或 WPS 打开后重新保存再发送"
        ) from error
    return found


def formula_cells_without_value(
    stored: io.RawIOBase | io.BytesIO, part: str, limits: Limits, every: bool = False
) -> frozenset[str]:
    """References ("F6") of formula cells saved without a computed value, streamed from the sheet XML; `every`
    formula cell's when the workbook's results are not to be trusted (XlsxLayout.recalculate_on_open). A text result may
    be empty (=IF(B6="","",…) saved by Excel: t="str", <v></v>): that is a value, the cell blank."""
    found: set[str] = set()
    try:
        with zipfile.ZipFile(stored) as archive, archive.open(part) as stream:
            for _, element in SafeTree.iterparse(_Capped(stream, limits.max_unzipped_bytes), events=("end",)):
                if element.tag == f"{_MAIN}c":
                    has_formula = element.find(f"{_MAIN}f") is not None
                    value = element.find(f"{_MAIN}v")
                    if has_formula and (every or value is None or not (value.text or "") and element.get("t") != "str"):
                        found.add(element.get("r", ""))
                    element.clear()
    except (KeyError, zipfile.BadZipFile, OSError, SafeTree.ParseError, DefusedXmlException):
        return frozenset(found)
    return frozenset(found)


class _Capped(io.RawIOBase):
    """A read-only stream that ends after a byte cap (the pre-scan already checked; belt and braces)."""

    def __init__(self, stream, cap: int) -> None:
        self._stream, self._left = stream, cap

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        chunk = self._stream.read(size)
        self._left -= len(chunk)
        return chunk
