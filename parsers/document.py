"""附件1 进展情况报告: the text of a .docx (word/document.xml through defusedxml), of a .doc or .wps by
catdoc (parsers/wordtext.py). A 附件1 counts as arrived whatever its format (scoring.evidence.FormArrival),
its text read or not."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeTree
from defusedxml.common import DefusedXmlException

from parsers.form_layouts import FORM_TITLES, form_from_name
from parsers.forms import TEXT_UNREAD, FormReading, Problem, unreadable
from parsers.months import month_in
from parsers.records import Unit, fold
from parsers.safety import Budget, Limits, Refused, check_directory, entity_refusal, read_member
from parsers.unit_names import find_unit
from parsers.wordtext import word_binary_text

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_PROGRESS = re.compile(r"进展情况报告|目标任务进展情况|任务进展情况")
_BRIEFING = re.compile(r"专项信息|简报")
_PROGRESS_BYTES = tuple(
    word.encode(codec) for word in ("进展情况报告", "目标任务进展情况") for codec in ("utf-16-le", "gb18030", "utf-8")
)


_ATTACHMENT_WORD = re.compile(r"附件")


def _named_form(filename: str) -> int | None:
    """The form a document's name names: by number ("附件3"), or by a form's title words only when the
    name is a table's ("…登记表.doc"). An article's headline shares title words with the forms
    (“…举办实用技术培训班.docx”), and a briefing article's name never names a form."""
    folded = fold(filename)
    if _BRIEFING.search(folded):
        return None
    if _ATTACHMENT_WORD.search(folded) or "表" in folded:
        return form_from_name(filename)
    return None


def read_docx(
    source: str, filename: str, data: bytes, units: Sequence[Unit], year: int, limits: Limits, budget: Budget
) -> FormReading | None:
    """附件1's text, or None when the document is not a progress report (a briefing article)."""
    text = docx_text(filename, data, limits, budget)
    head = fold(text[:300])
    form = _named_form(filename)
    if form is None and not _BRIEFING.search(fold(filename)) and _PROGRESS.search(head):
        form = 1
    if form != 1:
        return _workbook_as_document(source, filename, form) if form else None
    unit = find_unit(text[:300], units) or find_unit(filename, units)
    month = month_in(text[:300], year) or month_in(filename, year)  # unfolded: its lines keep numbers apart
    return FormReading(source, 1, unit.name if unit else None, month, 0, text=text)


def docx_text(filename: str, data: bytes, limits: Limits, budget: Budget) -> str:
    """Paragraphs in document order (table cells included), runs joined, one paragraph a line."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise Refused("unreadable", f"“{filename}”不是完整的 Word 文件，请重新保存后再发送") from error
    with archive:
        check_directory(archive, filename, limits, budget)
        try:
            info = archive.getinfo("word/document.xml")
        except KeyError as error:
            raise Refused("unreadable", f"“{filename}”中没有正文，请重新保存后再发送") from error
        xml = read_member(data, info, filename, limits, budget)
    try:
        return "\n".join(_paragraphs(xml)).strip()
    except DefusedXmlException as error:
        raise entity_refusal(filename) from error
    except SafeTree.ParseError as error:
        raise Refused("unreadable", f"“{filename}”的正文已损坏，请用 Word 或 WPS 打开后重新保存再发送") from error


def _paragraphs(xml: bytes) -> Iterator[str]:
    """Each paragraph's text as the parse streams past it, the paragraph then dropped from the tree: a
    document.xml of 100 MB (the unzip cap) takes its own size in memory, not the ~13 times a whole tree
    would. A paragraph inside another (a text box) is a line of its own, before the one that holds it."""
    open_paragraphs = 0
    parents: list[Element] = []
    for event, node in SafeTree.iterparse(io.BytesIO(xml), events=("start", "end")):
        if event == "start":
            open_paragraphs += node.tag == f"{_W}p"
            parents.append(node)
            continue
        parents.pop()
        if node.tag == f"{_W}p":
            open_paragraphs -= 1
            yield "".join(_run_text(node))
        elif open_paragraphs:
            continue  # part of a paragraph still open: read when it ends
        if parents:
            del parents[-1][-1]  # the node, the last child its parent has so far


def _run_text(paragraph: Element) -> Iterator[str]:
    for node in paragraph.iter():
        if node.tag == f"{_W}t":
            yield node.text or ""
        elif node.tag == f"{_W}tab":
            yield "\t"
        elif node.tag in (f"{_W}br", f"{_W}cr"):
            yield "\n"


def read_word_binary(
    source: str, filename: str, data: bytes, kind: str, units: Sequence[Unit], year: int
) -> FormReading | None:
    """A .doc/.wps progress report: recognised by its name, its text or the words 进展情况 inside; its
    text read by catdoc (parsers/wordtext.py) when it can be."""
    text = word_binary_text(data) or ""
    form = _named_form(filename)
    if (
        form is None
        and not _BRIEFING.search(fold(filename))
        and (_PROGRESS.search(fold(text[:300])) or any(word in data for word in _PROGRESS_BYTES))
    ):
        form = 1
    if form != 1:
        return _workbook_as_document(source, filename, form) if form else None
    unit = find_unit(text[:300], units) or find_unit(filename, units)
    month = month_in(text[:300], year) or month_in(filename, year)
    if text:
        return FormReading(source, 1, unit.name if unit else None, month, 0, text=text)
    note = Problem(
        None,
        None,
        None,
        TEXT_UNREAD,
        f"附件1“{filename}”能够接收（不影响计分），但系统读不出其中的文字（检索不到其内容）；"
        f"今后如方便，请在 Word 或 WPS 中“另存为”.docx 格式报送，无需为此重发",
    )
    return FormReading(source, 1, unit.name if unit else None, month, 0, problems=(note,))


def text_characters(text: str | None) -> int:
    """A report's length as a clerk counts it (字数): its characters, spaces and line breaks not counted."""
    return sum(not char.isspace() for char in text or "")


def _workbook_as_document(source: str, filename: str, form: int) -> FormReading:
    message = (
        f"“{filename}”是 Word 文档，但附件{form}{FORM_TITLES[form]}应使用 Excel 表格模板报送；"
        f"请把内容填入 Excel 模板后重新发送"
    )
    return unreadable(source, message, "not-a-workbook", form)
