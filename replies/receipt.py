"""The receipt (回执) a sender gets: whether one is owed, and everything it says."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from parsers.articles import LINK
from parsers.derive import UNPLANNED_MARK
from parsers.form_layouts import form_list
from parsers.months import month_ranges, report_month
from parsers.notices import answers_invitation, carries_invitation
from parsers.recognize import (
    UNIT_CONFLICT_MARK,
    answers_our_subject,
    asks,
    is_read_receipt,
    names_a_package,
    normalize,
    strip_prefixes,
)
from parsers.records import counted_month
from replies.mismatch import form_mismatch, receipt_line
from scoring.packages import PackageStatus
from scoring.settings import month_label

NO_REPLY = re.compile(r"^(no-?reply|do-?not-?reply|noreply|mailer-daemon|postmaster|bounces?)[+@.-]", re.I)
# Files left on a server instead of attached: a mail service's 超大附件 (QQ, 163/126), a cloud drive, a shared
# online document. Each: what the receipt calls it, the words a clerk or the service writes (matched on the
# clerk's own text, normalize()d: a quoted receipt of ours says “超大附件” too), and the service's own link
# (matched anywhere: the service puts it below the quoted mail, and no mail of ours holds one).
DOWNLOAD_LINKS = (
    (
        "“超大附件”下载链接",
        re.compile(r"超大附件|大附件下载|文件中转站|large-?(?:file)?attachment", re.I),
        re.compile(r"mail\.qq\.com/cgi-bin/ftn|ftnExs_|large-attachment|huge-attachment|dashi\.163\.com", re.I),
    ),
    (
        "网盘（百度网盘等）的分享链接",
        re.compile(r"网盘|云盘|百度云|微云|提取码|提取密码"),
        re.compile(
            r"pan\.baidu\.com|yun\.baidu\.com|aliyundrive\.com|alipan\.com|weiyun\.com|cloud\.189\.cn|"
            r"caiyun\.139\.com|yun\.139\.com|lanzou\w*\.com|pan\.quark\.cn|123pan\.com|cowtransfer\.com|"
            r"wenshushu\.cn",
            re.I,
        ),
    ),
    (
        "在线文档（金山文档、腾讯文档等）的分享链接",
        re.compile(r"金山文档|WPS(?:分享|云文档|云盘)|腾讯文档|石墨文档|飞书文档", re.I),
        re.compile(r"kdocs\.cn|docs\.wps\.cn|wps\.cn/l/|docs\.qq\.com|shimo\.im|feishu\.cn", re.I),
    ),
)
# Where the clerk's own words end: a signature's separator ("--", "——", a line of "_"), a 签名 line, a quoted
# mail's header (QQ's "---- 原始邮件 ----", Outlook's "发件人:", "在 … 写道：", "On … wrote:").
_OWN_TEXT_ENDS = re.compile(
    r"^[ \t\u3000]*(?:[-_—–]{2,}|[\[【(（]?(?:个人)?签名档?(?:[\]】)）]|[ \t]*[:：]|[ \t]*$)|(?:发件人|from)[ \t]*[:：]"
    r"|.*(?:写道|wrote)[ \t]*[:：][ \t]*$)",
    re.I | re.M,
)
_QUOTED_LINE = re.compile(r"^[ \t]*>.*$", re.M)
# What a monthly package is sent as: workbooks (WPS's .et), archives (WinRAR and 7-Zip too), and Word files
# (附件1; WPS's .wps), unless the mail is a briefing's: its article is a Word file too.
PACKAGE_FILES = frozenset({"xlsx", "xlsm", "xls", "et", "ods", "zip", "rar", "7z"})
WORD_FILES = frozenset({"docx", "doc", "wps", "odt"})
_BRIEFING_WORDS = ("专项信息", "简报")
ANSWERED_KINDS = ("report", "briefing", "reply", "other")
# Why a briefing's mail counts no article: sent before; another unit's mail brought it first; it holds none.
Uncounted = Literal["repeat", "copied", "no-article"]
# Our receipt's subject answered back ("Re: 回执：冀州区6月份报表"): its receipt is the first one's again.
_OUR_RECEIPT_SUBJECT = re.compile(r"^\s*(?:(?:re|回复|答复|回覆)\s*[:：]\s*)*回执\s*[:：]\s*", re.I)


@dataclass(frozen=True)
class FileFacts:
    """One form read from an attachment (or the attachment itself when no form was found)."""

    source: str
    form: int | None
    readable: bool
    rows: int
    done: dict[str, int | None] | None = None
    problems: tuple[str, ...] = ()
    characters: int = 0  # 附件1: the characters of its text that was read (0: none could be read)
    unit: str | None = None  # as the form itself names it (its title, its 填报单位 row)
    month: str | None = None
    no_form: bool = False  # an attachment that holds no form at all; `problems` says why (parsers.inspection)
    notes: tuple[str, ...] = ()  # hints that ask nothing (parsers.forms.NOTE_CODES), said apart from problems
    locked: bool = False  # a password keeps it shut (scoring.evidence.FormArrival.locked: a 附件1 so counts not)

    @property
    def received(self) -> bool:
        """Whether the file gives its form, as scoring counts it: readable, or a 附件1 not locked by a password."""
        return self.form is not None and (self.readable or (self.form == 1 and not self.locked))


@dataclass(frozen=True)
class MessageFacts:
    id: int
    kind: str
    unit: str | None
    month: str | None
    registered: bool
    sender: str | None
    subject: str
    message_id: str | None
    references: tuple[str, ...]
    arrival: datetime
    body_text: str
    attachment_names: tuple[str, ...]
    files: tuple[FileFacts, ...] = ()
    problems: tuple[str, ...] = ()  # what the sender is told of the mail as a whole (archive.owed.message_facts)
    month_source: str = "subject"  # where `month` was read: "subject", "attachment" or "arrival"
    answers_ours: bool = False  # its In-Reply-To names one of our own outgoing mails (archive.owed)
    # False: neither a server's time nor a Date header (an imported file); `arrival` is when it was archived
    arrival_known: bool = True


@dataclass(frozen=True)
class Receipt:
    """A receipt to send: to whom, the subject, threading headers, and the template's context."""

    to: str
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]
    context: dict[str, Any] = field(default_factory=dict)


