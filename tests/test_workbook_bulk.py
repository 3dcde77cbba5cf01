"""The workbook reader's bulk paths. A 50,000-row registry is read a block of rows at a time and
checked column by column with C-level calls, with a fast path for the usual clean block; these
tests hold each fast path to the plain per-cell rule it stands for, and read a registry longer than
one block with its faults placed on both sides of a block's edge."""

from __future__ import annotations

import copy
import io
import pickle
import random
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from parsers.checks import ID18_SHAPE, ID20_SHAPE, check_digit, failing_ids, failing_phones, phone_problem
from parsers.forms import FormReading, Person, Problem, persons_in_bulk
from parsers.records import Unit
from parsers.workbook import read_attachment
from parsers.xlsx_scan import PiecesFile, StoredMember, stored_zip

SAMPLES = Path(__file__).resolve().parent / "data" / "workbooks"
UNITS = (Unit("桃城区", ("桃城",), (), (("rehab", 179),)),)
HEADER = [
    "序号",
    "姓名",
    "残疾人证号",
    "残疾类别",
    "残疾等级",
    "联系电话",
    "服务项目",
    "服务细项（内容）",
    "是否建档立卡残疾人",
    "备注",
]


def _id18(rng: random.Random) -> str:
    body = (
        f"1311{rng.randint(21, 28):02d}{rng.randint(1940, 2015)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        f"{rng.randint(0, 999):03d}"
    )
    return body + check_digit(body)


def _id20(rng: random.Random) -> str:
    return f"{_id18(rng)}{rng.randint(1, 7)}{rng.randint(1, 4)}"


def _messy_id(rng: random.Random) -> str:
    """An ID as senders type them: mostly right, else a wrong check digit, a bad tail, a lower-case x,
    a full-width digit, a space or a newline inside, too short, or nothing."""
    value = _id20(rng)
    damage = rng.randrange(12)
    if damage == 0:
        value = value[:17] + rng.choice("0123456789X".replace(value[17], "")) + value[18:]
    elif damage == 1:
        value = value[:18] + rng.choice(["80", "15", "1", "123"])
    elif damage == 2:
        value = value[:17] + "x" + value[18:]
    elif damage == 3:
        value = "１" + value[1:]
    elif damage == 4:
        value = value[:6] + rng.choice([" ", "\n"]) + value[6:]
    elif damage == 5:
        value = rng.choice(["", value[:12]])
    return value


@pytest.mark.parametrize("pattern, width", [(ID20_SHAPE, 20), (ID18_SHAPE, 18)])
def test_failing_ids_is_the_per_cell_rule(pattern, width):
    """GIVEN blocks of IDs, clean ones (the one-regex fast path) and damaged ones WHEN screened
    THEN exactly the IDs failing shape or GB 11643 check digit are reported, in order."""
    rng = random.Random(width)
    for size in [0, 1, 2, 7, 1024] + [rng.randint(1, 300) for _ in range(60)]:
        clean = rng.random() < 0.5
        ids = [(_id20(rng) if clean else _messy_id(rng))[:width] for _ in range(size)]
        expected = [
            i for i, value in enumerate(ids) if not (pattern.fullmatch(value) and check_digit(value[:17]) == value[17])
        ]
        assert failing_ids(ids, pattern) == expected


def test_failing_phones_is_the_per_cell_rule():
    rng = random.Random(11)
    shapes = [
        "13812345678",
        "",
        "0318-2662889",
        "2662889",
        "1381234567",
        "138123456789",
        "13812345678/2662889",
        " 13812345678",
        "13812345678\n",
        "１3812345678",
        "12345678901",
        "电话",
    ]
    for size in [0, 1, 5, 1024] + [rng.randint(1, 200) for _ in range(40)]:
        mobile_only = rng.random() < 0.5
        phones = [
            f"1{rng.choice('3456789')}{rng.randint(0, 10**9 - 1):09d}"
            if mobile_only or rng.random() < 0.6
            else rng.choice(shapes)
            for _ in range(size)
        ]
        assert failing_phones(phones) == [i for i, phone in enumerate(phones) if phone and phone_problem(phone)]


