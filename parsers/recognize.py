"""Recognise a parsed message: which unit sent it, what kind it is and which month it reports.

Pure functions over a ParsedMessage and the configured units; nothing here does I/O or reads a clock.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from parsers.months import named_months, report_month
from parsers.notices import (
    answers_invitation,
    carries_forwarded_message,
    carries_invitation,
    carries_read_report,
    forwarded_message,
)
from parsers.records import Attachment, Kind, ParsedMessage, Recognition, Unit, fold
from parsers.unit_names import find_units, units_for_sender

# Subject prefixes, matched on normalize()d text (whitespace gone, "：" already ":").
_PREFIX = re.compile(r"(回复|答复|回覆|re|转发|fwd|fw)(?:\[\d+\]|\^\d+)?:", re.IGNORECASE)
_REPLY_PREFIXES = frozenset({"回复", "答复", "回覆", "re"})

# Subject words are anchored at the start (after an optional bracket) so that a unit's own
# "…（退信重发）" or "关于休假期间…" is not mistaken for machine mail.
_OPEN = r"^[【\[(<]?"
_BOUNCE_SUBJECT = re.compile(
    _OPEN + r"(?:系统退信|退信(?:通知|$|[:】\])>])|undeliver|deliverystatusnotification"
    r"|maildeliveryfailed|deliveryfailure|deliveryhasfailed|returnedmail|failurenotice)"
)
_AUTO_WORDS = r"(?:自动回复|自动答复|自动回覆|autoreply|automaticreply|autoresponse|outofoffice)"
_AUTO_SUBJECT = re.compile(_OPEN + r"(?:休假中?[:】\])>]?)?" + _AUTO_WORDS + "|" + _OPEN + r"休假(?:中|[:】\])>])")

_AUTO_HEADERS = frozenset({"x-autoreply", "x-autorespond", "auto-reply"})
_LIST_HEADERS = frozenset(
    {"list-id", "list-unsubscribe", "list-post", "list-help", "list-subscribe", "list-owner", "list-archive"}
)
_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_DAEMONS = frozenset({"mailer-daemon", "postmaster"})

# A subject starting with 自查 asks for the inspection of the files, not to submit them.
_SELFCHECK_SUBJECT = re.compile(_OPEN + "自查")
# A subject that answers one of our own mails (its reply prefixes aside): our receipt (回执), a 自查's answer
# (检查结果), a change notice (核实通知), or a read receipt of any of them (已读, 已读回执). The package words it
# repeats are ours, so they never make the mail a package.
_ANSWERS_OURS = re.compile(_OPEN + "(?:回执|已读|检查结果|核实通知)")
# A read receipt's subject (after any Re:/回复: prefixes, normalize()d): "已读回执：回执：景县12月份报表" (Foxmail),
# "已读: …" (Outlook), "未读: …", "Read: …". It tells that mail sent from our mailbox was read: nobody answers it.
_READ_RECEIPT = re.compile(r"(?:已读回执|已读|已阅|未读|阅读回执|读取回执|read|notread|readreceipt)(?::|$)", re.I)
_BRIEFING_WORDS = ("专项信息", "简报")
_REPORT_WORDS = (
    "目标任务",
    "进展情况",
    "完成情况",
    "汇总表",
    "登记表",
    "统计表",
    "实名制",
    "附件",
    "报表",
    "月报",
)
# A unit asking about a form names it too ("…实名制登记表填写的疑问"): without a workbook it is a question.
_QUESTION_WORDS = ("疑问", "请问", "咨询", "请教", "如何", "怎么", "怎样")
# An ASCII question mark that ends words of a line with Chinese in them ("吗?", "附件2?", "能否用 WPS?", "版本2.0?");
# one among ASCII alone asks nothing, nor a run of them: a uuencoded line, the "??" a mail program writes for
# characters it could not encode (a package's mail with either went unanswered as a question for people). A
# full-width ？ is always typed.
_QUESTION_MARK = re.compile(r"[^\x00-\x7f][\w)\]\"'%./ \t-]*\?(?!\?)", re.ASCII)
# Workbooks and archives that carry the monthly package (.rar/.7z: units zip with WinRAR too; .ods: a form saved
# as LibreOffice saves by default, answered saying to save it as .xlsx).
_PACKAGE_TYPES = frozenset({"xlsx", "xls", "et", "ods", "zip", "rar", "7z"})

_SOURCE_LABELS = {"subject": "主题", "attachment": "附件名", "display_name": "发件人名称"}
_REVIEW = "请工作人员核实"


normalize = fold  # subjects and names are compared folded (parsers.records.fold)


def asks(text: str) -> bool:
    """Whether a subject or a sender's own words ask something: a question's word, a full-width question mark,
    or an ASCII one after Chinese."""
    if "？" in text:
        return True
    wide = unicodedata.normalize("NFKC", text)
    return _QUESTION_MARK.search(wide) is not None or any(word in fold(wide) for word in _QUESTION_WORDS)


def strip_prefixes(subject: str) -> tuple[str, tuple[str, ...]]:
    """Remove leading reply/forward prefixes; return the normalized rest and the prefixes in order."""
    rest = normalize(subject)
    prefixes: list[str] = []
    while (match := _PREFIX.match(rest)) is not None:
        prefixes.append(match.group(1))
        rest = rest[match.end() :]
    return rest, tuple(prefixes)


# ---------------------------------------------------------------------------------------------
# Kind


def _english_folded(text: str) -> str:
    """Lower-case and drop '-' and '_' so 'Auto-Reply', 'Auto Reply' and 'autoreply' look alike."""
    return normalize(text).lower().replace("-", "").replace("_", "")


def _auto_header(name: str, value: str) -> bool:
    name, token = name.strip().lower(), value.split(";")[0].strip().lower()
    if name == "auto-submitted":
        return token != "no"  # RFC 3834: anything but "no" is machine-sent
    if name == "precedence":
        return token in _AUTO_PRECEDENCE
    return name in _AUTO_HEADERS or name in _LIST_HEADERS


def _is_bounce(message: ParsedMessage) -> bool:
    """Strong bounce signals: a delivery report, a mailer daemon, X-Failed-Recipients, a DSN subject."""
    if message.content_type.split(";")[0].strip().lower() == "multipart/report":
        return True
    local_part = (message.from_addr or "").rsplit("@", 1)[0].strip().lower()
    if local_part in _DAEMONS:
        return True
    if any(name.strip().lower() == "x-failed-recipients" for name, _ in message.automation):
        return True
    return _BOUNCE_SUBJECT.search(_english_folded(message.subject)) is not None


def _is_auto(message: ParsedMessage) -> bool:
    if any(_auto_header(name, value) for name, value in message.automation):
        return True
    return _AUTO_SUBJECT.search(_english_folded(message.subject)) is not None


def _has_null_sender(message: ParsedMessage) -> bool:
    return message.return_path is not None and message.return_path.strip() in ("", "<>")


def _kind_by_words(text: str) -> Kind | None:
    if any(word in text for word in _BRIEFING_WORDS):
        return Kind.BRIEFING
    if any(word in text for word in _REPORT_WORDS):
        return Kind.REPORT
    return None


def is_package_file(attachment: Attachment) -> bool:
    """A workbook or archive, by sniffed type or by file name extension."""
    extension = normalize(attachment.filename).lower().rpartition(".")[2]
    return attachment.sniffed_type.strip().lower() in _PACKAGE_TYPES or extension in _PACKAGE_TYPES


# A letter about a form (a request for instructions, a notice) names it without being it.
_LETTER_WORDS = ("关于", "请示", "说明", "通知", "函")


def answers_our_subject(subject: str) -> bool:
    """Whether a subject is one of our own mails' answered or echoed (after any Re:/回复: prefixes): "回执：冀州区
    6月份报表" from a mail rule, "已读回执：安平县7月份报表" from a webmail."""
    rest, _ = strip_prefixes(subject)
    return _ANSWERS_OURS.match(rest) is not None


