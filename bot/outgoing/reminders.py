"""Reminders: to each unit with forms still missing for the month, naming them and the deadline.

The scheduled job reminds before the deadline; `mailroom remind` may also run after it (a clerk chasing
late forms), and such a reminder must not ask for the forms "before the deadline": it says the deadline has
passed and asks for them at once. Which wording goes is decided here, from the moment the mail is queued,
so no caller can send the wrong one.

The two are distinct mails, each owed at most once per unit and month: a unit reminded on the 17th can still
be chased after the deadline, once. The outbox cause says which one it is (reminder_cause), so its unique key
keeps each to one, and a re-run skips the units that already had the one it would send."""

from __future__ import annotations

import email
import logging
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.closing import closed_years
from archive.evidence import load_evidence
from archive.models import JobRun, OutboxMail
from archive.outbox import queue_again, queue_mail, reminder_cause, reminder_of, replace_content, withdraw
from bot.config import Config
from bot.outgoing.render import compose, date_time_text, deadline_text, render_pair
from parsers.form_layouts import FORM_TITLES
from parsers.records import Unit
from scoring.packages import PackageStatus, matrix
from scoring.settings import month_label

log = logging.getLogger(__name__)
REMINDED, COMPLETE, NO_ADDRESS, ALREADY = "已提醒", "附件已齐", "无登记邮箱", "此前已提醒"


@dataclass(frozen=True)
class UnitReminder:
    """What the reminder job did for one unit, and the forms it found missing."""

    unit: str
    outcome: str  # REMINDED | COMPLETE | NO_ADDRESS | ALREADY
    missing: tuple[int, ...] = ()


def passed_deadline(config: Config, month: str, now: datetime) -> datetime | None:
    """`month`'s deadline (under its plan) when it has passed at `now`, else None: a reminder queued then
    says the deadline has passed (the same comparison as queue_reminders')."""
    deadline = config.plan(month).calendar.deadline_for(month)
    return deadline if now > deadline else None


def _already_reminded(session: Session, month: str, deadline: datetime) -> set[str]:
    """The causes of `month`'s reminders already queued. A reminder queued after the deadline before the two
    were told apart has the plain cause: it counts as the after-deadline one too, so no unit gets a second."""
    causes = set()
    for cause, created_at in session.execute(
        select(OutboxMail.cause, OutboxMail.created_at).where(
            OutboxMail.cause.like(reminder_cause(month, "%")), OutboxMail.state != "withdrawn"
        )
    ):
        causes.add(cause)
        if created_at > deadline and (read := reminder_of(cause)) is not None and not read.overdue:
            causes.add(reminder_cause(read.month, read.unit, overdue=True))
    return causes


def queue_reminders(
    config: Config, session: Session, month: str, now: datetime, dry_run: bool = False
) -> list[UnitReminder]:
    """Queue a reminder to each unit still missing forms of `month`: the one before its deadline, or once
    `now` is past it the one after (each never twice for a unit and month), and record the job's run for the
    month in the same commit; `dry_run` says what it would do and writes nothing. Only the units of the
    month's plan; a month no plan covers is refused (OutsidePlan) before anything is read or written."""
    plan = config.plan(month)
    evidence = load_evidence(session)
    packages = matrix(month, plan.units, evidence.arrivals, plan.calendar, now)
    deadline = plan.calendar.deadline_for(month)
    overdue = now > deadline
    already = _already_reminded(session, month, deadline)
    results = []
    for unit in plan.units:
        missing = tuple(packages[unit.name].forms_with("missing"))
        if not missing:
            results.append(UnitReminder(unit.name, COMPLETE))
        elif not unit.senders:
            results.append(UnitReminder(unit.name, NO_ADDRESS, missing))
        elif reminder_cause(month, unit.name, overdue) in already:
            results.append(UnitReminder(unit.name, ALREADY, missing))
        else:
            results.append(UnitReminder(unit.name, REMINDED, missing))
            if not dry_run:
                message = _reminder(config, month, unit.name, unit.senders, missing, overdue, now)
                cause = reminder_cause(month, unit.name, overdue)
                # one withdrawn before it went (the unit had sent everything then) is owed again
                if queue_mail(session, cause, "reminder", message, now) is None:
                    queue_again(session, cause, message, now, was="withdrawn")
    if not dry_run:
        session.merge(JobRun(job="reminders", period=month, done_at=now, summary=summary(results)))
        session.commit()
    return results


def summary(results: list[UnitReminder]) -> str:
    """ "已提醒 3 个单位（景县、…）；附件已齐 10 个" — what the job did, in one line."""
    parts = []
    for outcome in (REMINDED, ALREADY, NO_ADDRESS, COMPLETE):
        units = [result.unit for result in results if result.outcome == outcome]
        if units:
            parts.append(f"{outcome} {len(units)} 个单位（{'、'.join(units)}）")
    return "；".join(parts) or "没有单位"


