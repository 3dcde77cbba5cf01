"""The season's design: what each of the 13 units sends, month by month, and the figures it reports.

PLANS holds each unit's design (完成数 at the end of June, September and December, briefing counts, habits);
PACKAGE_FIGURES the months whose package says something other than the plan's curve.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

# The units, their targets and the department mailboxes are the example config's.
EXAMPLE_CONFIG = Path(__file__).resolve().parents[3] / "config.example.toml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
YEAR = 2020
MONTHS = tuple(range(4, 13))
QUARTER_TASKS = ("rehab", "devices", "rural_training", "day_care", "barrier_free")
# Persons on each registry: the task's 完成数, 附件6's own count, 附件9's students, 附件10's children.
REGISTRY_COUNTS = {
    3: "rehab",
    4: "devices",
    5: "rural_training",
    6: "vocational",
    7: "day_care",
    8: "barrier_free",
    9: "students",
    10: "children",
}
DEPARTMENTS = {
    "jjb": ("教就部", "孙倩"),
    "kfb": ("康复部", "牛瑞轩"),
    "fwb": ("服务部", "王斐"),
    "bgs": ("办公室", "李京霖"),
}


@dataclass(frozen=True)
class UnitInfo:
    """What the config says of a unit: its registered address and the city's annual targets."""

    name: str
    sender: str
    targets: Mapping[str, int]


