"""The season's messages: each unit's monthly package and briefing articles built from the plan and its
edge cases (events.py), rendered to bytes, and written to Maildirs or an mbox.

Every byte is a function of the seed: Message-IDs and MIME boundaries are derived from the message.
"""

from __future__ import annotations

import calendar
import hashlib
import mailbox
import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

from bot.demo.season.events import (
    CORRECTIONS,
    SPECIAL_BRIEFINGS,
    SPECIAL_PACKAGES,
    Dispatch,
    Spec,
    noise_specs,
    standard_dispatches,
)
from bot.demo.season.files import article_docx, file_name, form_file, zip_bytes
from bot.demo.season.plans import (
    DEPARTMENTS,
    EXAMPLE_CONFIG,
    MONTHS,
    PLANS,
    YEAR,
    UnitInfo,
    UnitPlan,
    at,
    load_units,
    month_figures,
)
from bot.demo.season.sheets import organisation


@dataclass(frozen=True)
class GeneratedMail:
    """One message as it lies in one department mailbox; a Cc'd message lies in two."""

    mailbox_address: str
    raw: bytes
    arrival: datetime
    note: str
    kind: str  # what the season means it to be: report, briefing, reply, auto, bounce or other
    files: tuple[str, ...] = ()  # names of the attached files (a .zip counts once)


def package_files(
    plan: UnitPlan, unit: UnitInfo, month: int, dispatch: Dispatch, seed: int
) -> tuple[tuple[str, bytes], ...]:
    """The files of one package mail, by name; one .zip when the unit zips that department's forms."""
    figures = (
        month_figures(plan, month)
        if dispatch.figures is None
        else {**month_figures(plan, month, as_sent=False), **dispatch.figures}
    )
    workbook = dispatch.workbook or plan.workbook
    files: list[tuple[str, bytes]] = []
    workbooks = 0
    for form in dispatch.forms:
        extension, data = form_file(plan, unit, month, form, figures, dispatch.arrival, seed, workbook)
        workbooks += form != 1
        files.append((file_name(plan, month, form, extension, workbooks), data))
    if dispatch.dept in plan.zipped and len(files) > 1:
        return ((f"{plan.name}{month}月份报表.zip", zip_bytes(files, dispatch.arrival, plan.gbk_zip)),)
    return tuple(files)


def dispatch_spec(
    plan: UnitPlan, unit: UnitInfo, month: int, dispatch: Dispatch, boxes: Mapping[str, str], seed: int
) -> Spec:
    """The message of one package mail: the unit's subject and greeting, the files, Cc when one_mail."""
    dept_name, contact = DEPARTMENTS[dispatch.dept]
    subject = dispatch.subject or plan.subject.format(m=month, dept=dept_name)
    sender = dispatch.sender or formataddr((organisation(unit.name), unit.sender))
    body = f"{contact}老师：\n    您好！{subject}已随附件报送，请查收。\n{organisation(unit.name)}"
    cc = boxes["kfb"] if plan.one_mail and dispatch.dept == "jjb" else None
    forms = "、".join(map(str, dispatch.forms))
    note = f"{plan.name} {YEAR}-{month:02d} package to {dept_name}: 附件{forms}" + (
        f"; {dispatch.note}" if dispatch.note else ""
    )
    return Spec(
        sender,
        boxes[dispatch.dept],
        subject,
        dispatch.arrival,
        note,
        package_files(plan, unit, month, dispatch, seed),
        dispatch.sent,
        body,
        cc,
    )


def package_dispatches(plan: UnitPlan, unit: UnitInfo, month: int, boxes: Mapping[str, str], seed: int) -> list[Spec]:
    """Every mail of the unit's package for `month`, edge cases and corrections included."""
    dispatches = standard_dispatches(plan, month, seed)
    special = SPECIAL_PACKAGES.get((plan.name, month))
    if special is not None:
        dispatches = special(dispatches)
    correction = CORRECTIONS.get((plan.name, month))
    if correction is not None:
        subject = f"{plan.name}{month}月份目标任务完成情况汇总表（更正）"
        dispatches = [*dispatches, replace(correction, subject=subject)]
    return [dispatch_spec(plan, unit, month, item, boxes, seed) for item in dispatches]


DIGITS = "零一二三四五六七八九"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def chinese_number(number: int) -> str:
    """1–99 as written in a title: 三, 十二, 二十一."""
    tens, ones = divmod(number, 10)
    return ((DIGITS[tens] if tens > 1 else "") + "十" if tens else "") + (DIGITS[ones] if ones else "")


