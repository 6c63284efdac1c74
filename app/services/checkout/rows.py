"""Batched row reads shared by the checkout loaders and the kinds' row sources."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.projects import Project
from app.db.rules import ValidationRule, ValidationRuleAssignment

# The project head: what every checkout reads first (its cache versions and time zone).
HEAD = (Project.time_zone, Project.catalog_version, Project.products_version)


@functools.cache
def head_statement() -> Any:
    """Built once, with a bind parameter: building a statement and its cache key costs
    SQLAlchemy more than SQLite takes to run it (0.5 ms against 0.02 ms)."""
    return sa.select(*HEAD).where(Project.id == sa.bindparam("project_id"))


async def read_head(session: AsyncSession, project_id: str) -> Any:
    return (await session.execute(head_statement(), {"project_id": project_id})).one()


def distinct(values: Sequence[str | None]) -> list[str]:
    """The non-empty values, each once, in first-seen order."""
    return list(dict.fromkeys(v for v in values if v))


async def rows_by_id(
    session: AsyncSession, model: Any, project_id: str, ids: Iterable[str], *, lock: bool
) -> dict[str, Any]:
    """Rows of one project by id in one statement; `lock`: `FOR NO KEY UPDATE`, in id order."""
    wanted = distinct(list(ids))
    if not wanted:
        return {}
    stmt = (
        sa.select(model)
        .where(model.project_id == project_id, model.id.in_(wanted))
        .order_by(model.id)
    )
    if lock:
        stmt = stmt.with_for_update(key_share=True)
    return {row.id: row for row in (await session.execute(stmt)).scalars()}


async def by_id(
    session: AsyncSession, project_id: str, model: Any, ids: list[str], *, lock: bool = False,
    cache: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Rows by id, None for ids that do not exist; with `cache`, only the ids it lacks are
    read (and added to it, absent ones as None)."""
    missing = [i for i in ids if cache is None or i not in cache]
    found = await rows_by_id(session, model, project_id, missing, lock=lock) if missing else {}
    fresh = {i: found.get(i) for i in missing}
    if cache is None:
        return fresh
    cache.update(fresh)
    return {i: cache[i] for i in ids}


async def rules_for(
    session: AsyncSession, project_id: str, object_ids: list[str]
) -> dict[str, list[ValidationRule]]:
    """Validation rules assigned to each object id (campaign, voucher, tier), one query."""
    if not object_ids:
        return {}
    stmt = (
        sa.select(ValidationRuleAssignment.related_object_id, ValidationRule)
        .join(ValidationRule, ValidationRule.id == ValidationRuleAssignment.rule_id)
        .where(
            ValidationRuleAssignment.project_id == project_id,
            ValidationRuleAssignment.related_object_id.in_(object_ids),  # type: ignore[attr-defined]
        )
        .order_by(ValidationRuleAssignment.id)
    )
    found: dict[str, list[ValidationRule]] = defaultdict(list)
    for object_id, rule in (await session.execute(stmt)).all():
        found[object_id].append(rule)
    return found
