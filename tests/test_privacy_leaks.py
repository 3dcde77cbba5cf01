"""Routes by which a viewer without the personal grant learnt hidden digits, each closed, on SQLite and PostgreSQL:

- the 待处理 handle of a finding (F + 8 hex digits) was a digest of its text with the 证号 whole: a script tried every
  birth date and sequence number against it in seconds. Now it is made of what such a viewer is shown (the text
  masked, where the person is registered), so twin archives differing only in hidden digits give the same
  handles, pages and order; staff's marks made under the old keys still handle their items;
- 出生年月 (附件9, 附件10) was shown whole beside the masked ID, whose hidden digits are mostly that birth date and
  whose last, shown, character checks them all: two or three IDs were left. It is masked like an ID now, on the
  page, in the CSV and in what a masked search finds;
- phones and IDs written with commas, enumeration commas, middle dots or tabs between their pieces, or in another
  script's digits (Arabic-Indic, Devanagari), stayed visible;
- so did numbers broken across line breaks (in bodies and in registry cells other than 联系电话), written with
  underscores or tildes, one digit at a time or in Chinese digits, and landlines without an area code after
  a phone word (座机：2662889), and a masked search found them by their hidden digits. Staff's `183 4295 9141`
  asked for three figures; it asks for the number now.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import random
import re
from datetime import UTC, datetime

import openpyxl
import pytest

from archive.findings import PersonFinding
from archive.ingest import Incoming, ingest_batch
from archive.models import QueueHandledRow
from archive.queue import _digest, _earlier_keys, _finding_items, attention, every_finding, mark_handled
from archive.search import Query, query_terms, search
from bot.daemon.deps import open_deps
from bot.demo.folder import compose
from bot.web.app import create_app
from parsers.checks import check_digit
from parsers.personal import find_numbers, fold
from parsers.privacy import cell_digits, find_personal, mask_cell, mask_personal
from scoring.evidence import Finding
from tests.conftest import make_config
from tests.test_privacy_property import folded, twin_url  # noqa: F401  (the fixture: a second, empty database)
from tests.webapp import BOOKS, REHAB, SHANGHAI, _message, add_accounts, log_in

# ---------------------------------------------------------------------------------------------
# The queue's handles of findings


def _id_with_wrong_check(first17: str, twin17: str, tail: str = "24") -> tuple[str, str]:
    """A 20-digit 残疾人证号 and its twin (other first 17), both with a check character wrong for either, so the
    registry's checks say the same of both (a check character is a function of the hidden digits)."""
    check = next(c for c in "0123456789X" if c not in (check_digit(first17), check_digit(twin17)))
    return first17 + check + tail, twin17 + check + tail


# 王斐's and 刘秀英's IDs share the region; the twin of 王斐's has a later birth year (a hidden digit), so in one
# archive 王斐's number sorts before 刘秀英's and in the other after it. 赵建国's twin differs in its birth day.
FIRST = {
    "王斐": _id_with_wrong_check("13112419620315011", "13112419920315011"),
    "刘秀英": _id_with_wrong_check("13112419700607022", "13112419700607022"),
    "赵建国": _id_with_wrong_check("13112419800101033", "13112419800111033"),
}


def _registry(persons: dict[str, str]) -> bytes:
    """附件3 (rehab-registry-two-age-sheets.xlsx's first sheet) holding these persons only."""
    book = openpyxl.load_workbook(BOOKS / "rehab-registry-two-age-sheets.xlsx")
    book.remove(book.worksheets[1])
    sheet = book.worksheets[0]
    for offset, (name, person_id) in enumerate(persons.items()):
        sheet.cell(4 + offset, 2).value = name
        sheet.cell(4 + offset, 3).value = person_id
    if len(persons) < 3:
        sheet.delete_rows(4 + len(persons), 3 - len(persons))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _package(sender: str, unit: str, day: int, persons: dict[str, str]) -> bytes:
    mail = compose(sender, REHAB, f"{unit}4月份报表", datetime(2020, 4, day, 10, tzinfo=SHANGHAI), body="见附件")
    mail.replace_header("Message-ID", f"<{day}@leaks.test>")
    mail.add_attachment(
        _registry(persons), maintype="application", subtype="octet-stream", filename="康复服务实名制登记表.xlsx"
    )
    mail.set_boundary(f"----=_Part_{day}")
    return mail.as_bytes()


