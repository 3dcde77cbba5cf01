"""Recognition of mail as real clients send it, built with the standard library's email package: a registered
unit's address whose subject names another unit, staff forwarding a unit's mail, read receipts (Outlook's MDN
and its text-only 已读 report), calendar invitations. Each parsed and recognised in place, then through the
real path (stored, its receipt decided and composed, 待处理 read)."""

from __future__ import annotations

import email
import io
from dataclasses import replace
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import openpyxl
import pytest
from sqlalchemy import select

from archive.evidence import article_key, briefing_count
from archive.ingest import Incoming, ingest_batch
from archive.models import Message, OutboxMail
from archive.queue import REASONS
from bot.outgoing.receipts import queue_owed_receipts
from parsers.mime import parse_message
from parsers.recognize import StaffForward, is_read_receipt, recognize, staff_forward
from parsers.records import Kind, Unit
from tests.conftest import DATA, make_config
from tests.webapp import SHANGHAI, queue_reasons

OFFICE = "hsscljjb@163.com"  # 教就部, where units send
STAFF = "hsclbgs666@163.com"  # 办公室: a department mailbox of ours, forwarding what reached it
JINGXIAN = "jxcl2020@163.com"
TAOCHENG = "tcqcl@163.com"
OURS = (OFFICE, STAFF)
UNITS = (
    Unit("景县", ("景州",), (JINGXIAN,)),
    Unit("桃城区", ("桃城",), (TAOCHENG,)),
    Unit("冀州区", ("冀州",), ("jzqcl@126.com",)),
)
WHEN = datetime(2020, 12, 19, 16, 48, tzinfo=SHANGHAI)
SUMMARY = ("附件2.xlsx", (DATA / "workbooks" / "summary-unit-row-only.xlsx").read_bytes())  # 桃城区, 2020-04
RAR = ("景县12月份报表.rar", b"Rar!\x1a\x07\x01\x00" + bytes(range(256)) * 8)
CALENDAR = (
    "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nPRODID:Microsoft Exchange Server 2010\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:China Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n"
    "END:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nORGANIZER;CN=景县残联:mailto:jxcl2020@163.com\r\n"
    "SUMMARY;LANGUAGE=zh-CN:景县9月份报表填报\r\n 培训会\r\nDTSTART;TZID=China Standard Time:20200922T150000\r\n"
    "LOCATION:县残联三楼会议室\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def message(
    sender: str,
    subject: str,
    body: str,
    files: tuple[tuple[str, bytes], ...] = (),
    *,
    to: str = OFFICE,
    when: datetime = WHEN,
    null_sender: bool = False,
) -> EmailMessage:
    """A mail as a client sends it, with the receiving server's Received line stamped at `when`."""
    mail = EmailMessage()
    mail["Received"] = f"from mail.example.cn by mx.163.com; {format_datetime(when)}"
    if null_sender:
        mail["Return-Path"] = "<>"
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail["Date"] = format_datetime(when - timedelta(minutes=1))
    mail["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    mail.set_content(body)
    for name, data in files:
        mail.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return mail


def forwarded_as_attachment(inner: EmailMessage, subject: str = "转发：景县12月份报表") -> EmailMessage:
    """Staff forwarding a unit's mail as an attachment (Outlook's and Foxmail's 作为附件转发)."""
    outer = message(STAFF, subject, "景县的报表发到了办公室，转给教就部。")
    outer.add_attachment(inner)
    return outer


def mdn(sender: str, subject: str, *, null_sender: bool = True) -> EmailMessage:
    """Outlook's read receipt to an internet sender: a multipart/report of a disposition notification."""
    report = message(sender, subject, "您的邮件\n\n    主题: 回执：景县12月份报表\n\n已于 2020/12/19 17:00 读取。")
    report.make_mixed()
    report.replace_header("Content-Type", report["Content-Type"].replace("multipart/mixed", "multipart/report"))
    report.set_param("report-type", "disposition-notification")
    fields = EmailMessage()
    fields["Reporting-UA"] = "Microsoft Outlook 16.0"
    fields["Final-Recipient"] = f"rfc822;{sender}"
    fields["Disposition"] = "manual-action/MDN-sent-manually; displayed"
    report.attach(_part("message/disposition-notification", fields))
    if null_sender:
        report["Return-Path"] = "<>"
    return report


def _part(content_type: str, inner: EmailMessage) -> EmailMessage:
    part = EmailMessage()
    part["Content-Type"] = content_type
    part.set_payload([inner])
    return part


def invitation(subject: str, *, ics_file: bool = False) -> EmailMessage:
    """A meeting invitation: Outlook's text and calendar as alternatives; Google's with an invite.ics too."""
    mail = message(JINGXIAN, subject, "时间：2020年9月22日 15:00\n地点：县残联三楼会议室")
    mail.add_alternative(CALENDAR, subtype="calendar", params={"method": "REQUEST"})
    if ics_file:
        mail.add_attachment(CALENDAR.encode(), maintype="application", subtype="ics", filename="invite.ics")
    return mail


def recognised(mail: EmailMessage, when: datetime = WHEN):
    parsed = parse_message(mail.as_bytes())
    return parsed, recognize(parsed, UNITS, when, SHANGHAI, own_addresses=OURS)


# ---------------------------------------------------------------------------------------------
# Recognition, in place


def test_staff_forwarding_a_units_mail_as_an_attachment_is_the_units_forwarded_by_staff():
    """GIVEN 景县's package that reached 办公室, forwarded by staff as an attachment WHEN recognised THEN it is
    景县's (its forwarded message's sender is 景县's registered address), counted, the forward noted."""
    inner = message(JINGXIAN, "景县12月份报表", "报表见附件。", (RAR,), to=STAFF)
    parsed, result = recognised(forwarded_as_attachment(inner))
    assert (result.unit, result.kind, result.month, result.registered) == ("景县", Kind.REPORT, "2020-12", True)
    assert result.problems == (f"由工作人员邮箱 {STAFF} 转发，按原发件人 {JINGXIAN} 的邮件识别",)
    assert [a.filename for a in parsed.attachments] == [RAR[0]]


def test_staff_forwarding_inline_as_a_webmail_does_is_the_original_senders():
    """QQ Mail's 转发 quotes the original's headers in the text and attaches its files again."""
    body = (
        "请教就部处理。\n\n------------------ 原始邮件 ------------------\n"
        f'发件人: "景县残联"<{JINGXIAN}>;\n发送时间: 2020年12月19日(星期六) 下午4:40\n'
        f'收件人: "办公室"<{STAFF}>;\n主题: 景县12月份报表\n\n报表见附件。'
    )
    _, result = recognised(message(STAFF, "Fwd: 景县12月份报表", body, (RAR,)))
    assert (result.unit, result.registered) == ("景县", True)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("报表见附件。", "转发的邮件中没有原发件人地址，不能确认是 景县 的报送邮箱，不计分，请工作人员核实"),
        (
            "-----原始邮件-----\n发件人: 李明 <liming1980@qq.com>\n主题: 景县12月份报表",
            "原发件人 liming1980@qq.com 未登记为 景县 的报送邮箱，不计分，请工作人员核实",
        ),
    ],
)
def test_a_staff_forward_whose_original_sender_is_not_the_units_does_not_count(body, problem):
    _, result = recognised(message(STAFF, "转发：景县12月份报表", body, (RAR,)))
    assert (result.unit, result.registered) == ("景县", False)
    assert result.problems[1:] == (problem,) and result.problems[0].startswith(f"由工作人员邮箱 {STAFF} 转发")


