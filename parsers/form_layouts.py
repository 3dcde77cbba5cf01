"""What each form of the monthly package (附件1–10) looks like: its title, its columns, the signs a title, a file
name or a header names it by.

The column definitions come from the plan (衡残联字〔2020〕20号, 附件1–10): each column is found by
the words of its header, never by its position, because every unit edits the template a little.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from parsers.records import fold

FORM_TITLES: dict[int, str] = {
    1: "目标任务进展情况报告",
    2: "目标任务完成情况汇总表",
    3: "康复服务实名制登记表",
    4: "辅助器具适配实名制登记表",
    5: "农村实用技术培训实名制登记表",
    6: "职业技能培训实名制登记表",
    7: "托养服务补贴实名制登记表",
    8: "残疾人家庭无障碍改造实名制登记表",
    9: "资助考入高等院校贫困残疾学生汇总表",
    10: "资助考入高等院校贫困残疾人家庭子女汇总表",
}

TASK_LABELS: dict[str, str] = {
    "rehab": "康复服务",
    "devices": "适配辅助器具",
    "rural_training": "实用技术培训",
    "day_care": "托养服务",
    "barrier_free": "残疾人家庭无障碍改造",
    "college": "帮助贫困残疾学生及子女上大学",
}
# The registry whose distinct persons 附件2's 完成数 counts, per task.
REGISTRY_FORMS: dict[str, tuple[int, ...]] = {
    "rehab": (3,),
    "devices": (4,),
    "rural_training": (5,),
    "day_care": (7,),
    "barrier_free": (8,),
    "college": (9, 10),
}


def form_list(numbers: Iterable[int]) -> str:
    """ "附件2、附件5": forms by number, as receipts, reminders, 自查 and the scores name them."""
    return "、".join(f"附件{number}" for number in numbers)


@dataclass(frozen=True)
class Column:
    """A column of a form: its stable key, its Chinese name, the header words that find it."""

    key: str
    label: str
    pattern: re.Pattern[str]
    required: bool = False


def _col(key: str, label: str, words: str, required: bool = False) -> Column:
    return Column(key, label, re.compile(words), required)


_SERIAL = _col("serial", "序号", r"^序号|^编号$")
_NAME = _col("name", "姓名", r"姓名", True)
_DISABILITY_ID = _col("disability_id", "残疾人证号", r"残疾人?证", True)
_PHONE = _col("phone", "联系电话", r"电话|手机|联系方式")
_CATEGORY_GRADE = _col("category_grade", "残疾类别、等级", r"类别|等级")
_ADDRESS = _col("address", "家庭住址", r"住址|地址")
_REMARK = _col("remark", "备注", r"备注")

FORM_COLUMNS: dict[int, tuple[Column, ...]] = {
    3: (
        _SERIAL,
        _NAME,
        _DISABILITY_ID,
        _col("category", "残疾类别", r"类别"),
        _col("grade", "残疾等级", r"等级"),
        _PHONE,
        _col("detail", "服务细项（内容）", r"细项|服务内容"),
        _col("service", "服务项目", r"服务项目", True),
        _col("registered_poor", "是否建档立卡残疾人", r"建档"),
        _REMARK,
    ),
    4: (
        _SERIAL,
        _NAME,
        _DISABILITY_ID,
        _PHONE,
        _ADDRESS,
        _col("device", "辅助器具名称", r"器具|辅具", True),
        _col("fitted_at", "适配时间", r"时间|日期"),
        _col("in_rehab_db", "是否录入精准康复数据库", r"录入|数据库"),
        _col("other_poor", "非建档立卡贫困残疾人", r"非建档"),
        _col("registered_poor", "建档立卡贫困残疾人", r"建档"),
    ),
    5: (
        _SERIAL,
        _NAME,
        _DISABILITY_ID,
        _CATEGORY_GRADE,
        _PHONE,
        _col("training_type", "培训类型", r"类型", True),
        _col("institution", "培训机构", r"机构"),
        _col("trained_at", "培训时间", r"时间|日期"),
    ),
    7: (
        _SERIAL,
        _NAME,
        _DISABILITY_ID,
        _CATEGORY_GRADE,
        _PHONE,
        _col("care_type", "托养服务类型", r"类型", True),
        _col("institution", "托养服务机构", r"机构"),
        _col("period", "托养服务时间", r"时间|日期"),
    ),
    8: (
        _SERIAL,
        _NAME,
        _DISABILITY_ID,
        _CATEGORY_GRADE,
        _PHONE,
        _col("project", "改造项目", r"改造项目|项目", True),
        _col("subsidy", "补贴金额", r"金额|补贴"),
        _REMARK,
    ),
    9: (
        _SERIAL,
        _NAME,
        _col("gender", "性别", r"性别"),
        _col("ethnicity", "民族", r"民族"),
        _col("born", "出生年月", r"出生"),
        _col("category", "残疾类别", r"类别"),
        _DISABILITY_ID,
        _col("admission", "录取院校及专业", r"院校|专业|录取", True),
        _ADDRESS,
        _PHONE,
    ),
    10: (
        _SERIAL,
        _col("parent_name", "父（母）姓名", r"父|母|家长", True),
        _col("student_name", "学生姓名", r"姓名", True),
        _col("gender", "性别", r"性别"),
        _col("ethnicity", "民族", r"民族"),
        _col("born", "出生年月", r"出生"),
        _col("id_number", "身份证号", r"身份证", True),
        _col("admission", "录取院校及专业", r"院校|专业|录取", True),
        _DISABILITY_ID,
        _ADDRESS,
        _PHONE,
    ),
}
FORM_COLUMNS[6] = FORM_COLUMNS[5]

# Columns whose values make "the same service": one person twice with the same values is a duplicate.
SERVICE_KEYS: dict[int, tuple[str, ...]] = {
    3: ("service", "detail"),
    4: ("device",),
    5: ("training_type",),
    6: ("training_type",),
    7: ("care_type",),
    8: ("project",),
    9: (),
    10: (),
}

# Words that only this form's header has; a header row needs them (and at least three columns). Only
# distinctive words: a unit adds columns of its own (a 补贴金额 on 附件7, a 学生姓名 on 附件9), and a word
# another form may carry as an extra would turn that form into this one. When several forms' signs are
# found the first listed is the header's form, unless the title names one of them (settle_form).
_HEADER_SIGNS: dict[int, re.Pattern[str]] = {
    10: re.compile(r"父|母亲|家长"),
    9: re.compile(r"院校|录取"),
    8: re.compile(r"改造项目|改造内容|改造类型"),
    7: re.compile(r"托养"),
    4: re.compile(r"辅助器具|辅具|适配时间"),
    3: re.compile(r"服务项目|服务细项"),
    5: re.compile(r"培训类型|培训机构"),
}
# Forms whose header holds every sign of another: 附件10's columns include 附件9's 录取院校及专业, so a
# header with only that sign does not contradict a title naming 附件10.
_SIGNS_ALSO_IN: dict[int, frozenset[int]] = {10: frozenset({9})}

# ---------------------------------------------------------------------------------------------
# Titles and names

_TITLE_SIGNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (10, re.compile(r"家庭子女")),
    (9, re.compile(r"残疾学生|高等院校")),
    (8, re.compile(r"无障碍改造实名|无障碍改造登记|家庭无障碍改造.*登记")),
    (7, re.compile(r"托养服务.*登记|托养.*实名")),
    (6, re.compile(r"职业技能培训")),
    (5, re.compile(r"实用技术培训")),
    (4, re.compile(r"辅助器具适配|辅具适配|辅助器具.*登记")),
    (3, re.compile(r"康复服务.*(?:实名|登记)")),
    (2, re.compile(r"完成情况汇总|目标任务.*汇总|任务完成情况")),
    (1, re.compile(r"进展情况")),
)
_ATTACHMENT_NUMBER = re.compile(r"附件[_\-—]?(10|[1-9]|十|[一二三四五六七八九])(?!\d)")
_RESEMBLING = 0.3  # the least share of a form title's character pairs a title must hold to resemble it
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def form_from_title(text: str) -> int | None:
    """The form a title names (folded text), or None."""
    for form, sign in _TITLE_SIGNS:
        if sign.search(text):
            return form
    return None


def form_from_name(name: str) -> int | None:
    """The form a file or sheet name names: "附件3", "附件三", or the form's title words."""
    folded = fold(name)
    match = _ATTACHMENT_NUMBER.search(folded)
    if match:
        token = match.group(1)
        return int(token) if token.isdigit() else _CN_DIGITS[token]
    return form_from_title(folded)


