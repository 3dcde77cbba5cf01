"""parsers/mime.py and parsers/sniff.py over the sample messages in tests/data/mail and literal bytes."""

from __future__ import annotations

import base64
import email
import email.header
import hashlib
import io
import struct
import zipfile
import zlib
from datetime import UTC, datetime, timedelta, timezone
from email.policy import compat32
from functools import cache
from pathlib import Path

import openpyxl
import pytest

from parsers.mime import (
    attachment_filename,
    decode_base64_lenient,
    decode_header,
    decode_text,
    decode_zip_name,
    html_to_text,
    parse_message,
    received_dates,
    sniff_type,
)
from parsers.records import ParsedMessage

MAIL = Path(__file__).parent / "data" / "mail"
CST = timezone(timedelta(hours=8))
BROKEN_BASE64 = "附件“{}”的 base64 编码损坏，已尽量解码"
NO_HEADERS = "邮件没有可识别的邮件头"


@cache
def parsed(name: str) -> ParsedMessage:
    return parse_message((MAIL / name).read_bytes())


def attachment_types(message: ParsedMessage) -> list[tuple[str, str]]:
    return [(a.filename, a.sniffed_type) for a in message.attachments]


# --- the corpus as a whole -------------------------------------------------------------------

CORPUS = sorted(path.name for path in MAIL.glob("*.eml"))


def test_corpus_is_complete_and_documented():
    readme = (MAIL / "README.md").read_text(encoding="utf-8")
    assert len(CORPUS) >= 34
    assert [name for name in CORPUS if f"`{name}`" not in readme] == []


@pytest.mark.parametrize("name", CORPUS)
def test_every_sample_parses_without_losing_its_subject(name):
    message = parse_message((MAIL / name).read_bytes())
    assert isinstance(message, ParsedMessage)
    assert "\ufffd" not in message.subject
    assert not any("无法解析" in problem for problem in message.problems)
    for attachment in message.attachments:
        assert attachment.sha256 == hashlib.sha256(attachment.data).hexdigest()


# --- subjects, senders, bodies, attachments, file by file ---------------------------------------