STAFF_LETTER = f"工作人员邮箱 {STAFF} 发出的工作人员邮件（写到 景县，不是 景县 的来信），不计分"


def test_staff_forwarding_staffs_own_mail_stays_staffs():
    body = f'-------- 转发邮件信息 --------\n发件人："教就部" <{OFFICE}>\n主题：景县12月份报表的问题'
    _, result = recognised(message(STAFF, "转发：景县12月份报表的问题", body))
    assert (result.unit, result.registered, result.problems) == ("景县", False, (STAFF_LETTER,))


@pytest.mark.parametrize(
    ("mail", "kind"),
    [
        (mdn(JINGXIAN, "已读: 回执：景县12月份报表"), Kind.OTHER),  # Outlook's MDN, from the null sender
        (mdn(JINGXIAN, "Return Receipt (displayed) - 景县12月份报表"), Kind.OTHER),  # Thunderbird's
        # Outlook's text-only report, from the null sender
        (message(JINGXIAN, "已读: 回执：景县12月份报表", "已于 2020/12/19 17:00 读取。", null_sender=True), Kind.OTHER),
        (
            message(JINGXIAN, "未读: 回执：景县12月份报表", "已于 2020/12/19 17:00 删除但未读。", null_sender=True),
            Kind.OTHER,
        ),
    ],
)
def test_a_read_receipt_is_no_bounce(mail, kind):
    parsed, result = recognised(mail)
    assert (result.kind, result.unit, result.problems) == (kind, "景县", ())
    if parsed.content_type == "multipart/report":
        assert parsed.report_type == "disposition-notification"
        assert "Disposition: manual-action/MDN-sent-manually; displayed" in parsed.body_text


def test_a_bounce_returning_a_read_receipt_is_a_bounce():
    bounce = message("postmaster@163.com", "系统退信", "收件人地址不存在。")
    bounce.make_mixed()
    bounce.replace_header("Content-Type", bounce["Content-Type"].replace("multipart/mixed", "multipart/report"))
    bounce.set_param("report-type", "delivery-status")
    bounce.attach(_part("message/rfc822", mdn(JINGXIAN, "已读: 回执：景县12月份报表")))
    parsed, result = recognised(bounce)
    assert (parsed.report_type, result.kind) == ("delivery-status", Kind.BOUNCE)


@pytest.mark.parametrize("ics_file", [False, True])
def test_an_invitation_is_no_package_whatever_its_subject(ics_file):
    """GIVEN 景县's meeting invitation whose subject reads as a package (景县9月份报表…) WHEN recognised THEN it
    is other mail; what its calendar data says is in its text."""
    parsed, result = recognised(invitation("景县9月份报表", ics_file=ics_file))
    assert (result.kind, result.unit, result.registered) == (Kind.OTHER, "景县", True)
    assert (
        "-------- 会议邀请 --------\n主题: 景县9月份报表填报培训会\n时间: 2020-09-22 15:00\n地点: 县残联三楼会议室\n"
        f"组织者: {JINGXIAN}"
    ) in parsed.body_text
    assert parsed.body_text.count("会议邀请") == 1
    assert [a.filename for a in parsed.attachments] == (["invite.ics"] if ics_file else [])


# ---------------------------------------------------------------------------------------------
# Through the real path: stored, receipts composed, 待处理 read


@pytest.fixture
def config(tmp_path, database_url):
    """The example config; its receipts go to mail of any age (the tests' mail is from 2020)."""
    made = make_config(tmp_path, database_url)
    return replace(made, outgoing=replace(made.outgoing, receipts_max_age_days=0))


def store(deps, *mails: EmailMessage) -> list[int]:
    raws = [Incoming(mail.as_bytes(), "jjb", "import") for mail in mails]
    return [outcome.id for outcome in ingest_batch(deps.db, deps.store, deps.recognizer, raws)]


def receipts(config, deps, now: datetime = WHEN) -> dict[int, tuple[str, str]]:
    """Every owed receipt composed now: by message, (recipient, plain text)."""
    with deps.db.session() as session:
        queue_owed_receipts(config, session, now + timedelta(minutes=1))
        rows = session.scalars(select(OutboxMail).where(OutboxMail.kind == "receipt")).all()
        sent = {row.about_message: email.message_from_bytes(row.raw, policy=policy.default) for row in rows}
    return {id_: (str(mail["To"]), mail.get_body(("plain",)).get_content()) for id_, mail in sent.items()}


def stored(deps, id_: int) -> tuple[str, str | None, bool]:
    with deps.db.session() as session:
        row = session.get(Message, id_)
        return row.kind, row.unit, row.registered


