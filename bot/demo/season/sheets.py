"""The forms' worksheets as plain data: cells, merges and percent cells, as the city's templates lay them
out (附件2 the summary, 附件3–10 the registries); files.py writes them to .xlsx or .xls."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.demo.season.people import CATEGORIES, GRADES, SURNAMES, Person, person
from bot.demo.season.plans import YEAR, UnitInfo

FORM_TITLES = {
    1: "目标任务进展情况报告",
    2: "残疾人服务工程目标任务完成情况汇总表",
    3: "康复服务实名制登记表",
    4: "辅助器具适配实名制登记表",
    5: "农村实用技术培训实名制登记表",
    6: "职业技能培训实名制登记表",
    7: "托养服务补贴实名制登记表",
    8: "残疾人家庭无障碍改造实名制登记表",
    9: "衡水市资助2020年考入高等院校贫困残疾学生汇总表",
    10: "衡水市资助2020年考入高等院校贫困残疾人家庭子女汇总表",
}
SUMMARY_TASKS = (
    ("rehab", "康复服务（人）"),
    ("devices", "适配辅助器具（人）"),
    ("rural_training", "实用技术培训（人）"),
    ("day_care", "托养服务（人）"),
    ("barrier_free", "残疾人家庭无障碍改造（户）"),
    ("college", "帮助贫困残疾学生及贫困残疾人家庭子女上大学（名）"),
)
_TRAINEES = ("序号", "姓名", "残疾人证号", "残疾类别、等级", "联系电话", "培训类型", "培训机构", "培训时间")
REGISTRY_HEADERS: dict[int, tuple[str, ...]] = {
    3: (
        "序号",
        "姓 名",
        "残疾人证号",
        "残疾类别",
        "残疾等级",
        "联系电话",
        "服务项目",
        "服务细项（内容）",
        "是否建档立卡残疾人",
        "备 注",
    ),
    4: (
        "序号",
        "姓名",
        "残疾人证号",
        "联系电话",
        "家庭住址",
        "享受基本型辅助器具名称",
        "适配时间",
        "是否录入精准康复数据库",
        "贫困残疾人",
        "",
    ),
    5: _TRAINEES,
    6: _TRAINEES,
    7: (
        "序号",
        "姓名",
        "残疾人证号",
        "残疾类别、等级",
        "联系电话",
        "享受托养服务类型",
        "提供托养服务的机构",
        "提供托养服务的时间",
    ),
    8: ("序号", "姓名", "残疾人证号", "残疾类别、等级", "联系电话", "改造项目", "补贴金额", "备注"),
    9: ("序号", "姓名", "性别", "民族", "出生年月", "残疾类别", "残疾人证号", "录取院校及专业", "家庭住址", "联系电话"),
    10: (
        "序号",
        "学生姓名",
        "性别",
        "民族",
        "出生年月",
        "身份证号",
        "录取院校及专业",
        "父（母）姓名",
        "残疾人证号",
        "家庭住址",
        "联系电话",
    ),
}
REGISTRY_NOTES = {
    3: "填表说明：1.服务项目按照《河北省残疾人基本康复服务目录（2020年版）》"
    "选填“康复医疗、康复训练、辅助器具、支持性服务”；"
    "2.服务细项（内容）对应填写各服务项目中具体服务细项。",
    4: "备注：1.适配基本型辅助器具类型请选填“轮椅、假肢、助行器、其他”；"
    "2.若属于“建档立卡贫困残疾人”则在对应栏目下打“√”。",
    5: "备注：培训类型请选填“种植业、养殖业、家庭手工业、互联网就业、其他”",
    7: "备注：享受托养服务类型请选填“寄宿制、日间照料、居家托养、其他”",
    8: "备注：1.此表由县级残联汇总上报；2.此表一式两份，由县级残联、市级残联分别存档备查。",
    9: "备注：1.此表由县级残联填报；2.此表一式两份，由县级残联、市级残联存档备查；3.此表自9月份起填报。",
}
REGISTRY_NOTES[10] = REGISTRY_NOTES[9]
SERVICES = (
    ("康复训练", "运动功能训练"),
    ("康复医疗", "康复评估"),
    ("辅助器具", "辅具适配指导"),
    ("支持性服务", "社区康复服务"),
    ("康复训练", "认知能力训练"),
    ("康复医疗", "药物治疗"),
)
DEVICES = ("轮椅", "助行器", "假肢", "其他")
TRAININGS = ("种植业", "养殖业", "家庭手工业", "互联网就业")
CARE = ("寄宿制", "日间照料", "居家托养")
PROJECTS = ("卫生间改造", "坡道铺设", "扶手安装", "厨房改造", "门槛拆除")
COLLEGES = (
    "河北师范大学 汉语言文学",
    "河北医科大学 康复治疗学",
    "衡水学院 会计学",
    "河北农业大学 园艺",
    "燕山大学 计算机科学与技术",
    "石家庄铁道大学 土木工程",
)


@dataclass(frozen=True)
class Sheet:
    """A worksheet: rows of cell values, merged ranges (first row, last row, first column, last column,
    0-based) and the cells holding a fraction shown as a percentage."""

    name: str
    rows: list[list[object]]
    merges: list[tuple[int, int, int, int]]
    percents: frozenset[tuple[int, int]] = frozenset()


def organisation(unit: str) -> str:
    return f"{unit}社发局" if unit.endswith(("高新区", "新区")) else f"{unit}残联"


def summary_sheet(
    unit: UnitInfo, label: str, month: int, figures: Mapping[str, int], filled: datetime, percent_text: bool
) -> Sheet:
    """附件2: title, 填报单位 row, task names merged over 目标数/完成数/百分比, the unit's row, a note."""
    width = 1 + 3 * len(SUMMARY_TASKS)
    header: list[object] = ["地区"] + [cell for _, name in SUMMARY_TASKS for cell in (name, None, None)]
    merges = [(0, 0, 0, width - 1), (2, 3, 0, 0), (5, 5, 0, width - 1)]
    merges += [(2, 2, 1 + 3 * i, 3 + 3 * i) for i in range(len(SUMMARY_TASKS))]
    row: list[object] = [label]
    percents = set()
    for index, (task, _) in enumerate(SUMMARY_TASKS):
        target, done = unit.targets.get(task, 0), figures.get(task)
        share = None if done is None else "/" if target == 0 else done / target
        if isinstance(share, float) and percent_text:
            share = f"{share * 100:.2f}%"
        elif isinstance(share, float):
            percents.add((4, 3 + 3 * index))
        row += [target, done, share]
    rows: list[list[object]] = [
        [f"{organisation(unit.name)} {month} 月份{FORM_TITLES[2]}"] + [None] * (width - 1),
        [
            f"填报单位：{organisation(unit.name)}（盖章）",
            *[None] * (width - 5),
            f"{filled.year}年{filled.month}月{filled.day}日",
            None,
            None,
            None,
        ],
        header,
        [None] + ["目标数", "完成数", "百分比"] * len(SUMMARY_TASKS),
        row,
        ["备注：“帮助贫困残疾学生及贫困残疾人家庭子女上大学”自9月份起填报数据。"] + [None] * (width - 1),
    ]
    return Sheet("汇总表", rows, merges, frozenset(percents))