EXPECTED = [
    # file, subject, from_addr, body fragment, [(file name, sniffed type)]
    (
        "0001-gb2312-subject-with-gbk-chars.eml",
        "枣强县残联关于王喆、李堃同志先进事迹的报告",
        "zqxcl@163.com",
        "附：朱镕基同志题词学习体会。",
        [],
    ),
    ("0002-gbk-label-8bit-body.eml", "景县残联张堃同志工作简报", "jxcl2020@163.com", "镕、喆、堃均为GBK字符。", []),
    ("0003-rfc2047-utf8-split-mid-char.eml", "武邑县4月份目标任务进展情况", "wyxcl@163.com", "附件请查收。", []),
    ("0004-rfc2047-gbk-split-mid-char.eml", "景县 残联工作简报 第3期", "jxcl2020@163.com", "简报内容见正文。", []),
    (
        "0005-rfc2047-mixed-charsets-and-plain.eml",
        "Re: 报表 (2020) 附件三已修改 ok",
        "wyxcl@163.com",
        "已按要求修改。",
        [],
    ),
    (
        "0006-raw-8bit-gbk-headers.eml",
        "武邑县康复服务实名制登记表（镕）",
        "wyxcl@163.com",
        "见附件。",
        [("附件3康复服务实名制登记表.xls", "xls")],
    ),
    (
        "0007-raw-8bit-utf8-headers.eml",
        "冀州区辅助器具适配实名制登记表",
        "jzqcl@126.com",
        "请查收附件4。",
        [("附件4辅助器具适配实名制登记表.xlsx", "xlsx")],
    ),
    (
        "0008-rfc2231-filenames.eml",
        "武邑县报表（RFC 2231 文件名）",
        "wyxcl@163.com",
        "两个附件。",
        [("附件2目标任务完成情况汇总表.xlsx", "xlsx"), ("附件3康复服务实名制登记表（四月）.xls", "xls")],
    ),
    (
        "0009-encoded-word-filename-in-quotes.eml",
        "王喆同志事迹材料",
        "zqxcl@163.com",
        "材料见附件。",
        [("王喆同志事迹材料.docx", "docx")],
    ),
    (
        "0010-attachments-without-content-disposition.eml",
        "桃城区4月份报表",
        "tcqcl@163.com",
        "附件见下。",
        [("附件4.xlsx", "xlsx"), ("附件3.xls", "xls")],
    ),
    (
        "0011-zip-with-gbk-member-names.eml",
        "武邑县4月份报表（压缩包）",
        "wyxcl@163.com",
        "报表打包发送。",
        [("武邑县4月份报表.zip", "zip")],
    ),
    (
        "0015-octet-stream-workbooks.eml",
        "景县报表",
        "jxcl2020@163.com",
        "三个表。",
        [("新建 Microsoft Excel 工作表.xlsx", "xlsx"), ("Book1.xls", "xls"), ("附件2.xls", "xlsx")],
    ),
    (
        "0016-utf8-labelled-gb2312.eml",
        "桃城区贫困残疾人服务工程专项信息",
        "tcqcl@163.com",
        "桃城区组织残疾人康复服务进社区活动。",
        [],
    ),
    ("0017-gbk-labelled-utf8.eml", "桃城区专项信息（堃）", "tcqcl@163.com", "张堃同志参加了培训。", []),
    ("0018-no-charset-gbk-body.eml", "无字符集声明", "zqxcl@163.com", "正文是GBK编码：王喆。", []),
    (
        "0026-long-subject-folded.eml",
        "关于报送衡水市残疾人服务工程2020年4月份目标任务进展情况、实名制登记表及"
        "贫困残疾人服务工程专项信息的函 (第二稿)",
        "wyxcl@163.com",
        "见主题。",
        [],
    ),
    (
        "0027-quoted-printable-gbk-body.eml",
        "报送提醒",
        "zqxcl@163.com",
        "张堃同志：请于4月20日前报送附件2至附件8，逾期将影响考核得分。",
        [],
    ),
    (
        "0028-et-wps-doc-encrypted-office.eml",
        "冀州区WPS文件",
        "jzqcl@126.com",
        "WPS 保存的文件。",
        [
            ("附件2.et", "et"),
            ("附件1进展情况报告.wps", "wps"),
            ("附件1进展情况报告.doc", "doc"),
            ("加密的附件3.xlsx", "encrypted-office"),
        ],
    ),
    (
        "0029-inline-image-and-nameless-parts.eml",
        "桃城区报表（无文件名）",
        "tcqcl@163.com",
        "请查收报表。",
        [("未命名附件1.xlsx", "xlsx"), ("未命名附件2.png", "png"), ("简报.pdf", "pdf")],
    ),
    (
        "0030-briefing-zaoqiang.eml",
        "枣强县贫困残疾人服务工程专项信息",
        "zqxcl@163.com",
        "专项信息见附件",
        [("枣强县贫困残疾人服务工程专项信息.docx", "docx")],
    ),
    (
        "0031-briefing-jingxian-with-space.eml",
        "景 县贫困残疾人服务工程专项信息",
        "jxcl2020@163.com",
        "景县专项信息。",
        [("景县专项信息.doc", "doc")],
    ),
    (
        "0032-briefing-jizhou-fullwidth-brackets.eml",
        "【冀州区】贫困残疾人服务工程专项信息（三）",
        "jzqcl@126.com",
        "第三期专项信息。",
        [("冀州区专项信息（三）.wps", "wps")],
    ),
    (
        "0033-briefing-taocheng-short-name.eml",
        "桃城贫困残疾人服务工程专项信息",
        "tcqcl@163.com",
        "PDF格式",
        [("桃城专项信息.pdf", "pdf")],
    ),
    (
        "0034-report-fullwidth-digits.eml",
        "桃城区４月份目标任务进展情况",
        "tcqcl@163.com",
        "４月份报表见附件。",
        [("附件1进展情况报告.docx", "docx"), ("附件2.xlsx", "xlsx")],
    ),
    (
        "0035-forward-zhuanfa-briefing.eml",
        "转发：枣强县贫困残疾人服务工程专项信息",
        "zqxcl@163.com",
        "------------------ 原始邮件 ------------------",
        [("枣强县贫困残疾人服务工程专项信息.docx", "docx")],
    ),
    (
        "0036-forward-fw-briefing.eml",
        "Fw: 景县贫困残疾人服务工程专项信息",
        "jxcl2020@163.com",
        "转发。",
        [("景县贫困残疾人服务工程专项信息.docx", "docx")],
    ),
    ("0037-reply-huifu.eml", "回复：武邑县4月份目标任务进展情况", "wyxcl@163.com", "附件3已重新核对", []),
    ("0038-reply-re.eml", "Re: 冀州区贫困残疾人服务工程专项信息（三）", "jzqcl@126.com", "下期注意格式", []),
    (
        "0041-subject-only-auto-reply.eml",
        "自动回复：关于报送4月份目标任务进展情况的提醒",
        "jxcl2020@163.com",
        "本人休假中",
        [],
    ),
    (
        "0042-out-of-office.eml",
        "Out of Office: 关于报送4月份目标任务进展情况的提醒",
        "jxbgs@jingxian.gov.example.cn",
        "本人外出，4月27日返回。",
        [],
    ),
    (
        "0046-monthly-report-wuyi.eml",
        "武邑县4月份目标任务进展情况",
        "wyxcl@163.com",
        "康复服务实名制登记表见附件",
        [("附件2.xlsx", "xlsx"), ("附件3.xls", "xls")],
    ),
    (
        "0047-subject-year-month.eml",
        "枣强县2020年4月目标任务进展情况",
        "zqxcl@163.com",
        "报表见附件。",
        [("附件2.xlsx", "xlsx")],
    ),
    (
        "0048-report-sent-in-may-for-april.eml",
        "冀州区4月份目标任务进展情况",
        "jzqcl@126.com",
        "补报",
        [("附件2.xlsx", "xlsx"), ("附件3.xls", "xls")],
    ),
    (
        "0049-unregistered-sender.eml",
        "景县4月份目标任务进展情况",
        "jingxian_canlian@qq.com",
        "用个人邮箱发送。",
        [("附件2.xlsx", "xlsx")],
    ),
    ("0051-spam.eml", "代开各类正规发票，点数优惠 13800000000", "sales8@fapiao-dk.example.com", "增值税普通发票", []),
]


