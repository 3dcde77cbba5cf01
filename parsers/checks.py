"""Checks that record problems and never change a number: ID numbers, phones, duplicates, and the
package checks (附件2 against the city's targets and against the registries sent with it)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from datetime import date
from itertools import compress
from operator import not_

from parsers.form_layouts import FORM_TITLES, REGISTRY_FORMS, SERVICE_KEYS, TASK_LABELS, form_from_name
from parsers.forms import FormReading, Person, Problem, id_key
from parsers.privacy import mask_cell
from parsers.records import TASKS, Unit

# GB 11643: 6-digit area, birth date, 3-digit order, check digit (ASCII digits only).
_ID18_TEXT = r"[0-9]{6}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]"
ID18 = re.compile(_ID18_TEXT)
# The shape a whole column is screened with: the check digit catches a mistyped birth date too (but for one in
# eleven: a day no calendar has, 0231, with a right check digit passes this screen, as it does an ID's own), so
# the date is looked at only when a number fails (which then says what is wrong).
ID18_SHAPE = re.compile("[0-9]{17}[0-9X]")
ID20_SHAPE = re.compile("[0-9]{17}[0-9X][1-7][1-4]")  # + disability category 1–7, grade 1–4
_CHECK_CHARS = "10X98765432"
_MOBILE = r"1[3-9][0-9]{9}"
_LANDLINE = r"(?:\(?0[0-9]{2,3}\)?[-－—\s]?)?[2-9][0-9]{6,7}(?:[-－转][0-9]{1,5})?"
# A mobile number as people write it: 138 0000 0008, 138-0000-0008, +86 138…, 0086138….
_MOBILE_WRITTEN = r"(?:(?:\+|00)?86[-\s]?)?1[3-9][0-9][-\s]?[0-9]{4}[-\s]?[0-9]{4}"
_PHONES = re.compile(
    rf"\s*(?:{_MOBILE_WRITTEN}|{_LANDLINE})(?:\s*[/、,，;；\s]\s*(?:{_MOBILE_WRITTEN}|{_LANDLINE}))*\s*"
)
_ONE_MOBILE = re.compile(_MOBILE)
_REMARK = re.compile(r"\([^()]{0,20}\)")  # a note beside a number: 13912345678（微信同号）, 2662889(办)
# A long number as Excel/WPS shows it in a narrow General cell (1.31127E+19), copied or typed back as text.
_SCIENTIFIC = re.compile(r"\s*[0-9](?:\.[0-9]+)?[eE]\+?[0-9]{1,2}\s*")


def check_digit(first17: str) -> str:
    """The GB 11643 check character of 17 digits.

    The weights 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2 are 2^(18-i) mod 11, and 13 ≡ 2 (mod 11), so the
    weighted sum is 2 × (the digits read in base 13) mod 11: one int() call instead of a loop."""
    return _CHECK_CHARS[2 * int(first17, 13) % 11]


def _id18_fault(text: str) -> str | None:
    """What is wrong with an 18-character ID (already folded), or None. Said by position, never by quoting
    digits: a problem's text is shown, like the cell, to viewers who see the cell masked."""
    if len(text) != 18:
        return f"有 {len(text)} 位，应为 18 位"
    if not ID18.fullmatch(text) or not _real_day(text[6:14]):  # 1307, or 0231: a date no calendar has
        odd = [at for at, char in enumerate(text, 1) if not ("0" <= char <= "9" or at == 18 and char == "X")]
        if odd:  # characters a masked cell shows as they are (only digits are starred)
            what = "是字母" if all(text[at - 1].isascii() and text[at - 1].isalpha() for at in odd) else "不是数字"
            return f"格式不对：第 {_positions(odd)} 位{what}（应为 17 位数字加 1 位数字或 X）"
        return "格式不对：第 7–14 位应为有效的出生日期（年月日，如 19800101）"
    expected = check_digit(text[:17])
    if text[17] != expected:
        return f"校验位不对（第 18 位应为 {expected}）"
    return None


def _real_day(digits: str) -> bool:
    """Whether YYYYMMDD is a day of the calendar (said as a malformed date is: which of the two, a masked viewer
    must not learn from the text)."""
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return True


