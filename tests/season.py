"""A season of the 13 units' mail, April to December 2020, generated from a seed.

tests/test_season.py imports it and checks the standings against tests/season_expected.py (worked out by
hand from the design below); bench/season_import.py times its import.

Each month every unit sends its package (附件1 as .docx; 附件2–8, and 附件9–10 from September, as .xlsx,
.xls or zipped), spread over the departments by task category, and 4–12 briefing articles (.docx) to the
office; around them, replies, auto-replies, a bounce, spam and mail from unregistered addresses.
PLANS holds each unit's design (完成数 at the end of June, September and December, briefing counts, habits);
PACKAGE_FIGURES, SPECIAL_PACKAGES, CORRECTIONS and SPECIAL_BRIEFINGS hold every edge case with its reason.

Registries are cumulative, as the plan asks (所有表格…数据填报为累计数据): month M's registry lists everyone
served up to M, so its distinct persons always equal 附件2's 完成数 for the matching task (when a figure
goes down, the registry lists fewer people too). That costs ~46,000 person rows over the season; 完成数
sits just past each threshold the design needs to keep it there. A registry of only the month's new
persons would be ~7,000 rows, but every package after April would then fail the 完成数-vs-registry check.

Every byte is a function of the seed: zip member times are the file's date, Message-IDs and MIME
boundaries are derived from the message. .xls files need xlwt (a test dependency, not mailroom's).
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import io
import mailbox
import random
import tomllib
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from email.utils import formataddr
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import xlwt

from bot.demo import compose

ROOT = Path(__file__).resolve().parent.parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
YEAR = 2020
MONTHS = tuple(range(4, 13))
QUARTER_TASKS = ("rehab", "devices", "rural_training", "day_care", "barrier_free")
# Persons on each registry: the task's 完成数, 附件6's own count, 附件9's students, 附件10's children.
REGISTRY_COUNTS = {3: "rehab", 4: "devices", 5: "rural_training", 6: "vocational", 7: "day_care",
                   8: "barrier_free", 9: "students", 10: "children"}
DEPARTMENTS = {"jjb": ("教就部", "孙倩"), "kfb": ("康复部", "牛瑞轩"), "fwb": ("服务部", "王斐"),
               "bgs": ("办公室", "李京霖")}


@dataclass(frozen=True)
class GeneratedMail:
    """One message as it lies in one department mailbox; a Cc'd message lies in two."""

    mailbox_address: str
    raw: bytes
    arrival: datetime
    note: str
    files: tuple[str, ...] = ()  # names of the attached files (a .zip counts once)


@dataclass(frozen=True)
class UnitInfo:
    """What the config says of a unit: its registered address and the city's annual targets."""

    name: str
    sender: str
    targets: Mapping[str, int]


@dataclass(frozen=True)
class UnitPlan:
    """How a unit behaves all season; see tests/season_expected.py for what each plan scores."""

    name: str
    day: int  # the package usually goes out a few days before this day of the month (≤ 20)
    done: Mapping[str, tuple[int, int, int]]  # cumulative 完成数 at the end of June, September, December
    briefings: tuple[int, ...]  # articles that count, April to December
    vocational: tuple[int, int, int]  # persons on 附件6 (no task) at June, September, December
    college: tuple[int, int]  # students on 附件9 and children on 附件10 from September (one more in Dec)
    subject: str  # package subject; {m} the month, {dept} the department
    article: str  # briefing subject; {n} the article's number in the month, {cn} in Chinese
    workbook: str = "xlsx"  # or "xls", WPS's default
    names: str = "number"  # file names: "number" 附件3.xlsx, "title" …登记表.xlsx, "generic" 新建 …
    zipped: tuple[str, ...] = ()  # departments whose forms go in one .zip
    gbk_zip: bool = False  # zip member names in GBK without the UTF-8 flag, as Windows zips them
    one_mail: bool = False  # the whole package in one mail to 教就部, Cc 康复部
    percent_text: bool = False  # 百分比 typed as text ("51.35%") instead of a number


def _done(rehab, devices, rural, care, barrier) -> dict[str, tuple[int, int, int]]:
    return dict(zip(QUARTER_TASKS, (rehab, devices, rural, care, barrier)))