def test_a_registered_address_naming_another_unit_is_told_and_queued_not_credited_to_the_other(config, deps):
    """GIVEN 桃城区's registered address sending a 附件2 under the subject 冀州区4月份报表 WHEN stored THEN it is
    recorded for 桃城区, never 冀州区; the receipt to the sender says the subject names another unit and how it
    was recorded, and staff get a "conflict" item (not one asking them to register the address as 冀州区's)."""
    april = datetime(2020, 4, 18, 10, tzinfo=SHANGHAI)
    [id_] = store(deps, message(TAOCHENG, "冀州区4月份报表", "报表见附件。", (SUMMARY,), when=april))
    assert stored(deps, id_) == ("report", "桃城区", True)
    [(to, text)] = receipts(config, deps, april).values()
    assert to == TAOCHENG
    assert "单位：桃城区" in text
    assert (
        "主题写的单位是冀州区，与发件邮箱登记的单位不符：发件人 tcqcl@163.com 是桃城区的报送邮箱，"
        "本邮件已按桃城区记录，市残联工作人员将核实"
    ) in text
    assert queue_reasons(deps) == {id_: ["conflict"]}
    assert "另一个单位" in REASONS["conflict"]


def test_staff_forwarding_a_units_package_counts_it_for_the_unit_and_answers_no_staff(config, deps):
    """GIVEN 景县's package forwarded by 办公室 as an attachment, and another forwarded with its files alone
    (no original sender) WHEN stored THEN the first is 景县's and counted, the second 景县's uncounted with a
    "forwarded" item (never "unregistered", which would have staff confirm our own mailbox as 景县's); no
    receipt goes to staff as if they were the unit."""
    inner = message(JINGXIAN, "景县12月份报表", "报表见附件。", (RAR,), to=STAFF)
    counted, bare = store(
        deps,
        forwarded_as_attachment(inner),
        message(STAFF, "FW: 景县12月份报表", "请处理。", (("景县附件2.rar", RAR[1] + b"2"),)),
    )
    assert stored(deps, counted) == ("report", "景县", True)
    assert stored(deps, bare) == ("report", "景县", False)
    assert receipts(config, deps) == {}
    queued = queue_reasons(deps)
    # (a .rar is no file a form can be read from: "unreadable" either way)
    assert queued[bare] == ["forwarded", "unreadable"] and queued[counted] == ["unreadable"]


def test_read_receipts_need_nobody_and_get_nothing(config, deps):
    """GIVEN Outlook's MDN of our receipt (a report, from the null sender), Thunderbird's MDN whose subject reads
    as a package's, and Outlook's text-only 已读 report from the null sender WHEN stored THEN none is a bounce,
    none is answered, none is an item."""
    ids = store(
        deps,
        mdn(JINGXIAN, "已读: 回执：景县12月份报表"),
        mdn(JINGXIAN, "Return Receipt (displayed) - 景县12月份报表", null_sender=False),
        message(JINGXIAN, "已读: 回执：景县12月份报表", "已于 2020/12/19 17:00 读取。", null_sender=True),
    )
    assert [stored(deps, id_) for id_ in ids] == [("other", "景县", True)] * 3
    assert receipts(config, deps) == {}
    assert not set(ids) & set(queue_reasons(deps))


def test_a_meeting_invitation_is_no_package_to_answer_but_a_letter_for_people(config, deps):
    """GIVEN 景县's meeting invitations under a package's subject, Outlook's (calendar data only) and Google's
    (an invite.ics attached too) WHEN stored THEN neither gets a receipt ("本邮件没有附带文件" or a file without
    forms); each is other mail for people, a "question" item."""
    september = datetime(2020, 9, 18, 9, tzinfo=SHANGHAI)
    outlook, google = store(deps, invitation("景县9月份报表"), invitation("景县9月份报表会议", ics_file=True))
    assert [stored(deps, id_) for id_ in (outlook, google)] == [("other", "景县", True)] * 2
    assert receipts(config, deps, september) == {}
    queued = queue_reasons(deps)
    assert queued[outlook] == ["question"] and queued[google] == ["question"]


# ---------------------------------------------------------------------------------------------
# Forwards read by their first quoted header block only; replies in a forwarded thread; read receipts carrying a
# package; staff's own mail; a briefing forwarded counted once; ranges from January in a form's title

OUTSIDER = "evil@qq.com"
QQ_HEADER = (
    "------------------ 原始邮件 ------------------\n"
    '发件人: "{name}"<{address}>;\n发送时间: 2020年12月19日(星期六) 下午4:40\n'
    f'收件人: "办公室"<{STAFF}>;\n主题: 景县12月份报表\n\n'
)


@pytest.mark.parametrize(
    ("body", "original"),
    [
        # Outlook's header block, its sender line a name alone: no sender, whatever is quoted deeper
        (
            "请处理。\n\n发件人: 景县残联\n发送时间: 2020年12月19日 16:40\n收件人: 办公室\n主题: 景县12月份报表\n\n"
            "转来的报表。\n\n" + QQ_HEADER.format(name="景县残联", address=JINGXIAN),
            None,
        ),
        # a header block not in 发件人:/From: shape under the forward line: none to read, never an address below it
        (f"---- 转发的邮件 ----\n| 发件人 | 陌生人 <{OUTSIDER}> |\n\n报表见附件\nFrom: {JINGXIAN}", None),
        # the forwarder's comment names senders of its own above the forward line
        (
            "from: 教就部转来的\n发件人：李主任 lizhuren@qq.com 让我转发\n\n"
            + QQ_HEADER.format(name="景县残联", address=JINGXIAN),
            JINGXIAN,
        ),
        # Gmail's, Apple Mail's (its fields spaced), and Outlook's with its rule lost with its HTML
        (
            f"---------- Forwarded message ---------\nFrom: 景县残联 <{JINGXIAN}>\nDate: 2020年12月19日\n"
            "Subject: 景县12月份报表\nTo: <hsclbgs666@163.com>\n\n报表见附件。",
            JINGXIAN,
        ),
        (
            f"Begin forwarded message:\n\nFrom: 景县残联 <{JINGXIAN}>\n\nSubject: 景县12月份报表\n\n报表见附件。",
            JINGXIAN,
        ),
        (
            f"请处理。\n\n发件人: 景县残联 <{JINGXIAN}>\n发送时间: 2020年12月19日 16:40\n收件人: 办公室\n"
            "主题: 景县12月份报表\n\n报表见附件。",
            JINGXIAN,
        ),
    ],
)
def test_an_inline_forward_is_read_by_its_first_quoted_header_block_only(body, original):
    """GIVEN staff forwarding 景县's package inline WHEN recognised THEN its original sender is the address on the
    sender line of the first header block quoted (after the forward line, if any), or none: never the first
    address found anywhere in the text (the forwarder's comment, a line the original quotes)."""
    parsed, result = recognised(message(STAFF, "Fwd: 景县12月份报表", body, (RAR,)))
    assert staff_forward(parsed, OURS) == StaffForward(original)
    assert (result.unit, result.registered) == ("景县", original == JINGXIAN)
    assert result.problems[0] == f"由工作人员邮箱 {STAFF} 转发，" + (
        f"按原发件人 {original} 的邮件识别" if original else "邮件中没有原发件人的地址"
    )