def resembling_form(title: str) -> int | None:
    """The form (2–10) whose title a title naming none resembles most: the one with the largest share of its
    title's character pairs found in it, when that is at least 3 pairs and 30%. “托养服务补贴统计表” resembles
    附件7; a 扶贫开发统计表 none (a unit's name and a month around it change nothing)."""
    pairs = _char_pairs(fold(title))
    shares = {
        form: (len(pairs & own), len(pairs & own) / len(own))
        for form, words in FORM_TITLES.items()
        if form != 1
        for own in [_char_pairs(words)]
    }
    best = max(shares, key=lambda form: shares[form][1])
    shared, share = shares[best]
    return best if shared >= 3 and share >= _RESEMBLING else None


def _char_pairs(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def header_form(labels: list[str]) -> int | None:
    """The registry form (3–10, 5 standing for 5 or 6) whose header these folded labels are."""
    signed = header_forms(labels)
    return signed[0] if signed else None


def header_forms(labels: list[str]) -> tuple[int, ...]:
    """Every registry form (5 standing for 5 or 6) whose signs these folded labels hold, the header's own
    form first: a header may carry another form's column as an extra, and the title then decides."""
    joined = "|".join(labels)
    if "姓名" not in joined:
        return ()
    return tuple(form for form, sign in _HEADER_SIGNS.items() if sign.search(joined))


def settle_form(title_form: int | None, labels: list[str]) -> int | None:
    """The registry form of a table whose title names `title_form` and whose header is `labels`.

    The title wins when the header agrees with it: it holds the title form's own signs (any other form's
    beside them are extra columns, a 改造项目 a unit added), or only signs the title form's header holds
    too. Otherwise the header plainly contradicts the title (its columns are another form's, ones the
    titled form lacks entirely) and the header decides, being what the data are. A sign that another
    form found holds as well is no evidence: a 附件10 header (父（母）姓名, 录取院校) titled 附件9 is 附件10."""
    signed = header_forms(labels)
    if title_form is not None and 3 <= title_form <= 10:
        group = 5 if title_form == 6 else title_form
        explained = any(group in _SIGNS_ALSO_IN.get(other, frozenset()) for other in signed)
        if (group in signed and not explained) or (signed and set(signed) <= _SIGNS_ALSO_IN.get(group, frozenset())):
            return title_form
    return signed[0] if signed else None


def map_columns(labels: list[str], form: int) -> dict[str, int]:
    """Column index of each key of the form, from folded header labels; first match wins."""
    found: dict[str, int] = {}
    for index, label in enumerate(labels):
        if not label:
            continue
        for column in FORM_COLUMNS[form]:
            if column.key not in found and column.pattern.search(label):
                found[column.key] = index
                break
    return found