def _whole_key(finding: Finding) -> str:
    """The key a finding had before: a digest of its text whole."""
    return _digest(f"{finding.kind}\n{finding.unit}\n{finding.message}")


def _shared(deps, which: int) -> None:
    """枣强县 registers 王斐, 刘秀英 and 赵建国; 桃城区 registers 王斐 and 刘秀英 too (one item of two persons),
    饶阳县 赵建国 (one item of one person). `which`: 0 the first archive's numbers, 1 the twin's."""
    ids = {name: pair[which] for name, pair in FIRST.items()}
    raws = [
        _package("zqxcl@163.com", "枣强县", 9, ids),
        _package("tcqcl@163.com", "桃城区", 10, {name: ids[name] for name in ("王斐", "刘秀英")}),
        _package("ryxcl@163.com", "饶阳县", 11, {"赵建国": ids["赵建国"]}),
    ]
    ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "kfb", "import") for raw in raws])
    add_accounts(deps)


@pytest.fixture
def shared_twins(config, deps, twin_url, tmp_path):  # noqa: F811
    twin_config = make_config(tmp_path / "twin", twin_url)
    twin_deps = open_deps(twin_config, sleep=lambda seconds: None, backoff=0.0)
    _shared(deps, 0)
    _shared(twin_deps, 1)
    clock = lambda: datetime(2020, 5, 1, 9, tzinfo=UTC)  # noqa: E731
    apps = [
        create_app(c, dataclasses.replace(d, clock=clock), secret_key="test")
        for c, d in ((config, deps), (twin_config, twin_deps))
    ]
    yield (deps, twin_deps), apps
    twin_deps.close()


def _finding_items_of(deps) -> list:
    with deps.db.session() as session:
        return [item for item in attention(session, include_handled=True) if item.reason == "finding"]


_TOKEN = re.compile(r'name="csrf_token" value="[^"]+"')


def _masked_page(app, path: str) -> str:
    client = app.test_client()
    assert log_in(client, "审计员").status_code == 302
    return _TOKEN.sub("", client.get(path).get_data(as_text=True))


def test_a_findings_handle_and_order_are_the_same_whatever_a_hidden_digit_is(shared_twins):
    """GIVEN archives A and B that differ only in hidden digits of three 残疾人证号, each registered by two units
    (in B one of them sorts after another, in A before) WHEN the queue is read THEN every finding item has the same
    key and handle in A and B, and a masked auditor's 待处理 and 核查发现 pages are the same; no handle is a digest
    of the text with the 证号 whole, which a script would invert by trying every hidden digit."""
    (a, b), (app_a, app_b) = shared_twins
    items_a, items_b = _finding_items_of(a), _finding_items_of(b)
    assert len(items_a) == 2 and any(len(item.detail) == 1 for item in items_a)  # one person alone: its own key
    assert [(i.key, i.handle, mask_personal(i.text)) for i in items_a] == [
        (i.key, i.handle, mask_personal(i.text)) for i in items_b
    ]
    with a.db.session() as session:
        findings = [f for f in every_finding(session) if isinstance(f, PersonFinding)]
    with b.db.session() as session:
        twins = [f for f in every_finding(session) if isinstance(f, PersonFinding)]
    assert len(findings) == 3 and all(FIRST[f.name][0] in f.message for f in findings)
    assert [f.name for f in findings] == [f.name for f in twins]  # in the order they are written, not by 证号
    whole = {_whole_key(f)[:8] for f in findings}
    assert not whole & {item.handle[1:] for item in items_a}
    for path in ("/queue", "/findings"):
        page_a, page_b = _masked_page(app_a, path), _masked_page(app_b, path)
        assert page_a == page_b, path
        assert all(pair[0] not in page_a for pair in FIRST.values()), path
        assert [item.handle for item in items_a if path == "/queue"] == re.findall(r'id="item-(F[0-9a-f]{8})"', page_a)