def addressable(sender: str | None, own_addresses: frozenset[str]) -> bool:
    """Whether anything of ours may be sent to `sender`: an address, neither one of our own mailboxes (staff's
    mail, a staff forward) nor a no-reply one (RFC 3834). Receipts and 核实通知 alike."""
    address = (sender or "").strip().lower()
    return bool(address) and address not in own_addresses and not NO_REPLY.match(address)


def reply_owed(
    facts: MessageFacts, own_addresses: frozenset[str], now: datetime, max_age: timedelta | None
) -> str | None:
    """Which reply a stored message is owed: "receipt", "selfcheck" (a 自查 mail: the inspection of its files)
    or None. RFC 3834: never to machine mail, lists, bounces, ourselves or no-reply; never for old mail found
    on a first poll (older than `max_age` when archived); a receipt never to unregistered senders, whereas
    anyone may ask for a 自查 (a clerk's own address too): its answer tells nothing but what their own
    files say. How many replies one address gets an hour is the sender's business: an owed reply over the
    limit waits, it is never dropped. Mail that carries no package and answers one of our own mails (threaded
    under it, or under its subject: a mail rule's or an OA system's answer, a read receipt) is never
    answered, or two robots would answer each other without end (no mail of ours carries a file), nor is a read
    receipt (an MDN, whatever its subject; one carrying a package is that package's mail, no read receipt:
    parsers.recognize.is_read_receipt) or a calendar invitation or an answer to one ("已接受: …", its calendar
    data lost or not: parsers.notices.answers_invitation): none is a submission, nor one failed; a reply
    is answered when it carries a package (forms, or files a package is sent as: a package sent by pressing
    回复 on the notice, a corrected file sent back under our receipt), or a download link instead of one.
    Mail of unknown age (an imported file with neither a Received nor a Date header) is not answered
    either: it may be years old, and a receipt would date it by its import."""
    if not facts.arrival_known or (max_age is not None and facts.arrival < now - max_age):
        return None
    if not addressable(facts.sender, own_addresses):
        return None
    if facts.kind == "selfcheck":
        return "selfcheck"
    if facts.kind not in ANSWERED_KINDS or not facts.registered or facts.unit is None:
        return None
    package = carries_package(facts)
    if not package and (facts.answers_ours or answers_our_subject(facts.subject)):
        return None  # an answer to our own mail: people read what it says (replies.attention)
    if is_read_receipt(facts.kind, facts.subject, facts.body_text) or (
        not package
        and (
            carries_invitation(facts.body_text, facts.attachment_names)
            or answers_invitation(strip_prefixes(facts.subject)[0])
        )
    ):
        return None  # a read receipt (as recognition decided it) or a meeting: no submission, nor failed one
    if facts.kind == "reply" and not package and download_link(facts.body_text) is None:
        return None  # a reply to a person or a notice: people answer those
    if facts.kind == "other" and not failed_submission(facts):
        return None  # a question or a letter: people answer those
    return "receipt"


