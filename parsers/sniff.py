"""Decoding bytes that lie about themselves: charsets, header encoded words, base64, HTML
bodies, zip member names, and the file type of an attachment. No email package here: plain
bytes and str in and out.

Chinese mail clients mislabel all of these: GBK text is labelled gb2312 (or utf-8, or nothing),
base64 arrives truncated, workbooks arrive as application/octet-stream, zips carry GBK names
without the UTF-8 flag; so nothing here trusts a label alone.
"""

from __future__ import annotations

import binascii
import codecs
import io
import re
import struct
import zipfile
import zlib
from html.parser import HTMLParser

import olefile

# Every label of the GB family is decoded as gb18030, a superset of all of them: a GBK-only
# character such as 镕 in a "gb2312" message is otherwise lost.
_GB_LABELS = frozenset(
    {
        "gb2312",
        "gb_2312",
        "gb_2312-80",
        "gbk",
        "cp936",
        "ms936",
        "windows-936",
        "x-gbk",
        "euc-cn",
        "x-euc-cn",
        "csgb2312",
        "gb18030",
        "chinese",
        "iso-ir-58",
    }
)
# The Big5 labels mail clients write (WHATWG's, and Python's spellings): decoded as cp950, the Big5 that
# Taiwanese Windows writes, with the ETEN extensions (碁, 裏) and €.
_BIG5_LABELS = frozenset({"big5", "big-5", "cn-big5", "csbig5", "x-x-big5", "big5-tw", "cp950", "ms950"})
# Codecs that never fail, so a mislabel can only be caught by first trying utf-8.
_SINGLE_BYTE_PREFIXES = ("iso8859", "cp125", "cp437", "cp850", "mac-", "koi8")
# Codecs whose bytes may be pure ASCII while the text is not: no ASCII fast path for them.
_NO_ASCII_SHORTCUT = frozenset(
    {
        "utf-7",
        "hz",
        "iso2022_jp",
        "iso2022_jp_2",
        "iso2022_kr",
        "utf-16",
        "utf-16-le",
        "utf-16-be",
        "utf-32",
        "utf-32-le",
        "utf-32-be",
    }
)
# A UTF-8 encoded CJK or full-width character: three bytes, lead E3..E9 or EF BC..BF.
_UTF8_CJK = re.compile(rb"[\xe3-\xe9][\x80-\xbf]{2}|\xef[\xbc-\xbf][\x80-\xbf]")
_BAD_RUNS = re.compile("\ufffd+")


def codec_for(charset: str | None) -> str | None:
    """The Python codec for a MIME charset label; gb18030 for the GB family; None if unknown."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    if label in _GB_LABELS:
        return "gb18030"
    if label in _BIG5_LABELS:
        return "cp950"
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError):
        return None
    return "gb18030" if name in ("gb2312", "gbk") else name


def decode_text(data: bytes, charset: str | None) -> tuple[str, bool]:
    """Decode bytes whose label may be wrong; (text, clean), clean meaning nothing was replaced.

    GB labels decode as gb18030. Valid UTF-8 holding CJK text is UTF-8 whatever the label says.
    Another label is kept when its decoding is mostly sound, each bad run of bytes one replacement
    character, as for GB labels (Big5 with one bad byte is Big5, not nonsense in gb18030); a missing,
    unknown or failing label tries utf-8, then gb18030, then replaces what is left.
    """
    codec = codec_for(charset)
    if codec not in _NO_ASCII_SHORTCUT and data.isascii():
        return data.decode("ascii"), True
    if codec is None or codec in ("utf-8", "ascii", "gb18030"):
        return _decode_utf8_or_gb(data, gb_label=codec == "gb18030")
    if codec.startswith(_SINGLE_BYTE_PREFIXES):
        try:
            return data.decode("utf-8"), True
        except UnicodeDecodeError:
            pass
    try:
        return data.decode(codec), True
    except UnicodeDecodeError:
        if codec.startswith(_SINGLE_BYTE_PREFIXES):
            return data.decode(codec, "replace"), False
    labelled = _mostly_sound(data, codec)
    if labelled is not None and not _is_utf8(data):
        return labelled, False
    return _decode_utf8_or_gb(data, gb_label=False)


def _mostly_sound(data: bytes, codec: str) -> str | None:
    """The text under a label whose strict decoding failed, when few bytes were bad: at most one bad run
    in ten characters (and one in any text); each bad run becomes one replacement character."""
    try:
        text = _BAD_RUNS.sub("\ufffd", data.decode(codec, "replace"))
    except (LookupError, UnicodeError):
        return None
    return text if text.count("\ufffd") <= 1 + len(text) // 10 else None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_utf8_or_gb(data: bytes, gb_label: bool) -> tuple[str, bool]:
    """UTF-8 if valid (under a GB label only when it holds CJK text), else gb18030.

    UTF-8 that is valid and holds CJK text up to its first error is damaged UTF-8, not GBK,
    unless the label says GB; the last resort replaces bad bytes in whichever applies.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        error_at = err.start
    else:
        if not gb_label or _UTF8_CJK.search(data):
            return text, True
        error_at = 0
    damaged_utf8 = error_at > 0 and _UTF8_CJK.search(data, 0, error_at) is not None
    if damaged_utf8 and not gb_label:
        return data.decode("utf-8", "replace"), False
    try:
        return data.decode("gb18030"), True
    except UnicodeDecodeError:
        return data.decode("utf-8" if damaged_utf8 else "gb18030", "replace"), False


