"""Who is owed a receipt (RFC 3834 and the plan), decided without a server."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from replies.receipt import FileFacts, MessageFacts, download_link, receipt_for, reply_owed
from scoring.packages import FormStatus, PackageStatus

NOW = datetime(2020, 5, 6, 12, tzinfo=UTC)
OURS = frozenset({"hsclbgs666@163.com"})
BRIEFING = MessageFacts(
    id=1,
    kind="briefing",
    unit="枣强县",
    month="2020-05",
    registered=True,
    sender="zqxcl@163.com",
    subject="枣强县贫困残疾人服务工程专项信息",
    message_id="<a@x>",
    references=("<z@x>",),
    arrival=NOW - timedelta(minutes=5),
    body_text="",
    attachment_names=(),
)


def owed(facts=BRIEFING, max_age=timedelta(days=7)) -> bool:
    return reply_owed(facts, OURS, NOW, max_age) == "receipt"


@pytest.mark.parametrize(
    "change, expected",
    [
        ({}, True),
        ({"registered": False}, False),
        ({"unit": None}, False),
        ({"kind": "auto"}, False),
        ({"kind": "bounce"}, False),
        ({"kind": "reply"}, False),
        ({"sender": "hsclbgs666@163.com"}, False),
        ({"sender": "noreply@163.com"}, False),
        ({"sender": "no-reply@qq.com"}, False),
        ({"sender": None}, False),
        ({"arrival": NOW - timedelta(days=8)}, False),
        ({"kind": "other"}, False),
        ({"kind": "other", "attachment_names": ("新建 Microsoft Excel 工作表.xlsx",)}, True),
        ({"kind": "other", "body_text": "从网易163邮箱发来的超大附件 下载"}, True),
        ({"kind": "other", "body_text": "报表在百度网盘 https://pan.baidu.com/s/1AbC 提取码 8x7k"}, True),
        # a reply carrying files a package is sent as, read or not; an article is a Word file too
        ({"kind": "reply", "attachment_names": ("景县12月份报表.rar",)}, True),
        ({"kind": "reply", "attachment_names": ("附件1.DOCX",), "subject": "答复: 关于报送12月份报表的通知"}, True),
        (
            {"kind": "reply", "attachment_names": ("稿件.docx",), "subject": "回复：枣强县贫困残疾人服务工程专项信息"},
            False,
        ),
        ({"kind": "reply", "attachment_names": ("截图.png",)}, False),
        (
            {"kind": "reply", "body_text": "从QQ邮箱发来的超大附件 https://mail.qq.com/cgi-bin/ftnExs_download?k=1"},
            True,
        ),
        # …but a download link under our own mail is not answered: a robot may echo our receipt's words
        ({"kind": "reply", "subject": "回复：回执：枣强县5月份报表", "body_text": "邮件中是“超大附件”下载链接"}, False),
        ({"kind": "reply", "subject": "回复：回执：枣强县5月份报表", "attachment_names": ("报表.zip",)}, True),
    ],
)
def test_who_is_owed_a_receipt(change, expected):
    assert owed(replace(BRIEFING, **change)) is expected


def test_age_limit_off():
    assert owed(replace(BRIEFING, arrival=NOW - timedelta(days=400)), max_age=None)


def test_a_receipt_threads_and_says_what_to_resend():
    facts = replace(
        BRIEFING,
        kind="report",
        attachment_names=("a.xlsx",),
        files=(FileFacts("a.xlsx", None, False, 0, problems=("无法读取",)),),
    )
    receipt = receipt_for(facts, [], None, 8)
    assert receipt.to == "zqxcl@163.com" and receipt.subject == "回执：枣强县贫困残疾人服务工程专项信息"
    assert receipt.in_reply_to == "<a@x>" and receipt.references == ("<z@x>", "<a@x>")
    assert receipt.context["resend"].startswith("附件“a.xlsx”中没有可读取的附件表格，原因见上面")
    assert receipt.context["problems"] == [("a.xlsx", ["无法读取"])]


DEADLINE = datetime(2020, 5, 20, 15, 59, 59, tzinfo=UTC)  # the 20th, 23:59:59 in Shanghai
REPORT = replace(BRIEFING, id=7, kind="report", subject="枣强县5月份报表", attachment_names=("附件2.xlsx",))


def package(status: str, forms: dict[int, tuple[str, int | None]], as_of: datetime = NOW) -> PackageStatus:
    """枣强县's May package: per form, its status and the message whose file made it arrive."""
    return PackageStatus(
        "枣强县",
        "2020-05",
        status,  # type: ignore[arg-type]
        DEADLINE,
        as_of,
        tuple(FormStatus(n, s, None if m is None else DEADLINE, m) for n, (s, m) in forms.items()),  # type: ignore[arg-type]
    )