def names_a_package(subject: str, arrival_local: datetime) -> bool:
    """Whether a subject is a monthly package's own (a month and a form's or the package's words) and neither
    asks nor writes about one: "武邑县9月份报表" sent without its files had them forgotten, which the
    sender is told at once; "关于附件2填报口径的请示" is a letter for people to answer; "回执：武邑县9月份报表"
    repeats our own receipt's subject."""
    rest, _ = strip_prefixes(subject)
    return (
        _ANSWERS_OURS.match(rest) is None
        and _kind_by_words(rest) is Kind.REPORT
        and report_month(rest, arrival_local) is not None
        and not asks(rest)
        and not any(word in rest for word in _LETTER_WORDS)
    )


def is_read_receipt(kind: str, subject: str, body: str) -> bool:
    """Whether a recognised message, as stored (its kind, subject and text), is a read receipt, as kind_of
    decided it: other mail that says one of ours was read (_says_read). A read receipt carrying a package (a
    corrected workbook sent back under "答复: 已读: 回执：…") is that package's mail, a reply or a report, and
    never one. Nobody answers a read receipt, and it needs nobody (replies.receipt, replies.attention)."""
    return kind == Kind.OTHER and _says_read(subject, body)


def _says_read(subject: str, body: str) -> bool:
    """What tells a read receipt, in what is stored: an MDN's report, which parsers.mime wrote into its text, or
    a read receipt's subject as Foxmail ("已读回执：…"), Outlook ("已读: …", "Read: …", "未读: …") and webmail
    write it, Outlook's text-only one too."""
    rest, _ = strip_prefixes(subject)
    return _READ_RECEIPT.match(rest) is not None or carries_read_report(body)


