"""Everything a message is derived into, from its raw bytes and the configuration: parsed, recognised,
every attachment read, the package checked. A pure function of its inputs, with picklable inputs and
output, so the reader sandbox (bot/services/sandbox.py) can run it in a worker process and archive/ingest.py
turns the result into rows.

Texts are bounded here: a subject keeps its first SUBJECT_CHARS characters and a body its first
BODY_CHARS for display and the search index (the raw message stays whole and downloadable), so no
single message makes ingest, the index or a results page unbounded.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from parsers.articles import text_keys
from parsers.checks import check_package
from parsers.forms import FormReading, Problem, unreadable
from parsers.mime import parse_message, unparsed
from parsers.months import UNDATED, named_months, placed, report_month
from parsers.recognize import answers_our_subject, message_month, recognize
from parsers.records import Attachment, Kind, ParsedMessage, Recognition, Unit, counted_month
from parsers.searchdoc import Document, build_document
from parsers.unit_names import counterpart, seen_from
from parsers.workbook import read_attachment

log = logging.getLogger(__name__)

SUBJECT_CHARS = 2_000
BODY_CHARS = 1_000_000
HEADER_FIELD_BYTES = 64 * 1024  # one header field as parsed (a To: of 1,000 addresses is about 40 KB)
HEADERS_CUT = "邮件头中有字段过长（{size:,} 字节），仅解析其前 {limit:,} 字节；原件完整保存"
UNTRUSTED_ARRIVAL = "到达时间取自发件人的 Date 头（邮件无服务器接收时间），仅供参考"
NO_ARRIVAL = "邮件既无服务器接收时间也无 Date 头，到达时间按归档时间记录"
NO_MAILBOX = "邮件的收件人和抄送中没有任何一个部门邮箱，无法确定所属邮箱"
# A submission of a unit that its month's plan year does not hold (merged, renamed or gone): counted for nobody.
UNPLANNED_MARK = "不在该年度计划的单位中"
UNPLANNED = (
    "{unit}" + UNPLANNED_MARK + "（{year} 年），本邮件不计入任何单位的报送；"
    "如单位已合并或更名，请在主题中写明现在的单位名称后重新发送，或联系市残联工作人员"
)


@dataclass(frozen=True)
class Incoming:
    """One message as a source delivers it, with where it was seen."""

    raw: bytes
    mailbox: str | None
    source: str  # imap | maildir | import
    arrival: datetime | None = None  # the server's time (IMAP INTERNALDATE) when the source knows it
    folder: str | None = None
    uidvalidity: int | None = None
    uid: int | None = None
    origin: str | None = None
    archived_at: datetime | None = None  # when its bytes were archived, if before it is derived (spooled)


# Moves whenever what derivation makes of the same bytes changes (a reader, recognition, the document):
# every message derived before is then due for `mailroom rederive`.
DERIVATION_VERSION = "2026-12-17.1"


@dataclass(frozen=True)
class Recognizer:
    """What recognition, and the receipt decision made with it, need from the configuration and the
    staff's decisions."""

    units: tuple[Unit, ...]
    timezone: ZoneInfo
    mailboxes: tuple[tuple[str, str], ...]  # (address, key) of each department mailbox
    # Each plan year with its units and their targets: a package's 附件2 目标数 is checked against the targets
    # of its month's year (none when no plan holds the unit that year).
    plans: tuple[tuple[int, tuple[Unit, ...]], ...] = ()
    receipt_max_age: timedelta | None = None  # mail older than this when archived is owed no receipt
    confirmed: tuple[tuple[str, str, date | None], ...] = ()  # (unit, address, since) staff confirmed
    # each plan year's units as its mail is recognised among them (year_units), made once
    _seen: dict[int, tuple[Unit, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        seen = {year: seen_from(units, self.units) for year, units in self.plans}
        object.__setattr__(self, "_seen", seen)

    def units_at(self, arrival: datetime, month: str | None = None) -> tuple[Unit, ...]:
        """The units mail arriving at `arrival` for `month` is recognised among (year_units), with the addresses
        staff confirmed by then added to their senders."""
        units = self.year_units(month)
        if not self.confirmed:
            return units
        day = arrival.astimezone(self.timezone).date()
        extra: dict[str, list[str]] = {}
        for unit, address, since in self.confirmed:
            if since is None or since <= day:
                extra.setdefault(unit, []).append(address)
        # by the unit's name or an alias: one confirmed for a unit renamed since (its old name now an alias) too
        return tuple(
            replace(unit, senders=(*unit.senders, *added)) if (added := _confirmed_for(unit, extra)) else unit
            for unit in units
        )

    def year_units(self, month: str | None) -> tuple[Unit, ...]:
        """The units mail for `month` is recognised among: its plan year's, then the other years' that share no
        name, alias or address with them (parsers.unit_names.seen_from), the nearest plan year before standing
        for a year no plan holds (else the first). Units of different years may share a name, an alias or an
        address (a renamed unit keeps its predecessor's), and within a year each is one unit's. All units when
        no plan is known, or for no month."""
        if not self._seen or month is None:
            return self.units
        year = int(month[:4])
        return self._seen[max((each for each in self._seen if each <= year), default=min(self._seen))]

    @property
    def stamp(self) -> str:
        """What derived a message: this code's version and the configuration recognition reads (a digest).
        Not the staff's confirmations: each one re-derives the messages it concerns when it is made."""
        inputs = repr((DERIVATION_VERSION, self.units, self.plans, self.mailboxes, str(self.timezone)))
        return hashlib.sha256(inputs.encode()).hexdigest()[:16]

    def unit(self, name: str | None) -> Unit | None:
        return next((unit for unit in self.units if unit.name == name), None)

    def planned(self, name: str | None, month: str | None) -> Unit | None:
        """The unit with the targets of `month`'s plan year; None when no plan holds it that year."""
        year = int(month[:4]) if month else None
        units = next((units for each, units in self.plans if each == year), ())
        return next((unit for unit in units if unit.name == name), None)

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset(address for address, _ in self.mailboxes)

    def mailbox_for(self, parsed: ParsedMessage) -> str | None:
        """The department mailbox a message was addressed to (To first, then Cc)."""
        keys = dict(self.mailboxes)
        return next((keys[a] for a in (*parsed.to_addrs, *parsed.cc_addrs) if a in keys), None)


@dataclass(frozen=True)
class Derived:
    """A message as derived: the parsed record (attachments with their bytes), recognition, the forms read
    from each attachment (by its position) with the package checks on its 附件2, and every problem."""

    parsed: ParsedMessage
    arrival: datetime
    arrival_trusted: bool
    recognition: Recognition
    mailbox: str | None
    month: str | None
    month_source: str
    readings: tuple[tuple[int, FormReading, tuple[Problem, ...]], ...]
    problems: tuple[str, ...]
    document: tuple[Document, list[str]] | None = None  # what the search index stores, and its grams
    # A briefing's article files known by their text (parsers.articles): (position, key); the others by bytes.
    article_keys: tuple[tuple[int, str], ...] = ()

    def with_document(self) -> Derived:
        """This message with its search document made (in the reader process, beside the parse)."""
        parsed = self.parsed
        document = build_document(
            parsed.subject,
            parsed.from_name,
            parsed.from_addr,
            (attachment.filename for attachment in parsed.attachments),
            parsed.body_text,
            (
                (reading.source, reading.form, reading.text, (person.fields for person in reading.persons))
                for _, reading, _ in self.readings
            ),
        )
        return replace(self, document=(document, sorted(document.grams)))


def derive_message(recognizer: Recognizer, item: Incoming) -> Derived:
    """Parse, recognise and read everything (in one process: the sandbox's fast path)."""
    parsed, recognition, arrival = parse_and_recognise(recognizer, item)
    found = [
        (n, reading)
        for n, attachment in enumerate(parsed.attachments)
        for reading in read_one(recognizer, attachment, recognition.unit, recognition.month)
    ]
    derived = assemble(recognizer, item, parsed, recognition, arrival, found, ())
    if recognition.kind is Kind.BRIEFING:
        derived = replace(derived, article_keys=text_keys(parsed))
    return derived.with_document()


def parse_and_recognise(
    recognizer: Recognizer, item: Incoming
) -> tuple[ParsedMessage, Recognition, tuple[datetime, bool, str | None]]:
    raw, longest = bounded_headers(item.raw)
    parsed = bounded(parse_message(raw))
    if longest:
        parsed = replace(
            parsed, problems=(*parsed.problems, HEADERS_CUT.format(size=longest, limit=HEADER_FIELD_BYTES))
        )
    arrival = arrival_of(item, parsed)
    return parsed, _recognise(recognizer, parsed, arrival[0]), arrival


def _confirmed_for(unit: Unit, extra: dict[str, list[str]]) -> list[str]:
    return [address for spelling in (unit.name, *unit.aliases) for address in extra.get(spelling, ())]


def read_one(
    recognizer: Recognizer, attachment: Attachment, unit: str | None, month: str | None
) -> tuple[FormReading, ...]:
    """The forms one attachment holds, the units its titles may name being those of `month`'s plan year (the month
    recognition filed the mail under); a reader's bug becomes an unreadable reading, never an exception."""
    units = recognizer.year_units(month)
    try:
        return read_attachment(attachment.filename, attachment.data, units, year=UNDATED, sender_unit=unit)
    except Exception:  # a bug in a reader must not lose the message: kept, and shown to staff
        log.exception("读取附件 %r 失败", attachment.filename)
        return (unreadable(attachment.filename, "读取附件时发生内部错误，已归档原件，请工作人员人工核对"),)


def assemble(
    recognizer: Recognizer,
    item: Incoming,
    parsed: ParsedMessage,
    recognition: Recognition,
    arrival: tuple[datetime, bool, str | None],
    found: list[tuple[int, FormReading]],
    extra: tuple[str, ...],
) -> Derived:
    """The derived message from its parts: a title's month without a year placed by the arrival, a workbook
    title's month beats the arrival month, the package checks (against the targets of its month's year) go on
    its 附件2."""
    when, trusted, arrival_problem = arrival
    local = when.astimezone(recognizer.timezone)
    found = [
        (
            n,
            reading
            if placed(reading.month, local) == reading.month
            else replace(reading, month=placed(reading.month, local)),
        )
        for n, reading in found
    ]
    month, month_source = recognition.month, recognition.month_source
    if month_source == "subjects":  # 9月、10月份报表: a form whose title names no month is its file name's, if named
        named = set(named_months(parsed.subject, local))
        found = [(n, _month_by_name(reading, named, local)) for n, reading in found]
    stated = next((reading.month for _, reading in found if reading.readable and reading.month), None)
    if stated and month_source == "arrival" or _next_package_in_reply(parsed.subject, month, month_source, found):
        month, month_source = stated, "workbook" if month_source == "arrival" else "reply"
        read_among, units = recognizer.year_units(recognition.month), recognizer.year_units(month)
        if units is not read_among:
            # a workbook's month in another plan year (December's titles, mailed in January): its units decide,
            # and a title's unit read among the other year's is its counterpart of this year (枣强区 → 枣强县)
            recognition = _recognise(recognizer, parsed, when, month)
            found = [
                (n, replace(reading, unit=counterpart(reading.unit, read_among, units)) if reading.unit else reading)
                for n, reading in found
            ]
    problems = [*parsed.problems, *recognition.problems, *([arrival_problem] if arrival_problem else []), *extra]
    mailbox = item.mailbox or recognizer.mailbox_for(parsed)
    if mailbox is None:
        problems.append(NO_MAILBOX)
    if month is not None and _unplanned(recognizer, recognition, month):
        problems.append(UNPLANNED.format(unit=recognition.unit, year=month[:4]))
    checks = _package_checks(recognizer, recognition.unit, [reading for _, reading in found], month, month_source)
    return Derived(
        parsed,
        when,
        trusted,
        recognition,
        mailbox,
        month,
        month_source,
        tuple((n, reading, checks.get(id(reading), ())) for n, reading in found),
        tuple(problems),
    )


def _month_by_name(reading: FormReading, named: set[str], local: datetime) -> FormReading:
    """A form of a mail naming several months whose title names none, with the month its file's name names
    (武邑县9月份附件9.xlsx; a zip's member by its path in the zip, 9月/附件9.xlsx) when that is one of them: it was
    counted for the subject's last month, and its own month said to be missing it."""
    if reading.form is None or reading.month is not None:
        return reading
    month = report_month(reading.source.rsplit(" › ", 1)[-1], local)
    return replace(reading, month=month) if month in named else reading


def _next_package_in_reply(subject: str, month: str | None, source: str, found: list[tuple[int, FormReading]]) -> bool:
    """Whether a mail answering one of ours ("回复：回执：安平县11月份报表") carries forms whose titles all name one
    later month than the one its subject quotes: the clerk sent the next package by replying to the last receipt.
    Filed for the forms' month ("reply"), which its receipt says, with what to do if it was the quoted month's
    correction after all (replies.receipt.month_read_as). A title naming an earlier month is taken for one left
    unchanged, as in any package (the subject rules)."""
    months = {reading.month for _, reading in found if reading.readable and reading.month}
    return (
        source == "subject"
        and month is not None
        and len(months) == 1
        and min(months) > month
        and answers_our_subject(subject)
    )


def _unplanned(recognizer: Recognizer, recognition: Recognition, month: str) -> bool:
    """A report or briefing of a unit that the plan of its month's year does not hold (a year no plan covers
    is another matter: scoring says so)."""
    if recognition.unit is None or recognition.kind not in (Kind.REPORT, Kind.BRIEFING):
        return False
    planned_years = {year for year, _ in recognizer.plans}
    return int(month[:4]) in planned_years and recognizer.planned(recognition.unit, month) is None


def _package_checks(
    recognizer: Recognizer, unit: str | None, readings: list[FormReading], month: str | None, month_source: str
) -> dict[int, tuple[Problem, ...]]:
    """The package checks (against the targets of its month's year) of each month the forms are counted for
    (counted_month: a mail of 7、8月份报表 carries two packages, and August's 附件2 is never checked against July's
    registries), put on the first readable 附件2 of that month, by its id()."""
    months: dict[str | None, list[FormReading]] = {}
    for reading in readings:
        months.setdefault(counted_month(month, month_source, reading.month), []).append(reading)
    checks: dict[int, tuple[Problem, ...]] = {}
    for counted, own in months.items():
        package = recognizer.planned(unit, counted) or recognizer.unit(unit)
        summary = next((reading for reading in own if reading.form == 2 and reading.readable), None)
        if package is not None and summary is not None:
            checks[id(summary)] = tuple(check_package(own, package))
    return checks


def corrected(derived: Derived, unit: str | None, kind: str | None, month: str | None, counted: bool | None) -> Derived:
    """A derived message with staff's correction on top: what they gave replaces what was recognised (the
    correction itself, who and why, is shown from its record: archive.decisions)."""
    recognition = derived.recognition
    recognition = replace(
        recognition,
        unit=unit or recognition.unit,
        kind=Kind(kind) if kind else recognition.kind,
        registered=recognition.registered if counted is None else counted,
    )
    return replace(
        derived,
        recognition=recognition,
        month=month or derived.month,
        month_source="staff" if month else derived.month_source,
    )


def raw_only(recognizer: Recognizer, item: Incoming, why: str) -> Derived:
    """A message nothing could be derived from (its parsing crashed or hung): kept whole, shown to staff."""
    recognition = Recognition(unit=None, kind=Kind.OTHER, month=None, month_source="arrival", registered=False)
    when = item.arrival or datetime.now(UTC)
    return Derived(unparsed(), when, item.arrival is not None, recognition, item.mailbox, None, "arrival", (), (why,))


def bounded_headers(raw: bytes) -> tuple[bytes, int]:
    """The message with each header field cut to HEADER_FIELD_BYTES, and the size of the longest field cut
    (0: none was). Parsing a 50 MB Subject line would take seconds and most of a gigabyte."""
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    if end <= HEADER_FIELD_BYTES:
        return raw, 0
    fields: list[bytes] = []
    for line in raw[:end].split(b"\n"):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1] += b"\n" + line
        else:
            fields.append(line)
    longest = max(len(field) for field in fields)
    if longest <= HEADER_FIELD_BYTES:
        return raw, 0
    kept = [field[:HEADER_FIELD_BYTES].rstrip(b"\r\n") for field in fields]
    return b"\n".join(kept) + raw[end:], longest


def bounded(parsed: ParsedMessage) -> ParsedMessage:
    """The subject and body cut to what is shown and indexed, saying so."""
    cut = []
    subject, body = parsed.subject, parsed.body_text
    if len(subject) > SUBJECT_CHARS:
        subject = subject[:SUBJECT_CHARS]
        cut.append(f"主题过长（{len(parsed.subject):,} 字符），仅显示和检索前 {SUBJECT_CHARS:,} 字符；原件完整保存")
    if len(body) > BODY_CHARS:
        body = body[:BODY_CHARS]
        cut.append(f"正文过长（{len(parsed.body_text):,} 字符），仅显示和检索前 {BODY_CHARS:,} 字符；原件完整保存")
    if not cut:
        return parsed
    return replace(parsed, subject=subject, body_text=body, problems=(*parsed.problems, *cut))


def arrival_of(item: Incoming, parsed: ParsedMessage) -> tuple[datetime, bool, str | None]:
    """The server's time when known: the source's, else the newest Received header; else the Date header."""
    if item.arrival is not None:
        return item.arrival, True, None
    if parsed.received_dates:
        return parsed.received_dates[0], True, None
    if parsed.date is not None:
        return parsed.date, False, UNTRUSTED_ARRIVAL
    return datetime.now(UTC), False, NO_ARRIVAL


def _recognise(
    recognizer: Recognizer, parsed: ParsedMessage, arrival: datetime, month: str | None = None
) -> Recognition:
    """Recognition among the units of the plan year of `month`, by default the month recognition files the mail
    under (a month the subject or a file name names, else the arrival's)."""
    try:
        units = recognizer.units_at(arrival, month or message_month(parsed, arrival, recognizer.timezone))
        return recognize(parsed, units, arrival, recognizer.timezone, recognizer.own_addresses)
    except Exception:  # a bug in recognition must not lose the message: it is kept and shown to staff
        log.exception("识别邮件失败，主题 %r", parsed.subject)
        return Recognition(
            unit=None,
            kind=Kind.OTHER,
            month=None,
            month_source="arrival",
            registered=False,
            problems=("识别时发生内部错误，已归档，请工作人员人工处理",),
        )
