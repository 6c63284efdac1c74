"""The project's stacking rules (reference §4.3): one record per project, defaults when absent.

Stored as the snake_case input in `StackingRulesRecord.rules`; `definitions.stacking_rules`
turns it into the engine's `StackingRules`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError

from app.db import repository
from app.db.base import utcnow
from app.db.categories import Category
from app.db.redemptions import StackingRulesRecord
from app.db.session import Database
from app.engine.error_codes import INVALID_STACKING_RULES
from app.services.checkout import definitions
from app.services.errors import Checks, ServiceError, not_found


class RollbackOrderMode(StrEnum):
    """Whether rolling back a redemption also takes its discount off the order."""

    WITH_ORDER = "WITH_ORDER"
    WITHOUT_ORDER = "WITHOUT_ORDER"


CODE = INVALID_STACKING_RULES
ROLLBACK_ORDER_MODES = tuple(mode.value for mode in RollbackOrderMode)
DEFAULT_ROLLBACK_ORDER_MODE = RollbackOrderMode.WITH_ORDER.value
LIMITS = {
    "redeemables_limit": 30,
    "applicable_redeemables_limit": 30,
    "applicable_redeemables_per_category_limit": 30,
    "applicable_exclusive_redeemables_limit": 5,
    "applicable_exclusive_redeemables_per_category_limit": 5,
}
CATEGORY_LISTS = (
    "exclusive_categories", "joint_categories", "no_effect_skip_categories",
    "no_effect_redeem_anyway_categories", "initial_amount_mode_categories",
    "discounted_amount_mode_categories",
)
DISJOINT = (
    ("exclusive_categories", "joint_categories"),
    ("no_effect_skip_categories", "no_effect_redeem_anyway_categories"),
    ("initial_amount_mode_categories", "discounted_amount_mode_categories"),
)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def effective(stored: dict[str, Any] | None) -> dict[str, Any]:
    """Every stacking rule, the stored ones over the defaults, in the stored snake_case shape."""
    rules = definitions.stacking_rules(stored)
    out: dict[str, Any] = {}
    for f in fields(rules):
        value = getattr(rules, f.name)
        if isinstance(value, frozenset):
            value = sorted(value)
        elif hasattr(value, "value"):
            value = value.value
        elif isinstance(value, Mapping):
            value = dict(value)
        out[f.name] = value
    out["redeemables_rollback_order_mode"] = (stored or {}).get(
        "redeemables_rollback_order_mode", DEFAULT_ROLLBACK_ORDER_MODE
    )
    return out


async def get_stacking_rules(db: Database, project_id: str) -> dict[str, Any]:
    async with db.read() as session:
        record = await session.get(StackingRulesRecord, project_id)
    return effective(record.rules if record else None)


def _check(checks: Checks, merged: dict[str, Any]) -> None:
    for key, maximum in LIMITS.items():
        value = merged.get(key)
        if value is not None and not 1 <= value <= maximum:
            checks.fail(CODE, f"must be 1..{maximum}", [_camel(key)])
    limits = merged.get("applicable_redeemables_category_limits")
    if limits is not None and (not isinstance(limits, dict) or any(
        isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 30
        for v in limits.values()
    )):
        checks.fail(CODE, "an object of category id → limit 1..30",
                    ["applicableRedeemablesCategoryLimits"])
    for a, b in DISJOINT:
        overlap = set(merged.get(a) or []) & set(merged.get(b) or [])
        if overlap:
            checks.fail(CODE, f"{_camel(a)} and {_camel(b)} must not share categories "
                        f"({', '.join(sorted(overlap))})", [_camel(b)])
    mode = merged.get("redeemables_rollback_order_mode")
    if mode is not None and mode not in ROLLBACK_ORDER_MODES:
        checks.fail(CODE, "WITH_ORDER or WITHOUT_ORDER", ["redeemablesRollbackOrderMode"])


async def update_stacking_rules(
    db: Database, project_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Set the given rules (null resets one to its default); the others keep their value."""
    for attempt in range(2):
        try:
            return await _update(db, project_id, data)
        except IntegrityError:  # two first-time writers raced to insert the record
            if attempt:
                raise
    raise AssertionError("unreachable")


async def _update(db: Database, project_id: str, data: dict[str, Any]) -> dict[str, Any]:
    async with db.write() as session:
        record = await session.get(StackingRulesRecord, project_id)
        merged = dict(record.rules) if record else {}
        for key, value in data.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = list(dict.fromkeys(value)) if key in CATEGORY_LISTS else value
        checks = Checks()
        _check(checks, merged)
        checks.raise_if_any()
        await _check_categories(session, project_id, data)
        try:
            definitions.stacking_rules(merged)
        except (TypeError, ValueError) as exc:
            raise ServiceError.one(CODE, str(exc), None) from exc
        if record is None:
            session.add(StackingRulesRecord(project_id=project_id, rules=merged))
        else:
            record.rules = merged
            record.updated_at = utcnow()
    return effective(merged)


async def _check_categories(session: Any, project_id: str, data: dict[str, Any]) -> None:
    wanted: list[tuple[str, list[str]]] = []
    for key in CATEGORY_LISTS:
        for index, category_id in enumerate(data.get(key) or []):
            wanted.append((category_id, [_camel(key), str(index)]))
    for category_id in (data.get("applicable_redeemables_category_limits") or {}):
        wanted.append((category_id, ["applicableRedeemablesCategoryLimits", category_id]))
    found = await repository.get_many(session, Category, project_id, [w[0] for w in wanted])
    for category_id, path in wanted:
        if category_id not in found:
            raise not_found("category", category_id, path)