# What of a message's own problems (parsers.derive, parsers.recognize) its sender is told in the receipt: its unit
# not in its month's plan year, its subject naming another unit than its registered sender's.
SENDER_TOLD_MARKS = (UNPLANNED_MARK, UNIT_CONFLICT_MARK)


def told_to_sender(problem: str) -> bool:
    """Whether one of a message's own problems goes into its receipt (archive.owed.message_facts): the others
    are for staff (an unregistered sender is sent no receipt at all)."""
    return any(mark in problem for mark in SENDER_TOLD_MARKS)


def carries_forms(facts: MessageFacts) -> bool:
    """Whether any attachment was recognised as a form (a workbook 附件2–10 or 附件1), readable or not."""
    return any(f.form for f in facts.files)


def carries_package(facts: MessageFacts) -> bool:
    """Whether the mail carries a package, read or not: a form, or a file a package is sent as."""
    return carries_forms(facts) or package_attached(facts.subject, facts.attachment_names)


def package_attached(subject: str, names: Iterable[str]) -> bool:
    """Whether any attachment, by its name, is a file a monthly package is sent as (a workbook, an archive, a
    Word file but in a briefing's mail), whether or not a form could be read from it."""
    extensions = {normalize(name).lower().rpartition(".")[2] for name in names}
    if extensions & PACKAGE_FILES:
        return True
    rest, _ = strip_prefixes(subject)
    return bool(extensions & WORD_FILES) and not any(word in rest for word in _BRIEFING_WORDS)


def download_link(body: str) -> str | None:
    """What the mail's files were left on instead of attached (DOWNLOAD_LINKS: "“超大附件”下载链接", …), or None."""
    own = normalize(own_text(body))
    for label, words, links in DOWNLOAD_LINKS:
        if links.search(body) or words.search(own):
            return label
    return None


def own_text(body: str) -> str:
    """The sender's own words in a mail's text: before a signature or a quoted mail, without the lines
    quoted with ">" and without links (a link's "?k=1" asks nothing)."""
    end = _OWN_TEXT_ENDS.search(body)
    return LINK.sub(" ", _QUOTED_LINE.sub("", body[: end.start()] if end else body))


def asks_question(body: str) -> bool:
    """Whether the sender's own words ask something (a signature's "您满意吗？" does not)."""
    return asks(own_text(body))


