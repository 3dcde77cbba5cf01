"""The search bench's corpus: short Chinese messages from the 13 units, made the same for any seed, and
the truth a search must return (every message whose text holds the query).

Subjects name a unit, a month, a form, a town and a village (王家庄村); bodies mention persons of a fixed
population (surname and one or two given characters, so a name recurs across messages) and carry some
ASCII: phone numbers, file names. Each message is a real RFC 5322 message, UTF-8, its subject and sender
name as encoded words, its body base64 or 8bit, so our archive and notmuch index the same bytes.
"""

from __future__ import annotations

import base64
import bisect
import random
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from itertools import accumulate

CHINA = timezone(timedelta(hours=8))
START = datetime(2019, 1, 1, 8, 0, tzinfo=CHINA)
UNITS = (
    ("桃城区", "tcqcl@163.com"),
    ("冀州区", "jzqcl@126.com"),
    ("枣强县", "zqxcl@163.com"),
    ("武邑县", "wyxcl@163.com"),
    ("深州市", "szscl@126.com"),
    ("武强县", "wqxcl@163.com"),
    ("饶阳县", "ryxcl@163.com"),
    ("安平县", "apxcl@126.com"),
    ("故城县", "gcxcl@163.com"),
    ("景县", "jxcl2020@163.com"),
    ("阜城县", "fcxcl@126.com"),
    ("高新区", "gxqsfj@163.com"),
    ("滨湖新区", "bhxqsgj@163.com"),
)
MAILBOXES = ("hsscljjb@163.com", "hskf2006@126.com", "hscljyb@126.com", "hsclbgs666@163.com")
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶"
    "阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉力鹏燕海飞凤云宇浩俊峰亮成志春梅琳雪"
    "淑珍丹斌波宁晨欣颖倩慧博佳振新德福生荣庆喜宝根金银山水玲翠彩香月花荣贵忠义利民学存立保全胜占"
)
TOWN_STEMS = (
    "大营",
    "恩察",
    "唐林",
    "王均",
    "新屯",
    "马屯",
    "加会",
    "张秋",
    "留府",
    "北漳淮",
    "彭杜",
    "郑口",
    "龙华",
    "梁集",
    "广川",
    "刘智庙",
    "蒋坟",
    "青兰",
    "护驾迟",
    "周窝",
    "豆村",
    "大麻森",
    "程油子",
    "穆村",
    "古城",
    "北代",
    "清凉店",
    "审坡",
    "前磨头",
    "东明",
    "赵家圈",
    "邢家庄",
    "何庄",
    "彭庄",
)
VILLAGE_PREFIXES = ("", "", "", "东", "西", "南", "北", "前", "后", "大", "小")
VILLAGE_SUFFIXES = ("家庄村", "家庄村", "庄村", "屯村", "营村", "寨村", "店村", "村", "口村", "集村", "桥村")
FORMS = (
    "目标任务进展情况统计表",
    "残疾人康复服务登记表",
    "辅助器具适配登记表",
    "贫困残疾人家庭无障碍改造统计表",
    "残疾人职业技能培训登记表",
    "残疾儿童康复救助登记表",
    "残疾人就业服务登记表",
    "专职委员工作台账",
    "残疾人基本服务状况和需求信息数据动态更新表",
    "精准康复服务统计表",
)
DISABILITIES = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
DEVICES = ("轮椅", "助行器", "坐便椅", "助听器", "盲杖", "拐杖", "护理床", "假肢")
SERVICES = ("康复救助", "辅助器具适配", "无障碍改造", "技能培训", "低保", "护理补贴", "生活补贴")
SENTENCES = (
    "今年以来，我县残联认真落实残疾人服务工程各项任务。",
    "组织专职委员入户走访贫困残疾人家庭，核查康复需求。",
    "举办农村实用技术培训班，培训残疾人六十余人次。",
    "联合卫健部门开展家庭医生签约服务，做到应签尽签。",
    "请各乡镇于本月十五日前报送上月数据。",
    "表格已按市残联要求修改，请审核。",
    "如有问题请及时联系。",
    "数据与系统一致，已逐户核对。",
    "部分村因疫情防控暂缓入户，下月补报。",
    "已完成全年目标任务的百分之六十。",
    "对新办证人员逐一登记，建立工作台账。",
    "两项补贴资金已于本月足额发放到位。",
)


