"""Recognise a parsed message: which unit sent it, what kind it is and which month it reports.

Pure functions over a ParsedMessage and the configured units; nothing here does I/O or reads a clock.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from parsers.forms import month_near
from parsers.notices import carries_forwarded_message, carries_invitation, carries_read_report, forwarded_senders
from parsers.records import Attachment, Kind, ParsedMessage, Recognition, Unit

_INVISIBLE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")

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
QUESTION_WORDS = ("疑问", "请问", "咨询", "请教", "如何", "怎么", "怎样", "?")
# Workbooks and archives that carry the monthly package (.rar/.7z: units zip with WinRAR too).
_PACKAGE_TYPES = frozenset({"xlsx", "xls", "et", "zip", "rar", "7z"})

_CN_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_YEAR_MONTH = re.compile(r"(?<!\d)(\d{4})年(\d{1,2})月")
# A bare month: not glued to a preceding number, not the month of a day ("4月15日"), and not the
# 一 of a word such as 统一/唯一/同一 ("统一月报格式").
_MONTH = re.compile(
    r"(?<!\d)(\d{1,2}|十[一二]?|(?<![统唯同之万逐单划均第])一|[二三四五六七八九])月(份)?(?!\d{1,2}[日号])"
)

# Several months named together in a subject, as a unit catching up sends them: "7、8月份报表", "7月、8月",
# "七、八月份", "7和8月"; or as a range: "7-9月", "7至8月份". Each number is a month only when the list ends in 月.
# A range from January ("1-12月", "1—12月", "1至9月份") is the year so far, as the cumulative figures are: it
# names one month, its last.
_MONTH_NUMBER = r"(?:\d{1,2}|十[一二]?|[一二三四五六七八九])"
_MONTH_LIST = re.compile(
    rf"(?<![\d年统唯同之万逐单划均第])(?:(\d{{4}})年)?({_MONTH_NUMBER}(?:月份?)?(?:\s*(?:[、,，/和及与]|以及)\s*{_MONTH_NUMBER}(?:月份?)?)+)"
)
_MONTH_RANGE = re.compile(
    rf"(?<![\d年])(?:(\d{{4}})年)?({_MONTH_NUMBER})(?:月份?)?\s*[-~～〜至到—–―]\s*({_MONTH_NUMBER})月"
)

_SOURCE_LABELS = {"subject": "主题", "attachment": "附件名", "display_name": "发件人名称"}
_REVIEW = "请工作人员核实"


def normalize(text: str) -> str:
    """NFKC-fold (full-width brackets, digits and colons become ASCII) and drop all whitespace."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


def strip_prefixes(subject: str) -> tuple[str, tuple[str, ...]]:
    """Remove leading reply/forward prefixes; return the normalized rest and the prefixes in order."""
    rest = normalize(subject)
    prefixes: list[str] = []
    while (match := _PREFIX.match(rest)) is not None:
        prefixes.append(match.group(1))
        rest = rest[match.end() :]
    return rest, tuple(prefixes)


# ---------------------------------------------------------------------------------------------
# Units


def _short_name(unit: Unit) -> str | None:
    """桃城区 → 桃城: the name without its final 县/区/市, if two characters or more remain."""
    name = normalize(unit.name)
    return name[:-1] if len(name) >= 3 and name[-1] in "县区市" else None


def unit_keys(units: Sequence[Unit]) -> dict[str, Unit]:
    """Every normalized name, alias and unique short name, mapped to its unit; ambiguous keys dropped."""
    return dict(_unit_keys(tuple(units)))