def failed_submission(facts: MessageFacts) -> bool:
    """Attachments with no readable form, a download link instead of (or beside) the attachments, or a
    package's own subject with nothing attached (its files forgotten)."""
    if download_link(facts.body_text) is not None:
        return True
    if _files_forgotten(facts):
        return True
    return bool(facts.attachment_names) and not any(f.received for f in facts.files)


def _files_forgotten(facts: MessageFacts) -> bool:
    """A package sent without its files: nothing attached, the subject a package's own, and the sender's own
    words asking nothing (a question is for people to answer; a signature or a quoted mail is not theirs)."""
    return (
        not facts.attachment_names
        and names_a_package(facts.subject, facts.arrival)
        and not asks_question(facts.body_text)
    )


def receipt_for(
    facts: MessageFacts,
    packages: Sequence[PackageStatus],
    briefing_place: tuple[int, int] | None,
    briefings_needed: int,
    judged: Sequence[tuple[str, datetime]] = (),
    month_notes: Sequence[str] = (),
    settled: bool = False,
    uncounted: Uncounted = "repeat",
) -> Receipt:
    """The receipt's content; `packages` are the unit's packages as known now of the months the mail's forms
    count for (counted_months: one, or each of 7、8月份报表's), `month_notes` what is said of those months to a
    package (no plan reports them; their year is closed), `settled` that every one of those months is a closed
    year's (no file sent again would count: nothing is asked for again), `briefing_place` the places of a briefing's
    articles among the unit's counted articles of the month (None: none counts, `uncounted` saying why: "repeat", sent
    before; "copied", another unit's mail brought one first, which a clerk who never sent it cannot read "此前报送"
    as; "no-article", the mail holds none, its text a note pointing at files left off); `judged`, the months whose
    end task completion is judged at, with that instant (a 附件2 that came after is told it does not count there:
    figures_too_late).
    Each attachment that holds no form is listed with why (a .rar, a picture, Outlook's winmail.dat), except
    a briefing's: its article files are no forms and need none."""
    if facts.kind == "briefing":
        facts = replace(facts, files=tuple(f for f in facts.files if not f.no_form))
    elif facts.kind == "reply":  # one carrying a package is one (its forms count as a package's); else a link
        facts = replace(facts, kind="report" if carries_package(facts) else "other")
    arrived = bool(packages) and not any(package.forms_with("missing") for package in packages)
    resend = None if settled and facts.kind == "report" else _resend_advice(facts, arrived)
    doubted = any(form_mismatch(facts, file) for file in facts.files)
    times = [(package, *timeliness(facts, package, settled, doubted)) for package in packages]
    context = {
        "unit": facts.unit,
        "month": facts.month,
        "months": [package.month for package in packages] or ([facts.month] if facts.month else []),
        "kind": facts.kind,
        "arrival": facts.arrival,
        "subject": facts.subject,
        "month_read": month_read_as(facts),
        "files": facts.files,
        "resend": resend,
        "resend_heading": "说明" if resend == NOTHING_OWED else "请重新发送",
        "problems": problems_by_file(facts),
        "notes": [note for file in facts.files for note in file.notes],
        "briefing_text": _briefing_text(briefing_place, uncounted, briefings_needed, facts.attachment_names),
        # what it says of time, month by month: of this mail, and of the month's package as it stands now
        "month_notes": list(month_notes) if facts.kind == "report" else [],
        "packages": [
            {
                "month": package.month,
                "deadline": package.deadline,
                "this_mail": this_mail,
                "package_line": line,
                "figures_line": figures_too_late(facts, package.month, judged),
            }
            for package, this_mail, line in times
            if line
        ],
    }
    subject = _OUR_RECEIPT_SUBJECT.sub("", facts.subject)
    return _threaded(facts, f"回执：{subject}" if subject else "回执", context)