AFTER = DEADLINE + timedelta(days=10)


@pytest.mark.parametrize(
    "facts, month, this_mail, package_line",
    [
        # before the deadline, forms still to come
        (
            REPORT,
            package("missing", {1: ("on_time", 7), 2: ("missing", None)}),
            "本次在时限内",
            "该月尚未收到：附件2。",
        ),
        # a corrected resend after the deadline of a month in on time: the month stays on time (SPEC)
        (
            replace(REPORT, arrival=AFTER),
            package("on_time", {1: ("on_time", 3), 2: ("on_time", 3)}, AFTER),
            "本次在时限后到达，属更正重报，不影响该月按时报送",
            "该月应报附件此前均已按时收到。",
        ),
        # the mail that brings a form after the deadline is late itself
        (
            replace(REPORT, arrival=AFTER),
            package("late", {1: ("on_time", 3), 2: ("late", 7)}, AFTER),
            "本次已超过时限（迟报）",
            "该月应报附件均已收到，其中附件2在时限后收到（迟报）。",
        ),
        # a failed submission says nothing of itself being in time, and the month's gap past the deadline
        (
            replace(REPORT, kind="other", arrival=AFTER, attachment_names=()),
            package("missing", {1: ("missing", None)}, AFTER),
            None,
            "现已过时限，该月尚未收到：附件1；请尽快补报。",
        ),
    ],
    ids=["in-time", "correction-after-deadline", "late", "failed-after-deadline"],
)
def test_the_receipt_tells_time_as_the_scoring_counts_it(facts, month, this_mail, package_line):
    [said] = receipt_for(facts, [month], None, 8).context["packages"]
    assert (said["this_mail"], said["package_line"]) == (this_mail, package_line)


def test_a_receipt_composed_after_later_mail_does_not_say_its_forms_came_before():
    """GIVEN 安平县's correction bringing nothing new on October 22 and 附件2 coming late on October 23, answered
    together in one poll WHEN the correction's receipt is made THEN it says the month's forms are all in, not that
    they all came before it (its 附件2 came after)."""
    later = AFTER + timedelta(days=1)
    forms = (FormStatus(1, "on_time", DEADLINE, 3), FormStatus(2, "late", later, 9))
    month = PackageStatus("枣强县", "2020-05", "late", DEADLINE, later, forms)  # type: ignore[arg-type]
    [said] = receipt_for(replace(REPORT, arrival=AFTER), [month], None, 8).context["packages"]
    assert said["package_line"] == "该月应报附件均已收到，其中附件2在时限后收到（迟报）。"


def test_a_month_complete_with_another_units_form_is_not_said_complete_beyond_doubt():
    """GIVEN 枣强县's May mail completing the month with a 附件2 whose title names 桃城区 WHEN answered THEN the line
    saying the month's forms are all in says the forms above naming another unit are to be checked: the receipt
    told each form 请核对是否附错了文件 and then, unqualified, 该月应报附件均已按时收到."""
    other = replace(REPORT, files=(FileFacts("附件2.xlsx", 2, True, 1, unit="桃城区", month="2020-05"),))
    complete = package("on_time", {2: ("on_time", 7)})
    [said] = receipt_for(other, [complete], None, 8).context["packages"]
    assert said["package_line"] == (
        "该月应报附件均已按时收到（以上有表格写的单位或月份与邮件不符，如附错了文件，请发送正确的表格）。"
    )
    own = replace(REPORT, files=(FileFacts("附件2.xlsx", 2, True, 1, unit="枣强县", month="2020-05"),))
    [said] = receipt_for(own, [complete], None, 8).context["packages"]
    assert said["package_line"] == "该月应报附件均已按时收到。"


