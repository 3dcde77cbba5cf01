"""Form readings (parsers.forms records) to database rows, so they can be searched and compared."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

from sqlalchemy import insert
from sqlalchemy.orm import Session

from archive.db import storable
from archive.models import Attachment, FormReadingRow, PersonRow
from parsers.forms import FormReading, Problem, id_key


def problem_dicts(problems: Iterable[Problem]) -> list[dict]:
    return [asdict(problem) for problem in problems]


def reading_row(reading: FormReading, attachment: Attachment, extra: Iterable[Problem] = ()) -> FormReadingRow:
    """The row of a reading, without its persons: `insert_persons` writes them in bulk once it has its id."""
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
    )


def insert_persons(session: Session, readings: Iterable[tuple[int, FormReading]]) -> None:
    """The persons of the readings (each with its row's id), written in bulk: COPY on PostgreSQL, three
    times an executemany's speed for a 50,000-row registry; one executemany elsewhere."""
    rows = [
        {"reading_id": reading_id, **_person_values(reading, person)}
        for reading_id, reading in readings
        for person in reading.persons
    ]
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(PersonRow), rows)
        return
    from psycopg.types.json import Json  # psycopg is loaded only where the database is PostgreSQL

    columns = list(rows[0])
    driver = session.connection().connection.driver_connection
    assert driver is not None  # None only once a connection is closed; the session's is in use
    with driver.cursor() as cursor, cursor.copy(f"COPY person_row ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:  # COPY passes no statement hook: the texts made storable here, as archive.db does
            copy.write_row([Json(value) if key == "fields" else value for key, value in storable(row).items()])


def _person_values(reading: FormReading, person) -> dict:
    fields = dict(person.fields)
    return {
        "form": reading.form or 0,
        "unit": reading.unit,
        "month": reading.month,
        "sheet": person.sheet,
        "row": person.row,
        "name": fields.get("name") or fields.get("student_name", ""),
        # as compared (id_key: full-width, spaced and lower-case x alike), what finds one person in two units
        "disability_id": id_key(fields.get("disability_id", "")),
        "id_number": id_key(fields.get("id_number", "")),
        "phone": fields.get("phone", ""),
        "fields": fields,
    }