def test_a_handle_is_a_function_of_the_masked_text_and_where_the_person_is():
    """Pure: two findings that differ only in a hidden digit of the 证号 give one handle; another place (another
    row) another; a mark made under a finding's older key (a digest of its text whole) still handles it."""
    person_id, twin = FIRST["王斐"]
    places = (("枣强县", 1, "7岁以上", 4), ("桃城区", 2, "7岁以上", 4))

    def finding(number: str, where=places) -> PersonFinding:
        message = (
            f"王斐（证号 {number}）同时出现在枣强县、桃城区的附件3康复服务实名制登记表中，同一人不应由两个单位重复登记"
        )
        return PersonFinding("枣强县", "person_in_two_units", message, (1, 2), form=3, name="王斐", places=where)

    [one], [other] = _finding_items([finding(person_id)]), _finding_items([finding(twin)])
    assert one.key == other.key and one.handle == other.handle
    [elsewhere] = _finding_items([finding(person_id, (("枣强县", 1, "7岁以上", 5), places[1]))])
    assert elsewhere.handle != one.handle
    plain = Finding(
        "枣强县", "cumulative_decreased", "康复服务 完成数 120 → 100（附件2 #1 → #2），完成数应逐月累计", (1, 2)
    )
    [kept] = _finding_items([plain])
    assert f"finding:{_whole_key(plain)}" in _earlier_keys([plain])[kept.key][0]  # staff's marks of those stand


def test_an_item_marked_handled_twice_at_once_is_marked_once_and_the_second_told(deps):
    """GIVEN one item WHEN two staff mark it handled at the same moment (a double click) THEN one mark is kept and
    the other is told the item is handled, by whom: the second was a 500 page (UNIQUE constraint: decisions
    tester)."""
    import threading

    from parsers.errors import MailroomError

    finding = Finding("景县", "registry_mismatch", "完成数与实名制登记表不符", (12,))

    def found(session):
        return [finding]

    with deps.db.session() as session:
        [item] = attention(session, findings=found)
    start, outcomes = threading.Barrier(4), []

    def mark(by: str) -> None:
        with deps.db.session() as session:
            start.wait()
            try:
                mark_handled(session, item.handle, "已核实", by, zone=UTC, findings=found)
                session.commit()
                outcomes.append("marked")
            except MailroomError as refused:
                outcomes.append(str(refused))

    threads = [threading.Thread(target=mark, args=(name,)) for name in ("甲", "乙", "丙", "丁")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 4 and outcomes.count("marked") == 1, outcomes
    assert all("处理" in said for said in outcomes if said != "marked"), outcomes


def test_the_same_wrong_figure_in_two_months_is_two_items_each_handled_apart(deps):
    """GIVEN 景县's September and November 附件2 each giving 适配辅助器具 114 against 115 registered persons (two
    findings of the same text, one a message) WHEN staff mark September's handled THEN November's still waits,
    where one handle named both and the mark hid November's."""
    text = "完成数与实名制登记表不符：适配辅助器具的完成数填的是 114，附件7中登记了 115 人"
    september, november = (Finding("景县", "registry_mismatch", text, (message,)) for message in (12, 13))

    def found(session):
        return [september, november]

    with deps.db.session() as session:
        first, second = attention(session, findings=found)
        assert first.handle != second.handle and (first.message_ids, second.message_ids) == ((12,), (13,))
        mark_handled(session, first.handle, "已电话核实", "孙倩", zone=UTC, findings=found)
        session.commit()
    with deps.db.session() as session:
        assert [item.message_ids for item in attention(session, findings=found)] == [(13,)]


def test_a_mark_under_the_text_only_key_handles_no_finding_on_mail_archived_since(deps):
    """GIVEN staff marked 景县's September finding handled under its old key (its text alone, before keys named the
    messages) WHEN November's 附件2 brings a finding of the same text THEN September's stays handled and
    November's waits: a mark stands for what there was when it was made."""
    from tests.webapp import SHANGHAI, _message, store_one

    def arrives(month: int) -> int:
        subject = f"景县{month}月份报表"
        return store_one(
            deps, _message("jxcl2020@163.com", subject, datetime(2020, month, 15, tzinfo=SHANGHAI), "见附件")
        )

    text = "完成数与实名制登记表不符：适配辅助器具的完成数填的是 114，附件7中登记了 115 人"
    september = Finding("景县", "registry_mismatch", text, (arrives(9),))
    with deps.db.session() as session:
        old = "finding:" + _digest("registry_mismatch\n景县\n" + text)
        session.add(QueueHandledRow(key=old, note="已核实", handled_by="孙倩", handled_at=datetime.now(UTC)))
        session.commit()
    november = Finding("景县", "registry_mismatch", text, (arrives(11),))
    with deps.db.session() as session:
        items = attention(session, include_handled=True, findings=lambda _: [september, november])
    assert [(item.message_ids, item.handled_by) for item in items if item.reason == "finding"] == [
        (september.message_ids, "孙倩"),
        (november.message_ids, None),
    ]


def test_marks_made_under_the_old_keys_still_handle_their_items(deps):
    """GIVEN staff marked a finding handled when its key was a digest of its text whole (before this change) WHEN
    the queue is read THEN the item is handled, with that mark, and cannot be marked again; a new mark is kept
    under the new key."""
    _shared(deps, 0)
    with deps.db.session() as session:
        findings = [f for f in every_finding(session) if isinstance(f, PersonFinding) and f.name == "赵建国"]
        [alone] = findings
        old = f"finding:{_whole_key(alone)}"
        session.add(QueueHandledRow(key=old, note="已核实", handled_by="孙倩", handled_at=datetime.now(UTC)))
        session.commit()
    items = _finding_items_of(deps)
    [marked] = [item for item in items if item.detail == (alone.message,)]
    assert (marked.handled_by, marked.note) == ("孙倩", "已核实") and marked.key != old
    with deps.db.session() as session:
        assert marked.handle not in [item.handle for item in attention(session)]
        with pytest.raises(Exception, match="已于"):
            mark_handled(session, marked.handle, "again", "孙倩", zone=UTC)
        [group] = [item for item in items if item.handled_by is None]
        mark_handled(session, group.handle, "已电话核实", "孙倩", zone=UTC)
        session.commit()
    with deps.db.session() as session:
        assert not [item for item in attention(session) if item.reason == "finding"]


# ---------------------------------------------------------------------------------------------
# 出生年月


STUDENTS = {"2001.05": "13112220010505091043", "2002.03": "13112220020303092124"}  # college-students-form9.xlsx


@pytest.fixture
def students(config, deps):
    raw = _message(
        "wyxcl@163.com",
        "武邑县9月份报表",
        datetime(2020, 9, 18, 10, tzinfo=SHANGHAI),
        "见附件",
        ("college-students-form9.xlsx", "college-children-form10.xlsx"),
    )
    [outcome] = ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "kfb", "import")])
    add_accounts(deps)
    app = create_app(config, dataclasses.replace(deps, clock=lambda: datetime(2020, 10, 1, tzinfo=UTC)), "test")
    return app, deps, outcome.id


