"""Replies owed for archived messages (archive/owed.py), composed into the outbox: receipts as the unit's month
stands now, staff's change notices, and the answers to 自查 mails (the inspection of their stored files)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from archive.closing import closed_years
from archive.decisions import message_decisions
from archive.evidence import (
    COUNTED_KINDS,
    briefing_place,
    carries_articles,
    copied_from_another_unit,
    package_arrivals,
    summary_reports,
)
from archive.models import Message, OutboxMail, OwedReply
from archive.outbox import ANSWERS, queue_mail
from archive.owed import message_facts, owed_replies
from archive.staff_senders import confirmed_senders
from bot.config import Config
from bot.outgoing.render import compose, date_text, date_time_text, deadline_text, render_pair
from bot.services.inspect import conclusion, describe, has_problems
from bot.services.show import decided_text
from parsers.form_layouts import FORM_TITLES
from parsers.records import name_as_today
from parsers.unit_names import units_for_sender
from replies.receipt import (
    FileFacts,
    MessageFacts,
    Receipt,
    Uncounted,
    addressable,
    counted_months,
    receipt_for,
    selfcheck_answer,
)
from scoring.completion import decreases
from scoring.components import task_rules
from scoring.evidence import TASK_LABELS
from scoring.packages import PackageStatus, package_status
from scoring.settings import month_label

KIND_TEXT = {"report": "月度报表", "briefing": "简报信息", "other": "其他来信"}
HOUR = timedelta(hours=1)
# What reads a 自查 message's stored attachments, as `mailroom inspect` would (bot/services/inspect.py
# archive_inspector).
Inspector = Callable[[Message], list[dict[str, Any]]]

log = logging.getLogger(__name__)


def queue_owed_receipts(
    config: Config,
    session: Session,
    now: datetime,
    stopping: Callable[[], bool] = lambda: False,
    inspector: Inspector | None = None,
    set_aside: set[int] | None = None,
) -> int:
    """Compose each owed reply (a receipt as the unit's month stands now; a 自查's answer from its files, read
    by `inspector`) into the outbox, in the commit that marks it queued; returns how many were queued. Over
    `receipts_per_hour` to one address, a reply waits for the next hour; replies waiting so are first planned
    again under today's `receipts_per_hour` (raised: sooner). One that cannot be composed (a bug: logged whole)
    is added to `set_aside` and the others go on; without `set_aside` the error is raised."""
    _plan_sooner(session, config.outgoing.receipts_per_hour, now)
    queued = 0
    aside = set_aside if set_aside is not None else set()
    while (batch := owed_replies(session, besides=aside)) and not stopping():
        for owed in batch:
            try:
                queued += _queue_owed(config, session, owed, now, inspector)
            except SQLAlchemyError:
                raise  # the database, not this reply: the sender tries again later
            except Exception:
                if set_aside is None:
                    raise
                session.rollback()
                log.exception("撰写应发的回复 #%d（%s）失败：暂时搁置，下次启动时再试", owed.id, owed.cause)
                aside.add(owed.id)
    return queued


def _queue_owed(config: Config, session: Session, owed: OwedReply, now: datetime, inspector: Inspector | None) -> bool:
    """One owed reply composed into the outbox, in the commit that marks it queued; whether it was queued."""
    message = session.scalars(
        select(Message)
        .where(Message.id == owed.message_id)
        .options(selectinload(Message.readings), selectinload(Message.attachments))
    ).one()
    facts = message_facts(message)
    if owed.kind == "selfcheck":
        if inspector is None:
            raise ValueError("a 自查's answer needs an inspector of the stored files")
        receipt = selfcheck_answer(facts, inspector(message))
        mail = _compose_selfcheck(config, receipt, now)
    elif owed.kind == "change" and not addressable(facts.sender, config.own_addresses):
        # Our own mailbox (staff forwarded or sent it: they know what they decided) or a no-reply address:
        # a notice goes only where a receipt could go, so the one owed is dropped, as a withdrawn one is.
        log.info("核实通知 %s 不发出：%s 不是应收通知的发件人", owed.cause, facts.sender)
        session.delete(owed)
        session.commit()
        return False
    else:
        receipt = _receipt(config, session, facts, now)
        decided = decision_lines(session, message, config.timezone)
        greeting = sender_unit(config, session, message)
        mail = (
            _compose(config, receipt, now, decided, greeting)
            if owed.kind == "receipt"
            else _compose_change(
                config,
                receipt,
                now,
                decided or [owed.note or ""],
                counts=facts.registered,
                greeting=greeting,
            )
        )
    not_before = _hour_with_room(session, receipt.to, config.outgoing.receipts_per_hour, now)
    queued = queue_mail(session, owed.cause, owed.kind, mail, now, about_message=message.id, not_before=not_before)
    owed.queued_at = now
    session.commit()
    return queued is not None


def sender_unit(config: Config, session: Session, message: Message) -> str | None:
    """The unit the message's sender address is registered for (in the configuration, or confirmed by staff for
    mail of its arrival day), whom its 核实通知 greets; None when it is none's (or several units', the message's
    own unit not among them). A confirmation recorded under a unit's old name is the renamed unit's, as the
    message's plan year calls it."""
    address = (message.from_addr or "").strip().lower()
    if not address:
        return None
    day = message.arrival.astimezone(config.timezone).date()
    month = message.month or config.local_month(message.arrival)
    planned = config.plan(month).units if config.plans.covers(month) else ()
    names = {unit.name for unit in units_for_sender(address, config.units)} | {
        name_as_today(config.units, unit, planned)
        for unit, confirmed, since in confirmed_senders(session)
        if confirmed == address and (since is None or since <= day)
    }
    if len(names) == 1:
        return next(iter(names))
    return message.unit if message.unit in names else None


