import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from app.db.session import Database

# Make the API test helpers (factories.py) importable, as tests/engine does for its own.
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture
def sql_statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement the app sends while the test runs (to catch N+1 queries)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield statements
    event.remove(engine, "before_cursor_execute", record)