_ENCODED_WORD = re.compile(r"=\?([^?\s]*)\?([bBqQ])\?([^?]*)\?=")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")


def decode_words(value: str, declared: str | None = None) -> str:
    """A raw header value as text: RFC 2047 words, adjacent words of one charset joined as bytes
    before decoding (so a character split between two words survives); whitespace between
    words dropped; plain runs kept, their 8-bit bytes (surrogate escapes) decoded, in the
    `declared` charset of the message's parts when it fits them."""
    text = _LINE_BREAKS.sub("", value).replace("\t", " ")
    if "=?" not in text:
        return _decode_raw(text, declared).strip()
    out: list[str] = []
    pending = bytearray()
    pending_charset: str | None = None
    pos = 0
    for word in _ENCODED_WORD.finditer(text):
        gap = text[pos : word.start()]
        charset = word.group(1).split("*", 1)[0].lower()
        ends_run = charset != pending_charset or (gap and not gap.isspace())
        if pending_charset is not None and ends_run:
            out.append(decode_text(bytes(pending), pending_charset)[0])
            pending.clear()
        if gap and not (gap.isspace() and pending_charset is not None):
            out.append(_decode_raw(gap, declared))
        pending += _encoded_word_bytes(word.group(2), word.group(3))
        pending_charset = charset
        pos = word.end()
    if pending_charset is not None:
        out.append(decode_text(bytes(pending), pending_charset)[0])
    out.append(_decode_raw(text[pos:], declared))
    return "".join(out).strip()


def _encoded_word_bytes(encoding: str, payload: str) -> bytes:
    data = payload.encode("utf-8", "surrogateescape")
    if encoding in "bB":
        return decode_base64_lenient(data)[0]
    return binascii.a2b_qp(data, header=True)


def _decode_raw(text: str, declared: str | None = None) -> str:
    """Plain header text; compat32 keeps 8-bit bytes as surrogate escapes, decoded here: valid UTF-8
    as UTF-8, else in a declared charset other than the GB family's when it decodes soundly (a Big5
    mail's raw subject is not GBK), else guessed (UTF-8, then gb18030)."""
    if text.isascii():
        return text
    data = text.encode("utf-8", "surrogateescape")
    if codec_for(declared) not in (None, "utf-8", "ascii", "gb18030") and not _is_utf8(data):
        return decode_text(data, declared)[0]
    return decode_text(data, None)[0]


