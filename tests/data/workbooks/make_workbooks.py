"""Writes the sample workbooks of tests/test_workbooks.py into this folder.

    .venv/bin/pip install xlwt   # for the .xls/.et samples only; not a dependency of mailroom
    .venv/bin/python tests/data/workbooks/make_workbooks.py

The committed files are the fixtures; this script is how they were made and how to make them again
(openpyxl and zip timestamps differ between runs, the content does not). .xlsx files are written by
openpyxl (merged cells, hidden sheets, formulas without cached values), .xls and .et by xlwt (BIFF8
in OLE2, as WPS saves them), and what no library writes (an encrypted workbook, .doc/.wps, entity
tricks, bombs, lying zip headers) byte by byte in office_bytes.py. README.md lists each file.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import openpyxl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import office_bytes as ob  # noqa: E402

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
AREAS = {
    "桃城区": "131102",
    "冀州区": "131103",
    "枣强县": "131121",
    "武邑县": "131122",
    "武强县": "131123",
    "饶阳县": "131124",
    "安平县": "131125",
    "故城县": "131126",
    "景县": "131127",
    "阜城县": "131128",
    "深州市": "131182",
}
TARGETS = {  # the city's targets (config), in TASKS order
    "桃城区": (179, 184, 0, 0, 0, 0),
    "冀州区": (140, 184, 120, 49, 0, 0),
    "枣强县": (573, 115, 67, 67, 149, 0),
    "武邑县": (233, 115, 100, 38, 0, 0),
    "深州市": (255, 344, 103, 131, 75, 0),
    "武强县": (212, 115, 41, 35, 8, 0),
    "饶阳县": (2078, 299, 61, 38, 3, 0),
    "安平县": (212, 115, 59, 30, 1, 0),
    "故城县": (382, 115, 103, 76, 6, 0),
    "景 县": (233, 115, 88, 48, 32, 0),
    "阜城县": (255, 299, 67, 40, 3, 0),
    "高新区": (11, 0, 0, 0, 0, 0),
    "滨湖新区": (11, 0, 0, 0, 0, 0),
}
TASK_HEADERS = (
    "康复服务（人）",
    "适配辅助器具\n（人）",
    "实用技术培训\n（人）",
    "托养服务（人）",
    "残疾人家庭无障碍\n改造（户）",
    "帮助贫困残疾学生及贫困残疾人家庭子女上大学（名）",
)
REHAB_HEADER = [
    "序\n号",
    "姓 名",
    "残疾人证号",
    "残疾类别",
    "残疾等级",
    "联系电话",
    "服务项目",
    "服务细项（内容）",
    "是否建档立\n卡残疾人",
    "备 注",
]
TRAINING_HEADER = ["序号", "姓名", "残疾人证号", "残疾类别、等级", "联系电话", "培训类型", "培训机构", "培训时间"]
CARE_HEADER = [
    "序号",
    "姓名",
    "残疾人证号",
    "残疾类别、等级",
    "联系电话",
    "享受托养服务\n类型",
    "提供托养服务\n的机构",
    "提供托养服务\n的时间",
]
BARRIER_HEADER = ["序号", "姓名", "残疾人证号", "残疾类别、等级", "联系电话", "改造项目", "补贴金额", "备注"]
DEVICES_HEADER = [
    "序号",
    "姓名",
    "残疾人证号",
    "联系电话",
    "家庭住址",
    "享受基本型辅助器具名称",
    "适配时间",
    "是否录入精准康复数据库",
    "建档立卡贫困残疾人",
    "非建档立卡贫困残疾人",
]


def id18(unit: str, born: str, order: int) -> str:
    """A valid 18-character ID: area, birth date, order, GB 11643 check digit."""
    body = f"{AREAS[unit]}{born}{order:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS)) % 11]


def cert(unit: str, born: str, order: int, category: int = 4, grade: int = 2) -> str:
    """A valid 20-character 残疾人证号."""
    return f"{id18(unit, born, order)}{category}{grade}"


def save(workbook: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# 附件2


def summary_sheet(ws, title: str, rows: list[tuple[str, tuple]], fill: str = "填报单位：（盖章）", col: int = 1) -> int:
    """The template's layout: 附件2 mark, title, 填报单位 row, two merged header rows, unit rows, 备注.
    Returns the row number of the first unit row."""
    ws.cell(1, col, "附件2")
    ws.cell(2, col, title)
    ws.merge_cells(start_row=2, start_column=col, end_row=2, end_column=col + 18)
    ws.cell(3, col, f"{fill}                    年   月   日")
    ws.cell(4, col, "地区")
    ws.merge_cells(start_row=4, start_column=col, end_row=5, end_column=col)
    for index, header in enumerate(TASK_HEADERS):
        first = col + 1 + 3 * index
        ws.cell(4, first, header)
        ws.merge_cells(start_row=4, start_column=first, end_row=4, end_column=first + 2)
        for offset, sub in enumerate(("目标\n数", "完成\n数", "百分\n比")):
            ws.cell(5, first + offset, sub)
    for number, (label, values) in enumerate(rows, 6):
        ws.cell(number, col, label)
        for index, value in enumerate(values):
            if value is not None:
                ws.cell(number, col + 1 + index, value)
    ws.cell(6 + len(rows), col, "备注：“帮助贫困残疾学生及贫困残疾人家庭子女上大学”自9月份起填报数据。")
    return 6


def figures(*tasks: tuple) -> tuple:
    """Six (target, done, percent) triples flattened; missing tasks empty."""
    cells: list = []
    for index in range(6):
        cells.extend(tasks[index] if index < len(tasks) else (None, None, None))
    return tuple(cells)


def summary_unit_row_only() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "汇总表"
    summary_sheet(
        ws,
        "桃城区残联 4 月份残疾人服务工程目标任务完成情况汇总表",
        [("桃城区", figures((179, 100, "55.9%"), (184, 90, 0.489)))],
        fill="填报单位：桃城区残联（盖章）",
    )
    ws["G6"].number_format = "0.0%"
    return save(wb)


def city_template(done: dict[str, tuple]) -> bytes:
    """The whole city template, targets prefilled for every unit, done filled where given."""
    wb = openpyxl.Workbook()
    ws = wb.active
    rows = []
    for unit, targets in TARGETS.items():
        filled = done.get(unit, ())
        cells = []
        for index, target in enumerate(targets):
            pair = filled[index] if index < len(filled) else (None, None)
            cells.append((target or None, *pair))
        rows.append((unit, figures(*cells)))
    rows.append(("市 级", figures((117, None, None))))
    summary_sheet(ws, "县残联 4 月份残疾人服务工程目标任务完成情况汇总表", rows)
    return save(wb)


def summary_whole_city_template() -> bytes:
    return city_template({"冀州区": ((70, "50%"), (92, "50%"), (60, "50%"), (25, "51.0%"))})


def summary_several_units_filled() -> bytes:
    return city_template(
        {"桃城区": ((90, "50.3%"),), "武邑县": ((120, "51.5%"), (60, "52.2%")), "深州市": ((130, "51.0%"),)}
    )


def percent_mismatch() -> bytes:
    wb = openpyxl.Workbook()
    summary_sheet(
        wb.active,
        "枣强县残联2020年4月残疾人服务工程目标任务完成情况汇总表",
        [("枣强县", figures((573, 300, "80%"), (115, 60, 0.522)))],
    )
    return save(wb)


def target_mismatch() -> bytes:
    wb = openpyxl.Workbook()
    summary_sheet(
        wb.active,
        "桃城区残联4月份残疾人服务工程目标任务完成情况汇总表",
        [("桃城区", figures((200, 100, "50%"), (184, 92, "50%")))],
    )
    return save(wb)


def package_wuyi_summary() -> bytes:
    wb = openpyxl.Workbook()
    summary_sheet(
        wb.active,
        "武邑县残联4月份残疾人服务工程目标任务完成情况汇总表",
        [("武邑县", figures((233, 5, "2.1%"), (115, 2, "1.7%"), (100, 0, "0%"), (38, 0, "0%")))],
    )
    return save(wb)


def formula_without_cached_value() -> bytes:
    wb = openpyxl.Workbook()
    summary_sheet(
        wb.active,
        "安平县残联4月份残疾人服务工程目标任务完成情况汇总表",
        [("安平县", figures((212, "=SUM(100,6)", "=C6/B6"), (115, 57, "=F6/E6")))],
    )
    return save(wb)


def summary_jing_xian_with_space() -> bytes:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("Sheet1")
    ws.write(0, 0, "附件2")
    ws.write_merge(1, 1, 0, 18, "景 县残联2020年5月份残疾人服务工程目标任务完成情况汇总表")
    ws.write(2, 0, "填报单位：景 县残联（盖章）")
    ws.write_merge(3, 4, 0, 0, "地区")
    for index, header in enumerate(TASK_HEADERS):
        ws.write_merge(3, 3, 1 + 3 * index, 3 + 3 * index, header)
        for offset, sub in enumerate(("目标数", "完成数", "百分比")):
            ws.write(4, 1 + 3 * index + offset, sub)
    values = [
        "233",
        " 120 ",
        "51.5%",
        "１１５",
        "60",
        "52.2%",
        "88",
        "44",
        "50%",
        "48",
        "24",
        "0.5",
        "32",
        "16",
        "50.0%",
    ]
    ws.write(5, 0, "景 县")
    for index, value in enumerate(values):
        ws.write(5, 1 + index, value)
    ws.write(6, 0, "备注：“帮助贫困残疾学生及贫困残疾人家庭子女上大学”自9月份起填报数据。")
    return xls_bytes(book)


def xls_bytes(book) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Registries (附件3–10)


def registry_sheet(
    ws,
    title: str,
    header: list[str],
    rows: list[list],
    fill: str | None = None,
    notes: tuple[str, ...] = (),
    col: int = 1,
) -> None:
    ws.cell(1, col, title)
    ws.merge_cells(start_row=1, start_column=col, end_row=1, end_column=col + len(header) - 1)
    ws.cell(2, col, fill or "填报单位：（盖章）")
    ws.cell(2, col + 3, "填表人：张丽")
    ws.cell(2, col + 5, "联系电话：0318-2662889")
    for index, label in enumerate(header):
        ws.cell(3, col + index, label)
    for number, row in enumerate(rows, 4):
        for index, value in enumerate(row):
            if value is not None:
                ws.cell(number, col + index, value)
    for offset, note in enumerate(notes):
        ws.cell(4 + len(rows) + offset, col, note)


def rehab_row(
    n: int,
    name: str,
    unit: str,
    born: str,
    order: int,
    phone="13832100001",
    service="康复训练",
    detail="运动疗法",
    number: str | None = None,
) -> list:
    return [
        n,
        name,
        number if number is not None else cert(unit, born, order),
        "肢体",
        "二级",
        phone,
        service,
        detail,
        "是",
        None,
    ]


def rehab_two_age_sheets() -> bytes:
    wb = openpyxl.Workbook()
    adults = wb.active
    adults.title = "7岁以上"
    registry_sheet(
        adults,
        "饶阳县残联4月份康复服务实名制登记表（7岁以上残疾儿童和成年残疾人）",
        REHAB_HEADER,
        [
            rehab_row(1, "王斐", "饶阳县", "19620315", 11),
            rehab_row(2, "刘秀英", "饶阳县", "19550607", 22, service="辅助器具", detail="轮椅适配"),
            rehab_row(3, "赵建国", "饶阳县", "19800101", 33, phone="0318-7221234"),
        ],
        fill="填报单位：饶阳县残联",
    )
    children = wb.create_sheet("0-6岁")
    registry_sheet(
        children,
        "饶阳县残联4月份康复服务实名制登记表（0-6岁残疾儿童）",
        REHAB_HEADER,
        [
            rehab_row(
                1,
                "李明轩",
                "饶阳县",
                "20170820",
                41,
                service="康复训练",
                detail="言语训练",
                number=id18("饶阳县", "20170820", 41),
            ),
            rehab_row(2, "张子涵", "饶阳县", "20160210", 52, service="康复训练", detail="孤独症训练"),
        ],
        fill="填报单位：饶阳县残联",
        notes=("填表说明", "1.服务项目填写要求：按照《河北省残疾人基本康复服务目录》"),
    )
    return save(wb)


def devices_merged_poor_header() -> bytes:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("附件4")
    ws.write_merge(0, 0, 0, 9, "深州市残联 4 月份辅助器具适配实名制登记表")
    ws.write(1, 0, "填报单位：深州市残联（盖章）")
    ws.write(1, 4, "填报人：王芳")
    ws.write(1, 7, "联系电话：15131826699")
    for index, label in enumerate(DEVICES_HEADER[:8]):  # the two 贫困残疾人 columns under one merged heading
        ws.write_merge(2, 3, index, index, label)
    ws.write_merge(2, 2, 8, 9, "贫困残疾人")
    ws.write(3, 8, "建档立卡贫困残疾人")
    ws.write(3, 9, "非建档立卡贫困残疾人")
    people = [
        (
            1,
            "孙倩",
            cert("深州市", "19700512", 17),
            "15132816636",
            "深州市前磨头镇",
            "轮椅",
            "2020-04-08",
            "是",
            "√",
            "",
        ),
        (
            2,
            "周强",
            cert("深州市", "19650909", 28, 1, 3),
            "13903181234",
            "深州市护驾迟镇",
            "假肢",
            "2020-04-12",
            "是",
            "",
            "√",
        ),
        (
            3,
            "吴兰",
            cert("深州市", "19881111", 39),
            "13731800001",
            "深州市唐奉镇",
            "助行器",
            "2020-04-15",
            "否",
            "√",
            "",
        ),
    ]
    for number, person in enumerate(people, 4):
        for index, value in enumerate(person):
            ws.write(number, index, value)
    ws.write(7, 0, "备注：1.适配基本型辅助器具类型请选填“轮椅、假肢、助行器、其他”")
    return xls_bytes(book)


def registry_empty_first_column() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    registry_sheet(
        ws,
        "武强县残联4月份农村实用技术培训实名制登记表",
        TRAINING_HEADER,
        [
            [
                1,
                "陈刚",
                cert("武强县", "19750301", 61),
                "肢体三级",
                "13603181111",
                "种植业",
                "武强县职教中心",
                "2020-04-10",
            ],
            [
                2,
                "杨梅",
                cert("武强县", "19820717", 72, 2, 4),
                "听力四级",
                "1381234567",
                "养殖业",
                "武强县职教中心",
                "2020-04-10",
            ],
            [
                3,
                "徐磊",
                cert("武强县", "19900225", 83),
                "肢体二级",
                "0318-2662889",
                "家庭手工业",
                "武强县残联",
                "2020-04-11",
            ],
        ],
        fill="填报单位：武强县残联",
        col=2,
    )
    return save(wb)


def registry_numbers_as_text() -> bytes:
    wb = openpyxl.Workbook()
    registry_sheet(
        wb.active,
        "武强县残联4月份残疾人家庭无障碍改造实名制登记表",
        BARRIER_HEADER,
        [
            ["1", "马玉兰", cert("武强县", "19580403", 14), "肢体一级", 13912345678, "卫生间改造", 3000, None],
            ["2", "郭振华", cert("武强县", "19610819", 25, 3, 2), "视力二级", 3182662889, "坡道", 2500.5, "已完工"],
        ],
        fill="填报单位：武强县残联",
    )
    return save(wb)


def registry_id_as_number() -> bytes:
    wb = openpyxl.Workbook()
    first = cert("景县", "19800101", 1)
    second = id18("景县", "20170505", 2)
    assert first[:-3].isdigit() and first[17].isdigit() and second.isdigit()
    registry_sheet(
        wb.active,
        "景县残联4月份康复服务实名制登记表",
        REHAB_HEADER,
        [
            rehab_row(1, "高峰", "景县", "19800101", 1, number=int(first)),
            rehab_row(2, "高乐乐", "景县", "20170505", 2, number=int(second)),
            rehab_row(3, "胡静", "景县", "19790909", 3),
        ],
        fill="填报单位：景县残联",
    )
    return save(wb)


def several_forms_one_workbook() -> bytes:
    wb = openpyxl.Workbook()
    summary = wb.active
    summary.title = "附件2"
    summary_sheet(
        summary,
        "故城县残联4月份残疾人服务工程目标任务完成情况汇总表",
        [("故城县", figures((382, 2, "0.5%"), (115, 0, "0%"), (103, 0, "0%"), (76, 1, "1.3%")))],
    )
    rehab = wb.create_sheet("附件3")
    registry_sheet(
        rehab,
        "故城县残联4月份康复服务实名制登记表",
        REHAB_HEADER,
        [rehab_row(1, "田野", "故城县", "19720202", 5), rehab_row(2, "田园", "故城县", "19740404", 6)],
    )
    care = wb.create_sheet("附件7")
    registry_sheet(
        care,
        "故城县残联4月份托养服务补贴实名制登记表",
        CARE_HEADER,
        [
            [
                1,
                "石磊",
                cert("故城县", "19690606", 7, 5, 1),
                "智力一级",
                "13613181234",
                "日间照料",
                "故城县托养中心",
                "2020年4月",
            ]
        ],
    )
    wb.create_sheet("Sheet4")
    return save(wb)


def hidden_sheet() -> bytes:
    wb = openpyxl.Workbook()
    current = wb.active
    current.title = "4月"
    registry_sheet(
        current,
        "桃城区残联4月份康复服务实名制登记表",
        REHAB_HEADER,
        [rehab_row(1, "韩梅", "桃城区", "19850505", 15), rehab_row(2, "韩雪", "桃城区", "19870707", 26)],
    )
    old = wb.create_sheet("3月")
    registry_sheet(
        old, "桃城区残联3月份康复服务实名制登记表", REHAB_HEADER, [rehab_row(1, "韩梅", "桃城区", "19850505", 15)]
    )
    old.sheet_state = "hidden"
    return save(wb)


def wps_file_et() -> bytes:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("托养")
    ws.write_merge(0, 0, 0, 7, "安平县残联4月份托养服务补贴实名制登记表")
    ws.write(1, 0, "填报单位：安平县残联（盖章）")
    for index, label in enumerate(CARE_HEADER):
        ws.write(2, index, label)
    people = [
        (
            1,
            "冯敏",
            cert("安平县", "19770808", 44, 5, 2),
            "智力二级",
            "13832199999",
            "寄宿制",
            "安平县托养中心",
            "2020年1-4月",
        ),
        (
            2,
            "冯涛",
            cert("安平县", "19790303", 55, 6, 1),
            "精神一级",
            "13832188888",
            "居家托养",
            "安平县残联",
            "2020年4月",
        ),
    ]
    for number, person in enumerate(people, 3):
        for index, value in enumerate(person):
            ws.write(number, index, value)
    ws.write(5, 0, "备注：享受托养服务类型请选填“寄宿制、日间照料、居家托养、其他”")
    return xls_bytes(book)


def training_form6_vocational() -> bytes:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("Sheet1")
    ws.write_merge(0, 0, 0, 7, "枣强县残联4月份职业技能培训实名制登记表")
    ws.write(1, 0, "填报单位：枣强县残联（盖章）")
    for index, label in enumerate(TRAINING_HEADER):
        ws.write(2, index, label)
    people = [
        (
            1,
            "蒋涛",
            cert("枣强县", "19930101", 71),
            "肢体三级",
            "15076181234",
            "电子商务",
            "枣强县职教中心",
            "2020-04-20",
        ),
        (
            2,
            "沈丽",
            cert("枣强县", "19950202", 82, 2, 3),
            "听力三级",
            "15076185678",
            "家政服务",
            "枣强县职教中心",
            "2020-04-20",
        ),
    ]
    for number, person in enumerate(people, 3):
        for index, value in enumerate(person):
            ws.write(number, index, value)
    return xls_bytes(book)


def package_wuyi_rehab() -> bytes:
    wb = openpyxl.Workbook()
    registry_sheet(
        wb.active,
        "武邑县残联4月份康复服务实名制登记表",
        REHAB_HEADER,
        [
            rehab_row(1, "曹操", "武邑县", "19600101", 1),
            rehab_row(2, "曹丕", "武邑县", "19620202", 2),
            rehab_row(3, "曹植", "武邑县", "19640303", 3),
            rehab_row(4, "曹冲", "武邑县", "19660404", 4),
            rehab_row(5, "曹操", "武邑县", "19600101", 1, service="辅助器具", detail="轮椅适配"),
        ],
        fill="填报单位：武邑县残联",
    )
    return save(wb)


def package_wuyi_devices() -> bytes:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("Sheet1")
    ws.write(0, 0, "武邑县残联4月份辅助器具适配实名制登记表")
    header = list(DEVICES_HEADER)
    for index, label in enumerate(header):
        ws.write(1, index, label)
    for number, (name, born, order) in enumerate((("曹操", "19600101", 1), ("许褚", "19580808", 9)), 2):
        for index, value in enumerate(
            (
                number - 1,
                name,
                cert("武邑县", born, order),
                "13700000000",
                "武邑县城关镇",
                "轮椅",
                "2020-04-02",
                "是",
                "√",
                "",
            )
        ):
            ws.write(number, index, value)
    return xls_bytes(book)


def new_microsoft_excel_sheet() -> bytes:
    wb = openpyxl.Workbook()
    header = list(DEVICES_HEADER)
    registry_sheet(
        wb.active,
        "阜城县残联4月份辅助器具适配实名制登记表",
        header,
        [
            [
                1,
                "蔡文",
                cert("阜城县", "19710101", 31),
                "13333180001",
                "阜城县古城镇",
                "轮椅",
                "2020-04-03",
                "是",
                None,
                "√",
            ],
        ],
        fill="填报单位：阜城县残联",
    )
    return save(wb)


def bad_ids_and_phones() -> bytes:
    wb = openpyxl.Workbook()
    good = cert("桃城区", "19800101", 1)
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1") + good[18:]
    lower_x = next(cert("桃城区", "19810101", n) for n in range(1, 200) if cert("桃城区", "19810101", n)[17] == "X")
    rows = [
        rehab_row(1, "甲一", "桃城区", "19800101", 1, phone="0318-2662889"),
        rehab_row(2, "甲二", "桃城区", "", 0, number=good[:19]),
        rehab_row(3, "甲三", "桃城区", "", 0, number=wrong_check),
        rehab_row(4, "甲四", "桃城区", "", 0, number=good[:18] + "82"),
        rehab_row(5, "甲五", "桃城区", "", 0, number=good[:18] + "45"),
        rehab_row(6, "甲六", "桃城区", "19800606", 6, phone="1381234567"),
        rehab_row(7, "甲七", "桃城区", "19800707", 7, phone="13812345678/2662889"),
        rehab_row(8, None, "桃城区", "19800808", 8),
        rehab_row(9, "甲九", "桃城区", "19800909", 9, service=None),
        rehab_row(10, "甲十", "桃城区", "", 0, number=""),
        rehab_row(11, "乙一", "桃城区", "", 0, number="13110219801301001X42"),
        rehab_row(12, "乙二", "桃城区", "19801212", 12, phone="0318-26628"),
        rehab_row(13, "乙三", "桃城区", "", 0, number=lower_x.lower()),
    ]
    registry_sheet(wb.active, "桃城区残联4月份康复服务实名制登记表", REHAB_HEADER, rows, fill="填报单位：桃城区残联")
    return save(wb)


def duplicate_person() -> bytes:
    wb = openpyxl.Workbook()
    header = list(DEVICES_HEADER)
    twice = cert("故城县", "19660606", 66)
    rows = [
        [1, "郑和", twice, "13831800066", "故城县郑口镇", "轮椅", "2020-04-01", "是", "√", None],
        [
            2,
            "郑成",
            cert("故城县", "19670707", 77),
            "13831800077",
            "故城县郑口镇",
            "轮椅",
            "2020-04-01",
            "是",
            None,
            "√",
        ],
        [3, "郑和", twice, "13831800066", "故城县郑口镇", "轮椅", "2020-04-09", "是", "√", None],
        [4, "郑和", twice, "13831800066", "故城县郑口镇", "助行器", "2020-04-09", "是", "√", None],
    ]
    registry_sheet(wb.active, "故城县残联4月份辅助器具适配实名制登记表", header, rows, fill="填报单位：故城县残联")
    return save(wb)


def college_students_form9() -> bytes:
    wb = openpyxl.Workbook()
    header = [
        "序\n号",
        "姓名",
        "性\n别",
        "民\n族",
        "出生年月",
        "残疾类别",
        "残疾人证号",
        "录取院校及专业",
        "家庭住址",
        "联系电话",
    ]
    registry_sheet(
        wb.active,
        "衡水市资助2020年考入高等院校贫困残疾学生汇总表",
        header,
        [
            [
                1,
                "魏来",
                "男",
                "汉",
                "2001.05",
                "肢体",
                cert("武邑县", "20010505", 91, 4, 3),
                "河北师范大学 汉语言文学",
                "武邑县审坡镇",
                "13833180091",
            ],
            [
                2,
                "魏然",
                "女",
                "回",
                "2002.03",
                "听力",
                cert("武邑县", "20020303", 92, 2, 4),
                "燕山大学 软件工程",
                "武邑县龙店镇",
                "13833180092",
            ],
        ],
        fill="填报单位：（残联盖章）武邑县残联        审批单位：（财政盖章）",
        notes=("备注：1.此表由县级残联填报；2.此表一式两份，由县级残联、市级残联存档备查；3.此表自9月份起填报。",),
    )
    return save(wb)


def college_children_form10() -> bytes:
    wb = openpyxl.Workbook()
    header = [
        "序\n号",
        "学生\n姓名",
        "性\n别",
        "民\n族",
        "出生年月",
        "身份证号",
        "录取院校及专业",
        "父（母）\n姓名",
        "残疾人证号",
        "家庭住址",
        "联系电话",
    ]
    good = id18("阜城县", "20020909", 101)
    bad = good[:17] + ("1" if good[17] != "1" else "2")
    registry_sheet(
        wb.active,
        "衡水市资助2020年考入高等院校贫困残疾人家庭子女汇总表",
        header,
        [
            [
                1,
                "袁梦",
                "女",
                "汉",
                "2002.09",
                good,
                "河北大学 会计学",
                "袁大山",
                cert("阜城县", "19700101", 102, 1, 2),
                "阜城县崔家庄乡",
                "13931800101",
            ],
            [
                2,
                "袁航",
                "男",
                "汉",
                "2002.11",
                bad,
                "河北工业大学 机械工程",
                "袁二河",
                cert("阜城县", "19720202", 103, 7, 1),
                "阜城县霞口镇",
                "13931800102",
            ],
        ],
        fill="填报单位：（残联盖章）阜城县残联        审批单位：（财政盖章）",
    )
    return save(wb)


def remarks_and_notes_rows() -> bytes:
    wb = openpyxl.Workbook()
    rows = [
        [1, "孔亮", cert("冀州区", "19780101", 11), "肢体三级", "13513180011", "种植业", "冀州区农广校", "2020-04-16"],
        [2, "孔明", cert("冀州区", "19790202", 22), "肢体二级", "13513180022", "养殖业", "冀州区农广校", "2020-04-16"],
        [3],
        [4],
        [5],
        [6],
        [7],
        [8],
        [9],
    ]
    registry_sheet(
        wb.active,
        "冀州区残联 4 月份培训实名制登记表",
        TRAINING_HEADER,
        rows,
        fill="填报单位：冀州区残联",
        notes=(
            "备注：培训类型请选填“种植业、养殖业、家庭手工业、互联网就业、其他”",
            "填表人：孔丽                联系电话：0318-8621234",
        ),
    )
    return save(wb)


def registry_title_chinese_month() -> bytes:
    wb = openpyxl.Workbook()
    registry_sheet(
        wb.active,
        "阜城县残联二〇二〇年十一月份托养服务补贴实名制登记表",
        CARE_HEADER,
        [
            [
                1,
                "秦岭",
                cert("阜城县", "19680808", 88, 5, 2),
                "智力二级",
                "13930180088",
                "日间照料",
                "阜城县托养中心",
                "2020年11月",
            ]
        ],
    )
    return save(wb)


def unknown_workbook() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["通讯录"])
    ws.append(["单位", "联系人", "电话"])
    ws.append(["桃城区残联", "张三", "0318-2662889"])
    return save(wb)


# ---------------------------------------------------------------------------------------------
# Containers, documents and hostile files


def progress_report_docx() -> bytes:
    return ob.docx(
        [
            "附件1",
            "桃城区残联4月份目标任务进展情况报告",
            "现将目标任务完成情况汇报如下：",
            "一、目标任务完成情况",
            "截至4月底，康复服务完成100人，占全年任务的55.9%。",
            "二、开展的主要工作",
            "三、存在问题及下月工作安排",
        ]
    )


def briefing_article_docx() -> bytes:
    return ob.docx(["枣强县贫困残疾人服务工程专项信息", "枣强县残联组织开展辅助器具适配进社区活动，工作进展顺利。"])


def progress_report_doc() -> bytes:
    return ob.word_binary("冀州区残联4月份目标任务进展情况报告\r现将目标任务完成情况汇报如下：")


def progress_report_wps() -> bytes:
    return ob.word_binary("景县残联4月份目标任务进展情况报告\r一、目标任务完成情况")


def package_gbk_names() -> bytes:
    summary = openpyxl.Workbook()
    summary_sheet(
        summary.active, "枣强县残联4月份残疾人服务工程目标任务完成情况汇总表", [("枣强县", figures((573, 2, "0.3%")))]
    )
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("Sheet1")
    ws.write(0, 0, "枣强县残联4月份康复服务实名制登记表")
    for index, label in enumerate(REHAB_HEADER):
        ws.write(1, index, label)
    for number, (name, born, order) in enumerate((("褚遂", "19700101", 1), ("褚良", "19710101", 2)), 2):
        for index, value in enumerate(rehab_row(number - 1, name, "枣强县", born, order)):
            if value is not None:
                ws.write(number, index, value)
    return ob.zip_bytes(
        {
            "四月报表/附件2.xlsx": save(summary),
            "四月报表/附件3.xls": xls_bytes(book),
            "四月报表/附件1进展情况报告.docx": ob.docx(["枣强县残联4月份目标任务进展情况报告", "一、目标任务完成情况"]),
            "四月报表/简报.pdf": b"%PDF-1.4\n% not a form\n%%EOF\n",
        },
        gbk_names=True,
    )


def encrypted_xls() -> bytes:
    """An xlwt workbook with a FILEPASS record (RC4, as Excel writes for an open password) after BOF."""
    import xlwt
    from xlwt import CompoundDoc

    book = xlwt.Workbook(encoding="utf-8")
    book.add_sheet("Sheet1").write(0, 0, "附件3")
    stream = book.get_biff_data()
    bof_length = 4 + int.from_bytes(stream[2:4], "little")
    filepass = (
        (0x002F).to_bytes(2, "little") + (54).to_bytes(2, "little") + b"\x01\x00" + b"\x01\x00\x01\x00" + b"\0" * 48
    )
    buffer = io.BytesIO()
    CompoundDoc.XlsDoc().save(buffer, stream[:bof_length] + filepass + stream[bof_length:])
    return buffer.getvalue()


def zip_bomb() -> bytes:
    return ob.zip_bytes({"附件3.xlsx": b"\0" * (20 << 20)}, level=9)


def zip_bomb_lying_sizes() -> bytes:
    return ob.lying_zip("report.xlsx", b"\0" * (20 << 20), claimed_size=1024)


def xlsx_bomb() -> bytes:
    rows = [["桃城区残联4月份康复服务实名制登记表"]]
    sheet = ob.sheet_xml(rows).replace(b"</sheetData>", b" " * (40 << 20) + b"</sheetData>")
    return ob.zip_bytes(ob.xlsx_parts(sheet), level=9)


def xxe_entity() -> bytes:
    laughs = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    ]
    shared = (
        '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE lolz [' + "".join(laughs) + "]>"
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        "<si><t>&lol9;</t></si></sst>"
    ).encode()
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData>'
        b"</worksheet>"
    )
    return ob.zip_bytes(ob.xlsx_parts(sheet, shared_strings=shared))


def xxe_external_entity() -> bytes:
    sheet = ob.sheet_xml([["&xxe;"]])
    prolog = '<!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return ob.zip_bytes(ob.xlsx_parts(sheet, workbook_prolog=prolog))


def sparse_far_cell() -> bytes:
    """Two cells, A1 and XFD1048576: calamine would allocate 17 billion cells for this 1 KB file."""
    rows = [["桃城区残联4月份康复服务实名制登记表"]]
    far = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    return ob.zip_bytes(ob.xlsx_parts(ob.sheet_xml(rows, extra=far)))


def rows_without_references() -> bytes:
    rows = [
        ["武邑县残联4月份残疾人家庭无障碍改造实名制登记表"],
        list(BARRIER_HEADER),
        [1, "贾宝", cert("武邑县", "19500505", 5, 1, 1), "肢体一级", "13700001111", "坡道", 2000, None],
        [2, "贾珍", cert("武邑县", "19520606", 6, 3, 2), "视力二级", "13700002222", "扶手", 800, None],
    ]
    return ob.zip_bytes(ob.xlsx_parts(ob.sheet_xml(rows, references=False)))


def zip_too_deep() -> bytes:
    inner = ob.zip_bytes({"附件3.xlsx": rehab_two_age_sheets()})
    middle = ob.zip_bytes({"inner.zip": inner})
    return ob.zip_bytes({"middle.zip": middle})


def encrypted_zip_member() -> bytes:
    return ob.flag_encrypted(ob.zip_bytes({"附件3.xlsx": b"PK\x03\x04 not really a workbook"}))


def html_disguised_xls() -> bytes:
    return (
        "<html><head><meta charset='utf-8'></head><body><table><tr><td>序号</td><td>姓名</td></tr>"
        "<tr><td>1</td><td>王斐</td></tr></table></body></html>"
    ).encode()


def truncated_xlsx() -> bytes:
    data = rehab_two_age_sheets()
    return data[: len(data) // 2]


SAMPLES = {
    "summary-unit-row-only.xlsx": summary_unit_row_only,
    "summary-whole-city-template.xlsx": summary_whole_city_template,
    "summary-several-units-filled.xlsx": summary_several_units_filled,
    "summary-jing-xian-with-space.xls": summary_jing_xian_with_space,
    "percent-mismatch.xlsx": percent_mismatch,
    "target-mismatch.xlsx": target_mismatch,
    "done-vs-registry-summary.xlsx": package_wuyi_summary,
    "done-vs-registry-rehab.xlsx": package_wuyi_rehab,
    "done-vs-registry-devices.xls": package_wuyi_devices,
    "formula-without-cached-value.xlsx": formula_without_cached_value,
    "rehab-registry-two-age-sheets.xlsx": rehab_two_age_sheets,
    "devices-registry-merged-poor-header.xls": devices_merged_poor_header,
    "registry-empty-first-column.xlsx": registry_empty_first_column,
    "registry-numbers-as-text.xlsx": registry_numbers_as_text,
    "registry-id-as-number.xlsx": registry_id_as_number,
    "registry-title-chinese-month.xlsx": registry_title_chinese_month,
    "remarks-and-notes-rows.xlsx": remarks_and_notes_rows,
    "several-forms-one-workbook.xlsx": several_forms_one_workbook,
    "hidden-sheet.xlsx": hidden_sheet,
    "wps-file.et": wps_file_et,
    "training-form6-vocational.xls": training_form6_vocational,
    "new-microsoft-excel-sheet.xlsx": new_microsoft_excel_sheet,
    "bad-ids-and-phones.xlsx": bad_ids_and_phones,
    "duplicate-person.xlsx": duplicate_person,
    "college-students-form9.xlsx": college_students_form9,
    "college-children-form10.xlsx": college_children_form10,
    "unknown-workbook.xlsx": unknown_workbook,
    "progress-report.docx": progress_report_docx,
    "briefing-article.docx": briefing_article_docx,
    "progress-report.doc": progress_report_doc,
    "progress-report.wps": progress_report_wps,
    "package-gbk-names.zip": package_gbk_names,
    "encrypted.xlsx": ob.encrypted_office,
    "encrypted.xls": encrypted_xls,
    "zip-bomb.zip": zip_bomb,
    "zip-bomb-lying-sizes.zip": zip_bomb_lying_sizes,
    "xlsx-bomb.xlsx": xlsx_bomb,
    "xxe-entity.xlsx": xxe_entity,
    "xxe-external-entity.xlsx": xxe_external_entity,
    "sparse-far-cell.xlsx": sparse_far_cell,
    "rows-without-references.xlsx": rows_without_references,
    "zip-too-deep.zip": zip_too_deep,
    "encrypted-zip-member.zip": encrypted_zip_member,
    "html-disguised.xls": html_disguised_xls,
    "truncated.xlsx": truncated_xlsx,
}


def main() -> None:
    for name, build in SAMPLES.items():
        data = build()
        (HERE / name).write_bytes(data)
        print(f"{len(data):>9,}  {name}")


if __name__ == "__main__":
    main()
