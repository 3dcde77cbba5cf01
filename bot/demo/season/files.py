"""The bytes of every attached file: .xlsx, .xls, .docx and .zip, each byte-for-byte the same on every
run (zip times are the file's own date), and the Word documents' words (附件1 and briefing articles).

.xls (and WPS's .et, which is .xls bytes) needs xlwt, a test extra and not one of mailroom's dependencies.
Without it every workbook is written as .xlsx with the same cells, its name ending .xlsx: the standings
do not change, only the variety of formats the season exercises (WRITES_XLS says which it is).
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from bot.demo.season.people import TOWNS
from bot.demo.season.plans import REGISTRY_COUNTS, YEAR, UnitInfo, UnitPlan
from bot.demo.season.sheets import FORM_TITLES, SUMMARY_TASKS, Sheet, organisation, registry_sheet, summary_sheet
from parsers.cells import column_letter

try:
    import xlwt
except ImportError:  # not installed with mailroom itself: workbooks are then all .xlsx
    xlwt = None

WRITES_XLS = xlwt is not None


def zip_bytes(members: Sequence[tuple[str, bytes]], when: datetime, gbk: bool = False) -> bytes:
    """A deflated zip; `gbk` writes the names in GBK without the UTF-8 flag, as Windows' zipper does."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = (_GbkZipInfo if gbk else zipfile.ZipInfo)(name, date_time=when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


class _GbkZipInfo(zipfile.ZipInfo):
    """A member whose name is stored in GBK with no UTF-8 flag (zipfile has no public way to do it)."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006"
_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PROPERTIES_TYPE = "application/vnd.openxmlformats-package.core-properties+xml"
_EXTENDED_TYPE = "application/vnd.openxmlformats-officedocument.extended-properties+xml"
_XLSX_PARTS = {
    "[Content_Types].xml": f'<Types xmlns="{_PACKAGE}/content-types">'
    f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    f'<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_SHEET_TYPE}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_SHEET_TYPE}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_SHEET_TYPE}.styles+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SHEET_TYPE}.sharedStrings+xml"/>'
    f'<Override PartName="/docProps/core.xml" ContentType="{_PROPERTIES_TYPE}"/>'
    f'<Override PartName="/docProps/app.xml" ContentType="{_EXTENDED_TYPE}"/>'
    f"</Types>",
    "_rels/.rels": f'<Relationships xmlns="{_PACKAGE}/relationships">'
    f'<Relationship Id="rId1" Type="{_OFFICE}/officeDocument" Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{_PACKAGE}/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_OFFICE}/extended-properties" Target="docProps/app.xml"/></Relationships>',
    "docProps/app.xml": '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>WPS 表格</Application></Properties>",
    "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PACKAGE}/relationships">'
    f'<Relationship Id="rId1" Type="{_OFFICE}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_OFFICE}/styles" Target="styles.xml"/>'
    f'<Relationship Id="rId3" Type="{_OFFICE}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    # Style 0 plain, 1 a percentage (built-in format 10, 0.00%), 2 the bold centred title.
    "xl/styles.xml": f'<styleSheet xmlns="{_MAIN}"><fonts count="2"><font><sz val="11"/><name val="宋体"/></font>'
    '<font><b/><sz val="14"/><name val="宋体"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/>'
    '</fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/>'
    '<bottom/><diagonal/></border></borders><cellStyleXfs count="1">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment horizontal="center"/></xf></cellXfs><cellStyles count="1"><cellStyle name="常规" xfId="0" '
    'builtinId="0"/></cellStyles></styleSheet>',
}
_WIDTHS = (6, 10, 24, 10, 14, 16, 14, 14, 12, 12, 12)


def xlsx_bytes(sheet: Sheet, when: datetime) -> bytes:
    """A real .xlsx as WPS writes one (shared strings, a style for percentages, merged cells), written
    directly: openpyxl takes most of the season's generation time on cumulative registries."""
    strings: dict[str, int] = {}
    rows = []
    for row_index, values in enumerate(sheet.rows):
        cells = []
        for column, value in enumerate(values):
            if value is None:
                continue
            ref = f"{column_letter(column)}{row_index + 1}"
            style = ' s="1"' if (row_index, column) in sheet.percents else ' s="2"' if ref == "A1" else ""
            if isinstance(value, str):
                cells.append(f'<c r="{ref}"{style} t="s"><v>{strings.setdefault(value, len(strings))}</v></c>')
            else:
                cells.append(f'<c r="{ref}"{style}><v>{value!r}</v></c>')
        rows.append(f'<row r="{row_index + 1}">{"".join(cells)}</row>')
    width = max(len(values) for values in sheet.rows)
    merges = "".join(
        f'<mergeCell ref="{column_letter(c1)}{r1 + 1}:{column_letter(c2)}{r2 + 1}"/>' for r1, r2, c1, c2 in sheet.merges
    )
    columns = "".join(
        f'<col min="{n + 1}" max="{n + 1}" width="{w}" customWidth="1"/>' for n, w in enumerate(_WIDTHS[:width])
    )
    worksheet = (
        f'<worksheet xmlns="{_MAIN}" xmlns:r="{_OFFICE}"><dimension ref="A1:{column_letter(width - 1)}'
        f'{len(sheet.rows)}"/><cols>{columns}</cols><sheetData>{"".join(rows)}</sheetData>'
        f'<mergeCells count="{len(sheet.merges)}">{merges}</mergeCells></worksheet>'
    )
    shared = "".join(f'<si><t xml:space="preserve">{escape(text)}</t></si>' for text in strings)
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    parts = {
        **_XLSX_PARTS,
        "docProps/core.xml": '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/'
        f'2001/XMLSchema-instance"><dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>',
        "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_OFFICE}"><sheets><sheet name='
        f'"{escape(sheet.name)}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/worksheets/sheet1.xml": worksheet,
        "xl/sharedStrings.xml": f'<sst xmlns="{_MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
        f"{shared}</sst>",
    }
    return zip_bytes([(name, (_XML + xml).encode("utf-8")) for name, xml in parts.items()], when)


