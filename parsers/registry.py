"""附件3–10: one Person per data row, checked as it is read (IDs, phones, required cells).

A registry may hold 50,000 rows, so rows are taken in blocks and handled a column at a time with
C-level calls (zip, joins, compiled regexes over a joined column): Python bytecode runs per block
and per failing cell, not per cell, and a clean block takes the fast path of each check. The rules
are the plain ones: a row is a person when it has a name or an ID; a 合计/小计 row is none; the table
ends at a 备注/填表说明/填表人 row or a signature row (主管领导：… 审核：…), and starts again at a repeated
header. A cell merged down over the rows below (one person's 姓名 and 证号 over two service rows) is read
in each of those rows."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, compress, islice, repeat
from operator import itemgetter, not_

from parsers.cells import cell_text, column_letter
from parsers.checks import (
    ID18_SHAPE,
    ID20_SHAPE,
    disability_id_problem,
    failing_ids,
    failing_phones,
    id_number_problem,
    is_scientific,
    phone_problem,
    precision_lost_problem,
    scientific_problem,
)
from parsers.form_layouts import FORM_COLUMNS, map_columns
from parsers.forms import PERSON_DIGITS, Problem, id_key, persons_in_bulk
from parsers.records import fold
from parsers.sheet import Layout, Row, SheetContext, SheetResult, decide_form

_BLOCK = 1024  # rows per batch: large enough for C-level maps, small enough to stay in cache
_FOOTER = re.compile(
    r"\s*(?:备\s*注|填\s*表\s*说\s*明|填\s*表\s*$|说\s*明|注\s*[:：]|附注|填表人|填报人|制表人|审核人|单位负责人|负责人|联系人)"
)
# A total row's label in its leading cells: 合计, 总计, 小计, 共计 (全县合计, 本月合计 too), 人数 or 总人数 beside
# the count, 共6人 or 以上共6人. No person is named so.
_TOTAL = re.compile(
    r"\s*(?:\S{0,4}?(?:合\s*计|总\s*计)|小\s*计|共\s*计|总?\s*人\s*数|(?:以上)?共\s*[0-9０-９一二三四五六七八九十百]+\s*[人名])"
)
_TOTAL_MARKS = "计数共"  # a character each of _TOTAL's words has, looked for first
# A signature line's label with its colon: the lines below the table that the template's 填报人 row
# repeats, or a unit adds (主管领导：  填表人：张三  联系电话：…  填报日期：…). Only with the colon: it is a label.
_SIGNATURE = re.compile(
    r"\s*(?:主管领导|分管领导|单位领导|单位负责人|负责人|审\s*核人?|审\s*批人?|复\s*核人?|制\s*表人?|填\s*表人|填\s*报人"
    r"|统计人|经办人|联系人|(?:填报|填表|报送|制表)?日\s*期|(?:联系)?电\s*话)\s*[:：]"
)
_HEADER_WORDS = frozenset({"姓名", "学生姓名"})  # a repeated header's name cell, its spacing aside (姓　名, 姓\n名)
_SPACING = re.compile(r"\s+")
_RURAL_WORDS = re.compile(r"种植|养殖|家庭手工|农村")
_ID_EXACT_LIMIT = 1e15
# What a character lost on the way leaves in a name: an encoding without it (GBK has no 㛃) saves "?", a
# decoder U+FFFD; a clerk not finding one types "？".
_LOST_CHARACTER = "?？\ufffd"
_ID_LIKE = re.compile(r"[0-9]{15}")  # an ID's digits (15 of an old one at least), however written or spaced


@dataclass(frozen=True)
class Plan:
    """Which cell of a row holds which field, and which checks apply."""

    form: int
    keys: tuple[str, ...]
    indexes: tuple[int, ...]  # the cell of each key in a row
    lead: int  # the table's leftmost column, where 备注/填表说明 rows start
    id_at: int
    name_at: int
    phone_at: int | None
    required: tuple[tuple[int, str], ...]  # (position in keys, Chinese label), the ID excluded
    letters: tuple[str, ...]


def _plan(layout: Layout, form: int) -> Plan | None:
    found = map_columns(layout.labels, form)
    serial = found.pop("serial", None)
    id_key_name = "id_number" if form == 10 else "disability_id"
    name_key = "student_name" if form == 10 else "name"
    if id_key_name not in found and name_key not in found:
        return None
    keys = tuple(sorted(found, key=found.__getitem__))  # in the sheet's own column order
    indexes = tuple(found[key] for key in keys)
    position = {key: i for i, key in enumerate(keys)}
    columns = {column.key: column for column in FORM_COLUMNS[form]}
    return Plan(
        form=form,
        keys=keys,
        indexes=indexes,
        lead=min(indexes + ((serial,) if serial is not None else ())),
        id_at=position.get(id_key_name, -1),
        name_at=position.get(name_key, -1),
        phone_at=position.get("phone"),
        required=tuple(
            (position[key], columns[key].label) for key in keys if columns[key].required and key != id_key_name
        ),
        letters=tuple(column_letter(layout.col0 + i) for i in indexes),
    )


def read_registry(layout: Layout, data: Iterator[Row], ctx: SheetContext) -> SheetResult:
    problems: list[Problem] = []
    form = decide_form(layout, ctx, problems)
    plan = _plan(layout, form or 5)
    result = SheetResult(layout.sheet, form, layout.unit, layout.month, problems=problems)
    if plan is None:
        return result
    result.columns = dict(zip(plan.keys, plan.letters))
    problems.extend(_missing_columns(layout.sheet, plan))
    data = _merged_down(data, layout, plan)
    notes: list[str] = []
    in_table = True
    first = layout.first_row
    while block := list(islice(data, _BLOCK)):
        numbers, raw, in_table = _select(block, range(first, first + len(block)), plan, notes, in_table)
        first += len(block)
        texts: list[Sequence[str]]
        if numbers:
            try:  # the usual block, every cell text: packing its persons is the proof
                result.persons.extend(persons_in_bulk(numbers, layout.sheet, plan.keys, raw))
                texts = raw
            except TypeError:
                texts = _texts(raw)
                result.persons.extend(persons_in_bulk(numbers, layout.sheet, plan.keys, texts))
            failing = _id_failures(plan, texts)
            result.id_keys.extend(_id_keys(plan, texts, failing, raw, (layout.sheet, numbers)))
            problems.extend(_problems(layout.sheet, plan, numbers, raw, texts, failing))
    result.rows = len(result.persons)
    if form is None:
        result.training_hint = _training_hint(result, notes)
    problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    return result


def _missing_columns(sheet: str, plan: Plan) -> list[Problem]:
    return [
        Problem(
            sheet,
            None,
            None,
            "missing-column",
            f"工作表“{sheet}”没有“{column.label}”这一列；请按模板补上这一列后重新发送",
        )
        for column in FORM_COLUMNS[plan.form]
        if column.required and column.key not in plan.keys
    ]


def _select(
    rows: list[Row], numbers: range, plan: Plan, notes: list[str], in_table: bool
) -> tuple[list[int], list[Sequence], bool]:
    """The person rows of a block, as columns of raw cells: inside the table (between its header
    and a 备注/填表说明 row, or after a repeated header), with a name or an ID, or two cells filled."""
    columns, leads = _columns(rows, plan)
    blank = [""] * len(rows)
    names = columns[plan.name_at] if plan.name_at >= 0 else blank
    ids = columns[plan.id_at] if plan.id_at >= 0 else blank
    positions = range(len(rows))
    textual = compress(positions, map(isinstance, leads, repeat(str)))
    totals, signatures = _not_person_rows(leads, columns, names, ids)
    footers = (i for i in textual if leads[i] and _FOOTER.match(leads[i]))
    marks = sorted({*_header_rows(names), *footers, *totals, *signatures})
    unnamed = [] if all(names) else [i for i in compress(positions, map(not_, names)) if not ids[i]]
    if in_table and not marks and not unnamed:
        return list(numbers), columns, in_table
    keep = [True] * len(rows)
    start = 0

    def outside(start: int, end: int) -> bool:
        """Rows start..end after the table ended: dropped up to the first that is a person (a name and an ID),
        where the table goes on (persons typed below a note, a page's signature line, without a header again:
        they were dropped silently); whether the table is still ended at `end`."""
        person = next((i for i in range(start, end) if names[i] and _ID_LIKE.search(_digits(ids[i]))), end)
        keep[start:person] = [False] * (person - start)
        return person == end

    for index in marks:
        if not in_table:
            in_table = not outside(start, index)
        if _is_header_name(names[index]):
            keep[index], in_table = False, True
        elif index in totals:  # a 合计/小计 row: not a person, and persons may follow (a township's 小计)
            keep[index] = False
        elif index in signatures or not ids[index]:
            notes.append(str(leads[index]))
            keep[index], in_table = False, False
        else:  # a 备注-like first cell on a row that has an ID is a person
            keep[index] = keep[index] and in_table
        start = index + 1
    if not in_table:
        in_table = not outside(start, len(keep))
    for index in unnamed:  # neither name nor ID: a person only if two cells say something
        keep[index] = keep[index] and sum(bool(column[index]) for column in columns) >= 2
    return list(compress(numbers, keep)), [list(compress(column, keep)) for column in columns], in_table


def _not_person_rows(
    leads: Sequence, columns: list[Sequence], names: Sequence, ids: Sequence
) -> tuple[set[int], set[int]]:
    """(total rows, signature rows) of a block. A total row has 合计/总计/小计/人数/共6人 in a leading cell (序号,
    姓名 or 证号: "合计" under 序号 with "3人" under 姓名 too). A signature row has a label with a colon (主管领导：,
    审核：王五) in some cell it is read by, no ID (its 证号 cell empty or such a label), and no name but such
    a label (or one in its first cell): a person whose 电话 cell says "电话：138…" stays a person. Only the
    rows holding 计, 数 or 共, or holding no ID, are looked at, which a few passes over joined columns find."""
    totals = {
        i
        for i in set(chain(_holding(leads, _TOTAL_MARKS), _holding(names, _TOTAL_MARKS), _holding(ids, _TOTAL_MARKS)))
        if any(
            _TOTAL.match(cell) for cell in (_text_or_blank(leads[i]), _text_or_blank(names[i]), _text_or_blank(ids[i]))
        )
    }
    idless = set(chain(compress(range(len(ids)), map(not_, ids)), _holding(ids, ":："))) - totals
    signatures = {i for i in idless if _is_signature(leads[i], names[i], ids[i], [column[i] for column in columns])}
    return totals, signatures


def _is_signature(lead: object, name: object, number: object, cells: list) -> bool:
    """Whether a row without an ID is a signature line: _not_person_rows."""
    lead, name, number = _text_or_blank(lead), _text_or_blank(name), _text_or_blank(number)
    if not any(_SIGNATURE.match(cell) for cell in (lead, *map(_text_or_blank, cells)) if cell):
        return False
    unnamed = not name.strip() or _SIGNATURE.match(name) or _SIGNATURE.match(lead)
    return bool(unnamed) and (not number.strip() or _SIGNATURE.match(number) is not None)


def _holding(column: Sequence, characters: str) -> Iterable[int]:
    """Positions of the text cells holding any of `characters`: none when the column's text joined holds
    none of them (the usual block, told by C-level calls, numbers such as 序号 left out)."""
    try:
        joined = "".join(column)
    except TypeError:  # some cell is a number
        joined = "".join(compress(column, map(isinstance, column, repeat(str))))
    if not any(character in joined for character in characters):
        return ()
    return (i for i, cell in enumerate(column) if cell.__class__ is str and any(c in cell for c in characters))


def _text_or_blank(cell: object) -> str:
    """A text cell as it is; a number or a date is no label."""
    return cell if isinstance(cell, str) else ""


def _merged_down(data: Iterator[Row], layout: Layout, plan: Plan) -> Iterator[Row]:
    """The data rows with each read cell that a merged range starting in a data row spans below its first
    row given that range's value: Excel and WPS show it there, but the file (and calamine) hold it only in
    the top-left cell. One person's 姓名 and 证号 merged over his two service rows are then in both rows,
    not a second person with neither. The rows as they are when no such range crosses a read column."""
    read = set(plan.indexes)
    below: dict[int, list[tuple[int, int]]] = {}  # spreadsheet row → (cell in the row, row holding its value)
    for (r0, c0), (r1, _) in layout.merged:
        cell = c0 - layout.col0
        if r1 > r0 and r0 + 1 >= layout.first_row and cell in read:
            for number in range(r0 + 2, r1 + 2):
                below.setdefault(number, []).append((cell, r0 + 1))
    if not below:
        return data
    return _filled(data, layout.first_row, below)


def _filled(data: Iterator[Row], first: int, below: dict[int, list[tuple[int, int]]]) -> Iterator[Row]:
    """_merged_down's rows: each spanned cell left empty takes the value its range's top row holds."""
    tops = {top for cells in below.values() for _, top in cells}
    held: dict[int, Row] = {}
    for number, row in enumerate(data, first):
        cells = below.get(number)
        if cells:
            row = list(row)
            for cell, top in cells:
                if cell < len(row) and row[cell] == "" and top in held and cell < len(held[top]):
                    row[cell] = held[top][cell]
        if number in tops:
            held[number] = row
        yield row


def _digits(cell: object) -> str:
    return fold(cell_text(cell)).replace(" ", "")


def _header_rows(names: Sequence) -> Iterable[int]:
    """Positions of the rows whose name cell is a header's 姓名 (a repeated header): none when no
    name cell of the block holds 姓, which one pass over the joined text tells (_holding)."""
    return (i for i in _holding(names, "姓") if _is_header_name(names[i]))


def _is_header_name(cell: object) -> bool:
    return isinstance(cell, str) and _SPACING.sub("", cell) in _HEADER_WORDS


def _columns(rows: list[Row], plan: Plan) -> tuple[list[Sequence], Sequence]:
    """The key cells and the lead cells of a block, column by column: one transposition when the
    sheet is about as wide as what is read (the usual case), else one pass per column read."""
    if len(rows[0]) <= 2 * len(plan.indexes) + 1:
        table = list(zip(*rows))  # as many columns as the shortest row: a short row is an IndexError below
        if max(plan.lead, *plan.indexes) < len(table):
            return [table[index] for index in plan.indexes], table[plan.lead]
    return [list(map(itemgetter(index), rows)) for index in plan.indexes], list(map(itemgetter(plan.lead), rows))


def _texts(raw: list[Sequence]) -> list[Sequence[str]]:
    """Each column as text, as the sender sees it; a column of text only is taken as it is."""
    texts: list[Sequence[str]] = []
    for column in raw:
        try:
            "".join(column)  # a TypeError is the fastest proof that some cell is not text
            texts.append(column)
        except TypeError:
            texts.append(list(map(cell_text, column)))
    return texts


def _id_failures(plan: Plan, texts: list[Sequence[str]]) -> list[int]:
    if plan.id_at < 0:
        return []
    return failing_ids(texts[plan.id_at], ID18_SHAPE if plan.form == 10 else ID20_SHAPE)


def _id_keys(
    plan: Plan, texts: list[Sequence[str]], failing: list[int], raw: list[Sequence], at: tuple[str, list[int]]
) -> Sequence[str]:
    """Each person's ID as compared for duplicates ("" without an ID column). An ID that passed the
    screen is already in its one spelling; the others are folded, but one whose digits a number lost (1.31E+19)
    is its own row's alone: four persons of one county and birth date lost to the same digits were one person,
    their rows told to be deleted as duplicates."""
    sheet, numbers = at
    if plan.id_at < 0:
        return [""] * len(numbers)
    texts_ = texts[plan.id_at]
    ids = [text[:PERSON_DIGITS] for text in texts_]  # person_key of a well-formed number, in its one spelling
    for i in failing:
        lost = _digits_lost(raw[plan.id_at][i], texts_[i])
        ids[i] = f"digits-lost:{sheet}:{numbers[i]}" if lost else id_key(texts_[i])  # whole: its 18 may be wrong
    return ids


def _digits_lost(value: object, text: str) -> bool:
    """An ID typed as a number past 15 digits (Excel keeps 15), or pasted back as text from one (1.31127E+19)."""
    if isinstance(value, (int, float)):
        return abs(value) >= _ID_EXACT_LIMIT
    return is_scientific(text)


def _problems(
    sheet: str, plan: Plan, numbers: list[int], raw: list[Sequence], texts: list[Sequence[str]], failing: list[int]
) -> list[Problem]:
    problems = _id_problems(sheet, plan, numbers, raw, texts, failing)
    if plan.name_at >= 0:
        names = texts[plan.name_at]
        for i in _holding(names, _LOST_CHARACTER):
            mark = next(c for c in _LOST_CHARACTER if c in names[i])
            said = (
                f"第 {numbers[i]} 行姓名“{names[i]}”中有“{mark}”，多半是生僻字在另存或复制时丢失了；"
                "请改回原来的字（可用输入法的生僻字或手写输入）后重新发送"
            )
            problems.append(Problem(sheet, numbers[i], plan.letters[plan.name_at], "name-character-lost", said))
    if plan.phone_at is not None:
        phones = texts[plan.phone_at]
        letter = plan.letters[plan.phone_at]
        for i in failing_phones(phones):
            problems.append(Problem(sheet, numbers[i], letter, "bad-phone", phone_problem(phones[i]) or ""))
    for at, label in plan.required:
        column = texts[at]
        if all(column) and not any(map(str.isspace, column)):
            continue
        for i in compress(range(len(numbers)), map(not_, map(str.strip, column))):
            problems.append(
                Problem(
                    sheet,
                    numbers[i],
                    plan.letters[at],
                    "empty-required",
                    f"第 {numbers[i]} 行“{label}”没有填写，请补填",
                )
            )
    return problems


def _id_problems(
    sheet: str, plan: Plan, numbers: list[int], raw: list[Sequence], texts: list[Sequence[str]], failing: list[int]
) -> list[Problem]:
    national = plan.form == 10
    letter = plan.letters[plan.id_at] if plan.id_at >= 0 else None
    label = "身份证号" if national else "残疾人证号"
    problems = []
    for i in failing:
        value, text = raw[plan.id_at][i], texts[plan.id_at][i]
        if _digits_lost(value, text):  # typed as a number, or pasted back as text from one: "1.31127E+19"
            said = scientific_problem(text, label) if is_scientific(text) else precision_lost_problem(text, label)
            problems.append(Problem(sheet, numbers[i], letter, "id-precision-lost", said))
        elif not text.strip():
            problems.append(
                Problem(sheet, numbers[i], letter, "empty-required", f"第 {numbers[i]} 行“{label}”没有填写，请补填")
            )
        elif message := (id_number_problem(text) if national else disability_id_problem(text, plan.form == 3)):
            problems.append(
                Problem(sheet, numbers[i], letter, "bad-id-number" if national else "bad-disability-id", message)
            )
    return problems


def _training_hint(result: SheetResult, notes: list[str]) -> int | None:
    """附件5's template lists 种植业、养殖业、家庭手工业 in its 备注; its training types say so too."""
    if any(_RURAL_WORDS.search(fold(note)) for note in notes):
        return 5
    if any(_RURAL_WORDS.search(person.get("training_type")) for person in result.persons):
        return 5
    return None