@dataclass(frozen=True)
class BenchMessage:
    number: int
    raw: bytes
    arrival: datetime
    message_id: str  # without angle brackets, as notmuch prints it after id:
    text: str  # subject, sender name and address, body: normalised, one per line (what a search sees)


@dataclass(frozen=True)
class Person:
    name: str
    town: str
    village: str
    age: int
    disability: str


def normalise(value: str) -> str:
    """Full-width forms to ASCII, case folded (NFKC + casefold): the text a query must be a substring of."""
    return unicodedata.normalize("NFKC", value).casefold()


class Corpus:
    """The generated messages and, for any query, the exact set of messages that hold it."""

    def __init__(self, messages: list[BenchMessage], names: tuple[str, ...], places: tuple[str, ...]):
        self.messages = messages
        self.names = names  # every person's name, in population order
        self.places = places  # every town and village
        self._text = "\x00".join(message.text for message in messages)  # \x00: no query spans two messages
        self._starts = [0]
        for message in messages[:-1]:
            self._starts.append(self._starts[-1] + len(message.text) + 1)

    def hits(self, query: str) -> set[int]:
        """Numbers of the messages whose text holds the normalised query (each space-separated term)."""
        found: set[int] | None = None
        for term in normalise(query).split():
            numbers: set[int] = set()
            position = self._text.find(term)
            while position >= 0:
                index = bisect.bisect_right(self._starts, position) - 1
                numbers.add(index)
                following = index + 1
                position = self._text.find(term, self._starts[following]) if following < len(self._starts) else -1
            found = numbers if found is None else found & numbers
        return found or set()

    def holding_grams(self, query: str, size: int) -> int:
        """How many messages hold every `size`-character gram of the query: what an index of such grams
        offers as candidates, each to be confirmed against the text when the query is longer."""
        grams = {query[i : i + size] for i in range(max(1, len(query) - size + 1))}
        found = None
        for gram in sorted(grams, key=len):
            found = self.hits(gram) if found is None else found & self.hits(gram)
        return len(found or ())


def generate(count: int, seed: int = 2020) -> Corpus:
    rng = random.Random(seed)
    people = {unit: population(rng, unit, 1500) for unit, _ in UNITS}
    messages = []
    for number in range(count):
        unit, sender = UNITS[rng.randrange(len(UNITS))]
        # Half the mentions go to a few people of the unit (some names recur often), half to anyone.
        mentioned = [
            rng.choices(people[unit], cum_weights=_MENTION_WEIGHTS)[0]
            if rng.random() < 0.5
            else rng.choice(people[unit])
            for _ in range(rng.randint(1, 3))
        ]
        arrival = START + timedelta(seconds=300 * number + rng.randrange(300))
        subject = subject_line(rng, unit, rng.choice(people[unit]), mentioned[0], arrival)
        body = body_text(rng, unit, mentioned, sender, arrival)
        messages.append(
            render(
                number,
                sender,
                f"{unit}残联",
                rng.choice(MAILBOXES),
                subject,
                body,
                arrival,
                base64_body=rng.random() < 0.7,
            )
        )
    everyone = [person for unit, _ in UNITS for person in people[unit]]
    places = sorted({person.town for person in everyone} | {person.village for person in everyone})
    return Corpus(messages, tuple(person.name for person in everyone), tuple(places))


def population(rng: random.Random, unit: str, count: int) -> list[Person]:
    """The unit's people: 6 towns of about 12 villages each, a name, an age and a disability each."""
    towns = [stem + town_suffix(stem) for stem in rng.sample(TOWN_STEMS, 6)]
    villages = {town: sorted({village_name(rng) for _ in range(12)}) for town in towns}
    people = []
    for _ in range(count):
        town = rng.choice(towns)
        people.append(
            Person(person_name(rng), town, rng.choice(villages[town]), rng.randint(3, 90), rng.choice(DISABILITIES))
        )
    return people


# Surnames by rank, roughly as common as in China: 王, 李, 张 about 6 % each, the hundredth 0.3 %.
_SURNAME_WEIGHTS = list(accumulate(1 / (rank + 10) for rank in range(len(SURNAMES))))
_MENTION_WEIGHTS = list(accumulate(1 / (rank + 1) for rank in range(1500)))