def briefing_specs(plan: UnitPlan, unit: UnitInfo, month: int, boxes: Mapping[str, str], seed: int) -> list[Spec]:
    """The month's briefing articles to the office, one .docx each, special cases applied."""
    rng = random.Random(f"{seed}:{plan.name}:{month}:briefings")
    last = calendar.monthrange(YEAR, month)[1]

    def make(number: int, arrival: datetime) -> Spec:
        name, data = article_docx(plan.name, month, number, arrival, seed)
        subject = plan.article.format(
            n=number + 1, cn=chinese_number(number + 1), fw=str(number + 1).translate(FULL_WIDTH)
        )
        return Spec(
            formataddr((organisation(unit.name), unit.sender)),
            boxes["bgs"],
            subject,
            arrival,
            f"{plan.name} {YEAR}-{month:02d} briefing article {number + 1}",
            ((name, data),),
            body=f"李老师：\n    {name[:-5]}，请审阅。",
            kind="briefing",
        )

    specs = [
        make(number, at(month, rng.randint(1, last - 3), rng.randint(8, 18), rng.randint(0, 59)))
        for number in range(plan.briefings[month - 4])
    ]
    special = SPECIAL_BRIEFINGS.get((plan.name, month))
    return special(specs, make) if special is not None else specs


def compose(
    sender: str,
    to: str,
    subject: str,
    arrival: datetime | None,
    *,
    sent: datetime | None = None,
    body: str | None = None,
    cc: str | None = None,
) -> EmailMessage:
    """A plain UTF-8 message as a unit's client would send it, with the receiving server's Received line
    stamped at `arrival` (None: no Received line) and a Date header of `sent` (default: a minute before)."""
    message = EmailMessage()
    if arrival is not None:
        message["Received"] = f"from mail.example.cn (unknown [127.0.0.1]) by mx.example.cn; {format_datetime(arrival)}"
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    sent = sent or (arrival - timedelta(minutes=1) if arrival else None)
    if sent is not None:
        message["Date"] = format_datetime(sent)
    message["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    message.set_content(body if body is not None else f"{subject}\n\n请查收。", charset="utf-8")
    return message


def _render(spec: Spec) -> bytes:
    message = compose(spec.sender, spec.to, spec.subject, spec.arrival, sent=spec.sent, body=spec.body, cc=spec.cc)
    for name, value in spec.headers:
        message[name] = value
    ident = hashlib.sha1(f"{spec.note}|{spec.arrival.isoformat()}".encode()).hexdigest()[:24]
    domain = spec.sender.rpartition("@")[2].strip(">") or "example.cn"
    message.replace_header("Message-ID", f"<{ident}@{domain}>")
    for filename, data in spec.files:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=filename)
    if message.is_multipart():
        message.set_boundary(f"----=_Part_{ident}")
    return message.as_bytes()


def mails_of(spec: Spec) -> list[GeneratedMail]:
    """The message rendered, once per mailbox it lies in (To, and Cc when there is one)."""
    raw = _render(spec)
    names = tuple(name for name, _ in spec.files)
    return [
        GeneratedMail(address, raw, spec.arrival, spec.note, spec.kind, names)
        for address in (spec.to, *([spec.cc] if spec.cc else []))
    ]


def generate_season(
    seed: int = 2020, config: Path = EXAMPLE_CONFIG, months: Collection[int] = MONTHS
) -> list[GeneratedMail]:
    """Every message of the season, in order of arrival (a Cc'd message once per mailbox it lies in), for
    the units and department mailboxes of `config` (which must hold the 13 units of PLANS).

    `months` keeps the packages and briefings of those months (a late package may arrive in the next)
    and the other mail that arrives in them; the standings of tests/season_expected.py need them all."""
    units, boxes = load_units(config)
    specs: list[Spec] = []
    for plan in PLANS:
        unit = units[plan.name]
        for month in sorted(months):
            specs += package_dispatches(plan, unit, month, boxes, seed)
            specs += briefing_specs(plan, unit, month, boxes, seed)
    specs += [spec for spec in noise_specs(units, boxes) if spec.arrival.month in months]
    ordered = sorted(enumerate(specs), key=lambda pair: (pair[1].arrival, pair[0]))
    return [mail for _, spec in ordered for mail in mails_of(spec)]


def mailbox_keys(config: Path = EXAMPLE_CONFIG) -> dict[str, str]:
    """Department mailbox key by address."""
    return {address: key for key, address in load_units(config)[1].items()}


def write_maildirs(
    directory: Path, mails: Sequence[GeneratedMail] | None = None, folders: Mapping[str, str] | None = None
) -> int:
    """One Maildir per department mailbox under `directory`, each mail in the new/ of the one its
    mailbox_address names; `folders` maps address to folder name (default: the example config's keys).
    Returns the files written."""
    mails = generate_season() if mails is None else mails
    folders = mailbox_keys() if folders is None else folders
    for folder in folders.values():
        for sub in ("cur", "new", "tmp"):
            (directory / folder / sub).mkdir(parents=True, exist_ok=True)
    for number, mail in enumerate(mails):
        (directory / folders[mail.mailbox_address] / "new" / f"{number:05d}.season").write_bytes(mail.raw)
    return len(mails)


def write_mbox(path: Path, mails: Sequence[GeneratedMail] | None = None) -> int:
    """Every distinct message once, in one mbox file; returns the messages written."""
    mails = generate_season() if mails is None else mails
    box = mailbox.mbox(path, create=True)
    written: set[bytes] = set()
    try:
        for mail in mails:
            if mail.raw not in written:
                box.add(mail.raw)
                written.add(mail.raw)
        box.flush()
    finally:
        box.close()
    return len(written)
