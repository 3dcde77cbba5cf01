"""Form readings (parsers.forms records) to database rows, so they can be searched and compared."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

from archive.models import Attachment, FormReadingRow, PersonRow
from parsers.forms import FormReading, Problem


def problem_dicts(problems: Iterable[Problem]) -> list[dict]:
    return [asdict(problem) for problem in problems]


def reading_row(
    reading: FormReading, attachment: Attachment, extra: Iterable[Problem] = (), with_persons: bool = True
) -> FormReadingRow:
    """The row of a reading; its persons as objects too unless `with_persons` is False (ingest inserts
    them in bulk, `person_values`, once the reading has its id)."""
    return FormReadingRow(
        attachment=attachment,
        source=reading.source,
        form=reading.form,
        unit=reading.unit,
        month=reading.month,
        rows=reading.rows,
        readable=reading.readable,
        text=reading.text,
        tasks={task: asdict(figures) for task, figures in reading.tasks},
        problems=problem_dicts((*reading.problems, *extra)),
        persons=[PersonRow(**_person_values(reading, person)) for person in reading.persons] if with_persons else [],
    )


def person_values(reading_id: int, reading: FormReading) -> list[dict]:
    """The person rows of a reading, as values for one bulk insert."""
    return [{"reading_id": reading_id, **_person_values(reading, person)} for person in reading.persons]


def _person_values(reading: FormReading, person) -> dict:
    fields = dict(person.fields)
    return {
        "form": reading.form or 0,
        "unit": reading.unit,
        "month": reading.month,
        "sheet": person.sheet,
        "row": person.row,
        "name": fields.get("name") or fields.get("student_name", ""),
        "disability_id": fields.get("disability_id", ""),
        "id_number": fields.get("id_number", ""),
        "phone": fields.get("phone", ""),
        "fields": fields,
    }
