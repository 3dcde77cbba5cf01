"""What a clerk is told of files before sending them (`mailroom inspect`, the web's 自查 page, the answer to a
自查 mail): every form each file holds, read as ingest reads it, the files checked together as one package,
and, for a file that holds no form at all, why, in the clerk's words.

Pure: names and bytes in, plain JSON-able objects out, so the reader sandbox can run it in a worker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from parsers.checks import check_package
from parsers.document import text_characters
from parsers.forms import FormReading, Problem, unreadable
from parsers.months import UNDATED, month_in, placed
from parsers.no_form import no_form
from parsers.records import TASKS, Unit
from parsers.unit_names import find_unit
from parsers.workbook import is_lock_file, read_attachment

OTHER_UNIT = "other-unit"  # the problem code of a form whose unit is not the asker's


def inspect_attachments(
    files: Sequence[tuple[str, bytes]],
    units: Sequence[Unit],
    year: int,
    own_unit: str | None = None,
    near: datetime | None = None,
    plans: Sequence[tuple[int, Sequence[Unit]]] = (),
) -> list[dict[str, Any]]:
    """One object per form found in the files (label, bytes): a zip or a multi-form workbook gives several, a
    file holding none gives one saying why. The files are checked together, each unit's month as one package
    (附件2 against the registries). A label is what the clerk knows the file by (a path); the reader sees its
    last part. `own_unit`: whose files these are, when the asker is known (a clerk's account, a registered
    sender): a form of another unit is then a problem, since a clean answer would send the wrong file.
    A form whose title names no unit or month is placed in its package as ingest places it: by the asker's
    unit, else by what the file's name says (ingest reads the subject, then the file names); the answer says
    which the file name gave.

    The files are read with `units`, those of plan year `year`. A month without a year (a title's, a file
    name's) is placed near `near` as ingest places one near a mail's arrival (parsers.months.placed); without
    `near`, it is read in `year`. `plans` holds each plan year's units with that year's targets (plain data, as
    everything here: this runs in a reader process): with `near`, forms placed in another plan year than `year`,
    whose units differ from `units`, are read again with that year's units (_read_by_plan); each package is
    checked against the unit of its month's plan year (checked_unit)."""
    per_file = [_read(label, data, units, year, near) for label, data in files]
    by_year = {each: tuple(own) for each, own in plans}
    if near is not None and by_year:
        per_file = _read_by_plan(files, per_file, units, year, near, by_year, own_unit)
    found = [form for forms in per_file for form in forms]
    stated = _stated_of(found, own_unit)
    checks = _package_checks([reading for _, _, reading, _ in found], stated, units, by_year)
    every = (*units, *(unit for own in by_year.values() for unit in own))
    return [
        _as_json(label, name, reading, (*_unit_problems(reading, own_unit, every), *checks.get(id(reading), ())))
        | {f"{key}_by_name": value for key, value in by_name.items()}
        for label, name, reading, by_name in found
    ]


# One form found: the file's label, its name, the reading, and the unit and month the file's name gives.
Found = tuple[str, str, FormReading, dict[str, str]]


def _read(label: str, data: bytes, units: Sequence[Unit], year: int, near: datetime | None) -> list[Found]:
    """The forms one file holds, read with `units`, each month without a year placed near `near` (read in
    `year` without it); a file holding none as one that says why."""
    name = file_name(label)
    readings = read_attachment(name, data, units, year=year if near is None else UNDATED)
    if near is not None:
        readings = tuple(replace(reading, month=placed(reading.month, near)) for reading in readings)
    found = [(label, name, reading, _by_name(reading, name, units, year, near)) for reading in readings]
    if not readings and not is_lock_file(name):  # an office program's lock file is nothing to report
        found.append((label, name, no_form(name, data), {}))
    return found


def _stated_of(found: Sequence[Found], own_unit: str | None) -> list[tuple[str | None, str | None]]:
    """The unit and month each form states, or its asker's unit and its file's name give."""
    return [
        (reading.unit or own_unit or by_name.get("unit"), reading.month or by_name.get("month"))
        for _, _, reading, by_name in found
    ]


def _read_by_plan(
    files: Sequence[tuple[str, bytes]],
    per_file: list[list[Found]],
    units: Sequence[Unit],
    year: int,
    near: datetime,
    by_year: dict[int, tuple[Unit, ...]],
    own_unit: str | None,
) -> list[list[Found]]:
    """Each file's forms placed in a month of another plan year than `year` read again with that year's units,
    where those differ from `units` as a reader sees them (a unit that joined or left the plan that year): a
    file whose forms all lie in that year read again whole; in a file of several years, each form of that year
    taken from the new reading when it found as many forms (else the file kept as it was). A form's month is
    that of its package (package_keys), else its own."""
    stated = _stated_of([form for forms in per_file for form in forms], own_unit)
    months = iter(
        ((key[1] if key is not None else None) or month) for (_, month), key in zip(stated, package_keys(stated))
    )
    read_as = _as_read(units)
    result: list[list[Found]] = []
    for (label, data), forms in zip(files, per_file):
        years = [int(month[:4]) if month else None for month in (next(months) for _ in forms)]
        for other in sorted({each for each in years if each is not None and each != year and each in by_year}):
            if _as_read(by_year[other]) == read_as:
                continue
            again = _read(label, data, by_year[other], other, near)
            if all(each == other for each in years):
                forms = again
            elif len(again) == len(forms):  # the same bytes give the same forms, in the same order
                forms = [anew if each == other else form for form, anew, each in zip(forms, again, years)]
        result.append(forms)
    return result


def _as_read(units: Sequence[Unit]) -> tuple[Unit, ...]:
    """The units as a reader sees them: names, aliases and addresses, not targets."""
    return tuple(replace(unit, targets=()) for unit in units)


def _by_name(
    reading: FormReading, name: str, units: Sequence[Unit], year: int, near: datetime | None
) -> dict[str, str]:
    """The unit and month the file's name gives where the form's title gives none (枣强县5月份附件3.xlsx), its
    month placed as the title's would be."""
    if not reading.form:
        return {}
    unit = find_unit(name, units) if reading.unit is None else None
    month = None
    if reading.month is None:
        month = month_in(name, year) if near is None else placed(month_in(name, UNDATED), near)
    return {key: value for key, value in (("unit", unit and unit.name), ("month", month)) if value}


def file_name(label: str) -> str:
    """The last part of a path, whichever separator the sender's system uses."""
    return label.replace("\\", "/").rsplit("/", 1)[-1]


def failed_file(label: str, message: str) -> dict[str, Any]:
    """A file whose reading failed outside the readers (its reader process died), as the inspection shows it."""
    name = file_name(label)
    return _as_json(label, name, unreadable(name, message), ())


def package_keys(stated: Sequence[tuple[str | None, str | None]]) -> list[tuple[str, str | None] | None]:
    """The package (unit, month) of each form, given the unit and month it states: a package is one unit's
    one month, since a clerk may check two months at once and November's 附件2 must never be counted against
    October's registries. A form without a month joins its unit's package when the unit's forms name exactly
    one month; a form without a unit is in none. Shared by the package checks and the answer's conclusion,
    so both see the same packages."""
    months: dict[str, set[str]] = {}
    for unit, month in stated:
        if unit is not None and month is not None:
            months.setdefault(unit, set()).add(month)
    keys: list[tuple[str, str | None] | None] = []
    for unit, month in stated:
        if unit is None:
            keys.append(None)
        elif month is None and len(months.get(unit, ())) == 1:
            keys.append((unit, next(iter(months[unit]))))
        else:
            keys.append((unit, month))
    return keys


def _package_checks(
    readings: list[FormReading],
    stated: list[tuple[str | None, str | None]],
    units: Sequence[Unit],
    by_year: dict[int, tuple[Unit, ...]],
) -> dict[int, tuple[Problem, ...]]:
    """Each package's forms (package_keys of the unit and month each is placed in) checked together, against
    the unit of its month's plan year (checked_unit); the findings go on the 附件2 they are about (a package
    holding two, a copy or a draft among them, shows each one's own). A file that could not be read names no
    unit or month, so may be any package's registry: each package is told of it, so that none compares its
    附件2 with registries that may lack that file's persons."""
    packages: dict[tuple[str, str | None], list[FormReading]] = {}
    unplaced: list[FormReading] = []
    for reading, key in zip(readings, package_keys(stated)):
        if key is not None:
            packages.setdefault(key, []).append(reading)
        elif not reading.readable:
            unplaced.append(reading)
    checks: dict[int, tuple[Problem, ...]] = {}
    for (name, month), own in packages.items():
        unit = checked_unit(name, month, units, by_year)
        if unit is None:
            continue
        registries = [reading for reading in (*own, *unplaced) if reading.form != 2]
        for summary in (reading for reading in own if reading.form == 2 and reading.readable):
            checks[id(summary)] = tuple(check_package([summary, *registries], unit))
    return checks


def checked_unit(
    name: str, month: str | None, units: Sequence[Unit], by_year: dict[int, tuple[Unit, ...]]
) -> Unit | None:
    """The unit named `name` that a package of `month` is checked against: the one of its month's plan year,
    with that year's targets; without targets (its registries checked, no 目标数) when no plan holds it that
    year, as ingest checks such a package; the one of `units` when the package has no month or no plans are
    given. None for a name neither `units` nor a plan holds."""
    known = {unit.name: unit for unit in units}
    if month is None or not by_year:
        return known.get(name)
    planned = {unit.name: unit for unit in by_year.get(int(month[:4]), ())}
    if name in planned:
        return planned[name]
    anywhere = known.get(name) or next((unit for own in by_year.values() for unit in own if unit.name == name), None)
    return None if anywhere is None else replace(anywhere, targets=())


def _unit_problems(reading: FormReading, own_unit: str | None, every: Sequence[Unit]) -> tuple[Problem, ...]:
    """A form of another unit than the asker's: most often the wrong file chosen (a neighbour's, sent round for
    reference), which the form's own checks cannot see. A renamed unit is its predecessor under another year's
    name (枣强区, whose alias is 枣强县): its clerk's December files, titled 枣强县, are its own."""
    if own_unit is None or reading.unit is None or reading.unit == own_unit:
        return ()
    if any({unit.name, *unit.aliases} >= {own_unit, reading.unit} for unit in every):
        return ()
    return (
        Problem(
            None,
            None,
            None,
            OTHER_UNIT,
            f"表中写的单位是{reading.unit}，而您单位是{own_unit}；请核对是否选错了文件",
        ),
    )


def _as_json(label: str, name: str, reading: FormReading, extra: tuple[Problem, ...]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "file": label + reading.source.removeprefix(name),
        "form": reading.form,
        "unit": reading.unit,
        "month": reading.month,
        "rows": reading.rows,
        "readable": reading.readable,
        "problems": [asdict(problem) for problem in (*reading.problems, *extra)],
    }
    if reading.form == 1:
        result["characters"] = text_characters(reading.text)
    if reading.form == 2:
        tasks = dict(reading.tasks)
        result["done"] = {task: tasks[task].done if task in tasks else None for task in TASKS}
    return result