def _is_read_receipt(message: ParsedMessage) -> bool:
    """A read receipt by the message's own report type (an MDN returned inside a bounce is the bounce's), else as
    _says_read tells it when no mailer daemon sent it: MDNs come from the reader, often from the null sender."""
    if message.report_type:
        return message.report_type == "disposition-notification"
    local_part = (message.from_addr or "").rsplit("@", 1)[0].strip().lower()
    return local_part not in _DAEMONS and _says_read(message.subject, message.body_text)


def is_invitation(message: ParsedMessage) -> bool:
    """A calendar invitation, or an answer to one (its calendar data, an .ics attached, or a subject such as
    "已接受: …" when the answer came as text alone): a meeting, never a submission, whatever its subject names."""
    names = (attachment.filename for attachment in message.attachments)
    return carries_invitation(message.body_text, names) or answers_invitation(strip_prefixes(message.subject)[0])


def kind_of(message: ParsedMessage) -> Kind:
    """A read receipt first, other mail unless it carries a package (Outlook's MDN is a report, and comes from
    the null sender: no bounce; is_read_receipt reads this decision back from what is stored); machine mail
    (bounce, then auto); an invitation; then reply, self-check, briefing, report, other."""
    has_package = any(is_package_file(attachment) for attachment in message.attachments)
    if _is_read_receipt(message) and not has_package:
        return Kind.OTHER
    if _is_bounce(message):
        return Kind.BOUNCE
    if _is_auto(message):
        return Kind.AUTO
    # RFC 3834 auto-replies are sent from the null sender too, so it only decides after them.
    if _has_null_sender(message):
        return Kind.BOUNCE
    if is_invitation(message) and not has_package:
        return Kind.OTHER
    rest, prefixes = strip_prefixes(message.subject)
    if any(prefix.lower() in _REPLY_PREFIXES for prefix in prefixes):
        return Kind.REPLY
    if _SELFCHECK_SUBJECT.match(rest):
        return Kind.SELFCHECK
    # the words of our own subject answered back are ours: only what is attached can make it a package
    by_subject = None if _ANSWERS_OURS.match(rest) else _kind_by_words(rest)
    if by_subject is Kind.REPORT and not message.attachments:
        # a package without a file puts no month in the matrix: other mail, a question or a letter for people
        # to answer, or files forgotten, which the receipt asks for (replies.receipt.failed_submission)
        return Kind.OTHER
    if by_subject is Kind.REPORT and not has_package and asks(rest):
        return Kind.OTHER
    if by_subject is not None:
        return by_subject
    if has_package:
        return Kind.REPORT
    for attachment in message.attachments:
        by_name = _kind_by_words(normalize(attachment.filename))
        if by_name is not None:
            return by_name
    return Kind.OTHER


# ---------------------------------------------------------------------------------------------
# Month


def message_month(message: ParsedMessage, arrival: datetime, tz: ZoneInfo) -> str:
    """The month recognition files the message under (recognize's): a month its subject or an attachment's name
    names, else its arrival's. Its year's plan holds the units the message is recognised among
    (parsers.derive.Recognizer.units_at)."""
    return month_and_source(message.subject, [a.filename for a in message.attachments], arrival.astimezone(tz))[0]