@pytest.mark.parametrize(
    ("name", "subject", "sender", "body", "attachments"), EXPECTED, ids=[row[0][:4] for row in EXPECTED]
)
def test_sample_decodes_to(name, subject, sender, body, attachments):
    message = parsed(name)
    assert message.subject == subject
    assert message.from_addr == sender
    assert body in message.body_text
    assert attachment_types(message) == attachments
    assert message.problems == ()


def test_raw_8bit_display_names_decode():
    assert parsed("0006-raw-8bit-gbk-headers.eml").from_name == "武邑县残联"
    assert parsed("0007-raw-8bit-utf8-headers.eml").from_name == "冀州区残联"
    assert parsed("0049-unregistered-sender.eml").from_name == "景县残联"


def test_zip_member_names_in_gbk_without_utf8_flag_decode():
    archive = zipfile.ZipFile(io.BytesIO(parsed("0011-zip-with-gbk-member-names.eml").attachments[0].data))
    assert [decode_zip_name(info) for info in archive.infolist()] == ["附件2.xlsx", "附件3.xls", "四月报表/说明.txt"]


def test_broken_base64_is_recovered_and_reported():
    message = parsed("0012-broken-base64-attachments.eml")
    workbook, registry = message.attachments
    assert message.problems == (BROKEN_BASE64.format("附件2.xlsx"), BROKEN_BASE64.format("附件3.xls"))
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.data)).active
    assert sheet["A1"].value == "枣强县目标任务完成情况汇总表（2020年4月）"
    whole = parsed("0046-monthly-report-wuyi.eml").attachments[1].data  # the same 附件3.xls, intact
    assert registry.data == whole[:3001]  # cut after 4002 base64 characters: 1000 quads and 2 more


def test_truncated_message_keeps_what_arrived_and_says_so():
    message = parsed("0021-truncated-no-closing-boundary.eml")
    assert message.subject == "枣强县4月份报表（截断）"
    assert message.body_text == "附件2见附件。"
    assert [a.filename for a in message.attachments] == ["附件2.xlsx"]
    assert message.attachments[0].data.startswith(b"PK\x03\x04")
    assert "邮件不完整：缺少结束分隔线，可能在传输中被截断" in message.problems
    assert BROKEN_BASE64.format("附件2.xlsx") in message.problems


def test_forwarded_message_gives_its_attachment_and_text():
    message = parsed("0013-forwarded-rfc822-with-xls.eml")
    assert attachment_types(message) == [("附件3.xls", "xls")]
    outer, forwarded = message.body_text.split("-------- 转发的邮件 --------")
    assert outer.strip() == "请查收转发的报表。"
    assert "主题: 武邑县康复服务实名制登记表" in forwarded
    assert forwarded.rstrip().endswith("附件为4月份康复服务实名制登记表。")


def test_named_forwarded_message_is_kept_as_eml_and_walked_into():
    message = parsed("0014-forwarded-rfc822-named-eml.eml")
    assert attachment_types(message) == [("原邮件.eml", "eml"), ("冀州区专项信息.docx", "docx")]
    inner = parse_message(message.attachments[0].data)
    assert inner.subject == "冀州区贫困残疾人服务工程专项信息"
    assert inner.attachments[0].data == message.attachments[1].data


def test_crlf_and_lf_line_endings_decode_alike():
    crlf, lf = parsed("0024-crlf-line-endings.eml"), parsed("0025-lf-line-endings.eml")
    assert crlf.subject == lf.subject == "景县托养服务补贴实名制登记表"
    assert crlf.body_text == lf.body_text == "第一行\n第二行"
    assert [a.data for a in crlf.attachments] == [a.data for a in lf.attachments]
    assert attachment_types(lf) == [("附件7.xlsx", "xlsx")]


@pytest.mark.parametrize("name", ["0022-garbage-no-headers.eml", "0023-no-headers-text-only.eml"])
def test_messages_without_headers_are_reported(name):
    message = parsed(name)
    assert (message.subject, message.from_addr, message.date, message.received_dates) == ("", None, None, ())
    assert NO_HEADERS in message.problems


def test_text_without_headers_still_decodes():
    assert parsed("0023-no-headers-text-only.eml").body_text == "你好，这是一段没有邮件头的文字。"