def person_row(form: int, number: int, who: Person, month: int, unit: str) -> list[object]:
    """One registry row for a person (附件10: the person is the parent; the student is derived)."""
    served = f"{YEAR}.{4 + who.pick % (month - 3)}.{1 + who.pick % 28}"
    grade = f"{CATEGORIES[who.category - 1]}{GRADES[who.grade - 1]}"
    base = [number + 1, who.name, who.disability_id]
    if form == 3:
        service, detail = SERVICES[who.pick % len(SERVICES)]
        return base + [
            CATEGORIES[who.category - 1],
            GRADES[who.grade - 1],
            who.phone,
            service,
            detail,
            "是" if who.pick % 3 else "否",
            "",
        ]
    if form == 4:
        poor = who.pick % 4 != 0
        return [
            number + 1,
            who.name,
            who.disability_id,
            who.phone,
            who.address,
            DEVICES[who.pick % 4],
            served,
            "是",
            "√" if poor else "",
            "" if poor else "√",
        ]
    if form in (5, 6):
        return base + [grade, who.phone, TRAININGS[who.pick % 4], f"{unit}残疾人职业培训中心", served]
    if form == 7:
        return base + [grade, who.phone, CARE[who.pick % 3], f"{unit}阳光家园", f"{YEAR}年{month}月"]
    if form == 8:
        return base + [grade, who.phone, PROJECTS[who.pick % 5], 2000 + 500 * (who.pick % 7), ""]
    if form == 9:
        return [
            number + 1,
            who.name,
            "男" if who.male else "女",
            "汉族",
            f"{who.born:%Y.%m}",
            CATEGORIES[who.category - 1],
            who.disability_id,
            COLLEGES[who.pick % 6],
            who.address,
            who.phone,
        ]
    student = person(who.pick, unit, 90, number, 2000, 3)
    return [
        number + 1,
        student.name,
        "男" if student.male else "女",
        "汉族",
        f"{student.born:%Y.%m}",
        student.id_number,
        COLLEGES[student.pick % 6],
        who.name,
        who.disability_id,
        who.address,
        who.phone,
    ]


def registry_sheet(unit: str, form: int, month: int, count: int, filled: datetime, seed: int) -> Sheet:
    """附件3–10: title, 填报单位/填表人/联系电话 row, one or two header rows, `count` persons, a note."""
    headers = REGISTRY_HEADERS[form]
    width = len(headers)
    title = FORM_TITLES[form] if form >= 9 else f"{organisation(unit)} {month} 月份{FORM_TITLES[form]}"
    filler = (
        (f"填报单位：{organisation(unit)}（残联盖章）", "审批单位：（财政盖章）")
        if form >= 9
        else (
            f"填报单位：{organisation(unit)}（盖章）",
            f"填表人：{random.Random(unit).choice(SURNAMES)}老师",
            f"联系电话：0318-{4000000 + sum(map(ord, unit)) * 97 % 999999:07d}",
        )
    )
    rows: list[list[object]] = [[title] + [None] * (width - 1), _spread(filler, width), list(headers)]
    merges = [(0, 0, 0, width - 1)]
    if form == 4:  # 贫困残疾人 over 建档立卡 / 非建档立卡, the other columns merged down
        rows[2][-1] = None
        rows.append([None] * 8 + ["建档立卡贫困残疾人", "非建档立卡贫困残疾人"])
        merges += [(2, 3, column, column) for column in range(8)] + [(2, 2, 8, 9)]
    for number in range(count):
        rows.append(person_row(form, number, person(seed, unit, form, number), month, unit))
    if form in REGISTRY_NOTES:
        merges.append((len(rows), len(rows), 0, width - 1))
        rows.append([REGISTRY_NOTES[form]] + [None] * (width - 1))
    return Sheet("Sheet1", rows, merges)


def _spread(texts: Sequence[str], width: int) -> list[object]:
    """Texts placed across a row of `width` cells, as the templates place 填报单位 … 联系电话."""
    row: list[object] = [None] * width
    step = max(1, width // len(texts))
    for index, text in enumerate(texts):
        row[min(index * step, width - 1)] = text
    return row