def _signed_in(app, name: str):
    client = app.test_client()
    assert log_in(client, name).status_code == 302
    return client


def test_a_birth_date_is_masked_for_an_auditor_without_the_grant(students):
    """GIVEN 附件9 and 附件10 with 出生年月 beside each student's ID WHEN a masked auditor opens the message and its
    tables' CSVs THEN no birth date is shown (their digits starred), so the masked ID's visible check character
    narrows nothing; staff and the granted auditor see them whole."""
    app, _, message_id = students
    births = [*STUDENTS, "2002.09", "2002.11"]  # 附件9's students, 附件10's children
    masked = _signed_in(app, "审计员").get(f"/message/{message_id}").get_data(as_text=True)
    assert "出生年月" in masked and "****.**" in masked
    assert not [born for born in births if born in masked]
    csvs = re.findall(rf'href="(/message/{message_id}/reading/\d+\.csv)"', masked)
    assert len(csvs) == 2
    for path in csvs:
        rows = list(csv.reader(io.StringIO(_signed_in(app, "审计员").get(path).get_data(as_text=True))))
        column = rows[0].index("出生年月")
        assert {row[column] for row in rows[1:]} == {"****.**"}, path
    for name in ("孙倩", "督查员"):
        whole = _signed_in(app, name).get(f"/message/{message_id}").get_data(as_text=True)
        assert all(born in whole for born in births), name


def test_a_masked_search_finds_nothing_by_a_birth_date_and_staff_do(students):
    """GIVEN 附件9 read into the search index WHEN a masked auditor searches for a student's 出生年月 THEN nothing is
    found (the stored text holds it masked); staff find the message by it in either spelling."""
    _, deps, message_id = students

    def hits(text: str, personal: bool) -> list[int]:
        with deps.db.session() as session:
            return [m.id for m in search(session, Query(text=text, limit=0, personal=personal))]

    for born in ("2001.05", "200105", "2001.0", "1.05"):
        assert hits(born, personal=False) == [], born
    for born in ("2001.05", "200105"):
        assert hits(born, personal=True) == [message_id], born
    assert hits("魏来", personal=False) == [message_id]  # the row itself is still found


