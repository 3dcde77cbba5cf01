"""A masked auditor learns nothing of a hidden number, by any route: property tests over random IDs and phones.

Pure: every spelling of a random number is recognised and masked, and dates, amounts and document numbers are
not. Against the archive (SQLite and PostgreSQL): two archives, A and B, identical but for one hidden digit of
each number. For a viewer without the personal grant every page, CSV and search answer is the same in A as in
B (noninterference: nothing shown or found depends on a hidden digit), and no page holds a hidden digit.
"""

from __future__ import annotations

import dataclasses
import html
import io
import random
import re
import unicodedata
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from archive.entries import add_entry
from archive.ingest import Incoming, ingest_batch
from archive.search import Query, search
from bot.demo.folder import compose
from bot.web.app import create_app
from parsers import personal
from parsers.checks import check_digit
from parsers.personal import IGNORABLE
from parsers.privacy import find_personal as find_numbers
from parsers.privacy import mask_personal
from tests.conftest import DATA, POSTGRES_URL, _postgres_schema_url, make_config
from tests.webapp import add_accounts, log_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
SUPER = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
CIRCLED = str.maketrans("0123456789", "⓪①②③④⑤⑥⑦⑧⑨")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")
CHINESE = str.maketrans("0123456789", "〇一二三四五六七八九")
CHINESE_FOLDED = str.maketrans("〇○零一幺二三四五六七八九", "0001123456789")


def _groups(number: str) -> list[str]:
    sizes = (3, 4, 4) if len(number) == 11 else (6, 8, 4, 2) if len(number) == 20 else (6, 8, 4)
    parts, at = [], 0
    for size in sizes:
        parts.append(number[at : at + size])
        at += size
    return parts


def _slashed(number: str) -> str:
    if len(number) == 11:
        return f"{number[:3]}/{number[3:7]}/{number[7:]}"
    return "/".join([number[:6], number[6:10], number[10:14], number[14:]])


SPELLINGS = {
    "ascii": lambda n: n,
    "full-width": lambda n: n.translate(FULL),
    "superscript": lambda n: n.translate(SUPER),
    "subscript": lambda n: n.translate(SUB),
    "circled": lambda n: n.translate(CIRCLED),
    "spaced": lambda n: " ".join(_groups(n)),
    "dashed": lambda n: "-".join(_groups(n)),
    "dotted": lambda n: ".".join(_groups(n)),
    "slashed": _slashed,
    "zero-width": lambda n: "\u200b".join(n),
    "after letters": lambda n: ("tel" if len(n) == 11 else "ID") + n,
    "parenthesised": lambda n: f"({n[:3]}){n[3:]}" if len(n) == 11 else f"({n[:6]}){n[6:]}",
    "commas": lambda n: ",".join(_groups(n)),
    "full-width commas": lambda n: "，".join(_groups(n)),
    "enumeration commas": lambda n: "、".join(_groups(n)),
    "middle dots": lambda n: "·".join(_groups(n)),
    "tabs": lambda n: "\t".join(_groups(n)),
    "Arabic-Indic": lambda n: n.translate(ARABIC_INDIC),
    "Devanagari": lambda n: n.translate(DEVANAGARI),
    "line breaks": lambda n: "\n".join(_groups(n)),
    "CRLF": lambda n: "\r\n".join(_groups(n)),
    "underscores": lambda n: "_".join(_groups(n)),
    "tildes": lambda n: "~".join(_groups(n)),
    "one digit at a time": lambda n: " ".join(n),
    "Chinese digits": lambda n: n.translate(CHINESE),
}
INLINE = [name for name in SPELLINGS if name not in ("line breaks", "CRLF")]  # a subject is one line


def hidden(number: str) -> range:
    """The positions masking hides: a phone's 4th–7th digits, an ID's all but the first 6 and last 4."""
    return range(3, 7) if len(number) == 11 else range(6, len(number) - 4)


def random_phone(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def random_id(rng: random.Random, length: int) -> tuple[str, str]:
    """An ID (18) or 残疾人证号 (20) and its twin with the birth year's last digit (hidden) changed; both with a wrong
    check character, so the registry's checks say the same of both (a check digit is a function of hidden digits)."""
    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 60))
    first = f"1311{rng.randrange(100):02d}{birth:%Y%m}{rng.randrange(1, 29):02d}{rng.randrange(1000):03d}"
    twin = first[:9] + str((int(first[9]) + 1) % 10) + first[10:]
    check = rng.choice([c for c in "0123456789X" if c not in (check_digit(first), check_digit(twin))])
    tail = f"{rng.randrange(1, 8)}{rng.randrange(1, 5)}" if length == 20 else ""
    return first + check + tail, twin + check + tail


