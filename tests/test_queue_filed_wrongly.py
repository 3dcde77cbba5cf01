"""待处理 shows staff the mail filed wrongly: a submission whose unit neither subject nor sender tells, a form
whose own title names another unit or month than its mail (what the receipt tells the unit), and one
wrongly attached registry as one item, not one a person."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from archive.evidence import summary_reports
from archive.findings import all_findings
from archive.ingest import Incoming, ingest_batch
from archive.models import Message, OutboxMail
from archive.queue import attention
from bot.cli.group import main
from bot.outgoing.outbox import SmtpTransport, flush_outbox
from bot.outgoing.receipts import queue_owed_receipts
from bot.web.app import create_app
from replies.attention import attention_reasons
from replies.mismatch import form_mismatch, receipt_line
from replies.receipt import FileFacts, MessageFacts, _mismatches
from tests.conftest import ROOT
from tests.smtp_server import Delivering, smtp_answering
from tests.webapp import SHANGHAI, _message, add_accounts, csrf_token, log_in

# summary-unit-row-only.xlsx: 附件2 titled 桃城区, 2020-04 (tests/data/workbooks/README.md)
SUMMARY = "summary-unit-row-only.xlsx"
REGISTRY = "rehab-registry-two-age-sheets.xlsx"  # 附件3 of 饶阳县, five persons


MDN = (
    "已于 2020/4/19 17:00 读取。\n\n-------- 阅读回执 --------\nDisposition: manual-action/MDN-sent-manually; displayed"
)
INVITATION = "时间：4月22日 15:00\n\n-------- 会议邀请 --------\n主题: 桃城区4月份报表培训会"
CONFLICT = "主题写的单位是冀州区，与发件邮箱登记的单位不符：发件人 tcqcl@163.com 是桃城区的报送邮箱，…"
FORWARDED = "由工作人员邮箱 hsclbgs666@163.com 转发，按原发件人 tcqcl@163.com 的邮件识别"


def mail(attachments: tuple[str, ...] = ("附件2.xlsx",), **fields) -> SimpleNamespace:
    base = dict(
        kind="report",
        unit="桃城区",
        month="2020-04",
        month_source="subject",
        registered=True,
        from_addr="tcqcl@163.com",
        problems=[],
        subject="桃城区4月份报表",
        body_text="",
        attachments=[SimpleNamespace(filename=name) for name in attachments],
        readings=[],
    )
    return SimpleNamespace(**(base | fields))


def reading(
    unit: str | None = "桃城区", month: str | None = "2020-04", form: int = 2, readable: bool = True
) -> SimpleNamespace:
    return SimpleNamespace(source="附件2.xlsx", form=form, readable=readable, unit=unit, month=month)


@pytest.mark.parametrize(
    ("message", "reasons"),
    [
        (mail(readings=[reading()]), ()),
        (mail(unit=None, registered=False, readings=[reading(unit="景县")]), ("nounit",)),
        (mail(unit=None, registered=False, kind="briefing", readings=[]), ("nounit",)),
        (mail(unit=None, registered=False, kind="other", attachments=(), readings=[]), ()),
        (mail(readings=[reading(unit="阜城县")]), ("mismatch",)),
        (mail(month="2020-09", readings=[reading(month="2020-08")]), ("mismatch",)),
        (mail(month="2020-04", readings=[reading(month="2021-04")]), ("mismatch",)),
        # a month not from the subject is the form's own: nothing to disagree with
        (mail(month="2020-09", month_source="arrival", readings=[reading(month="2020-08")]), ()),
        (mail(kind="other", readings=[reading(unit="阜城县")]), ()),
        (mail(registered=False, readings=[reading(unit="阜城县")]), ("unregistered", "mismatch")),
        # a reply carrying forms is a submission (pressing 回复 on the notice or on our receipt)
        (mail(kind="reply", month="2020-09", readings=[reading(month="2020-08")]), ("mismatch",)),
        (mail(kind="reply", unit=None, registered=False, readings=[reading(unit=None)]), ("nounit",)),
        (mail(kind="reply", readings=[reading(readable=False)]), ("unreadable",)),
        (mail(kind="reply", attachments=("景县12月份报表.rar",), readings=[]), ("unreadable",)),
        (mail(kind="reply", attachments=("截图.png",), readings=[]), ()),
        (mail(kind="reply", subject="回复：桃城区专项信息", attachments=("稿件.docx",), readings=[]), ()),
        (
            mail(kind="reply", attachments=(), subject="回复：关于报送4月份报表的通知", body_text="收到"),
            (),
        ),  # thanks only
        (
            mail(
                kind="reply", attachments=(), subject="回复：关于报送4月份报表的通知", body_text="收到，附件3要重报吗"
            ),
            ("question",),
        ),
        # files behind a download link, instead of or beside attachments; a read receipt needs nobody
        (mail(kind="other", attachments=(), body_text="链接: https://pan.baidu.com/s/1AbC 提取码: 8x7k"), ("link",)),
        (
            mail(readings=[reading()], body_text="其余见超大附件 https://mail.qq.com/cgi-bin/ftnExs_download?k=1"),
            ("link",),
        ),
        (mail(kind="other", attachments=(), subject="已读回执：回执：桃城区4月份报表", body_text="已读。"), ()),
        (mail(kind="other", attachments=(), subject="Read: 回执：桃城区4月份报表"), ()),
        (
            mail(kind="other", attachments=(), subject="回复：回执：桃城区4月份报表", body_text="请问哪里要改？"),
            ("question",),
        ),
        # an MDN whatever its subject (its report in the text, parsers.mime), from an address registered or not
        (mail(kind="other", attachments=(), subject="Return Receipt (displayed) - 桃城区4月份报表", body_text=MDN), ()),
        (mail(kind="other", attachments=(), registered=False, subject="桃城区4月份报表", body_text=MDN), ()),
        # a meeting invitation is a letter for people, its .ics attached or not
        (mail(kind="other", attachments=(), body_text=INVITATION), ("question",)),
        (mail(kind="other", attachments=("invite.ics",), body_text=INVITATION), ("question",)),
        # a registered sender's mail naming another unit; a unit's mail staff forwarded, its sender not the unit's
        (mail(readings=[reading()], problems=[CONFLICT]), ("conflict",)),
        (mail(registered=False, readings=[reading()], problems=[FORWARDED, "原发件人 … 未登记"]), ("forwarded",)),
        (mail(readings=[reading()], problems=[FORWARDED]), ()),
        # a From naming several addresses (parsers.mime: none kept): no sender to confirm
        (mail(registered=False, from_addr=None, readings=[reading()]), ("nosender",)),
        (mail(registered=False, from_addr=None, unit=None, readings=[reading(unit=None)]), ("nosender",)),
    ],
)
def test_attention_names_mail_of_no_unit_and_forms_naming_another_unit_or_month(message, reasons):
    assert attention_reasons(message) == reasons


@pytest.mark.parametrize(
    ("unit", "month", "source", "form_unit", "form_month"),
    [
        ("景县", "2020-09", "subject", "景县", "2020-08"),
        ("景县", "2020-10", "subject", "阜城县", "2020-10"),
        ("景县", "2020-10", "subject", "阜城县", "2020-09"),
        ("饶阳县", "2020-04", "subject", None, "2021-04"),
        ("饶阳县", "2020-04", "arrival", "阜城县", "2021-04"),
        ("饶阳县", "2020-04", "subject", "饶阳县", "2020-04"),
    ],
)
def test_the_shared_mismatch_says_what_the_receipt_says(unit, month, source, form_unit, form_month):
    """replies.mismatch decides what replies.receipt tells the unit (until the receipt imports it)."""
    arrival = datetime(2020, 5, 1, tzinfo=UTC)
    facts = MessageFacts(1, "report", unit, month, True, "a@b.c", "s", None, (), arrival, "", (), month_source=source)
    file = FileFacts("附件2.xlsx", 2, True, 1, unit=form_unit, month=form_month)
    found = form_mismatch(facts, file)
    assert _mismatches(facts, file) == ([receipt_line(found)] if found else [])


def store(deps, *raws: bytes) -> list[int]:
    outcomes = ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "kfb", "import") for raw in raws])
    return [outcome.id for outcome in outcomes]


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 10, tzinfo=SHANGHAI)


def test_the_queue_lists_mail_filed_wrongly_saying_what_subject_and_form_say(deps):
    """GIVEN a package from a personal address whose subject names no unit, a package filed 2020-05 by its
    subject whose 附件2 says 2020年4月, one sent in 2021 filed 2020-04 by its subject whose 附件2 says 4月 of
    the year it came (2021), and 枣强县's mail whose
    附件3 is titled 饶阳县 WHEN the queue is read THEN each is an item naming the form, what the subject says
    and what the form says (another year said so), the first suggesting the unit its form's title names."""
    personal, month, year, unit = store(
        deps,
        _message("2851736642@qq.com", "7月份附件2", at(2020, 4, 14), "单位邮箱登不上，先用个人邮箱发附件2", (SUMMARY,)),
        _message("tcqcl@163.com", "桃城区5月份报表", at(2020, 5, 9), "见附件", (SUMMARY,)),
        _message("tcqcl@163.com", "桃城区2020年4月份报表", at(2021, 4, 9), "见附件", (SUMMARY,)),
        _message("zqxcl@163.com", "枣强县4月份报表", at(2020, 4, 9), "见附件", (REGISTRY,)),
    )
    with deps.db.session() as session:
        items = {item.handle: item for item in attention(session)}
    nounit = items[f"{personal}-nounit"]
    assert nounit.unit is None and nounit.suggested_units == ("桃城区",)
    assert nounit.text == "7月份附件2（表格标题写的单位：桃城区）"
    assert items[f"{month}-mismatch"].text == "桃城区5月份报表：附件2表中写的月份是2020年4月，主题写的是2020年5月"
    assert items[f"{year}-mismatch"].text == (
        "桃城区2020年4月份报表：附件2表中写的月份是2021年4月，主题写的是2020年4月（不是同一年）"
    )
    assert items[f"{unit}-mismatch"].text == "枣强县4月份报表：附件3表中写的单位是饶阳县，邮件记为枣强县的报送"
    assert items[f"{unit}-mismatch"].detail == (
        f"附件3（{REGISTRY}）表中写的单位是饶阳县，邮件记为枣强县的报送：已按邮件记录，请核对是否附错了文件",
    )