def test_persons_made_in_bulk_equal_persons_made_one_by_one():
    keys = ("name", "disability_id", "remark")
    columns = [["张丽", "", "王\x1f强", "李 四"], ["13112219811006027544", "x", "", "1"], ["", "", "备注", "\x1f"]]
    made = persons_in_bulk(range(4, 8), "7岁以上", keys, columns)
    one_by_one = [Person(row, "7岁以上", tuple(zip(keys, values))) for row, values in zip(range(4, 8), zip(*columns))]
    assert made == one_by_one
    assert [person.values for person in made] == list(zip(*columns))
    assert made[2].get("name") == "王\x1f强" and made[3].get("remark") == "\x1f" and made[0].get("phone", "?") == "?"
    assert made[1].fields == (("name", ""), ("disability_id", "x"), ("remark", ""))


def test_person_is_a_frozen_record_that_copies_pickles_and_prints():
    person = Person(4, "4月", (("name", "张丽"), ("category", "视力")))
    assert (person.row, person.sheet, person.keys, dict(person.fields)) == (
        4,
        "4月",
        ("name", "category"),
        {"name": "张丽", "category": "视力"},
    )
    assert pickle.loads(pickle.dumps(person)) == person == copy.deepcopy(person)
    assert hash(person) == hash(Person(4, "4月", person.fields)) and person != Person(5, "4月", person.fields)
    assert repr(person) == "Person(row=4, sheet='4月', fields=(('name', '张丽'), ('category', '视力')))"
    assert Person(1, "s", ()).fields == () and persons_in_bulk([1], "s", (), []) == [Person(1, "s", ())]
    with pytest.raises(AttributeError):
        person.sheet = "5月"  # type: ignore[misc]


