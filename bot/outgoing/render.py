"""Jinja2 templates (templates/, one pair per outgoing kind) and the composing of outgoing mail."""

from __future__ import annotations

from datetime import datetime, tzinfo
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.config import Config, Outgoing

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def date_time_text(moment: datetime, zone: tzinfo, seconds: bool = False) -> str:
    """ "2026年12月6日 10:22" (with `seconds`, 10:22:05): always with the year, so a mail read (or sent) in
    another year than the one it speaks of never leaves the reader to guess which year a date is in."""
    local = moment.astimezone(zone)
    return f"{date_text(local)} {local:%H:%M:%S}" if seconds else f"{date_text(local)} {local:%H:%M}"


def deadline_text(deadline: datetime, zone: tzinfo) -> str:
    """A deadline to its second, "2020年9月20日 23:59:59": it is inclusive, and a mail's arrival is said to the
    second, so a receipt of a mail at 23:59:59 said it on time beside "应于 … 23:59 前报送"."""
    return date_time_text(deadline, zone, seconds=True)


def date_text(moment: datetime, zone: tzinfo | None = None) -> str:
    """ "2026年12月6日", as Chinese office writing has it (no zero before a month or day); in `zone` when given."""
    local = moment.astimezone(zone) if zone is not None else moment
    return f"{local.year}年{local.month}月{local.day}日"


def render_pair(template: str, context: dict, config: Config | None = None) -> tuple[str, str]:
    """The plain-text and HTML bodies of one outgoing kind. With the `config`, a mail to a unit closes as each
    does (templates/_closing.*): whom to ask ([smtp] contact), said since every such mail says not to reply to
    it, and the system's name ([general] name) as its signature."""
    closing = {"system_name": config.name, "contact": config.outgoing.contact} if config is not None else {}
    return (
        environment().get_template(f"{template}.txt").render(**context, **closing),
        environment().get_template(f"{template}.html").render(**context, **closing),
    )


def _one_line(subject: str) -> str:
    """A subject quoting the sender's on one line: a line break in theirs (U+2028 pasted from a web page, an
    encoded CR LF) is refused by the mail library, and the receipt was never composed."""
    return " ".join(part.strip() for part in subject.splitlines() if part.strip())


def compose(
    outgoing: Outgoing,
    to: list[str],
    subject: str,
    text: str,
    html: str,
    now: datetime,
    *,
    zone: tzinfo,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    auto_submitted: str = "auto-replied",
) -> EmailMessage:
    """A UTF-8 text + HTML mail from us, with our own Message-ID and RFC 3834 Auto-Submitted; its Date is `now`
    in `zone` (the units' time, Beijing time +0800, as the mail's text says it)."""
    message = EmailMessage()
    message["From"] = formataddr((outgoing.sender_name, outgoing.sender)) if outgoing.sender_name else outgoing.sender
    message["To"] = ", ".join(to)
    message["Subject"] = _one_line(subject)
    message["Date"] = format_datetime(now.astimezone(zone))
    message["Message-ID"] = make_msgid(domain=(outgoing.sender.split("@")[-1] or "mailroom.local"))
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = " ".join(references)
    message["Auto-Submitted"] = auto_submitted
    message["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office answers to our answers
    message.set_content(text, charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message
