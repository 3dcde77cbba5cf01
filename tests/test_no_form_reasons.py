"""Why a file holds no form, in the words `inspect`, 自查 and the receipt all use (parsers.no_form): files a
clerk's phone or Outlook makes, which the sniffing names by their bytes."""

from __future__ import annotations

import struct

import pytest

from parsers.no_form import no_form, why_no_form
from parsers.sniff import sniff_type

# Outlook's TNEF: its signature, then an attribute (level, tag, length, data, checksum).
TNEF = struct.pack("<IHBII", 0x223E9F78, 1, 1, 0x00089006, 4) + struct.pack("<IH", 0x00010000, 1)
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    [
        (TNEF, "winmail.dat", "tnef"),
        (TNEF, "ATT00001.dat", "tnef"),
        (HEIC, "IMG_4521.HEIC", "heic"),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heic" + bytes(64), "IMG_4522.heic", "heic"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(64), "movie.mp4", "unknown"),
    ],
)
def test_outlook_packs_and_phone_photos_are_named_by_their_bytes(data, name, kind):
    assert sniff_type(data, name) == kind


@pytest.mark.parametrize(
    ("name", "data", "code", "words"),
    [
        ("winmail.dat", TNEF, "tnef", "文件→选项→邮件→撰写邮件时使用此格式：HTML"),
        ("winmail.dat", b"\x01\x02\x03 damaged", "tnef", "改为 HTML 或纯文本"),  # by its name alone
        ("ATT00001.dat", TNEF, "tnef", "“ATT00001.dat”是 Outlook"),
        ("IMG_4521.HEIC", HEIC, "image", "“IMG_4521.HEIC”是图片"),
        ("附件1.doc", b"{\\rtf1\\ansi\\deff0 {\\fonttbl}", "not-a-form", "是 RTF 格式的文档，不是 Word 文档"),
        ("附件1.doc", b"<html><body><p>", "not-a-form", "的内容是网页（HTML），不是 Word 文档"),
    ],
)
def test_a_file_that_holds_no_form_says_why(name, data, code, words):
    [problem] = no_form(name, data).problems
    assert problem.code == code and words in problem.message


def test_the_content_type_a_mail_declares_names_outlooks_pack_too():
    code, message = why_no_form("未命名附件1.bin", "unknown", 100, "application/ms-tnef; name=x")
    assert code == "tnef" and "撰写邮件时使用此格式：HTML" in message
    assert why_no_form("未命名附件1.bin", "unknown", 100, "application/octet-stream")[0] == "not-a-form"


def test_an_smime_encrypted_mail_is_said_to_be_encrypted_not_a_wrong_file():
    """An S/MIME-encrypted mail carries one part, smime.p7m: the clerk was told it is no Excel or Word file, where
    what to do is to send it unencrypted. A signature (smime.p7s) beside readable files is no such part."""
    declared = 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"'
    code, message = why_no_form("smime.p7m", "unknown", 4096, declared)
    assert code == "encrypted-mail" and "取消“加密”后重新发送" in message
    assert why_no_form("smime.p7m", "unknown", 4096)[0] == "encrypted-mail"  # `inspect` knows its name alone
    assert why_no_form("smime.p7s", "unknown", 4096, "application/pkcs7-signature")[0] == "not-a-form"
    opaque = 'application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"'  # signed, the mail inside: not secret
    code, message = why_no_form("smime.p7m", "unknown", 4096, opaque)
    assert code == "signed-mail" and "明文签名" in message and "加密" not in message


def test_files_in_a_zip_that_hold_no_form_are_each_said_pictures_aside():
    """GIVEN a zip (zip -9, as a clerk makes it) with a 附件2 workbook, a PDF, a .csv and a photo WHEN read THEN
    the PDF and the .csv are each said with why, as they are loose (they vanished, and the receipt then listed
    their forms as never sent), and the photo is passed over as beside forms loose."""
    import io
    import zipfile

    from parsers.workbook import read_attachment
    from tests.conftest import DATA
    from tests.test_workbooks import UNITS

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("景县/附件2.xlsx", (DATA / "workbooks" / "summary-unit-row-only.xlsx").read_bytes())
        archive.writestr("景县/附件5.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n")
        archive.writestr("景县/附件4.csv", "姓名,残疾人证号\n张三,1\n".encode("gbk"))
        archive.writestr("景县/照片.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    readings = read_attachment("景县.zip", packed.getvalue(), UNITS)
    assert [(reading.source, reading.form, reading.readable) for reading in readings] == [
        ("景县.zip › 景县/附件2.xlsx", 2, True),
        ("景县.zip › 景县/附件5.pdf", None, False),
        ("景县.zip › 景县/附件4.csv", None, False),
    ]
    assert readings[1].problems[0].message.startswith("“附件5.pdf”是 PDF 文件")
    assert readings[2].problems[0].message.startswith("“附件4.csv”不是 Excel 表格或 Word 文档")