def twin_phone(phone: str, rng: random.Random) -> str:
    at = rng.choice(hidden(phone))
    return phone[:at] + str((int(phone[at]) + 1) % 10) + phone[at + 1 :]


_SEPARATORS = re.compile(f"[\\s\\-./()·・,、_~～{IGNORABLE}]")
_DECIMAL = re.compile(r"\d")


def folded(text: str) -> str:
    """Page text as a number hunter reads it: entities decoded, NFKC, every script's digits as ASCII ones, no
    separators or invisible characters."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", html.unescape(text)).translate(CHINESE_FOLDED))
    return _DECIMAL.sub(lambda digit: str(unicodedata.decimal(digit.group())), text)


def leaks(text: str, number: str) -> bool:
    """Whether `text` shows a hidden digit of `number`: the hidden digits with a shown one either side."""
    span = hidden(number)
    return number[span.start - 1 : span.stop + 1] in folded(text) or number in folded(text)


# ---------------------------------------------------------------------------------------------
# Pure: the recogniser and masking


@pytest.mark.parametrize("seed", range(40))
def test_every_spelling_of_a_random_number_is_recognised_and_masked(seed):
    rng = random.Random(seed)
    numbers = [random_phone(rng), random_id(rng, 18)[0], random_id(rng, 20)[0]]
    for number in numbers:
        for name, spell in SPELLINGS.items():
            context = rng.choice(["联系电话：{}。", "证号{}有误", "{}", "王斐（{}）", "请拨{}转", "备注 {} 号码"])
            text = context.format(spell(number))
            found = find_numbers(text)
            assert [n.digits for n in found] == [number], (name, text, found)
            masked = mask_personal(text)
            assert not leaks(masked, number), (name, text, masked)
            assert mask_personal(masked) == masked, (name, masked)


@pytest.mark.parametrize(
    "text",
    [
        "2020-09-20 23:59:59",
        "2020年4月18日 10:00",
        "2020.04.18",
        "20200418",
        "完成 173 人，金额 2000.50 元",
        "衡残联字〔2020〕20号",
        "编号 12345678901234",
        "第 1 2 3 4 5 6 7 8 9 10 11 行",
        "100 56 56 3 100 60 60 5",
        "附件2 #595 → #610",
        "目标数 1500 完成数 1320 百分比 88.0%",
        "版本 1.2.3.4567.890",
        "邮编 053000",
        "2020-04-01 至 2020-04-30",
        "共 13 个单位 4 个部门",
        "(2020)12号",
        "1/2/3/4/5/6/7/8/9/10/11/12",
        "2020、2021年",
        "2019，2020，2021 年度",
        "金额 1,234 元，合计 1,234,567.89 元",
        "分别完成 156、234、178、23 人",
        "第 1、2、3 条",
        "目标数\t1500\t完成数\t1320",
        "序号\t姓名\t2020\t2021",
        "约翰·史密斯 2020·04",
        "完成数 2662889",
        "完成数 2662889 人，电话回访 26628890 次",
        "目标数\n1500\n完成数\n1320",
        "156\n234\n178\n23",
        "1530\n2662\n889",
        "2020~2021 年度，13~18 岁",
        "附件3_2020_04_景县.xlsx",
        "二〇二〇年十二月，一一对应，三三两两",
        "第 1 2 3 4 5 6 7 8 9 0 1 2 行",
        "评分 5 4 3 5 5 4 3 2 5 4 3 5 5 4 3",
    ],
)
def test_dates_amounts_and_document_numbers_are_no_personal_numbers(text):
    assert find_numbers(text) == [] and mask_personal(text) == text


# ---------------------------------------------------------------------------------------------
# The archive: twins A and B


@dataclasses.dataclass(frozen=True)
class Numbers:
    phones: tuple[str, ...]
    ids: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return self.phones + self.ids


def twin_numbers(seed: int) -> tuple[Numbers, Numbers]:
    rng = random.Random(seed)
    phones = [random_phone(rng) for _ in range(3)]
    ids = [random_id(rng, length) for length in (20, 20, 18)]
    return (
        Numbers(tuple(phones), tuple(first for first, _ in ids)),
        Numbers(tuple(twin_phone(phone, rng) for phone in phones), tuple(twin for _, twin in ids)),
    )


def _registry(numbers: Numbers, spell) -> bytes:
    book = openpyxl.load_workbook(DATA / "workbooks" / "rehab-registry-two-age-sheets.xlsx")
    sheet = book.worksheets[0]
    for row, (person_id, phone) in enumerate(zip(numbers.ids, numbers.phones), start=4):
        sheet.cell(row, 3).value = spell(person_id, row)
        sheet.cell(row, 6).value = spell(phone, row + 10)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _mail(sender: str, subject: str, day: int, body: str, files=(), ident: str = "") -> bytes:
    message = compose(sender, "hskf2006@126.com", subject, datetime(2020, 4, day, 10, tzinfo=SHANGHAI), body=body)
    message.replace_header("Message-ID", f"<{ident or day}@property.test>")
    for name, data in files:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    if message.is_multipart():
        message.set_boundary(f"----=_Part_{day}")
    return message.as_bytes()


def fill(deps, numbers: Numbers, seed: int) -> None:
    """The same messages, registry and staff entry for A and B, each number in spellings chosen by `seed`."""
    names = list(SPELLINGS)

    def spell(number: str, salt: int, among: list[str] = names) -> str:
        return SPELLINGS[random.Random(seed * 1000 + salt).choice(among)](number)

    phone, other, third = numbers.phones
    person, child, adult = numbers.ids
    raws = [
        _mail(
            "zqxcl@163.com",
            f"枣强县4月份报表 联系人 {spell(phone, 1, INLINE)}",
            18,
            f"附件是 4 月份报表。残疾人证号 {spell(person, 2)}，电话 {spell(other, 3)}；身份证 {spell(adult, 4)}。",
            [("康复服务实名制登记表.xlsx", _registry(numbers, spell))],
        ),
        _mail(
            "tcqcl@163.com",
            f"桃城区 {spell(child, 5, INLINE)} 情况说明",
            19,
            "\n".join(f"{name}：{SPELLINGS[name](number)}" for number in numbers.all for name in names),
        ),
        _mail(f"{third}@163.com", "咨询", 20, f"我的电话 {spell(third, 6)}，证号 {spell(child, 7)}"),
    ]
    ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "kfb", "import") for raw in raws])
    with deps.db.session() as session:
        add_entry(
            session,
            "枣强县",
            "media",
            "city",
            date(2020, 4, 2),
            f"衡水日报报道，联系 {spell(other, 8)}，证号 {spell(person, 9)}",
            "孙倩",
        )
    add_accounts(deps)


@pytest.fixture
def twin_url(database_url, tmp_path):
    """A second, empty database beside the test's own."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/twin.db"
        return
    import psycopg

    admin = psycopg.connect(POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield _postgres_schema_url(POSTGRES_URL, schema)
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


SEED = 2020


@pytest.fixture
def twins(config, deps, twin_url, tmp_path):
    from bot.daemon.deps import open_deps

    first, second = twin_numbers(SEED)
    twin_config = make_config(tmp_path / "twin", twin_url)
    twin_deps = open_deps(twin_config, sleep=lambda seconds: None, backoff=0.0)
    fill(deps, first, SEED)
    fill(twin_deps, second, SEED)
    clock = lambda: datetime(2020, 5, 1, 9, tzinfo=SHANGHAI)  # noqa: E731
    apps = [
        create_app(c, dataclasses.replace(d, clock=clock), secret_key="test")
        for c, d in ((config, deps), (twin_config, twin_deps))
    ]
    yield (first, second), (deps, twin_deps), apps
    twin_deps.close()


def queries(number: str, rng: random.Random) -> list[str]:
    """A number in every spelling, and pieces of it of every length (each holding a hidden digit), in spellings."""
    found = [spell(number) for spell in SPELLINGS.values()]
    span = hidden(number)
    for length in range(1, len(number) + 1):
        for _ in range(2):
            start = rng.randrange(max(0, span.start - length + 1), min(span.stop, len(number) - length + 1))
            piece = number[start : start + length]
            found.append(
                rng.choice(
                    [
                        piece,
                        piece.translate(FULL),
                        piece.translate(SUB),
                        piece.translate(SUPER),
                        " ".join(piece[i : i + 3] for i in range(0, len(piece), 3)),
                    ]
                )
            )
    return found


FILTERS = (
    {},
    {"unit": "枣强县"},
    {"kind": "report", "month": "2020-04"},
    {"sender": "zqxcl@163.com"},
    {"order": "relevance"},
)


def hits(deps, text: str, filters: dict, personal: bool = False) -> list[int]:
    with deps.db.session() as session:
        return [m.id for m in search(session, Query(text=text, limit=0, personal=personal, **filters))]


def test_a_masked_search_answers_the_same_whatever_a_hidden_digit_is(twins):
    """GIVEN archives A and B that differ only in one hidden digit of each number WHEN a masked viewer searches
    for any spelling or piece of either number, with any filter THEN A and B give the same hits; and in A the
    true number and the changed one give the same hits."""
    (first, second), (a, b), _ = twins
    rng = random.Random(SEED)
    asked = 0
    for number, twin in zip(first.all, second.all):
        for query in queries(number, rng) + queries(twin, rng):
            filters = rng.choice(FILTERS)
            assert hits(a, query, filters) == hits(b, query, filters), (number, query, filters)
            asked += 1
        for spell in SPELLINGS.values():
            for filters in FILTERS:
                assert hits(a, spell(number), filters) == hits(a, spell(twin), filters), (number, spell(twin))
    assert asked > 500
    # Staff do find the true number and not its twin: the archives really differ.
    assert hits(a, first.ids[0], {}, personal=True) and not hits(a, second.ids[0], {}, personal=True)
    assert hits(b, second.ids[0], {}, personal=True)


_TOKEN = re.compile(r'name="csrf_token" value="[^"]+"')


def masked_pages(app) -> dict[str, str]:
    client = app.test_client()
    assert log_in(client, "审计员").status_code == 302
    paths = [
        "/queue",
        "/search",
        "/search?q=王斐",
        "/search?q=139",
        "/search?sender=zqxcl@163.com",
        "/entries",
        "/findings",
        "/standings?month=2020-04",
        "/matrix?month=2020-04",
        "/unit/枣强县?month=2020-04",
        "/unit/桃城区?month=2020-04",
    ]
    for message_id in (1, 2, 3):
        paths.append(f"/message/{message_id}")
        page = client.get(f"/message/{message_id}").get_data(as_text=True)
        paths += re.findall(r'href="(/message/\d+/reading/\d+\.csv)"', page)
    return {path: _TOKEN.sub("", client.get(path).get_data(as_text=True)) for path in paths}


def test_a_masked_viewer_sees_the_same_pages_whatever_a_hidden_digit_is(twins):
    """GIVEN archives A and B that differ only in one hidden digit of each number THEN every page and CSV a masked
    auditor opens is the same in A and B, and none shows a hidden digit; staff see the numbers whole."""
    (first, second), (a, _), (app_a, app_b) = twins
    pages_a, pages_b = masked_pages(app_a), masked_pages(app_b)
    assert [path for path in pages_a if path.endswith(".csv")]  # the registry, exported
    for path, page in pages_a.items():
        assert page == pages_b[path], path
        for number in first.all:
            assert not leaks(page, number), (path, number)
    staff = app_a.test_client()
    assert log_in(staff, "孙倩").status_code == 302
    whole = folded(staff.get("/message/1").get_data(as_text=True)) + folded(
        staff.get("/message/2").get_data(as_text=True)
    )
    assert all(number in whole for number in first.all)
    explained = staff.get("/unit/枣强县?month=2020-04").get_data(as_text=True)
    assert first.phones[1] in folded(explained)


def test_the_ignorable_set_spelt_out_is_what_the_ignorable_class_matches():
    """IGNORABLE is written as a regex class; the set the scanner looks characters up in is made from its
    ranges without a regex, and must hold exactly the characters the class matches."""
    matched = {chr(point) for point in range(0x10000) if personal._IGNORED.fullmatch(chr(point))}
    assert matched == personal._IGNORABLE_SET and "\u200b" in matched


def test_the_digit_like_ranges_are_every_character_nfkc_folds_to_digits():
    """DIGIT_LIKE is written as ranges; scanning the code points (the BMP outside the CJK ideographs and
    surrogates, and the planes' digit blocks) for characters whose NFKC form is ASCII digits, with or
    without separators, finds exactly those."""
    digits, separators = set("0123456789"), set(" -./()")
    found = {}
    for start, end in ((0x80, 0x3400), (0xA000, 0xD800), (0xF900, 0x10000), (0x1D400, 0x1D800), (0x1F100, 0x1F200)):
        for point in range(start, end):
            folded = unicodedata.normalize("NFKC", chr(point))
            if folded != chr(point) and digits & set(folded) and set(folded) <= digits | separators:
                found[chr(point)] = folded
    assert found == personal.DIGIT_LIKE and personal.DIGIT_LIKE["①"] == "1" and personal.DIGIT_LIKE["⑴"] == "(1)"