@pytest.mark.parametrize(
    ("value", "shown", "digits"),
    [
        ("2001.05", "****.**", ["200105"]),
        ("1980年1月", "****年*月", ["19801"]),
        ("２００１．０５", "****.**", ["200105"]),
        ("", "", []),
    ],
)
def test_a_birth_date_cell_is_masked_whole(value, shown, digits):
    assert mask_cell("born", value) == shown and cell_digits("born", value) == digits


# ---------------------------------------------------------------------------------------------
# Spellings the recogniser missed


PHONE, ID = "13912345678", "131127198001010011"
SPELT = [
    "139，1234，5678",
    "139、1234、5678",
    "139·1234·5678",
    "139・1234・5678",
    "139,1234,5678",
    "139\t1234\t5678",
    "139， 1234， 5678",
    "١٣٩١٢٣٤٥٦٧٨",  # Arabic-Indic
    "۱۳۹۱۲۳۴۵۶۷۸",  # Extended Arabic-Indic (Persian)
    "१३९१२३४५६७८",  # Devanagari
    "1\ufe0f\u20e33\ufe0f\u20e39\ufe0f\u20e31\ufe0f\u20e32\ufe0f\u20e33\ufe0f\u20e34\ufe0f\u20e35\ufe0f\u20e36\ufe0f\u20e37\ufe0f\u20e38\ufe0f\u20e3",
]


@pytest.mark.parametrize("spelt", SPELT)
@pytest.mark.parametrize("context", ["联系电话：{}。", "{}", "王斐（{}）有误"])
def test_a_phone_in_pieces_or_in_other_digits_is_found_and_masked(spelt, context):
    text = context.format(spelt)
    assert [number.digits for number in find_numbers(text)] == [PHONE], text
    masked = mask_personal(text)
    assert fold(masked) == fold(context.format("139****5678")), masked  # fold: the keycaps' marks left after it
    assert mask_personal(masked) == masked


@pytest.mark.parametrize(
    "spelt", ["131127，19800101，0011", "131127、1980、0101、0011", "131127\t19800101\t0011", "١٣١١٢٧١٩٨٠٠١٠١٠٠١١"]
)
def test_an_id_in_pieces_or_in_other_digits_is_found_and_masked(spelt):
    assert [number.digits for number in find_numbers(f"身份证号 {spelt}。")] == [ID]
    assert mask_personal(f"身份证号 {spelt}。") == "身份证号 131127********0011。"


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("id_number", "١٣١١٢٧١٩٨٠٠١٠١٠٠١١", "131127********0011"),
        ("id_number", "١٣١١٢٧١٩٨٠٠١", "************"),  # malformed: every digit hidden
        ("disability_id", "१३११२७१९८००१", "************"),
        ("disability_id", "𐩀𐩁𐩂𐩃", "****"),  # Kharosthi: digits by Unicode, NFKC leaves them
        ("phone", "١٣٩١٢٣٤", "***1234"),  # a landline without its area code keeps its last 4
        ("phone", "139，1234，5678", "139****5678"),
        ("phone", "139\t1234\t5678", "139****5678"),
    ],
)
def test_an_id_or_phone_cell_in_any_digits_is_starred(key, value, shown):
    assert mask_cell(key, value) == shown


@pytest.mark.parametrize(
    "text",
    [
        "2020、2021年",
        "2018，2019，2020 年",
        "金额 1,234 元",
        "金额 1,234,567.89 元",
        "共 1,391,234,567 元",
        "各乡镇分别完成 156、234、178、23 人",
        "135，246，357，48",
        "第 1、2、3、4 条",
        "目标数\t1500\t完成数\t1320",
        "张三·李四 2020·04",
        "٢٠٢٠ ٠٤",
    ],
)
def test_lists_amounts_and_years_with_these_separators_are_no_personal_numbers(text):
    assert find_numbers(text) == [] and mask_personal(text) == text


def test_a_random_phone_and_id_in_these_spellings_are_masked():
    rng = random.Random(7)
    for _ in range(200):
        phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
        separator = rng.choice(["，", "、", "·", "・", ",", "\t", "， "])
        text = f"电话{separator.join([phone[:3], phone[3:7], phone[7:]])}。"
        assert [number.digits for number in find_numbers(text)] == [phone], text
        assert mask_personal(text) == f"电话{phone[:3]}****{phone[7:]}。"


# ---------------------------------------------------------------------------------------------
# Numbers across line breaks, with underscores or tildes, one digit at a time, in Chinese digits; landlines
# without an area code after a phone word