def month_read_as(facts: MessageFacts) -> str | None:
    """What the receipt says when the mail was filed under one month read from a range of months its subject
    names, the range's last (parsers.months: "1-12月" is the year so far, one month; the forms of "10-12月" whose
    titles name no month of their own count for its last): "主题中的“10-12月”按12月份报送登记", and that a clerk
    who meant another month resends; or under its forms' month over the month of the receipt its subject quotes
    (parsers.derive: "reply"), and how a correction of the quoted month is sent. None when neither gave the
    month (a staff correction, a form's title, the arrival; a briefing counts in its arrival month) or the forms
    count for several months (each as its title names it: the receipt lists them)."""
    if facts.kind == "briefing" or facts.month is None:
        return None
    if facts.month_source == "reply":
        quoted, month = report_month(strip_prefixes(facts.subject)[0], facts.arrival), int(facts.month[5:7])
        if quoted is None:
            return None
        number = int(quoted[5:7])
        return (
            f"主题引用的是{number}月份的回执，表中写的是{month}月份，已按{month}月份登记；"
            f"如是{number}月份报表的更正，请把表中的月份改为{number}月后重新发送"
        )
    if facts.month_source not in ("subject", "subjects"):
        return None
    if counted_months(facts) != [facts.month]:
        return None
    year, number = int(facts.month[:4]), int(facts.month[5:7])
    rest, _ = strip_prefixes(facts.subject)
    span = next((span for span in month_ranges(rest) if span.last == number and span.year in (None, year)), None)
    if span is None:
        return None
    return f"主题中的“{span.written}”按{number}月份报送登记；如不是{number}月份的报表，请在主题中写明月份后重新发送"


def problems_by_file(facts: MessageFacts) -> list[tuple[str, list[str]]]:
    """What concerns the whole mail, then each file with problems and its problems, in the order the files
    came: a clerk fixes files, and two workbooks' sheets are both called "Sheet". A form whose own title names
    another unit or month than the mail is said first: the commonest slip is last month's file, or a
    neighbour's, attached again."""
    whole = [*facts.problems, *_summaries_twice(facts)]
    grouped: list[tuple[str, list[str]]] = [("本邮件", whole)] if whole else []
    for file in facts.files:
        problems = [*_mismatches(facts, file), *file.problems]
        if not problems:
            continue
        if grouped and grouped[-1][0] == file.source:  # one file's several forms
            grouped[-1][1].extend(problems)
        else:
            grouped.append((file.source, problems))
    return grouped


def _summaries_twice(facts: MessageFacts) -> list[str]:
    """Two readable 附件2 of one month in one mail giving figures (last month's left beside this month's, a draft and
    the final): the figures are the last one's (scoring takes the latest 附件2, and in one mail the last read), said
    so. One giving none (no row of the unit: another unit's 附件2) is said of its own file, and scores nothing."""
    by_month: dict[str | None, list[str]] = {}
    for file in facts.files:
        if file.form == 2 and file.readable and file.done:
            by_month.setdefault(counted_month(facts.month, facts.month_source, file.month), []).append(file.source)
    return [
        f"本邮件中有 {len(sources)} 份{month_label(month) if month else ''}附件2（{'、'.join(sources)}），"
        f"完成数按最后一份（{sources[-1]}）计；如其中有旧表或草稿，请只保留正确的一份重新发送"
        for month, sources in by_month.items()
        if len(sources) > 1
    ]


def _mismatches(facts: MessageFacts, file: FileFacts) -> list[str]:
    """A form is counted for the mail's unit, and for the mail's month when its subject names one (else for
    the month the form's own title names: parsers.records.counted_month), whatever the form says."""
    found = form_mismatch(facts, file)
    return [receipt_line(found)] if found else []


def counted_months(facts: MessageFacts) -> list[str]:
    """The months the mail's forms are counted for (parsers.records.counted_month), ascending; the mail's own
    month when it carries none."""
    months = {counted_month(facts.month, facts.month_source, f.month) for f in facts.files if f.form}
    return sorted(month for month in months | ({facts.month} if not months else set()) if month)


