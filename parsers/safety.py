"""Refusing what would hurt the reader: zip bombs (caps on the directory's sizes and ratios, and
again on the bytes as they inflate), nesting, XML entity tricks; the caps themselves (Limits).
The .xlsx pre-scan built on this is parsers.xlsx_scan; the .xls one is parsers.biff."""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

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
    advice = (
        "请直接发送各个表格文件，不要压缩"
        if name.lower().endswith(".zip")
        else "请用 Excel 或 WPS 打开后另存为新文件，删除多余内容后再发送"
    )
    return Refused(
        "zip-bomb",
        f"“{name}”解压后超过 {limits.max_unzipped_bytes // MIB} MB 或压缩比异常（疑似压缩炸弹），已拒绝读取；{advice}",
    )


_SPANNED = b"PK\x07\x08"  # what a zip written as one span of a spanned archive begins with


def check_directory(archive: zipfile.ZipFile, name: str, limits: Limits, budget: Budget) -> list[zipfile.ZipInfo]:
    """The members, once the central directory's own sizes pass the caps, and once it is the file's own: a zip
    cut short keeps the directory of a workbook stored whole inside it (景县11月报表.zip cut after its 附件2.xlsx,
    whose own directory zipfile then finds and takes the bytes before it for a prefix), so its first member is
    not where the file begins; read so, that workbook alone was read and the rest never said lost."""
    infos = archive.infolist()
    if infos and min(info.header_offset for info in infos) > len(_SPANNED):  # (a spanned zip's marker comes first)
        advice = "请重新压缩后再发送，或直接发送各个文件" if name.lower().endswith(".zip") else "请重新保存后再发送"
        raise Refused("unreadable", f"“{name}”不完整（可能在发送时被截断），无法读取；{advice}")
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
        if (
            budget.remaining < 0
            or produced > info.file_size
            or (produced > limits.ratio_floor_bytes and ratio > limits.max_ratio)
        ):
            raise _too_big(name, limits)
        crc = zlib.crc32(chunk, crc)
        yield chunk
    if produced != info.file_size or crc != info.CRC:
        raise Refused("unreadable", f"“{name}”已损坏（解压后的内容与记录不符），请重新保存后再发送")


def _raw_member(data: bytes, info: zipfile.ZipInfo, name: str) -> memoryview:
    offset = info.header_offset
    if offset < 0 or offset + 30 > len(data) or data[offset : offset + 4] != b"PK\x03\x04":
        raise Refused("unreadable", f"“{name}”已损坏（找不到压缩数据），请重新保存后再发送")
    name_length, extra_length = struct.unpack_from("<HH", data, offset + 26)
    start = offset + 30 + name_length + extra_length
    if start + info.compress_size > len(data):
        raise Refused("unreadable", f"“{name}”不完整（可能在发送时被截断），请重新保存后再发送")
    return memoryview(data)[start : start + info.compress_size]


def _inflate(raw: memoryview) -> Iterator[bytes]:
    """Raw deflate, never more than one chunk of output per step whatever the input claims."""
    inflater = zlib.decompressobj(-15)
    position = 0
    pending: bytes | memoryview
    try:
        while not inflater.eof:
            if inflater.unconsumed_tail:
                pending = inflater.unconsumed_tail
            elif position < len(raw):
                pending, position = raw[position : position + _CHUNK], position + _CHUNK
            else:
                break
            chunk = inflater.decompress(pending, _CHUNK)
            if chunk:
                yield chunk
    except zlib.error as error:
        raise Refused("unreadable", "压缩数据已损坏，请重新保存后再发送") from error


def _slices(raw: memoryview) -> Iterator[bytes]:
    for position in range(0, len(raw), _CHUNK):
        yield bytes(raw[position : position + _CHUNK])


def read_member(data: bytes, info: zipfile.ZipInfo, name: str, limits: Limits, budget: Budget) -> bytes:
    return b"".join(stream_member(data, info, name, limits, budget))


# An XML part that declares a DTD (entities, external references): refused before any parser sees it.
DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY|<\x00!\x00D\x00O\x00C\x00T\x00Y\x00P\x00E|<\x00!\x00E\x00N\x00T")


def entity_refusal(name: str) -> Refused:
    return Refused(
        "xml-entity",
        f"“{name}”中含有 XML 实体声明（DOCTYPE/ENTITY），可能是恶意文件，已拒绝读取；"
        f"请用 Excel 或 WPS 打开后另存为新的文件再发送",
    )
