"""Byte-level builders for the samples no library writes: an OLE2 compound file (.doc, .wps, an
encrypted .xlsx), a minimal .docx, an .xlsx written part by part (entities, sparse cells, missing
references, padding), zips with GBK names, lying sizes or the encryption flag. Used only by
make_workbooks.py; the committed files are the fixtures."""

from __future__ import annotations

import io
import math
import struct
import zipfile
import zlib

_SECTOR = 512
_FREE, _END, _FAT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def compound_file(streams: dict[str, bytes]) -> bytes:
    """An OLE2 (CFB v3) file holding the given streams at the root, each padded to 4096 bytes so
    that no mini stream is needed. Layout: stream sectors, directory sectors, FAT sectors."""
    names = sorted(streams, key=lambda name: (len(name), name.upper()))
    datas = [streams[name].ljust(4096, b"\0") for name in names]
    counts = [math.ceil(len(data) / _SECTOR) for data in datas]
    entries = 1 + len(names)
    dir_sectors = math.ceil(entries * 128 / _SECTOR)
    used = sum(counts) + dir_sectors
    fat_sectors = 1
    while (used + fat_sectors) > fat_sectors * 128:
        fat_sectors += 1
    fat = []
    starts = []
    for count in counts:
        starts.append(len(fat))
        fat.extend(range(len(fat) + 1, len(fat) + count))
        fat.append(_END)
    dir_start = len(fat)
    fat.extend(range(dir_start + 1, dir_start + dir_sectors))
    fat.append(_END)
    fat_start = len(fat)
    fat.extend([_FAT] * fat_sectors)
    fat.extend([_FREE] * (fat_sectors * 128 - len(fat)))
    directory = _entry("Root Entry", 5, child=1 if names else _NOSTREAM, start=_END, size=0)
    for index, name in enumerate(names, 1):
        right = index + 1 if index < len(names) else _NOSTREAM
        directory += _entry(name, 2, right=right, start=starts[index - 1], size=len(datas[index - 1]))
    directory = directory.ljust(dir_sectors * _SECTOR, b"\0")
    difat = list(range(fat_start, fat_start + fat_sectors)) + [_FREE] * (109 - fat_sectors)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"\0" * 16,
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        b"\0" * 6,
        0,
        fat_sectors,
        dir_start,
        0,
        4096,
        _END,
        0,
        _END,
        0,
    )
    header += struct.pack("<109I", *difat)
    body = b"".join(data.ljust(count * _SECTOR, b"\0") for data, count in zip(datas, counts))
    return header + body + directory + struct.pack(f"<{len(fat)}I", *fat)


def _entry(name: str, kind: int, *, right: int = _NOSTREAM, child: int = _NOSTREAM, start: int, size: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        encoded.ljust(64, b"\0"),
        len(encoded),
        kind,
        1,
        _NOSTREAM,
        right,
        child,
        b"\0" * 16,
        0,
        0,
        0,
        start,
        size,
    )


def word_binary(text: str) -> bytes:
    """A Word 97 container (.doc/.wps): a WordDocument stream starting with the FIB magic, the text
    in UTF-16LE after it, and an empty 1Table stream."""
    word = struct.pack("<HH", 0xA5EC, 0x00C1) + b"\0" * 508 + text.encode("utf-16-le")
    return compound_file({"WordDocument": word, "1Table": b"\0" * 16})


def encrypted_office() -> bytes:
    """What Excel writes for a workbook with an open password: an OLE2 file, not a zip."""
    info = struct.pack("<HHI", 4, 4, 0x40) + b"<encryption/>"
    return compound_file({"EncryptionInfo": info, "EncryptedPackage": bytes(range(256)) * 16})


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="{target}"/></Relationships>'
)


def docx(paragraphs: list[str]) -> bytes:
    """A minimal Word document: one w:p per paragraph."""
    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{_escape(text)}</w:t></w:r></w:p>' for text in paragraphs)
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>"
    )
    override = (
        '<Override PartName="/word/document.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    )
    return zip_bytes(
        {
            "[Content_Types].xml": _CONTENT_TYPES.format(overrides=override).encode(),
            "_rels/.rels": _ROOT_RELS.format(target="word/document.xml").encode(),
            "word/document.xml": document.encode(),
        }
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xlsx_parts(sheet_xml: bytes, shared_strings: bytes | None = None, workbook_prolog: str = "") -> dict[str, bytes]:
    """The parts of a one-sheet workbook, the sheet XML (and shared strings) given as they should be."""
    overrides = (
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    )
    rels = (
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/>'
    )
    if shared_strings is not None:
        overrides += (
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.sharedStrings+xml"/>'
        )
        rels += (
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/sharedStrings" Target="sharedStrings.xml"/>'
        )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        + workbook_prolog
        + '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES.format(overrides=overrides).encode(),
        "_rels/.rels": _ROOT_RELS.format(target="xl/workbook.xml").encode(),
        "xl/workbook.xml": workbook.encode(),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships '
            'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f"{rels}</Relationships>"
        ).encode(),
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    if shared_strings is not None:
        parts["xl/sharedStrings.xml"] = shared_strings
    return parts


def sheet_xml(rows: list[list[str | int | None]], references: bool = True, extra: str = "") -> bytes:
    """A worksheet of inline strings and numbers; without references, no r= attributes at all."""
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    ]
    for number, row in enumerate(rows, 1):
        out.append(f'<row r="{number}">' if references else "<row>")
        for index, value in enumerate(row):
            ref = f' r="{chr(65 + index)}{number}"' if references else ""
            if value is None:
                if not references:
                    out.append("<c/>")
                continue
            if isinstance(value, int):
                out.append(f"<c{ref}><v>{value}</v></c>")
            else:
                out.append(f'<c{ref} t="inlineStr"><is><t>{_escape(value)}</t></is></c>')
        out.append("</row>")
    out.append(extra + "</sheetData></worksheet>")
    return "".join(out).encode()


def zip_bytes(members: dict[str, bytes], gbk_names: bool = False, level: int = 6) -> bytes:
    """A zip; with gbk_names, names are written in GBK without the UTF-8 flag, as Chinese Windows does."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in members.items():
            info = (
                _GbkInfo(name, date_time=(2020, 4, 18, 10, 0, 0))
                if gbk_names
                else zipfile.ZipInfo(name, date_time=(2020, 4, 18, 10, 0, 0))
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


class _GbkInfo(zipfile.ZipInfo):
    def _encodeFilenameFlags(self):  # noqa: N802 — zipfile's own name
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def lying_zip(name: str, data: bytes, claimed_size: int) -> bytes:
    """One deflated member whose headers claim claimed_size bytes (and that prefix's CRC)."""
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = raw.compress(data) + raw.flush()
    crc = zlib.crc32(data[:claimed_size])
    encoded = name.encode()
    local = (
        struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(packed), claimed_size, len(encoded), 0)
        + encoded
    )
    central = (
        struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            20,
            20,
            0,
            8,
            0,
            0,
            crc,
            len(packed),
            claimed_size,
            len(encoded),
            0,
            0,
            0,
            0,
            0,
            0,
        )
        + encoded
    )
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(packed), 0)
    return local + packed + central + end


def flag_encrypted(zip_data: bytes) -> bytes:
    """The same zip with the 'encrypted' bit set on every member (the data stays plain)."""
    data = bytearray(zip_data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        position = data.find(signature)
        while position != -1:
            flags = struct.unpack_from("<H", data, position + offset)[0]
            struct.pack_into("<H", data, position + offset, flags | 0x1)
            position = data.find(signature, position + 4)
    return bytes(data)
