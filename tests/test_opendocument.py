"""Forms saved in LibreOffice's own formats (.ods, .odt), as a clerk using LibreOffice saves by default: each is
told apart from a plain zip, answered saying to save it as .xlsx or .docx, and a package carrying one is put
before staff, a staff forward of it too (it told nobody before: the .ods was read as a zip holding no form)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from datetime import datetime

import pytest

from archive.ingest import Incoming, ingest_batch
from archive.queue import attention
from bot.demo.folder import compose
from parsers.mime import parse_message
from parsers.recognize import kind_of
from parsers.records import Kind
from parsers.sniff import sniff_type
from tests.test_inspect import BOOKS, SHANGHAI, inspect_paths
from tests.webapp import REHAB

TAOCHENG = "tcqcl@163.com"


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, bytes]:
    """A 附件2 saved by LibreOffice Calc as .ods, and a 附件1 saved by LibreOffice Writer as .odt."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice not installed: run scripts/install.sh --test")
    folder = tmp_path_factory.mktemp("odf")
    shutil.copy(BOOKS / "summary-unit-row-only.xlsx", folder / "附件2.xlsx")
    shutil.copy(BOOKS / "progress-report.docx", folder / "附件1.docx")
    for name, kind in (("附件2.xlsx", "ods"), ("附件1.docx", "odt")):
        subprocess.run(
            [office, "--headless", "--convert-to", kind, "--outdir", str(folder), str(folder / name)],
            check=True,
            capture_output=True,
            timeout=120,
            env={**os.environ, "HOME": str(folder)},
        )
    return {kind: (folder / f"附件{form}.{kind}").read_bytes() for form, kind in ((2, "ods"), (1, "odt"))}


def test_opendocument_files_are_told_apart_from_a_zip(saved):
    """As LibreOffice saves them (their type the first member, stored), and as a writer that compresses it or
    puts it elsewhere does; a plain zip, and an .ods cut short before its type, are zips."""
    assert (sniff_type(saved["ods"]), sniff_type(saved["odt"])) == ("ods", "odt")
    compressed = io.BytesIO()
    with zipfile.ZipFile(compressed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("content.xml", "<office:document-content/>")
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert sniff_type(compressed.getvalue()) == "ods"
    assert sniff_type((BOOKS / "package-gbk-names.zip").read_bytes()) == "zip"
    assert sniff_type(saved["ods"][:60]) == "zip"


@pytest.mark.parametrize("subject, name", [("桃城区4月份", "桃城区.ods"), ("已读: 回执：桃城区4月份报表", "附件2.ods")])
def test_a_mail_carrying_an_ods_form_is_a_package(saved, subject, name):
    """An .ods carries a package as a workbook does: a subject with no report words, or one echoing our receipt
    (else a read receipt that needs nobody), is a report, whose receipt then says to save it as .xlsx."""
    message = compose(TAOCHENG, REHAB, subject, datetime(2020, 5, 14, 10, tzinfo=SHANGHAI), body="见附件")
    message.add_attachment(saved["ods"], "application", "octet-stream", filename=name)
    assert kind_of(parse_message(message.as_bytes())) == Kind.REPORT


def test_a_clerk_inspecting_ods_and_odt_is_told_to_save_them_as_xlsx_and_docx(saved, tmp_path):
    """GIVEN 附件2.ods and 附件1.odt as LibreOffice saved them WHEN inspected THEN each says it is LibreOffice's
    format and how to save it as Excel or Word, not that a zip holds no form, and the check finds problems."""
    paths = [tmp_path / "附件2.ods", tmp_path / "附件1.odt"]
    for path in paths:
        path.write_bytes(saved[path.suffix[1:]])
    code, text = inspect_paths(paths, as_json=False)
    assert code == 1
    assert "“附件2.ods”是 ODS 格式的表格（LibreOffice 默认的保存格式），系统无法读取" in text
    assert "Excel 2007-365 (.xlsx)" in text
    assert "“附件1.odt”是 ODT 格式的文档" in text and "Word 2007-365 (.docx)" in text
    assert "压缩包" not in text


def test_a_package_with_an_ods_form_is_put_before_staff_forwarded_or_not(saved, deps):
    """GIVEN 冀州区's package with 附件1.docx and 附件2.ods, from the unit and as staff forwarded it WHEN archived
    THEN each is a 待处理 item (附件无法读取), where the forward was none."""
    arrival = datetime(2020, 5, 14, 10, tzinfo=SHANGHAI)
    raws = []
    for sender, subject in (("jzqcl@126.com", "冀州区4月份报表"), ("hsscljjb@163.com", "转发：冀州区4月份报表")):
        message = compose(sender, REHAB, subject, arrival, body="见附件")
        message.add_attachment(
            (BOOKS / "progress-report.docx").read_bytes(), "application", "octet-stream", filename="附件1.docx"
        )
        message.add_attachment(saved["ods"], "application", "octet-stream", filename="附件2.ods")
        raws.append(message.as_bytes())
    outcomes = ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "kfb", "import") for raw in raws])
    with deps.db.session() as session:
        items = {item.handle for item in attention(session)}
    assert {f"{outcome.id}-unreadable" for outcome in outcomes} <= items