@functools.lru_cache(maxsize=16)
def _unit_keys(units: tuple[Unit, ...]) -> tuple[tuple[str, Unit], ...]:
    """unit_keys, computed once per set of units and longest key first (the order _units_in needs)."""
    owners: dict[str, set[str]] = {}
    for unit in units:
        for key in (unit.name, *unit.aliases):
            if normalized := normalize(key):
                owners.setdefault(normalized, set()).add(unit.name)
    # A derived short name never overrides a configured key; two units sharing one drop it.
    configured = set(owners)
    for unit in units:
        stem = _short_name(unit)
        if stem and stem not in configured:
            owners.setdefault(stem, set()).add(unit.name)
    by_name = {unit.name: unit for unit in units}
    keys = [(key, by_name[next(iter(names))]) for key, names in owners.items() if len(names) == 1]
    return tuple(sorted(keys, key=lambda pair: (-len(pair[0]), pair[0])))


def _units_in(text: str, keys: Sequence[tuple[str, Unit]]) -> tuple[Unit, ...]:
    """Units named in text, in order of first mention; longer keys claim their characters first."""
    haystack = normalize(text)
    taken = [False] * len(haystack)
    hits: list[tuple[int, Unit]] = []
    for key, unit in keys:
        if key not in haystack:
            continue
        for match in re.finditer(re.escape(key), haystack):
            span = range(match.start(), match.end())
            if not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                hits.append((match.start(), unit))
    ordered: list[Unit] = []
    for _, unit in sorted(hits, key=lambda hit: hit[0]):
        if unit not in ordered:
            ordered.append(unit)
    return tuple(ordered)


def find_units(text: str, units: Sequence[Unit]) -> tuple[Unit, ...]:
    """All units that text names (full name, alias or short name), in order of first mention."""
    return _units_in(text, _unit_keys(tuple(units)))


def find_unit(text: str, units: Sequence[Unit]) -> Unit | None:
    """The first unit that text names, or None."""
    found = find_units(text, units)
    return found[0] if found else None


def units_for_sender(address: str | None, units: Sequence[Unit]) -> tuple[Unit, ...]:
    """Units whose registered senders include address (case-insensitive)."""
    if not address:
        return ()
    wanted = address.strip().lower()
    return tuple(unit for unit in units if wanted in {s.strip().lower() for s in unit.senders})


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
        and not any(word in rest for word in (*QUESTION_WORDS, *_LETTER_WORDS))
    )


def is_read_receipt(subject: str, body: str) -> bool:
    """Whether a mail (as stored: its subject and text) tells that one of ours was read: an MDN, whose report
    parsers.mime wrote into its text, or a read receipt's subject as Foxmail ("已读回执：…"), Outlook ("已读: …",
    "Read: …", "未读: …") and webmail write it, Outlook's text-only one too. Nobody answers it."""
    rest, _ = strip_prefixes(subject)
    return _READ_RECEIPT.match(rest) is not None or carries_read_report(body)


def _is_read_receipt(message: ParsedMessage) -> bool:
    """A read receipt by the message's own report type (an MDN sent back inside a bounce is the bounce's) or
    by its subject, when no mailer daemon sent it: MDNs come from the reader, often from the null sender."""
    if message.report_type:
        return message.report_type == "disposition-notification"
    local_part = (message.from_addr or "").rsplit("@", 1)[0].strip().lower()
    return local_part not in _DAEMONS and _READ_RECEIPT.match(strip_prefixes(message.subject)[0]) is not None


def is_invitation(message: ParsedMessage) -> bool:
    """A calendar invitation, or an answer to one (its calendar data, or an .ics attached): a meeting, never a
    submission, whatever its subject names."""
    return carries_invitation(message.body_text, (attachment.filename for attachment in message.attachments))


