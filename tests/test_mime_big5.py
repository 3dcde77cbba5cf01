"""Big5 mail (Taiwanese and Hong Kong senders, and spam staff must still read plainly): a Big5 label is kept when
its decoding is mostly sound, and raw 8-bit headers are read in the charset the message's own parts declare."""

from __future__ import annotations

import base64

import pytest

from parsers.mime import parse_message
from parsers.sniff import decode_text, decode_words

SUBJECT = "re:我知道你需要更多機會"
BIG5 = SUBJECT.encode("cp950")
ONE_BAD = BIG5[:5] + b"\x80" + BIG5[5:]  # a stray byte after 我


def message(headers: bytes, body: bytes, charset: bytes = b"big5") -> bytes:
    return (
        headers + b"From: sales@example.com.tw\r\nTo: hsclbgs666@163.com\r\nDate: Wed, 06 May 2020 09:00:00 +0800\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset="
        + charset
        + b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body
        + b"\r\n"
    )


def test_a_big5_encoded_word_with_one_bad_byte_stays_big5_with_one_replacement_character():
    word = "=?big5?B?" + base64.b64encode(ONE_BAD).decode() + "?="
    assert decode_words(word) == "re:我\ufffd知道你需要更多機會"
    assert decode_text(ONE_BAD, "big5") == ("re:我\ufffd知道你需要更多機會", False)
    assert decode_text(BIG5, "big5") == (SUBJECT, True)


def test_big5_labels_read_the_windows_extensions():
    assert decode_text("碁銹裏€".encode("cp950"), "big5") == ("碁銹裏€", True)


@pytest.mark.parametrize("label", ["big5", "Big5", "x-x-big5", "cp950"])
def test_the_label_is_kept_whatever_its_spelling(label):
    assert decode_text(ONE_BAD, label)[0] == "re:我\ufffd知道你需要更多機會"


def test_text_under_a_label_that_fails_badly_is_guessed_as_before():
    """GIVEN bytes with a bad run in every other character under a Big5 label WHEN decoded THEN the label is
    not mostly sound and the guess (UTF-8, then gb18030) decides, as for an unknown label."""
    gbk = "关于报送四月份报表的通知，请各单位按时报送".encode("gbk")
    broken = b"".join(gbk[i : i + 2] + b"\x80" for i in range(0, len(gbk), 2))
    assert decode_text(broken, "big5") == decode_text(broken, None)
    assert decode_text("枣强县".encode(), "big5") == ("枣强县", True)  # valid UTF-8 is UTF-8


def test_raw_8bit_big5_headers_take_the_charset_the_body_declares():
    raw = message(b"Subject: " + "養樂多線上訂購".encode("cp950") + b"\r\n", "歡迎訂購養樂多".encode("cp950"))
    parsed = parse_message(raw)
    assert parsed.subject == "養樂多線上訂購"
    assert parsed.body_text == "歡迎訂購養樂多"
    assert "邮件主题含无法识别的字符，已用替代符号显示" not in parsed.problems


def test_raw_8bit_headers_still_read_as_utf8_or_gbk_when_they_are():
    utf8 = parse_message(message(b"Subject: " + "景县报表".encode() + b"\r\n", "正文".encode("cp950")))
    assert utf8.subject == "景县报表"  # valid UTF-8 is UTF-8, whatever the body declares
    gbk = parse_message(message(b"Subject: " + "景县报表".encode("gbk") + b"\r\n", "正文".encode("gbk"), b"gb2312"))
    assert gbk.subject == "景县报表"
    undeclared = parse_message(b"Subject: " + "景县报表".encode("gbk") + b"\r\nFrom: a@b.cn\r\n\r\nhello\r\n")
    assert undeclared.subject == "景县报表"


def test_a_raw_big5_display_name_and_attachment_name_follow_the_declared_charset():
    boundary = b"b1"
    raw = (
        b"From: " + "王小明".encode("cp950") + b" <ming@example.com.tw>\r\nTo: hsclbgs666@163.com\r\n"
        b"Subject: =?big5?B?" + base64.b64encode("報價單".encode("cp950")) + b"?=\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--b1\r\n"
        b"Content-Type: text/plain; charset=big5\r\n\r\n" + "請參考附件".encode("cp950") + b"\r\n--b1\r\n"
        b'Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="'
        + "報價單.txt".encode("cp950")
        + b'"\r\n\r\nhello\r\n--b1--\r\n'
    )
    parsed = parse_message(raw)
    assert (parsed.from_name, parsed.subject) == ("王小明", "報價單")
    assert [attachment.filename for attachment in parsed.attachments] == ["報價單.txt"]
