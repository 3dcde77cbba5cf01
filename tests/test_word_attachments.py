"""附件1 as clerks send it: a Word 97 .doc (saved by LibreOffice, a real writer) or the same binary named
.wps is read (catdoc) and counts as arrived on time, like a .docx; one that cannot be read still counts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from archive.evidence import package_arrivals
from bot.demo.folder import compose
from bot.demo.season.files import docx_bytes
from parsers.workbook import read_attachment
from scoring.packages import package_status
from tests.conftest import ROOT

SHANGHAI = ZoneInfo("Asia/Shanghai")
PARAGRAPHS = ["枣强县残联5月份目标任务进展情况报告", "一、康复服务完成情况", "截至5月底，全县共完成康复服务 120 人。"]


@pytest.fixture(scope="module")
def word97(tmp_path_factory) -> bytes:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice Writer not installed: run scripts/install.sh --test")
    folder = tmp_path_factory.mktemp("word")
    (folder / "附件1.docx").write_bytes(docx_bytes(PARAGRAPHS, datetime(2020, 5, 18, tzinfo=SHANGHAI)))
    subprocess.run(
        [office, "--headless", "--convert-to", "doc", "--outdir", str(folder), str(folder / "附件1.docx")],
        check=True,
        capture_output=True,
        timeout=120,
        env={**os.environ, "HOME": str(folder)},
    )
    data = (folder / "附件1.doc").read_bytes()
    assert data.startswith(b"\xd0\xcf\x11\xe0")  # a compound file: Word 97's binary format
    return data


@pytest.mark.parametrize("name", ["附件1.doc", "附件1.wps", "5月份进展情况.doc", "新建文档.doc"])
def test_a_word_binary_progress_report_is_read_as_form_1(word97, name):
    """By its name, or by the title in its text; its text read (catdoc), for search and the receipt."""
    [reading] = read_attachment(name, word97, ())
    assert (reading.form, reading.readable, reading.month) == (1, True, "2020-05")
    assert reading.text.splitlines()[0] == PARAGRAPHS[0] and "完成康复服务 120 人" in reading.text


def test_a_broken_word_binary_form_1_still_counts_and_says_so(word97, tmp_path):
    """A .doc cut short in the mail: still a 附件1 by its name, so it counts; the clerk is told its text
    could not be read, and that nothing needs resending, as a hint: inspect found no problem (it said 发现问题 and
    无法读取, and the receipt asked for the files again beside "无需为此重发")."""
    [reading] = read_attachment("附件1.doc", word97[:1536], ())
    assert (reading.form, reading.readable, reading.problems[0].code) == (1, True, "text-unread")
    assert "能够接收（不影响计分）" in reading.problems[0].message and "无需为此重发" in reading.problems[0].message
    (tmp_path / "附件1.doc").write_bytes(word97[:1536])
    said = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(ROOT / "config.example.toml"),
            "inspect",
            str(tmp_path / "附件1.doc"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert said.returncode == 0, said.stdout + said.stderr
    lines = said.stdout.splitlines()
    assert lines[0].endswith("· 文字未能读出") and lines[1:3] == [
        "  未发现问题",
        f"  提示：{reading.problems[0].message}",
    ]


@pytest.mark.parametrize("name", ["附件1.doc", "附件1.wps"])
def test_a_word_binary_form_1_counts_on_time(config, deps, word97, name):
    """GIVEN 枣强县's May 附件1 as a Word binary, on the 18th WHEN archived THEN the May package holds
    附件1 on time, and its text is found by search."""
    from archive.ingest import Incoming, ingest_batch

    message = compose(
        "zqxcl@163.com",
        "hsscljjb@163.com",
        "枣强县5月份目标任务进展情况报告",
        datetime(2020, 5, 18, 9, tzinfo=SHANGHAI),
        body="见附件",
    )
    message.add_attachment(word97, maintype="application", subtype="msword", filename=name)
    ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(message.as_bytes(), "jjb", "import")])
    with deps.db.session() as session:
        arrivals = package_arrivals(session, "枣强县", "2020-05")
        from archive.search import Query, search

        assert [m.subject for m in search(session, Query(text="康复服务完成情况"))] == [
            "枣强县5月份目标任务进展情况报告"
        ]
    status = package_status(
        "枣强县", "2020-05", arrivals, config.plan("2020-05").calendar, datetime(2020, 5, 21, tzinfo=SHANGHAI)
    )
    form_1 = next(form for form in status.forms if form.form == 1)
    assert form_1.status == "on_time"


def test_a_long_docx_is_read_in_about_its_own_size():
    """The text streams out paragraph by paragraph: a document.xml as large as the unzip cap allows (100 MB)
    must not become a whole tree. Here the whole read's peak is 2.7 times the XML (the XML itself, the text
    and its lines); as a tree it was 8 times, and 1.3 GB at 100 MB, past a reader's memory."""
    import tracemalloc
    import zipfile
    from io import BytesIO

    paragraphs = [f"第{n}段：截至5月底，全县共完成康复服务 120 人。" for n in range(40_000)]
    data = docx_bytes(paragraphs, datetime(2020, 5, 18, tzinfo=SHANGHAI))
    xml_size = zipfile.ZipFile(BytesIO(data)).getinfo("word/document.xml").file_size
    tracemalloc.start()
    try:
        [reading] = read_attachment("附件1.docx", data, ())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reading.text.splitlines() == paragraphs
    assert peak < 4 * xml_size, f"{peak:,} bytes at peak for {xml_size:,} of XML"


def test_a_text_box_is_a_line_of_its_own_and_read_once():
    """A paragraph inside another (Word keeps a text box's paragraphs in the one that anchors it) is one
    line, before its anchor's; its words are not counted twice."""
    import zipfile
    from io import BytesIO

    plain = docx_bytes(["截至5月底完成康复服务 120 人。"], datetime(2020, 5, 18, tzinfo=SHANGHAI))
    box = (
        '<w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml"><v:textbox><w:txbxContent>'
        "<w:p><w:r><w:t>枣强县残联5月份进展情况报告</w:t></w:r></w:p>"
        "</w:txbxContent></v:textbox></v:shape></w:pict></w:r>"
    )
    with zipfile.ZipFile(BytesIO(plain)) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    members["word/document.xml"] = members["word/document.xml"].replace(b"<w:p>", b"<w:p>" + box.encode(), 1)
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, content in members.items():
            target.writestr(name, content)
    [reading] = read_attachment("附件1.docx", out.getvalue(), ())
    assert reading.text.splitlines() == ["枣强县残联5月份进展情况报告", "截至5月底完成康复服务 120 人。"]


def test_a_hint_is_said_as_a_hint_on_the_message_page_and_in_show():
    """A 附件1 whose text could not be read: its hint is said as 提示 on the message's page and in `show`, as the
    receipt and inspect say it, never among the problems (reviewer)."""
    from bot.services.show import _attachments
    from bot.web.present import _problem_lines

    hint = {"sheet": None, "row": None, "column": None, "code": "text-unread", "message": "附件1……无需为此重发"}
    assert _problem_lines([hint]) == ["提示：附件1……无需为此重发"]
    form = {"source": "附件1.doc", "form": 1, "unit": None, "month": None, "rows": 0, "readable": True}
    form |= {"characters": 0, "done": None, "problems": [hint]}
    lines = _attachments([{"filename": "附件1.doc", "type": "doc", "size": 9, "forms": [form]}], False)
    assert lines[-1] == "   提示：附件1……无需为此重发" and not any("问题" in line for line in lines)