def test_empty_body():
    message = parsed("0019-empty-body.eml")
    assert (message.subject, message.body_text, message.attachments) == ("武邑县4月份目标任务进展情况", "", ())


def test_html_only_body_is_stripped_to_text():
    body = parsed("0020-html-only.eml").body_text
    assert "附件为 饶阳县<4月份>情况张堃&王喆。" in body
    assert "康复服务 213" in body and body.endswith("此致\n敬礼")
    assert "不应出现" not in body and "color" not in body


def test_super_large_attachment_link_survives_in_body():
    message = parsed("0050-super-large-attachment-link.eml")
    assert message.attachments == ()
    assert "从网易163邮箱发来的超大附件" in message.body_text
    assert "https://mail.163.com/large-attachment-download/index.html?p=" in message.body_text


# --- headers the recognizer and the receipts rely on ---------------------------------------------


def test_arrival_dates_topmost_first_and_date_header_kept_apart():
    message = parsed("0048-report-sent-in-may-for-april.eml")
    assert message.received_dates[0] == datetime(2020, 5, 6, 10, 30, tzinfo=CST)
    assert list(message.received_dates) == sorted(message.received_dates, reverse=True)
    assert message.date == datetime(2020, 4, 19, 18, 0, tzinfo=CST)
    assert message.date_header == "Sun, 19 Apr 2020 18:00:00 +0800"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("0032-briefing-jizhou-fullwidth-brackets.eml", datetime(2020, 4, 22, 16, 44, 50, tzinfo=CST)),
        ("0033-briefing-taocheng-short-name.eml", datetime(2020, 4, 24, 10, 59, 58, tzinfo=CST)),
        ("0051-spam.eml", datetime(2029, 1, 1, tzinfo=UTC)),
    ],
)
def test_date_header_zones(name, expected):
    assert parsed(name).date == expected
    assert parsed(name).date.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("name", "automation"),
    [
        ("0039-auto-submitted-auto-replied.eml", (("auto-submitted", "auto-replied"),)),
        ("0040-x-autoreply-yes.eml", (("x-autoreply", "yes"),)),
        ("0041-subject-only-auto-reply.eml", ()),
        ("0042-out-of-office.eml", (("x-auto-response-suppress", "All"),)),
        ("0044-bounce-null-return-path.eml", (("x-failed-recipients", "wyxcl-2019@126.com"),)),
        (
            "0045-mailing-list.eml",
            (
                ("list-id", "河北残联工作简报 <bulletin.lists.hebei-dpf.example.org>"),
                ("precedence", "list"),
                ("list-unsubscribe", "<mailto:bulletin-leave@lists.hebei-dpf.example.org>"),
                ("list-post", "NO"),
            ),
        ),
    ],
)
def test_automation_headers(name, automation):
    assert parsed(name).automation == automation


def test_bounce_as_delivery_report():
    message = parsed("0043-bounce-multipart-report.eml")
    assert (message.content_type, message.return_path, message.from_addr) == (
        "multipart/report",
        "",
        "mailer-daemon@163.com",
    )
    assert "Status: 5.1.1" in message.body_text
    assert "主题: 回执：枣强县贫困残疾人服务工程专项信息" in message.body_text
    assert message.attachments == ()


def test_return_path():
    assert parsed("0044-bounce-null-return-path.eml").return_path == ""
    assert parsed("0030-briefing-zaoqiang.eml").return_path == "zqxcl@163.com"
    assert parsed("0023-no-headers-text-only.eml").return_path is None


def test_thread_headers():
    reply = parsed("0037-reply-huifu.eml")
    assert reply.message_id == "<2037.0037@wyxcl.163.com>"
    assert reply.in_reply_to == "<receipt-c3d4.0003@hskf2006.126.com>"
    assert reply.references == ("<c3d4.0003@wyxcl.163.com>", "<receipt-c3d4.0003@hskf2006.126.com>")
    assert parsed("0038-reply-re.eml").in_reply_to == "<receipt.2032@hsclbgs666.163.com>"


def test_addresses_are_lower_cased_and_names_with_commas_stay_whole():
    message = parsed("0052-comma-in-display-name-and-cc.eml")
    assert (message.from_addr, message.from_name) == ("hskf2006@126.com", "衡水市残联, 康复部")
    assert message.to_addrs == ("wyxcl@163.com",)
    assert message.cc_addrs == ("hsclbgs666@163.com", "hscljyb@126.com")
    assert parsed("0051-spam.eml").to_addrs == ()


def test_a_mailbox_written_as_one_encoded_word_is_split_after_decoding():
    """GIVEN a From whose name and address are one encoded word (some OA systems and hand-made mailers write
    it so) WHEN parsed THEN the address is the registered one, and its name the decoded name: before, the
    whole decoded text was taken for the address, and a registered unit looked unregistered."""
    word = email.header.Header('"景县残联" <JXCL2020@163.com>', "utf-8").encode()
    raw = f"From: {word}\r\nTo: hscljyb@126.com\r\nSubject: test\r\n\r\nbody\r\n".encode()
    message = parse_message(raw)
    assert (message.from_addr, message.from_name) == ("jxcl2020@163.com", "景县残联")


