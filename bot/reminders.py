"""Reminders: to each unit with forms still missing for the month, naming them and the deadline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from archive.evidence import load_evidence
from archive.outbox import queue_mail
from bot.config import Config
from bot.render import compose, render_pair
from parsers.forms import FORM_TITLES
from scoring.packages import matrix
from scoring.settings import month_label


def queue_reminders(config: Config, session: Session, month: str, now: datetime) -> list[str]:
    """Queue one reminder per unit still missing forms of `month`; returns the units reminded."""
    evidence = load_evidence(session)
    reminded = []
    zone = config.timezone
    for unit in config.units:
        package = matrix(month, [unit], evidence.arrivals, config.calendar, now)[unit.name]
        missing = package.forms_with("missing")
        if not missing or not unit.senders:
            continue
        context = {"unit": unit.name, "missing": missing, "titles": FORM_TITLES,
                   "month_text": month_label(month),
                   "deadline_text": f"{package.deadline.astimezone(zone):%Y年%m月%d日 %H:%M}",
                   "now_text": f"{now.astimezone(zone):%m月%d日 %H:%M}"}
        text, html = render_pair("reminder", context)
        subject = f"【提醒】{unit.name}{context['month_text']}报表尚缺{len(missing)}个附件，截止{package.deadline.astimezone(zone):%m月%d日}"
        message = compose(config.outgoing, list(unit.senders), subject, text, html, now,
                          auto_submitted="auto-generated")
        if queue_mail(session, f"reminder:{month}:{unit.name}", "reminder", message, now) is not None:
            reminded.append(unit.name)
    session.commit()
    return reminded