def month_and_source(subject: str, filenames: Sequence[str], arrival_local: datetime) -> tuple[str, str]:
    """The month recognition files a mail of this subject and these attachments under, and where it was read."""
    return _month_and_source(strip_prefixes(subject)[0], filenames, arrival_local)


def _month_and_source(rest: str, filenames: Sequence[str], arrival_local: datetime) -> tuple[str, str]:
    """The message's month and where it was read. A subject naming several months gives the last of them, as
    "subjects": each form is then counted for the month its own title names (parsers.derive.counted_month)."""
    if months := named_months(rest, arrival_local):
        return months[-1], "subjects"
    month = report_month(rest, arrival_local)
    if month is not None:
        return month, "subject"
    for filename in filenames:
        month = report_month(filename, arrival_local)
        if month is not None:
            return month, "attachment"
    return f"{arrival_local.year:04d}-{arrival_local.month:02d}", "arrival"


# ---------------------------------------------------------------------------------------------
# Unit and sender


# A registered sender's mail that names only other units is its own unit's, the conflict told to the sender (its
# receipt: replies.receipt.told_to_sender) and to staff (待处理: replies.attention).
UNIT_CONFLICT_MARK = "与发件邮箱登记的单位不符"
# A subject or attachment names naming several units (a city person forwarding three counties' packages).
SEVERAL_UNITS_MARK = "中出现多个单位"
_SEVERAL_UNITS = re.compile(SEVERAL_UNITS_MARK + r"（([^）]*)）")
# Mail whose unit could not be told (nothing names one, its sender is nobody's or several units'): no unit's.
NO_UNIT_MARK = "无法识别报送单位"
# What every problem that keeps a mail from counting says (its sender not the unit's, no unit, a staff mailbox).
NOT_COUNTED_MARK = "不计分"
# A unit's mail that staff forwarded from one of our mailboxes, recognised by the forwarded message's sender; and a
# package (or briefing) staff sent from one of our mailboxes themselves, not forwarded: neither counts unless
# its original sender is the unit's, nor is our mailbox ever the unit's sender (待处理: "forwarded").
FORWARDED_MARK = "由工作人员邮箱"
# Staff's own letter from one of our mailboxes that names a unit: staff's, no unit's mail to confirm (no item).
STAFF_MAIL_MARK = "发出的工作人员邮件"
_FORWARD_PREFIXES = frozenset({"转发", "fwd", "fw"})


def units_named_together(problems: Sequence[str]) -> tuple[str, ...]:
    """The units a message's subject or attachment names named together, read back from its problems (_sender_problems
    writes them); () when it named one."""
    return next((tuple(m.group(1).split("、")) for p in problems if (m := _SEVERAL_UNITS.search(p))), ())


@dataclass(frozen=True)
class StaffForward:
    """A unit's mail that staff forwarded from one of our mailboxes, by its original sender's address: the From
    header of the message attached, else the sender line of the first header block its text quotes; None when
    that holds no address (the forward then counts for nobody until staff correct it)."""

    original: str | None


def is_forward(subject: str, attached: bool) -> bool:
    """Whether a mail forwards another: a message attached to it, or its first prefix 转发/Fwd/FW. A reply in a
    thread once forwarded ("回复: 转发: …") is a reply."""
    _, prefixes = strip_prefixes(subject)
    return attached or (bool(prefixes) and prefixes[0].lower() in _FORWARD_PREFIXES)


def forwarded_article(subject: str, body: str) -> tuple[str, str]:
    """The subject (prefixes off) and text of the article a mail's body holds. A forward's (is_forward; an
    attached message as parsers.mime wrote it into the text) is the forwarded message's own, without the
    forwarder's comment and the quoted header block: a unit's body-only article and each forward of it, inline
    or attached, are then the same article (archive.evidence.article_key)."""
    rest, _ = strip_prefixes(subject)
    if is_forward(subject, carries_forwarded_message(body)) and (quoted := forwarded_message(body)) is not None:
        return (strip_prefixes(quoted.subject)[0] if quoted.subject else rest), quoted.text
    return rest, body