@pytest.mark.parametrize(
    ("text", "masked", "digits"),
    [
        ("身份证号码：131127\n19800101\n0011", "身份证号码：131127********0011", ["131127198001010011"]),
        ("139\n1234\n5682", "139****5682", ["13912345682"]),
        ("手机：139\r\n1234\r\n5683", "手机：139****5683", ["13912345683"]),
        ("131127\r\n1980\r\n0101\r\n0011", "131127********0011", ["131127198001010011"]),
        ("139_1234_5689", "139****5689", ["13912345689"]),
        ("131127_19800101_0011", "131127********0011", ["131127198001010011"]),
        ("139~1234~5690", "139****5690", ["13912345690"]),
        ("139～1234～5690", "139****5690", ["13912345690"]),
        ("1 3 9 1 2 3 4 5 6 8 0", "139****5680", ["13912345680"]),
        ("电话 1-3-9-1-2-3-4-5-6-8-0。", "电话 139****5680。", ["13912345680"]),
        ("1 3 1 1 2 7 1 9 8 0 0 1 0 1 0 0 1 X", "131127********001X", ["13112719800101001X"]),
        ("一三九一二三四五七零五", "139****5705", ["13912345705"]),
        ("幺三九 一二三四 五七〇五", "139****5705", ["13912345705"]),
        ("一三一一二七一九八〇〇一〇一〇〇一一", "131127********0011", ["131127198001010011"]),
        ("139 一二三四 5629", "139****5629", ["13912345629"]),  # digits of both kinds
        ("1391234五678", "139****5678", ["13912345678"]),
        ("13112719800101〇011", "131127********0011", ["131127198001010011"]),
        ("131127 一九八〇〇一〇一 0011", "131127********0011", ["131127198001010011"]),
        ("座机：2662889 或 26628890", "座机：***2889 或 ****8890", ["2662889", "26628890"]),
        ("联系电话：0318-7221234、2662889（办）", "联系电话：0318-***1234、***2889（办）", ["03187221234", "2662889"]),
        ("Tel: 266-2889", "Tel: ***2889", ["2662889"]),
        ("电话号码是 2662 8890，完成数 1320", "电话号码是 ****8890，完成数 1320", ["26628890"]),
        ("手机 13912345678，座机 1662889", "手机 139****5678，座机 ***2889", ["13912345678", "1662889"]),
        ("2662889（宅电）、2662 8890 (Tel)", "***2889（宅电）、****8890 (Tel)", ["2662889", "26628890"]),
        ("王斐 5662889（办公电话）", "王斐 ***2889（办公电话）", ["5662889"]),
        # the next line's own number (a list's) is not the rest of the one that ends a line
        (
            "9、张三 身份证号 131127198001010011\n10、李四 身份证号 131127198001010029\n11、王五 电话 0318-2662889\n"
            "2、赵六 手机 13912345678",
            "9、张三 身份证号 131127********0011\n10、李四 身份证号 131127********0029\n11、王五 电话 0318-***2889\n"
            "2、赵六 手机 139****5678",
            ["131127198001010011", "131127198001010029", "03182662889", "13912345678"],
        ),
        ("王五 电话 0318-2662889\r\n4. 赵六", "王五 电话 0318-***2889\r\n4. 赵六", ["03182662889"]),
        ("131127198001010011\n20: 备注", "131127********0011\n20: 备注", ["131127198001010011"]),
        # …but a number cut short by the line break goes on into it: none is left partly shown
        ("联系电话：1391234567\n8、13812345678", "联系电话：139****5678、138****5678", ["13912345678", "13812345678"]),
        ("座机 0318-266288\n9、", "座机 0318-***2889、", ["03182662889"]),
        ("1311271980010100\n11、", "131127********0011、", ["131127198001010011"]),
        ("13112719800101001\n1、", "131127********0011、", ["131127198001010011"]),
        # 15 digits before the break are no whole ID when three more make a well-formed 18: none of them shown
        ("131127198001010\n011、张三", "131127********0011、张三", ["131127198001010011"]),
        ("证号 131127198001010011，42", "证号 131127**********1142", ["13112719800101001142"]),
    ],
)
def test_a_number_in_these_spellings_is_found_and_masked(text, masked, digits):
    """A number broken across line breaks, written with underscores or tildes, one digit at a time or in Chinese
    digits, and a landline without its area code after a phone word or before a bracketed one (whatever its first,
    hidden, digits)."""
    assert [number.digits for number in find_personal(text)] == digits
    assert mask_personal(text) == masked
    assert mask_personal(masked) == masked


