"""`mailroom digest`: the monthly standings digest, written to a folder and, with --send, queued to the staff."""

from __future__ import annotations

import importlib
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Callable

import click

from bot.cli import Context, main, pass_context
from bot.digest import Digest, build_digest, compose_digest, render_digest, workbook_name
from bot.scores_cli import month_option
from bot.workbooks import digest_workbook
from parsers.errors import MailroomError


@main.command(name="digest")
@month_option
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="Write digest.html, digest.txt, digest.eml and the workbook into this folder.")
@click.option("--send", is_flag=True, help="Queue the digest mail to the staff list ([smtp] staff).")
@pass_context
def digest_(context: Context, month: str, out: Path | None, send: bool) -> None:
    """The standings digest of MONTH: ranking with every component, the submission matrix, briefings, task
    completion, change since last month and honesty findings, with its workbook."""
    if out is None and not send:
        raise click.UsageError("请用 --out 目录 写出文件，或用 --send 发送（可同时使用）")
    queue = _queue_mail() if send else None  # before any work: say at once when sending is not possible
    config = context.config
    with context.deps.db.session() as session:
        digest = build_digest(config, session, month, datetime.now(timezone.utc))
    workbook = digest_workbook(digest)
    message = compose_digest(config, digest, workbook)
    if out is not None:
        _write(out, digest, workbook, message)
        click.echo(f"已写入 {out}：digest.html、digest.txt、digest.eml、{workbook_name(digest)}")
    if queue is not None:
        queue(context.deps, f"digest:{month}", message)
        click.echo(f"已加入发送队列：{message['To']}")


def _write(out: Path, digest: Digest, workbook: bytes, message: EmailMessage) -> None:
    _, html, text = render_digest(digest)
    out.mkdir(parents=True, exist_ok=True)
    (out / "digest.html").write_text(html, encoding="utf-8")
    (out / "digest.txt").write_text(text, encoding="utf-8")
    (out / workbook_name(digest)).write_bytes(workbook)
    (out / "digest.eml").write_bytes(message.as_bytes(policy=SMTP))


def _queue_mail() -> Callable[..., object]:
    """archive.outbox.queue_mail(deps, cause, message), once it exists."""
    try:
        outbox = importlib.import_module("archive.outbox")
    except ModuleNotFoundError as error:
        if error.name != "archive.outbox":
            raise
        outbox = None
    queue = getattr(outbox, "queue_mail", None)
    if queue is None:
        raise MailroomError("发送功能尚未就绪（archive/outbox.py 的 queue_mail 还不存在）；"
                            "请先用 --out 写出文件，不带 --send")
    return queue