def figures_too_late(facts: MessageFacts, month: str, judged: Sequence[tuple[str, datetime]]) -> str | None:
    """What the receipt says when the mail's readable 附件2 for `month` came after the end of the month task
    completion is judged at next (June's sent in July, December's corrected in January): its 完成数 do not count
    there (scoring reads the 附件2 received by that month's end)."""
    carried = any(
        file.form == 2 and file.readable and counted_month(facts.month, facts.month_source, file.month) == month
        for file in facts.files
    )
    ahead = [(each, end) for each, end in sorted(judged) if month <= each and each[:4] == month[:4]]
    if not carried or not ahead or facts.arrival <= ahead[0][1]:
        return None
    name = f"{int(ahead[0][0][5:])}月底"
    return f"本次附件2在{name}之后收到，其完成数不计入截至{name}的任务完成情况（按{name}前收到的附件2计）。"


def timeliness(
    facts: MessageFacts, package: PackageStatus | None, settled: bool = False, doubted: bool = False
) -> tuple[str | None, str | None]:
    """What the receipt says of time: of this mail (a report's), and of the month's package as it stands now.
    The package decides, as the scoring does: a corrected resend after the deadline does not make an on-time
    month late, and a mail that brought nothing new is not late itself. A month missing forms past its deadline
    asks for them, unless its year is `settled` (closed: nothing sent now would count). A month complete when some
    form of the mail is `doubted` (its title names another unit or month) says so beside it."""
    if package is None or facts.kind == "briefing":
        return None, None
    brought = {form.form for form in package.forms if form.message_id == facts.id}
    this_mail = None
    if facts.kind == "report":
        if facts.arrival <= package.deadline:
            this_mail = "本次在时限内"
        elif any(form.status == "late" for form in package.forms if form.form in brought):
            this_mail = "本次已超过时限（迟报）"
        elif package.status == "on_time":
            this_mail = "本次在时限后到达，属更正重报，不影响该月按时报送"
        else:
            this_mail = "本次在时限后到达"
    missing, late = package.forms_with("missing"), package.forms_with("late")
    if missing:
        if package.as_of > package.deadline:
            ask = "" if settled else "；请尽快补报"
            # "now": this mail may have come in time, its receipt composed after the deadline
            return this_mail, f"现已过时限，该月尚未收到：{form_list(missing)}{ask}。"
        return this_mail, f"该月尚未收到：{form_list(missing)}。"
    # "before" only when every form came before this mail (one answered with later mail, in one poll, did not)
    before = "" if brought or any(form.arrival and form.arrival > facts.arrival for form in package.forms) else "此前"
    # a form whose title names another unit or month (said above) counts all the same: not said to be beyond doubt
    check = "（以上有表格写的单位或月份与邮件不符，如附错了文件，请发送正确的表格）" if doubted else ""
    if late:
        return this_mail, f"该月应报附件{before}均已收到，其中{form_list(late)}在时限后收到（迟报）{check}。"
    return this_mail, f"该月应报附件{before}均已按时收到{check}。"


def selfcheck_answer(facts: MessageFacts, inspected: list[dict[str, Any]]) -> Receipt:
    """The answer to a 自查 mail: what the inspection says of its files (inspected from the stored raw
    attachments), threaded under it. Its subject never starts with 自查, so a forward of it is no new 自查."""
    context = {
        "subject": facts.subject,
        "arrival": facts.arrival,
        "inspected": inspected,
        "attachments": facts.attachment_names,
    }
    return _threaded(facts, f"检查结果：{facts.subject}" if facts.subject else "检查结果", context)


def _threaded(facts: MessageFacts, subject: str, context: dict[str, Any]) -> Receipt:
    """A reply to the sender, threaded under the message (In-Reply-To, References)."""
    references = (*facts.references, facts.message_id) if facts.message_id else facts.references
    return Receipt(facts.sender or "", subject, facts.message_id, tuple(references), context)