@pytest.mark.parametrize(
    "text",
    [
        "完成数 2662889",
        "完成数 2662889 人，电话回访 26628890 次",
        "完成数 2662889（电话回访）",
        "目标数\n1500\n完成数\n1320",
        "各乡镇分别完成\n156\n234\n178\n23 人",
        "2020~2021 年度，13~18 岁",
        "附件3_2020_04_景县.xlsx",
        "二〇二〇年十二月，一一对应",
        "2020 一二三四 完成数 1320",
        "第 1 2 3 4 5 6 7 8 9 0 1 2 行",
        "电话 12345",
    ],
)
def test_figures_in_these_spellings_are_no_personal_numbers(text):
    assert find_personal(text) == [] and mask_personal(text) == text


@pytest.mark.parametrize(
    ("key", "value", "shown", "digits"),
    [
        ("remark", "家属 139\n1234\n5703", "家属 139****5703", ["13912345703"]),
        ("institution", "家属 139\n1234\n5703", "家属 139****5703", ["13912345703"]),
        ("remark", "座机 2662881", "座机 ***2881", ["2662881"]),
        ("remark", "完成数 2662881", "完成数 2662881", []),
        ("phone", "139\n1234\n5678", "139****5678", ["13912345678"]),
        ("phone", "二六六二八八九", "***2889", ["2662889"]),
        ("id_number", "一三一一二七一九八〇〇一〇一〇〇一一", "131127********0011", ["131127198001010011"]),
    ],
)
def test_a_cell_in_these_spellings_is_masked(key, value, shown, digits):
    assert mask_cell(key, value) == shown and cell_digits(key, value) == digits


def test_a_number_in_groups_is_one_term_whoever_asks():
    """Staff's `183 4295 9141` asks for the number, not three figures; a masked asker's is its masked form."""
    for typed in ("183 4295 9141", "183-4295-9141", "183~4295~9141", "一八三 四二九五 九一四一"):
        [term] = query_terms(Query(text=typed))
        assert term.digits == "18342959141", typed
        [masked] = query_terms(Query(text=typed, personal=False))
        assert masked.text == "183****9141" and masked.digits is None, typed
    assert [term.text for term in query_terms(Query(text="联系 183 4295 9141 王斐"))] == ["联系", "18342959141", "王斐"]


# A's numbers and B's, one hidden digit changed; the digits masking hides, with a shown one either side.
BROKEN = {
    "id": ("131127198001010011", "131127198101010011"),
    "lf": ("13912345682", "13912355682"),
    "crlf": ("13912345683", "13912355683"),
    "underscores": ("13912345689", "13912355689"),
    "tildes": ("13912345690", "13912355690"),
    "single": ("13912345680", "13912355680"),
    "chinese": ("13912345705", "13912355705"),
    "seat": ("2662889", "2672889"),
    "seat8": ("26628890", "26728890"),
    "grouped": ("18342959141", "18342969141"),
    "cell": ("13912345703", "13912355703"),
    "cell_seat": ("2662881", "2672881"),
}
CHINESE_DIGITS = str.maketrans("0123456789", "〇一二三四五六七八九")


def _window(number: str) -> str:
    return number[2:8] if len(number) == 11 else number[5:15] if len(number) == 18 else number[: len(number) - 3]