def decision_lines(session: Session, message: Message, zone: ZoneInfo) -> list[str]:
    """The staff decisions the message's recognition stands on, as a receipt or a 核实通知 says them to the unit:
    what was decided, in plain words, and why (never who)."""
    decided = message_decisions(session, [message], zone).get(message.id, [])
    return [f"{decided_text(decision.row)}（{decision.row.reason}）" for decision in decided]


CLOCKS_APART = timedelta(hours=1)  # how far a mail's arrival may be ahead of this host's clock and still be "now"


def _receipt(config: Config, session: Session, facts: MessageFacts, now: datetime) -> Receipt:
    """The package's status of each month the mail's forms count for, of those a plan covers (under that
    plan); a briefing counted in its arrival month, against the nearest plan's number (none, 0, in a month its
    plan scores no briefings: December, or between plans)."""
    packages: list[PackageStatus] = []
    place: tuple[int, int] | None = None
    uncounted: Uncounted = "repeat"
    arrived = config.local_month(facts.arrival)
    plan = config.plans.of(config.plans.nearest_month(arrived))
    if facts.kind == "briefing" and facts.unit:
        place = briefing_place(session, facts.id, arrived, plan.calendar)
        if place is None and not carries_articles(session, facts.id):
            uncounted = "no-article"
        elif place is None and copied_from_another_unit(session, facts.id):
            uncounted = "copied"
    elif facts.unit:
        for month in counted_months(facts):
            if config.plans.covers(month) and facts.unit in (unit.name for unit in config.plan(month).units):
                arrivals = package_arrivals(session, facts.unit, month)
                # as known once this mail is in, whatever this host's clock says: a mail server ahead of it, or
                # a clock set back, must not have the receipt list the mail's own forms as not yet received (but a
                # sender's Date a month ahead, an imported file's, is no "now")
                known = max(now, min(facts.arrival, now + CLOCKS_APART))
                packages.append(package_status(facts.unit, month, arrivals, config.plan(month).calendar, known))
    judged = [
        (month, each.calendar.month_end(month))
        for each in {package.month[:4]: config.plan(package.month) for package in packages}.values()
        for month in (f"{each.year}-{rule.month:02d}" for rule in task_rules(each.scoring))
    ]
    scored = plan.year == int(arrived[:4]) and int(arrived[5:]) in plan.scoring.briefing_months
    needed = plan.scoring.briefings_per_month if scored else 0
    notes, settled = _month_notes(config, session, facts)
    if packages and any(file.form == 2 and file.done for file in facts.files):
        facts = replace(facts, problems=(*facts.problems, *_figures_down(session, facts)))
    return receipt_for(facts, packages, place, needed, judged, notes, settled, uncounted)


def _figures_down(session: Session, facts: MessageFacts) -> list[str]:
    """What of the mail's 附件2 went down from the unit's 附件2 of a month before (scoring.completion.decreases, the
    finding staff see), said to the clerk, who sent 10 after 256 and was told nothing; not a resend of the same
    month, most often the correction of a figure mistyped (staff still see it)."""
    before = [report for report in summary_reports(session, facts.unit) if report.arrival <= facts.arrival]
    return [
        f"附件2 中{TASK_LABELS[drop.task]}的累计完成数为 {drop.value}，低于此前报送的 {drop.before}；"
        "完成数应逐月累计，请核对后改正（如确需调减，请在邮件中说明原因）"
        for drop in decreases(before)
        if drop.message_id == facts.id and not drop.same_month
    ]