def _briefing_text(place: tuple[int, int] | None, uncounted: Uncounted, needed: int, names: Sequence[str] = ()) -> str:
    """Where a briefing stands among its unit's articles of the month, or why it counts nothing (an article
    missing: the files attached, `names`, none an article); then how many the month needs, or that the month
    scores none (December: outside the plan's briefing months)."""
    if place is not None:
        where = f"本月第 {_places(place)} 篇"
    elif uncounted == "no-article" and names:
        where = (
            f"邮件中没有可计数的稿件：附件（{'、'.join(names)}）不是 Word、WPS、PDF 或文本格式的稿件，正文也不是稿件，"
            "不计数；请把稿件以 Word 文档附上，或把全文写在正文中重新发送"
        )
    elif uncounted == "no-article":
        where = "邮件中没有稿件（没有附带稿件文件，正文也不是稿件），不计数；请把稿件作为附件或把全文写在正文中重新发送"
    elif uncounted == "copied":
        where = "与其他单位此前报送的稿件相同（同一篇稿件只计一次），不计数"
    else:
        where = "与此前报送的稿件相同，不重复计数"
    return f"{where}，达标需 {needed} 篇" if needed else f"{where}；本月不在简报信息计分的月份内，照常登记，不计分"


def _places(place: tuple[int, int] | None) -> str | None:
    """ "3", or "3–4" for a message carrying two articles; None when none counts."""
    if place is None:
        return None
    first, last = place
    return str(first) if first == last else f"{first}–{last}"


# A package's mail without its files when the month's forms have all arrived before: nothing to send again.
NOTHING_OWED = (
    "本邮件没有附带文件。该月应报的表格此前均已收到，无需补发；如本邮件是为更正报表，"
    "请把更正后的表格文件添加到邮件中重新发送。"
)


def _resend_advice(facts: MessageFacts, arrived: bool = False) -> str | None:
    """What to send again: the files a download link holds, then the attachments holding no readable form;
    or, with nothing attached, the forgotten files, unless every form of the month has `arrived` before (a
    correction that forgot its file is told so: nothing is owed)."""
    advice = []
    link = download_link(facts.body_text)
    # (a briefing's article may be the mail's text itself: what it says of a 网盘 is no link instead of files)
    if link is not None and (facts.kind != "briefing" or not facts.attachment_names):
        what = "稿件" if facts.kind == "briefing" else "表格"
        if facts.attachment_names:
            advice.append(
                f"邮件中{link}里的文件，系统无法下载，没有收到。"
                f"请把这些{what}直接作为附件添加到邮件中重新发送（单个附件不超过 20MB，可压缩为 .zip）。"
            )
        else:
            advice.append(
                f"邮件中是{link}，系统无法下载。"
                f"请把{what}直接作为附件添加到邮件中重新发送（单个附件不超过 20MB，可压缩为 .zip）。"
            )
    if (
        facts.kind in ("report", "reply", "other")
        and facts.attachment_names
        and not any(f.received for f in facts.files)
    ):
        # every file that could not be read, whatever kept it shut (a password, a cut, a zip in a zip, no form
        # at all): the clerk resends what is named, and a workbook left out stayed unsent
        if unread := [f"“{f.source}”" for f in facts.files if f.no_form or not f.readable]:
            advice.append(
                f"附件{'、'.join(unread)}中没有可读取的附件表格，原因见上面“需要修改的问题”；请按说明改正后重新发送。"
            )
        else:  # workbooks read, none a form: not the templates
            advice.append(
                "附件中没有识别出任何可读取的附件表格。"
                "请使用市残联下发的附件模板（Excel 格式，表头第一行写明“XX县残联 X 月份…表”），修改后重新发送。"
            )
    if not advice and _files_forgotten(facts) and arrived:
        return NOTHING_OWED
    if not advice and _files_forgotten(facts):
        advice.append("本邮件没有附带文件。请把附件1–8（9 月起含附件9、10）的表格文件添加到邮件中重新发送。")
    return "".join(advice) or None