def _broken_archive(deps, which: int) -> int:
    """A package whose body and registry hold BROKEN's numbers (`which`: 0 A's, 1 B's) in these spellings, and a
    mail of three figures that are no number (183 人, 4295 元, 9141 号). The package's id."""
    n = {key: pair[which] for key, pair in BROKEN.items()}

    def groups(number: str, apart: str) -> str:
        return apart.join([number[:3], number[3:7], number[7:]])

    body = "\n".join(
        [
            f"身份证号码：{n['id'][:6]}\n{n['id'][6:14]}\n{n['id'][14:]}",
            f"联系人 {groups(n['lf'], chr(10))}",
            f"手机：{groups(n['crlf'], chr(13) + chr(10))}",
            f"{groups(n['underscores'], '_')}，{groups(n['tildes'], '~')}",
            " ".join(n["single"]),
            n["chinese"].translate(CHINESE_DIGITS),
            f"座机：{n['seat']} 或 {n['seat8']}",
            "完成数 1320560",
            f"联系 {groups(n['grouped'], ' ')}",
        ]
    )
    book = openpyxl.load_workbook(BOOKS / "rehab-registry-two-age-sheets.xlsx")
    sheet = book.worksheets[0]
    sheet.cell(4, 10).value = f"家属 {groups(n['cell'], chr(10))}"
    sheet.cell(5, 10).value = f"座机 {n['cell_seat']}"
    out = io.BytesIO()
    book.save(out)
    mail = compose("zqxcl@163.com", REHAB, "枣强县4月份报表", datetime(2020, 4, 18, 10, tzinfo=SHANGHAI), body=body)
    mail.replace_header("Message-ID", "<18@broken.test>")
    mail.add_attachment(
        out.getvalue(), maintype="application", subtype="octet-stream", filename="康复服务实名制登记表.xlsx"
    )
    mail.set_boundary("----=_Part_18")
    figures = compose(
        "zqxcl@163.com", REHAB, "情况说明", datetime(2020, 4, 19, 10, tzinfo=SHANGHAI), body="共 183 人 4295 元 9141 号"
    )
    figures.replace_header("Message-ID", "<19@broken.test>")
    raws = [mail.as_bytes(), figures.as_bytes()]
    outcomes = ingest_batch(deps.db, deps.store, deps.recognizer, [Incoming(raw, "kfb", "import") for raw in raws])
    add_accounts(deps)
    return outcomes[0].id


@pytest.fixture
def broken_twins(config, deps, twin_url, tmp_path):  # noqa: F811
    twin_config = make_config(tmp_path / "twin", twin_url)
    twin_deps = open_deps(twin_config, sleep=lambda seconds: None, backoff=0.0)
    ids = [_broken_archive(deps, 0), _broken_archive(twin_deps, 1)]
    assert ids[0] == ids[1]
    clock = lambda: datetime(2020, 5, 1, 9, tzinfo=UTC)  # noqa: E731
    apps = [
        create_app(c, dataclasses.replace(d, clock=clock), secret_key="test")
        for c, d in ((config, deps), (twin_config, twin_deps))
    ]
    yield (deps, twin_deps), apps, ids[0]
    twin_deps.close()


def test_numbers_in_these_spellings_are_masked_on_pages_in_csvs_and_in_search(broken_twins):
    """GIVEN archives A and B that differ only in a hidden digit of each number, written across line breaks, with
    underscores or tildes, one digit at a time, in Chinese digits, as landlines after 座机, in a registry's 备注
    WHEN a masked auditor opens the message and its CSVs THEN A and B show the same and no hidden digit; a masked
    search for a number or a piece of it answers the same in A and B, and nothing for the hidden digits; staff
    find the message by each number, and by `183 4295 9141` the message holding that number only."""
    (a, b), (app_a, app_b), message_id = broken_twins
    page = _masked_page(app_a, f"/message/{message_id}")
    paths = [f"/message/{message_id}", *re.findall(rf'href="(/message/{message_id}/reading/\d+\.csv)"', page)]
    assert len(paths) > 1
    for path in paths:
        shown = _masked_page(app_a, path)
        assert shown == _masked_page(app_b, path), path
        assert not [key for key, (number, _) in BROKEN.items() if _window(number) in folded(shown)], path
    assert "131127********0011" in page and "座机：***2889 或 ****8890" in page and "139****5705" in page
    csv_text = "".join(_masked_page(app_a, path) for path in paths[1:])
    assert "家属 139****5703" in csv_text and "座机 ***2881" in csv_text

    def hits(deps, text: str, personal: bool = False) -> list[int]:
        with deps.db.session() as session:
            return [m.id for m in search(session, Query(text=text, limit=0, personal=personal))]

    for first, twin in BROKEN.values():
        for text in (first, twin, _window(first), _window(twin), first[3:7], first[:-4]):
            assert hits(a, text) == hits(b, text), text
    for piece in ("19800101", "1980", "2662889", "26628890", "2662881", "912345"):
        assert hits(a, piece) == [], piece
    for first, twin in BROKEN.values():
        assert hits(a, first, personal=True) == [message_id] and hits(a, twin, personal=True) == [], first
    assert hits(a, "19800101", personal=True) == [message_id]
    assert hits(a, "183 4295 9141", personal=True) == [message_id] == hits(a, "183****9141")
    assert len(hits(a, "183 人 4295 元 9141", personal=True)) == 1  # the figures, not the number