def test_one_wrongly_attached_registry_is_one_queue_item_with_each_person_in_its_detail(deps):
    """GIVEN 饶阳县's registry and 桃城区's mail carrying the same registry WHEN the queue is read THEN its
    persons registered by two units are one item naming the form, the message that brought them, how many
    and the first few by their rows, each person's finding in its detail; the findings stay one a person."""
    own, wrong = store(
        deps,
        _message("ryxcl@163.com", "饶阳县4月份报表", at(2020, 4, 9), "见附件", (REGISTRY,)),
        _message("tcqcl@163.com", "桃城区4月份报表", at(2020, 4, 10), "见附件", (REGISTRY,)),
    )
    with deps.db.session() as session:
        persons = [f for f in all_findings(session, summary_reports(session)) if f.kind == "person_in_two_units"]
        items = [item for item in attention(session) if item.reason == "finding"]
    assert len(persons) > 1
    [item] = items
    assert item.unit == "桃城区" and item.message_ids == (wrong, own)
    assert f"附件3康复服务实名制登记表（邮件 #{wrong}，桃城区）中 {len(persons)} 人同时由饶阳县登记：" in item.text
    assert "第 " in item.text and "行" in item.text
    assert sorted(item.detail) == sorted(finding.message for finding in persons)


@pytest.fixture
def site(config, deps):
    add_accounts(deps)
    return create_app(config, dataclasses.replace(deps, clock=lambda: datetime(2020, 5, 1, tzinfo=UTC)), "s")