# What changes how a file name is shown without being seen: control characters, bidi overrides and isolates
# (附件3\u202eslx.exe shows as 附件3exe.xls), zero-width characters.
_UNSEEN = re.compile("[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def visible_name(name: str) -> str:
    """A file name as it is shown: without the characters that change how it reads (_UNSEEN)."""
    return _UNSEEN.sub("", name)


def decode_zip_name(info: zipfile.ZipInfo) -> str:
    """A zip member's name (visible_name): zipfile reads names without the UTF-8 flag (bit 0x800) as cp437,
    but Chinese Windows zippers write them in GBK. An Info-ZIP Unicode path field wins."""
    return visible_name(_zip_name(info))


def _zip_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & 0x800:
        return info.filename
    unicode_name = _unicode_path_extra(info)
    if unicode_name is not None:
        return unicode_name
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:  # the ZipFile was opened with an explicit metadata_encoding
        return info.filename
    return decode_text(raw, None)[0]


def _unicode_path_extra(info: zipfile.ZipInfo) -> str | None:
    """The UTF-8 name in an Info-ZIP Unicode Path extra field (0x7075), if its CRC matches."""
    extra = info.extra
    pos = 0
    while pos + 4 <= len(extra):
        field_id, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        pos += 4 + size
        if field_id != 0x7075 or len(body) < 5 or body[0] != 1:
            continue
        try:
            original = info.orig_filename.encode("cp437")
        except UnicodeEncodeError:
            return None
        if struct.unpack_from("<I", body, 1)[0] != zlib.crc32(original):
            return None
        try:
            return body[5:].decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_NOT_ALPHABET = bytes(b for b in range(256) if b not in _B64_ALPHABET)
_B64_WELL_FORMED = _B64_ALPHABET + b"=\r\n\t "


def decode_base64_lenient(raw: bytes) -> tuple[bytes, bool]:
    """Decode as much base64 as there is; (data, damaged). Stray characters are dropped, a
    dangling character is cut, missing padding is added; chunks padded mid-stream are joined."""
    damaged = bool(raw.translate(None, _B64_WELL_FORMED))
    body = raw.rstrip(b"\r\n\t =")
    padded = len(body) != len(raw.rstrip(b"\r\n\t "))
    groups = body.split(b"=") if b"=" in body else [body]
    decoded = []
    for index, group in enumerate(groups):
        clean = group.translate(None, _B64_NOT_ALPHABET)
        extra = len(clean) % 4
        if extra == 1:
            clean, damaged = clean[:-1], True
        elif extra:
            damaged = damaged or (index == len(groups) - 1 and not padded)
            clean += b"=" * (4 - extra)
        decoded.append(binascii.a2b_base64(clean))
    return b"".join(decoded), damaged


class _HtmlText(HTMLParser):
    """Visible text of an HTML body; links keep their target, which a download-link
    message (163's 超大附件) needs."""

    _BLOCKS = frozenset(
        {
            "br",
            "p",
            "div",
            "tr",
            "li",
            "table",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "hr",
            "ul",
            "ol",
            "dd",
            "dt",
        }
    )
    _HIDDEN = frozenset({"script", "style", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0
        self._links: list[tuple[int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.chunks.append("\n")
        elif tag in ("td", "th"):
            self.chunks.append(" ")
        elif tag == "a":
            self._links.append((len(self.chunks), dict(attrs).get("href") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.chunks.append("\n")
        elif tag == "a" and self._links:
            start, href = self._links.pop()
            if href.startswith(("http://", "https://", "ftp://")) and href not in "".join(self.chunks[start:]):
                self.chunks.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.chunks).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_SIMPLE_MAGICS = (
    (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    # Outlook's TNEF (winmail.dat, application/ms-tnef): a mail sent in Outlook's RTF format packs its
    # attachments into it, and no other mail program opens it
    (b"\x78\x9f\x3e\x22", "tnef"),
    (b"{\\rtf", "rtf"),  # Rich Text, which Word and WPS save as "RTF 格式" (and old systems export named .doc)
)
# An ISO media file (ftyp box at byte 4) whose brand is HEIF's: an iPhone's photo (.heic)
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1")
# Excel 2003's XML spreadsheet (SpreadsheetML), which government systems export and name .xls: Excel and WPS open
# it, calamine does not
_XML_SPREADSHEET = re.compile(
    rb"\s*<\?xml\b.*?(?:progid=\"Excel\.Sheet\"|urn:schemas-microsoft-com:office:spreadsheet)", re.S
)
_HTML_START = re.compile(rb"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta)\b", re.I | re.S)
_EML_FIELD = re.compile(
    rb"(?:received|return-path|from|to|subject|date|message-id|mime-version|delivered-to)"
    rb":[ \t]",
    re.I,
)
_HEADER_LINE = re.compile(rb"[!-9;-~]+:|[ \t]")
# Bytes that occur in text (deleting them leaves only the control bytes text never holds).
_TEXT_BYTES = bytes(b for b in range(256) if b >= 32 and b != 127 or b in (9, 10, 12, 13, 27))


def sniff_type(data: bytes, filename: str = "") -> str:
    """A short type code from the bytes themselves; the file name only tells .et from .xls, .wps from
    .doc and .dps from .ppt, which share their container formats."""
    if not data:
        return "unknown"
    head = data[:16]
    if head.startswith(_OLE_MAGIC):
        return _sniff_ole(data, filename)
    if head.startswith(_ZIP_MAGICS):
        return _sniff_zip(data)
    if b"%PDF-" in data[:1024]:
        return "pdf"
    for magic, code in _SIMPLE_MAGICS:
        if head.startswith(magic):
            return code
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "heic"
    sample = data[:4096].removeprefix(b"\xef\xbb\xbf")
    if _HTML_START.match(sample):
        return "html"
    if _XML_SPREADSHEET.match(sample):
        return "xml-spreadsheet"
    if _looks_like_eml(sample):
        return "eml"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")) or not sample.translate(None, _TEXT_BYTES):
        return "text"
    return "unknown"


def _sniff_ole(data: bytes, filename: str) -> str:
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            names = {entry[0].lower() for entry in ole.listdir(streams=True, storages=True)}
    except Exception:  # olefile raises many kinds on a damaged file, even RecursionError
        return "ole"  # an OLE2 container we cannot list is still an OLE2 container
    if "encryptedpackage" in names:
        return "encrypted-office"
    if "workbook" in names or "book" in names:
        return "et" if suffix == "et" else "xls"
    if "worddocument" in names:
        return "wps" if suffix == "wps" else "doc"
    if "powerpoint document" in names:  # WPS 演示 saves its .dps in PowerPoint 97's format
        return "dps" if suffix == "dps" else "ppt"
    return "ole"


# An OpenDocument file's first member is "mimetype", stored, naming its type (LibreOffice's own formats).
_ODF_TYPES = {
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}


def _sniff_zip(data: bytes) -> str:
    """Decide from the member names only: the central directory, or the local headers of a
    zip cut short; nothing is decompressed but an OpenDocument file's type, a few bytes."""
    if code := _odf_type(data):
        return code
    typed = b""  # an OpenDocument file's type, read from its "mimetype" member where that is not stored first
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if {"mimetype", "content.xml"} <= names and archive.getinfo("mimetype").file_size <= 100:
                typed = archive.read("mimetype")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError, zlib.error):
        # cut short, or names flagged UTF-8 that are not (UnicodeDecodeError is a ValueError)
        names = set()
        if b"xl/workbook.xml" in data[: 1 << 20]:
            names.add("xl/workbook.xml")
        if b"word/document.xml" in data[: 1 << 20]:
            names.add("word/document.xml")
    if code := _odf_code(typed):
        return code
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx"
    if "word/document.xml" in names:
        return "docx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    return "zip"


def _odf_type(data: bytes) -> str | None:
    """An OpenDocument file's type from its first member, "mimetype", stored (method 0) as the format asks."""
    if data[30:38] != b"mimetype" or data[26:28] != b"\x08\x00" or data[8:10] != b"\x00\x00":
        return None
    size, start = struct.unpack("<I", data[18:22])[0], 38 + struct.unpack("<H", data[28:30])[0]
    return _odf_code(data[start : start + min(size, 100)])


def _odf_code(mimetype: bytes) -> str | None:
    """The type code of an OpenDocument mimetype, its template's too (.ots is an .ods to us)."""
    return _ODF_TYPES.get(mimetype.removesuffix(b"-template"))


def _looks_like_eml(sample: bytes) -> bool:
    """True when the sample starts with a block of header lines naming a common mail field."""
    end = sample.find(b"\n\n")
    crlf_end = sample.find(b"\r\n\r\n")
    if crlf_end != -1 and (end == -1 or crlf_end < end):
        end = crlf_end
    if end <= 0:
        return False
    lines = sample[:end].splitlines()
    if len(lines) < 2 or not all(_HEADER_LINE.match(line) for line in lines):
        return False
    return any(_EML_FIELD.match(line) for line in lines)
