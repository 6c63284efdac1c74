"""The migrations are the schema: up, down and up again on each backend, matching the models."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db.migrate import downgrade_async, upgrade_async
from app.db.models import metadata
from app.db.session import create_engine
from tests.conftest import BACKENDS, fresh_database_url


async def _tables(url: str) -> set[str]:
    engine = create_engine(url, pool_size=0)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    finally:
        await engine.dispose()
    return set(names) - {"alembic_version"}


async def _drift(url: str) -> list[object]:
    engine = create_engine(url, pool_size=0)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), metadata
                )
            )
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_up_down_up_matches_models(backend: str, tmp_path: Path) -> None:
    async with fresh_database_url(backend, tmp_path) as url:
        await upgrade_async(url)
        assert await _tables(url) == set(metadata.tables)
        assert await _drift(url) == []

        await downgrade_async(url, "base")
        assert await _tables(url) == set()

        await upgrade_async(url)
        assert await _tables(url) == set(metadata.tables)
