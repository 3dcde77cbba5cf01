"""Packages as clerks really send them, through the real path (a mail stored, its receipt composed, 待处理
read): by pressing 回复 on the notice or on our receipt, behind a download link (超大附件, a cloud drive, a
shared document) instead of or beside the files, with their files forgotten under a signature that asks
"您满意吗？"; and the read receipts of our own mail, which need nobody."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import datetime, timedelta
from email import policy

import pytest
from sqlalchemy import select

from archive.ingest import Incoming, ingest_batch
from archive.models import ClosedYear, Message, OutboxMail
from bot.daemon.status import describe_status, gather_status
from bot.demo.folder import compose
from bot.outgoing.receipts import queue_owed_receipts
from bot.services.show import message_problems
from parsers.recognize import asks
from tests.conftest import DATA, make_config
from tests.test_inspect import retitled
from tests.webapp import SHANGHAI, queue_reasons

OFFICE = "hsscljjb@163.com"
JINGXIAN = "jxcl2020@163.com"
TAOCHENG = "tcqcl@163.com"
BOOKS = DATA / "workbooks"
WHEN = datetime(2020, 12, 19, 16, 48, tzinfo=SHANGHAI)
NOTICE = "答复: 关于报送12月份残疾人服务工程进展情况的通知"
RAR = ("景县12月份报表.rar", b"Rar!\x1a\x07\x01\x00" + bytes(range(256)) * 8)
PROGRESS = ("附件1.docx", (BOOKS / "progress-report.docx").read_bytes())  # 桃城区's 附件1 of April
QQ_LARGE = (
    "从QQ邮箱发来的超大附件\n景县12月份报表.zip (32M, 2021年01月18日 到期) "
    "https://mail.qq.com/cgi-bin/ftnExs_download?k=2a3b&t=exs_ftn_download"
)
SIGNATURE = "\n\n--\n景县残联 李明 0318-4321234\n为残疾人办实事，您满意吗？欢迎提意见。"


@pytest.fixture
def config(tmp_path, database_url):
    """The example config; its receipts go to mail of any age (the tests' mail is from 2020)."""
    made = make_config(tmp_path, database_url)
    return replace(made, outgoing=replace(made.outgoing, receipts_max_age_days=0))


def mail(
    subject: str,
    body: str,
    files: tuple[tuple[str, bytes], ...] = (),
    *,
    sender: str = JINGXIAN,
    in_reply_to: str | None = None,
) -> bytes:
    """A unit's mail as its client sends it, threaded under `in_reply_to` when it answers one."""
    message = compose(sender, OFFICE, subject, WHEN, body=body)
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, data in files:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


def store(deps, *raws: bytes) -> list[int]:
    outcomes = ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "jjb", "import") for raw in raws])
    return [outcome.id for outcome in outcomes]


def receipts(config, deps) -> dict[int, tuple[str, str, str]]:
    """Every owed receipt composed now: by message, (Message-ID, subject, plain text)."""
    with deps.db.session() as session:
        queue_owed_receipts(config, session, WHEN + timedelta(minutes=1))
        rows = session.scalars(select(OutboxMail).where(OutboxMail.kind == "receipt")).all()
        composed = {row.about_message: email.message_from_bytes(row.raw, policy=policy.default) for row in rows}
    return {
        id_: (str(sent["Message-ID"]), str(sent["Subject"]), sent.get_body(("plain",)).get_content())
        for id_, sent in composed.items()
    }


def html_of(deps, message_id: int) -> str:
    """The HTML part of the receipt composed for the message, which webmail shows."""
    with deps.db.session() as session:
        raw = session.scalars(select(OutboxMail.raw).where(OutboxMail.about_message == message_id)).one()
    return email.message_from_bytes(raw, policy=policy.default).get_body(("html",)).get_content()


