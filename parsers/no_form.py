"""Why a file holds no form, in a clerk's words: the one wording for `inspect`, 自查 and the receipt of a mail
carrying it (a PDF, a picture, a presentation, Outlook's winmail.dat, an S/MIME part, a file inside a zip)."""

from __future__ import annotations

from parsers.forms import FormReading, unreadable
from parsers.sniff import sniff_type

PRESENTATIONS = {
    "dps": "WPS 演示 .dps",
    "ppt": "PowerPoint .ppt",
    "pptx": "PowerPoint .pptx",
    "odp": "LibreOffice .odp",
}
PRESENTATION_SUFFIXES = (".dps", ".dpt", ".ppt", ".pps", ".pptx", ".ppsx", ".odp")
IMAGES = ("png", "jpeg", "gif", "heic")
TNEF_TYPES = ("application/ms-tnef", "application/vnd.ms-tnef")
# An S/MIME-encrypted mail: the whole mail, files and all, in one part (smime.p7m) only the recipient's key opens.
SMIME_TYPES = ("application/pkcs7-mime", "application/x-pkcs7-mime")
# The codes why_no_form says a file holds no form with (a zip's member is said as a reading of them: no_form).
NO_FORM_CODES = frozenset(
    {
        "empty",
        "tnef",
        "signed-mail",
        "encrypted-mail",
        "presentation",
        "not-a-form",
        "pdf",
        "image",
        "archive-type",
        "no-form",
    }
)
_WORD_SUFFIXES = (".doc", ".docx", ".wps", ".rtf")
FORMS_PLEASE = "附件2–10 请填入下发的 Excel 表格模板，附件1 请用 Word 或 WPS 文字编写"


def empty_file(name: str) -> str:
    """A 0-byte file: nothing to save again, it went missing on its way into the mail or the upload. The one
    wording for a receipt, `inspect` and 自查."""
    return f"“{name}”是空文件（0 字节），可能在添加或保存文件时出错；请打开原文件确认有内容后重新添加"


def xml_spreadsheet(name: str) -> str:
    """Excel 2003's XML spreadsheet, a table all the same, which Excel and WPS open: only its format is to change.
    The one wording for a receipt, `inspect` and 自查, whatever the file is named."""
    return (
        f"“{name}”是 Excel 2003 XML 表格（常见于业务系统导出的文件），系统无法读取；"
        "请用 Excel 或 WPS 打开后“另存为”.xlsx 格式再发送"
    )


def no_form(name: str, data: bytes, source: str | None = None) -> FormReading:
    """A file that holds no form, as a reading that cannot be read and says why; `source` where it lies (a zip's
    member: "包.zip › 附件5.pdf"), its name by default."""
    code, message = why_no_form(name, sniff_type(data, name), len(data))
    return unreadable(source or name, message, code)


def why_no_form(name: str, kind: str, size: int, declared_type: str = "") -> tuple[str, str]:
    """(code, message): why a file holds no form, from its name, sniffed type, size and the content type its
    mail declared (when known). The one wording for `inspect`, 自查 and the receipt of a mail carrying it."""
    if not size:
        return "empty", empty_file(name)
    declared = declared_type.split(";")[0].strip().lower()
    if kind == "tnef" or declared in TNEF_TYPES or name.strip().lower() == "winmail.dat":
        return "tnef", (
            f"“{name}”是 Outlook 用 RTF 格式发送邮件时把附件打成的包，系统和其他邮箱都打不开，其中的表格未能读取；"
            "请在 Outlook 中把邮件格式改为 HTML 或纯文本（文件→选项→邮件→撰写邮件时使用此格式：HTML）后重新发送"
        )
    if declared in SMIME_TYPES or name.strip().lower().endswith(".p7m"):
        if "signed-data" in declared_type.lower():  # opaque signing: the mail itself inside the signature
            return "signed-mail", (
                f"“{name}”是用数字证书签名后打包的邮件内容（S/MIME 不透明签名），其中的表格未能读取；请在邮件程序中"
                "取消签名，或改为“明文签名”（以明文形式发送签名邮件）后重新发送"
            )
        return "encrypted-mail", (
            f"“{name}”是用数字证书加密的邮件内容（S/MIME），其中的表格未能读取；请在邮件程序中取消“加密”后重新发送"
        )
    if kind in PRESENTATIONS or name.lower().endswith(PRESENTATION_SUFFIXES):
        what = PRESENTATIONS.get(kind, "幻灯片")
        return "presentation", f"“{name}”是演示文稿（{what}），不是表格，系统无法从中读取报表；{FORMS_PLEASE}"
    if kind == "xml-spreadsheet":
        return "not-a-form", xml_spreadsheet(name)
    if kind == "pdf":
        return (
            "pdf",
            f"“{name}”是 PDF 文件，系统无法从中读取表格数字；请发送原始的 Excel 表格（附件1 请发送 Word 文档）",
        )
    if kind in IMAGES:
        return "image", f"“{name}”是图片，系统无法读取图片中的数字；请发送原始的 Excel 表格，不要拍照或截图"
    if kind in ("rar", "7z"):
        return "archive-type", (
            f"“{name}”是 {kind.upper()} 压缩包，系统只能解开 .zip 压缩包；请改用 .zip 压缩，或直接发送各个表格文件"
        )
    if kind == "zip":
        return "no-form", f"压缩包“{name}”中没有找到任何附件表格或附件1 文档；{FORMS_PLEASE}"
    if kind == "odt":
        return "not-a-form", (
            f"“{name}”是 ODT 格式的文档（LibreOffice 默认的保存格式），系统无法读取；附件1 请在 LibreOffice 中"
            "选择“文件→另存为”，文件类型选“Word 2007-365 (.docx)”，或用 Word、WPS 另存为 .docx 格式，再重新发送"
        )
    if kind in ("docx", "doc", "wps"):
        return "not-a-form", (
            f"“{name}”是 Word 文档，但不是附件1 进展情况报告（文件名和开头都没有“进展情况报告”字样）；"
            f"附件1 请在标题写明“XX县残联X月份目标任务进展情况报告”，简报信息请按简报要求另行报送"
        )
    if kind in ("rtf", "html") and (kind == "rtf" or name.lower().endswith(_WORD_SUFFIXES)):
        what = "是 RTF 格式的文档" if kind == "rtf" else "的内容是网页（HTML）"
        return "not-a-form", (
            f"“{name}”{what}，不是 Word 文档，系统无法读取；附件1 请用 Word 或 WPS 打开后“另存为”.docx 格式再发送"
        )
    return "not-a-form", f"“{name}”不是 Excel 表格或 Word 文档，系统无法读取；{FORMS_PLEASE}"