@pytest.mark.parametrize(
    "sender",
    [
        "jxcl2020@163.com <attacker@evil.example>",  # a display name written as the registered address
        "<jxcl2020@163.com>evil@evil.example",
        "<=?utf-8?q?jxcl2020=40163.com=2Cv2=40victim.example?=>",  # a list hidden in one encoded word
        "jxcl2020@163.com, v2@victim.example",
    ],
)
def test_a_from_naming_several_addresses_is_nobodys(sender):
    """GIVEN a From that names several addresses, one of them a unit's registered one WHEN parsed THEN it has no
    sender: a mail program shows the first and answers the other, so the registered address was borrowed (the
    mail counted as 景县's package), and an encoded list had our answer sent to every address in it."""
    raw = f"From: {sender}\r\nTo: hscljyb@126.com\r\nSubject: 景县11月份报表\r\n\r\nbody\r\n".encode()
    assert parse_message(raw).from_addr is None


def test_the_same_address_twice_in_a_from_is_its_sender():
    """A naive mailer's `jxcl2020@163.com<jxcl2020@163.com>` (the address as its own name, unquoted) is one sender."""
    raw = b"From: JXCL2020@163.com<jxcl2020@163.com>\r\nTo: hscljyb@126.com\r\nSubject: t\r\n\r\nbody\r\n"
    assert parse_message(raw).from_addr == "jxcl2020@163.com"


# --- decode_text ----------------------------------------------------------------------------------

GBK_ONLY = "朱镕基、王喆、李堃"


@pytest.mark.parametrize(
    "label",
    [
        "gb2312",
        "GB2312",
        '"gb2312"',
        "gbk",
        "cp936",
        "x-gbk",
        "gb_2312-80",
        "euc-cn",
        "gb18030",
        None,
        "x-unknown-charset",
    ],
)
def test_gbk_bytes_decode_whatever_the_gb_label(label):
    assert decode_text(GBK_ONLY.encode("gbk"), label) == (GBK_ONLY, True)


@pytest.mark.parametrize("label", ["gb2312", "utf-8", None, "bogus"])
def test_utf8_bytes_decode_whatever_the_label(label):
    assert decode_text("桃城区组织康复服务".encode(), label) == ("桃城区组织康复服务", True)


def test_gbk_bytes_labelled_utf8():
    assert decode_text("张堃同志参加了培训".encode("gbk"), "utf-8") == ("张堃同志参加了培训", True)


def test_valid_utf8_without_cjk_under_a_gb_label_stays_gb():
    # D6 B0 is both 职 in GBK and a (Hebrew) character in UTF-8: the label decides.
    assert decode_text(b"\xd6\xb0", "gb2312") == ("职", True)


def test_undecodable_bytes_are_replaced_and_flagged():
    text, clean = decode_text("报表".encode("gbk") + b"\xff", "gbk")
    assert (text, clean) == ("报表\ufffd", False)


def test_damaged_utf8_stays_utf8():
    text, clean = decode_text("中文报告".encode()[:-1] + b"!", "utf-8")
    assert (text, clean) == ("中文报\ufffd!", False)


def test_other_labels_are_honoured():
    assert decode_text("café".encode("latin-1"), "iso-8859-1") == ("café", True)
    assert decode_text("臺灣".encode("big5"), "big5") == ("臺灣", True)
    assert decode_text("ab".encode("utf-16-le"), "utf-16-le") == ("ab", True)
    assert decode_text(b"~{VPND~}", "hz-gb-2312") == ("中文", True)


# --- decode_header ------------------------------------------------------------------------------


def test_utf8_character_split_across_encoded_words():
    # 中 is E4 B8 AD: the first word carries E4 B8, the second AD and 文.
    assert decode_header("=?utf-8?B?5Lg=?=\r\n =?utf-8?B?reaWhw==?=") == "中文"


def test_gbk_character_split_across_q_words_with_underscores():
    # 镕 is E9 46 in GBK, outside GB2312.
    assert decode_header("=?gb2312?Q?=E9?= =?gb2312?Q?F=BB=F9_x?=") == "镕基 x"


def test_plain_runs_keep_their_spaces_and_encoded_words_lose_theirs():
    value = "Re: =?utf-8?Q?=E6=8A=A5=E8=A1=A8?= (2020) =?gbk?B?uL28/g==?=  =?utf-8?B?5LiJ?= ok"
    assert decode_header(value) == "Re: 报表 (2020) 附件三 ok"


def test_raw_8bit_headers_as_compat32_keeps_them():
    assert decode_header(b"\xb1\xa8\xb1\xed \xe9F".decode("ascii", "surrogateescape")) == "报表 镕"
    assert decode_header("报表".encode().decode("ascii", "surrogateescape")) == "报表"


