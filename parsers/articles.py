"""A briefing's article files, by what they say: "the same article sent twice counts once" (SPEC), and a clerk who
sends it again has most often saved it again (WPS and Word stamp the save time into a .docx), or sent the .doc
beside the .docx. An article file whose text can be read is known by that text, spacing aside; one that cannot
(a PDF, a broken file, no catdoc) by its bytes (archive.evidence.article_keys)."""

from __future__ import annotations

import hashlib
import re

from parsers.document import docx_text
from parsers.errors import SenderError
from parsers.records import Attachment, ParsedMessage
from parsers.safety import DEFAULT_LIMITS, Budget
from parsers.sniff import decode_text
from parsers.wordtext import word_binary_text

# What an article file is (SPEC: .doc/.docx/.wps/.pdf/.txt), by sniffed type or by name; text only by a name of
# no other kind (a contact card, 王芳.vcf, or a calendar's .ics is text too, and no article).
ARTICLE_TYPES = ("doc", "docx", "wps", "pdf")
ARTICLE_SUFFIXES = (".doc", ".docx", ".wps", ".pdf", ".txt")
# Fewer characters than this say too little to tell two articles apart (an empty template, a title alone).
TEXT_KEY_CHARS = 20
# A short mail text pointing at files (信息见附件，请审阅), asking to read what it does not hold
# (报送本月信息一篇，请审阅指正) or at a download (百度网盘, 提取码) is the covering note of an article left off, not
# the article; an article's own "照片见附件" in a text of some length is not. Its length is counted without links.
_COVERING_NOTE = re.compile(r"附件|查收|审阅|指正|请阅|网盘|云盘|提取码")  # not 审核, 下载: news of 证审核, 下载申请表
_NOTE_CHARS = 60
LINK = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.I)  # a link in a mail's text, which is no words of it
_SPACE = re.compile(r"\s+")
_SUFFIX = re.compile(r"\.[a-z0-9]{1,5}$")  # a file name's extension: not "2020.12稿件"'s dot


def is_article(filename: str, sniffed_type: str) -> bool:
    name = filename.lower()
    return (
        sniffed_type in ARTICLE_TYPES
        or name.endswith(ARTICLE_SUFFIXES)
        or (sniffed_type == "text" and _SUFFIX.search(name) is None)
    )


def text_keys(parsed: ParsedMessage) -> tuple[tuple[int, str], ...]:
    """(position, key) of each article file of the message whose text can be read: "text:" and the SHA-256
    of the text without its spacing. Run where the readers run (the reader sandbox), as it reads the file."""
    keys = []
    for n, attachment in enumerate(parsed.attachments):
        text = _text(attachment) if is_article(attachment.filename, attachment.sniffed_type) else None
        if text and (key := text_key(text)) is not None:
            keys.append((n, key))
    return tuple(keys)


def text_key(text: str) -> str | None:
    """An article's key by its text without its spacing ("text:" and its SHA-256), whether it came as a file or
    in a mail's body; None when the text is too short to tell apart."""
    folded = _SPACE.sub("", text)
    return "text:" + hashlib.sha256(folded.encode("utf-8")).hexdigest() if len(folded) >= TEXT_KEY_CHARS else None


def body_article_key(text: str) -> str | None:
    """The key of the article a briefing's mail text holds (text_key), None when it holds none: a few words (a
    link alone), or a short note pointing at files or a download (信息见附件，请审阅: the article was left off)."""
    words = len(_SPACE.sub("", LINK.sub("", text)))
    if words < TEXT_KEY_CHARS or (words < _NOTE_CHARS and _COVERING_NOTE.search(text)):
        return None
    return text_key(text)


def _text(attachment: Attachment) -> str | None:
    kind, name = attachment.sniffed_type, attachment.filename.lower()
    try:
        if kind == "docx" or (kind == "zip" and name.endswith(".docx")):
            return docx_text(
                attachment.filename, attachment.data, DEFAULT_LIMITS, Budget(DEFAULT_LIMITS.max_unzipped_bytes)
            )
        if kind in ("doc", "wps") or name.endswith((".doc", ".wps")):
            return word_binary_text(attachment.data)
        if kind == "text" or name.endswith(".txt"):
            return decode_text(attachment.data, None)[0]
    except SenderError:  # a file that cannot be read is known by its bytes
        return None
    return None