def test_an_outsiders_mail_quoting_a_units_address_forwarded_by_staff_is_not_the_units():
    """GIVEN an outsider's mail whose text holds 景县's address in a From: line, forwarded by staff inline and as
    an attachment WHEN recognised THEN both are the outsider's: the attached message by its own From header
    (parsers.mime), the inline one by the quoted header block; neither counts for 景县."""
    text = f"报表见附件。\n\n-----Original Message-----\nFrom: {JINGXIAN}\nSubject: 景县12月份报表"
    inner = message(OUTSIDER, "景县12月份报表", text, (RAR,), to=STAFF)
    parsed, attached = recognised(forwarded_as_attachment(inner))
    assert parsed.attached_senders == (OUTSIDER,)
    inline_body = QQ_HEADER.format(name="陌生人", address=OUTSIDER) + text
    _, inline = recognised(message(STAFF, "转发：景县12月份报表", inline_body, (RAR,)))
    for result in (attached, inline):
        assert (result.unit, result.registered) == ("景县", False)
        assert f"原发件人 {OUTSIDER} 未登记为 景县 的报送邮箱，不计分，请工作人员核实" in result.problems


def test_an_attached_message_without_a_sender_address_names_no_original():
    """The attached message's From is a name alone: its text quoting 景县's address changes nothing."""
    inner = message(JINGXIAN, "景县12月份报表", f'报表见附件。\n发件人: "景县残联"<{JINGXIAN}>;', (RAR,), to=STAFF)
    inner.replace_header("From", "景县残联")
    parsed, result = recognised(forwarded_as_attachment(inner))
    assert parsed.attached_senders == ("",)
    assert staff_forward(parsed, OURS) == StaffForward(None)
    assert (result.unit, result.registered) == ("景县", False)


@pytest.mark.parametrize(
    "subject", ["回复: 转发: 景县12月份报表", "Re: Fwd: 景县12月份报表", "答复：FW：景县12月份报表"]
)
def test_a_staff_reply_in_a_forwarded_thread_is_no_forward(subject):
    """GIVEN staff answering, between two of our mailboxes, a thread that once forwarded 景县's mail WHEN
    recognised THEN it is staff's own reply: no forward (its first prefix is a reply's), counted for nobody."""
    body = "好的，收到。\n\n" + QQ_HEADER.format(name="景县残联", address=JINGXIAN)
    parsed, result = recognised(message(STAFF, subject, body, to=OFFICE))
    assert staff_forward(parsed, OURS) is None
    assert (result.kind, result.unit, result.registered, result.problems) == (
        Kind.REPLY,
        "景县",
        False,
        (STAFF_LETTER,),
    )


def test_staff_forwarding_our_own_receipt_forwards_no_units_mail():
    body = (
        '------------------ 原始邮件 ------------------\n发件人: "衡水市残联"<noreply@hscl.example>;\n'
        "主题: 回执：景县12月份报表"
    )
    parsed, result = recognised(message(STAFF, "转发：回执：景县12月份报表", body))
    assert staff_forward(parsed, OURS) is None
    assert (result.registered, result.problems) == (False, (STAFF_LETTER,))


def test_a_read_receipts_subject_carrying_a_package_is_no_read_receipt():
    """GIVEN a corrected package sent back under "答复: 已读: 回执：…" from an unregistered address WHEN recognised
    THEN it is a reply carrying a package, its sender checked like any other; only other mail is a read receipt."""
    subject = "答复: 已读: 回执：景县12月份报表"
    parsed, result = recognised(message("stranger@qq.com", subject, "更正后的报表见附件", (RAR,)))
    assert (result.kind, result.unit, result.registered) == (Kind.REPLY, "景县", False)
    assert result.problems == ("发件人 stranger@qq.com 未登记为 景县 的报送邮箱，不计分，请工作人员核实",)
    assert not is_read_receipt(result.kind, parsed.subject, parsed.body_text)
    assert is_read_receipt("other", subject, "")


def test_a_staff_package_sent_not_forwarded_is_no_units_and_says_so():
    _, result = recognised(message(STAFF, "景县12月份报表", "景县的报表（微信发来的）。", (RAR,)))
    assert (result.unit, result.kind, result.registered) == ("景县", Kind.REPORT, False)
    assert result.problems == (
        f"由工作人员邮箱 {STAFF} 发出，不是转发的单位邮件，不能确认是 景县 的报送，不计分，请工作人员核实",
    )


ARTICLE = "景县残联开展助残日活动，走访慰问贫困残疾人家庭三十户，发放慰问金和米面油等物资。"
BRIEFING_SUBJECT = "景县贫困残疾人服务工程专项信息"


def briefing_copies(when: datetime, forwarded: datetime) -> tuple[EmailMessage, ...]:
    """景县's body-only article as it reached 办公室, and staff's forwards of it to 教就部: inline (QQ's, with a
    comment) and as an attachment; and 景县 forwarding its own mail again."""
    original = message(JINGXIAN, BRIEFING_SUBJECT, ARTICLE, to=STAFF, when=when)
    quoted = (
        "------------------ 原始邮件 ------------------\n"
        f'发件人: "景县残联"<{JINGXIAN}>;\n发送时间: 2020年11月30日\n主题: {BRIEFING_SUBJECT}\n\n> {ARTICLE}'
    )
    inline = message(STAFF, "转发：" + BRIEFING_SUBJECT, "转教就部，请登记。\n\n" + quoted, when=forwarded)
    attached = forwarded_as_attachment(original, "转发：" + BRIEFING_SUBJECT)
    attached.replace_header("Received", f"from mail.example.cn by mx.163.com; {format_datetime(forwarded)}")
    again = message(JINGXIAN, "Fw: " + BRIEFING_SUBJECT, "再发一次。\n\n" + quoted, when=forwarded)
    return original, inline, attached, again