PLANS: tuple[UnitPlan, ...] = (
    UnitPlan("桃城区", 15, _done((95, 179, 186), (92, 184, 190), (2, 4, 5), (1, 2, 3), (1, 1, 2)),
             (8, 9, 10, 8, 8, 8, 9, 8, 5), (3, 5, 6), (1, 1),
             "桃城区{m}月份目标任务进展情况及实名制登记表（报{dept}）", "桃城贫困残疾人服务工程专项信息",
             names="title"),
    UnitPlan("冀州区", 12, _done((75, 140, 141), (95, 184, 184), (55, 120, 125), (25, 49, 49), (1, 2, 2)),
             (8, 8, 8, 8, 6, 8, 8, 5, 4), (4, 6, 8), (2, 1),
             "【冀州区】{m}月份残疾人服务工程报表（报{dept}）", "【冀州区】贫困残疾人服务工程专项信息（{cn}）",
             percent_text=True),
    UnitPlan("枣强县", 18, _done((287, 573, 580), (58, 115, 120), (34, 67, 70), (34, 67, 67), (75, 149, 149)),
             (9, 8, 7, 8, 8, 8, 8, 8, 6), (5, 9, 12), (1, 2),
             "枣强县{m}月份目标任务完成情况汇总表及登记表", "枣强县贫困残疾人服务工程专项信息"),
    UnitPlan("武邑县", 16, _done((120, 225, 250), (60, 115, 118), (50, 100, 100), (19, 38, 40), (1, 1, 1)),
             (8, 9, 8, 4, 5, 8, 4, 8, 4), (2, 4, 4), (1, 1),
             "武邑县{m}月份残疾人服务工程月报", "武邑县贫困残疾人服务工程专项信息", workbook="xls"),
    UnitPlan("深州市", 14, _done((130, 255, 256), (172, 330, 344), (52, 103, 103), (66, 131, 132), (38, 75, 76)),
             (8, 8, 8, 7, 8, 8, 8, 4, 6), (6, 10, 12), (2, 2),
             "深州市残联{m}月份目标任务进展情况-{dept}", "Fw: 深州市贫困残疾人服务工程专项信息"),
    UnitPlan("武强县", 19, _done((106, 200, 212), (58, 115, 116), (21, 41, 45), (17, 35, 36), (4, 8, 9)),
             (8, 8, 8, 8, 8, 8, 6, 8, 5), (2, 3, 3), (1, 1),
             "武强县{m}月份报表", "转发：武强县贫困残疾人服务工程专项信息", names="generic"),
    UnitPlan("饶阳县", 17, _done((150, 320, 480), (150, 299, 310), (31, 61, 65), (19, 38, 40), (2, 3, 4)),
             (8, 8, 5, 8, 8, 8, 8, 6, 4), (3, 6, 7), (1, 2),
             "饶阳县2020年{m}月份残疾人服务工程目标任务报表", "饶阳县贫困残疾人服务工程专项信息（{fw}）",
             workbook="xls", percent_text=True),
    UnitPlan("安平县", 10, _done((110, 212, 220), (60, 100, 115), (30, 59, 60), (15, 30, 31), (1, 1, 1)),
             (8, 8, 8, 7, 7, 4, 8, 8, 4), (2, 4, 5), (1, 1),
             "安平县{m}月份目标任务进展情况（{dept}）", "安平县贫困残疾人服务工程专项信息{n}"),
    UnitPlan("故城县", 13, _done((191, 382, 390), (58, 115, 120), (52, 103, 110), (38, 76, 80), (3, 6, 7)),
             (8, 8, 8, 8, 8, 8, 7, 8, 5), (3, 5, 6), (2, 1),
             "故城县{m}月份实名制登记表等报表", "故城县 贫困残疾人服务工程专项信息", workbook="xls",
             zipped=("kfb",)),
    UnitPlan("景县", 20, _done((100, 233, 233), (58, 115, 115), (44, 88, 90), (24, 48, 50), (16, 32, 33)),
             (6, 8, 8, 8, 8, 8, 8, 8, 5), (2, 4, 5), (1, 1),
             "景 县{m}月份残疾人服务工程进展情况报告及附件", "景 县贫困残疾人服务工程专项信息", one_mail=True),
    UnitPlan("阜城县", 19, _done((128, 255, 260), (150, 280, 299), (34, 67, 68), (20, 40, 41), (2, 3, 3)),
             (8, 8, 8, 8, 7, 8, 8, 8, 6), (3, 5, 5), (1, 2),
             "阜城县{m}月份目标任务报表（{dept}）", "阜城县贫困残疾人服务工程专项信息", zipped=("jjb",),
             gbk_zip=True, names="title"),
    UnitPlan("高新区", 11, _done((6, 11, 12), (1, 2, 2), (1, 1, 2), (1, 1, 1), (1, 1, 1)),
             (4, 5, 8, 4, 8, 4, 4, 8, 4), (1, 2, 2), (1, 1),
             "高新区{m}月份残疾人服务工程报表", "衡水高新区贫困残疾人服务工程专项信息"),
    UnitPlan("滨湖新区", 18, _done((5, 11, 11), (1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
             (4, 5, 6, 4, 7, 5, 4, 6, 4), (1, 1, 2), (1, 1),
             "滨湖新区{m}月份目标任务进展情况", "滨湖新区贫困残疾人服务工程专项信息（{n}）"),
)

# What a month's package says when it is not the plan's curve: figures later corrected, and one that goes
# down (an honesty finding, never a score change).
PACKAGE_FIGURES: dict[tuple[str, int], dict[str, int]] = {
    ("深州市", 6): {"devices": 160},  # under 50% (172); corrected on 06-30 23:59:59, see CORRECTIONS
    ("故城县", 9): {"day_care": 70},  # under 100% (76); corrected on 09-30 23:59:59
    ("阜城县", 7): {"rural_training": 60},
    ("阜城县", 8): {"rural_training": 56},  # 60 → 56: cumulative 完成数 went down
}


def curve(june: int, september: int, december: int) -> dict[int, int]:
    """Cumulative figures April–December through the three checkpoints, never going down."""
    april = max(1, june * 35 // 100)
    may = max(april, june * 70 // 100)
    third, quarter = (september - june) // 3, (december - september) // 3
    return {4: april, 5: may, 6: june, 7: june + third, 8: september - third, 9: september,
            10: september + quarter, 11: december - quarter, 12: december}


def month_figures(plan: UnitPlan, month: int, as_sent: bool = True) -> dict[str, int]:
    """What the unit's package for `month` reports: 完成数 per task and the persons on 附件6, 9 and 10;
    `as_sent` False gives the plan's curve without PACKAGE_FIGURES."""
    figures = {task: curve(*plan.done[task])[month] for task in QUARTER_TASKS}
    figures["vocational"] = curve(*plan.vocational)[month]
    if month >= 9:
        students, children = plan.college[0] + (month == 12), plan.college[1]
        figures |= {"students": students, "children": children, "college": students + children}
    return figures | (PACKAGE_FIGURES.get((plan.name, month), {}) if as_sent else {})


def load_units(path: Path = ROOT / "config.example.toml") -> tuple[dict[str, UnitInfo], dict[str, str]]:
    """The units (registered address, targets) and department mailbox addresses by key, from the config."""
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    units = {item["name"]: UnitInfo(item["name"], item["senders"][0], dict(item["targets"]))
             for item in data["unit"]}
    return units, {box["key"]: box["address"] for box in data["mailbox"]}


def at(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An instant of 2020 in Asia/Shanghai."""
    return datetime(YEAR, month, day, hour, minute, second, tzinfo=SHANGHAI)


# ---------------------------------------------------------------------------------------------
# People on the registries

REGIONS = {"桃城区": "131102", "冀州区": "131103", "枣强县": "131121", "武邑县": "131122", "深州市": "131182",
           "武强县": "131123", "饶阳县": "131124", "安平县": "131125", "故城县": "131126", "景县": "131127",
           "阜城县": "131128", "高新区": "131171", "滨湖新区": "131172"}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎潘杜戴夏田任姜范方石姚谭邹金陆郝孔白崔康毛邱秦史顾侯邵孟段雷钱尹常武乔贺龚"
GIVEN = ("建国", "秀英", "桂兰", "淑珍", "玉兰", "志强", "海燕", "春梅", "国华", "丽", "敏", "军", "伟", "芳",
         "秀兰", "振华", "金凤", "红霞", "立新", "小红", "德胜", "明", "俊杰", "文静", "爱民", "凤英", "永刚", "磊")
CATEGORIES = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
GRADES = ("一级", "二级", "三级", "四级")
TOWNS = ("城关镇", "大营镇", "王常乡", "恩察镇", "马屯镇", "新屯乡", "唐林乡", "加会镇", "留府乡", "西阳乡")
PHONE_PREFIXES = ("130", "131", "132", "133", "135", "138", "139", "150", "151", "152", "155", "157", "158",
                  "159", "177", "180", "183", "185", "187", "188", "189")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def check_digit(body: str) -> str:
    """The 18th character of a national ID (GB 11643) for its first 17 digits."""
    return "10X98765432"[sum(int(digit) * weight for digit, weight in zip(body, ID_WEIGHTS)) % 11]


@dataclass(frozen=True)
class Person:
    """One person on a registry: a well-formed ID, 残疾人证号 and mobile number."""

    name: str
    id_number: str
    category: int  # 1–7
    grade: int  # 1–4
    phone: str
    address: str
    born: date
    pick: int  # a stable number choosing the person's service, device, training, …

    @property
    def disability_id(self) -> str:
        return f"{self.id_number}{self.category}{self.grade}"

    @property
    def male(self) -> bool:
        return int(self.id_number[16]) % 2 == 1


@functools.lru_cache(maxsize=None)
def person(seed: int, unit: str, form: int, number: int, born_from: int = 1950, years: int = 55) -> Person:
    """The number-th person on a unit's registry; the same on every month's registry. The sequence part
    of the ID is `number`, so a registry lists each person once."""
    if number >= 1000:
        raise ValueError("a registry of the season lists fewer than 1,000 persons")
    rng = random.Random(f"{seed}:{unit}:{form}:{number}")
    born = date(born_from, 1, 1) + timedelta(days=rng.randrange(365 * years))
    body = f"{REGIONS[unit]}{born:%Y%m%d}{number:03d}"
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    if (unit, form, number) == ("桃城区", 3, 0):
        name = "王斐"  # a two-character name, as auditors search for one (SPEC)
    phone = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10 ** 8):08d}"
    address = f"{unit}{rng.choice(TOWNS)}{rng.choice(SURNAMES)}家庄村"
    return Person(name, body + check_digit(body), rng.randint(1, 7), rng.randint(1, 4), phone, address, born,
                  rng.randrange(10 ** 6))


# ---------------------------------------------------------------------------------------------
# Sheets: cells, merges and percent cells, written alike to .xlsx (openpyxl) and .xls (xlwt)

FORM_TITLES = {1: "目标任务进展情况报告", 2: "残疾人服务工程目标任务完成情况汇总表", 3: "康复服务实名制登记表",
               4: "辅助器具适配实名制登记表", 5: "农村实用技术培训实名制登记表", 6: "职业技能培训实名制登记表",
               7: "托养服务补贴实名制登记表", 8: "残疾人家庭无障碍改造实名制登记表",
               9: "衡水市资助2020年考入高等院校贫困残疾学生汇总表",
               10: "衡水市资助2020年考入高等院校贫困残疾人家庭子女汇总表"}
SUMMARY_TASKS = (("rehab", "康复服务（人）"), ("devices", "适配辅助器具（人）"), ("rural_training", "实用技术培训（人）"),
                 ("day_care", "托养服务（人）"), ("barrier_free", "残疾人家庭无障碍改造（户）"),
                 ("college", "帮助贫困残疾学生及贫困残疾人家庭子女上大学（名）"))
_TRAINEES = ("序号", "姓名", "残疾人证号", "残疾类别、等级", "联系电话", "培训类型", "培训机构", "培训时间")
REGISTRY_HEADERS: dict[int, tuple[str, ...]] = {
    3: ("序号", "姓 名", "残疾人证号", "残疾类别", "残疾等级", "联系电话", "服务项目", "服务细项（内容）",
        "是否建档立卡残疾人", "备 注"),
    4: ("序号", "姓名", "残疾人证号", "联系电话", "家庭住址", "享受基本型辅助器具名称", "适配时间",
        "是否录入精准康复数据库", "贫困残疾人", ""),
    5: _TRAINEES, 6: _TRAINEES,
    7: ("序号", "姓名", "残疾人证号", "残疾类别、等级", "联系电话", "享受托养服务类型", "提供托养服务的机构",
        "提供托养服务的时间"),
    8: ("序号", "姓名", "残疾人证号", "残疾类别、等级", "联系电话", "改造项目", "补贴金额", "备注"),
    9: ("序号", "姓名", "性别", "民族", "出生年月", "残疾类别", "残疾人证号", "录取院校及专业", "家庭住址", "联系电话"),
    10: ("序号", "学生姓名", "性别", "民族", "出生年月", "身份证号", "录取院校及专业", "父（母）姓名", "残疾人证号",
         "家庭住址", "联系电话"),
}
REGISTRY_NOTES = {
    3: "填表说明：1.服务项目按照《河北省残疾人基本康复服务目录（2020年版）》选填“康复医疗、康复训练、辅助器具、支持性服务”；"
       "2.服务细项（内容）对应填写各服务项目中具体服务细项。",
    4: "备注：1.适配基本型辅助器具类型请选填“轮椅、假肢、助行器、其他”；2.若属于“建档立卡贫困残疾人”则在对应栏目下打“√”。",
    5: "备注：培训类型请选填“种植业、养殖业、家庭手工业、互联网就业、其他”",
    7: "备注：享受托养服务类型请选填“寄宿制、日间照料、居家托养、其他”",
    8: "备注：1.此表由县级残联汇总上报；2.此表一式两份，由县级残联、市级残联分别存档备查。",
    9: "备注：1.此表由县级残联填报；2.此表一式两份，由县级残联、市级残联存档备查；3.此表自9月份起填报。",
}
REGISTRY_NOTES[10] = REGISTRY_NOTES[9]
SERVICES = (("康复训练", "运动功能训练"), ("康复医疗", "康复评估"), ("辅助器具", "辅具适配指导"),
            ("支持性服务", "社区康复服务"), ("康复训练", "认知能力训练"), ("康复医疗", "药物治疗"))
DEVICES = ("轮椅", "助行器", "假肢", "其他")
TRAININGS = ("种植业", "养殖业", "家庭手工业", "互联网就业")
CARE = ("寄宿制", "日间照料", "居家托养")
PROJECTS = ("卫生间改造", "坡道铺设", "扶手安装", "厨房改造", "门槛拆除")
COLLEGES = ("河北师范大学 汉语言文学", "河北医科大学 康复治疗学", "衡水学院 会计学", "河北农业大学 园艺",
            "燕山大学 计算机科学与技术", "石家庄铁道大学 土木工程")


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


def summary_sheet(unit: UnitInfo, label: str, month: int, figures: Mapping[str, int], filled: datetime,
                  percent_text: bool) -> Sheet:
    """附件2: title, 填报单位 row, task names merged over 目标数/完成数/百分比, the unit's row, a note."""
    width = 1 + 3 * len(SUMMARY_TASKS)
    header = ["地区"] + [cell for _, name in SUMMARY_TASKS for cell in (name, None, None)]
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
    rows = [[f"{organisation(unit.name)} {month} 月份{FORM_TITLES[2]}"] + [None] * (width - 1),
            [f"填报单位：{organisation(unit.name)}（盖章）"] + [None] * (width - 5)
            + [f"{filled.year}年{filled.month}月{filled.day}日", None, None, None],
            header, [None] + ["目标数", "完成数", "百分比"] * len(SUMMARY_TASKS), row,
            ["备注：“帮助贫困残疾学生及贫困残疾人家庭子女上大学”自9月份起填报数据。"] + [None] * (width - 1)]
    return Sheet("汇总表", rows, merges, frozenset(percents))


def person_row(form: int, number: int, who: Person, month: int, unit: str) -> list[object]:
    """One registry row for a person (附件10: the person is the parent; the student is derived)."""
    served = f"{YEAR}.{4 + who.pick % (month - 3)}.{1 + who.pick % 28}"
    grade = f"{CATEGORIES[who.category - 1]}{GRADES[who.grade - 1]}"
    base = [number + 1, who.name, who.disability_id]
    if form == 3:
        service, detail = SERVICES[who.pick % len(SERVICES)]
        return base + [CATEGORIES[who.category - 1], GRADES[who.grade - 1], who.phone, service, detail,
                       "是" if who.pick % 3 else "否", ""]
    if form == 4:
        poor = who.pick % 4 != 0
        return [number + 1, who.name, who.disability_id, who.phone, who.address, DEVICES[who.pick % 4], served,
                "是", "√" if poor else "", "" if poor else "√"]
    if form in (5, 6):
        return base + [grade, who.phone, TRAININGS[who.pick % 4], f"{unit}残疾人职业培训中心", served]
    if form == 7:
        return base + [grade, who.phone, CARE[who.pick % 3], f"{unit}阳光家园", f"{YEAR}年{month}月"]
    if form == 8:
        return base + [grade, who.phone, PROJECTS[who.pick % 5], 2000 + 500 * (who.pick % 7), ""]
    if form == 9:
        return [number + 1, who.name, "男" if who.male else "女", "汉族", f"{who.born:%Y.%m}",
                CATEGORIES[who.category - 1], who.disability_id, COLLEGES[who.pick % 6], who.address, who.phone]
    student = person(who.pick, unit, 90, number, 2000, 3)
    return [number + 1, student.name, "男" if student.male else "女", "汉族", f"{student.born:%Y.%m}",
            student.id_number, COLLEGES[student.pick % 6], who.name, who.disability_id, who.address, who.phone]


def registry_sheet(unit: str, form: int, month: int, count: int, filled: datetime, seed: int) -> Sheet:
    """附件3–10: title, 填报单位/填表人/联系电话 row, one or two header rows, `count` persons, a note."""
    headers = REGISTRY_HEADERS[form]
    width = len(headers)
    title = FORM_TITLES[form] if form >= 9 else f"{organisation(unit)} {month} 月份{FORM_TITLES[form]}"
    filler = (f"填报单位：{organisation(unit)}（残联盖章）", "审批单位：（财政盖章）") if form >= 9 else \
        (f"填报单位：{organisation(unit)}（盖章）", f"填表人：{random.Random(unit).choice(SURNAMES)}老师",
         f"联系电话：0318-{4000000 + sum(map(ord, unit)) * 97 % 999999:07d}")
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


# ---------------------------------------------------------------------------------------------
# File formats. Every file is byte-for-byte the same on each run: zip times are the file's own date.

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
    f'</Types>',
    "_rels/.rels": f'<Relationships xmlns="{_PACKAGE}/relationships">'
    f'<Relationship Id="rId1" Type="{_OFFICE}/officeDocument" Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{_PACKAGE}/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_OFFICE}/extended-properties" Target="docProps/app.xml"/></Relationships>',
    "docProps/app.xml": '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    '<Application>WPS 表格</Application></Properties>',
    "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{_PACKAGE}/relationships">'
    f'<Relationship Id="rId1" Type="{_OFFICE}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_OFFICE}/styles" Target="styles.xml"/>'
    f'<Relationship Id="rId3" Type="{_OFFICE}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    # Style 0 plain, 1 a percentage (built-in format 10, 0.00%), 2 the bold centred title.
    "xl/styles.xml": f'<styleSheet xmlns="{_MAIN}"><fonts count="2"><font><sz val="11"/><name val="宋体"/></font>'
    '<font><b/><sz val="14"/><name val="宋体"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/>'
    '</fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/>'
    '<bottom/><diagonal/></border></borders><cellStyleXfs count="1">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment horizontal="center"/></xf></cellXfs><cellStyles count="1"><cellStyle name="常规" xfId="0" '
    'builtinId="0"/></cellStyles></styleSheet>',
}
_WIDTHS = (6, 10, 24, 10, 14, 16, 14, 14, 12, 12, 12)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


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
    merges = "".join(f'<mergeCell ref="{column_letter(c1)}{r1 + 1}:{column_letter(c2)}{r2 + 1}"/>'
                     for r1, r2, c1, c2 in sheet.merges)
    columns = "".join(f'<col min="{n + 1}" max="{n + 1}" width="{w}" customWidth="1"/>'
                      for n, w in enumerate(_WIDTHS[:width]))
    worksheet = (f'<worksheet xmlns="{_MAIN}" xmlns:r="{_OFFICE}"><dimension ref="A1:{column_letter(width - 1)}'
                 f'{len(sheet.rows)}"/><cols>{columns}</cols><sheetData>{"".join(rows)}</sheetData>'
                 f'<mergeCells count="{len(sheet.merges)}">{merges}</mergeCells></worksheet>')
    shared = "".join(f'<si><t xml:space="preserve">{escape(text)}</t></si>' for text in strings)
    stamp = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    parts = {**_XLSX_PARTS,
             "docProps/core.xml": '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
             'metadata/core-properties" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/'
             f'2001/XMLSchema-instance"><dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
             f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>',
             "xl/workbook.xml": f'<workbook xmlns="{_MAIN}" xmlns:r="{_OFFICE}"><sheets><sheet name='
             f'"{escape(sheet.name)}" sheetId="1" r:id="rId1"/></sheets></workbook>',
             "xl/worksheets/sheet1.xml": worksheet,
             "xl/sharedStrings.xml": f'<sst xmlns="{_MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
             f'{shared}</sst>'}
    return zip_bytes([(name, (_XML + xml).encode("utf-8")) for name, xml in parts.items()], when)


_XLS_PERCENT = xlwt.easyxf(num_format_str="0.00%")
_XLS_PLAIN = xlwt.easyxf("")


def xls_bytes(sheet: Sheet) -> bytes:
    """A real BIFF8 .xls, as WPS saves by default."""
    book = xlwt.Workbook(encoding="utf-8")
    page = book.add_sheet(sheet.name, cell_overwrite_ok=True)
    covered = {(row, column) for r1, r2, c1, c2 in sheet.merges
               for row in range(r1, r2 + 1) for column in range(c1, c2 + 1)}
    for r1, r2, c1, c2 in sheet.merges:
        value = sheet.rows[r1][c1]
        page.write_merge(r1, r2, c1, c2, "" if value is None else value, _XLS_PLAIN)
    for row, values in enumerate(sheet.rows):
        for column, value in enumerate(values):
            if value is not None and (row, column) not in covered:
                style = _XLS_PERCENT if (row, column) in sheet.percents else _XLS_PLAIN
                page.write(row, column, value, style)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                  '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                  '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                  '<Default Extension="xml" ContentType="application/xml"/>'
                  '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                  'officedocument.wordprocessingml.document.main+xml"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
         'officeDocument" Target="word/document.xml"/></Relationships>')
_DOCUMENT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
             '<w:body>{body}<w:sectPr/></w:body></w:document>')


def docx_bytes(paragraphs: Sequence[str], when: datetime) -> bytes:
    """A minimal real .docx: content types, the package relationship and word/document.xml."""
    body = "".join(f'<w:p><w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>' for text in paragraphs)
    return zip_bytes([("[Content_Types].xml", _CONTENT_TYPES.encode()), ("_rels/.rels", _RELS.encode()),
                      ("word/document.xml", _DOCUMENT.format(body=body).encode())], when)


def report_docx(unit: UnitInfo, month: int, figures: Mapping[str, int], when: datetime) -> bytes:
    """附件1 in the template's words (seed 000): the report title, three sections, cumulative figures."""
    done = "；".join(f"{name[:-3]}完成 {figures[task]}{name[-2]}，占全年任务 "
                    f"{figures[task] / unit.targets[task]:.1%}" if unit.targets.get(task) else
                    f"{name[:-3]}完成 {figures[task]}{name[-2]}"
                    for task, name in SUMMARY_TASKS if task in figures)
    return docx_bytes([f"{organisation(unit.name)} {month} 月份{FORM_TITLES[1]}", "现将目标任务完成情况汇报如下：",
                       "一、目标任务完成情况", f"截至{month}月底，{done}。", "二、开展的主要工作",
                       SENTENCES[month % len(SENTENCES)].format(unit=unit.name, town=TOWNS[month % 10]),
                       SENTENCES[(month + 3) % len(SENTENCES)].format(unit=unit.name, town=TOWNS[month % 7]),
                       "三、存在问题及下月工作安排", "部分乡镇入户核查进度偏慢，下月将加强督导，按时报送各项数据。"], when)


SENTENCES = ("今年以来，{unit}残联把贫困残疾人服务工程作为民心工程的重中之重，逐村逐户摸清需求。",
             "{town}组织专职委员入户走访贫困残疾人家庭，核实康复、辅具和托养需求。",
             "县残联联合卫健部门开展家庭医生签约服务，为重度残疾人上门评估。",
             "举办农村实用技术培训班，邀请农技专家讲授大棚蔬菜种植和肉羊养殖技术。",
             "为重度残疾人免费发放轮椅、助行器、坐便椅等基本型辅助器具。",
             "对贫困重度残疾人家庭实施卫生间改造、坡道铺设和扶手安装。",
             "托养服务机构为智力、精神和重度肢体残疾人提供日间照料。",
             "残疾儿童康复救助政策宣传进社区、进学校，家长知晓率明显提高。",
             "{unit}残联主要负责同志带队督导，现场解决群众反映的具体问题。",
             "下一步，{unit}残联将继续压实责任，确保各项工作按时保质完成。")
ARTICLE_TITLES = ("{unit}为{n}名贫困残疾人免费适配辅助器具", "{unit}{town}康复服务进村入户",
                  "{unit}举办第{k}期残疾人农村实用技术培训班", "{unit}推进贫困重度残疾人家庭无障碍改造",
                  "{unit}残联走访慰问贫困残疾人家庭", "{unit}开展残疾儿童康复救助政策宣传",
                  "{unit}托养服务让{n}户残疾人家庭减轻负担", "{unit}召开贫困残疾人服务工程推进会")


def article_docx(unit: str, month: int, number: int, when: datetime, seed: int) -> tuple[str, bytes]:
    """A briefing article: (file name, .docx). Each (unit, month, number) reads differently."""
    rng = random.Random(f"{seed}:{unit}:{month}:article:{number}")
    town = rng.choice(TOWNS)
    title = rng.choice(ARTICLE_TITLES).format(unit=unit, town=town, n=rng.randint(8, 60), k=number + 1)
    lines = [SENTENCES[index].format(unit=unit, town=town) for index in rng.sample(range(len(SENTENCES)), 4)]
    paragraphs = [title, *lines, f"（{unit}残联 {YEAR}年{when.month}月{when.day}日 供稿 第{month:02d}{number:02d}号）"]
    return f"{title}.docx", docx_bytes(paragraphs, when)


def form_file(plan: UnitPlan, unit: UnitInfo, month: int, form: int, figures: Mapping[str, int],
              when: datetime, seed: int, workbook: str) -> tuple[str, bytes]:
    """One form of the package as (extension, bytes); `workbook` is xlsx, xls or et (.xls bytes)."""
    if form == 1:
        return "docx", report_docx(unit, month, figures, when)
    if form == 2:
        label = "景 县" if unit.name == "景县" else unit.name  # the seed's own spelling
        sheet = summary_sheet(unit, label, month, figures, when, plan.percent_text)
    else:
        sheet = registry_sheet(unit.name, form, month, figures[REGISTRY_COUNTS[form]], when, seed)
    return workbook, xlsx_bytes(sheet, when) if workbook == "xlsx" else xls_bytes(sheet)

# ---------------------------------------------------------------------------------------------
# Messages: the monthly packages, the briefings and the noise around them


@dataclass(frozen=True)
class Spec:
    """One message to render."""

    sender: str
    to: str
    subject: str
    arrival: datetime  # the receiving server's time (the Received header)
    note: str
    files: tuple[tuple[str, bytes], ...] = ()
    sent: datetime | None = None  # the Date header; default a minute before arrival
    body: str | None = None
    cc: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Dispatch:
    """One mail of a unit's package: the forms it carries to one department, and when it arrives."""

    dept: str
    forms: tuple[int, ...]
    arrival: datetime
    note: str = ""
    sent: datetime | None = None
    sender: str | None = None  # an address other than the unit's registered one
    subject: str | None = None
    figures: Mapping[str, int] | None = None  # a correction: these over the plan's curve
    workbook: str | None = None  # "et": saved in WPS's own format


def department_forms(month: int) -> dict[str, tuple[int, ...]]:
    """By task category (plan §三): 教就部 the report, summary, training and college forms; 康复部
    rehabilitation and devices; 服务部 day care and accessibility."""
    return {"jjb": (1, 2, 5, 6) + ((9, 10) if month >= 9 else ()), "kfb": (3, 4), "fwb": (7, 8)}


def standard_dispatches(plan: UnitPlan, month: int, seed: int) -> list[Dispatch]:
    """The package as the unit usually sends it: one mail a department, the same day, before the 20th."""
    rng = random.Random(f"{seed}:{plan.name}:{month}:package")
    day = plan.day - rng.randint(0, 3)
    forms = department_forms(month)
    if plan.one_mail:
        every = tuple(sorted(form for group in forms.values() for form in group))
        return [Dispatch("jjb", every, at(month, day, rng.randint(8, 17), rng.randint(0, 59)))]
    return [Dispatch(dept, group, at(month, day, rng.randint(8, 17), rng.randint(0, 59), rng.randint(0, 59)))
            for dept, group in forms.items()]


def _moved(dispatches: list[Dispatch], dept: str | None, note: str, **changes) -> list[Dispatch]:
    """The dispatches with those to `dept` (every one when None) changed."""
    return [replace(item, note=note, **changes) if dept in (None, item.dept) else item for item in dispatches]


def _wuqiang_may(dispatches: list[Dispatch]) -> list[Dispatch]:
    return _moved(dispatches, "kfb", "arrives 05-21 00:00:30 +08:00 (still the 20th in UTC; Date header "
                  "23:59:30): late", arrival=at(5, 21, 0, 0, 30))


def _fucheng_june(dispatches: list[Dispatch]) -> list[Dispatch]:
    return _moved(dispatches, "jjb", "arrives 06-20 23:59:59: on time", arrival=at(6, 20, 23, 59, 59))


def _jingxian_june(dispatches: list[Dispatch]) -> list[Dispatch]:
    return _moved(dispatches, None, "the whole package arrives 06-23: late", arrival=at(6, 23, 10, 12))


def _jingxian_september(dispatches: list[Dispatch]) -> list[Dispatch]:
    return _moved(dispatches, None, "arrives 09-20 23:59:59: on time", arrival=at(9, 20, 23, 59, 59))


def _wuyi_may(dispatches: list[Dispatch]) -> list[Dispatch]:
    return [replace(item, arrival=at(6, 3, 9, 30 + 11 * index), note="May's package (5月份 in the subject) "
                    "arrives in June: late for May") for index, item in enumerate(dispatches)]


def _taocheng_august(dispatches: list[Dispatch]) -> list[Dispatch]:
    return _moved(dispatches, "jjb", "Date header 08-20 18:00 but the server received it 08-21 09:15: late",
                  arrival=at(8, 21, 9, 15), sent=at(8, 20, 18, 0))


def _gaoxin_april(dispatches: list[Dispatch]) -> list[Dispatch]:
    return [replace(item, arrival=at(4, 19, 10 + index), sent=at(4, 22, 10 + index), note="the sender's clock is "
                    "three days fast (Date 04-22); the server received it 04-19: on time")
            for index, item in enumerate(dispatches)]


def _gaoxin_september(dispatches: list[Dispatch]) -> list[Dispatch]:
    first = [replace(item, forms=(1, 2, 5, 6), note="附件9–10 left out") if item.dept == "jjb" else item
             for item in dispatches]
    return first + [Dispatch("jjb", (9, 10), at(9, 25, 15, 5), "附件9–10 (required from September) arrive "
                             "09-25: late")]


def _binhu_april(dispatches: list[Dispatch]) -> list[Dispatch]:
    personal = formataddr(("滨湖新区社发局", "2851736642@qq.com"))
    early = [replace(item, arrival=at(4, 18, 9 + index), sender=personal, note="from an unregistered personal "
                     "address on 04-18: never counted") for index, item in enumerate(dispatches)]
    again = [replace(item, arrival=at(4, 24, 9 + index), note="again from the registered address on 04-24: late")
             for index, item in enumerate(dispatches)]
    return early + again


def _anping_july(dispatches: list[Dispatch]) -> list[Dispatch]:
    return [replace(item, forms=(1, 2, 5), note="附件6 never sent: July missing") if item.dept == "jjb" else item
            for item in dispatches]


def _zaoqiang_july(dispatches: list[Dispatch]) -> list[Dispatch]:
    return dispatches + [Dispatch("jjb", (1, 2, 3, 4, 5, 6, 7, 8), at(7, 28, 16, 20),
                                  "a corrected resend after the deadline: July stays on time",
                                  subject="枣强县7月份目标任务进展情况及登记表（更正后重报）")]


def _raoyang_october(dispatches: list[Dispatch]) -> list[Dispatch]:
    return _moved(dispatches, "fwb", "附件7–8 saved as WPS .et", workbook="et")


SPECIAL_PACKAGES: dict[tuple[str, int], Callable[[list[Dispatch]], list[Dispatch]]] = {
    ("武强县", 5): _wuqiang_may, ("阜城县", 6): _fucheng_june, ("景县", 6): _jingxian_june,
    ("景县", 9): _jingxian_september, ("武邑县", 5): _wuyi_may, ("桃城区", 8): _taocheng_august,
    ("高新区", 4): _gaoxin_april, ("高新区", 9): _gaoxin_september, ("滨湖新区", 4): _binhu_april,
    ("滨湖新区", 8): lambda dispatches: [],  # no August package at all
    ("安平县", 7): _anping_july, ("枣强县", 7): _zaoqiang_july, ("饶阳县", 10): _raoyang_october,
}

# 附件2 sent again with new figures (and the registry that backs them), around the quarter's last instant.
CORRECTIONS: dict[tuple[str, int], Dispatch] = {
    ("深州市", 6): Dispatch("jjb", (2, 4), at(6, 30, 23, 59, 59), "devices 160 → 172 (50%) at the last second of "
                            "June: counts for Q2", figures={}),
    ("冀州区", 6): Dispatch("jjb", (2, 5), at(7, 1, 0, 0, 1), "rural training 55 → 60 (50%) one second into July: "
                            "too late for Q2", figures={"rural_training": 60}),
    ("故城县", 9): Dispatch("jjb", (2, 7), at(9, 30, 23, 59, 59), "day care 70 → 76 (100%) at the last second of "
                            "September: counts for Q3", figures={}),
    ("武邑县", 9): Dispatch("jjb", (2, 3), at(10, 1, 0, 0, 1), "rehabilitation 225 → 233 (100%) one second into "
                            "October: too late for Q3", figures={"rehab": 233}),
}

FILE_TITLES = {**FORM_TITLES, 2: "目标任务完成情况汇总表"}


def file_name(plan: UnitPlan, month: int, form: int, extension: str, index: int) -> str:
    if plan.names == "generic":
        if form == 1:
            return "新建 DOCX 文档.docx"
        return f"新建 Microsoft Excel 工作表{f' ({index})' if index > 1 else ''}.{extension}"
    if plan.names == "title":
        prefix = "附件1：" if form == 1 else ""
        title = FILE_TITLES[form] if form >= 9 else f"{plan.name}{month}月份{FILE_TITLES[form]}"
        return f"{prefix}{title}.{extension}"
    return f"附件{form}.{extension}"


def package_files(plan: UnitPlan, unit: UnitInfo, month: int, dispatch: Dispatch, seed: int
                  ) -> tuple[tuple[str, bytes], ...]:
    figures = month_figures(plan, month) if dispatch.figures is None else \
        month_figures(plan, month, as_sent=False) | dispatch.figures
    workbook = dispatch.workbook or plan.workbook
    files: list[tuple[str, bytes]] = []
    workbooks = 0
    for form in dispatch.forms:
        extension, data = form_file(plan, unit, month, form, figures, dispatch.arrival, seed, workbook)
        workbooks += form != 1
        files.append((file_name(plan, month, form, extension, workbooks), data))
    if dispatch.dept in plan.zipped and len(files) > 1:
        return ((f"{plan.name}{month}月份报表.zip", zip_bytes(files, dispatch.arrival, plan.gbk_zip)),)
    return tuple(files)


def dispatch_spec(plan: UnitPlan, unit: UnitInfo, month: int, dispatch: Dispatch, boxes: Mapping[str, str],
                  seed: int) -> Spec:
    dept_name, contact = DEPARTMENTS[dispatch.dept]
    subject = dispatch.subject or plan.subject.format(m=month, dept=dept_name)
    sender = dispatch.sender or formataddr((organisation(unit.name), unit.sender))
    body = f"{contact}老师：\n    您好！{subject}已随附件报送，请查收。\n{organisation(unit.name)}"
    cc = boxes["kfb"] if plan.one_mail and dispatch.dept == "jjb" else None
    forms = "、".join(map(str, dispatch.forms))
    note = f"{plan.name} {YEAR}-{month:02d} package to {dept_name}: 附件{forms}" + \
        (f"; {dispatch.note}" if dispatch.note else "")
    return Spec(sender, boxes[dispatch.dept], subject, dispatch.arrival, note,
                package_files(plan, unit, month, dispatch, seed), dispatch.sent, body, cc)


def package_dispatches(plan: UnitPlan, unit: UnitInfo, month: int, boxes: Mapping[str, str],
                       seed: int) -> list[Spec]:
    """Every mail of the unit's package for `month`, edge cases and corrections included."""
    dispatches = standard_dispatches(plan, month, seed)
    special = SPECIAL_PACKAGES.get((plan.name, month))
    if special is not None:
        dispatches = special(dispatches)
    correction = CORRECTIONS.get((plan.name, month))
    if correction is not None:
        subject = f"{plan.name}{month}月份目标任务完成情况汇总表（更正）"
        dispatches = [*dispatches, replace(correction, subject=subject)]
    return [dispatch_spec(plan, unit, month, item, boxes, seed) for item in dispatches]


DIGITS = "零一二三四五六七八九"


def chinese_number(number: int) -> str:
    """1–99 as written in a title: 三, 十二, 二十一."""
    tens, ones = divmod(number, 10)
    return ((DIGITS[tens] if tens > 1 else "") + "十" if tens else "") + (DIGITS[ones] if ones else "")


ArticleMaker = Callable[[int, datetime], Spec]


def briefing_specs(plan: UnitPlan, unit: UnitInfo, month: int, boxes: Mapping[str, str], seed: int) -> list[Spec]:
    """The month's briefing articles to the office, one .docx each, special cases applied."""
    rng = random.Random(f"{seed}:{plan.name}:{month}:briefings")
    last = calendar.monthrange(YEAR, month)[1]

    def make(number: int, arrival: datetime) -> Spec:
        name, data = article_docx(plan.name, month, number, arrival, seed)
        subject = plan.article.format(n=number + 1, cn=chinese_number(number + 1),
                                      fw=str(number + 1).translate(FULL_WIDTH))
        return Spec(formataddr((organisation(unit.name), unit.sender)), boxes["bgs"], subject, arrival,
                    f"{plan.name} {YEAR}-{month:02d} briefing article {number + 1}", ((name, data),),
                    body=f"李老师：\n    {name[:-5]}，请审阅。")

    specs = [make(number, at(month, rng.randint(1, last - 3), rng.randint(8, 18), rng.randint(0, 59)))
             for number in range(plan.briefings[month - 4])]
    special = SPECIAL_BRIEFINGS.get((plan.name, month))
    return special(specs, make) if special is not None else specs


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _zaoqiang_june(specs: list[Spec], make: ArticleMaker) -> list[Spec]:
    first = specs[0]
    return specs + [replace(first, subject="转发：" + first.subject, arrival=at(6, 29, 15, 30),
                            note=first.note + ", forwarded again with the same file: counted once")]


def _raoyang_september(specs: list[Spec], make: ArticleMaker) -> list[Spec]:
    *singles, one, two, three = specs
    return singles + [replace(three, files=one.files + two.files + three.files, note="饶阳县 2020-09 one mail "
                              "with three article files: counts 3", subject="饶阳县贫困残疾人服务工程专项信息（三篇）")]


def _gucheng_october(specs: list[Spec], make: ArticleMaker) -> list[Spec]:
    personal = formataddr(("故城县残联宣传股", "gcx_xuanchuan@qq.com"))
    return specs + [replace(make(len(specs) + index, at(10, 12 + index, 10)), sender=personal,
                            note=f"故城县 2020-10 article from an unregistered address ({index + 1}): never counted")
                    for index in range(2)]


def _jingxian_may(specs: list[Spec], make: ArticleMaker) -> list[Spec]:
    return specs[:-1] + [replace(specs[-1], arrival=at(5, 31, 23, 59, 59),
                                 note="景县 2020-05 the 8th article at 05-31 23:59:59: counts for May")]


def _anping_august(specs: list[Spec], make: ArticleMaker) -> list[Spec]:
    return [replace(specs[0], arrival=at(8, 1, 0, 0, 0), note="安平县 article at 08-01 00:00:00 (Date header "
                    "07-31 23:59): counts for August, not July")] + specs[1:]


def _fucheng_august(specs: list[Spec], make: ArticleMaker) -> list[Spec]:
    reply = replace(make(len(specs), at(8, 26, 9, 5)), subject="回复：阜城县贫困残疾人服务工程专项信息",
                    note="阜城县 2020-08 a reply carrying an article file: never counted")
    auto = replace(make(len(specs) + 1, at(8, 27, 9, 5)), subject="自动回复：阜城县贫困残疾人服务工程专项信息",
                   headers=(("Auto-Submitted", "auto-replied"),),
                   note="阜城县 2020-08 an auto-reply carrying an article file: never counted")
    return specs + [reply, auto]


SPECIAL_BRIEFINGS: dict[tuple[str, int], Callable[[list[Spec], ArticleMaker], list[Spec]]] = {
    ("枣强县", 6): _zaoqiang_june, ("饶阳县", 9): _raoyang_september, ("故城县", 10): _gucheng_october,
    ("景县", 5): _jingxian_may, ("安平县", 8): _anping_august, ("阜城县", 8): _fucheng_august,
}


def noise_specs(units: Mapping[str, UnitInfo], boxes: Mapping[str, str]) -> list[Spec]:
    """Mail that is archived and never scored: an auto-reply, a reply, a bounce, spam, a question, an
    article from nobody known."""
    def of(unit: str) -> str:
        return formataddr((organisation(unit), units[unit].sender))

    stray_name, stray = article_docx("某县", 6, 0, at(6, 12, 9), 0)
    return [
        Spec(of("饶阳县"), boxes["jjb"], "自动回复：回执：饶阳县2020年7月份残疾人服务工程目标任务报表", at(7, 16, 11, 2),
             "an out-of-office auto-reply from a unit's address", body="您好，我近期休假，回来后尽快处理。",
             headers=(("Auto-Submitted", "auto-replied"),)),
        Spec(of("武强县"), boxes["jjb"], "回复：关于报送9月份附件9、附件10的通知", at(9, 2, 10, 20),
             "a unit's question as a reply", body="孙老师：没有符合条件的学生时，附件9、附件10是否报送空表？"),
        Spec("postmaster@163.com", boxes["jjb"], "系统退信", at(10, 9, 3, 14), "a bounce",
             body="很抱歉您的邮件没有发送成功，收件人地址不存在。"),
        Spec("promo@fapiao-daikai.cn", boxes["bgs"], "代开各类正规发票，验后付款", at(5, 6, 2, 33), "spam",
             body="专业代开增值税发票，联系电话 13800000000。"),
        Spec(of("景县"), boxes["jjb"], "景县关于实名制登记表填写的疑问", at(4, 8, 15, 40),
             "a unit's question with no files", body="孙老师：残疾儿童没有办理残疾人证的，证号一栏如何填写？"),
        Spec("13931888888@139.com", boxes["bgs"], "贫困残疾人服务工程专项信息", at(6, 12, 9),
             "an article naming no unit from an unknown address", ((stray_name, stray),), body="请审阅。"),
    ]

# ---------------------------------------------------------------------------------------------
# The season


def _render(spec: Spec) -> bytes:
    message = compose(spec.sender, spec.to, spec.subject, spec.arrival, sent=spec.sent, body=spec.body,
                      cc=spec.cc)
    for name, value in spec.headers:
        message[name] = value
    ident = hashlib.sha1(f"{spec.note}|{spec.arrival.isoformat()}".encode()).hexdigest()[:24]
    domain = spec.sender.rpartition("@")[2].strip(">") or "example.cn"
    message.replace_header("Message-ID", f"<{ident}@{domain}>")
    for filename, data in spec.files:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=filename)
    if message.is_multipart():
        message.set_boundary(f"----=_Part_{ident}")
    return message.as_bytes()


def _mails(spec: Spec) -> list[GeneratedMail]:
    raw = _render(spec)
    names = tuple(name for name, _ in spec.files)
    return [GeneratedMail(address, raw, spec.arrival, spec.note, names)
            for address in (spec.to, *([spec.cc] if spec.cc else []))]


def generate_season(seed: int = 2020) -> list[GeneratedMail]:
    """Every message of the season, in order of arrival (a Cc'd message once per mailbox it lies in)."""
    units, boxes = load_units()
    specs: list[Spec] = []
    for plan in PLANS:
        unit = units[plan.name]
        for month in MONTHS:
            specs += package_dispatches(plan, unit, month, boxes, seed)
            specs += briefing_specs(plan, unit, month, boxes, seed)
    specs += noise_specs(units, boxes)
    ordered = sorted(enumerate(specs), key=lambda pair: (pair[1].arrival, pair[0]))
    return [mail for _, spec in ordered for mail in _mails(spec)]


def mailbox_keys() -> dict[str, str]:
    """Department mailbox key by address."""
    return {address: key for key, address in load_units()[1].items()}


def write_maildirs(directory: Path, mails: Sequence[GeneratedMail] | None = None) -> int:
    """One Maildir per department mailbox under `directory` (named by key); returns the files written."""
    mails = generate_season() if mails is None else mails
    keys = mailbox_keys()
    for key in keys.values():
        for sub in ("cur", "new", "tmp"):
            (directory / key / sub).mkdir(parents=True, exist_ok=True)
    for number, mail in enumerate(mails):
        (directory / keys[mail.mailbox_address] / "new" / f"{number:05d}.season").write_bytes(mail.raw)
    return len(mails)


def write_mbox(path: Path, mails: Sequence[GeneratedMail] | None = None) -> int:
    """Every distinct message once, in one mbox file; returns the messages written."""
    mails = generate_season() if mails is None else mails
    box = mailbox.mbox(path, create=True)
    written: set[bytes] = set()
    try:
        for mail in mails:
            if mail.raw not in written:
                box.add(mail.raw)
                written.add(mail.raw)
        box.flush()
    finally:
        box.close()
    return len(written)