def test_problems_are_listed_under_the_file_they_are_in_and_a_wrong_unit_or_month_first():
    """GIVEN two workbooks whose sheets are both "Sheet", one of them 桃城区's April form attached to 枣强县's
    May mail WHEN the receipt is made THEN each file's problems come under its name, the mismatch first."""
    facts = replace(
        REPORT,
        files=(
            FileFacts("附件3.xlsx", 3, True, 5, problems=("［Sheet C6］残疾人证号校验位不对",), unit="枣强县"),
            FileFacts("附件2.xlsx", 2, True, 1, problems=("［Sheet C6］百分比不对",), unit="桃城区", month="2020-04"),
            FileFacts("附件1.docx", 1, True, 0, unit="枣强县", month="2020-05"),
        ),
    )
    assert receipt_for(facts, [], None, 8).context["problems"] == [
        ("附件3.xlsx", ["［Sheet C6］残疾人证号校验位不对"]),
        (
            "附件2.xlsx",
            [
                "表中写的单位是桃城区，本邮件是枣强县的报送；表中写的月份是2020年4月，本邮件报送的是2020年5月，"
                "已按枣强县2020年5月记录；请核对是否附错了文件",
                "［Sheet C6］百分比不对",
            ],
        ),
    ]


@pytest.mark.parametrize(
    "subject, body, expected",
    [
        ("武邑县9月份报表", "", True),
        ("转发：枣强县4月份康复服务实名制登记表", "见附件", True),
        ("武邑县9月份报表", "请问附件9从哪个月开始报", False),  # a question: people answer it
        ("武邑县9月份报表", "附件9也要报吗？", False),
        # the clerk's own words ask nothing: a signature, a link or a quoted mail is not theirs
        ("武邑县9月份报表", "报表见附件\n\n--\n武邑县残联 李明\n为残疾人办实事，您满意吗？", True),
        ("武邑县9月份报表", "报表见附件\n签名：\n您满意吗？", True),
        ("武邑县9月份报表", "填报说明见 https://www.hsdpf.org.cn/a.jsp?id=1", True),
        ("武邑县9月份报表", "见附件\n\n------------------ 原始邮件 ------------------\n请问何时报？", True),
        ("武邑县9月份报表", "见附件\n\n在 2020年9月8日 10:00，孙倩 写道：\n> 请问何时报？", True),
        ("武邑县9月份报表", "见附件\n> 请问何时报？", True),
        ("武邑县9月份报表", "附件9也要报吗？\n--\n武邑县残联", False),
        ("关于附件2填报口径的请示", "", False),  # a letter about a form
        ("枣强县4月份登记表怎么填", "", False),
        ("武邑县报表", "", False),  # no month: not a package's own subject
    ],
)
def test_a_package_sent_without_its_files_is_told_to_attach_them(subject, body, expected):
    """GIVEN a registered unit's mail with nothing attached (recognised as other mail: it puts no month in the
    matrix) WHEN its subject is a package's own and nothing asks a question THEN it is owed a receipt saying
    to attach the files and send again; a question or a letter is left to people."""
    facts = replace(BRIEFING, kind="other", subject=subject, body_text=body, attachment_names=())
    assert owed(facts) is expected
    if expected:
        assert receipt_for(facts, [], None, 8).context["resend"].startswith("本邮件没有附带文件。请把附件1–8")


def test_a_form_of_another_month_is_not_questioned_when_its_month_is_the_one_counted():
    """GIVEN a mail whose subject names no month (its month read from an attachment's name), carrying a form
    titled another month WHEN the receipt is made THEN that form is not questioned: without a month in the
    subject each form counts for the month its own title names (archive.evidence.report_month)."""
    form = FileFacts("附件2.xlsx", 2, True, 1, unit="枣强县", month="2020-04")
    facts = replace(REPORT, subject="枣强县报表", month_source="attachment", files=(form,))
    assert receipt_for(facts, [], None, 8).context["problems"] == []
    other_unit = replace(facts, files=(replace(form, unit="桃城区"),))
    assert receipt_for(other_unit, [], None, 8).context["problems"] == [
        ("附件2.xlsx", ["表中写的单位是桃城区，本邮件是枣强县的报送，已按枣强县记录；请核对是否附错了文件"])
    ]


FORM = FileFacts("附件2.xlsx", 2, True, 1, unit="枣强县", month="2020-09")
PDF = FileFacts("扫描件.pdf", None, False, 0, problems=("“扫描件.pdf”是 PDF 文件…",), no_form=True)