def signed_in(app):
    client = app.test_client()
    assert log_in(client, "孙倩").status_code == 302
    return client


def test_staff_see_a_form_naming_another_month_on_the_message_page_and_confirm_a_sender_its_form_names(site, deps):
    """GIVEN a package filed 2020-05 by its subject whose 附件2 says 2020年4月 WHEN staff open its page THEN its
    problems say so; GIVEN a personal address's package naming no unit, on 待处理 with a button for the unit
    its form's title names WHEN staff confirm the address as that unit's THEN its mail is that unit's."""
    month, personal = store(
        deps,
        _message("tcqcl@163.com", "桃城区5月份报表", at(2020, 5, 9), "见附件", (SUMMARY,)),
        _message("2851736642@qq.com", "7月份附件2", at(2020, 4, 14), "先用个人邮箱发附件2", (SUMMARY,)),
    )
    staff = signed_in(site)
    shown = staff.get(f"/message/{month}").get_data(as_text=True)
    assert "附件2（summary-unit-row-only.xlsx）表中写的月份是2020年4月，主题写的是2020年5月" in shown
    queue = staff.get("/queue").get_data(as_text=True)
    assert f'id="item-{personal}-nounit"' in queue and "确认发件地址为桃城区的报送邮箱" in queue
    posted = {"csrf_token": csrf_token(queue), "message_id": str(personal), "unit": "桃城区", "reason": "电话核实"}
    assert staff.post("/senders", data=posted).status_code == 302
    assert f'id="item-{personal}-nounit"' not in staff.get("/queue").get_data(as_text=True)
    with deps.db.session() as session:
        assert session.scalar(select(Message.unit).where(Message.id == personal)) == "桃城区"


