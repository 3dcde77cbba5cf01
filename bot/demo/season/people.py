"""The people on the season's registries: well-formed IDs, 残疾人证号 and mobile numbers, one stable
person per (unit, form, number), so a cumulative registry lists the same people month after month."""

from __future__ import annotations

import functools
import random
import zlib
from dataclasses import dataclass
from datetime import date, timedelta

REGIONS = {
    "桃城区": "131102",
    "冀州区": "131103",
    "枣强县": "131121",
    "武邑县": "131122",
    "深州市": "131182",
    "武强县": "131123",
    "饶阳县": "131124",
    "安平县": "131125",
    "故城县": "131126",
    "景县": "131127",
    "阜城县": "131128",
    "高新区": "131171",
    "滨湖新区": "131172",
}
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎潘杜戴夏田任姜范方石姚谭邹金陆郝孔白崔康毛邱秦史顾侯邵孟段雷钱尹常武乔贺龚"
)
GIVEN = (
    "建国",
    "秀英",
    "桂兰",
    "淑珍",
    "玉兰",
    "志强",
    "海燕",
    "春梅",
    "国华",
    "丽",
    "敏",
    "军",
    "伟",
    "芳",
    "秀兰",
    "振华",
    "金凤",
    "红霞",
    "立新",
    "小红",
    "德胜",
    "明",
    "俊杰",
    "文静",
    "爱民",
    "凤英",
    "永刚",
    "磊",
)
CATEGORIES = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
GRADES = ("一级", "二级", "三级", "四级")
TOWNS = ("城关镇", "大营镇", "王常乡", "恩察镇", "马屯镇", "新屯乡", "唐林乡", "加会镇", "留府乡", "西阳乡")
PHONE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "157",
    "158",
    "159",
    "177",
    "180",
    "183",
    "185",
    "187",
    "188",
    "189",
)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def region(unit: str) -> str:
    """The unit's six-digit administrative code: Hengshui's real ones, a made-up one (from the name) for
    the units of a generated national configuration (bench/national.py)."""
    return REGIONS.get(unit) or f"{1 + zlib.crc32(unit.encode()) % 65:02d}{zlib.crc32(unit.encode(), 7) % 10_000:04d}"


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


@functools.cache
def person(seed: int, unit: str, form: int, number: int, born_from: int = 1950, years: int = 55) -> Person:
    """The number-th person on a unit's registry; the same on every month's registry. The sequence part
    of the ID is `number`, so a registry lists each person once."""
    if number >= 1000:
        raise ValueError("a registry of the season lists fewer than 1,000 persons")
    rng = random.Random(f"{seed}:{unit}:{form}:{number}")
    born = date(born_from, 1, 1) + timedelta(days=rng.randrange(365 * years))
    body = f"{region(unit)}{born:%Y%m%d}{number:03d}"
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    if (unit, form, number) == ("桃城区", 3, 0):
        name = "王斐"  # a two-character name, as auditors search for one (SPEC)
    phone = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    address = f"{unit}{rng.choice(TOWNS)}{rng.choice(SURNAMES)}家庄村"
    return Person(
        name, body + check_digit(body), rng.randint(1, 7), rng.randint(1, 4), phone, address, born, rng.randrange(10**6)
    )