@pytest.mark.parametrize(
    "change, expected",
    [
        # pressing 回复 on the notice, or on our receipt, to send the forms: a package
        ({"kind": "reply", "subject": "回复：关于报送9月份目标任务完成情况的通知", "files": (FORM,)}, True),
        ({"kind": "reply", "subject": "Re: 回执：枣强县9月份报表", "files": (FORM,), "answers_ours": True}, True),
        ({"kind": "reply", "subject": "回复：关于报送9月份目标任务完成情况的通知", "body_text": "收到"}, False),
        ({"kind": "reply", "subject": "回复：关于报送9月份目标任务完成情况的通知", "files": (PDF,)}, False),
        # our own mail answered back, by a robot or a read receipt: never again, whatever it says
        ({"kind": "other", "subject": "回执：枣强县9月份报表"}, False),
        ({"kind": "other", "subject": "回执：回执：枣强县9月份报表"}, False),
        ({"kind": "other", "subject": "已读回执：安平县7月份报表"}, False),
        ({"kind": "other", "subject": "已读: 安平县7月份报表"}, False),
        ({"kind": "other", "subject": "枣强县9月份报表", "answers_ours": True}, False),
        (
            {"kind": "other", "subject": "回执：枣强县9月份报表", "attachment_names": ("扫描件.pdf",), "files": (PDF,)},
            False,
        ),
        ({"kind": "report", "subject": "回执：枣强县9月份报表", "files": (FORM,)}, True),
        ({"kind": "other", "subject": "枣强县9月份报表"}, True),  # its files forgotten, not threaded under ours
        # an MDN whatever its subject (its report in the text: parsers.mime), a meeting invitation: no submission
        (
            {
                "kind": "other",
                "subject": "Return Receipt (displayed) - 枣强县9月份报表",
                "body_text": "-------- 阅读回执 --------\nDisposition: manual-action/MDN-sent-manually; displayed",
            },
            False,
        ),
        (
            {"kind": "other", "subject": "枣强县9月份报表", "body_text": "-------- 会议邀请 --------\n主题: 培训会"},
            False,
        ),
        ({"kind": "other", "subject": "枣强县9月份报表会议", "attachment_names": ("invite.ics",)}, False),
    ],
)
def test_a_reply_with_forms_is_answered_and_our_own_mail_answered_back_never(change, expected):
    assert owed(replace(REPORT, **{"attachment_names": (), **change})) is expected


def test_a_receipt_to_a_reply_under_our_receipt_keeps_the_first_subject():
    facts = replace(REPORT, kind="reply", subject="Re: 回执：枣强县9月份报表", files=(FORM,))
    receipt = receipt_for(facts, [], None, 8)
    assert receipt.subject == "回执：枣强县9月份报表" and receipt.context["kind"] == "report"


def test_a_file_holding_no_form_is_listed_and_named_in_the_resend_advice_but_not_for_a_briefing():
    facts = replace(REPORT, attachment_names=("扫描件.pdf",), files=(PDF,))
    receipt = receipt_for(facts, [], None, 8)
    assert receipt.context["problems"] == [("扫描件.pdf", ["“扫描件.pdf”是 PDF 文件…"])]
    assert receipt.context["resend"].startswith("附件“扫描件.pdf”中没有可读取的附件表格")
    article = receipt_for(replace(facts, kind="briefing"), [], (1, 1), 8)
    assert article.context["files"] == () and article.context["problems"] == []


def test_forms_that_could_not_be_read_are_not_sent_back_to_the_templates():
    """GIVEN 桃城区's December forms in a zip locked with a password (each read as its form, none readable) WHEN
    answered THEN the clerk is told to mend what is said above (the password), where they were told to use the
    city's templates, which these are."""
    locked = tuple(
        FileFacts(f"桃城区12月份报表.zip › 附件{n}.xlsx", n, False, 0, problems=("设置了解压密码，无法读取",))
        for n in (2, 3)
    )
    facts = replace(REPORT, attachment_names=("桃城区12月份报表.zip",), files=locked)
    resend = receipt_for(facts, [], None, 8).context["resend"]
    assert resend.startswith(
        "附件“桃城区12月份报表.zip › 附件2.xlsx”、“桃城区12月份报表.zip › 附件3.xlsx”中没有可读取的附件表格，原因见上面"
    )
    assert "模板" not in resend
    unknown = replace(facts, files=(FileFacts("数据.xlsx", None, True, 3),))
    assert "请使用市残联下发的附件模板" in receipt_for(unknown, [], None, 8).context["resend"]