def xls_bytes(sheet: Sheet) -> bytes:
    """A real BIFF8 .xls, as WPS saves by default (needs xlwt: see WRITES_XLS)."""
    if xlwt is None:
        raise RuntimeError("writing .xls needs xlwt (pip install xlwt, or mailroom's test extra)")
    percent, plain = xlwt.easyxf(num_format_str="0.00%"), xlwt.easyxf("")
    book = xlwt.Workbook(encoding="utf-8")
    page = book.add_sheet(sheet.name, cell_overwrite_ok=True)
    covered = {
        (row, column) for r1, r2, c1, c2 in sheet.merges for row in range(r1, r2 + 1) for column in range(c1, c2 + 1)
    }
    for r1, r2, c1, c2 in sheet.merges:
        value = sheet.rows[r1][c1]
        page.write_merge(r1, r2, c1, c2, "" if value is None else value, plain)
    for row, values in enumerate(sheet.rows):
        for column, value in enumerate(values):
            if value is not None and (row, column) not in covered:
                style = percent if (row, column) in sheet.percents else plain
                page.write(row, column, value, style)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/></Relationships>'
)
_DOCUMENT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body>{body}<w:sectPr/></w:body></w:document>"
)


def docx_bytes(paragraphs: Sequence[str], when: datetime) -> bytes:
    """A minimal real .docx: content types, the package relationship and word/document.xml."""
    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>' for text in paragraphs)
    return zip_bytes(
        [
            ("[Content_Types].xml", _CONTENT_TYPES.encode()),
            ("_rels/.rels", _RELS.encode()),
            ("word/document.xml", _DOCUMENT.format(body=body).encode()),
        ],
        when,
    )


def report_docx(unit: UnitInfo, month: int, figures: Mapping[str, int], when: datetime) -> bytes:
    """附件1 in the template's words (seed 000): the report title, three sections, cumulative figures."""
    done = "；".join(
        f"{name[:-3]}完成 {figures[task]}{name[-2]}，占全年任务 {figures[task] / unit.targets[task]:.1%}"
        if unit.targets.get(task)
        else f"{name[:-3]}完成 {figures[task]}{name[-2]}"
        for task, name in SUMMARY_TASKS
        if task in figures
    )
    return docx_bytes(
        [
            f"{organisation(unit.name)} {month} 月份{FORM_TITLES[1]}",
            "现将目标任务完成情况汇报如下：",
            "一、目标任务完成情况",
            f"截至{month}月底，{done}。",
            "二、开展的主要工作",
            SENTENCES[month % len(SENTENCES)].format(unit=unit.name, town=TOWNS[month % 10]),
            SENTENCES[(month + 3) % len(SENTENCES)].format(unit=unit.name, town=TOWNS[month % 7]),
            "三、存在问题及下月工作安排",
            "部分乡镇入户核查进度偏慢，下月将加强督导，按时报送各项数据。",
        ],
        when,
    )