def test_a_body_only_article_and_its_forwards_are_one_article():
    """GIVEN 景县's article written in the body and its forwards (inline with a comment and quoted headers, as an
    attachment, and 景县's own) WHEN keyed THEN all are one key, the forwarded text's; another article another."""
    keys = set()
    for mail in briefing_copies(WHEN, WHEN):
        parsed, result = recognised(mail)
        assert (result.kind, result.unit, result.registered) == (Kind.BRIEFING, "景县", True)
        keys.add(article_key(parsed.subject, parsed.body_text))
    other = message(JINGXIAN, BRIEFING_SUBJECT, ARTICLE.replace("三十户", "四十户"))
    parsed = parse_message(other.as_bytes())
    assert len(keys) == 1 and article_key(parsed.subject, parsed.body_text) not in keys


def test_a_briefing_forwarded_counts_once_at_its_first_arrival(config, deps):
    """GIVEN 景县's body-only article arriving on 30 November and staff's and 景县's forwards of it on 1 December
    WHEN counted THEN it is one article of November's (the earliest counting arrival), none of December's."""
    november = datetime(2020, 11, 30, 22, tzinfo=SHANGHAI)
    december = datetime(2020, 12, 1, 9, tzinfo=SHANGHAI)
    ids = store(deps, *briefing_copies(november, december))
    assert [stored(deps, id_) for id_ in ids] == [("briefing", "景县", True)] * 4
    with deps.db.session() as session:
        counts = {
            month: briefing_count(session, "景县", month, config.plan(month).calendar)
            for month in ("2020-11", "2020-12")
        }
    assert counts == {"2020-11": 1, "2020-12": 0}


def test_a_briefings_covering_note_without_its_file_counts_nothing_and_a_pasted_article_counts_once(config, deps):
    """GIVEN 景县's briefing mail whose text only points at a file left off (信息见附件，请审阅), then its article as
    a .docx, then the same article pasted into a mail's text WHEN counted THEN the note is no article (its receipt
    says the mail holds none and to send it again) and the article counts once, the paste a repeat."""
    from bot.demo.season.files import docx_bytes

    paragraphs = [BRIEFING_SUBJECT, ARTICLE]
    ids = store(
        deps,
        message(JINGXIAN, BRIEFING_SUBJECT + "（十四）", "李老师：信息见附件，请审阅。\n\n景县残联 张三", when=WHEN),
        message(JINGXIAN, BRIEFING_SUBJECT, "请审阅。", (("信息.docx", docx_bytes(paragraphs, WHEN)),), when=WHEN),
        message(JINGXIAN, BRIEFING_SUBJECT, "\n\n".join(paragraphs), when=WHEN + timedelta(hours=1)),
    )
    zipped = message(
        JINGXIAN, BRIEFING_SUBJECT + "（十五）", "信息见附件，请审阅。", (("稿件.zip", b"PK\x05\x06" + bytes(18)),)
    )
    short = (
        "五月十五日，县残联开展第三十次全国助残日活动，走访慰问困难残疾人家庭三十户，发放慰问金和米面油等物资。"
        "活动照片见附件，详见县残联网站。"
    )
    ids += store(deps, zipped, message(JINGXIAN, BRIEFING_SUBJECT + "（十六）", short, when=WHEN + timedelta(hours=2)))
    assert [stored(deps, id_) for id_ in ids] == [("briefing", "景县", True)] * 5
    with deps.db.session() as session:  # the article, and the short one whose text points at its photos
        assert briefing_count(session, "景县", "2020-12", config.plan("2020-12").calendar) == 2
    said = receipts(config, deps, WHEN + timedelta(hours=2))
    assert "邮件中没有稿件（没有附带稿件文件，正文也不是稿件），不计数" in said[ids[0]][1]
    assert "本月第 1 篇" in said[ids[1]][1]
    assert "与此前报送的稿件相同，不重复计数" in said[ids[2]][1]
    assert "邮件中没有可计数的稿件：附件（稿件.zip）不是 Word、WPS、PDF 或文本格式的稿件" in said[ids[3]][1]
    assert "本月第 2 篇" in said[ids[4]][1]


def test_a_briefing_left_on_a_cloud_drive_or_only_announced_counts_nothing(config, deps):
    """GIVEN 景县's briefing mails holding only a 百度网盘 link and its 提取码, only a note announcing the article
    (报送我县本月专项信息一篇，请各位领导审阅指正), and only a link WHEN counted THEN none is an article: each
    counted one (本月第 1 篇) while its receipt asked for it again, the cloud drive's called 表格 (wording
    reviewer). A short article whose news holds 审核 counts (reviewer)."""
    short = "景县残联召开残疾人证审核工作推进会，要求各乡镇于5月底前完成新办证申请的初审，确保应办尽办。"
    [article] = store(deps, message(JINGXIAN, BRIEFING_SUBJECT + "（四）", short, when=WHEN))
    ids = store(
        deps,
        message(
            JINGXIAN, BRIEFING_SUBJECT + "（一）", "稿件在百度网盘 https://pan.baidu.com/s/1xyz 提取码 ab12", when=WHEN
        ),
        message(
            JINGXIAN, BRIEFING_SUBJECT + "（二）", "报送我县本月专项信息一篇，请各位领导审阅指正，谢谢！", when=WHEN
        ),
        message(JINGXIAN, BRIEFING_SUBJECT + "（三）", "https://mp.weixin.qq.com/s/AbCdEfGhIjKlMnOpQrStUv", when=WHEN),
    )
    with deps.db.session() as session:
        assert briefing_count(session, "景县", "2020-12", config.plan("2020-12").calendar) == 1
    said = receipts(config, deps, WHEN + timedelta(hours=1))
    assert "本月第 1 篇" in said[article][1]
    assert all("邮件中没有稿件（没有附带稿件文件，正文也不是稿件），不计数" in said[id_][1] for id_ in ids)
    assert "请把稿件直接作为附件添加到邮件中重新发送" in said[ids[0]][1] and "表格" not in said[ids[0]][1]