def test_every_file_that_could_not_be_read_is_named_and_a_zip_in_a_zip_is_not_sent_to_the_templates():
    """GIVEN a package of a locked 附件2, a cut 附件4, a PDF and a zip holding a zip WHEN answered THEN the files to
    send again are all four: only the PDF was named (the workbooks stayed unsent), and a zip in a zip alone was
    told to use the templates, against 请直接发送各个文件 above (wording reviewer)."""
    files = (
        FileFacts("附件2.xlsx", 2, False, 0, problems=("设置了打开密码，无法读取",)),
        FileFacts("附件4.xlsx", 4, False, 0, problems=("不是完整的 Excel 文件",)),
        FileFacts("附件5.pdf", None, False, 0, problems=("PDF 文件",), no_form=True),
        FileFacts("报表.zip › inner.zip", None, False, 0, problems=("压缩包里的压缩包，请直接发送各个文件",)),
    )
    names = tuple(f.source for f in files)
    resend = receipt_for(replace(REPORT, attachment_names=names, files=files), [], None, 8).context["resend"]
    assert (
        resend.startswith(f"附件{'、'.join(f'“{name}”' for name in names)}中没有可读取的附件表格")
        and "模板" not in resend
    )
    nested = replace(REPORT, attachment_names=("报表.zip",), files=files[3:])
    assert "模板" not in receipt_for(nested, [], None, 8).context["resend"]


def test_a_form_1_whose_text_could_not_be_read_asks_for_nothing():
    """GIVEN a package of one 附件1.doc whose text could not be read (it counts) WHEN answered THEN nothing is asked
    again and the hint is said apart from the problems: the receipt said 无需为此重发, then 请重新发送."""
    hint = "附件1“附件1.doc”能够接收（不影响计分），但系统读不出其中的文字（检索不到其内容）；无需为此重发"
    facts = replace(REPORT, attachment_names=("附件1.doc",), files=(FileFacts("附件1.doc", 1, True, 0, notes=(hint,)),))
    receipt = receipt_for(facts, [], None, 8)
    assert receipt.context["resend"] is None and receipt.context["problems"] == []
    assert receipt.context["notes"] == [hint]


@pytest.mark.parametrize(
    "body, link",
    [
        ("4月份报表文件较大，已用超大附件发送。", "“超大附件”下载链接"),
        (
            "Large file attachments from QQ Mail\n报表.zip https://mail.qq.com/cgi-bin/ftnExs_download?k=1",
            "“超大附件”下载链接",
        ),
        ("报表.zip (https://mail.163.com/large-attachment-download/index.html?p=X)", "“超大附件”下载链接"),
        ("链接: https://pan.baidu.com/s/1AbCdEf 提取码: 8x7k", "网盘（百度网盘等）的分享链接"),
        ("我用WPS分享给您了：https://www.kdocs.cn/l/ctAbCdEfGh", "在线文档（金山文档、腾讯文档等）的分享链接"),
        ("报表见附件，请查收。", None),
        ("附件1是用WPS文档保存的。", None),
        # our own receipt's advice quoted back is not the clerk's link; a service's link is, wherever it is
        ("已改。\n\n------------------ 原始邮件 ------------------\n邮件中是“超大附件”下载链接，系统无法下载。", None),
        (
            "已改。\n-- \n李明\n从QQ邮箱发来的超大附件\nhttps://mail.qq.com/cgi-bin/ftnExs_download?k=1",
            "“超大附件”下载链接",
        ),
    ],
)
def test_files_left_behind_a_download_link_are_known_by_the_clerks_words_or_the_services_link(body, link):
    """GIVEN a registered unit's other mail with nothing attached, its subject no package's own WHEN its text
    leaves files behind a link THEN it is owed a receipt naming the link and asking for the files as
    attachments; the words of our own receipt quoted back are no link."""
    facts = replace(REPORT, kind="other", subject="枣强县来信", body_text=body, attachment_names=())
    assert download_link(body) == link
    assert owed(facts) is (link is not None)
    if link:
        assert receipt_for(facts, [], None, 8).context["resend"] == (
            f"邮件中是{link}，系统无法下载。"
            "请把表格直接作为附件添加到邮件中重新发送（单个附件不超过 20MB，可压缩为 .zip）。"
        )


