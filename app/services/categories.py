"""Categories of redeemables (stacking hierarchy; JOINT, EXCLUSIVE or common)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.db import repository
from app.db.categories import Category
from app.db.ids import new_id
from app.db.session import Database
from app.engine.error_codes import (
    DUPLICATE_NAME,
    INVALID_HIERARCHY,
    INVALID_STACKING_RULES_TYPE,
    REQUIRED,
)
from app.engine.model import CategoryType
from app.services.errors import Checks, ServiceError, not_found

MAX_HIERARCHY = 1_000_000


def _check(checks: Checks, data: dict[str, Any], *, creating: bool) -> None:
    checks.text(data.get("name"), ["name"], max_length=200, required=creating)
    if not creating and "name" in data and data["name"] is None:
        checks.fail(REQUIRED, "a category needs a name", ["name"])
    hierarchy = data.get("hierarchy")
    if hierarchy is not None and not 0 <= hierarchy <= MAX_HIERARCHY:
        checks.fail(INVALID_HIERARCHY, f"hierarchy must be 0..{MAX_HIERARCHY}", ["hierarchy"])
    kind = data.get("stacking_rules_type")
    if kind is not None and kind not in CategoryType.__members__:
        checks.fail(INVALID_STACKING_RULES_TYPE, "must be JOINT, EXCLUSIVE or null (common)",
                    ["stackingRulesType"])


def _duplicate_name() -> ServiceError:
    return ServiceError.one(DUPLICATE_NAME, "another category already has this name", ["name"])


async def _name_taken(session: Any, project_id: str, name: str, own_id: str | None) -> bool:
    stmt = sa.select(Category.id).where(
        Category.project_id == project_id, Category.name == name.strip()
    )
    found = (await session.execute(stmt)).scalar_one_or_none()
    return found is not None and found != own_id


async def create_category(db: Database, project_id: str, data: dict[str, Any]) -> Category:
    checks = Checks()
    _check(checks, data, creating=True)
    checks.raise_if_any()
    category = Category(
        id=new_id("cat"), project_id=project_id, name=data["name"].strip(),
        hierarchy=data.get("hierarchy") or 0,
        # Neither JOINT nor EXCLUSIVE: a common category.
        stacking_rules_type=data.get("stacking_rules_type"),
    )
    try:
        async with db.write() as session:
            if await _name_taken(session, project_id, category.name, None):
                raise _duplicate_name()
            session.add(category)
    except IntegrityError as exc:
        raise _duplicate_name() from exc
    return category


async def update_category(
    db: Database, project_id: str, category_id: str, data: dict[str, Any]
) -> Category:
    checks = Checks()
    _check(checks, data, creating=False)
    checks.raise_if_any()
    try:
        async with db.write() as session:
            category = await repository.get(session, Category, project_id, category_id)
            if category is None:
                raise not_found("category", category_id, ["id"])
            if data.get("name") and await _name_taken(
                session, project_id, data["name"], category.id
            ):
                raise _duplicate_name()
            for key, value in data.items():
                if key == "stacking_rules_type":  # null makes the category common
                    category.stacking_rules_type = value
                elif value is not None:
                    setattr(category, key, value.strip() if key == "name" else value)
    except IntegrityError as exc:
        raise _duplicate_name() from exc
    return category