def _positions(positions: Sequence[int]) -> str:
    """1-based positions as a clerk reads them: "3、15–16"."""
    runs: list[list[int]] = []
    for at in positions:
        if runs and at == runs[-1][-1] + 1:
            runs[-1].append(at)
        else:
            runs.append([at])
    return "、".join(str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}" for run in runs)


def _masked(key: str, value: str) -> str:
    """A cell's value as a viewer without the personal grant sees the cell (parsers.privacy.mask_cell): how a
    problem's text quotes it, since that text is shown to such viewers too and their masking of free text
    does not recognise a malformed number."""
    return mask_cell(key, value.strip())


def id_number_problem(value: str) -> str | None:
    """None for a valid 18-character 身份证号, else what is wrong with it (Chinese), the value quoted masked."""
    if is_scientific(value):
        return scientific_problem(value, "身份证号")
    fault = _id18_fault(id_key(value))
    return None if fault is None else f"身份证号“{_masked('id_number', value)}”{fault}，请核对后改正"


def disability_id_problem(value: str, allow_id_number: bool = False) -> str | None:
    """None for a valid 20-character 残疾人证号 (or, where allowed, an 18-character 身份证号), else what is
    wrong with it, the value quoted masked."""
    if is_scientific(value):
        return scientific_problem(value, "残疾人证号")
    text = id_key(value)
    if (
        len(text) == 20
        and ID18.fullmatch(text, 0, 18)
        and _real_day(text[6:14])
        and text[17] == check_digit(text[:17])
        and "1" <= text[18] <= "7"
        and "1" <= text[19] <= "4"
    ):
        return None
    shown = _masked("disability_id", value)
    if allow_id_number and len(text) == 18:
        fault = _id18_fault(text)
        return None if fault is None else f"身份证号“{shown}”{fault}，请核对后改正"
    if len(text) != 20:
        also = "；未办残疾人证的儿童可填 18 位身份证号" if allow_id_number else ""
        return (
            f"残疾人证号“{shown}”有 {len(text)} 位，应为 20 位（18 位身份证号 + 1 位残疾类别 + 1 位残疾等级）"
            f"{also}，请核对后改正"
        )
    fault = _id18_fault(text[:18])
    if fault is not None:
        return f"残疾人证号“{shown}”的前 18 位（身份证号）{fault}，请核对后改正"
    if not "1" <= text[18] <= "7":
        return f"残疾人证号“{shown}”第 19 位是残疾类别，应为 1–7，请核对后改正"
    return f"残疾人证号“{shown}”第 20 位是残疾等级，应为 1–4，请核对后改正"


def failing_ids(ids: Sequence[str], pattern: re.Pattern[str] = ID20_SHAPE) -> list[int]:
    """Positions of the IDs (pattern ID20_SHAPE or ID18_SHAPE) not well-formed with a right check digit.

    A block of a 50,000-row registry is checked with a few C-level calls (one regex over the joined
    column, then _wrong_check_digits), so it costs no Python bytecode per row; only the failures
    are looked at again."""
    width, column = _COLUMN_PATTERNS[pattern]
    joined = "\n".join(ids)
    if _joined_cells_match(joined, len(ids), width, column):
        return _wrong_check_digits(joined.encode("ascii"), len(ids), width + 1)
    positions = range(len(ids))
    shaped = list(map(pattern.fullmatch, ids))
    shaped_positions = list(compress(positions, shaped))
    shaped_ids = "".join(compress(ids, shaped)).encode("ascii")
    wrong = map(shaped_positions.__getitem__, _wrong_check_digits(shaped_ids, len(shaped_positions), width))
    return sorted([*compress(positions, map(not_, shaped)), *wrong])


def _term_table(weight: int) -> bytes:
    """A bytes.translate table: an ID character to its term weight × value mod 11 (X counting 10)."""
    table = bytearray(256)
    for value, character in enumerate("0123456789X"):
        table[ord(character)] = weight * value % 11
    return bytes(table)


# GB 11643: the 17 weights are 2^(17-i) mod 11 (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, …); with the check
# character's value added, a right ID sums to 1 mod 11.
_TERM_TABLES = tuple(_term_table(pow(2, 17 - i, 11)) for i in range(17)) + (_term_table(1),)
_NOT_ONE_MOD_11 = bytes(int(total % 11 != 1) for total in range(256))