def test_damaged_encoded_words_decode_as_far_as_they_go():
    assert decode_header("=?utf-8?B?5Lit5paH?=") == "中文"
    assert decode_header("=?utf-8?B?5Lit5paH5?=") == "中文"  # a dangling character
    assert decode_header("=?x-unknown?B?5Lit?=") == "中"  # unknown charset: utf-8, then gb18030


def test_header_objects_and_none():
    assert decode_header(None) == ""
    assert decode_header(email.header.Header("=?utf-8?B?5Lit?=")) == "中"


# --- attachment_filename ------------------------------------------------------------------------


def part_with(headers: bytes) -> email.message.Message:
    return email.message_from_bytes(headers + b"\r\n\r\nbody", policy=compat32)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (b"Content-Disposition: attachment; filename*=gbk''%B8%BD%BC%FE2.xlsx", "附件2.xlsx"),
        (b"Content-Disposition: attachment; filename=\"fallback.xls\"; filename*=utf-8''%E9%99%84.xls", "附.xls"),
        (
            b"Content-Disposition: attachment;\r\n filename*0*=utf-8'zh'%E9%99%84%E4;\r\n filename*1*=%BB%B6"
            b';\r\n filename*2="3.xls"',
            "附件3.xls",
        ),
        (b'Content-Disposition: attachment; filename="=?gb2312?B?uL28/jQueGxz?="', "附件4.xls"),
        (b'Content-Disposition: attachment; filename="\xb8\xbd\xbc\xfe5.et"', "附件5.et"),
        (b'Content-Type: application/octet-stream; name="=?utf-8?B?6ZmE5Lu2Ni54bHN4?="', "附件6.xlsx"),
        (b"Content-Disposition: inline\r\nContent-Type: application/vnd.ms-excel; name=book.xls", "book.xls"),
        (b'Content-Disposition: attachment; filename="C:\\\\Users\\\\wy\\\\Desktop\\\\a;b.xls"', "a;b.xls"),
        (b"Content-Type: text/plain; charset=utf-8", None),
        (b'Content-Disposition: attachment; filename=""', None),
        (  # a gateway wrote the disposition's name as ASCII; the type's kept it whole
            b'Content-Type: application/octet-stream; name="=?GBK?B?uL28/jPT0M7zLnhsc3g=?="\r\n'
            b'Content-Disposition: attachment; filename="????3????.xlsx"',
            "附件3有误.xlsx",
        ),
        (  # a right-to-left override shows 附件3\u202eslx.exe as 附件3exe.xls: the name as it is (web attacker)
            b"Content-Disposition: attachment; filename*=utf-8''%E9%99%84%E4%BB%B63%E2%80%AEslx.exe",
            "附件3slx.exe",
        ),
        (  # both lost as many: the disposition's, as always
            b'Content-Type: application/octet-stream; name="??3.xlsx"\r\n'
            b'Content-Disposition: attachment; filename="?3?.xlsx"',
            "?3?.xlsx",
        ),
    ],
)
def test_attachment_filename(headers, expected):
    assert attachment_filename(part_with(headers)) == expected


# --- decode_zip_name ---------------------------------------------------------------------------


def zip_info(raw_name: bytes, flag_bits: int = 0, extra: bytes = b"") -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(raw_name.decode("utf-8" if flag_bits & 0x800 else "cp437"))
    info.flag_bits, info.extra, info.orig_filename = flag_bits, extra, info.filename
    return info


def test_zip_names():
    assert decode_zip_name(zip_info("附件2.xlsx".encode("gbk"))) == "附件2.xlsx"
    assert decode_zip_name(zip_info("附件3.xls".encode(), flag_bits=0x800)) == "附件3.xls"
    assert decode_zip_name(zip_info("附件3.xls".encode())) == "附件3.xls"  # UTF-8 without the flag
    assert decode_zip_name(zip_info(b"report.xls")) == "report.xls"
    assert decode_zip_name(zip_info("附件3\u202eslx.exe\u200b".encode(), flag_bits=0x800)) == "附件3slx.exe"


def test_zip_name_from_info_zip_unicode_path_field():
    raw = b"??3.xls"
    field = b"\x01" + struct.pack("<I", zlib.crc32(raw)) + "附件3.xls".encode()
    extra = struct.pack("<HH", 0x7075, len(field)) + field
    assert decode_zip_name(zip_info(raw, extra=extra)) == "附件3.xls"


# --- sniff_type ---------------------------------------------------------------------------------


def zip_with(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:  # a fixed date: xdist workers must collect the same parameter ids
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), b"<x/>")
    return buffer.getvalue()