def test_a_cumulative_figure_lower_than_the_units_last_is_told_to_the_clerk(config, deps):
    """GIVEN 景县's April 附件2 giving 康复服务 150, then its May 附件2 giving 10, then May's corrected to 160 and again
    to 155 WHEN the receipts are composed THEN May's first tells the clerk the figure went down from 150 and to
    check it: only staff saw it (findings, the digest), the receipt saying nothing (wording reviewer). April's
    says nothing of it, nor does a resend of May's lower than May's before it (a correction: reviewer)."""
    import openpyxl

    from tests.data.workbooks.make_workbooks import figures, save, summary_sheet

    def summary(month: int, done: int) -> tuple[str, bytes]:
        book = openpyxl.Workbook()
        title = f"景县残联{month}月份残疾人服务工程目标任务完成情况汇总表"
        summary_sheet(book.active, title, [("景县", figures((233, done, None)))])
        return ("附件2.xlsx", save(book))

    april, may = datetime(2020, 4, 15, 10, tzinfo=SHANGHAI), datetime(2020, 5, 15, 10, tzinfo=SHANGHAI)
    ids = store(
        deps,
        message(JINGXIAN, "景县4月份报表", "见附件", (summary(4, 150),), when=april),
        message(JINGXIAN, "景县5月份报表", "见附件", (summary(5, 10),), when=may),
        message(JINGXIAN, "景县5月份报表（更正）", "见附件", (summary(5, 160),), when=may + timedelta(hours=1)),
        message(JINGXIAN, "景县5月份报表（再更正）", "见附件", (summary(5, 155),), when=may + timedelta(hours=2)),
    )
    said = receipts(config, deps, may + timedelta(hours=3))
    assert "附件2 中康复服务的累计完成数为 10，低于此前报送的 150；完成数应逐月累计，请核对后改正" in said[ids[1]][1]
    assert [("低于此前报送" in said[id_][1]) for id_ in ids] == [False, True, False, False]


def test_a_progress_report_locked_by_a_password_alone_is_asked_for_again(config, deps):
    """GIVEN 景县's package of one 附件1 locked by a password WHEN its receipt is composed THEN it is asked for again:
    a 附件1 whose text cannot be read counts (a hint), a locked one does not, and its receipt had dropped the
    请重新发送 (reviewer)."""
    locked = ("附件1进展情况报告.docx", (DATA / "workbooks" / "encrypted.xlsx").read_bytes())
    [id_] = store(deps, message(JINGXIAN, "景县12月份报表", "见附件", (locked,), when=WHEN))
    said = receipts(config, deps, WHEN + timedelta(hours=1))[id_][1]
    assert "请重新发送：附件“附件1进展情况报告.docx”中没有可读取的附件表格" in said


@pytest.mark.parametrize(
    "quoted_from", [f'"{JINGXIAN}"<attacker@evil.example>;', f"{JINGXIAN} <attacker@evil.example>"]
)
def test_a_staff_forward_quoting_a_from_of_two_addresses_counts_for_no_one(quoted_from):
    """GIVEN staff's inline forward quoting a 发件人 line that names a unit's registered address beside another (as
    QQ Mail quotes a From whose display name is the address) WHEN recognised THEN it counts for no one: it counted
    as 景县's registered package, where the From itself is now no one's (reviewer)."""
    body = (
        "请教就部处理。\n\n------------------ 原始邮件 ------------------\n"
        f"发件人: {quoted_from}\n发送时间: 2020年12月19日(星期六) 下午4:40\n"
        f'收件人: "办公室"<{STAFF}>;\n主题: 景县12月份报表\n\n报表见附件。'
    )
    _, result = recognised(message(STAFF, "Fwd: 景县12月份报表", body, (RAR,)))
    assert not result.registered


def test_staff_mail_naming_a_unit_never_asks_to_confirm_our_mailbox(config, deps):
    """GIVEN staff's reply in a forwarded thread and staff's letter naming 景县, and a package staff sent from their
    own mailbox (not forwarded) WHEN stored THEN the letters need nobody, the package is a "forwarded" item;
    none is "unregistered" (which would have staff confirm our own mailbox as 景县's)."""
    body = "好的，收到。\n\n" + QQ_HEADER.format(name="景县残联", address=JINGXIAN)
    reply, letter, package = store(
        deps,
        message(STAFF, "回复: 转发: 景县12月份报表", body, to=OFFICE),
        message(STAFF, "景县12月份报表的问题", "景县的报表少了附件5，请联系。", to=OFFICE),
        message(STAFF, "景县12月份报表", "景县的报表（微信发来的）。", (RAR,), to=OFFICE),
    )
    queued = queue_reasons(deps)
    assert reply not in queued and letter not in queued
    assert queued[package] == ["forwarded", "unreadable"]
    assert receipts(config, deps) == {}


def test_a_read_receipts_subject_does_not_hide_a_package_from_the_queue(config, deps):
    """GIVEN a package sent back under "答复: 已读: 回执：…" from an unregistered address, its file unreadable WHEN
    stored THEN 待处理 lists it (its sender, its file), as it lists the same mail under "答复: 回执：…"."""
    ids = store(
        deps,
        message("stranger@qq.com", "答复: 已读: 回执：景县12月份报表", "更正后的报表见附件", (RAR,)),
        message("stranger@qq.com", "答复: 回执：景县12月份报表", "更正后的报表见附件", (RAR,)),
    )
    queued = queue_reasons(deps)
    assert [queued.get(id_) for id_ in ids] == [["unregistered", "unreadable"]] * 2


