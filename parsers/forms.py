"""What the readers return: a form read (FormReading), its problems, its task figures and its persons; what
each form looks like is parsers.form_layouts."""

from __future__ import annotations

import gc
import threading
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby, repeat
from operator import itemgetter

from parsers.records import fold


@dataclass(frozen=True)
class Problem:
    """Something the sender should fix; row is the spreadsheet row (1-based), column its letter. A code of
    NOTE_CODES asks nothing: it is said as a hint, never as a problem or a reason to send again."""

    sheet: str | None
    row: int | None
    column: str | None
    code: str
    message: str


TEXT_UNREAD = "text-unread"  # a 附件1 received (it counts) whose text could not be read
NOTE_CODES = frozenset({TEXT_UNREAD})


@dataclass(frozen=True)
class TaskFigures:
    """One task of 附件2: 目标数, 完成数, 百分比 (in percent, 50.0 for 50%), and where they were."""

    target: int | None
    done: int | None
    percent: float | None
    sheet: str | None = None
    row: int | None = None
    target_column: str | None = None
    done_column: str | None = None
    percent_column: str | None = None
    # the 完成数 is a formula whose result the file does not hold: not read (scoring takes the last one read)
    done_unread: bool = False


_UNIT_SEPARATOR = "\x1f"


class Person(tuple):
    """One row of a real-name registry, Person(row, sheet, fields): fields are (key, value) pairs,
    each value the cell text exactly as the sender sees it.

    A registry may hold 50,000 rows, so a person is kept small and made cheaply: an immutable tuple
    (row, sheet, keys, cells) whose keys are the table's, shared, and whose cells are the values
    joined by the ASCII unit separator (the values themselves in the rare row whose text holds that
    character). One tuple and one string per person, made a block at a time by C-level calls
    (persons_in_bulk), is less to allocate, to free and for the garbage collector to walk than a
    record and a string per cell; values, fields and get() unpack on demand. Two persons are equal
    when their row, sheet and fields are."""

    __slots__ = ()

    def __new__(cls, row: int, sheet: str, fields: tuple[tuple[str, str], ...]) -> Person:
        pairs = tuple(fields)
        return tuple.__new__(
            cls, (row, sheet, tuple(key for key, _ in pairs), _pack(tuple(value for _, value in pairs)))
        )

    @property
    def row(self) -> int:
        """The spreadsheet row, 1-based."""
        return self[0]

    @property
    def sheet(self) -> str:
        return self[1]

    @property
    def keys(self) -> tuple[str, ...]:
        return self[2]

    @property
    def values(self) -> tuple[str, ...]:
        cells = self[3]
        return tuple(cells.split(_UNIT_SEPARATOR)) if cells.__class__ is str else cells

    @property
    def fields(self) -> tuple[tuple[str, str], ...]:
        return tuple(zip(self[2], self.values))

    def get(self, key: str, default: str = "") -> str:
        try:
            at = self[2].index(key)
        except ValueError:
            return default
        return self.values[at]

    def __repr__(self) -> str:
        return f"Person(row={self.row!r}, sheet={self.sheet!r}, fields={self.fields!r})"

    def __reduce__(self) -> tuple:
        # As stored, not as fields: a reader process sends 50,000 of them back, and the keys tuple they
        # share is pickled once (pickle remembers it), the cells as the one string they are.
        return _stored_person, tuple(self)


def _stored_person(row: int, sheet: str, keys: tuple[str, ...], cells: str | tuple[str, ...]) -> Person:
    return tuple.__new__(Person, (row, sheet, keys, cells))


def _pack(values: tuple[str, ...]) -> str | tuple[str, ...]:
    """The values joined by the unit separator, or the tuple itself when the joined text could not
    be split back into them (no values, a value holding the separator, a value that is not text).
    Every person's cells are made by this rule, so equal fields make equal cells."""
    try:
        packed = _UNIT_SEPARATOR.join(values)
    except TypeError:
        return values
    return packed if values and packed.count(_UNIT_SEPARATOR) == len(values) - 1 else values


def persons_in_bulk(
    rows: Sequence[int], sheet: str, keys: tuple[str, ...], columns: Sequence[Sequence[str]]
) -> list[Person]:
    """Person records for whole columns of text at once, equal to Person(row, sheet, tuple(zip(keys, values))).

    Calling Person costs about a microsecond in bytecode; for 50,000 rows the values are joined and
    the tuples made here by C-level maps instead. A block where some value holds the separator is
    made person by person."""
    packed = list(map(_UNIT_SEPARATOR.join, zip(*columns))) if keys else []
    if len(packed) != len(rows) or "".join(packed).count(_UNIT_SEPARATOR) != len(rows) * (len(keys) - 1):
        return [
            Person(row, sheet, tuple(zip(keys, values)))
            for row, values in zip(rows, zip(*columns) if keys else repeat(()))
        ]
    return list(map(tuple.__new__, repeat(Person), zip(rows, repeat(sheet), repeat(keys), packed)))


