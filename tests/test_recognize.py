"""Recognition of unit, kind and reporting month from parsed messages built in place."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from parsers.recognize import answers_our_subject, names_a_package, normalize, recognize, report_month, strip_prefixes
from parsers.records import Attachment, Kind, ParsedMessage, Unit
from parsers.unit_names import find_unit, find_units, unit_keys

TZ = ZoneInfo("Asia/Shanghai")
OWN = "office@example.org"
MAY_3 = datetime(2020, 5, 3, 2, 0, tzinfo=UTC)

# The 13 units of the 2020 plan, with the example sender addresses of the reference table.
UNITS = (
    Unit("桃城区", ("桃城",), ("tcqcl@163.com",)),
    Unit("冀州区", ("冀州",), ("jzqcl@126.com",)),
    Unit("枣强县", ("枣强",), ("zqxcl@163.com",)),
    Unit("武邑县", ("武邑",), ("wyxcl@163.com",)),
    Unit("深州市", ("深州",), ("szscl@126.com",)),
    Unit("武强县", ("武强",), ("wqxcl@163.com",)),
    Unit("饶阳县", ("饶阳",), ("ryxcl@163.com",)),
    Unit("安平县", ("安平",), ("apxcl@126.com",)),
    Unit("故城县", ("故城",), ("gcxcl@163.com",)),
    Unit("景县", ("景 县", "景州"), ("jxcl2020@163.com",)),
    Unit("阜城县", ("阜城",), ("fcxcl@126.com",)),
    Unit("高新区", ("衡水高新区", "高新技术产业开发区"), ("gxqsfj@163.com",)),
    Unit("滨湖新区", ("滨湖",), ("bhxqsgj@163.com",)),
)
SENDER = {unit.name: unit.senders[0] for unit in UNITS}
BRIEFING = "贫困残疾人服务工程专项信息"


def attachment(filename: str, sniffed_type: str = "") -> Attachment:
    return Attachment(filename=filename, declared_type="application/octet-stream", sniffed_type=sniffed_type, data=b"")


PACKAGE = (attachment("附件2.xlsx", "xlsx"),)  # a package carries its files: without, it is not one


def mail(
    subject: str,
    from_addr: str | None = "zqxcl@163.com",
    *,
    from_name: str = "",
    attachments: tuple[Attachment, ...] = (),
    automation: tuple[tuple[str, str], ...] = (),
    content_type: str = "multipart/mixed",
    return_path: str | None = None,
) -> ParsedMessage:
    return ParsedMessage(
        message_id="<test@example.org>",
        subject=subject,
        from_addr=from_addr,
        from_name=from_name,
        to_addrs=(OWN,),
        cc_addrs=(),
        date_header=None,
        date=None,
        received_dates=(),
        in_reply_to=None,
        references=(),
        automation=automation,
        content_type=content_type,
        return_path=return_path,
        body_text="",
        attachments=attachments,
    )


def run(message: ParsedMessage, arrival: datetime = MAY_3, units=UNITS, own=(OWN,)):
    return recognize(message, units, arrival, TZ, own_addresses=own)


# --- normalize and prefixes -------------------------------------------------------------------


def test_normalize_folds_full_width_and_drops_whitespace() -> None:
    assert normalize("【冀州区】专项信息（三）　４月份：") == "【冀州区】专项信息(三)4月份:"
    assert normalize("景 县\t专项\u3000信息") == "景县专项信息"


def test_strip_prefixes_returns_rest_and_prefixes_in_order() -> None:
    assert strip_prefixes("Fw: Re：景 县专项信息") == ("景县专项信息", ("Fw", "Re"))
    assert strip_prefixes("转发：转发: 枣强县") == ("枣强县", ("转发", "转发"))
    assert strip_prefixes("Report 4月份") == ("Report4月份", ())


# --- unit ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "unit"),
    [
        ("景 县" + BRIEFING, "景县"),
        ("景州" + BRIEFING, "景县"),
        ("【冀州区】" + BRIEFING + "（三）", "冀州区"),
        ("桃城" + BRIEFING, "桃城区"),
        ("（枣强县）" + BRIEFING, "枣强县"),
        ("深州市" + BRIEFING, "深州市"),
        ("深州" + BRIEFING, "深州市"),
        ("衡水高新区" + BRIEFING, "高新区"),
        ("高新区" + BRIEFING, "高新区"),
        ("滨湖新区" + BRIEFING, "滨湖新区"),
        ("故城县" + BRIEFING, "故城县"),
        ("阜城县" + BRIEFING, "阜城县"),
    ],
)
def test_unit_from_subject(subject: str, unit: str) -> None:
    result = run(mail(subject, from_addr=SENDER[unit]))
    assert (result.unit, result.registered, result.problems) == (unit, True, ())


def test_city_name_is_not_a_unit() -> None:
    assert find_unit("衡水市残联关于报送专项信息的通知", UNITS) is None


def test_short_name_is_derived_when_unique() -> None:
    """GIVEN units configured without aliases THEN 深州 still finds 深州市, but 景 (1 char) is no key."""
    bare = tuple(Unit(unit.name) for unit in UNITS)
    assert find_unit("深州" + BRIEFING, bare).name == "深州市"
    assert find_unit("桃城" + BRIEFING, bare).name == "桃城区"
    assert "景" not in unit_keys(bare)


def test_short_name_shared_by_two_units_is_dropped() -> None:
    units = (Unit("新华区"), Unit("新华县"))
    assert find_unit("新华" + BRIEFING, units) is None
    assert find_unit("新华县" + BRIEFING, units).name == "新华县"


def test_configured_alias_wins_over_a_derived_short_name() -> None:
    units = (Unit("新华区", ("新华",)), Unit("新华县"))
    assert find_unit("新华" + BRIEFING, units).name == "新华区"


def test_longest_key_wins_over_a_unit_name_inside_it() -> None:
    units = (Unit("城区"), Unit("桃城区"))
    assert find_unit("桃城区" + BRIEFING, units).name == "桃城区"
    assert find_unit("城区" + BRIEFING, units).name == "城区"


def test_shorter_key_inside_a_longer_match_is_not_a_second_unit() -> None:
    units = (Unit("城区"), Unit("桃城区"))
    assert find_units("桃城区" + BRIEFING, units) == (units[1],)


def test_one_unit_named_twice_is_not_a_conflict() -> None:
    result = run(mail("【桃城区】桃城" + BRIEFING, from_addr=SENDER["桃城区"]))
    assert (result.unit, result.registered, result.problems) == ("桃城区", True, ())


def test_two_units_in_subject_takes_the_first_and_says_so() -> None:
    result = run(mail("桃城区转报冀州区" + BRIEFING, from_addr=SENDER["桃城区"]))
    assert (result.unit, result.registered) == ("桃城区", True)
    assert result.problems == ("主题中出现多个单位（桃城区、冀州区），已按 桃城区 记录，请工作人员核实",)


def test_unit_from_attachment_name_when_subject_has_none() -> None:
    message = mail(
        "4月份报表", from_addr=SENDER["武强县"], attachments=(attachment("武强县康复服务实名制登记表.xls", "xls"),)
    )
    result = run(message)
    assert (result.unit, result.registered, result.kind) == ("武强县", True, Kind.REPORT)


def test_unit_from_sender_registered_for_one_unit() -> None:
    workbook = attachment("新建 Microsoft Excel 工作表.xlsx", "xlsx")
    message = mail("4月份报表", from_addr="FCXCL@126.com", attachments=(workbook,))
    result = run(message)
    assert (result.unit, result.registered, result.kind) == ("阜城县", True, Kind.REPORT)
    assert (result.month, result.month_source) == ("2020-04", "subject")


def test_unit_from_display_name_of_an_unregistered_sender() -> None:
    result = run(mail(BRIEFING, from_addr="123456@qq.com", from_name="枣强县残联"))
    assert (result.unit, result.registered) == ("枣强县", False)
    assert result.problems == ("发件人 123456@qq.com 未登记为 枣强县 的报送邮箱，不计分，请工作人员核实",)


def test_unit_less_message_still_gets_a_kind() -> None:
    result = run(mail(BRIEFING, from_addr="someone@qq.com"))
    assert (result.unit, result.kind, result.registered) == (None, Kind.BRIEFING, False)


def test_a_question_about_a_form_is_not_a_report_unless_it_carries_a_workbook() -> None:
    """GIVEN a subject naming a form and asking about it WHEN no workbook is attached THEN it is
    other mail for the staff, not a report missing its forms; with a workbook it is a report."""
    asking = "枣强县关于康复服务实名制登记表填写的疑问"
    assert run(mail(asking)).kind is Kind.OTHER
    assert run(mail("枣强县：登记表的“服务内容”怎么填？")).kind is Kind.OTHER
    assert run(mail(asking, attachments=(attachment("登记表.xlsx", "xlsx"),))).kind is Kind.REPORT
    naming = "枣强县4月份康复服务实名制登记表"
    assert run(mail(naming, attachments=(attachment("登记表.xlsx", "xlsx"),))).kind is Kind.REPORT


def test_a_mail_without_a_file_is_never_a_package_whatever_its_subject_names() -> None:
    """GIVEN a unit's mail whose subject names a form or the package (关于附件2填报口径的请示, or the package's
    own title) WHEN nothing is attached THEN it is other mail, for staff to answer: not a package that
    would put the month in the matrix or make a later resend late."""
    for subject in ("关于附件2填报口径的请示", "枣强县4月份康复服务实名制登记表", "枣强县4月份目标任务进展情况"):
        assert run(mail(subject)).kind is Kind.OTHER, subject


# --- registration ---------------------------------------------------------------------------


def test_unregistered_sender_is_kept_but_marked() -> None:
    result = run(mail("桃城区4月份目标任务完成情况", from_addr="123456@qq.com", attachments=PACKAGE))
    assert (result.unit, result.kind, result.registered) == ("桃城区", Kind.REPORT, False)
    assert result.problems == ("发件人 123456@qq.com 未登记为 桃城区 的报送邮箱，不计分，请工作人员核实",)


def test_sender_matching_is_case_insensitive() -> None:
    assert run(mail("桃城区" + BRIEFING, from_addr="TcQcl@163.COM")).registered is True


def test_registered_sender_naming_another_unit_is_its_own_units_with_the_conflict_said() -> None:
    """GIVEN 桃城区's registered address WHEN its article's subject names only 冀州区 THEN it is not credited to
    冀州区 (whose address it is not): it is recorded for 桃城区, and the conflict is said (the receipt tells the
    sender, 待处理 tells staff: replies.attention)."""
    result = run(mail("冀州区" + BRIEFING, from_addr=SENDER["桃城区"]))
    assert (result.unit, result.registered) == ("桃城区", True)
    assert result.problems == (
        "主题写的单位是冀州区，与发件邮箱登记的单位不符：发件人 tcqcl@163.com 是桃城区的报送邮箱，本邮件已按桃城区"
        "记录，市残联工作人员将核实；如是代冀州区报送，请由冀州区的报送邮箱发送",
    )
    package = run(mail("4月份报表", from_addr=SENDER["桃城区"], attachments=(attachment("冀州区附件2.xlsx", "xlsx"),)))
    assert (package.unit, package.registered) == ("桃城区", True)
    assert package.problems[0].startswith("附件名写的单位是冀州区，与发件邮箱登记的单位不符")


def test_registered_sender_naming_its_own_unit_beside_another_is_its_own_units() -> None:
    result = run(mail("桃城区残联赴冀州区学习交流" + BRIEFING, from_addr=SENDER["冀州区"]))
    assert (result.unit, result.registered) == ("冀州区", True)
    assert result.problems == ("主题中出现多个单位（冀州区、桃城区），已按 冀州区 记录，请工作人员核实",)


def test_a_registered_senders_letter_naming_another_unit_is_no_conflict() -> None:
    """A clerk's question or reply that names another unit is its own unit's, without a word of conflict."""
    result = run(mail("回复：关于冀州区经验做法的通知", from_addr=SENDER["桃城区"]))
    assert (result.unit, result.kind, result.registered, result.problems) == ("桃城区", Kind.REPLY, True, ())


def test_sender_registered_for_two_units_naming_a_third_does_not_count() -> None:
    units = (*UNITS[:2], Unit("枣强县", senders=("tcqcl@163.com",)), *UNITS[3:])
    result = run(mail("冀州区" + BRIEFING, from_addr=SENDER["桃城区"]), units=units)
    assert (result.unit, result.registered) == ("冀州区", False)
    assert result.problems == (
        "发件人 tcqcl@163.com 登记的是 桃城区、枣强县 的报送邮箱，但主题写的是 冀州区，不计分，请工作人员核实",
    )


def test_unknown_unit_is_reported() -> None:
    result = run(mail("请问报送格式", from_addr="stranger@qq.com"))
    assert (result.unit, result.registered, result.kind) == (None, False, Kind.OTHER)
    assert len(result.problems) == 1 and result.problems[0].startswith("无法识别报送单位")
    assert "stranger@qq.com" in result.problems[0]


def test_sender_registered_for_two_units_is_not_guessed() -> None:
    units = (Unit("桃城区", senders=("shared@163.com",)), Unit("冀州区", senders=("shared@163.com",)))
    result = run(mail("请查收", from_addr="shared@163.com"), units=units)
    assert (result.unit, result.registered) == (None, False)
    assert result.problems[0].startswith("无法识别报送单位") and "桃城区、冀州区" in result.problems[0]


def test_missing_sender_address_does_not_count() -> None:
    result = run(mail("桃城区" + BRIEFING, from_addr=None))
    assert (result.unit, result.registered) == ("桃城区", False)
    assert result.problems == ("邮件没有发件人地址，不能确认是 桃城区 的报送邮箱，不计分，请工作人员核实",)


@pytest.mark.parametrize(
    ("subject", "problems"),
    [
        # staff's own letter naming a unit: staff's, no unit's sender to confirm (no 待处理 item)
        (
            "桃城区4月份目标任务完成情况",
            ("工作人员邮箱 Office@Example.org 发出的工作人员邮件（写到 桃城区，不是 桃城区 的来信），不计分",),
        ),
        ("请查收", ()),
    ],
)
def test_own_address_is_never_registered_and_raises_no_sender_problem(subject: str, problems) -> None:
    result = run(mail(subject, from_addr="Office@Example.org"), own=("OFFICE@example.org",))
    assert (result.registered, result.problems) == (False, problems)
    assert not any("未登记" in problem for problem in result.problems)


def test_own_address_that_is_also_a_unit_sender_is_not_registered() -> None:
    """GIVEN a briefing sent (not forwarded) from one of our own mailboxes WHEN recognised THEN it counts for
    nobody, and says staff sent it (待处理: "forwarded", never a sender to confirm)."""
    result = run(mail("桃城区" + BRIEFING, from_addr=SENDER["桃城区"]), own=(SENDER["桃城区"],))
    assert (result.unit, result.registered) == ("桃城区", False)
    assert result.problems == (
        f"由工作人员邮箱 {SENDER['桃城区']} 发出，不是转发的单位邮件，不能确认是 桃城区 的报送，不计分，请工作人员核实",
    )


# --- kind: machine mail -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        ("auto-submitted", "auto-replied"),
        ("auto-submitted", "auto-generated"),
        ("auto-submitted", 'Auto-Replied; owner-email="x@example.org"'),
        ("x-autoreply", "yes"),
        ("x-autorespond", "yes"),
        ("auto-reply", "yes"),
        ("precedence", "bulk"),
        ("precedence", "Junk"),
        ("precedence", "list"),
        ("precedence", "auto_reply"),
        ("list-id", "<news.lists.example.org>"),
        ("list-unsubscribe", "<mailto:leave@example.org>"),
        ("list-post", "<mailto:news@example.org>"),
    ],
)
def test_auto_by_header(header: tuple[str, str]) -> None:
    result = run(mail("枣强县" + BRIEFING, automation=(header,)))
    assert (result.kind, result.unit, result.problems) == (Kind.AUTO, "枣强县", ())


@pytest.mark.parametrize(
    "header", [("auto-submitted", "no"), ("precedence", "first-class"), ("x-auto-response-suppress", "All")]
)
def test_headers_that_are_not_auto(header: tuple[str, str]) -> None:
    assert run(mail("枣强县" + BRIEFING, automation=(header,))).kind is Kind.BRIEFING


@pytest.mark.parametrize(
    "subject",
    [
        "自动回复：枣强县" + BRIEFING,
        "自动答复: 枣强县" + BRIEFING,
        "Auto Reply: 枣强县" + BRIEFING,
        "Automatic reply: 枣强县" + BRIEFING,
        "Out of Office: 枣强县" + BRIEFING,
        "休假中：枣强县" + BRIEFING,
        "【休假】自动回复",
    ],
)
def test_auto_by_subject(subject: str) -> None:
    assert run(mail(subject)).kind is Kind.AUTO


@pytest.mark.parametrize(
    "message",
    [
        mail("枣强县" + BRIEFING, content_type="multipart/report; report-type=delivery-status"),
        mail("枣强县" + BRIEFING, from_addr="MAILER-DAEMON@163.com"),
        mail("枣强县" + BRIEFING, from_addr="postmaster@qq.com"),
        mail("枣强县" + BRIEFING, from_addr="MAILER-DAEMON"),
        mail("枣强县" + BRIEFING, return_path=""),
        mail("枣强县" + BRIEFING, automation=(("x-failed-recipients", "x@example.org"),)),
        mail("系统退信"),
        mail("退信：枣强县" + BRIEFING),
        mail("Undeliverable: 枣强县" + BRIEFING),
        mail("Undelivered Mail Returned to Sender"),
        mail("Delivery Status Notification (Failure)"),
        mail("Mail delivery failed: returning message to sender"),
    ],
)
def test_bounce_by_each_signal(message: ParsedMessage) -> None:
    result = run(message)
    assert (result.kind, result.problems) == (Kind.BOUNCE, ())


def test_bounce_wins_over_auto_submitted() -> None:
    auto = (("auto-submitted", "auto-replied"),)
    message = mail("枣强县" + BRIEFING, content_type="multipart/report", automation=auto)
    assert run(message).kind is Kind.BOUNCE


def test_null_sender_auto_reply_is_auto_not_bounce() -> None:
    message = mail("枣强县" + BRIEFING, return_path="", automation=(("auto-submitted", "auto-replied"),))
    assert run(message).kind is Kind.AUTO


@pytest.mark.parametrize(
    ("subject", "kind"),
    [
        ("枣强县4月份报表（退信重发）", Kind.REPORT),
        ("关于休假期间枣强县" + BRIEFING, Kind.BRIEFING),
        ("休假期间枣强县" + BRIEFING + "照常报送", Kind.BRIEFING),
        ("退信重发：枣强县4月份报表", Kind.REPORT),
        ("回复：自动回复设置", Kind.REPLY),
    ],
)
def test_machine_words_inside_a_human_subject(subject: str, kind: Kind) -> None:
    assert run(mail(subject, attachments=PACKAGE)).kind is kind


# --- kind: reply, forward, briefing, report, other --------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "回复：武邑县" + BRIEFING,
        "Re: 武邑县" + BRIEFING,
        "RE：武邑县" + BRIEFING,
        "答复:武邑县" + BRIEFING,
        "回覆：武邑县" + BRIEFING,
        "回复：回复：武邑县" + BRIEFING,
        "转发：回复：武邑县" + BRIEFING,
        "Fw: Re: 武邑县" + BRIEFING,
    ],
)
def test_reply_is_a_conversation(subject: str) -> None:
    result = run(mail(subject, from_addr=SENDER["武邑县"]))
    assert (result.kind, result.unit, result.registered) == (Kind.REPLY, "武邑县", True)


@pytest.mark.parametrize(
    "subject",
    [
        "转发：枣强县" + BRIEFING,
        "Fw: 枣强县" + BRIEFING,
        "FW：枣强县" + BRIEFING,
        "Fwd: 枣强县" + BRIEFING,
        "转发: 转发: 枣强县" + BRIEFING,
    ],
)
def test_forward_prefix_is_stripped(subject: str) -> None:
    result = run(mail(subject))
    assert (result.kind, result.unit, result.registered) == (Kind.BRIEFING, "枣强县", True)


def test_reply_word_without_colon_is_not_a_reply() -> None:
    assert run(mail("Re武邑县" + BRIEFING)).kind is Kind.BRIEFING


def test_briefing_by_jianbao() -> None:
    assert run(mail("饶阳县残联工作简报第5期", from_addr=SENDER["饶阳县"])).kind is Kind.BRIEFING


def test_briefing_with_article_document_stays_briefing() -> None:
    message = mail("枣强县" + BRIEFING, attachments=(attachment("专项信息.doc", "doc"),))
    assert run(message).kind is Kind.BRIEFING


@pytest.mark.parametrize("word", ["目标任务", "进展情况", "汇总表", "登记表", "实名制", "附件", "报表", "月报"])
def test_report_by_subject_word(word: str) -> None:
    result = run(mail("安平县" + word, from_addr=SENDER["安平县"], attachments=PACKAGE))
    assert (result.kind, result.unit) == (Kind.REPORT, "安平县")


@pytest.mark.parametrize(
    ("filename", "sniffed"),
    [
        ("新建 Microsoft Excel 工作表.xlsx", "xlsx"),
        ("book.XLS", "ole"),
        ("book.et", ""),
        ("材料.zip", "zip"),
        ("noname", "xlsx"),
        ("材料.rar", "rar"),
    ],
)
def test_report_by_workbook_or_archive_attachment(filename: str, sniffed: str) -> None:
    message = mail("安平县", from_addr=SENDER["安平县"], attachments=(attachment(filename, sniffed),))
    assert run(message).kind is Kind.REPORT


def test_attachment_names_decide_when_subject_is_bare() -> None:
    report = mail("安平县", attachments=(attachment("附件1进展情况报告.doc", "doc"),))
    briefing = mail("安平县", attachments=(attachment("安平县" + BRIEFING + ".docx", "docx"),))
    assert (run(report).kind, run(briefing).kind) == (Kind.REPORT, Kind.BRIEFING)


def test_plain_document_is_other() -> None:
    message = mail("安平县", from_addr=SENDER["安平县"], attachments=(attachment("说明.doc", "doc"),))
    assert run(message).kind is Kind.OTHER


# --- month ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "arrival", "month"),
    [
        ("2020年4月", MAY_3, "2020-04"),
        ("2019年12月目标任务", MAY_3, "2019-12"),
        ("4月份", MAY_3, "2020-04"),
        ("4月", MAY_3, "2020-04"),
        ("４月份", MAY_3, "2020-04"),
        ("四月份", MAY_3, "2020-04"),
        ("十一月", datetime(2020, 11, 25, tzinfo=TZ), "2020-11"),
        ("十二月份", datetime(2021, 1, 5, tzinfo=TZ), "2020-12"),
        ("12月份", datetime(2021, 1, 5, tzinfo=TZ), "2020-12"),
        ("1月份", datetime(2020, 12, 28, tzinfo=TZ), "2021-01"),  # January's sent early, in December
        ("一月份", datetime(2020, 12, 1, tzinfo=TZ), "2021-01"),
        ("1月份", datetime(2020, 11, 30, tzinfo=TZ), "2020-01"),  # ten months before November
        ("2月份", datetime(2020, 12, 28, tzinfo=TZ), "2020-02"),
        ("5月份", datetime(2020, 4, 28, tzinfo=TZ), "2020-05"),
        ("6月份", datetime(2020, 4, 28, tzinfo=TZ), "2019-06"),
        ("1-4月份", MAY_3, "2020-04"),
        ("三四月份", MAY_3, "2020-04"),
        ("5月报送4月份报表", MAY_3, "2020-04"),
        ("3012月", MAY_3, None),
        ("2020年13月", MAY_3, None),
        ("0月份", MAY_3, None),
        ("关于统一月报格式的通知", MAY_3, None),
        ("一月份", datetime(2020, 2, 3, tzinfo=TZ), "2020-01"),
        ("5月20日前报送4月份报表", MAY_3, "2020-04"),
        ("2020年4月15日", MAY_3, "2020-04"),
        ("专项信息（三）", MAY_3, None),
        ("附件3", MAY_3, None),
        ("截至4月15日目标任务", MAY_3, None),
        ("15日", MAY_3, None),
        ("13月", MAY_3, None),
        # a year and month in digits alone, as a hurried subject or a file name writes them
        ("景县2020.12报表", datetime(2020, 12, 18, tzinfo=TZ), "2020-12"),
        ("景县2020-12报表", datetime(2021, 1, 4, tzinfo=TZ), "2020-12"),
        ("2020/4 报表", MAY_3, "2020-04"),
        ("景县_202004.xlsx", MAY_3, "2020-04"),
        ("附件2 2020.04", MAY_3, "2020-04"),  # a form's number before it, spaced apart, is not the year's
        ("景县２０２０．１２报表", datetime(2020, 12, 18, tzinfo=TZ), "2020-12"),
        ("2020.5.3报送", MAY_3, None),  # a day's
        ("IMG_20200503", MAY_3, None),
        ("电话13920200412", MAY_3, None),
        ("2020.13报表", MAY_3, None),
        ("2020.5.3报送4月份报表", MAY_3, "2020-04"),
        ("景县4月份报表（2020.05补报）", MAY_3, "2020-04"),  # beside a month with 月, the first written is it
        ("景县4月报表（2020.05补报）", MAY_3, "2020-04"),
        ("景县2020.4 项目进展", MAY_3, "2020-04"),  # 项目, 人员, 名单: words of their own, no count
        ("景县2020.4人员名单", MAY_3, "2020-04"),
        ("2020.5万元", MAY_3, None),  # an amount, a document's number, an issue, a count: no month
        ("衡残联发2020-4号", MAY_3, None),
        ("第2020-1期", MAY_3, None),
        ("共计202004人", MAY_3, None),
    ],
)
def test_report_month(text: str, arrival: datetime, month: str | None) -> None:
    assert report_month(text, arrival.astimezone(TZ)) == month


def test_briefing_numbered_three_takes_month_from_arrival() -> None:
    message = mail("【冀州区】" + BRIEFING + "（三）", from_addr=SENDER["冀州区"])
    result = run(message, datetime(2020, 6, 10, 2, tzinfo=UTC))
    assert (result.unit, result.kind) == ("冀州区", Kind.BRIEFING)
    assert (result.month, result.month_source) == ("2020-06", "arrival")


def test_full_width_month_in_report_subject() -> None:
    result = run(
        mail("桃城区４月份目标任务完成情况", from_addr=SENDER["桃城区"], attachments=PACKAGE),
        datetime(2020, 6, 1, tzinfo=UTC),
    )
    assert (result.unit, result.kind) == ("桃城区", Kind.REPORT)
    assert (result.month, result.month_source) == ("2020-04", "subject")


def test_december_report_arriving_in_january_belongs_to_last_year() -> None:
    result = run(mail("枣强县12月份目标任务完成情况"), datetime(2021, 1, 5, 2, tzinfo=UTC))
    assert (result.month, result.month_source) == ("2020-12", "subject")


def test_month_from_attachment_name() -> None:
    files = (attachment("附件3.xls", "xls"), attachment("2020年4月康复服务实名制登记表.xls", "xls"))
    message = mail("阜城县报表", from_addr=SENDER["阜城县"], attachments=files)
    result = run(message, datetime(2020, 6, 1, tzinfo=UTC))
    assert (result.month, result.month_source) == ("2020-04", "attachment")


def test_subject_month_wins_over_attachment_month() -> None:
    message = mail("阜城县5月份报表", attachments=(attachment("2020年4月登记表.xls", "xls"),))
    result = run(message)
    assert (result.month, result.month_source) == ("2020-05", "subject")


def test_arrival_month_is_local_time() -> None:
    """GIVEN arrival 2020-04-30T16:30Z, which is 2020-05-01 00:30 in Asia/Shanghai THEN the month is May."""
    result = run(mail("枣强县" + BRIEFING), datetime(2020, 4, 30, 16, 30, tzinfo=UTC))
    assert (result.month, result.month_source) == ("2020-05", "arrival")


def test_naive_arrival_is_refused() -> None:
    with pytest.raises(ValueError):
        run(mail("枣强县" + BRIEFING), datetime(2020, 5, 3))


# --- our own mail answered back ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "attachments", "kind"),
    [
        ("回执：冀州区6月份报表", (), Kind.OTHER),
        ("回执：冀州区6月份报表", (attachment("扫描件.pdf", "pdf"),), Kind.OTHER),  # the words are ours
        ("已读回执：安平县7月份报表", (attachment("logo.png", "png"),), Kind.OTHER),
        ("回执：冀州区6月份报表", PACKAGE, Kind.REPORT),  # what is attached makes it a package
        ("Re: 回执：冀州区6月份报表", PACKAGE, Kind.REPLY),
        ("冀州区6月份报表", (attachment("扫描件.pdf", "pdf"),), Kind.REPORT),
    ],
)
def test_our_own_subject_answered_back_makes_no_package_by_itself(subject, attachments, kind) -> None:
    assert run(mail(subject, "jzqcl@126.com", attachments=attachments)).kind is kind


@pytest.mark.parametrize(
    ("subject", "ours"),
    [
        ("回执：冀州区6月份报表", True),
        ("Re: 回复：回执：冀州区6月份报表", True),
        ("已读回执：安平县7月份报表", True),
        ("已读: 安平县7月份报表", True),
        ("检查结果：自查 景县9月份报表", True),
        ("核实通知：景县9月份报表", True),
        ("冀州区6月份报表", False),
        ("关于报送参会回执的通知", False),
    ],
)
def test_a_subject_answering_our_own_mail_names_no_package(subject, ours) -> None:
    assert answers_our_subject(subject) is ours
    assert names_a_package(subject, MAY_3.astimezone(TZ)) is (not ours and "报表" in subject)


@pytest.mark.parametrize(
    ("subject", "arrival", "month"),
    [
        ("景县1月份残疾人服务工程进展情况报告及附件", datetime(2020, 12, 28, 7, 1, tzinfo=UTC), "2021-01"),
        ("景县12月份残疾人服务工程进展情况报告及附件", datetime(2020, 12, 28, 7, 1, tzinfo=UTC), "2020-12"),
        ("景县12月份残疾人服务工程进展情况报告及附件", datetime(2021, 1, 8, 2, tzinfo=UTC), "2020-12"),
        ("景县1月份残疾人服务工程进展情况报告及附件", datetime(2021, 2, 3, 2, tzinfo=UTC), "2021-01"),
        # local time decides: 2020-12-31 17:00 UTC is already 2021-01-01 in Shanghai
        ("景县2月份报表", datetime(2020, 12, 31, 17, tzinfo=UTC), "2021-02"),
    ],
)
def test_a_package_around_the_new_year_is_filed_for_the_month_it_can_be_for(subject, arrival, month) -> None:
    """A subject's month without a year is placed from ten months before the arrival month to one month after
    it: January's package sent early, in late December, is next January's, never the January just gone."""
    result = run(mail(subject, from_addr=SENDER["景县"], attachments=PACKAGE), arrival)
    assert (result.unit, result.kind, result.month, result.month_source) == ("景县", Kind.REPORT, month, "subject")


JAN_8 = datetime(2021, 1, 8, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "subject",
    [
        "景县1-12月报表",
        "景县1—12月报表",
        "景县1–12月份报表",
        "景县1至12月报表",
        "景县1月-12月报表",
        "景县1月至12月份报表",
        "景县一至十二月报表",
        "景县2020年1-12月报表",
        "景县１－１２月报表",
        # with the year before a month written out: "2020年1月" is the range's start, not January's report
        "景县2020年1月-12月报表",
        "景县2020年1月至12月报表",
        "景县2020年1月—12月汇总表",
        "景县2020年1月份至12月份报表",
        "景县2020年度1-12月报表",
        "景县2020年1月至2020年12月报表",
    ],
)
def test_a_range_from_january_is_the_year_so_far_read_as_its_last_month(subject: str) -> None:
    """GIVEN a cumulative subject (1-12月: the figures are the year's so far) sent in January WHEN recognised
    THEN it is December's one package (its month from the subject, ruling its forms), not twelve months
    placed one by one around the arrival (which made it next February's)."""
    result = run(mail(subject, from_addr=SENDER["景县"], attachments=PACKAGE), arrival=JAN_8)
    assert (result.month, result.month_source) == ("2020-12", "subject")
    assert report_month(subject, JAN_8.astimezone(TZ)) == "2020-12"


@pytest.mark.parametrize(
    "name", ["景县2020年1月-12月汇总表.xlsx", "2020年1月至12月附件2.xls", "附件2（1月-12月）.xlsx"]
)
def test_an_attachment_named_for_the_year_so_far_is_its_last_month(name: str) -> None:
    """GIVEN a subject naming no month and an attachment named for a range from January WHEN recognised THEN
    the month is the range's last (December), as a subject's is, never the January its start names."""
    result = run(mail("景县报表", from_addr=SENDER["景县"], attachments=(attachment(name, "xlsx"),)), arrival=JAN_8)
    assert (result.month, result.month_source) == ("2020-12", "attachment")


def test_a_range_not_from_january_still_names_its_months_placed_by_the_last() -> None:
    """7-9月 is a unit catching up: three months; 10-12月 sent in January are last year's three."""
    october = datetime(2020, 10, 9, 2, 0, tzinfo=UTC)
    catching_up = run(mail("景县7-9月报表", from_addr=SENDER["景县"], attachments=PACKAGE), arrival=october)
    assert (catching_up.month, catching_up.month_source) == ("2020-09", "subjects")
    year_end = run(mail("景县10-12月报表", from_addr=SENDER["景县"], attachments=PACKAGE), arrival=JAN_8)
    assert (year_end.month, year_end.month_source) == ("2020-12", "subjects")


@pytest.mark.parametrize(
    ("name", "sniffed", "article"),
    [
        ("稿件.txt", "text", True),
        ("稿件", "text", True),  # a text file of no extension
        ("2020.12稿件", "text", True),  # a dot in the name is no extension
        ("王芳.vcf", "text", False),  # a contact card: text, no article
        ("未命名附件1.rtf", "text", False),
        ("稿件.docx", "docx", True),
        ("稿件.doc", "ole", True),
    ],
)
def test_an_article_file_is_known_by_its_kind_or_its_name(name, sniffed, article):
    from parsers.articles import is_article

    assert is_article(name, sniffed) is article