def refresh_reminders(config: Config, session: Session, now: datetime) -> int:
    """The reminders still waiting in the outbox (an SMTP server down since they were queued) made true again
    before they are sent. Withdrawn (never sent, why on record: archive.outbox.withdraw) once no longer owed: its
    unit has sent every form, the deadline it was meant to come before has passed, its year was closed, or its
    month, its unit or the unit's addresses are no longer in the plan; composed again, under its Message-ID, when
    what is missing or where it goes has changed. One a sender has begun is left alone. Logged; commits; returns
    how many were withdrawn or composed again."""
    waiting = session.scalars(
        select(OutboxMail).where(OutboxMail.kind == "reminder", OutboxMail.state == "pending")
    ).all()
    if not waiting:
        return 0
    evidence, closed, changed = load_evidence(session), closed_years(session), 0
    packages: dict[str, dict[str, PackageStatus]] = {}  # each month's matrix, read once
    for mail in waiting:
        if (read := reminder_of(mail.cause)) is None:
            continue  # no reminder's cause: not ours to judge
        month, unit, after = read
        plan = config.plan(month) if config.plans.covers(month) else None
        planned = next((each for each in plan.units if each.name == unit), None) if plan else None
        if plan is None or planned is None:
            why: str | None = "该月或该单位已不在年度计划内"
        elif int(month[:4]) in closed:
            why = f"{month[:4]} 年度已结账"
        elif not planned.senders:
            why = "该单位已没有登记的报送邮箱"
        else:
            deadline = plan.calendar.deadline_for(month)
            overdue = after or mail.created_at > deadline  # before the two were told apart: by when it was queued
            if month not in packages:
                packages[month] = matrix(month, plan.units, evidence.arrivals, plan.calendar, now)
            missing = tuple(packages[month][unit].forms_with("missing"))
            why = "该单位的附件已报齐" if not missing else None
            if missing and not overdue and now > deadline:
                why = "截止时间已过，截止前的提醒不再发出"
            if why is None:
                changed += _recomposed(config, mail, month, planned, missing, overdue, now)
                continue
        withdraw(mail, f"{why}，未发出", now)
        log.info("催报提醒 #%s（%s %s）不再发出：%s", mail.id, unit, month, why)
        changed += 1
    session.commit()
    return changed


def _recomposed(
    config: Config, mail: OutboxMail, month: str, unit: Unit, missing: tuple[int, ...], overdue: bool, now: datetime
) -> bool:
    """`mail` composed again as of `now`, under its Message-ID, when what it says (the forms missing) or where it
    goes (the unit's addresses) has changed since it was composed; whether it was."""
    queued = email.message_from_bytes(mail.raw, policy=policy.default)
    as_of = parsedate_to_datetime(str(queued["Date"]))  # what it says is as of then
    was = _reminder(config, month, unit.name, unit.senders, missing, overdue, as_of)
    if _plain(was) == _plain(queued) and str(was["To"]) == str(queued["To"]):
        return False
    replace_content(mail, _reminder(config, month, unit.name, unit.senders, missing, overdue, now), keep_id=True)
    log.info("催报提醒 #%s（%s %s）已按现在所缺的附件重新生成", mail.id, unit.name, month)
    return True


def _plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    return "" if body is None else str(body.get_content())


def _reminder(
    config: Config,
    month: str,
    unit: str,
    senders: tuple[str, ...],
    missing: tuple[int, ...],
    overdue: bool,
    now: datetime,
) -> EmailMessage:
    """The reminder to `unit` of `month`'s `missing` forms as of `now`: before its deadline, or (`overdue`) after."""
    zone = config.timezone
    deadline = config.plan(month).calendar.deadline_for(month)
    context = {
        "unit": unit,
        "addressed": config.addressee(unit),
        "missing": missing,
        "titles": FORM_TITLES,
        "month_text": month_label(month),
        "deadline_text": deadline_text(deadline, zone),
        "now_text": date_time_text(now, zone),
        "overdue": overdue,
    }
    text, html = render_pair("reminder", context, config)
    local = deadline.astimezone(zone)
    day = f"{local.month}月{local.day}日"
    subject = f"【提醒】{unit}{context['month_text']}报表尚缺{len(missing)}个附件，" + (
        f"已超过截止时间{day}，请尽快补报" if overdue else f"截止{day}"
    )
    return compose(config.outgoing, list(senders), subject, text, html, now, zone=zone, auto_submitted="auto-generated")