def test_show_lists_a_form_naming_another_year_among_the_problems(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text((ROOT / "config.example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("MAILROOM_DATABASE_URL", f"sqlite:///{tmp_path}/mailroom.db")
    monkeypatch.setenv("MAILROOM_ARCHIVE_PATH", str(tmp_path / "archive"))
    """GIVEN a package sent in 2021 whose subject says 2020年4月 and whose form says 4月 of 2021 WHEN `show`
    is asked THEN its problems name the form, both months and that they are of two years."""
    raw = _message("tcqcl@163.com", "桃城区2020年4月份报表", at(2021, 4, 9), "见附件", (SUMMARY,))
    (tmp_path / "m.eml").write_bytes(raw)
    invoke = lambda *args: CliRunner().invoke(main, ["--config", str(config), *args])  # noqa: E731
    assert invoke("import", str(tmp_path / "m.eml")).exit_code == 0
    lines = invoke("show", "1").stdout.splitlines()
    problems = lines[lines.index("邮件的问题：") + 1 :]
    assert problems[0] == (
        f"- 附件2（{SUMMARY}）表中写的月份是2021年4月，主题写的是2020年4月（不是同一年）：已按邮件记录，"
        "请核对是否附错了文件"
    )


class RefusingUnit(Delivering):
    """A real SMTP server that answers 550 to 枣强县's address, as one whose mailbox was closed answers."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address == "zqxcl@163.com":
            return "550 5.1.1 用户不存在"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_receipt_the_units_server_refused_is_on_the_queue_for_staff_to_tell_the_unit(site, config, deps):
    """GIVEN 枣强县's package and 桃城区's, and a real SMTP server that refuses 枣强县's address for good (550)
    WHEN the receipts are sent THEN 枣强县's receipt, never sent again, is a 待处理 item of 枣强县 naming the
    mail it answers, the address and the server's words (it was only in `status`: nobody told the unit), with no
    correction form (correcting the mail mends nothing); 桃城区's, sent, is not; staff mark it handled."""
    now = datetime(2020, 4, 9, 3, tzinfo=UTC)
    raws = [
        _message(sender, f"{unit}4月份报表", at(2020, 4, 9), "见附件", (SUMMARY,))
        for sender, unit in (("zqxcl@163.com", "枣强县"), ("tcqcl@163.com", "桃城区"))
    ]
    incoming = [Incoming(raw, "bgs", "imap", archived_at=now) for raw in raws]
    zq, tc = (outcome.id for outcome in ingest_batch(deps.db, deps.store, deps.recognizer, incoming))
    with deps.db.session() as session:
        queue_owed_receipts(config, session, now)
        session.commit()
    with smtp_answering(RefusingUnit(lambda recipient, raw: None)) as server:
        outgoing = dataclasses.replace(
            config.outgoing, transport="smtp", host="127.0.0.1", port=server.port, security="plain", username=""
        )
        sent = flush_outbox(deps.db, outgoing, SmtpTransport(outgoing), now)
    assert (sent.sent, len(sent.refused)) == (1, 1)
    with deps.db.session() as session:
        [item] = [item for item in attention(session, findings=lambda _: []) if item.reason == "refused"]
        refused_id = session.scalar(select(OutboxMail.id).where(OutboxMail.state == "failed"))
    assert (item.handle, item.unit, item.message_ids, item.correctable) == (f"R{refused_id}", "枣强县", (zq,), None)
    assert item.text.startswith("回执未能发出：zqxcl@163.com：") and "550 5.1.1 用户不存在" in item.text
    assert tc not in item.message_ids

    staff = signed_in(site)
    queue = staff.get("/queue").get_data(as_text=True)
    row = queue[queue.index(f'id="item-R{refused_id}"') :]
    row = row[: row.index("</tr>")]
    assert "我方发出的邮件被对方服务器拒收" in row and f"/message/{zq}" in row
    assert 'action="/corrections"' not in row and 'action="/queue/done"' in row
    posted = {"csrf_token": csrf_token(queue), "item": f"R{refused_id}", "note": "已电话告知枣强县，邮箱已停用"}
    assert staff.post("/queue/done", data=posted).status_code == 302
    with deps.db.session() as session:
        assert [item for item in attention(session, findings=lambda _: []) if item.reason == "refused"] == []


def test_a_refused_reminder_is_its_units_item_and_a_refused_digest_names_none(deps):
    """A reminder answers no mail: its unit is the one its cause names (after the deadline too); a digest's,
    staff's own, has none."""
    now = datetime(2020, 5, 21, 1, tzinfo=UTC)
    with deps.db.session() as session:
        for cause, kind in (("reminder:2020-05:景县:after-deadline", "reminder"), ("digest:2020-05", "digest")):
            session.add(
                OutboxMail(
                    cause=cause,
                    kind=kind,
                    recipients="x@163.com",
                    subject="-",
                    message_id=f"<{kind}@y>",
                    raw=b"-",
                    state="failed",
                    attempts=1,
                    created_at=now,
                    next_attempt_at=now,
                    last_error="x@163.com：收件地址被对方服务器拒绝（550 用户不存在）",
                )
            )
        session.commit()
        items = [item for item in attention(session, findings=lambda _: []) if item.reason == "refused"]
    assert [(item.unit, item.text) for item in items] == [
        ("景县", "催报提醒未能发出：x@163.com：收件地址被对方服务器拒绝（550 用户不存在）"),
        (None, "月度排名通报未能发出：x@163.com：收件地址被对方服务器拒绝（550 用户不存在）"),
    ]
