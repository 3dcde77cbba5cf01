"""When and how each unit's mail goes out: the usual dispatch of a month's package, and every edge case
of the season with its reason (SPECIAL_PACKAGES, CORRECTIONS, SPECIAL_BRIEFINGS, noise_specs).

A package mail is first a Dispatch (which forms go to which department, when); mail.py turns it into a
Spec, the message to render, as it does each briefing article.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from email.utils import formataddr

from bot.demo.season.files import article_docx
from bot.demo.season.plans import UnitInfo, UnitPlan, at
from bot.demo.season.sheets import organisation


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
    kind: str = "report"  # what it is meant to be, as mailroom names kinds (parsers.records.Kind)


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
    return [
        Dispatch(dept, group, at(month, day, rng.randint(8, 17), rng.randint(0, 59), rng.randint(0, 59)))
        for dept, group in forms.items()
    ]


def _moved(dispatches: list[Dispatch], dept: str | None, note: str, **changes) -> list[Dispatch]:
    """The dispatches with those to `dept` (every one when None) changed."""
    return [replace(item, note=note, **changes) if dept in (None, item.dept) else item for item in dispatches]


def _wuqiang_may(dispatches: list[Dispatch]) -> list[Dispatch]:
    return _moved(
        dispatches,
        "kfb",
        "arrives 05-21 00:00:30 +08:00 (still the 20th in UTC; Date header 23:59:30): late",
        arrival=at(5, 21, 0, 0, 30),
    )


def _fucheng_june(dispatches: list[Dispatch]) -> list[Dispatch]:
    return _moved(dispatches, "jjb", "arrives 06-20 23:59:59: on time", arrival=at(6, 20, 23, 59, 59))


def _jingxian_june(dispatches: list[Dispatch]) -> list[Dispatch]:
    return _moved(dispatches, None, "the whole package arrives 06-23: late", arrival=at(6, 23, 10, 12))


def _jingxian_september(dispatches: list[Dispatch]) -> list[Dispatch]:
    return _moved(dispatches, None, "arrives 09-20 23:59:59: on time", arrival=at(9, 20, 23, 59, 59))


def _wuyi_may(dispatches: list[Dispatch]) -> list[Dispatch]:
    return [
        replace(
            item,
            arrival=at(6, 3, 9, 30 + 11 * index),
            note="May's package (5月份 in the subject) arrives in June: late for May",
        )
        for index, item in enumerate(dispatches)
    ]


def _taocheng_august(dispatches: list[Dispatch]) -> list[Dispatch]:
    return _moved(
        dispatches,
        "jjb",
        "Date header 08-20 18:00 but the server received it 08-21 09:15: late",
        arrival=at(8, 21, 9, 15),
        sent=at(8, 20, 18, 0),
    )


def _gaoxin_april(dispatches: list[Dispatch]) -> list[Dispatch]:
    return [
        replace(
            item,
            arrival=at(4, 19, 10 + index),
            sent=at(4, 22, 10 + index),
            note="the sender's clock is three days fast (Date 04-22); the server received it 04-19: on time",
        )
        for index, item in enumerate(dispatches)
    ]


def _gaoxin_september(dispatches: list[Dispatch]) -> list[Dispatch]:
    first = [
        replace(item, forms=(1, 2, 5, 6), note="附件9–10 left out") if item.dept == "jjb" else item
        for item in dispatches
    ]
    return first + [Dispatch("jjb", (9, 10), at(9, 25, 15, 5), "附件9–10 (required from September) arrive 09-25: late")]


def _binhu_april(dispatches: list[Dispatch]) -> list[Dispatch]:
    personal = formataddr(("滨湖新区社发局", "2851736642@qq.com"))
    early = [
        replace(
            item,
            arrival=at(4, 18, 9 + index),
            sender=personal,
            note="from an unregistered personal address on 04-18: never counted",
        )
        for index, item in enumerate(dispatches)
    ]
    again = [
        replace(item, arrival=at(4, 24, 9 + index), note="again from the registered address on 04-24: late")
        for index, item in enumerate(dispatches)
    ]
    return early + again


def _anping_july(dispatches: list[Dispatch]) -> list[Dispatch]:
    return [
        replace(item, forms=(1, 2, 5), note="附件6 never sent: July missing") if item.dept == "jjb" else item
        for item in dispatches
    ]


def _zaoqiang_july(dispatches: list[Dispatch]) -> list[Dispatch]:
    return dispatches + [
        Dispatch(
            "jjb",
            (1, 2, 3, 4, 5, 6, 7, 8),
            at(7, 28, 16, 20),
            "a corrected resend after the deadline: July stays on time",
            subject="枣强县7月份目标任务进展情况及登记表（更正后重报）",
        )
    ]


def _raoyang_october(dispatches: list[Dispatch]) -> list[Dispatch]:
    return _moved(dispatches, "fwb", "附件7–8 saved as WPS .et", workbook="et")


SPECIAL_PACKAGES: dict[tuple[str, int], Callable[[list[Dispatch]], list[Dispatch]]] = {
    ("武强县", 5): _wuqiang_may,
    ("阜城县", 6): _fucheng_june,
    ("景县", 6): _jingxian_june,
    ("景县", 9): _jingxian_september,
    ("武邑县", 5): _wuyi_may,
    ("桃城区", 8): _taocheng_august,
    ("高新区", 4): _gaoxin_april,
    ("高新区", 9): _gaoxin_september,
    ("滨湖新区", 4): _binhu_april,
    ("滨湖新区", 8): lambda dispatches: [],  # no August package at all
    ("安平县", 7): _anping_july,
    ("枣强县", 7): _zaoqiang_july,
    ("饶阳县", 10): _raoyang_october,
}

# 附件2 sent again with new figures (and the registry that backs them), around the quarter's last instant.
CORRECTIONS: dict[tuple[str, int], Dispatch] = {
    ("深州市", 6): Dispatch(
        "jjb",
        (2, 4),
        at(6, 30, 23, 59, 59),
        "devices 160 → 172 (50%) at the last second of June: counts for Q2",
        figures={},
    ),
    ("冀州区", 6): Dispatch(
        "jjb",
        (2, 5),
        at(7, 1, 0, 0, 1),
        "rural training 55 → 60 (50%) one second into July: too late for Q2",
        figures={"rural_training": 60},
    ),
    ("故城县", 9): Dispatch(
        "jjb",
        (2, 7),
        at(9, 30, 23, 59, 59),
        "day care 70 → 76 (100%) at the last second of September: counts for Q3",
        figures={},
    ),
    ("武邑县", 9): Dispatch(
        "jjb",
        (2, 3),
        at(10, 1, 0, 0, 1),
        "rehabilitation 225 → 233 (100%) one second into October: too late for Q3",
        figures={"rehab": 233},
    ),
}

ArticleMaker = Callable[[int, datetime], Spec]  # (number in the month, arrival) → a briefing article


def _zaoqiang_june(specs: list[Spec], make: ArticleMaker) -> list[Spec]:
    first = specs[0]
    return specs + [
        replace(
            first,
            subject="转发：" + first.subject,
            arrival=at(6, 29, 15, 30),
            note=first.note + ", forwarded again with the same file: counted once",
        )
    ]


def _raoyang_september(specs: list[Spec], make: ArticleMaker) -> list[Spec]:
    *singles, one, two, three = specs
    return singles + [
        replace(
            three,
            files=one.files + two.files + three.files,
            note="饶阳县 2020-09 one mail with three article files: counts 3",
            subject="饶阳县贫困残疾人服务工程专项信息（三篇）",
        )
    ]


def _gucheng_october(specs: list[Spec], make: ArticleMaker) -> list[Spec]:
    personal = formataddr(("故城县残联宣传股", "gcx_xuanchuan@qq.com"))
    return specs + [
        replace(
            make(len(specs) + index, at(10, 12 + index, 10)),
            sender=personal,
            note=f"故城县 2020-10 article from an unregistered address ({index + 1}): never counted",
        )
        for index in range(2)
    ]


def _jingxian_may(specs: list[Spec], make: ArticleMaker) -> list[Spec]:
    return specs[:-1] + [
        replace(
            specs[-1],
            arrival=at(5, 31, 23, 59, 59),
            note="景县 2020-05 the 8th article at 05-31 23:59:59: counts for May",
        )
    ]


def _anping_august(specs: list[Spec], make: ArticleMaker) -> list[Spec]:
    return [
        replace(
            specs[0],
            arrival=at(8, 1, 0, 0, 0),
            note="安平县 article at 08-01 00:00:00 (Date header 07-31 23:59): counts for August, not July",
        )
    ] + specs[1:]


def _fucheng_august(specs: list[Spec], make: ArticleMaker) -> list[Spec]:
    reply = replace(
        make(len(specs), at(8, 26, 9, 5)),
        subject="回复：阜城县贫困残疾人服务工程专项信息",
        note="阜城县 2020-08 a reply carrying an article file: never counted",
        kind="reply",
    )
    auto = replace(
        make(len(specs) + 1, at(8, 27, 9, 5)),
        subject="自动回复：阜城县贫困残疾人服务工程专项信息",
        headers=(("Auto-Submitted", "auto-replied"),),
        kind="auto",
        note="阜城县 2020-08 an auto-reply carrying an article file: never counted",
    )
    return specs + [reply, auto]


SPECIAL_BRIEFINGS: dict[tuple[str, int], Callable[[list[Spec], ArticleMaker], list[Spec]]] = {
    ("枣强县", 6): _zaoqiang_june,
    ("饶阳县", 9): _raoyang_september,
    ("故城县", 10): _gucheng_october,
    ("景县", 5): _jingxian_may,
    ("安平县", 8): _anping_august,
    ("阜城县", 8): _fucheng_august,
}


def noise_specs(units: Mapping[str, UnitInfo], boxes: Mapping[str, str]) -> list[Spec]:
    """Mail that is archived and never scored: an auto-reply, a reply, a bounce, spam, a question, an
    article from nobody known."""

    def of(unit: str) -> str:
        return formataddr((organisation(unit), units[unit].sender))

    stray_name, stray = article_docx("某县", 6, 0, at(6, 12, 9), 0)
    return [
        Spec(
            of("饶阳县"),
            boxes["jjb"],
            "自动回复：回执：饶阳县2020年7月份残疾人服务工程目标任务报表",
            at(7, 16, 11, 2),
            "an out-of-office auto-reply from a unit's address",
            body="您好，我近期休假，回来后尽快处理。",
            headers=(("Auto-Submitted", "auto-replied"),),
            kind="auto",
        ),
        Spec(
            of("武强县"),
            boxes["jjb"],
            "回复：关于报送9月份附件9、附件10的通知",
            at(9, 2, 10, 20),
            "a unit's question as a reply",
            body="孙老师：没有符合条件的学生时，附件9、附件10是否报送空表？",
            kind="reply",
        ),
        Spec(
            "postmaster@163.com",
            boxes["jjb"],
            "系统退信",
            at(10, 9, 3, 14),
            "a bounce",
            body="很抱歉您的邮件没有发送成功，收件人地址不存在。",
            kind="bounce",
        ),
        Spec(
            "promo@fapiao-daikai.cn",
            boxes["bgs"],
            "代开各类正规发票，验后付款",
            at(5, 6, 2, 33),
            "spam",
            body="专业代开增值税发票，联系电话 13800000000。",
            kind="other",
        ),
        Spec(
            of("景县"),
            boxes["jjb"],
            "景县关于实名制登记表填写的疑问",
            at(4, 8, 15, 40),
            "a unit's question with no files",
            body="孙老师：残疾儿童没有办理残疾人证的，证号一栏如何填写？",
            kind="other",
        ),  # names a form (实名制登记表) but asks and carries no workbook: for the staff
        Spec(
            "13931888888@139.com",
            boxes["bgs"],
            "贫困残疾人服务工程专项信息",
            at(6, 12, 9),
            "an article naming no unit from an unknown address",
            ((stray_name, stray),),
            body="请审阅。",
            kind="briefing",
        ),
    ]
