"""What the web app's tests share: an archive of a few telling messages, accounts, a signed-in client."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from archive.ingest import Incoming, ingest_batch
from archive.users import add_user
from bot.demo.folder import compose
from bot.web.server import make_server
from tests.conftest import DATA

SHANGHAI = ZoneInfo("Asia/Shanghai")
BOOKS = DATA / "workbooks"
REHAB = "hskf2006@126.com"
PASSWORD = "correct horse battery"
# 王斐's row in rehab-registry-two-age-sheets.xlsx (附件3 of 枣强县's April package).
PERSON = "王斐"
PERSON_ID = "13112419620315011842"
PERSON_ID_MASKED = "131124**********1842"
BODY_PHONE, BODY_PHONE_MASKED = "13903181234", "139****1234"
SCRIPT_HTML = (
    "<html><head><title>正常标题</title><script>document.title='被脚本改过';window.pwned=true;</script>"
    '</head><body><p onclick="window.pwned=true">饶阳县情况汇报</p>'
    '<img src="http://192.0.2.1/track.png" onerror="window.pwned=true"></body></html>'
)
SCRIPT_TEXT = "联系人正文里的 <script>window.pwned=true</script> 只是文字"


@dataclass(frozen=True)
class Archive:
    """The ids of the sample messages."""

    package: int  # 枣强县, April, on time: 附件2 and 附件3 (王斐), an ID and a phone in the body
    late: int  # 桃城区, April, after the deadline: 附件4
    html_script: int  # an HTML-only body carrying a script
    text_script: int  # a text body with "<script>" in it


def _message(sender: str, subject: str, arrival: datetime, body: str, files: tuple[str, ...] = ()) -> bytes:
    message = compose(sender, REHAB, subject, arrival, body=body)
    for name in files:
        message.add_attachment(
            (BOOKS / name).read_bytes(), maintype="application", subtype="octet-stream", filename=name
        )
    return message.as_bytes()


def fill_archive(deps) -> Archive:
    at = lambda day: datetime(2020, 4, day, 10, tzinfo=SHANGHAI)  # noqa: E731
    html = compose("ryxcl@163.com", REHAB, "饶阳县情况汇报", at(10))
    html.set_content(SCRIPT_HTML, subtype="html", charset="utf-8")
    raws = [
        _message(
            "zqxcl@163.com",
            f"枣强县4月份报表 联系人 {BODY_PHONE}",
            at(18),
            f"附件是 4 月份报表。王斐的残疾人证号 {PERSON_ID}，电话 {BODY_PHONE}。",
            ("summary-unit-row-only.xlsx", "rehab-registry-two-age-sheets.xlsx"),
        ),
        _message(
            "tcqcl@163.com", "桃城区4月份报表", at(25), "补报附件4。", ("devices-registry-merged-poor-header.xls",)
        ),
        html.as_bytes(),
        _message("ryxcl@163.com", "饶阳县问题", at(11), SCRIPT_TEXT),
    ]
    outcomes = ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "kfb", "import") for raw in raws])
    return Archive(*(outcome.id for outcome in outcomes))


def receipt_texts(config, deps, now: datetime) -> list[str]:
    """The owed replies composed into the outbox as of `now`, and every receipt's plain text there."""
    from email import message_from_bytes, policy

    from sqlalchemy import select

    from archive.models import OutboxMail
    from bot.outgoing.receipts import queue_owed_receipts

    with deps.db.session() as session:
        queue_owed_receipts(config, session, now)
        session.commit()
        raws = session.scalars(select(OutboxMail.raw).where(OutboxMail.kind == "receipt")).all()
    return [message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content() for raw in raws]


def sent_mail(cause: str, kind: str, recipients: str, subject: str, now: datetime, about: int | None = None):
    """An outbox row as the sender leaves a mail it handed to the server at `now` (sent), its bytes left out."""
    from archive.models import OutboxMail

    return OutboxMail(
        cause=cause,
        kind=kind,
        about_message=about,
        recipients=recipients,
        subject=subject,
        message_id=f"<{cause}@example.cn>",
        raw=b"",
        state="sent",
        created_at=now,
        next_attempt_at=now,
        sent_at=now,
    )


def queue_reasons(deps) -> dict[int, list[str]]:
    """待处理's items, as each message's reasons."""
    from archive.queue import attention

    with deps.db.session() as session:
        items = attention(session, findings=lambda _: [])
    found: dict[int, list[str]] = {}
    for item in items:
        for id_ in item.message_ids:
            found.setdefault(id_, []).append(item.reason)
    return found


def store_one(deps, raw: bytes, origin: str | None = None) -> int:
    """One more message archived into 康复部's mailbox, as an import; its id."""
    [outcome] = ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "kfb", "import", origin=origin)])
    return outcome.id


def share_person(deps) -> int:
    """桃城区 sends 枣强县's 附件3 as its own: each person on it (王斐 among them) registered by two units, an
    honesty finding. The message's id."""
    raw = _message(
        "tcqcl@163.com",
        "桃城区4月份康复服务实名制登记表",
        datetime(2020, 4, 20, 10, tzinfo=SHANGHAI),
        "补报附件3。",
        ("rehab-registry-two-age-sheets.xlsx",),
    )
    return store_one(deps, raw)


def add_accounts(deps) -> None:
    """staff 孙倩; auditor 审计员 (masked); auditor 督查员 granted personal data."""
    with deps.db.session() as session:
        add_user(session, "孙倩", PASSWORD, "staff")
        add_user(session, "审计员", PASSWORD, "auditor")
        add_user(session, "督查员", PASSWORD, "auditor", personal=True)


_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def log_in(client, name: str, password: str = PASSWORD):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "name": name, "password": password})


@contextmanager
def waitress_serving(app, threads: int = 4) -> Iterator[int]:
    """The app served by bot.web.server (waitress, as `mailroom web` serves it) on a free loopback port, in a
    thread; yields the port. The server is closed from its own loop, through its trigger: closed from here,
    its socket would vanish under the loop's select() and end that thread with EBADF."""
    server = make_server(app, "127.0.0.1", 0, threads=threads)
    thread = threading.Thread(target=server.run, name="mailroom-web", daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        server.trigger.pull_trigger(server.close)
        thread.join(10)
        server.task_dispatcher.shutdown()