# Excel 2003's XML spreadsheet as Excel writes it; government systems export it named .xls
SPREADSHEET_ML = (
    b'<?xml version="1.0"?>\r\n<?mso-application progid="Excel.Sheet"?>\r\n'
    b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"\r\n'
    b' xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">\r\n<Worksheet ss:Name="Sheet1"><Table>'
    + '<Row><Cell><Data ss:Type="String">附件2</Data></Cell></Row>'.encode()
    + b"</Table></Worksheet></Workbook>\r\n"
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (zip_with("[Content_Types].xml", "xl/workbook.xml"), "xlsx"),
        (zip_with("[Content_Types].xml", "word/document.xml"), "docx"),
        (zip_with("附件2.xlsx", "附件3.xls"), "zip"),
        (zip_with("[Content_Types].xml", "xl/workbook.xml")[:60], "zip"),  # cut short: no central directory
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "pdf"),
        (b"Rar!\x1a\x07\x01\x00", "rar"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "7z"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"GIF89a\x01\x00", "gif"),
        (b"\xef\xbb\xbf  <!DOCTYPE html><html><body>x</body></html>", "html"),
        ("<html><head><meta charset=gb2312></head>报表</html>".encode("gbk"), "html"),
        ("数据为累计数。\r\n".encode("gbk"), "text"),
        (SPREADSHEET_ML, "xml-spreadsheet"),
        (b"From: a@b.cn\r\nSubject: x\r\nDate: Mon, 6 Apr 2020 10:00:00 +0800\r\n\r\nbody", "eml"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "ole"),  # a damaged OLE2 container
        (b"\x00\x01\x02\x03binary", "unknown"),
        (b"", "unknown"),
    ],
)
def test_sniff_type(data, expected):
    assert sniff_type(data, "附件.bin") == expected


def test_an_xml_spreadsheet_named_xls_is_told_as_what_it_is():
    """Exported by a government system as .xls, Excel 2003's XML was told "内容是纯文本，不是 Excel 工作簿": it is a
    table Excel opens, to be saved as .xlsx."""
    from parsers.workbook import read_attachment

    [refused] = read_attachment("附件2.xls", SPREADSHEET_ML, [])
    [problem] = refused.problems
    assert problem.message.startswith("“附件2.xls”是 Excel 2003 XML 表格") and "另存为”.xlsx" in problem.message
    assert "纯文本" not in problem.message
    from parsers.no_form import why_no_form  # named .xml, it holds no form, and is told so alike

    assert why_no_form("附件2.xml", sniff_type(SPREADSHEET_ML), len(SPREADSHEET_ML))[1] == problem.message.replace(
        "附件2.xls", "附件2.xml"
    )


def test_ole_workbooks_and_documents_tell_wps_formats_by_name():
    workbook = parsed("0046-monthly-report-wuyi.eml").attachments[1].data
    document = parsed("0031-briefing-jingxian-with-space.eml").attachments[0].data
    assert (sniff_type(workbook, "附件3.xls"), sniff_type(workbook, "附件2.ET")) == ("xls", "et")
    assert (sniff_type(document, "a.doc"), sniff_type(document, "a.wps"), sniff_type(document)) == ("doc", "wps", "doc")


# --- smaller pieces -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"5Lit5paH", (b"\xe4\xb8\xad\xe6\x96\x87", False)),
        (b"5Lit\r\n5paH\r\n", (b"\xe4\xb8\xad\xe6\x96\x87", False)),
        (b"QUJDRA", (b"ABCD", True)),  # padding missing
        (b"QU!J*DRA==", (b"ABCD", True)),  # stray characters
        (b"QUJDR", (b"ABC", True)),  # a dangling character
        (b"QUI=QUJD", (b"ABABC", False)),  # chunks padded and glued together
    ],
)
def test_decode_base64_lenient(raw, expected):
    assert decode_base64_lenient(raw) == expected


def test_received_dates():
    msg = email.message_from_bytes(
        b"Received: from a by b; Tue, 5 May 2020 08:00:00 +0800 (CST)\r\n"
        b"Received: from c by d; garbage\r\n"
        b"Received: from e by f with local id 7\r\n"
        b"Received: from g by h; Tue, 5 May 2020 07:59:00 CST\r\n"
        b"Received: from i by j;\r\n\tMon, 4 May 2020 23:58:00 -0000\r\n\r\n",
        policy=compat32,
    )
    assert received_dates(msg) == (
        datetime(2020, 5, 5, 8, tzinfo=CST),
        datetime(2020, 5, 5, 7, 59, tzinfo=CST),
        datetime(2020, 5, 4, 23, 58, tzinfo=UTC),
    )


def test_html_to_text():
    html = (
        '<style>p{}</style><p>下载：<a href="https://x.cn/d?id=1">报表.zip</a></p>'
        '<p><a href="https://x.cn/same">https://x.cn/same</a></p><script>alert(1)</script>'
    )
    assert html_to_text(html) == "下载：报表.zip (https://x.cn/d?id=1)\n\nhttps://x.cn/same"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n\r\n",
        b"\x00" * 10,
        bytearray(b"Subject: x\r\n\r\nhi"),
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\xff\xfe",
    ],
)
def test_parse_message_never_raises(raw):
    assert isinstance(parse_message(raw), ParsedMessage)