def test_a_reading_pickles_its_persons_as_blocks_and_comes_back_equal():
    """GIVEN readings whose persons are one uniform block, several sheets, cells holding the block
    separator or kept as a tuple, no persons at all WHEN pickled (as a reader process sends them back)
    THEN each comes back equal, person for person, with the same rows, sheets and fields."""
    uniform = persons_in_bulk(
        list(range(5, 2005)),
        "Sheet1",
        ("name", "disability_id"),
        [[f"人{n}" for n in range(2000)], [f"{n:020d}" for n in range(2000)]],
    )
    mixed = [
        *uniform[:3],
        Person(9, "5月", (("name", "a\x1eb"),)),
        Person(10, "5月", (("name", "x\x1fy"),)),
        *persons_in_bulk([11, 12], "5月", ("name",), [["丙", "丁"]]),
        Person(13, "6月", ()),
        *persons_in_bulk([14], "6月", ("phone", "name"), [["13800000000"], [""]]),
    ]
    for persons in (uniform, mixed, []):
        reading = FormReading(
            source="附件3.xlsx",
            form=3,
            unit="桃城区",
            month="2020-05",
            rows=len(persons),
            persons=tuple(persons),
            text="t",
            problems=(Problem(None, 3, "B", "id", "m"),),
        )
        back = pickle.loads(pickle.dumps(reading, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == reading
        assert [(p.row, p.sheet, p.fields) for p in back.persons] == [(p.row, p.sheet, p.fields) for p in persons]
        assert all(type(p) is Person for p in back.persons)


def test_pieces_file_reads_and_seeks_as_one_file():
    rng = random.Random(5)
    for _ in range(300):
        pieces = [rng.randbytes(rng.randint(0, 9)) for _ in range(rng.randint(0, 6))]
        pieced, whole = PiecesFile(pieces), io.BytesIO(b"".join(pieces))
        for _ in range(10):
            operation = rng.randrange(3)
            if operation == 0:
                size = rng.choice([-1, None, 0, 1, 3, 7, 100])
                assert pieced.read(size) == whole.read(size)
            elif operation == 1:
                offset, whence = rng.randint(-5, 30), rng.choice([io.SEEK_SET, io.SEEK_CUR, io.SEEK_END])
                if whence == io.SEEK_SET and offset < 0:
                    with pytest.raises(ValueError):
                        pieced.seek(offset, whence)
                else:
                    assert pieced.seek(offset, whence) == whole.seek(offset, whence)
            else:
                into, expected = bytearray(rng.randint(0, 10)), bytearray(0)
                expected[:] = into
                assert pieced.readinto(into) == whole.readinto(expected) and into == expected
            assert pieced.tell() == whole.tell()


def test_stored_zip_pieces_are_a_zip_of_the_members():
    members = {
        "xl/workbook.xml": [b"<workbook/>"],
        "xl/worksheets/sheet1.xml": [b"<row>", b"", b"</row>" * 500],
        "名字.xml": [b""],
    }
    pieces = stored_zip(
        [
            StoredMember(name, chunks, zlib.crc32(b"".join(chunks)), sum(map(len, chunks)))
            for name, chunks in members.items()
        ]
    )
    with zipfile.ZipFile(PiecesFile(pieces)) as archive:
        assert {name: archive.read(name) for name in archive.namelist()} == {
            name: b"".join(chunks) for name, chunks in members.items()
        }
        assert archive.testzip() is None


def _registry(rows: list[list]) -> bytes:
    sys.path.insert(0, str(SAMPLES))
    import office_bytes

    table = [
        ["桃城区残联4月份康复服务实名制登记表"],
        ["填报单位：桃城区残联", None, None, "填表人：张丽"],
        HEADER,
        *rows,
    ]
    return office_bytes.zip_bytes(office_bytes.xlsx_parts(office_bytes.sheet_xml(table)))


def test_a_registry_longer_than_a_block_reports_each_fault_at_its_cell():
    """GIVEN 2,600 person rows (blocks of 1,024 are read at once) with faults on both sides of the
    first block's edge, a repeated header, a duplicate person two blocks apart, and a 备注 row
    with persons typed below it WHEN it is read THEN every person is read with the sender's text (those below
    the note too: they were dropped silently) and every fault is reported at its row and column."""
    rng = random.Random(2020)
    rows: list[list] = []
    for number in range(1, 2601):
        rows.append(
            [
                number,
                "张丽",
                _id20(rng),
                "肢体",
                "二级",
                f"1{rng.choice('3578')}{rng.randint(0, 10**9 - 1):09d}",
                "康复训练",
                "运动疗法",
                "否",
                None,
            ]
        )
    first = 4  # the spreadsheet row of rows[0]: title, 填报单位 and header come before
    rows[1019][2] = rows[1019][2][:17] + ("0" if rows[1019][2][17] != "0" else "1") + rows[1019][2][18:]
    rows[1020][1] = None
    rows[1021][5] = "12345"
    rows[1022][5] = 13812345678  # a phone stored as a number is still a good phone
    rows[1025][2] = 13112219811006027544  # an ID stored as a number has lost its last digits
    rows[1026][3] = "言语"
    rows[2100][2] = rows[7][2]  # the same person for the same service, two blocks apart
    rows[1500] = [None, *HEADER[1:]]  # the header again, as when two tables are pasted together
    rows[2500] = ["备注：服务项目按目录填写", None, None]
    (reading,) = read_attachment("附件3.xlsx", _registry(rows), UNITS)

    assert (reading.form, reading.unit, reading.month) == (3, "桃城区", "2020-04")
    assert reading.rows == len(reading.persons) == 2600 - 2
    assert [person.row for person in reading.persons] == [first + i for i in range(2600) if i not in (1500, 2500)]
    assert reading.persons[1026].get("category") == "言语" and reading.persons[1022].get("phone") == "13812345678"
    assert reading.persons[0].fields == tuple(
        zip(
            ("name", "disability_id", "category", "grade", "phone", "service", "detail", "registered_poor", "remark"),
            (*rows[0][1:9], ""),
        )
    )
    assert [(p.row, p.column, p.code) for p in reading.problems] == [
        (first + 1019, "C", "bad-disability-id"),
        (first + 1020, "B", "empty-required"),
        (first + 1021, "F", "bad-phone"),
        (first + 1025, "C", "id-precision-lost"),
        (first + 7, "C", "duplicate-person"),  # the sheet's problems by row, then the form's duplicates
        (first + 2100, "C", "duplicate-person"),
    ]


def test_the_collector_paused_for_persons_runs_again_when_the_last_overlapping_pause_ends():
    """GIVEN two threads making persons at once (their pauses overlap, one ending first) THEN the cyclic
    collector stays off until the second ends and is on again after it; left off by someone else, it
    stays off."""
    import gc
    import threading

    from parsers.forms import _uncollected

    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with _uncollected:
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with _uncollected:
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        with _uncollected:
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