def person_name(rng: random.Random) -> str:
    surname = rng.choices(SURNAMES, cum_weights=_SURNAME_WEIGHTS)[0]
    return surname + "".join(rng.choice(GIVEN) for _ in range(1 if rng.random() < 0.35 else 2))


def village_name(rng: random.Random) -> str:
    return rng.choice(VILLAGE_PREFIXES) + rng.choice(SURNAMES) + rng.choice(VILLAGE_SUFFIXES)


def town_suffix(stem: str) -> str:
    return "乡" if len(stem) == 2 and stem[0] in "王加留彭梁蒋青周豆穆审" else "镇"


def phone(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"0318-{rng.randrange(2000000, 8999999)}"
    return f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"


def file_name(rng: random.Random, sender: str, arrival: datetime) -> str:
    prefix = sender.partition("@")[0]
    return rng.choice(
        (
            f"{prefix}_{arrival:%Y%m}_fujian{rng.randint(1, 10)}.xlsx",
            f"IMG_{arrival:%Y%m%d}_{rng.randrange(10000):04d}.jpg",
            f"scan{rng.randrange(10000):04d}.pdf",
            f"附件{rng.randint(1, 10)}-{arrival.month}月.xls",
        )
    )


def subject_line(rng: random.Random, unit: str, someone: Person, person: Person, arrival: datetime) -> str:
    month, form = arrival.month, rng.choice(FORMS)
    return rng.choice(
        (
            f"{unit}{month}月份目标任务进展情况",
            f"{unit}{arrival.year}年{month}月{form}",
            f"关于{unit}{person.town}{person.village}{person.name}申请{rng.choice(SERVICES)}的报告",
            f"{unit}贫困残疾人服务工程专项信息（{rng.randint(1, 30)}）",
            f"回复：{unit}{month}月份{form}",
            f"{someone.town}{someone.village}残疾人入户走访情况",
            f"{unit}{month}月{form}（修改版）",
            f"转发：{person.town}{person.village}{person.name}的情况说明",
            f"{unit}{someone.town}{month}月份工作简报",
        )
    )


def body_text(rng: random.Random, unit: str, people: list[Person], sender: str, arrival: datetime) -> str:
    lines = [f"{rng.choice(people).name[0]}老师：您好！" if rng.random() < 0.5 else "市残联："]
    for person in people:
        lines.append(
            f"{person.town}{person.village}{person.name}，{rng.choice('男女')}，{person.age}岁，"
            f"{person.disability}残疾{rng.randint(1, 4)}级，联系电话{phone(rng)}。"
        )
        if rng.random() < 0.5:
            lines.append(f"已为{person.name}发放{rng.choice(DEVICES)}一件，请审核。")
    lines.extend(rng.sample(SENTENCES, rng.randint(1, 3)))
    if rng.random() < 0.6:
        lines.append(f"附件为{file_name(rng, sender, arrival)}，请查收。")
    lines.append(f"经办人：{rng.choice(people).name}  电话：{phone(rng)}")
    lines.append(f"{unit}残疾人联合会\n{arrival.year}年{arrival.month}月{arrival.day}日")
    return "\n".join(lines) + "\n"


def render(
    number: int, sender: str, sender_name: str, to: str, subject: str, body: str, arrival: datetime, base64_body: bool
) -> BenchMessage:
    message_id = f"{number:06d}.bench@{sender.partition('@')[2]}"
    headers = [
        f"Received: from mail.example.cn (unknown [127.0.0.1]) by mx.example.cn; {format_datetime(arrival)}",
        f"From: {encoded_words(sender_name)} <{sender}>",
        f"To: {to}",
        f"Subject: {encoded_words(subject)}",
        f"Date: {format_datetime(arrival - timedelta(seconds=40))}",
        f"Message-ID: <{message_id}>",
        "MIME-Version: 1.0",
        'Content-Type: text/plain; charset="utf-8"',
        f"Content-Transfer-Encoding: {'base64' if base64_body else '8bit'}",
    ]
    encoded = base64.encodebytes(body.encode()) if base64_body else body.encode()
    raw = "\n".join(headers).encode() + b"\n\n" + encoded
    text = "\n".join(normalise(part) for part in (subject, sender_name, sender, body))
    return BenchMessage(number, raw, arrival, message_id, text)


def encoded_words(value: str) -> str:
    """RFC 2047 base64 words of whole characters, at most 39 bytes each, folded: as mail clients write them."""
    words, word = [], ""
    for char in value:
        if len((word + char).encode()) > 39:
            words.append(word)
            word = ""
        word += char
    return "\n ".join(f"=?utf-8?b?{base64.b64encode(word.encode()).decode()}?=" for word in [*words, word])


_CJK = re.compile(r"[\u4e00-\u9fff]+")
ABSENT = "龘犇淼焱垚鹍猷麟韬蔻"  # characters no generated message holds


@dataclass(frozen=True)
class QuerySet:
    label: str
    queries: tuple[str, ...]


def pick_queries(corpus: Corpus, per_length: int, absent: int = 5, seed: int = 7) -> list[QuerySet]:
    """Queries of 1, 2 and 4 characters that the corpus holds, half of them names and places, half runs of its
    text; then `absent` of each length that match nothing."""
    rng = random.Random(seed)
    texts = [message.text for message in rng.sample(corpus.messages, min(2000, len(corpus.messages)))]
    runs = [run for text in texts for run in _CJK.findall(text)]
    characters = sorted({char for run in runs for char in run})
    towns_and_villages = [place for place in corpus.places if len(place) == 4]
    named = {
        1: lambda: rng.choice(characters),  # any character, a rare one as likely as a common one
        2: lambda: rng.choice(corpus.names)[:2],  # a two-character name, or a surname and a given character
        4: lambda: rng.choice(towns_and_villages),
    }  # 王家庄村, 刘智庙镇
    sets = []
    for length in (1, 2, 4):
        chosen: list[str] = []
        _add_found(corpus, chosen, named[length], per_length // 2)
        _add_found(
            corpus, chosen, lambda length=length: _run_part(rng, runs, length), per_length
        )  # common text more likely
        sets.append(QuerySet(f"{length} char{'s' if length > 1 else ''}", tuple(chosen)))
    nothing = [char for char in ABSENT if not corpus.hits(char)][:absent]
    nothing += _absent_pairs(rng, corpus, characters, absent)
    sets.append(QuerySet("no match, 1–2 chars", tuple(nothing)))
    sets.append(QuerySet("no match, 4 chars, pairs in one message", tuple(_decoys(rng, corpus, texts, absent))))
    return sets


def _add_found(corpus: Corpus, chosen: list[str], draw, until: int, attempts: int = 10_000) -> None:
    for _ in range(attempts):
        if len(chosen) >= until:
            return
        query = draw()
        if query not in chosen and corpus.hits(query):
            chosen.append(query)


def _run_part(rng: random.Random, runs: list[str], length: int) -> str:
    run = rng.choice([run for run in rng.sample(runs, 20) if len(run) >= length] or ["残疾人联合会"])
    start = rng.randrange(len(run) - length + 1)
    return run[start : start + length]


def _absent_pairs(rng: random.Random, corpus: Corpus, characters: list[str], count: int) -> list[str]:
    found: list[str] = []
    while len(found) < count:
        pair = rng.choice(characters) + rng.choice(characters)
        if pair not in found and not corpus.hits(pair):
            found.append(pair)
    return found


def _decoys(rng: random.Random, corpus: Corpus, texts: list[str], count: int) -> list[str]:
    """Four characters abcd no message holds, though one message holds ab, bc and cd: every pair of the
    query is in that message's index, and only the confirmation against its text can say no."""
    found: list[str] = []
    for text in rng.sample(texts, len(texts)):
        pairs = {run[i : i + 2] for run in _CJK.findall(text) for i in range(len(run) - 1)}
        following: dict[str, list[str]] = {}
        for pair in sorted(pairs):
            following.setdefault(pair[0], []).append(pair)
        candidates = [
            ab + cd
            for ab in sorted(pairs)
            for bc in following.get(ab[1], ())
            for cd in following.get(bc[1], ())
            if ab + cd not in text
        ]
        rng.shuffle(candidates)
        decoy = next((query for query in candidates[:50] if query not in found and not corpus.hits(query)), None)
        if decoy:
            found.append(decoy)
        if len(found) == count:
            break
    return found