def _wrong_check_digits(text: bytes, count: int, stride: int) -> list[int]:
    """Positions of the IDs whose check character is wrong, of `count` IDs matching an ID shape
    laid `stride` bytes apart in text: every ID of a block at once. The i-th characters of all IDs
    are one strided slice, turned into their terms by one translate; read as a little-endian
    integer each, the 18 term vectors add up byte by byte (18 × 10 < 256, so no carries) to every
    ID's sum."""
    total = 0
    for position, table in enumerate(_TERM_TABLES):
        total += int.from_bytes(text[position::stride].translate(table), "little")
    return list(compress(range(count), total.to_bytes(count, "little").translate(_NOT_ONE_MOD_11)))


def failing_phones(phones: Sequence[str]) -> list[int]:
    """Positions of the filled phone cells that hold no well-formed number (one mobile number,
    the usual case, is screened with a simpler pattern first)."""
    if _every_cell_matches(phones, _ONE_MOBILE):
        return []
    unusual = compress(range(len(phones)), map(not_, map(_ONE_MOBILE.fullmatch, phones)))
    return [i for i in unusual if phones[i] and not _well_formed(phones[i])]


def _well_formed(value: str) -> bool:
    """Whether a phone cell holds one or more numbers, in digits of either width, a note in brackets aside."""
    return _PHONES.fullmatch(_REMARK.sub("", unicodedata.normalize("NFKC", value))) is not None


def _every_cell_matches(cells: Sequence[str], pattern: re.Pattern[str]) -> bool:
    width, column = _COLUMN_PATTERNS[pattern]
    return _joined_cells_match("\n".join(cells), len(cells), width, column)


def _joined_cells_match(joined: str, count: int, width: int, column: re.Pattern[str]) -> bool:
    """Whether every one of `count` cells joined by newlines matches a fixed-width pattern, in one
    regex pass: count cells of the width with count − 1 newlines between them leave no room for a
    newline in a cell, so the joined text matches only if each cell does. False when unsure."""
    return len(joined) == count * (width + 1) - 1 and column.fullmatch(joined) is not None