def kind_of(message: ParsedMessage) -> Kind:
    """A read receipt first (Outlook's MDN is a report, and comes from the null sender: no bounce); machine mail
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
    if by_subject is Kind.REPORT and not has_package and any(word in rest for word in QUESTION_WORDS):
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


def _month_number(token: str) -> int:
    if token.isdigit():
        return int(token)
    if token.startswith("十"):
        return 10 + (_CN_NUMBERS[token[1]] if len(token) > 1 else 0)
    return _CN_NUMBERS[token]


def report_month(text: str, arrival_local: datetime) -> str | None:
    """The reporting month text names, as "YYYY-MM", or None.

    "2020年4月" wins over "4月份", which wins over a bare "4月"; a month without a year is placed near the
    arrival (month_near): from ten months before the arrival month to one month after it, so December's
    report sent in January is last December's and January's sent in December next January's.
    """
    folded = normalize(text)
    for match in _YEAR_MONTH.finditer(folded):
        year, month = int(match.group(1)), int(match.group(2))
        if 1 <= month <= 12:
            return f"{year:04d}-{month:02d}"
    for match in _MONTH_RANGE.finditer(folded):  # "2020年1-12月", "1月-12月": the year so far, to its last month
        first, last = _month_number(match.group(2)), _month_number(match.group(3))
        if first == 1 < last <= 12:
            return _placed(last, match.group(1), arrival_local)
    bare = [m for m in _MONTH.finditer(folded) if 1 <= _month_number(m.group(1)) <= 12]
    if not bare:
        return None
    chosen = next((m for m in bare if m.group(2)), bare[0])
    return month_near(_month_number(chosen.group(1)), arrival_local)


def named_months(text: str, arrival_local: datetime) -> tuple[str, ...]:
    """The months a subject names together ("7、8月份报表", "7-9月"), ascending, as "YYYY-MM" (a month without
    a year placed near the arrival, as report_month places it, a range by its last month: "10-12月" sent in
    January is last year's three); () unless it names two or more. A range from January ("1-12月") is the
    year so far, one month: report_month reads it."""
    folded = normalize(text)
    found: set[str] = set()
    for match in _MONTH_RANGE.finditer(folded):
        first, last = _month_number(match.group(2)), _month_number(match.group(3))
        if 1 < first < last <= 12:
            year = _placed(last, match.group(1), arrival_local)[:4]
            found.update(f"{year}-{number:02d}" for number in range(first, last + 1))
    for match in _MONTH_LIST.finditer(folded):
        numbers = [_month_number(token) for token in re.findall(_MONTH_NUMBER, match.group(2))]
        if match.group(2).endswith(("月", "月份")) and all(1 <= number <= 12 for number in numbers):
            found.update(_placed(number, match.group(1), arrival_local) for number in numbers)
    return tuple(sorted(found)) if len(found) > 1 else ()


def _placed(number: int, year: str | None, arrival_local: datetime) -> str:
    return f"{int(year):04d}-{number:02d}" if year else month_near(number, arrival_local)


def _month_and_source(rest: str, attachments: Sequence[Attachment], arrival_local: datetime) -> tuple[str, str]:
    """The message's month and where it was read. A subject naming several months gives the last of them, as
    "subjects": each form is then counted for the month its own title names (parsers.derive.counted_month)."""
    if months := named_months(rest, arrival_local):
        return months[-1], "subjects"
    month = report_month(rest, arrival_local)
    if month is not None:
        return month, "subject"
    for attachment in attachments:
        month = report_month(attachment.filename, arrival_local)
        if month is not None:
            return month, "attachment"
    return f"{arrival_local.year:04d}-{arrival_local.month:02d}", "arrival"


# ---------------------------------------------------------------------------------------------
# Unit and sender


# A registered sender's mail that names only other units is its own unit's, the conflict told to the sender (its
# receipt: replies.receipt.told_to_sender) and to staff (待处理: replies.attention).
UNIT_CONFLICT_MARK = "与发件邮箱登记的单位不符"
# A unit's mail that staff forwarded from one of our mailboxes: recognised by the forwarded message's sender.
FORWARDED_MARK = "由工作人员邮箱"
_FORWARD_PREFIXES = frozenset({"转发", "fwd", "fw"})


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
    keys = _unit_keys(tuple(units))
    rest, _ = strip_prefixes(message.subject)
    sender_units = units_for_sender(message.from_addr if sender is None else sender, units)
    texts = [("subject", rest)] + [("attachment", a.filename) for a in message.attachments]
    for source, text in texts:
        named = _units_in(text, keys)
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
    named = _units_in(message.from_name, keys) if sender is None else ()
    if named and not sender_units:
        return UnitFinding(named[0], "display_name", named[1:], sender_units)
    return UnitFinding(None, "", (), sender_units)


def staff_forward(message: ParsedMessage, ours: Collection[str]) -> tuple[bool, str | None]:
    """Whether a mail from one of our own mailboxes forwards a unit's (转发:/Fwd:/FW:, or a message attached), and
    the forwarded message's sender (the first sender its quoted headers name that is not ours; None: none
    named). Staff forwarding staff's own mail forward no unit's."""
    _, prefixes = strip_prefixes(message.subject)
    attached = carries_forwarded_message(message.body_text) or any(a.sniffed_type == "eml" for a in message.attachments)
    if not attached and not any(prefix.lower() in _FORWARD_PREFIXES for prefix in prefixes):
        return False, None
    senders = forwarded_senders(message.body_text)
    original = next((address for address in senders if address not in ours), None)
    return (original is not None or not senders), original


def _unknown_unit_problem(address: str, finding: UnitFinding) -> str:
    if not address:
        return f"无法识别报送单位：主题和附件名中没有单位名称，邮件也没有发件人地址，不计分，{_REVIEW}"
    if finding.sender_units:
        names = "、".join(unit.name for unit in finding.sender_units)
        return (
            f"无法识别报送单位：主题和附件名中没有单位名称，发件人 {address} 同时登记为 {names} 的报送邮箱，"
            f"不计分，{_REVIEW}，并提醒该单位在主题中写明单位名称"
        )
    return (
        f"无法识别报送单位：主题和附件名中没有单位名称，发件人 {address} 也未登记为任何单位的报送邮箱，"
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
        problems.append(f"{where}中出现多个单位（{names}），已按 {unit.name} 记录，{_REVIEW}")
    if finding.named_instead and conflict_said:
        named = "、".join(u.name for u in finding.named_instead)
        problems.append(
            f"{_SOURCE_LABELS[finding.named_where]}写的单位是 {named}，{UNIT_CONFLICT_MARK}：{who} {address} 是 "
            f"{unit.name} 的报送邮箱，本邮件已按 {unit.name} 记录，{_REVIEW}；如是代 {named} 报送，"
            f"请由 {named} 的报送邮箱发送"
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
    month, month_source = _month_and_source(rest, message.attachments, arrival_local)
    address = (message.from_addr or "").strip()
    ours = {a.strip().lower() for a in own_addresses}
    own = bool(address) and address.lower() in ours
    forwarded, original = staff_forward(message, ours) if own else (False, None)
    finding = find_message_unit(message, units, (original or "") if forwarded else None)
    # A conflict is said of what may be a submission: a clerk's reply or letter naming another unit is no slip.
    conflict_said = (
        kind not in (Kind.REPLY, Kind.OTHER) or bool(message.attachments) or names_a_package(rest, arrival_local)
    )
    # Machine mail, a read receipt, our own mail and a clerk's 自查 are never scored, so sender checks would only
    # be noise; so is staff's forward of no unit's mail.
    quiet = kind in (Kind.AUTO, Kind.BOUNCE, Kind.SELFCHECK) or (
        kind in (Kind.OTHER, Kind.REPLY) and is_read_receipt(message.subject, message.body_text)
    )
    if forwarded and finding.unit is not None:
        registered = finding.unit in finding.sender_units
        note = f"{FORWARDED_MARK} {address} 转发，" + (
            f"按原发件人 {original} 的邮件识别" if original else "邮件中没有原发件人的地址"
        )
        sender_problems = _sender_problems(original or "", finding, registered, conflict_said, "原发件人")
        problems = () if quiet else (note, *sender_problems)
    else:
        registered = not own and finding.unit is not None and finding.unit in finding.sender_units
        problems = () if quiet or own else _sender_problems(address, finding, registered, conflict_said)
    return Recognition(
        unit=finding.unit.name if finding.unit else None,
        kind=kind,
        month=month,
        month_source=month_source,
        registered=registered,
        problems=problems,
    )