def test_a_reply_carrying_a_package_no_form_can_be_read_from_gets_the_package_receipt_and_an_item(config, deps):
    """GIVEN 景县's package sent by pressing 答复 on the notice with only a .rar attached, and its package sent
    as 回复 under our receipt with only a .rar WHEN stored THEN each gets the receipt a package gets, naming the
    .rar and why it cannot be read, and staff an "unreadable" item; a reply to a briefing's receipt carrying
    an article (a Word file too) gets neither, and a clerk's thanks neither a receipt nor an item."""
    [first] = store(deps, mail("景县12月份报表", "报表见附件"))  # its files forgotten: our receipt asks for them
    [(ours, _, _)] = receipts(config, deps).values()
    notice, under_ours, article, thanks = store(
        deps,
        mail(NOTICE, "报表见附件", (RAR,)),
        mail("回复：回执：景县12月份报表", "已改，见附件", (RAR,), in_reply_to=ours),
        mail(
            "回复：景县贫困残疾人服务工程专项信息",
            "稿件见附件",
            (("稿件.docx", (BOOKS / "briefing-article.docx").read_bytes()),),
        ),
        mail(NOTICE, "收到，谢谢！"),
    )
    composed = receipts(config, deps)
    assert set(composed) == {first, notice, under_ours}
    for package in (notice, under_ours):
        _, subject, text = composed[package]
        assert "类别：月度报表" in text and "报送月份：2020年12月" in text
        assert f"- {RAR[0]}：无法读取" in text and f"【{RAR[0]}】\n1. “{RAR[0]}”是 RAR 压缩包" in text
        assert f"请重新发送：附件“{RAR[0]}”中没有可读取的附件表格" in text
    assert composed[under_ours][1] == "回执：景县12月份报表"  # the first subject, as for any answer to ours
    queued = queue_reasons(deps)
    assert queued[notice] == ["unreadable"] and queued[under_ours] == ["unreadable"]
    assert article not in queued and thanks not in queued  # a reply that says only thanks needs nobody


def test_a_reply_carrying_forms_is_a_submission_for_the_queue_as_for_the_receipt(config, deps):
    """GIVEN a reply under our receipt whose zipped 附件3 has a password, and 桃城区's reply to the notice whose
    附件2 is titled April under a subject of May WHEN stored THEN the first is an "unreadable" item as a
    package is; the second's receipt tells the month and staff get the "mismatch" item and see it among the
    message's problems, as for a package sent afresh."""
    encrypted = ("景县12月报表（修改）.zip", (BOOKS / "encrypted-zip-member.zip").read_bytes())
    summary = ("附件2.xlsx", (BOOKS / "summary-unit-row-only.xlsx").read_bytes())  # 桃城区, 2020-04
    locked, month = store(
        deps,
        mail("回复：回执：景县12月份报表", "已修改，请查收，压缩包密码123456", (encrypted,)),
        mail("回复：关于报送5月份目标任务完成情况的通知", "附件2见附件", (summary,), sender=TAOCHENG),
    )
    composed = receipts(config, deps)
    assert set(composed) == {locked, month}
    assert "表中写的月份是2020年4月，本邮件报送的是2020年5月，已按桃城区2020年5月记录" in composed[month][2]
    queued = queue_reasons(deps)
    assert queued[locked] == ["unreadable"] and queued[month] == ["mismatch"]
    with deps.db.session() as session:
        problems = message_problems(session.get(Message, month))
    assert any("表中写的月份是2020年4月，主题写的是2020年5月" in problem for problem in problems)


def test_the_next_package_sent_by_replying_to_the_last_receipt_is_filed_for_its_forms_month(config, deps):
    """GIVEN 桃城区's May 附件2 sent by replying to our receipt of its April package ("回复：回执：桃城区4月份报表"),
    and the same form replying to the receipt of June's WHEN stored THEN the first is May's, as its form's title
    says (the quoted month is the receipt's: it was filed April, every form "another month"), and its receipt says
    how to send April's correction if that was meant; the second stays June's, the subject ruling over a title
    that names an earlier month, as in any package."""
    may = ("附件2.xlsx", retitled("summary-unit-row-only.xlsx", " 4 月份", " 5 月份"))
    next_month, stale = store(
        deps,
        mail("回复：回执：桃城区4月份报表", "5月份报表见附件", (may,), sender=TAOCHENG),
        mail("回复：回执：桃城区6月份报表", "已修改，见附件", (may,), sender=TAOCHENG),
    )
    with deps.db.session() as session:
        filed = {
            id_: (row.month, row.month_source) for id_ in (next_month, stale) if (row := session.get(Message, id_))
        }
    assert filed == {next_month: ("2020-05", "reply"), stale: ("2020-06", "subject")}
    composed = receipts(config, deps)
    assert (
        "报送月份：2020年5月（主题引用的是4月份的回执，表中写的是5月份，已按5月份登记；"
        "如是4月份报表的更正，请把表中的月份改为4月后重新发送）"
    ) in composed[next_month][2]
    assert "表中写的月份" not in composed[next_month][2]
    assert "表中写的月份是2020年5月，本邮件报送的是2020年6月" in composed[stale][2]