@dataclass(frozen=True)
class UnitPlan:
    """How a unit behaves all season (tests/season_expected.py works out what each plan scores)."""

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
    UnitPlan(
        "桃城区",
        15,
        _done((95, 179, 186), (92, 184, 190), (2, 4, 5), (1, 2, 3), (1, 1, 2)),
        (8, 9, 10, 8, 8, 8, 9, 8, 5),
        (3, 5, 6),
        (1, 1),
        "桃城区{m}月份目标任务进展情况及实名制登记表（报{dept}）",
        "桃城贫困残疾人服务工程专项信息",
        names="title",
    ),
    UnitPlan(
        "冀州区",
        12,
        _done((75, 140, 141), (95, 184, 184), (55, 120, 125), (25, 49, 49), (1, 2, 2)),
        (8, 8, 8, 8, 6, 8, 8, 5, 4),
        (4, 6, 8),
        (2, 1),
        "【冀州区】{m}月份残疾人服务工程报表（报{dept}）",
        "【冀州区】贫困残疾人服务工程专项信息（{cn}）",
        percent_text=True,
    ),
    UnitPlan(
        "枣强县",
        18,
        _done((287, 573, 580), (58, 115, 120), (34, 67, 70), (34, 67, 67), (75, 149, 149)),
        (9, 8, 7, 8, 8, 8, 8, 8, 6),
        (5, 9, 12),
        (1, 2),
        "枣强县{m}月份目标任务完成情况汇总表及登记表",
        "枣强县贫困残疾人服务工程专项信息",
    ),
    UnitPlan(
        "武邑县",
        16,
        _done((120, 225, 250), (60, 115, 118), (50, 100, 100), (19, 38, 40), (1, 1, 1)),
        (8, 9, 8, 4, 5, 8, 4, 8, 4),
        (2, 4, 4),
        (1, 1),
        "武邑县{m}月份残疾人服务工程月报",
        "武邑县贫困残疾人服务工程专项信息",
        workbook="xls",
    ),
    UnitPlan(
        "深州市",
        14,
        _done((130, 255, 256), (172, 330, 344), (52, 103, 103), (66, 131, 132), (38, 75, 76)),
        (8, 8, 8, 7, 8, 8, 8, 4, 6),
        (6, 10, 12),
        (2, 2),
        "深州市残联{m}月份目标任务进展情况-{dept}",
        "Fw: 深州市贫困残疾人服务工程专项信息",
    ),
    UnitPlan(
        "武强县",
        19,
        _done((106, 200, 212), (58, 115, 116), (21, 41, 45), (17, 35, 36), (4, 8, 9)),
        (8, 8, 8, 8, 8, 8, 6, 8, 5),
        (2, 3, 3),
        (1, 1),
        "武强县{m}月份报表",
        "转发：武强县贫困残疾人服务工程专项信息",
        names="generic",
    ),
    UnitPlan(
        "饶阳县",
        17,
        _done((150, 320, 480), (150, 299, 310), (31, 61, 65), (19, 38, 40), (2, 3, 4)),
        (8, 8, 5, 8, 8, 8, 8, 6, 4),
        (3, 6, 7),
        (1, 2),
        "饶阳县2020年{m}月份残疾人服务工程目标任务报表",
        "饶阳县贫困残疾人服务工程专项信息（{fw}）",
        workbook="xls",
        percent_text=True,
    ),
    UnitPlan(
        "安平县",
        10,
        _done((110, 212, 220), (60, 100, 115), (30, 59, 60), (15, 30, 31), (1, 1, 1)),
        (8, 8, 8, 7, 7, 4, 8, 8, 4),
        (2, 4, 5),
        (1, 1),
        "安平县{m}月份目标任务进展情况（{dept}）",
        "安平县贫困残疾人服务工程专项信息{n}",
    ),
    UnitPlan(
        "故城县",
        13,
        _done((191, 382, 390), (58, 115, 120), (52, 103, 110), (38, 76, 80), (3, 6, 7)),
        (8, 8, 8, 8, 8, 8, 7, 8, 5),
        (3, 5, 6),
        (2, 1),
        "故城县{m}月份实名制登记表等报表",
        "故城县 贫困残疾人服务工程专项信息",
        workbook="xls",
        zipped=("kfb",),
    ),
    UnitPlan(
        "景县",
        20,
        _done((100, 233, 233), (58, 115, 115), (44, 88, 90), (24, 48, 50), (16, 32, 33)),
        (6, 8, 8, 8, 8, 8, 8, 8, 5),
        (2, 4, 5),
        (1, 1),
        "景 县{m}月份残疾人服务工程进展情况报告及附件",
        "景 县贫困残疾人服务工程专项信息",
        one_mail=True,
    ),
    UnitPlan(
        "阜城县",
        19,
        _done((128, 255, 260), (150, 280, 299), (34, 67, 68), (20, 40, 41), (2, 3, 3)),
        (8, 8, 8, 8, 7, 8, 8, 8, 6),
        (3, 5, 5),
        (1, 2),
        "阜城县{m}月份目标任务报表（{dept}）",
        "阜城县贫困残疾人服务工程专项信息",
        zipped=("jjb",),
        gbk_zip=True,
        names="title",
    ),
    UnitPlan(
        "高新区",
        11,
        _done((6, 11, 12), (1, 2, 2), (1, 1, 2), (1, 1, 1), (1, 1, 1)),
        (4, 5, 8, 4, 8, 4, 4, 8, 4),
        (1, 2, 2),
        (1, 1),
        "高新区{m}月份残疾人服务工程报表",
        "衡水高新区贫困残疾人服务工程专项信息",
    ),
    UnitPlan(
        "滨湖新区",
        18,
        _done((5, 11, 11), (1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1)),
        (4, 5, 6, 4, 7, 5, 4, 6, 4),
        (1, 1, 2),
        (1, 1),
        "滨湖新区{m}月份目标任务进展情况",
        "滨湖新区贫困残疾人服务工程专项信息（{n}）",
    ),
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
    return {
        4: april,
        5: may,
        6: june,
        7: june + third,
        8: september - third,
        9: september,
        10: september + quarter,
        11: december - quarter,
        12: december,
    }


def month_figures(plan: UnitPlan, month: int, as_sent: bool = True) -> dict[str, int]:
    """What the unit's package for `month` reports: 完成数 per task and the persons on 附件6, 9 and 10;
    `as_sent` False gives the plan's curve without PACKAGE_FIGURES."""
    figures = {task: curve(*plan.done[task])[month] for task in QUARTER_TASKS}
    figures["vocational"] = curve(*plan.vocational)[month]
    if month >= 9:
        students, children = plan.college[0] + (month == 12), plan.college[1]
        figures |= {"students": students, "children": children, "college": students + children}
    return figures | (PACKAGE_FIGURES.get((plan.name, month), {}) if as_sent else {})


def load_units(path: Path = EXAMPLE_CONFIG) -> tuple[dict[str, UnitInfo], dict[str, str]]:
    """The units (registered address, targets) and department mailbox addresses by key, from the config."""
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    units = {item["name"]: UnitInfo(item["name"], item["senders"][0], dict(item["targets"])) for item in data["unit"]}
    return units, {box["key"]: box["address"] for box in data["mailbox"]}


def at(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An instant of 2020 in Asia/Shanghai."""
    return datetime(YEAR, month, day, hour, minute, second, tzinfo=SHANGHAI)