def test_a_link_beside_attached_forms_asks_for_the_links_files():
    facts = replace(REPORT, body_text="其余表格见百度网盘 https://pan.baidu.com/s/1AbC", files=(FORM,))
    assert receipt_for(facts, [], None, 8).context["resend"] == (
        "邮件中网盘（百度网盘等）的分享链接里的文件，系统无法下载，没有收到。"
        "请把这些表格直接作为附件添加到邮件中重新发送（单个附件不超过 20MB，可压缩为 .zip）。"
    )
    article = replace(facts, kind="briefing", body_text="我县残联开通网盘，方便残疾人查询。")  # an article's words
    assert receipt_for(article, [], (1, 1), 8).context["resend"] is None


def test_a_reply_carrying_a_package_no_form_was_read_from_gets_a_packages_receipt():
    rar = FileFacts("景县12月份报表.rar", None, False, 0, problems=("RAR 压缩包…",), no_form=True)
    facts = replace(
        REPORT, kind="reply", subject="答复: 关于报送5月份报表的通知", attachment_names=(rar.source,), files=(rar,)
    )
    receipt = receipt_for(facts, [], None, 8)
    assert receipt.context["kind"] == "report" and receipt.context["problems"] == [(rar.source, ["RAR 压缩包…"])]
    assert receipt.context["resend"].startswith("附件“景县12月份报表.rar”中没有可读取的附件表格")
    link = replace(facts, attachment_names=(), files=(), body_text="见超大附件")
    assert receipt_for(link, [], None, 8).context["kind"] == "other"  # nothing of it counts


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "other", "subject": "已接受: 枣强县9月份报表填报培训会"},
        {"kind": "other", "subject": "已接受：枣强县9月份报表"},
        {"kind": "other", "subject": "已拒绝: 枣强县9月份报表"},
        {"kind": "other", "subject": "暂定: 枣强县9月份报表"},
        {"kind": "other", "subject": "Accepted: 枣强县9月份报表"},
        {"kind": "other", "subject": "declined：枣强县9月份报表"},
        {"kind": "other", "subject": "Tentative: 枣强县9月份报表"},
        {"kind": "other", "subject": "转发: 已接受: 枣强县9月份报表"},
        # a meeting named with a briefing's words: recognition takes it for an article, no receipt goes out
        {"kind": "briefing", "subject": "已接受: 枣强县贫困残疾人服务工程专项信息交流会"},
    ],
)
def test_an_answer_to_a_meeting_invitation_that_lost_its_calendar_data_is_never_answered(change):
    """GIVEN a text-only answer to a meeting invitation (Outlook's 已接受/已拒绝/暂定, Accepted/Declined/Tentative),
    its subject reading as a package's WHEN owed a reply THEN none: it is no submission whose files were
    forgotten."""
    assert not owed(replace(REPORT, **{"attachment_names": (), "body_text": "", **change}))


@pytest.mark.parametrize(
    "change, expected",
    [
        # the words later in the subject, or a package attached: still answered
        ({"subject": "枣强县9月份报表（已接受：上次的修改意见）"}, True),
        ({"subject": "枣强县9月份报表 Accepted: 已修改"}, True),
        (
            {
                "kind": "report",
                "subject": "已接受: 枣强县9月份报表",
                "attachment_names": ("附件2.xlsx",),
                "files": (FORM,),
            },
            True,
        ),
        ({"subject": "已接受: 枣强县9月份报表", "attachment_names": ("报表.rar",)}, True),
        ({"subject": "已接受: 枣强县9月份报表"}, False),
    ],
)
def test_a_package_with_a_meeting_answers_words_is_still_answered(change, expected):
    assert owed(replace(REPORT, **{"kind": "other", "attachment_names": (), "body_text": "", **change})) is expected


YEAR_END = replace(
    REPORT,
    subject="枣强县10-12月报表",
    month="2020-12",
    month_source="subjects",
    arrival=datetime(2021, 1, 8, 2, tzinfo=UTC),
    files=(replace(FORM, month=None),),
)


