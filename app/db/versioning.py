"""A per-project catalog version, bumped in the same transaction as any change that can alter
what qualification or validation would compute from cached definitions (campaigns, tiers,
stacks, vouchers, rules, categories, stacking rules, AUTO_UPDATE collection filters), and a
products version bumped by any change to products, SKUs and collections (what order lines
resolve to: prices, metadata, collection memberships).

Caches of compiled candidates (in every process) compare it on each call, so one indexed
read tells them whether to rebuild. The bump is automatic: ORM flushes and Core UPDATE /
DELETE statements on those tables are watched, except statements that only move counters
(redeemed quantities, balances, budgets), which qualification reads live anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from app.db.campaigns import Campaign, PromotionStack, PromotionTier
from app.db.catalog import Product, ProductCollection, ProductCollectionMember, Sku
from app.db.categories import Category
from app.db.projects import Project
from app.db.redemptions import StackingRulesRecord
from app.db.rules import ValidationRule, ValidationRuleAssignment
from app.db.vouchers import Voucher

CATALOG = "catalog_version"
PRODUCTS = "products_version"
# Which version each watched table's changes bump. Products and SKUs only move order lines
# (their prices, metadata and collections), so they have their own version and don't
# restart the campaign definitions; collections bump both (AUTO_UPDATE filters are
# definitions as well as memberships).
VERSIONS: dict[type, tuple[str, ...]] = {
    Campaign: (CATALOG,), PromotionTier: (CATALOG,), PromotionStack: (CATALOG,),
    Voucher: (CATALOG,), ValidationRule: (CATALOG,), ValidationRuleAssignment: (CATALOG,),
    Category: (CATALOG,), StackingRulesRecord: (CATALOG,),
    ProductCollection: (CATALOG, PRODUCTS),
    Product: (PRODUCTS,), Sku: (PRODUCTS,), ProductCollectionMember: (PRODUCTS,),
}
WATCHED: tuple[type, ...] = tuple(VERSIONS)
WATCHED_TABLES = {model.__table__.name: model for model in WATCHED}  # type: ignore[attr-defined]
COUNTERS = {
    "redeemed_quantity", "redeemed_amount", "gift_balance", "gift_amount", "redemptions_count",
    "discounted_amount", "orders_amount", "creation_status", "vouchers_count", "updated_at",
}


def _bump(project_ids: Any, columns: Iterable[str]) -> Any:
    """`project_ids`: a list of ids or a subquery selecting them."""
    where = (
        Project.id.in_(sorted(project_ids)) if isinstance(project_ids, set | list)  # type: ignore[attr-defined]
        else Project.id.in_(project_ids)  # type: ignore[attr-defined]
    )
    return (
        sa.update(Project)
        .where(where)
        .values({c: getattr(Project, c) + 1 for c in sorted(columns)})
        .execution_options(synchronize_session=False)
    )


def _changed_beyond_counters(obj: Any) -> bool:
    return any(a.history.has_changes() for a in inspect(obj).attrs if a.key not in COUNTERS)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    columns_by_project: dict[str, set[str]] = {}
    changed = [o for o in [*session.new, *session.deleted] if isinstance(o, WATCHED)]
    changed += [o for o in session.dirty if isinstance(o, WATCHED) and _changed_beyond_counters(o)]
    for obj in changed:
        columns_by_project.setdefault(obj.project_id, set()).update(VERSIONS[type(obj)])
    groups: dict[frozenset[str], set[str]] = {}
    for project_id, columns in columns_by_project.items():
        groups.setdefault(frozenset(columns), set()).add(project_id)
    for columns, projects in sorted(groups.items(), key=lambda g: sorted(g[0])):
        session.execute(_bump(projects, columns))


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
    state.session.execute(_bump(affected, VERSIONS[WATCHED_TABLES[table.name]]))


def install() -> None:
    """Watch every Session (idempotent)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "do_orm_execute", _do_orm_execute)