@dataclass(frozen=True)
class FormReading:
    """What one form in one file says; several sheets holding the same form make one reading."""

    source: str
    form: int | None
    unit: str | None
    month: str | None
    rows: int
    tasks: tuple[tuple[str, TaskFigures], ...] = ()
    persons: tuple[Person, ...] = ()
    text: str = ""
    problems: tuple[Problem, ...] = ()
    readable: bool = True

    def __reduce__(self) -> tuple:
        # A reader process sends readings back to ingest: a registry's persons go as blocks (a sheet's
        # rows as packed integers, its cells as one string), pickled and made again by C-level calls,
        # instead of 50,000 objects each pickled and rebuilt by a call of its own (100+ ms each way).
        values = [getattr(self, name) for name in self.__dataclass_fields__]
        values[_PERSONS_AT] = _person_blocks(self.persons)
        return _reading_from_blocks, (tuple(values),)

    @property
    def done(self) -> dict[str, int | None]:
        """附件2's 完成数 per task ({} for any other form)."""
        return {task: figures.done for task, figures in self.tasks}

    def person_ids(self) -> list[str]:
        """Each person's 残疾人证号 (附件10: 身份证号) as compared, "" for none, or one that lost its last digits
        (typed as a number: four persons' numbers may have lost them to the same): a person by that row alone."""
        key = "id_number" if self.form == 10 else "disability_id"
        lost = {(problem.sheet, problem.row) for problem in self.problems if problem.code == "id-precision-lost"}
        wrong = {(problem.sheet, problem.row) for problem in self.problems if problem.code in _WRONG_IDS}
        return [
            ""
            if (place := (person.sheet, person.row)) in lost
            else (id_key if place in wrong else person_key)(person.get(key))
            for person in self.persons
        ]

    def distinct_persons(self) -> int:
        """People on a registry, each 残疾人证号 (or 身份证号) once; rows without one count alone (person_ids)."""
        seen: set[str] = set()
        anonymous = 0
        for identity in self.person_ids():
            if identity:
                seen.add(identity)
            else:
                anonymous += 1
        return len(seen) + anonymous


def unreadable(
    source: str, message: str, code: str = "reader", form: int | None = None, sheet: str | None = None
) -> FormReading:
    """A file no form could be read from (refused, broken, not a form, its reader dead), as a reading that
    says why: `code` and `message` its one problem, `form` what its name says it was meant to be."""
    return FormReading(
        source, form, None, None, 0, problems=(Problem(sheet, None, None, code, message),), readable=False
    )


_PERSONS_AT = list(FormReading.__dataclass_fields__).index("persons")
_BLOCK_SEPARATOR = "\x1e"


def _person_blocks(persons: Sequence[Person]) -> list:
    """Persons as blocks of (sheet, keys, rows packed, cells joined), one for each run of persons of the same
    sheet and keys, made by C-level calls; a run where some person's cells are not one string, or hold the
    separator, goes as its persons themselves."""
    blocks: list = []
    for (sheet, keys), run in groupby(persons, key=itemgetter(1, 2)):
        people = list(run)
        cells = list(map(itemgetter(3), people))
        try:
            joined = _BLOCK_SEPARATOR.join(cells)
        except TypeError:  # some person's cells are a tuple
            joined = None
        if joined is not None and joined.count(_BLOCK_SEPARATOR) == len(cells) - 1:
            blocks.append((sheet, keys, array("q", map(itemgetter(0), people)).tobytes(), joined))
        else:
            blocks.extend(people)
    return blocks


def _reading_from_blocks(values: tuple) -> FormReading:
    persons: list[Person] = []
    with _uncollected:
        for block in values[_PERSONS_AT]:
            if block.__class__ is Person:
                persons.append(block)
                continue
            sheet, keys, packed, cells = block
            rows = array("q")
            rows.frombytes(packed)
            persons.extend(
                map(
                    tuple.__new__,
                    repeat(Person),
                    zip(rows.tolist(), repeat(sheet), repeat(keys), cells.split(_BLOCK_SEPARATOR)),
                )
            )
    fields = (*values[:_PERSONS_AT], tuple(persons), *values[_PERSONS_AT + 1 :])
    return FormReading(*fields)


class _CollectorPause:
    """The cyclic garbage collector paused while tens of thousands of persons are made: tuples of text hold
    no cycle to find, yet every 700 of them start a collection, and now and then one that walks the whole
    heap (a third of the time to make 50,000 in a process as large as ingest's). Threads may pause at once:
    the collector runs again when the last pause ends, if it ran before the first began."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pauses = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._pauses == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._pauses += 1

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._pauses -= 1
            if self._pauses == 0 and self._resume:
                gc.enable()


_uncollected = _CollectorPause()


def id_key(value: str) -> str:
    """An ID number as checked: trimmed, upper-case X, full-width folded."""
    return fold(value).upper() if value else ""


# A 残疾人证号 is its holder's 身份证号 and two digits, 类别 and 等级, which an assessment may change.
PERSON_DIGITS = 18
_WRONG_IDS = frozenset({"bad-disability-id", "bad-id-number"})  # a number told wrong is compared whole


def person_key(value: str) -> str:
    """Whose well-formed ID number it is, as compared for duplicates and across units: id_key, a 残疾人证号 by its
    first 18 characters, so a person's 身份证号 (a child's without a card) and either of their cards' numbers are
    one person (archive.findings compares the stored numbers so). A number told wrong (19 digits, a wrong check
    digit) is compared whole: its first 18 may be another person's."""
    return id_key(value)[:PERSON_DIGITS]
