"""Refusing what would hurt the reader: zip bombs, XML entity tricks, sheets too large to load.

python-calamine loads a whole sheet as one dense rectangle (32 bytes a cell) before any row can be
read, and aborts the process when that allocation fails; so every cell reference of an .xlsx is
looked at here, streamed and decompressed under caps, before calamine opens the file.
"""

from __future__ import annotations

import functools
import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from defusedxml import ElementTree as SafeTree
from defusedxml.common import DefusedXmlException

from parsers.errors import SenderError
from parsers.forms import Problem

MIB = 1 << 20
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Caps on one attachment; the uncompressed total covers nested zips and an xlsx's own parts."""

    max_unzipped_bytes: int = 100 * MIB
    max_ratio: int = 200  # deflate reaches ~1000:1 on a bomb; real sheet XML stays under ~50:1
    ratio_floor_bytes: int = 1 * MIB  # small members may compress well without being bombs
    max_members: int = 2000
    max_depth: int = 2  # a zip inside a zip is read; one more level is refused
    max_rows: int = 100_000
    max_cells: int = 3_000_000  # ~100 MB of calamine cells


DEFAULT_LIMITS = Limits()


class Refused(SenderError):
    """A file (or one sheet of it) the reader will not open; code and Chinese message for a Problem."""

    def __init__(self, code: str, message: str, sheet: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.sheet = sheet

    def problem(self) -> Problem:
        return Problem(self.sheet, None, None, self.code, self.message)


@dataclass
class Budget:
    """Uncompressed bytes one attachment may still expand to, shared by every level of nesting."""

    remaining: int


def _too_big(name: str, limits: Limits) -> Refused:
    advice = ("请直接发送各个表格文件，不要压缩" if name.lower().endswith(".zip")
              else "请用 Excel 或 WPS 打开后另存为新文件，删除多余内容后再发送")
    return Refused("zip-bomb", f"“{name}”解压后超过 {limits.max_unzipped_bytes // MIB} MB 或压缩比异常"
                               f"（疑似压缩炸弹），已拒绝读取；{advice}")


def check_directory(archive: zipfile.ZipFile, name: str, limits: Limits, budget: Budget) -> list[zipfile.ZipInfo]:
    """The members, once the central directory's own sizes pass the caps."""
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise _too_big(name, limits)
    if sum(info.file_size for info in infos) > budget.remaining:
        raise _too_big(name, limits)
    for info in infos:
        if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise _too_big(name, limits)
    return infos


def stream_member(data: bytes, info: zipfile.ZipInfo, name: str, limits: Limits, budget: Budget) -> Iterator[bytes]:
    """A member's bytes chunk by chunk, inflated here and counted as they come: neither the sizes in
    the headers nor the end of the stream they promise are trusted (zipfile would stop at the
    declared size, calamine's own unzipping might not)."""
    if info.flag_bits & 0x1:
        raise Refused("encrypted", f"“{name}”设置了解压密码，无法读取；请去掉密码后重新发送")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise Refused("unreadable", f"“{name}”使用了不支持的压缩方式；请用系统自带的压缩功能或直接发送文件")
    raw = _raw_member(data, info, name)
    produced, crc = 0, 0
    for chunk in _inflate(raw) if info.compress_type == zipfile.ZIP_DEFLATED else _slices(raw):
        produced += len(chunk)
        budget.remaining -= len(chunk)
        ratio = produced / max(info.compress_size, 1)
        if budget.remaining < 0 or produced > info.file_size or (
                produced > limits.ratio_floor_bytes and ratio > limits.max_ratio):
            raise _too_big(name, limits)
        crc = zlib.crc32(chunk, crc)
        yield chunk
    if produced != info.file_size or crc != info.CRC:
        raise Refused("unreadable", f"“{name}”已损坏（解压后的内容与记录不符），请重新保存后再发送")


def _raw_member(data: bytes, info: zipfile.ZipInfo, name: str) -> memoryview:
    offset = info.header_offset
    if offset < 0 or offset + 30 > len(data) or data[offset:offset + 4] != b"PK\x03\x04":
        raise Refused("unreadable", f"“{name}”已损坏（找不到压缩数据），请重新保存后再发送")
    name_length, extra_length = struct.unpack_from("<HH", data, offset + 26)
    start = offset + 30 + name_length + extra_length
    if start + info.compress_size > len(data):
        raise Refused("unreadable", f"“{name}”不完整（可能在发送时被截断），请重新保存后再发送")
    return memoryview(data)[start:start + info.compress_size]


def _inflate(raw: memoryview) -> Iterator[bytes]:
    """Raw deflate, never more than one chunk of output per step whatever the input claims."""
    inflater = zlib.decompressobj(-15)
    position = 0
    try:
        while not inflater.eof:
            if inflater.unconsumed_tail:
                pending = inflater.unconsumed_tail
            elif position < len(raw):
                pending, position = raw[position:position + _CHUNK], position + _CHUNK
            else:
                break
            chunk = inflater.decompress(pending, _CHUNK)
            if chunk:
                yield chunk
    except zlib.error as error:
        raise Refused("unreadable", "压缩数据已损坏，请重新保存后再发送") from error


def _slices(raw: memoryview) -> Iterator[bytes]:
    for position in range(0, len(raw), _CHUNK):
        yield bytes(raw[position:position + _CHUNK])


def read_member(data: bytes, info: zipfile.ZipInfo, name: str, limits: Limits, budget: Budget) -> bytes:
    return b"".join(stream_member(data, info, name, limits, budget))


# ---------------------------------------------------------------------------------------------
# .xlsx

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY|<\x00!\x00D\x00O\x00C\x00T\x00Y\x00P\x00E|<\x00!\x00E\x00N\x00T")
_TOKEN = re.compile(rb"<(row|c)\b([^>]*)>")
_R_ATTRIBUTE = re.compile(rb'\br="([A-Z]*)(\d*)"')
_OVERLAP = 32


def entity_refusal(name: str) -> Refused:
    return Refused("xml-entity", f"“{name}”中含有 XML 实体声明（DOCTYPE/ENTITY），可能是恶意文件，已拒绝读取；"
                                 f"请用 Excel 或 WPS 打开后另存为新的文件再发送")


@dataclass
class XlsxLayout:
    """What the pre-scan learned: each sheet's XML part, the sheets refused with their problem, and
    the workbook again with every part stored uncompressed: calamine reads exactly the bytes checked
    here, and is spared inflating them a second time."""

    parts: dict[str, str] = field(default_factory=dict)
    refused: dict[str, Problem] = field(default_factory=dict)
    stored: io.BytesIO = field(default_factory=io.BytesIO)


_EMPTY_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet '
                b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>')


def check_xlsx(data: bytes, name: str, limits: Limits, budget: Budget) -> XlsxLayout:
    """Inflate every part under the caps, refuse DTDs, measure each sheet, and store it all again."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise Refused("unreadable", f"“{name}”不是完整的 Excel 文件（可能在发送时被截断），请重新保存后再发送") from error
    with archive:
        infos = check_directory(archive, name, limits, budget)
        layout = XlsxLayout(parts=_sheet_parts(archive, data, name, limits, budget))
        sheet_of_part = {part: sheet for sheet, part in layout.parts.items()}
        with zipfile.ZipFile(layout.stored, "w", zipfile.ZIP_STORED) as stored:
            for info in infos:
                kept: list[bytes] = []
                chunks = _keeping(stream_member(data, info, name, limits, budget), kept)
                sheet = sheet_of_part.get(info.filename)
                if sheet is None:
                    _scan_part(chunks, name)
                elif _sheet_verdict(chunks, kept, name, limits) == "refuse":
                    layout.refused[sheet] = _too_many_rows(sheet, limits)
                    kept = [_EMPTY_SHEET]
                _store(stored, info.filename, kept)
    layout.stored.seek(0)
    return layout


def _keeping(chunks: Iterator[bytes], kept: list[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        kept.append(chunk)
        yield chunk


def _sheet_verdict(chunks: Iterator[bytes], kept: list[bytes], name: str, limits: Limits) -> str:
    verdict = _scan_sheet(chunks, name, limits)
    if verdict == "measure":  # rare: far references or cells without a reference
        verdict = _measure_sheet(iter(kept), limits)
    return verdict


def _store(archive: zipfile.ZipFile, part: str, chunks: list[bytes]) -> None:
    info = zipfile.ZipInfo(part, date_time=(1980, 1, 1, 0, 0, 0))
    info.file_size = sum(map(len, chunks))
    with archive.open(info, "w") as handle:
        for chunk in chunks:
            handle.write(chunk)


def _scan_part(chunks: Iterator[bytes], name: str) -> None:
    first = True
    for chunk in chunks:
        if first and _DOCTYPE.search(chunk, 0, 4096):
            raise entity_refusal(name)
        first = False


@functools.lru_cache(maxsize=8)
def _far_reference(max_rows: int) -> re.Pattern[bytes]:
    """A reference past column Z, or to a row with as many digits as max_rows: what a bomb needs."""
    digits = len(str(max_rows))
    return re.compile(rb'r="[A-Z]?+(?:[A-Z]|[0-9]{%d})' % digits)


def _scan_sheet(chunks: Iterator[bytes], name: str, limits: Limits) -> str:
    """"ok", "refuse", or "measure" when only an exact look at every reference can tell.

    With every cell referenced, columns A–Z and rows below 10^(digits of max_rows − 1), calamine's
    rectangle stays under max_rows × 26 cells; one regex search per chunk proves that."""
    far = _far_reference(limits.max_rows)
    tail = b""
    measure = False
    for chunk in chunks:
        if not tail:
            if _DOCTYPE.search(chunk, 0, 4096):
                raise entity_refusal(name)
            measure = _has_unreferenced(chunk)
        window = tail + chunk
        if far.search(window):
            if _window_too_large(window, limits):
                return "refuse"
            measure = True
        tail = window[-_OVERLAP:]
    return "measure" if measure else "ok"


def _has_unreferenced(chunk: bytes) -> bool:
    """Cells or rows without an r attribute (calamine then places them one after another), or
    elements spelt with a namespace prefix: judged on the sheet's first 64 KB, since a writer
    spells every row and cell alike."""
    head = chunk[:1 << 16]
    cells = head.count(b"<c ") + head.count(b"<c>")
    rows = head.count(b"<row ") + head.count(b"<row>")
    prefixed = b":c " in head or b":row " in head
    return prefixed or cells != head.count(b'<c r="') or rows != head.count(b'<row r="')


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
    return Problem(sheet, None, None, "too-many-rows",
                   f"工作表“{sheet}”超过 {limits.max_rows:,} 行（或单元格范围过大，可能在很远的行列误填了内容），"
                   f"未读取；请删除多余的行列，只保留表格本身后重新发送")


def column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _sheet_parts(archive: zipfile.ZipFile, data: bytes, name: str, limits: Limits, budget: Budget) -> dict[str, str]:
    """Sheet name → its XML part, from xl/workbook.xml and its relationships (parsed by defusedxml)."""
    workbook = _parse_small(archive, data, "xl/workbook.xml", name, limits, budget)
    rels = _parse_small(archive, data, "xl/_rels/workbook.xml.rels", name, limits, budget)
    if workbook is None or rels is None:
        return {}
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(f"{_PKG_REL}Relationship")}
    parts: dict[str, str] = {}
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_REL}id"), "")
        if target:
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            parts[sheet.get("name", "")] = path
    return parts


def _parse_small(archive: zipfile.ZipFile, data: bytes, part: str, name: str, limits: Limits, budget: Budget):
    try:
        info = archive.getinfo(part)
    except KeyError:
        return None
    xml = read_member(data, info, name, limits, Budget(budget.remaining))
    try:
        return SafeTree.fromstring(xml)
    except DefusedXmlException as error:
        raise entity_refusal(name) from error
    except SafeTree.ParseError as error:
        raise Refused("unreadable", f"“{name}”的工作簿结构已损坏，无法读取；请用 Excel 或 WPS 打开后重新保存再发送") from error


def formula_cells_without_value(stored: io.BytesIO, part: str, limits: Limits) -> frozenset[str]:
    """References ("F6") of formula cells saved without a computed value, streamed from the sheet XML."""
    found: set[str] = set()
    try:
        with zipfile.ZipFile(stored) as archive, archive.open(part) as stream:
            for _, element in SafeTree.iterparse(_Capped(stream, limits.max_unzipped_bytes), events=("end",)):
                if element.tag == f"{_MAIN}c":
                    has_formula = element.find(f"{_MAIN}f") is not None
                    value = element.find(f"{_MAIN}v")
                    if has_formula and (value is None or not (value.text or "")):
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