def _month_notes(config: Config, session: Session, facts: MessageFacts) -> tuple[list[str], bool]:
    """What a package's receipt says of the months its forms count for: those no plan reports count for
    nothing (until a plan of their year is configured); those not yet begun when it came (November's titled
    package on October 8: most often the month mistyped); a closed year's figures, kept when it was closed, stay
    as they are. And whether every one of those months is a closed year's (nothing sent again would count)."""
    months = counted_months(facts) if facts.unit else []
    notes = []
    if outside := [month for month in months if not config.plans.covers(month)]:
        notes.append(
            f"{'、'.join(map(month_label, outside))}不在年度计划的报送月份内（{config.plans.covered()}），"
            f"{'本邮件' if len(outside) == len(months) else '这些月份的表格'}目前不计分；"
            "如报送的是其他月份的报表，请在主题中写明月份后重新发送"
        )
    arrived = config.local_month(facts.arrival)
    if early := [month for month in months if month > arrived and config.plans.covers(month)]:
        notes.append(
            f"本邮件收到时{'、'.join(map(month_label, early))}尚未开始；"
            f"如报送的是{month_label(arrived)}或以前月份的报表，请核对主题和表格标题中的月份后重新发送"
        )
    closed = closed_years(session)
    for year in sorted({int(month[:4]) for month in months if int(month[:4]) in closed}):
        day = date_text(closed[year].closed_at, config.timezone)
        notes.append(f"{year} 年度已于 {day}结账，该年度的得分和排名已经确定，不会因本邮件而改变")
    return notes, bool(months) and all(int(month[:4]) in closed for month in months)


def _hour_with_room(session: Session, address: str, per_hour: int, now: datetime) -> datetime:
    """The first clock hour, from this one on, in which `address` has fewer than `per_hour` receipts
    planned; `now` when this hour has room."""
    if per_hour <= 0:
        return now
    hour = _hour_of(now)
    return max(now, _first_with_room(_planned(session, {address}, hour), address, hour, per_hour))


def _plan_sooner(session: Session, per_hour: int, now: datetime) -> None:
    """The replies waiting for a later hour's room (never tried yet) planned again under `per_hour`, each at
    the first hour with room from this one on, never later than it was: a limit raised since they were queued
    lets them go at once, or sooner."""
    hour = _hour_of(now)
    waiting = session.execute(
        select(OutboxMail.id, OutboxMail.recipients, OutboxMail.next_attempt_at)
        .where(
            OutboxMail.kind.in_(ANSWERS),
            OutboxMail.state == "pending",
            OutboxMail.attempts == 0,
            OutboxMail.next_attempt_at >= hour + HOUR,
        )
        .order_by(OutboxMail.recipients, OutboxMail.next_attempt_at, OutboxMail.id)
    ).all()
    if not waiting:
        return
    planned = _planned(session, {address for _, address, _ in waiting}, hour)  # the waiting ones included
    moved = False
    for mail_id, address, when in waiting:
        slot = _first_with_room(planned, address, hour, per_hour)
        if slot < _hour_of(when):
            planned[(address, _hour_of(when))] -= 1
            planned[(address, slot)] += 1
            session.execute(update(OutboxMail).where(OutboxMail.id == mail_id).values(next_attempt_at=max(now, slot)))
            moved = True
    if moved:
        session.commit()


def _planned(session: Session, addresses: Collection[str], hour: datetime) -> Counter[tuple[str, datetime]]:
    """Every answer planned to `addresses` from clock hour `hour` on, counted by (address, clock hour)."""
    return Counter(
        (address, _hour_of(when))
        for address, when in session.execute(
            select(OutboxMail.recipients, OutboxMail.next_attempt_at).where(
                OutboxMail.kind.in_(ANSWERS), OutboxMail.recipients.in_(addresses), OutboxMail.next_attempt_at >= hour
            )
        )
    )


def _first_with_room(planned: Counter[tuple[str, datetime]], address: str, hour: datetime, per_hour: int) -> datetime:
    """The first clock hour from `hour` on in which `address` has fewer than `per_hour` answers `planned`
    (`hour` itself when there is no limit)."""
    while per_hour > 0 and planned[(address, hour)] >= per_hour:
        hour += HOUR
    return hour