def test_a_package_of_a_month_no_plan_reports_is_told_it_counts_for_nothing(config, deps):
    """GIVEN 桃城区's 附件2 sent as "桃城区3月份报表" (the plan's report months run April to December) and as
    "桃城区4月份报表" WHEN answered THEN the first receipt says March is no report month of the plan, that its
    forms count for nothing and how to name another month; the second says nothing of it."""
    summary = ("附件2.xlsx", (BOOKS / "summary-unit-row-only.xlsx").read_bytes())
    march, april = store(
        deps,
        mail("桃城区3月份报表", "见附件", (summary,), sender=TAOCHENG),
        mail("桃城区4月份报表", "见附件", (summary,), sender=TAOCHENG),
    )
    composed = receipts(config, deps)
    said = (
        "2020年3月不在年度计划的报送月份内（计划覆盖 2020年4月至2020年12月），本邮件目前不计分；"
        "如报送的是其他月份的报表，请在主题中写明月份后重新发送"
    )
    assert f"报送月份说明：{said}。" in composed[march][2] and said in html_of(deps, march)
    assert "报送月份说明" not in composed[april][2] and "报送时限：2020年4月报表" in composed[april][2]


def test_a_package_of_a_closed_year_is_told_its_figures_stay_as_kept(config, deps):
    """GIVEN 2020 closed on 2021-01-30 WHEN 桃城区's April 2020 附件2 arrives after it THEN its receipt says the
    year was closed then and its figures are final, where it read as an ordinary late resend."""
    with deps.db.session() as session:
        closed = datetime(2021, 1, 30, 10, tzinfo=SHANGHAI)
        session.add(ClosedYear(year=2020, closed_at=closed, closed_by="孙倩", plan_hash="-", derived_with="-"))
        session.commit()
    summary = ("附件2.xlsx", (BOOKS / "summary-unit-row-only.xlsx").read_bytes())
    [late] = store(deps, mail("桃城区4月份报表", "补报", (summary,), sender=TAOCHENG))
    said = "2020 年度已于 2021年1月30日结账，该年度的得分和排名已经确定，不会因本邮件而改变。"
    assert f"报送月份说明：{said}" in receipts(config, deps)[late][2] and said in html_of(deps, late)


def test_a_closed_years_package_with_an_unreadable_file_is_not_asked_to_send_it_again(config, deps):
    """GIVEN 2020 closed WHEN 桃城区's April 2020 package arrives with a 附件2 that is no workbook THEN its
    receipt lists the problem and says the year's figures are final, and does not ask for the file again
    (nothing sent now would count); the same mail of an open year is asked to send it again."""
    broken = ("附件2.xlsx", b"this is not a workbook")
    [open_year] = store(deps, mail("桃城区4月份报表", "补报", (broken,), sender=TAOCHENG))
    assert "请重新发送：" in receipts(config, deps)[open_year][2]
    with deps.db.session() as session:
        closed = datetime(2021, 1, 30, 10, tzinfo=SHANGHAI)
        session.add(ClosedYear(year=2020, closed_at=closed, closed_by="孙倩", plan_hash="-", derived_with="-"))
        session.commit()
    [late] = store(deps, mail("桃城区5月份报表", "补报", (broken,), sender=TAOCHENG))
    text = receipts(config, deps)[late][2]
    assert "需要修改的问题" in text and "不会因本邮件而改变" in text
    assert "请重新发送" not in text and "请重新发送" not in html_of(deps, late) and "请尽快补报" not in text


def test_receipts_held_for_later_hours_go_sooner_once_the_hourly_limit_is_raised(config, deps):
    """GIVEN five packages from 桃城区 answered under receipts_per_hour = 2 (two now, two the next hour, one the
    hour after; `status` says three are held so) WHEN the limit is lowered to 1, then raised to 10, and the owed
    receipts are looked at again THEN lowering delays none, and raising lets every waiting receipt go at once."""
    summary = ("附件2.xlsx", (BOOKS / "summary-unit-row-only.xlsx").read_bytes())
    store(deps, *(mail(f"桃城区{month}月份报表", "见附件", (summary,), sender=TAOCHENG) for month in range(4, 9)))
    now = WHEN + timedelta(minutes=1)
    hour = now.replace(minute=0, second=0)

    def planned(per_hour: int) -> list[datetime]:
        limited = replace(config, outgoing=replace(config.outgoing, receipts_per_hour=per_hour))
        with deps.db.session() as session:
            queue_owed_receipts(limited, session, now)
            when = session.scalars(select(OutboxMail.next_attempt_at).where(OutboxMail.kind == "receipt"))
            return sorted(instant.astimezone(SHANGHAI) for instant in when)

    held = planned(2)
    assert held == [now, now, hour + timedelta(hours=1), hour + timedelta(hours=1), hour + timedelta(hours=2)]
    status = gather_status(config, replace(deps, clock=lambda: now))
    assert (status["outbox_backlog"], status["outbox_held"]) == (5, 3)
    assert status["outbox_held_until"] == (hour + timedelta(hours=2)).isoformat()
    assert any(
        line.startswith("待发邮件：5 封") and "其中 3 封按 [smtp] receipts_per_hour 的限制排在之后的时段发出" in line
        for line in describe_status(status)
    )
    assert planned(1) == held
    assert planned(10) == [now] * 5


