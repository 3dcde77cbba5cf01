"""Archive rows as the pages show them: frozen views, with personal numbers masked for a viewer who may not
see them.

Masking is structural: `shown` is the one step every value rendered for a viewer passes through (it is the
Jinja environment's `finalize`, and the CSV export writes every cell through it), so a new page cannot forget
it. The views below mask what needs more than free-text masking (an ID column hides a malformed ID whole)
and leave out what is computed from the unmasked bytes (SHA-256, sizes): a hash of a file whose every other
byte the viewer can see would let a script try every hidden digit against it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import g, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from archive.models import Attachment, FormReadingRow, Message, PersonRow
from bot.config import Config
from bot.outgoing.digest import percent
from bot.services.scores import STATUS_NAMES
from bot.services.show import (
    ARRIVAL_SOURCES,
    COPY,
    KIND_LABELS,
    MONTH_SOURCES,
    SOURCES,
    answer_line,
    arrival_source,
    decision_line,
    kind_text,
    message_problems,
    sender_standing,
    settled_problems,
    shown_sender,
)
from bot.web.site import site
from parsers.document import text_characters
from parsers.form_layouts import FORM_COLUMNS, FORM_TITLES
from parsers.privacy import mask_cell, mask_personal
from replies.problems import problem_lines, problems_and_hints
from scoring.evidence import FINDING_LABELS, TASK_LABELS, Finding

TYPED_CHARS = 500  # of one field of a refused form, handed back to be corrected rather than typed again
SHOWN_PERSONS = 500  # rows of a registry on the page; the CSV export holds them all
_NOT_KEPT = frozenset({"serial"})  # a registry's columns read but never stored (parsers.registry): no column shown


_DECISION = re.compile(r"(更正|确认邮箱) #(\d+)")


def decision_links(text: str) -> Markup:
    """`text` with each staff decision it names (更正 #3, 确认邮箱 #1) linked to its record: who, when and why,
    and its revocation (待处理's corrections, 审计记录's senders)."""

    def linked(found: re.Match[str]) -> str:
        what, number = found.group(1), found.group(2)
        if what == "更正":
            target = url_for("queue.queue_page", _anchor=f"correction-{number}")
        else:
            target = url_for("entries.entries_page", _anchor=f"sender-{number}")
        return f'<a href="{target}">{found.group()}</a>'

    return Markup(_DECISION.sub(linked, str(escape(text))))


class Verbatim(str):
    """A value of ours that holds no personal number though it may look like one (a CSRF token): shown as is."""


def sees_personal() -> bool:
    """Whether the signed-in viewer may see personal numbers; nobody signed in may not."""
    viewer = g.get("viewer")
    return viewer is not None and viewer.sees_personal


def shown(value: object) -> object:
    """The one masking step: every value rendered for a viewer without the grant, masked."""
    if isinstance(value, Verbatim) or value is None or sees_personal():
        return value
    if isinstance(value, Markup):  # markup of ours (a macro's output): its text masked, its tags kept
        return Markup(mask_personal(str(value)))
    return mask_personal(str(value)) if isinstance(value, (str, int, float)) else value


@dataclass(frozen=True)
class Masker:
    """Masks 残疾人证号, 身份证号 and phone numbers when `hide`; shows text as it is otherwise."""

    hide: bool

    def text(self, value: object) -> str:
        text = "" if value is None else str(value)
        return mask_personal(text) if self.hide else text

    def cell(self, key: str, value: object) -> str:
        """A registry cell: ID and phone columns are masked even when malformed (too short, spaces)."""
        return mask_cell(key, value) if self.hide else "" if value is None else str(value)


def masker() -> Masker:
    return Masker(hide=not sees_personal())


def local_time(instant: datetime | None, zone: ZoneInfo, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return "" if instant is None else instant.astimezone(zone).strftime(pattern)


@dataclass(frozen=True)
class MessageRow:
    """A line of the search results."""

    id: int
    arrival: str
    kind: str
    unit: str
    month: str
    sender: str
    registered: bool
    subject: str


def message_row(message: Message, mask: Masker, zone: ZoneInfo, forms: bool = False) -> MessageRow:
    """A search's row of a message; `forms`: it carries forms (archive.search.carrying_forms)."""
    return MessageRow(
        message.id,
        local_time(message.arrival, zone),
        kind_text(message.kind, forms),
        message.unit or "",
        message.month or "",
        mask.text(message.from_addr),
        message.registered,
        mask.text(message.subject) or "（无主题）",
    )


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ReadingView:
    """One form read from an attachment: its figures (附件2), its persons (附件3–10) or its text (附件1)."""

    id: int
    attachment: int  # the attachment's ordinal
    source: str
    form: int | None
    title: str
    rows: int
    readable: bool
    table: Table | None
    total_rows: int  # rows in `table` before SHOWN_PERSONS cut it
    text: str
    problems: tuple[str, ...]
    found_beyond: int = 0  # rows past the first SHOWN_PERSONS that hold a searched term, shown after them …
    more_found: bool = False  # … and whether more do than are shown

    @property
    def size(self) -> str:
        """What it holds, as a receipt says it: 附件1's text in characters, a table in rows."""
        if not self.readable:
            return "无法读取"
        return f"正文 {text_characters(self.text)} 字" if self.form == 1 else f"{self.rows} 行"


def reading_table(reading: FormReadingRow, mask: Masker, persons: Sequence[PersonRow] | None = None) -> Table | None:
    """附件2's tasks or a registry's persons (all of them, or those given) as a table (masked), or None for
    a form without either. 百分比 is written as the receipts and the digest write it (17.9%); a registry has
    no 序号 column: the reader uses it only to find the table and keeps none, so 工作表 and 行 say where each
    person is in the workbook."""
    if reading.tasks:
        return Table(
            ("任务", "目标数", "完成数", "百分比"),
            tuple(
                (
                    TASK_LABELS.get(task, task),
                    mask.text(figures.get("target")),
                    mask.text(figures.get("done")),
                    "" if figures.get("percent") is None else percent(figures["percent"] / 100),
                )
                for task, figures in reading.tasks.items()
            ),
        )
    persons = reading.persons if persons is None else persons
    if not persons:
        return None
    columns = tuple(column for column in FORM_COLUMNS.get(reading.form or 0, ()) if column.key not in _NOT_KEPT)
    rows = tuple(
        (
            mask.text(person.sheet),
            str(person.row),
            *(mask.cell(column.key, person.fields.get(column.key, "")) for column in columns),
        )
        for person in persons
    )
    return Table(("工作表", "行", *(column.label for column in columns)), rows)


def problem_text(problem: dict | str, mask: Masker) -> str:
    if isinstance(problem, str):
        return mask.text(problem)
    where = "".join(
        part
        for part in (
            f"工作表“{problem['sheet']}” " if problem.get("sheet") else "",
            f"第 {problem['row']} 行 " if problem.get("row") else "",
            f"{problem['column']} 列 " if problem.get("column") else "",
        )
    )
    return mask.text((where.strip() + "：" if where else "") + str(problem.get("message", "")))


def reading_view(
    reading: FormReadingRow, ordinal: int, mask: Masker, shown: Sequence[PersonRow], total: int
) -> ReadingView:
    """`shown`: the first persons of the registry (at most SHOWN_PERSONS), of `total`."""
    table = reading_table(reading, mask, shown)
    return ReadingView(
        reading.id,
        ordinal,
        mask.text(reading.source),
        reading.form,
        FORM_TITLES.get(reading.form or 0, "未识别的表格"),
        reading.rows,
        reading.readable,
        table,
        total if shown else len(table.rows) if table else 0,
        mask.text(reading.text),
        tuple(mask.text(line) for line in _problem_lines(reading.problems)),
    )


def _problem_lines(problems: Sequence[Mapping]) -> list[str]:
    """A problem once, with all its places; then the hints, said as such (replies.problems.problems_and_hints)."""
    problems, hints = problems_and_hints(problems)
    return [*problem_lines(problems), *(f"提示：{hint}" for hint in hints)]


@dataclass(frozen=True)
class AttachmentView:
    ordinal: int
    filename: str
    type: str
    size: int | None  # None, like sha256 "", for a masked viewer: both are computed from the unmasked bytes
    sha256: str


@dataclass(frozen=True)
class MessageDetail:
    id: int
    subject: str
    headers: tuple[tuple[str, str], ...]
    body: str
    attachments: tuple[AttachmentView, ...]
    readings: tuple[ReadingView, ...]
    problems: tuple[str, ...]
    seen: tuple[str, ...]
    decisions: tuple[str, ...]  # the staff decisions its recognition stands on (bot.services.show.decision_line)
    settled: tuple[str, ...] = ()  # the problems a decision settled (bot.services.show.settled_problems)
    answers: tuple[tuple[str, str], ...] = ()  # what we mailed about it: (answer_line, its text), masked


def message_detail(
    message: Message,
    mask: Masker,
    zone: ZoneInfo,
    persons: Mapping[int, tuple[Sequence[PersonRow], int]],
    decisions: Sequence[dict] = (),
    mailboxes: Mapping[str, str] | None = None,
    stamp: str | None = None,
    answers: Sequence[dict] = (),
) -> MessageDetail:
    """`persons`: by reading id, the persons shown and how many the registry has (archive_pages loads them);
    `decisions`: as bot.services.show.decision_json gives them (a problem one settled is said as settled, not
    among the open ones); `mailboxes`: each mailbox's name by its key;
    `stamp`: what derives messages now (a message derived under another is said to wait: message_problems);
    `answers`: what we mailed about it (bot.services.show.answers_json)."""
    ordinals = {attachment.id: attachment.ordinal for attachment in message.attachments}
    mailboxes = mailboxes or {}
    return MessageDetail(
        id=message.id,
        subject=mask.text(message.subject) or "（无主题）",
        headers=_headers(message, mask, zone, mailboxes, decisions),
        body=mask.text(message.body_text),
        attachments=tuple(_attachment(attachment, mask) for attachment in message.attachments),
        readings=tuple(
            reading_view(reading, ordinals.get(reading.attachment_id, 0), mask, *persons.get(reading.id, ((), 0)))
            for reading in message.readings
        ),
        problems=tuple(problem_text(problem, mask) for problem in message_problems(message, stamp, decisions)),
        seen=tuple(mask.text(_sighting(seen, mailboxes, mask.hide)) for seen in message.sightings),
        decisions=tuple(mask.text(decision_line(decision)) for decision in decisions),
        settled=tuple(mask.text(problem) for problem in settled_problems(message.problems, decisions)),
        answers=tuple((mask.text(answer_line(answer)), mask.text(answer["text"])) for answer in answers),
    )


# What an attachment is, by its bytes (parsers.sniff), as an auditor reads it.
FILE_TYPES = {
    "xlsx": "Excel 工作簿 (.xlsx)",
    "xls": "Excel 97-2003 工作簿 (.xls)",
    "et": "WPS 表格 (.et)",
    "docx": "Word 文档 (.docx)",
    "doc": "Word 97-2003 文档 (.doc)",
    "wps": "WPS 文字 (.wps)",
    "pptx": "PowerPoint 演示文稿 (.pptx)",
    "ppt": "PowerPoint 97-2003 演示文稿 (.ppt)",
    "dps": "WPS 演示 (.dps)",
    "ods": "LibreOffice 表格 (.ods)",
    "odt": "LibreOffice 文档 (.odt)",
    "odp": "LibreOffice 演示文稿 (.odp)",
    "ole": "Office 97-2003 文件（类型未能识别）",
    "encrypted-office": "加密的 Office 文件（设有打开密码）",
    "pdf": "PDF",
    "zip": "ZIP 压缩包",
    "rar": "RAR 压缩包",
    "7z": "7z 压缩包",
    "png": "图片 (PNG)",
    "jpeg": "图片 (JPEG)",
    "gif": "图片 (GIF)",
    "heic": "图片 (HEIC)",
    "tnef": "Outlook 打包文件 (winmail.dat)",
    "html": "网页 (HTML)",
    "xml-spreadsheet": "Excel 2003 XML 表格",
    "text": "纯文本",
    "rtf": "RTF 文档",
    "eml": "邮件 (.eml)",
    "unknown": "未能识别",
}


def _attachment(attachment: Attachment, mask: Masker) -> AttachmentView:
    return AttachmentView(
        attachment.ordinal,
        mask.text(attachment.filename) or f"附件{attachment.ordinal}",
        FILE_TYPES.get(attachment.sniffed_type, attachment.sniffed_type),
        None if mask.hide else attachment.size,
        "" if mask.hide else attachment.sha256,
    )


def _headers(
    message: Message, mask: Masker, zone: ZoneInfo, mailboxes: Mapping[str, str], decisions: Sequence[dict]
) -> tuple[tuple[str, str], ...]:
    sender = shown_sender(message.from_name, message.from_addr)
    arrival = local_time(message.arrival, zone, "%Y-%m-%d %H:%M:%S")
    month = (
        f"{message.month}（{MONTH_SOURCES.get(message.month_source, message.month_source)}）"
        if message.month
        else "未识别"
    )
    lines = (
        ("发件人", sender),
        ("收件人", message.to_addrs),
        ("抄送", message.cc_addrs),
        ("到达时间", f"{arrival}（{ARRIVAL_SOURCES[arrival_source(message)]}）"),
        ("信头日期 (Date)", message.date_header or ""),
        ("部门邮箱", mailboxes.get(message.mailbox or "", message.mailbox or "")),
        ("单位", message.unit or "未识别"),
        ("类别", kind_text(message.kind, any(reading.form is not None for reading in message.readings))),
        ("报送月份", month),
        ("发件人计入", sender_standing(message.registered, decisions)),
        ("大小", "" if mask.hide else f"{message.size:,} 字节"),
        ("SHA-256", "" if mask.hide else message.sha256),
        ("Message-ID", message.message_id or ""),
    )
    return tuple((label, mask.text(value)) for label, value in lines if value)


def _sighting(seen, mailboxes: Mapping[str, str], hide: bool) -> str:
    """Where the message was found: the mailbox by its name, and for an import its file (only the file's name
    for a viewer without the grant: the server's folders are no business of theirs)."""
    box = mailboxes.get(seen.mailbox or "", seen.mailbox or "")
    source = SOURCES.get(seen.source, seen.source)
    copy = COPY if seen.sha256 else ""
    if seen.uid is not None:
        return f"{box} {source} {seen.folder or ''} UIDVALIDITY {seen.uidvalidity} UID {seen.uid}{copy}"
    origin = seen.origin or ""
    return f"{box} {source} {origin.replace(chr(92), '/').rsplit('/', 1)[-1] if hide else origin}{copy}"


@dataclass(frozen=True)
class FindingView:
    """An honesty finding as the 核查发现 page shows it: its kind in Chinese, its text masked."""

    unit: str
    label: str
    message: str
    message_ids: tuple[int, ...]


def finding_view(finding: Finding, mask: Masker) -> FindingView:
    return FindingView(
        finding.unit, FINDING_LABELS.get(finding.kind, finding.kind), mask.text(finding.message), finding.message_ids
    )


def correction_choices(config: Config) -> dict[str, object]:
    """What a correction may set, for its form (templates/web/_correct.html): the units, the kinds and the
    months a plan covers (a month no plan covers is refused anyway)."""
    return {"units": [unit.name for unit in config.units], "kinds": KIND_LABELS, "months": list(config.plans.months())}


def template_helpers() -> dict:
    """Names every template may use."""
    return {
        "viewer": g.get("viewer"),
        "system_name": site().config.name,
        "kind_labels": KIND_LABELS,
        "status_names": STATUS_NAMES,
        "csrf_token": lambda: Verbatim(generate_csrf()),
    }


def as_typed(fields: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """A refused form's fields as typed (each cut to TYPED_CHARS), to show it again filled in."""
    return {name: fields.get(name, "")[:TYPED_CHARS] for name in names}