def test_charset_given_in_rfc2231_form_with_bad_bytes_does_not_break_the_body():
    message = parse_message(b"Content-Type: text/plain; charset*=utf-8''%FF\r\n\r\n" + "报表".encode("gbk"))
    assert message.body_text == "报表"


def test_named_text_part_without_disposition_is_an_attachment_not_body():
    message = parse_message(
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + "正文".encode() + b"\r\n"
        b'--b\r\nContent-Type: text/plain; charset=gbk; name="\xcb\xb5\xc3\xf7.txt"\r\n\r\n'
        + "说明".encode("gbk")
        + b"\r\n--b--\r\n"
    )
    assert message.body_text == "正文"
    assert [(a.filename, a.data) for a in message.attachments] == [("说明.txt", "说明".encode("gbk"))]


def test_base64_encoded_forwarded_message_is_decoded_and_walked_into():
    inner = "From: a@b.cn\r\nSubject: =?utf-8?B?5Lit?=\r\n\r\n内层正文\r\n".encode()
    message = parse_message(
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b'Content-Type: message/rfc822; name="fw.eml"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + base64_lines(inner)
        + b"\r\n--b--\r\n"
    )
    assert [(a.filename, a.data, a.sniffed_type) for a in message.attachments] == [("fw.eml", inner, "eml")]
    assert "主题: 中" in message.body_text and message.body_text.endswith("内层正文")


def base64_lines(data: bytes) -> bytes:
    return b"\r\n".join(base64.encodebytes(data).splitlines())


# ---------------------------------------------------------------------------------------------
# What mail programs other than the usual ones send


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("星期六, 19 十二月 2020 16:48:00 +0800", datetime(2020, 12, 19, 16, 48, tzinfo=CST)),
        ("周四, 1 十月 2020 08:00:00 -0000", datetime(2020, 10, 1, 8, tzinfo=UTC)),
        ("2020-12-19 16:48:00", datetime(2020, 12, 19, 16, 48, tzinfo=CST)),  # no zone: China time
        ("2020-12-19T08:48:00Z", datetime(2020, 12, 19, 8, 48, tzinfo=UTC)),
        ("2020/12/19 16:48:05 +08:00", datetime(2020, 12, 19, 16, 48, 5, tzinfo=CST)),
        ("2020年12月19日 16:48", datetime(2020, 12, 19, 16, 48, tzinfo=CST)),
        ("2020-02-30 10:00:00", None),  # no such day
        ("下周一上午", None),
    ],
)
def test_dates_as_chinese_mail_programs_write_them(value, expected):
    from parsers.maildate import parse_mail_date

    assert parse_mail_date(value) == expected


def test_a_date_header_in_raw_utf8_is_read():
    raw = (
        "From: a@b.cn\r\nTo: c@d.cn\r\nSubject: x\r\nDate: 星期六, 19 十二月 2020 16:48:00 +0800\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n正文\r\n"
    ).encode()
    assert parse_message(raw).date == datetime(2020, 12, 19, 16, 48, tzinfo=CST)


def _package_mail() -> email.message.EmailMessage:
    inner = email.message.EmailMessage()
    inner["From"], inner["To"], inner["Subject"] = "jxcl2020@163.com", "hsscljjb@163.com", "景县12月份报表"
    inner.set_content("报表见附件。")
    inner.add_attachment(
        b"PK\x03\x04 not really", maintype="application", subtype="octet-stream", filename="附件3.xlsx"
    )
    return inner


def test_a_mail_file_attached_as_plain_bytes_is_opened_as_an_attached_message():
    outer = email.message.EmailMessage()
    outer["From"], outer["To"], outer["Subject"] = "jxcl2020@163.com", "hsscljjb@163.com", "转发：景县12月份报表"
    outer.set_content("转发原邮件，请查收。")
    outer.add_attachment(
        _package_mail().as_bytes(), maintype="application", subtype="octet-stream", filename="景县12月份报表.eml"
    )
    parsed = parse_message(outer.as_bytes())
    assert [(a.filename, a.sniffed_type) for a in parsed.attachments] == [
        ("景县12月份报表.eml", "eml"),
        ("附件3.xlsx", "zip"),
    ]
    assert "报表见附件。" in parsed.body_text and "主题: 景县12月份报表" in parsed.body_text


def test_an_invitations_calendar_data_is_no_attachment():
    invitation = email.message.EmailMessage()
    invitation["From"], invitation["To"], invitation["Subject"] = "a@b.cn", "c@d.cn", "邀请: 报表填报培训会"
    invitation.set_content("时间：12月22日 下午3点")
    invitation.add_alternative("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n", subtype="calendar")
    parsed = parse_message(invitation.as_bytes())
    assert parsed.attachments == () and "12月22日" in parsed.body_text