def summary_titled(title: str) -> bytes:
    """桃城区's 附件2 under another title."""
    book = openpyxl.load_workbook(DATA / "workbooks" / "summary-unit-row-only.xlsx")
    book.active["A2"] = title
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_mismatch_says_the_unit_was_told_only_when_a_receipt_went_to_it(config, deps):
    """GIVEN 桃城区's April 附件2 sent as 景县's December package from 景县's address and from a QQ address WHEN
    待处理 lists the mismatches THEN the registered one says the receipt told the unit, the other that no receipt
    went (it said 回执已告知单位 of both, and the unregistered sender was never answered)."""
    from archive.queue import NOT_TOLD, TOLD, attention

    registered, stranger = store(
        deps,
        message(JINGXIAN, "景县12月份报表", "见附件", (SUMMARY,)),
        message("jx.leader@qq.com", "景县12月份报表", "见附件", (SUMMARY,)),
    )
    with deps.db.session() as session:
        said = {
            item.message_ids[0]: item.reason_text
            for item in attention(session, findings=lambda _: [])
            if item.reason == "mismatch"
        }
    assert TOLD in said[registered] and NOT_TOLD not in said[registered]
    assert NOT_TOLD in said[stranger] and TOLD not in said[stranger]
    assert set(receipts(config, deps)) == {registered}


def test_an_unregistered_address_sending_several_units_forms_is_not_offered_as_one_units(config, deps):
    """GIVEN a city person's QQ address forwarding 桃城区's and 景县's 附件2 in one mail WHEN 待处理 lists it THEN
    the item names both units and says not to confirm the address as one of theirs, offering no such button
    (confirming it as 桃城区's, as the item advised, counted 景县's form as 桃城区's and lost it)."""
    from archive.queue import SEVERAL_UNITS, attention

    jing = ("景县附件2.xls", (DATA / "workbooks" / "summary-jing-xian-with-space.xls").read_bytes())
    tao = ("桃城区附件2.xlsx", SUMMARY[1])
    [id_] = store(deps, message("zhangwei@qq.com", "转发：桃城区、景县4月份报表", "请查收。", (tao, jing)))
    with deps.db.session() as session:
        [item] = [item for item in attention(session, findings=lambda _: []) if item.reason == "unregistered"]
    assert item.message_ids == (id_,) and item.sender == "zhangwei@qq.com" and item.reason_text == SEVERAL_UNITS
    assert "涉及多个单位：" in item.text and set(item.several_units) == {"桃城区", "景县"}
    # naming no unit in its subject, its forms' titles naming two: no unit's address to confirm either
    unnamed = (("附件2.xlsx", tao[1]), ("附件2（二）.xls", jing[1]))
    [other] = store(deps, message("zhangwei@qq.com", "各县4月份报表", "请查收。", unnamed))
    with deps.db.session() as session:
        items = {item.reason: item for item in attention(session, findings=lambda _: []) if other in item.message_ids}
    assert items["nounit"].reason_text == SEVERAL_UNITS and len(items["nounit"].several_units) == 2


def test_a_december_package_titled_for_the_year_so_far_is_no_mismatch(config, deps):
    """GIVEN 桃城区's December package whose 附件2 is titled "2020年1月-12月…汇总表" (the year so far) WHEN stored
    THEN the form is December's, as its subject's month: no 标题月份不符 item, nothing said of its month."""
    december = datetime(2020, 12, 18, 10, tzinfo=SHANGHAI)
    workbook = ("附件2.xlsx", summary_titled("桃城区残联2020年1月-12月残疾人服务工程目标任务完成情况汇总表"))
    [id_] = store(deps, message(TAOCHENG, "桃城区12月份报表", "报表见附件。", (workbook,), when=december))
    with deps.db.session() as session:
        row = session.get(Message, id_)
        assert [(reading.form, reading.month) for reading in row.readings] == [(2, "2020-12")]
    assert "mismatch" not in queue_reasons(deps).get(id_, [])
    [(_, text)] = receipts(config, deps, december).values()
    assert "表中写的月份" not in text


# ---------------------------------------------------------------------------------------------
# A subject's range of months told back; an answer to a meeting invitation that lost its calendar data


@pytest.mark.parametrize(
    ("subject", "written"),
    [
        ("桃城区10-12月报表", "10-12月"),
        ("桃城区2020年1月-12月报表", "2020年1月-12月"),
        ("桃城区1－12月份报表", "1-12月"),
    ],
)
def test_a_subjects_range_of_months_is_told_back_as_the_month_it_was_filed_under(config, deps, subject, written):
    """GIVEN 桃城区's package in January under a subject naming a range of months, its 附件2 titled December's
    WHEN its receipt is composed THEN it says plainly the range was filed under December, so a clerk who meant
    otherwise resends."""
    january = datetime(2021, 1, 8, 10, tzinfo=SHANGHAI)
    workbook = ("附件2.xlsx", summary_titled("桃城区残联2020年12月残疾人服务工程目标任务完成情况汇总表"))
    [id_] = store(deps, message(TAOCHENG, subject, "报表见附件。", (workbook,), when=january))
    [(_, text)] = receipts(config, deps, january).values()
    assert (
        f"报送月份：2020年12月（主题中的“{written}”按12月份报送登记；如不是12月份的报表，请在主题中写明月份后重新发送）"
        in text.splitlines()
    ), text


def test_a_subject_naming_one_month_says_nothing_of_ranges(config, deps):
    december = datetime(2020, 12, 18, 10, tzinfo=SHANGHAI)
    workbook = ("附件2.xlsx", summary_titled("桃城区残联2020年12月残疾人服务工程目标任务完成情况汇总表"))
    store(deps, message(TAOCHENG, "桃城区12月份报表", "报表见附件。", (workbook,), when=december))
    [(_, text)] = receipts(config, deps, december).values()
    assert "报送月份：2020年12月" in text.splitlines() and "按12月份报送登记" not in text


INVITATION_ANSWERS = (
    "已接受: 景县9月份报表填报培训会",
    "已接受：景县9月份报表",
    "已拒绝: 景县9月份报表",
    "暂定：景县9月份报表",
    "Accepted: 景县9月份报表",
    "Declined: 景县9月份报表",
    "Tentative: 景县9月份报表",
    "RE: 已接受: 景县9月份报表",
    "已接受: 景县9月份专项信息交流会",
)


