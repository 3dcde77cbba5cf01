"""What the operator sees when things go wrong: no personal data in a database error's text."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from archive.db import Database


def test_a_database_error_never_carries_the_values_it_failed_on(tmp_path, database_url):
    db = Database(database_url)
    try:
        with pytest.raises(SQLAlchemyError) as raised, db.engine.begin() as connection:
            connection.execute(text("SELECT * FROM no_such_table WHERE name = :id"), {"id": "13112519541218000863"})
        assert "no_such_table" in str(raised.value) and "13112519541218000863" not in str(raised.value)
    finally:
        db.engine.dispose()