SENTENCES = (
    "今年以来，{unit}残联把贫困残疾人服务工程作为民心工程的重中之重，逐村逐户摸清需求。",
    "{town}组织专职委员入户走访贫困残疾人家庭，核实康复、辅具和托养需求。",
    "县残联联合卫健部门开展家庭医生签约服务，为重度残疾人上门评估。",
    "举办农村实用技术培训班，邀请农技专家讲授大棚蔬菜种植和肉羊养殖技术。",
    "为重度残疾人免费发放轮椅、助行器、坐便椅等基本型辅助器具。",
    "对贫困重度残疾人家庭实施卫生间改造、坡道铺设和扶手安装。",
    "托养服务机构为智力、精神和重度肢体残疾人提供日间照料。",
    "残疾儿童康复救助政策宣传进社区、进学校，家长知晓率明显提高。",
    "{unit}残联主要负责同志带队督导，现场解决群众反映的具体问题。",
    "下一步，{unit}残联将继续压实责任，确保各项工作按时保质完成。",
)
ARTICLE_TITLES = (
    "{unit}为{n}名贫困残疾人免费适配辅助器具",
    "{unit}{town}康复服务进村入户",
    "{unit}举办第{k}期残疾人农村实用技术培训班",
    "{unit}推进贫困重度残疾人家庭无障碍改造",
    "{unit}残联走访慰问贫困残疾人家庭",
    "{unit}开展残疾儿童康复救助政策宣传",
    "{unit}托养服务让{n}户残疾人家庭减轻负担",
    "{unit}召开贫困残疾人服务工程推进会",
)


def article_docx(unit: str, month: int, number: int, when: datetime, seed: int) -> tuple[str, bytes]:
    """A briefing article: (file name, .docx). Each (unit, month, number) reads differently."""
    rng = random.Random(f"{seed}:{unit}:{month}:article:{number}")
    town = rng.choice(TOWNS)
    title = rng.choice(ARTICLE_TITLES).format(unit=unit, town=town, n=rng.randint(8, 60), k=number + 1)
    lines = [SENTENCES[index].format(unit=unit, town=town) for index in rng.sample(range(len(SENTENCES)), 4)]
    paragraphs = [title, *lines, f"（{unit}残联 {YEAR}年{when.month}月{when.day}日 供稿 第{month:02d}{number:02d}号）"]
    return f"{title}.docx", docx_bytes(paragraphs, when)


def form_file(
    plan: UnitPlan,
    unit: UnitInfo,
    month: int,
    form: int,
    figures: Mapping[str, int],
    when: datetime,
    seed: int,
    workbook: str,
) -> tuple[str, bytes]:
    """One form of the package as (extension, bytes); `workbook` is xlsx, xls or et (.xls bytes), and
    xlsx whatever it says when xlwt is missing (WRITES_XLS)."""
    if not WRITES_XLS:
        workbook = "xlsx"
    if form == 1:
        return "docx", report_docx(unit, month, figures, when)
    if form == 2:
        label = "景 县" if unit.name == "景县" else unit.name  # the seed's own spelling
        sheet = summary_sheet(unit, label, month, figures, when, plan.percent_text)
    else:
        sheet = registry_sheet(unit.name, form, month, figures[REGISTRY_COUNTS[form]], when, seed)
    return workbook, xlsx_bytes(sheet, when) if workbook == "xlsx" else xls_bytes(sheet)


FILE_TITLES = {**FORM_TITLES, 2: "目标任务完成情况汇总表"}


def file_name(plan: UnitPlan, month: int, form: int, extension: str, index: int) -> str:
    """The name the unit gives the form's file: 附件3.xlsx, a title, or what Windows calls a new file."""
    if plan.names == "generic":
        if form == 1:
            return "新建 DOCX 文档.docx"
        return f"新建 Microsoft Excel 工作表{f' ({index})' if index > 1 else ''}.{extension}"
    if plan.names == "title":
        prefix = "附件1：" if form == 1 else ""
        title = FILE_TITLES[form] if form >= 9 else f"{plan.name}{month}月份{FILE_TITLES[form]}"
        return f"{prefix}{title}.{extension}"
    return f"附件{form}.{extension}"