def test_an_answer_to_a_meeting_invitation_without_its_calendar_data_is_kept_and_never_answered(config, deps):
    """GIVEN 景县's answers to a meeting invitation (Outlook's 已接受/已拒绝/暂定, Accepted/Declined/Tentative) that
    reached us as text alone, their subjects reading as a package's WHEN stored and receipts composed THEN each
    is archived as other mail (neither a package nor a briefing: none counts), and none gets a receipt (no
    "请重新发送", no "本邮件没有附带文件")."""
    september = datetime(2020, 9, 18, 9, tzinfo=SHANGHAI)
    body = "已接受此会议。\n\n时间：2020年9月22日 15:00\n地点：县残联三楼会议室"
    ids = store(deps, *(message(JINGXIAN, subject, body, when=september) for subject in INVITATION_ANSWERS))
    assert len(set(ids)) == len(INVITATION_ANSWERS)
    assert [stored(deps, id_) for id_ in ids] == [("other", "景县", True)] * len(ids)
    assert receipts(config, deps, september) == {}


def test_a_package_whose_subject_holds_an_answers_words_later_is_still_answered(config, deps):
    """GIVEN 景县's package sent without its files, its subject holding "已接受：" after the package's words, and
    a package attached under an "已接受:" subject WHEN receipts are composed THEN both are answered: the first
    asked for its files, the second told of its file."""
    september = datetime(2020, 9, 18, 9, tzinfo=SHANGHAI)
    forgotten, attached = store(
        deps,
        message(JINGXIAN, "景县9月份报表（已接受：上次意见已修改）", "报表已按意见修改。", when=september),
        message(JINGXIAN, "已接受: 景县9月份报表", "报表见附件。", (RAR,), when=september),
    )
    sent = receipts(config, deps, september)
    assert set(sent) == {forgotten, attached}
    assert "本邮件没有附带文件" in sent[forgotten][1] and RAR[0] in sent[attached][1]


def test_a_decembers_summary_sent_in_january_is_told_its_figures_do_not_count_for_the_year_end(config, deps):
    """GIVEN 桃城区's December 附件2 sent on 18 December and its corrected one on 8 January WHEN receipts are
    composed THEN the January one says its 完成数 do not count for the end of December (the year-end tasks are
    judged on what came by then); the December one says nothing of it."""
    workbook = ("附件2.xlsx", summary_titled("桃城区残联2020年12月残疾人服务工程目标任务完成情况汇总表"))
    december, january = datetime(2020, 12, 18, 10, tzinfo=SHANGHAI), datetime(2021, 1, 8, 10, tzinfo=SHANGHAI)
    [on_time] = store(deps, message(TAOCHENG, "桃城区12月份报表", "报表见附件。", (workbook,), when=december))
    [(_, text)] = receipts(config, deps, december).values()
    said = "本次附件2在12月底之后收到，其完成数不计入截至12月底的任务完成情况（按12月底前收到的附件2计）。"
    assert said not in text
    [late] = store(deps, message(TAOCHENG, "桃城区12月份报表（更正）", "更正后的附件2。", (workbook,), when=january))
    sent = receipts(config, deps, january)
    assert said in sent[late][1].splitlines(), sent[late][1]


def test_a_bounce_of_our_mail_is_for_staff_and_a_delay_alone_is_not(config, deps):
    """GIVEN 163's bounce of a receipt (552: the unit's mailbox full), and a delay notice that the mail still goes
    WHEN stored THEN the bounce is on 待处理 (the unit never learnt what it is missing), where it reached nobody;
    the delay is not, nor is either ever answered."""
    bounced = email.message_from_bytes((DATA / "mail" / "0043-bounce-multipart-report.eml").read_bytes())
    delay = email.message_from_string(
        "From: mailer-daemon@163.com\nTo: hsscljjb@163.com\nSubject: Delivery delayed: =?utf-8?b?"
        "5Zue5omn77ya5pmv5Y6/MTLmnIjku73miqXooag=?=\nDate: Fri, 18 Dec 2020 11:00:00 +0800\n"
        "Message-ID: <delay.1@163.com>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nYour message has not been delivered yet. It will be retried.\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.163.com\n\n"
        "Final-Recipient: rfc822; jxcl2020@163.com\nAction: delayed\nStatus: 4.4.7\n--b--\n"
    )
    delivered = email.message_from_string(delay.as_string().replace("Action: delayed", "Action: delivered"))
    delivered.replace_header("Message-ID", "<delivered.1@163.com>")
    ids = store(deps, bounced, delay, delivered)
    assert [stored(deps, id_)[0] for id_ in ids] == ["bounce", "bounce", "bounce"]
    assert queue_reasons(deps) == {ids[0]: ["bounced"]}
    assert "未能送达" in REASONS["bounced"] and receipts(config, deps) == {}


@pytest.mark.parametrize(
    ("words", "reasons"),
    [
        ("收到，谢谢！", []),
        ("李老师：好的，已收到。", []),
        ("收到。请问附件3还需要重新发吗？", ["question"]),
        ("收到，附件3明天补发，另外托养服务的目标数今年改了，以哪个为准", ["question"]),
        # received, denied, not understood, asked for, mended: each says more than thanks
        ("没收到附件", ["question"]),
        ("不明白", ["question"]),
        ("收到，请把模板再发一遍", ["question"]),
        ("收到，数据错了", ["question"]),
        ("错了老师", ["question"]),
        ("收到\n时间：下周一补报", ["question"]),  # the clerk's own line, no quote's header
    ],
)
def test_a_reply_to_our_receipt_saying_only_thanks_is_no_question(config, deps, words, reasons):
    """GIVEN 景县's clerk answering our receipt WHEN the answer only says thanks THEN it needs nobody, where every
    such answer was a 待处理 item "可能需要人工答复"; one that asks or says more is still a question; none is
    answered."""
    quoted = (
        f"{words}\n\n------------------ 原始邮件 ------------------\n"
        f"发件人: 督导系统 <{OFFICE}>\n主题: 回执：景县12月份报表"
    )
    [id_] = store(deps, message(JINGXIAN, "回复：回执：景县12月份报表", quoted + "\n\n景县：您单位的邮件已收到。"))
    assert stored(deps, id_) == ("reply", "景县", True)
    assert queue_reasons(deps).get(id_, []) == reasons and receipts(config, deps) == {}