@dataclass(frozen=True)
class UnitFinding:
    """The unit a message belongs to, where that was read, and any other units named alongside."""

    unit: Unit | None
    source: str  # "subject", "attachment", "sender", "display_name" or "" when not found
    also_named: tuple[Unit, ...] = ()
    sender_units: tuple[Unit, ...] = ()  # units the sender address is registered for
    named_instead: tuple[Unit, ...] = ()  # the units named where the sender's own unit was not (a conflict)
    named_where: str = ""  # where they were named: "subject" or "attachment"


def find_message_unit(message: ParsedMessage, units: Sequence[Unit], sender: str | None = None) -> UnitFinding:
    """Subject first, then attachment names, then a sender registered for exactly one unit, then the display
    name of a sender registered for none. Of the units named, the sender's own is taken (景县 writing of its visit
    to 阜城县); a sender registered for exactly one unit that names only others is its unit's still, the others
    kept as named instead. `sender`: the address to take for the sender (a staff forward's original sender, ""
    when it names none) instead of the From address."""
    rest, _ = strip_prefixes(message.subject)
    sender_units = units_for_sender(message.from_addr if sender is None else sender, units)
    texts = [("subject", rest)] + [("attachment", a.filename) for a in message.attachments]
    for source, text in texts:
        named = find_units(text, units)
        if not named:
            continue
        own = next((unit for unit in named if unit in sender_units), None)
        if own is not None:
            return UnitFinding(own, source, tuple(unit for unit in named if unit is not own), sender_units)
        if len(sender_units) == 1:
            return UnitFinding(sender_units[0], "sender", (), sender_units, named, source)
        return UnitFinding(named[0], source, named[1:], sender_units)
    if len(sender_units) == 1:
        return UnitFinding(sender_units[0], "sender", (), sender_units)
    named = find_units(message.from_name, units) if sender is None else ()
    if named and not sender_units:
        return UnitFinding(named[0], "display_name", named[1:], sender_units)
    return UnitFinding(None, "", (), sender_units)


def staff_forward(message: ParsedMessage, ours: Collection[str]) -> StaffForward | None:
    """The unit's mail a mail from one of our own mailboxes forwards (is_forward): by the From of the message
    attached (parsers.mime), else by the sender line of the first header block its text quotes, never by an
    address deeper in the text (the forwarder's comment, what the original quotes). None: no forward, or staff's
    own mail forwarded (its original sender one of our mailboxes, or its subject one of our mails': 回执…)."""
    if message.attached_senders:
        original = message.attached_senders[0] or None
    elif is_forward(message.subject, attached=False):
        quoted = forwarded_message(message.body_text)
        original = quoted.sender if quoted is not None else None
    else:
        return None
    if original in ours or answers_our_subject(message.subject):
        return None
    return StaffForward(original)


def _staff_mail_note(address: str, unit: Unit, kind: Kind, message: ParsedMessage) -> str:
    """What a mail sent from one of our mailboxes that names a unit, and forwards none of its mail, is."""
    if kind in (Kind.REPORT, Kind.BRIEFING) or any(is_package_file(a) for a in message.attachments):
        return f"{FORWARDED_MARK} {address} 发出，不是转发的单位邮件，不能确认是 {unit.name} 的报送，不计分，{_REVIEW}"
    return f"工作人员邮箱 {address} {STAFF_MAIL_MARK}（写到 {unit.name}，不是 {unit.name} 的来信），不计分"


def _unknown_unit_problem(address: str, finding: UnitFinding) -> str:
    if not address:
        return f"{NO_UNIT_MARK}：主题和附件名中没有单位名称，邮件也没有发件人地址，不计分，{_REVIEW}"
    if finding.sender_units:
        names = "、".join(unit.name for unit in finding.sender_units)
        return (
            f"{NO_UNIT_MARK}：主题和附件名中没有单位名称，发件人 {address} 同时登记为 {names} 的报送邮箱，"
            f"不计分，{_REVIEW}，并提醒该单位在主题中写明单位名称"
        )
    return (
        f"{NO_UNIT_MARK}：主题和附件名中没有单位名称，发件人 {address} 也未登记为任何单位的报送邮箱，"
        f"不计分，{_REVIEW}后登记该邮箱或归入相应单位"
    )