def _hour_of(when: datetime) -> datetime:
    """The clock hour `when` falls in, in UTC (a zone half an hour off UTC has other hours)."""
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _packages(context: dict[str, Any], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Each month's package line as the receipt and the 核实通知 say it, its month and deadline in words."""
    return [
        package
        | {"month_text": month_label(package["month"]), "deadline_text": deadline_text(package["deadline"], zone)}
        for package in context["packages"]
    ]


def _compose(config: Config, receipt: Receipt, now: datetime, decided: Sequence[str] = (), greeting: str | None = None):
    """The receipt; `decided`: the staff decisions its recognition stands on, said to the unit. It greets
    `greeting`, the unit the sender's address is registered for (sender_unit), as its 核实通知 would: a mail
    corrected to another unit is still answered to its own (the receipt's 单位 says whose it counts as)."""
    context = dict(receipt.context)
    zone = config.timezone
    context.update(
        arrival_text=_arrival_text(context["arrival"], zone),
        kind_text=KIND_TEXT.get(context["kind"], context["kind"]),
        month_text=_months_text(context["months"], context["month_read"]),
        packages=_packages(context, zone),
        files=[_file_view(f) for f in context["files"]],
        subject_line=receipt.subject,
        decisions=list(decided),
        addressed=config.addressee(greeting or context["unit"]),
    )
    return _reply(config, receipt, "receipt", context, now)


def _compose_change(
    config: Config,
    receipt: Receipt,
    now: datetime,
    decided: Sequence[str],
    counts: bool = True,
    greeting: str | None = None,
):
    """The short notice that a staff decision made a message count, count elsewhere, or stop counting (its
    sender not counted, `counts` False, or no longer a report or briefing), threaded under it, saying each
    decision its recognition now stands on. It greets `greeting`, the unit the sender's address is registered
    for (else "您好"), and names the unit the message now counts for when that is another."""
    context = receipt.context
    values = {
        "counts": counts and context["unit"] is not None and context["kind"] in COUNTED_KINDS,
        "unit": context["unit"],
        "greeting": greeting,
        "addressed": config.addressee(greeting),
        "subject": context["subject"],
        "decisions": decided,
        "arrival_text": _arrival_text(context["arrival"], config.timezone),
        "kind_text": KIND_TEXT.get(context["kind"], context["kind"]),
        "month_text": _month_text(context["month"]),
        # the month as it stands now: a package a decision made count may have made the month on time
        "packages": _packages(context, config.timezone) if counts else [],
    }
    return _reply(config, receipt, "change", values, now, subject=f"核实通知：{context['subject']}")


def _compose_selfcheck(config: Config, receipt: Receipt, now: datetime):
    """The answer to a 自查 mail: each file as `mailroom inspect` describes it, what the check comes to (as the
    web's 自查 page says it), and that nothing was counted."""
    context = receipt.context
    inspected = context["inspected"]
    values = {
        "subject": context["subject"],
        "attachments": context["attachments"],
        "arrival_text": _arrival_text(context["arrival"], config.timezone),
        "files": [describe(result) for result in inspected],
        "clean": bool(inspected) and not has_problems(inspected),
        "conclusion": conclusion(inspected, config),
    }
    return _reply(config, receipt, "selfcheck", values, now)


def _reply(config: Config, receipt: Receipt, template: str, values: dict, now: datetime, subject: str = ""):
    """The mail made from a template pair, to the receipt's address and threaded under its message."""
    text, html = render_pair(template, values, config)
    return compose(
        config.outgoing,
        [receipt.to],
        subject or receipt.subject,
        text,
        html,
        now,
        zone=config.timezone,
        in_reply_to=receipt.in_reply_to,
        references=receipt.references,
    )


def _arrival_text(arrival: datetime, zone: ZoneInfo) -> str:
    # to the second: a mail at 23:59:59 of the deadline's day is on time
    return f"{date_time_text(arrival, zone, seconds=True)}（北京时间）"


def _months_text(months: Sequence[str], read: str | None) -> str:
    """ "2020年7月、2020年8月"; with what the subject's range of months, or the receipt it quotes, was read as
    (replies.receipt.month_read_as): "2020年12月（主题中的“10-12月”按12月份报送登记；…）"."""
    text = "、".join(map(month_label, months)) or "未识别"
    return f"{text}（{read}）" if read else text


def _month_text(month: str | None) -> str:
    return month_label(month) if month else "未识别"


def _file_view(facts: FileFacts) -> dict[str, Any]:
    if facts.form:
        form_text = f"附件{facts.form} {FORM_TITLES.get(facts.form, '')}" + ("" if facts.readable else "（无法读取）")
    else:
        form_text = "未识别为附件表格" if facts.readable else "无法读取"
    done = "，".join(f"{TASK_LABELS[t]} {v}" for t, v in (facts.done or {}).items() if v is not None)
    return {
        "source": facts.source,
        "form": facts.form,
        "readable": facts.readable,
        "rows": facts.rows,
        "form_text": form_text,
        "done_text": done,
        "characters": facts.characters,
    }