@pytest.mark.parametrize(
    "change, said",
    [
        ({}, "主题中的“10-12月”按12月份报送登记；如不是12月份的报表，请在主题中写明月份后重新发送"),
        ({"subject": "Re: 枣强县10-12月报表", "kind": "reply"}, "主题中的“10-12月”按12月份报送登记"),
        ({"files": (replace(FORM, month="2020-12"),)}, "主题中的“10-12月”按12月份报送登记"),
        ({"subject": "枣强县１０－１２月份报表"}, "主题中的“10-12月”按12月份报送登记"),
        ({"subject": "枣强县1-12月报表", "month_source": "subject"}, "主题中的“1-12月”按12月份报送登记"),
        (
            {"subject": "枣强县2020年1月-12月汇总表", "month_source": "subject"},
            "主题中的“2020年1月-12月”按12月份报送登记",
        ),
        ({"subject": "枣强县7-9月报表", "month": "2020-09"}, "主题中的“7-9月”按9月份报送登记"),
        # forms whose titles name their own months count for those: the receipt lists them, no range is read
        ({"files": tuple(replace(FORM, month=f"2020-{n}") for n in (10, 11, 12))}, None),
        ({"subject": "枣强县12月份报表", "month_source": "subject"}, None),
        ({"subject": "枣强县11、12月份报表"}, None),
        ({"month_source": "staff"}, None),  # a staff correction decided the month
        ({"kind": "briefing"}, None),  # counted in its arrival month
    ],
)
def test_a_subjects_range_of_months_is_told_as_the_month_it_was_filed_under(change, said):
    """GIVEN a mail filed under one month read from a range of months its subject names (its last) WHEN the
    receipt is made THEN it says so plainly, and how to resend when another month was meant."""
    read = receipt_for(replace(YEAR_END, **change), [], None, 8).context["month_read"]
    assert (read or "").startswith(said or "") and (read is None) is (said is None)


def test_one_mistake_down_a_column_is_said_three_times_whole_then_once_with_its_cells():
    """GIVEN a registry whose 证号 column (C) holds 19-digit numbers on 200 rows and whose phone column (D) holds
    one bad phone, each problem naming its own value WHEN its problems are listed (receipt, inspect, show, 自查)
    THEN the first three of column C are said whole, then one line names the other 197 cells (the first ten,
    and how many), in the place of the fourth; column D's problem and a problem of the whole file stay as they
    were: a clerk read 232 numbered lines each explaining the same rule again."""
    from replies.problems import problem_lines

    def problem(column: str, row: int, code: str, message: str) -> dict:
        return {"sheet": "Sheet1", "column": column, "row": row, "code": code, "message": message}

    problems = [{"sheet": None, "column": None, "row": None, "code": "title", "message": "标题中没有写明月份"}]
    for row in range(4, 204):
        problems.append(
            problem("C", row, "bad-disability-id", f"残疾人证号“1311{row:03d}**********1”有 19 位，应为 20 位")
        )
        if row == 5:
            problems.append(problem("D", row, "bad-phone", "联系电话“0318-52”位数不对"))
    lines = problem_lines(problems)
    cells = "、".join(f"C{row}" for row in range(7, 17))
    assert lines == [
        "标题中没有写明月份",
        "［Sheet1 C4］残疾人证号“1311004**********1”有 19 位，应为 20 位",
        "［Sheet1 C5］残疾人证号“1311005**********1”有 19 位，应为 20 位",
        "［Sheet1 D5］联系电话“0318-52”位数不对",
        "［Sheet1 C6］残疾人证号“1311006**********1”有 19 位，应为 20 位",
        f"［Sheet1 {cells}等 197 处］C 列这些单元格也有同类问题（说明同上）；请整列核对后改正",
    ]


def test_four_alike_are_each_said_and_a_duplicated_person_is_never_folded():
    """Four bad phones in a column: one left over past three is said whole (no line for "these cells" of one);
    five persons registered twice are each said whole, with the other row they name: folded, which row doubles
    which would be lost."""
    from replies.problems import problem_lines

    def problem(row: int, code: str, message: str) -> dict:
        return {"sheet": "Sheet1", "column": "F", "row": row, "code": code, "message": message}

    phones = [problem(row, "bad-phone", f"联系电话“13{row}”位数不对") for row in range(4, 8)]
    doubled = [problem(row, "duplicate-person", f"与第 {row + 10} 行是同一人") for row in range(10, 15)]
    assert problem_lines(phones + doubled) == [
        *(f"［Sheet1 F{row}］联系电话“13{row}”位数不对" for row in range(4, 8)),
        *(f"［Sheet1 F{row}］与第 {row + 10} 行是同一人" for row in range(10, 15)),
    ]
