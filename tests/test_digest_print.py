"""The digest workbook on paper: staff print it for meetings, and print what WPS, Excel or LibreOffice make of
its page setup. Every sheet one page wide (landscape where the table is wide), as many pages down as it
takes; the ranking's chart on a page of its own, never cut across two. Checked in the workbook's page setup
(openpyxl) and in the PDF LibreOffice prints from it, for a digest of the thirteen units."""

from __future__ import annotations

import io
import re
from dataclasses import replace

from openpyxl import load_workbook

from bot.demo.season import load_units
from bot.outgoing.digest import Digest, DigestFinding, StandingLine
from bot.outgoing.workbooks import digest_workbook
from tests.test_digest import _components, printed, sample_digest

# Each sheet's orientation: 简报 is three narrow columns, the others are wider than a portrait page.
ORIENTATIONS = {
    "排名": "landscape",
    "报送情况": "landscape",
    "全市目标任务进展情况": "landscape",
    "简报": "portrait",
    "数据核查": "landscape",
}
A4_CM = (21.0, 29.7)


def thirteen_units() -> Digest:
    """The hand-made June digest with the real number of units in the ranking and a finding for each: the
    size at which the chart once fell across two pages and 数据核查 across three."""
    units = list(load_units()[0])
    return replace(
        sample_digest(),
        standings=tuple(
            StandingLine(unit, rank, 81 - rank, _components(15, 15, 6, 4), 70 - rank, rank)
            for rank, unit in enumerate(units, start=1)
        ),
        findings=tuple(
            DigestFinding(
                unit,
                "total_decreased",
                "累计完成数下降",
                "实用技术培训累计完成数由 60 降为 56（附件2 #595 → #610）",
                (595, 610),
            )
            for unit in units
        ),
    )


def test_every_sheet_prints_one_page_wide():
    """GIVEN the digest workbook WHEN its page setup is read THEN every sheet is A4, fit to one page across and
    any number of pages down (fitToPage with fitToWidth 1, fitToHeight 0), landscape where wide."""
    book = load_workbook(io.BytesIO(digest_workbook(thirteen_units())))
    assert book.sheetnames == list(ORIENTATIONS)
    for sheet in book:
        setup = sheet.page_setup
        assert sheet.sheet_properties.pageSetUpPr is not None and sheet.sheet_properties.pageSetUpPr.fitToPage, sheet
        assert (setup.orientation, setup.paperSize, setup.fitToWidth, setup.fitToHeight) == (
            ORIENTATIONS[sheet.title],
            int(sheet.PAPERSIZE_A4),
            1,
            0,
        ), sheet.title


def test_the_ranking_chart_prints_on_a_page_of_its_own():
    """GIVEN the ranking of thirteen units and its 11 cm chart, more than a landscape A4 page holds together
    WHEN printed THEN a manual page break lies right above the chart, below the table and its note, and the
    chart is no taller than the page: it cannot straddle a page break."""
    sheet = load_workbook(io.BytesIO(digest_workbook(thirteen_units())))["排名"]
    [chart] = sheet._charts
    top = chart.anchor._from.row + 1  # the anchor counts rows from 0
    assert [(brk.id, brk.man) for brk in sheet.row_breaks.brk] == [(top - 1, True)]
    written = max(cell.row for row in sheet.iter_rows() for cell in row if cell.value is not None)
    assert sheet.cell(written, 1).value.startswith("灰色空白") and written < top
    margins = sheet.page_margins
    page_height = A4_CM[0] - 2.54 * (margins.top + margins.bottom)  # landscape: the short side is the height
    assert chart.anchor.ext.height / 360_000 <= page_height  # EMU to cm; fit-to-width only ever shrinks


def pdf_pages(pdf: bytes) -> list[str]:
    """Each page's orientation, in page order, from the page tree of a PDF as LibreOffice writes it (plain
    objects, one /Pages node whose /Kids are the pages, a /MediaBox on each page)."""
    objects = {int(number): body for number, body in re.findall(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S)}
    [kids] = re.findall(rb"/Type\s*/Pages\b.*?/Kids\s*\[([^\]]*)\]", pdf, re.S)
    orientations = []
    for number in re.findall(rb"(\d+) 0 R", kids):
        box = re.search(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", objects[int(number)])
        assert box is not None
        width, height = float(box[3]) - float(box[1]), float(box[4]) - float(box[2])
        orientations.append("landscape" if width > height else "portrait")
    return orientations


def test_libreoffice_prints_each_sheet_one_page_wide_and_the_chart_on_its_own_page(tmp_path):
    """GIVEN the digest workbook of thirteen units WHEN LibreOffice prints it to PDF THEN six A4 pages: the
    ranking, the chart, 报送情况, 全市目标任务进展情况, 简报 (portrait) and 数据核查, each sheet one page across
    (数据核查 once took three portrait pages, its columns cut apart; the chart was cut across two)."""
    assert pdf_pages(printed(digest_workbook(thirteen_units()), tmp_path).read_bytes()) == [
        "landscape",
        "landscape",
        "landscape",
        "landscape",
        "portrait",
        "landscape",
    ]


def test_pdf_pages_reads_the_page_tree():
    """The PDF reader above, on a two-page document written by hand: a landscape page, then a portrait one."""
    pdf = (
        b"%PDF-1.4\n1 0 obj\n<</Type/Page/Parent 3 0 R/MediaBox[0 0 841.89 595.3]>>\nendobj\n"
        b"2 0 obj\n<</Type/Page/Parent 3 0 R/MediaBox[ 0 0 595.3 841.89 ]>>\nendobj\n"
        b"3 0 obj\n<</Type/Pages\n/Kids[ 2 0 R 1 0 R ]\n/Count 2>>\nendobj\n"
    )
    assert pdf_pages(pdf) == ["portrait", "landscape"]
