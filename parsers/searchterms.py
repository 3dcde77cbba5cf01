"""A search query's text split into the terms it asks for, as people type them: words apart by spaces or by
Chinese and Western punctuation (“枣强县，景县” is two terms, “枣强县，” one), a phrase in quotes of either
kind kept whole (“"王家庄 村委"” asks for exactly that), and what joins the parts of an address, a date or a
number (@ . - _ + * /) kept inside a term (zqxcl@163.com, 2020-05, 0318-7221234, a masked 139****5678)."""

from __future__ import annotations

import re

# Quotes people type around a phrase: ASCII, Chinese curly quotes, corner brackets.
_PHRASE = re.compile(r'"([^"]*)"|“([^”]*)”|‘([^’]*)’|「([^」]*)」|『([^』]*)』')
# Punctuation that separates words (ASCII and the full-width forms NFKC leaves, plus CJK marks and brackets).
_SEPARATORS = re.compile(r"[\s,，、;；。.!！?？:：…()（）\[\]【】{}《》〈〉<>“”‘’\"'「」『』|~～]+")
# What may stand at a term's edge only as punctuation: stripped there, kept inside (163.com, 2020-05).
_EDGES = "@.-_+*/\\#&=%$^`"
# Spaces beside Chinese characters: Chinese parts no words by spaces, so between two Chinese characters, or a
# Chinese character and a figure, a space only lays the text out (景 县 padded to three characters' width,
# 2020 年 12 月, 完成 12 人). Punctuation still parts words (大营镇，张庄).
_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_LAYOUT_SPACES = re.compile(f"(?<=[{_HAN}0-9]) +(?=[{_HAN}])|(?<=[{_HAN}]) +(?=[0-9])")


def join_han_spaces(text: str) -> str:
    """`text` (normalised: NFKC has made every space " ") without the spaces that lay Chinese out (above), as the
    search documents hold it and a quoted phrase is compared: 景 县12 月份 is 景县12月份."""
    return _LAYOUT_SPACES.sub("", text)


def split_terms(text: str) -> list[str]:
    """The terms of a query, each without the punctuation around it; a quoted phrase is one term."""
    terms: list[str] = []
    position = 0
    for match in _PHRASE.finditer(text):
        terms += _words(text[position : match.start()])
        phrase = join_han_spaces(" ".join(next(group for group in match.groups() if group is not None).split()))
        phrase = phrase.strip(_EDGES + "，,、;；。!！?？:：…")
        if phrase:
            terms.append(phrase)
        position = match.end()
    return terms + _words(text[position:])


def _words(text: str) -> list[str]:
    words = []
    for piece in _SEPARATORS.split(_keep_inner_dots(text)):
        word = piece.replace("\ue000", ".").strip(_EDGES)
        if word:
            words.append(word)
    return words


def _keep_inner_dots(text: str) -> str:
    """A full stop between two letters or digits joins them (163.com, 2020.05, v1.2): hidden from the split."""
    return re.sub(r"(?<=[^\W_])\.(?=[^\W_])", "\ue000", text)
