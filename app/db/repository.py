"""Tenant-scoped reads shared by every aggregate: by id, by source id, keyset pages, counts.

Every function takes the project id; no query here runs without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

M = TypeVar("M", bound=SQLModel)


@dataclass(frozen=True)
class Page(Generic[M]):
    items: list[M]
    has_next: bool


def _col(model: type[SQLModel], name: str) -> Any:
    return getattr(model, name)


async def get(session: AsyncSession, model: type[M], project_id: str, id_: str) -> M | None:
    stmt = sa.select(model).where(_col(model, "project_id") == project_id, _col(model, "id") == id_)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_many(
    session: AsyncSession, model: type[M], project_id: str, ids: Iterable[str]
) -> dict[str, M]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    stmt = sa.select(model).where(
        _col(model, "project_id") == project_id, _col(model, "id").in_(wanted)
    )
    return {row.id: row for row in (await session.execute(stmt)).scalars()}  # type: ignore[attr-defined]


async def get_by_source_id(
    session: AsyncSession, model: type[M], project_id: str, source_id: str
) -> M | None:
    stmt = sa.select(model).where(
        _col(model, "project_id") == project_id, _col(model, "source_id") == source_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_many_by_source_id(
    session: AsyncSession, model: type[M], project_id: str, source_ids: Iterable[str]
) -> dict[str, M]:
    wanted = list(dict.fromkeys(source_ids))
    if not wanted:
        return {}
    stmt = sa.select(model).where(
        _col(model, "project_id") == project_id, _col(model, "source_id").in_(wanted)
    )
    return {row.source_id: row for row in (await session.execute(stmt)).scalars()}  # type: ignore[attr-defined]


async def page(
    session: AsyncSession,
    model: type[M],
    project_id: str,
    *,
    first: int,
    after: str | None,
    where: Sequence[Any] = (),
) -> Page[M]:
    """Newest first: ids are ULID-suffixed, so `id DESC` is creation order, keyset on `id`."""
    id_col = _col(model, "id")
    stmt = sa.select(model).where(_col(model, "project_id") == project_id, *where)
    if after is not None:
        stmt = stmt.where(id_col < after)
    stmt = stmt.order_by(id_col.desc()).limit(first + 1)
    rows = list((await session.execute(stmt)).scalars())
    return Page(items=rows[:first], has_next=len(rows) > first)


async def count(
    session: AsyncSession, model: type[M], project_id: str, where: Sequence[Any] = ()
) -> int:
    stmt = (
        sa.select(sa.func.count())
        .select_from(model)
        .where(_col(model, "project_id") == project_id, *where)
    )
    return int((await session.execute(stmt)).scalar_one())