def test_files_forgotten_are_asked_for_whatever_a_signature_or_a_link_asks(config, deps):
    """GIVEN packages sent without their files, one under a signature asking "您满意吗？", one whose text holds a
    link with "?", one quoting a mail that asked something; and one whose clerk asks a question above the same
    signature WHEN stored THEN the first three get the receipt asking for the files at once; the question is
    left to people."""
    subject = "景县12月份残疾人服务工程进展情况报告及附件"
    signed, linked, quoted, asked = store(
        deps,
        mail(subject, "孙老师：\n    景县12月份报表见附件，请查收。" + SIGNATURE),
        mail(subject, "报表见附件，填报说明见 http://www.hsdpf.org.cn/notice.jsp?id=12"),
        mail(subject, "报表见附件。\n\n------------------ 原始邮件 ------------------\n请问附件9从哪个月开始报？"),
        mail(subject, "孙老师：附件9没有学生，也要报空表吗？" + SIGNATURE),
    )
    composed = receipts(config, deps)
    assert set(composed) == {signed, linked, quoted}
    for forgotten in (signed, linked, quoted):
        assert (
            "请重新发送：本邮件没有附带文件。请把附件1–8（9 月起含附件9、10）的表格文件添加到邮件中重新发送。"
            in composed[forgotten][2]
        )
    assert queue_reasons(deps)[asked] == ["question"]


@pytest.mark.parametrize(
    "text, asking",
    [
        ("附件9也要报吗？", True),
        ("（附件3）？", True),
        ("请核实“附件2”?", True),
        ("能否用 WPS?", True),
        ("是否用 Microsoft Excel?", True),
        ("是否需要重新报送……？", True),
        ("完成率是100%?", True),
        ("版本2.0?", True),
        ("是12/1?", True),
        ("这样填对吗 ?", True),
        ("报表已收到，请查收。", False),
        ("M4$L#!!0?!@`(````(0#?I$!", False),  # a uuencoded line
        ("?????12????", False),  # characters a mail program could not encode
        ("2020年12月??报表", False),
        ("Re: OK?", False),
    ],
)
def test_what_asks_a_question(text, asking):
    assert asks(text) is asking


def test_a_question_mark_among_ascii_alone_asks_nothing(config, deps):
    """GIVEN packages sent without readable files: one whose text carries the files uuencoded (an old mail program:
    "M4$L#!!0?…" lines), one whose text a mail program turned to "????" (characters it could not encode); and a
    clerk asking with a full-width question mark after a form's number WHEN stored THEN the first two get the
    receipt asking for the files, where any "?" made the mail a question and its unit heard nothing; the third is
    left to people, as before."""
    subject = "武邑县12月份残疾人服务工程进展情况报告及附件"
    uuencoded = "报表见附件，请查收。\n\nbegin 644 fujian1.docx\nM4$L#!!0?!@`(````(0#?I$!<`0``,`4``!,`\n`\nend\n"
    encoded, garbled, asked = store(
        deps,
        mail(subject, uuencoded, sender="wyxcl@163.com"),
        mail(subject, "?????12????????", sender="wyxcl@163.com"),
        mail(subject, "孙老师：本月没有新增学生，还需要报附件9？", sender="wyxcl@163.com"),
    )
    composed = receipts(config, deps)
    assert set(composed) == {encoded, garbled}
    assert all("请重新发送：本邮件没有附带文件" in composed[each][2] for each in (encoded, garbled))
    assert queue_reasons(deps)[asked] == ["question"]