def _sender_problems(
    address: str, finding: UnitFinding, registered: bool, conflict_said: bool, who: str = "发件人"
) -> tuple[str, ...]:
    unit = finding.unit
    if unit is None:
        return (_unknown_unit_problem(address, finding),)
    problems: list[str] = []
    where = _SOURCE_LABELS.get(finding.source, "主题")
    if finding.also_named:
        names = "、".join(u.name for u in (unit, *finding.also_named))
        problems.append(f"{where}{SEVERAL_UNITS_MARK}（{names}），已按 {unit.name} 记录，{_REVIEW}")
    if finding.named_instead and conflict_said:
        named = "、".join(u.name for u in finding.named_instead)
        problems.append(
            f"{_SOURCE_LABELS[finding.named_where]}写的单位是{named}，{UNIT_CONFLICT_MARK}：{who} {address} 是"
            f"{unit.name}的报送邮箱，本邮件已按{unit.name}记录，市残联工作人员将核实；如是代{named}报送，"
            f"请由{named}的报送邮箱发送"
        )
    if registered:
        return tuple(problems)
    if not address:
        what = "转发的邮件中没有原发件人地址" if who != "发件人" else "邮件没有发件人地址"
        problems.append(f"{what}，不能确认是 {unit.name} 的报送邮箱，不计分，{_REVIEW}")
    elif finding.sender_units:
        others = "、".join(u.name for u in finding.sender_units)
        problems.append(f"{who} {address} 登记的是 {others} 的报送邮箱，但{where}写的是 {unit.name}，不计分，{_REVIEW}")
    else:
        problems.append(f"{who} {address} 未登记为 {unit.name} 的报送邮箱，不计分，{_REVIEW}")
    return tuple(problems)


def recognize(
    message: ParsedMessage,
    units: Sequence[Unit],
    arrival: datetime,
    tz: ZoneInfo,
    own_addresses: Collection[str] = (),
) -> Recognition:
    """Decide unit, kind, reporting month and whether the sender counts for the unit. A unit's mail that staff
    forwarded from one of our mailboxes is recognised by the forwarded message's sender, the forward noted."""
    if arrival.tzinfo is None:
        raise ValueError("arrival must be timezone-aware (the server's INTERNALDATE or Received time)")
    arrival_local = arrival.astimezone(tz)
    rest, _ = strip_prefixes(message.subject)
    kind = kind_of(message)
    month, month_source = _month_and_source(rest, [a.filename for a in message.attachments], arrival_local)
    address = (message.from_addr or "").strip()
    ours = {a.strip().lower() for a in own_addresses}
    own = bool(address) and address.lower() in ours
    forward = staff_forward(message, ours) if own else None
    finding = find_message_unit(message, units, (forward.original or "") if forward else None)
    # A conflict is said of what may be a submission: a clerk's reply or letter naming another unit is no slip.
    conflict_said = (
        kind not in (Kind.REPLY, Kind.OTHER) or bool(message.attachments) or names_a_package(rest, arrival_local)
    )
    # Machine mail, a read receipt and a clerk's 自查 are never scored, so sender checks would only be noise.
    quiet = kind in (Kind.AUTO, Kind.BOUNCE, Kind.SELFCHECK) or is_read_receipt(
        kind, message.subject, message.body_text
    )
    problems: tuple[str, ...] = ()
    if forward is not None and finding.unit is not None:
        registered = finding.unit in finding.sender_units
        original = forward.original
        note = f"{FORWARDED_MARK} {address} 转发，" + (
            f"按原发件人 {original} 的邮件识别" if original else "邮件中没有原发件人的地址"
        )
        sender_problems = _sender_problems(original or "", finding, registered, conflict_said, "原发件人")
        problems = () if quiet else (note, *sender_problems)
    elif own:  # our own mail: never a unit's registered sender's
        registered = False
        if finding.unit is not None and not quiet:
            problems = (_staff_mail_note(address, finding.unit, kind, message),)
    else:
        registered = finding.unit is not None and finding.unit in finding.sender_units
        problems = () if quiet else _sender_problems(address, finding, registered, conflict_said)
    return Recognition(
        unit=finding.unit.name if finding.unit else None,
        kind=kind,
        month=month,
        month_source=month_source,
        registered=registered,
        problems=problems,
    )