def _column_pattern(cell: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(f"(?:(?:{cell.pattern})\n)*(?:{cell.pattern})")


_COLUMN_PATTERNS = {
    pattern: (width, _column_pattern(pattern))
    for pattern, width in ((ID18_SHAPE, 18), (ID20_SHAPE, 20), (_ONE_MOBILE, 11))
}


def phone_problem(value: str) -> str | None:
    """None for one or more phone numbers (mobile, or landline with or without area code), else what is
    wrong, the value quoted masked."""
    if _well_formed(value):
        return None
    # A number a digit short or long: how many digits it has, as the masked cell shows them too (whether it
    # starts with 1 is hidden, so it is not asked).
    digits = unicodedata.normalize("NFKC", value).strip()
    count = f"，现在是 {len(digits)} 位" if digits.isascii() and digits.isdigit() and len(digits) != 11 else ""
    return (
        f"联系电话“{_masked('phone', value)}”格式不对：手机号应为 11 位（1 开头）{count}；座机如 0318-2662889 或 "
        f"2662889，多个号码用“/”或“、”隔开，请核对后改正"
    )


_LABEL_KEYS = {"身份证号": "id_number", "残疾人证号": "disability_id"}  # a label's column, as masked


def precision_lost_problem(shown: str, label: str) -> str:
    return (
        f"{label}被存成了数字（显示为 {_masked(_LABEL_KEYS[label], shown)}），"
        f"超过 15 位的数字在 Excel/WPS 中后几位会变成 0，号码已经不准；"
        f"请把这一列的单元格格式设为“文本”，重新输入完整号码后再发送"
    )


def is_scientific(value: str) -> bool:
    """Whether an ID cell's text is a number in scientific notation ("1.31127E+19"): its digits are gone,
    so counting them ("有 11 位") would send the clerk looking for the wrong mistake."""
    return _SCIENTIFIC.fullmatch(value) is not None


def scientific_problem(shown: str, label: str) -> str:
    """What to do about an ID turned into scientific notation: the id-precision-lost advice."""
    return (
        f"{label}“{_masked(_LABEL_KEYS[label], shown)}”被 Excel/WPS 当成数字，变成了科学计数法，"
        f"后几位已经丢失，号码已经不准；"
        f"请把这一列的单元格格式设为“文本”，重新输入完整号码后再发送"
    )


def duplicate_problems(
    persons: Sequence[Person], id_keys: Sequence[str], form: int, columns: dict[str, str]
) -> list[Problem]:
    """The same person twice for the same service (same ID, same service columns): every row of it.

    id_keys[i] is the normalised ID of persons[i]. Only persons whose ID repeats can be twice, so a
    set of the IDs settles the usual case, and only those persons are looked at otherwise."""
    if len(set(id_keys)) == len(id_keys):
        return []
    repeated = {key for key, count in Counter(id_keys).items() if count > 1 and key}
    services = SERVICE_KEYS.get(form, ())
    groups: dict[tuple[str, ...], list[Person]] = {}
    for person, key in zip(persons, id_keys):
        if key in repeated:
            identity = (key, *(person.get(service) for service in services if service in person.keys))
            groups.setdefault(identity, []).append(person)
    id_field = "id_number" if form == 10 else "disability_id"
    label = "身份证号" if form == 10 else "残疾人证号"
    problems: list[Problem] = []
    for group in groups.values():
        if len(group) < 2:
            continue
        message = _duplicate_message(group, label, _masked(id_field, group[0].get(id_field)))
        problems.extend(Problem(p.sheet, p.row, columns.get(id_field), "duplicate-person", message) for p in group)
    return problems


# The rows a duplicate's message names: a number copied down a whole column repeats thousands of times, and a
# message naming every row, once per row, grew with the square of them (3,000 rows: 181 MB).
DUPLICATE_ROWS_NAMED = 5


def _duplicate_message(group: Sequence[Person], label: str, number: str) -> str:
    """One message for every row of a repeated person (the rows' cells are its places): the rows, the first few
    named, and the name when every row gives the same one (a number copied down a column gives many)."""
    rows: dict[str, list[str]] = {}
    for p in group[:DUPLICATE_ROWS_NAMED]:
        rows.setdefault(p.sheet, []).append(str(p.row))
    places = "、".join(f"“{sheet}”第 {'、'.join(numbers)} 行" for sheet, numbers in rows.items())
    if len(group) > DUPLICATE_ROWS_NAMED:
        places += f"等 {len(group)} 行"
    names = {p.get("name") or p.get("student_name") for p in group}
    who = f"（{names.pop()}）" if len(names) == 1 else "（各行姓名不同，请核对证号是否被整列复制）"
    return f"{label} {number}{who}在{places}重复登记了同一项服务，请删除重复的行"


def percent_problem(task: str, reported: float, done: int, target: int) -> str | None:
    """None when the 百分比 agrees with 完成数 ÷ 目标数 within one point (rounding)."""
    expected = done * 100 / target
    if abs(reported - expected) <= 1.0:
        return None
    return (
        f"{TASK_LABELS[task]}的百分比写的是 {reported:g}%，但完成数 {done} ÷ 目标数 {target} = {expected:.1f}%，"
        f"请核对后改正"
    )


# ---------------------------------------------------------------------------------------------
# The package


def check_package(readings: Sequence[FormReading], unit: Unit) -> tuple[Problem, ...]:
    """Cross-form checks of one unit's package: 附件2's 目标数 against the city's targets in the config, a
    完成数 left empty where the unit has a target (the task then scores nothing), and its 完成数 against the
    distinct persons on the matching registries sent in the same package (registry_persons: across all of them,
    so a registry attached twice counts once)."""
    summaries = [r for r in readings if r.form == 2 and r.readable and r.unit in (unit.name, None) and r.tasks]
    problems: list[Problem] = []
    for summary in summaries:
        figures = dict(summary.tasks)
        flagged = {(problem.sheet, problem.row, problem.column) for problem in summary.problems}
        for task in TASKS:
            if task in figures:
                problems.extend(_target_problems(task, figures[task], unit))
                problems.extend(_done_missing(task, figures[task], unit, flagged))
                problems.extend(_registry_problems(task, figures[task], readings, unit))
    return tuple(problems)


def _target_problems(task: str, figures, unit: Unit) -> list[Problem]:
    """Nothing to check against for a unit without targets (no plan holds it in the package's year)."""
    city = unit.target(task)
    if not unit.targets or figures.target is None or figures.target == city:
        return []
    return [
        Problem(
            figures.sheet,
            figures.row,
            figures.target_column,
            "target-mismatch",
            f"{TASK_LABELS[task]}的目标数填的是 {figures.target}，市残联下达给{unit.name}的全年目标是 {city}；"
            f"请按下达的目标数填写（评分以下达的目标为准）",
        )
    ]


def _done_missing(task: str, figures, unit: Unit, flagged: set) -> list[Problem]:
    """A 完成数 left empty for a task the unit has a target in: scoring reads it as not reported (no points). One
    the reading found written wrong (`flagged`: its problems' cells) is said there already."""
    target = unit.target(task)
    if figures.done is not None or target <= 0 or figures.done_column is None or task == "college":
        return []  # no 完成数 column: the layout's own problem says so; 资助上大学 is filled from September
    if (figures.sheet, figures.row, figures.done_column) in flagged:
        return []
    return [
        Problem(
            figures.sheet,
            figures.row,
            figures.done_column,
            "done-missing",
            f"{TASK_LABELS[task]}的完成数没有填写：全年目标为 {target}，不填写则该项不计分；"
            "请填写数字（没有完成的填 0）",
        )
    ]


def _registry_problems(task: str, figures, readings: Sequence[FormReading], unit: Unit) -> list[Problem]:
    """附件2's 完成数 of a task against the persons on its registries in the package: not compared without
    any, nor when one of them could not be read (its persons are unknown, and the file has a problem of its
    own already)."""
    forms = REGISTRY_FORMS[task]
    ours = [r for r in readings if r.unit in (unit.name, None)]
    registries = [r for r in ours if r.form in forms and r.readable]
    if figures.done is None or not registries or any(_unreadable_form(r) in forms for r in ours if not r.readable):
        return []
    counted = registry_persons(registries)
    if counted == figures.done:
        return []
    names = "、".join(f"附件{form}{FORM_TITLES[form]}" for form in forms)
    return [
        Problem(
            figures.sheet,
            figures.row,
            figures.done_column,
            "done-vs-registry",
            f"{TASK_LABELS[task]}的完成数填的是 {figures.done}，但同时报送的{names}登记了 {counted} 人"
            f"（按证号去重）；完成数应与实名制登记表的人数一致，请核对",
        )
    ]


_LAST_NAME = re.compile(r"[›/\\]")  # "报表.zip › 景县/附件10.xlsx": the file's own name is the last part


def _unreadable_form(reading: FormReading) -> int | None:
    """The form an unreadable file was meant to be: as recognised, else as its name says (a reader that died
    knows only the file's name; a zip's member is named last: 报表.zip › 附件10.xlsx)."""
    if reading.form is not None:
        return reading.form
    return form_from_name(_LAST_NAME.split(reading.source)[-1].strip())


def registry_persons(registries: Sequence[FormReading]) -> int:
    """The people on the registries of one task, together: each 残疾人证号 (附件10: 身份证号) once, in whichever
    files and sheets it is (the same registry attached twice, 附件3.xlsx and 附件3(1).xlsx, counts once).

    A row without an ID counts alone, as FormReading.distinct_persons counts it, except that the same row
    (every cell alike) in several of the files is one person there: each such row counts the most times it
    is in any one file. So a file sent twice counts once, rows and all, and two different files add up."""
    ids: set[str] = set()
    anonymous: Counter[tuple[tuple[str, ...], tuple[str, ...]]] = Counter()
    for registry in registries:
        own: Counter[tuple[tuple[str, ...], tuple[str, ...]]] = Counter()
        for person, identity in zip(registry.persons, registry.person_ids()):
            if identity:
                ids.add(identity)
            else:
                own[(person.keys, person.values)] += 1
        anonymous |= own
    return len(ids) + sum(anonymous.values())
