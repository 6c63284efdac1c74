"""A per-project catalog version, bumped in the same transaction as any change that can alter
what qualification or validation would compute from cached definitions (campaigns, tiers,
stacks, vouchers, rules, categories, stacking rules, AUTO_UPDATE collection filters).

Caches of compiled candidates (in every process) compare it on each call, so one indexed
read tells them whether to rebuild. The bump is automatic: ORM flushes and Core UPDATE /
DELETE statements on those tables are watched, except statements that only move counters
(redeemed quantities, balances, budgets), which qualification reads live anyway.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from app.db.campaigns import Campaign, PromotionStack, PromotionTier
from app.db.catalog import ProductCollection
from app.db.categories import Category
from app.db.projects import Project
from app.db.redemptions import StackingRulesRecord
from app.db.rules import ValidationRule, ValidationRuleAssignment
from app.db.vouchers import Voucher

WATCHED: tuple[type, ...] = (
    Campaign, PromotionTier, PromotionStack, Voucher, ValidationRule, ValidationRuleAssignment,
    Category, StackingRulesRecord, ProductCollection,
)
WATCHED_TABLES = {model.__table__.name: model for model in WATCHED}  # type: ignore[attr-defined]
COUNTERS = {
    "redeemed_quantity", "redeemed_amount", "gift_balance", "gift_amount", "redemptions_count",
    "discounted_amount", "orders_amount", "creation_status", "vouchers_count", "updated_at",
}


def _bump(project_ids: set[str]) -> Any:
    return (
        sa.update(Project)
        .where(Project.id.in_(sorted(project_ids)))  # type: ignore[attr-defined]
        .values(catalog_version=Project.catalog_version + 1)
        .execution_options(synchronize_session=False)
    )


def _changed_beyond_counters(obj: Any) -> bool:
    return any(a.history.has_changes() for a in inspect(obj).attrs if a.key not in COUNTERS)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    touched: set[str] = set()
    for obj in [*session.new, *session.deleted]:
        if isinstance(obj, WATCHED):
            touched.add(obj.project_id)  # type: ignore[attr-defined]
    for obj in session.dirty:
        if isinstance(obj, WATCHED) and _changed_beyond_counters(obj):
            touched.add(obj.project_id)  # type: ignore[attr-defined]
    if touched:
        session.execute(_bump(touched))


def _statement_table(statement: Any) -> Any:
    table = getattr(statement, "table", None)
    return table if table is not None and table.name in WATCHED_TABLES else None


def _do_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    statement = state.statement
    table = _statement_table(statement)
    if table is None:
        return
    if state.is_update:
        columns = {getattr(c, "key", str(c)) for c in getattr(statement, "_values", {}) or {}}
        if columns and columns <= COUNTERS:
            return
    # Bump the projects of the rows this statement touches, before it touches them.
    affected = sa.select(table.c.project_id)
    if statement.whereclause is not None:
        affected = affected.where(statement.whereclause)
    state.session.execute(
        sa.update(Project)
        .where(Project.id.in_(affected))  # type: ignore[attr-defined]
        .values(catalog_version=Project.catalog_version + 1)
        .execution_options(synchronize_session=False)
    )


def install() -> None:
    """Watch every Session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "do_orm_execute", _do_orm_execute)