def test_files_left_behind_a_download_link_are_asked_for_and_put_before_staff(config, deps):
    """GIVEN 桃城区's 附件1 attached beside a QQ 超大附件 link to the rest, and 景县's package shared as a 金山文档
    (WPS) link, in 百度网盘, and as QQ's English "Large file attachments" WHEN stored THEN each receipt says
    that the link's files cannot be downloaded and to attach them (the one with 附件1 lists it as read), and
    staff get a "link" item for each, never a "question"."""
    subject = "景县12月份残疾人服务工程进展情况报告及附件"
    beside, wps, baidu, english = store(
        deps,
        mail("桃城区4月份报表", "附件1见附件，其余表格较大见超大附件\n" + QQ_LARGE, (PROGRESS,), sender=TAOCHENG),
        mail(
            subject,
            "孙老师：12月份报表太大发不出去，我用WPS分享给您了：\n“景县12月份报表.xlsx”等10个文件 "
            "https://www.kdocs.cn/l/ctAbCdEfGh\n[金山文档] 点击链接查看",
        ),
        mail(subject, "12月报表在百度网盘：链接: https://pan.baidu.com/s/1AbCdEf?pwd=8x7k 提取码: 8x7k"),
        mail(
            subject,
            "Large file attachments from QQ Mail\n景县12月份报表.zip (12.5M) "
            "https://mail.qq.com/cgi-bin/ftnExs_download?k=1",
        ),
    )
    composed = receipts(config, deps)
    assert set(composed) == {beside, wps, baidu, english}
    beside_text = composed[beside][2]
    assert "- 附件1.docx：附件1 目标任务进展情况报告" in beside_text
    assert (
        "请重新发送：邮件中“超大附件”下载链接里的文件，系统无法下载，没有收到。请把这些表格直接作为附件" in beside_text
    )
    assert "邮件中是在线文档（金山文档、腾讯文档等）的分享链接，系统无法下载。请把表格直接作为附件" in composed[wps][2]
    assert "邮件中是网盘（百度网盘等）的分享链接，系统无法下载。" in composed[baidu][2]
    assert "邮件中是“超大附件”下载链接，系统无法下载。" in composed[english][2]
    for text in (composed[wps][2], composed[baidu][2], composed[english][2]):
        assert "没有附带文件" not in text
    queued = queue_reasons(deps)
    assert {id_: queued.get(id_) for id_ in (beside, wps, baidu, english)} == dict.fromkeys(
        (beside, wps, baidu, english), ["link"]
    )


def test_a_read_receipt_of_our_mail_needs_nobody_but_a_question_under_our_receipt_does(config, deps):
    """GIVEN Foxmail's plain-text read receipt of our receipt, Outlook's "已读:" one sent as plain text, and a
    clerk's question in reply to our receipt WHEN stored THEN none is answered; only the question is an item."""
    foxmail, outlook, question = store(
        deps,
        mail("已读回执：回执：景县12月份报表", "这是邮件收条, 2020年12月19日 17:00 收件人 景县残联 已读。"),
        mail(
            "已读: 回执：景县12月份报表", "您的邮件\n\n    主题: 回执：景县12月份报表\n\n已于 2020/12/19 17:00 读取。"
        ),
        mail("回复：回执：景县12月份报表", "你好，回执说附件3有问题，请问具体哪里要改？"),
    )
    assert receipts(config, deps) == {}
    queued = queue_reasons(deps)
    assert foxmail not in queued and outlook not in queued and queued[question] == ["question"]


def test_a_receipt_never_lists_its_own_forms_as_not_yet_received(config, deps):
    """GIVEN 桃城区's late April 附件2 whose arrival (the mail server's time) is ten minutes ahead of this host's
    clock (a server clock ahead, or this host's set back) WHEN its receipt is composed THEN the month's missing
    forms are the others, never the 附件2 it lists as received, where it read as not yet received."""
    message = compose(TAOCHENG, OFFICE, "桃城区4月份报表", WHEN + timedelta(minutes=10), body="补报")
    message.add_attachment(
        (BOOKS / "summary-unit-row-only.xlsx").read_bytes(),
        maintype="application",
        subtype="octet-stream",
        filename="附件2.xlsx",
    )
    [late] = store(deps, message.as_bytes())
    text = receipts(config, deps)[late][2]  # composed at WHEN + 1 minute
    missing = next(line for line in text.splitlines() if "尚未收到" in line)
    assert "附件1" in missing and "附件2" not in missing
    with deps.db.session() as session:
        raw = session.scalar(select(OutboxMail.raw).where(OutboxMail.about_message == late))
    sent = email.message_from_bytes(raw, policy=policy.default)
    assert str(sent["Date"]).endswith("+0800")  # in the units' time, as its text says it
