"""Load everything one stack evaluation needs, in a fixed handful of batched queries.

The same loader serves validation (plain reads) and redemption (inside the spending
transaction, with the spent rows locked first). Nothing here writes.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db.campaigns import Campaign, PromotionStack, PromotionTier
from app.db.catalog import (
    LineCatalog,
    Product,
    Sku,
    auto_collections,
    catalog_for_lines,
    collections_of_products,
)
from app.db.categories import Category
from app.db.customers import Customer
from app.db.orders import (
    SHIPPING_PRODUCT_ID,
    SHIPPING_SOURCE_ID,
    Order,
    OrderItem,
    items_of_orders,
    line_product_id,
)
from app.db.projects import Project
from app.db.redemptions import (
    Redemption,
    RedemptionResult,
    RedemptionStatus,
    SessionReservation,
    StackingRulesRecord,
)
from app.db.rules import ValidationRule, ValidationRuleAssignment
from app.db.vouchers import Voucher, VoucherType
from app.services import definitions
from app.services.errors import ServiceError

VOUCHER_KIND = {
    VoucherType.DISCOUNT_VOUCHER: engine.RedeemableKind.DISCOUNT_VOUCHER,
    VoucherType.GIFT_VOUCHER: engine.RedeemableKind.GIFT_VOUCHER,
    VoucherType.LOYALTY_CARD: engine.RedeemableKind.LOYALTY_CARD,
}
COUNTER_RULES = (
    "redemption.count",
    "campaign.redemptions",
    "campaign.orders",
)


# --- request ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RedeemableRef:
    object: engine.RedeemableObject
    id: str
    gift_credits: int | None = None
    reward_id: str | None = None
    reward_points: int | None = None

    @classmethod
    def of(cls, object_name: str, id_: str, **asks: Any) -> RedeemableRef:
        return cls(object=engine.RedeemableObject(object_name), id=id_, **asks)


@dataclass(frozen=True)
class ItemRef:
    quantity: int
    product_id: str | None = None
    sku_id: str | None = None
    source_id: str | None = None
    price: int | None = None
    amount: int | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class OrderRef:
    id: str | None = None
    source_id: str | None = None
    amount: int | None = None
    status: str | None = None
    items: tuple[ItemRef, ...] | None = None
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class CustomerRef:
    id: str | None = None
    source_id: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    metadata: Mapping[str, Any] | None = None

    def as_upsert(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        for key in ("source_id", "name", "email", "phone", "metadata"):
            value = getattr(self, key)
            if value is not None:
                data[key] = dict(value) if key == "metadata" else value
        return data


@dataclass(frozen=True)
class StackRequest:
    redeemables: tuple[RedeemableRef, ...]
    order: OrderRef | None = None
    customer: CustomerRef | None = None
    metadata: Mapping[str, Any] | None = None
    session_key: str | None = None


# --- loaded snapshot ----------------------------------------------------------------------

@dataclass
class Snapshot:
    time_zone: str
    stacking_raw: dict[str, Any]
    stacking: engine.StackingRules
    vouchers: dict[str, Voucher]  # by voucher id
    tiers: dict[str, PromotionTier]
    campaigns: dict[str, Campaign]
    # per requested redeemable: (object, requested id, row id or None)
    resolved: list[tuple[engine.RedeemableObject, str, str | None]]
    customer_row: Customer | None
    order_row: Order | None
    request: engine.EvaluationRequest
    reserved: dict[str, tuple[int, int]] = field(default_factory=dict)  # voucher: (uses, credits)
    sent_lines: tuple[engine.OrderItem, ...] | None = None  # the request's lines, resolved
    stored_lines: list[OrderItem] | None = None  # the existing order's lines it was built from

    @property
    def rollback_with_order(self) -> bool:
        return self.stacking_raw.get("redeemables_rollback_order_mode", "WITH_ORDER") == (
            "WITH_ORDER"
        )


def _chunks(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


async def load_stacking_rules(
    session: AsyncSession, project_id: str
) -> tuple[dict[str, Any], engine.StackingRules]:
    record = await session.get(StackingRulesRecord, project_id)
    raw = dict(record.rules) if record else {}
    return raw, definitions.stacking_rules(raw)


async def _vouchers(
    session: AsyncSession, project_id: str, wanted: list[str], *, lock: bool
) -> dict[str, Voucher]:
    """Vouchers named by code or `v_` id, keyed by the name used; locked in id order."""
    if not wanted:
        return {}
    stmt = (
        sa.select(Voucher)
        .where(
            Voucher.project_id == project_id,
            sa.or_(Voucher.code.in_(wanted), Voucher.id.in_(wanted)),  # type: ignore[attr-defined]
        )
        .order_by(Voucher.id)
    )
    if lock:
        stmt = stmt.with_for_update(key_share=True)
    found: dict[str, Voucher] = {}
    for voucher in (await session.execute(stmt)).scalars():
        found[voucher.code] = voucher
        found[voucher.id] = voucher
    return found


async def _rows_by_id(
    session: AsyncSession, model: Any, project_id: str, ids: Iterable[str], *, lock: bool
) -> dict[str, Any]:
    wanted = _chunks(list(ids))
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


async def _rules_for(
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


def _engine_rule(rule: ValidationRule) -> engine.ValidationRule:
    return definitions.validation_rule(
        rule.id, rule.name, rule.rules, rule.error_message, rule.applicable_to, rule.bundle_rules
    )


def categories_of(row: Category | None) -> tuple[engine.Category, ...]:
    if row is None:
        return ()
    return (
        engine.Category(
            id=row.id,
            hierarchy=row.hierarchy,
            # None: a common category (neither always nor never stackable)
            stacking_rules_type=engine.CategoryType(row.stacking_rules_type)
            if row.stacking_rules_type else None,
        ),
    )


def _validity(row: Any) -> engine.Validity:
    return definitions.validity(
        row.start_date, row.expiration_date, row.validity_timeframe, row.validity_day_of_week,
        row.validity_hours,
    )


def _campaign_window(campaign: Campaign | None, own: engine.Validity) -> engine.Validity:
    """A voucher without its own dates lives in its campaign's window."""
    if campaign is None:
        return own
    inherited = _validity(campaign)
    return engine.Validity(
        start_date=own.start_date or inherited.start_date,
        expiration_date=own.expiration_date or inherited.expiration_date,
        timeframe_duration=own.timeframe_duration or inherited.timeframe_duration,
        timeframe_interval=own.timeframe_interval or inherited.timeframe_interval,
        day_of_week=own.day_of_week if own.day_of_week is not None else inherited.day_of_week,
        daily_hours=own.daily_hours if own.daily_hours is not None else inherited.daily_hours,
    )


def voucher_definition(
    requested: str, voucher: Voucher, campaign: Campaign | None,
    rules: list[ValidationRule], category: Category | None,
) -> engine.Redeemable:
    return engine.Redeemable(
        object=engine.RedeemableObject.VOUCHER,
        id=requested,
        kind=VOUCHER_KIND[VoucherType(voucher.type)],
        campaign_id=voucher.campaign_id,
        active=voucher.active and (campaign.active if campaign else True),
        discount=definitions.discount(voucher.discount) if voucher.discount else None,
        gift_effect=engine.DiscountEffect(voucher.gift_effect or "APPLY_TO_ORDER"),
        validity=_campaign_window(campaign, _validity(voucher)),
        redemption_quantity=voucher.redemption_quantity,
        validation_rules=tuple(_engine_rule(r) for r in rules),
        categories=categories_of(category),
        metadata=voucher.metadata_,
        is_referral_code=voucher.is_referral_code,
    )


def tier_definition(
    requested: str, tier: PromotionTier, campaign: Campaign | None,
    rules: list[ValidationRule], category: Category | None,
) -> engine.Redeemable:
    action = tier.action or {}
    return engine.Redeemable(
        object=engine.RedeemableObject.PROMOTION_TIER,
        id=requested,
        kind=engine.RedeemableKind.PROMOTION_TIER,
        campaign_id=tier.campaign_id,
        active=tier.active and (campaign.active if campaign else True),
        discount=definitions.discount(action["discount"]) if action.get("discount") else None,
        validity=_campaign_window(campaign, _validity(tier)),
        validation_rules=tuple(_engine_rule(r) for r in rules),
        categories=categories_of(category),
        metadata=tier.metadata_,
    )


def not_found(obj: engine.RedeemableObject, requested: str) -> engine.Redeemable:
    return engine.Redeemable(object=obj, id=requested, found=False)


# --- counters -----------------------------------------------------------------------------

def _needs_counters(definition: engine.Redeemable) -> bool:
    def walk(rules: Iterable[engine.Rule]) -> bool:
        return any(r.name.startswith(COUNTER_RULES) or walk(r.rules) for r in rules)

    return any(walk(v.rules) for v in definition.validation_rules) or any(
        _needs_counters(t) for t in definition.tiers
    )


def period_starts(now: datetime, time_zone: str) -> dict[str, datetime]:
    """Start of the calendar day, ISO week and month of `now` in the project's time zone."""
    local = now.astimezone(ZoneInfo(time_zone))
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "daily": day,
        "weekly": day - timedelta(days=day.weekday()),
        "monthly": day.replace(day=1),
    }


def _since(column: Any, start: datetime, value: Any = 1) -> Any:
    return sa.case((column >= start, value), else_=None)


async def _counters(
    session: AsyncSession, project_id: str, incentive_ids: list[str], campaign_ids: list[str],
    customer_id: str | None, now: datetime, time_zone: str,
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Redemption counts before this request, per incentive and per campaign (2 queries)."""
    starts = period_starts(now, time_zone)
    live = [
        Redemption.project_id == project_id,
        Redemption.parent_id.is_not(None),  # type: ignore[union-attr]
        Redemption.result == RedemptionResult.SUCCESS,
        Redemption.status == RedemptionStatus.SUCCEEDED,
    ]
    per_incentive: dict[str, dict[str, int]] = {}
    if incentive_ids:
        incentive = sa.func.coalesce(Redemption.voucher_id, Redemption.promotion_tier_id)
        mine = Redemption.customer_id == customer_id if customer_id else sa.false()
        columns = [sa.func.count().label("redemption.count")]
        for period, start in starts.items():
            columns.append(sa.func.count(_since(Redemption.created_at, start)).label(
                f"redemption.count.{period}"))
        columns.append(sa.func.count(sa.case((mine, 1), else_=None)).label(
            "redemption.count.per_customer"))
        for period, start in starts.items():
            columns.append(sa.func.count(
                sa.case((sa.and_(mine, Redemption.created_at >= start), 1), else_=None)
            ).label(f"redemption.count.per_customer.{period}"))
        stmt = (
            sa.select(incentive.label("incentive"), *columns)
            .where(*live, incentive.in_(incentive_ids))
            .group_by(incentive)
        )
        for row in (await session.execute(stmt)).mappings():
            per_incentive[row["incentive"]] = {
                k: int(v) for k, v in row.items() if k != "incentive"
            }
    per_campaign: dict[str, dict[str, int]] = {}
    if campaign_ids:
        # Other customers only: the engine counts the current one as +1 itself.
        others = (
            sa.case((Redemption.customer_id != customer_id, Redemption.customer_id), else_=None)
            if customer_id else Redemption.customer_id
        )
        columns = [
            sa.func.count().label("campaign.redemptions.count"),
            sa.func.count(sa.distinct(others)).label("campaign.redemptions.customers_count"),
        ]
        for period, start in starts.items():
            columns.append(sa.func.count(_since(Redemption.created_at, start)).label(
                f"campaign.redemptions.count.{period}"))
            columns.append(sa.func.count(sa.distinct(
                _since(Redemption.created_at, start, others)
            )).label(f"campaign.redemptions.customers_count.{period}"))
        stmt = (
            sa.select(Redemption.campaign_id, *columns)
            .where(*live, Redemption.campaign_id.in_(campaign_ids))  # type: ignore[union-attr]
            .group_by(Redemption.campaign_id)
        )
        for row in (await session.execute(stmt)).mappings():
            per_campaign[row["campaign_id"]] = {
                k: int(v) for k, v in row.items() if k != "campaign_id"
            }
    return per_incentive, per_campaign


def _live_holds(project_id: Any, voucher: Any, now: Any, own_session: Any) -> list[Any]:
    """WHERE terms for other sessions' unexpired holds on `voucher` (ids or a column); the
    other arguments are values or bind parameters (None: no session of our own)."""
    terms = [
        SessionReservation.project_id == project_id,
        SessionReservation.expires_at > now,
        SessionReservation.voucher_id.in_(voucher) if isinstance(voucher, list)  # type: ignore[attr-defined]
        else SessionReservation.voucher_id == voucher,
    ]
    if own_session is not None:
        terms.append(SessionReservation.session_key != own_session)
    return terms


async def _reservations(
    session: AsyncSession, project_id: str, voucher_ids: list[str], now: datetime,
    own_session: str | None,
) -> dict[str, tuple[int, int]]:
    """Live LOCK-session holds of other sessions: voucher id → (uses, gift credits)."""
    if not voucher_ids:
        return {}
    stmt = (
        sa.select(
            SessionReservation.voucher_id,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(SessionReservation.gift_credits), 0),
        )
        .where(*_live_holds(project_id, voucher_ids, now, own_session))
        .group_by(SessionReservation.voucher_id)
    )
    return {
        voucher_id: (int(uses), int(credits))
        for voucher_id, uses, credits in (await session.execute(stmt)).all()
    }


# --- order and customer -------------------------------------------------------------------

async def _line_rows(
    session: AsyncSession, project_id: str, items: Sequence[ItemRef], cached: CachedLines
) -> LineCatalog:
    """`catalog_for_lines` through the products-version cache: only ids it lacks are read."""
    missing = [
        i for i in items
        if (i.product_id and i.product_id not in cached.products)
        or (i.sku_id and i.sku_id not in cached.skus)
        or (i.source_id and not (i.product_id or i.sku_id)
            and (i.source_id not in cached.skus_by_source
                 or i.source_id not in cached.products_by_source))
    ]
    if missing:
        found = await catalog_for_lines(session, project_id, missing)
        for item in missing:
            if item.product_id:
                cached.products.setdefault(item.product_id, None)
            if item.sku_id:
                cached.skus[item.sku_id] = found.skus.get(item.sku_id)
            if item.source_id and not (item.product_id or item.sku_id):
                cached.skus_by_source[item.source_id] = found.skus_by_source.get(item.source_id)
                cached.products_by_source[item.source_id] = found.products_by_source.get(
                    item.source_id)
        cached.products.update(found.products)  # SKUs' parents too
    products: dict[str, Product] = {}
    skus: dict[str, Sku] = {}
    skus_by_source: dict[str, Sku] = {}
    products_by_source: dict[str, Product] = {}
    for item in items:
        named = [cached.products.get(item.product_id)] if item.product_id else []
        if item.sku_id and (sku := cached.skus.get(item.sku_id)) is not None:
            skus[sku.id] = sku
            named.append(cached.products.get(sku.product_id))
        if item.source_id and not (item.product_id or item.sku_id):
            if (sku := cached.skus_by_source.get(item.source_id)) is not None:
                skus_by_source[item.source_id] = sku
                named.append(cached.products.get(sku.product_id))
            if (product := cached.products_by_source.get(item.source_id)) is not None:
                products_by_source[item.source_id] = product
        products.update((p.id, p) for p in named if p is not None)
    return LineCatalog(products, skus, skus_by_source, products_by_source)


async def _memberships(
    session: AsyncSession, project_id: str, product_ids: list[str], sku_ids: list[str],
    autos: Sequence[tuple[str, dict[str, Any]]] | None, cached: CachedLines,
) -> Mapping[str, Iterable[str]]:
    """Which collections each product / SKU is in; only ids the cache lacks are read."""
    new_products = _chunks([p for p in product_ids if p not in cached.collections])
    new_skus = _chunks([s for s in sku_ids if s not in cached.collections])
    if new_products or new_skus:
        found = await collections_of_products(session, project_id, new_products, new_skus,
                                              autos)
        for member_id in new_products + new_skus:
            cached.collections[member_id] = frozenset(found.get(member_id, ()))
    return cached.collections


def _is_shipping(item: ItemRef) -> bool:
    return item.product_id == SHIPPING_PRODUCT_ID


def _shipping_line(index: int, item: ItemRef) -> engine.OrderItem:
    """The built-in shipping product: not in the catalog, priced by the line (the shipping
    cost of this order)."""
    if item.sku_id is not None:
        raise ServiceError.one("not_found", "the shipping product has no SKUs",
                               ["order", "items", str(index), "skuId"])
    if item.price is None and item.amount is None:
        raise ServiceError.one(
            "missing_item_price", "a shipping line needs its price (the shipping cost)",
            ["order", "items", str(index), "price"],
        )
    return engine.OrderItem(
        quantity=item.quantity, price=item.price, amount=item.amount,
        product_id=SHIPPING_PRODUCT_ID, source_id=item.source_id or SHIPPING_SOURCE_ID,
        product_source_id=SHIPPING_SOURCE_ID, metadata=dict(item.metadata or {}),
    )


async def _engine_items(
    session: AsyncSession, project_id: str, items: Sequence[ItemRef],
    autos: Sequence[tuple[str, dict[str, Any]]] | None, cached: CachedLines,
) -> tuple[engine.OrderItem, ...]:
    """Order lines with catalog data filled in (batched); unknown catalog ids are errors.
    `cached` is the project's entry for the products version this request read: only
    products, SKUs and memberships it doesn't hold yet are read.

    The built-in shipping product (`prod_5h1pp1ng`, or source id `5h1pp1ng` when the catalog
    has nothing with that source id) is a line priced by the request. A line naming only a
    source id the catalog doesn't know is a context-only line and must carry its price (or
    amount): without one it is refused as `not_found`, never priced 0."""
    catalog = await _line_rows(
        session, project_id, [i for i in items if not _is_shipping(i)], cached
    )
    products, skus = catalog.products, catalog.skus
    skus_by_source, products_by_source = catalog.skus_by_source, catalog.products_by_source

    resolved: list[tuple[ItemRef, Product | None, Sku | None]] = []
    shipping: dict[int, engine.OrderItem] = {}
    for index, item in enumerate(items):
        if _is_shipping(item):
            shipping[index] = _shipping_line(index, item)
            resolved.append((item, None, None))
            continue
        sku = skus.get(item.sku_id) if item.sku_id else None
        if item.sku_id and sku is None:
            raise ServiceError.one("not_found", f"SKU {item.sku_id!r} does not exist",
                                   ["order", "items", str(index), "skuId"])
        if sku is None and item.source_id and not (item.product_id or item.sku_id):
            sku = skus_by_source.get(item.source_id)
        product_id = item.product_id or (sku.product_id if sku else None)
        product = products.get(product_id) if product_id else None
        if item.product_id and product is None:
            raise ServiceError.one("not_found", f"product {item.product_id!r} does not exist",
                                   ["order", "items", str(index), "productId"])
        if product is None and sku is None and item.source_id:
            product = products_by_source.get(item.source_id)
            if product is None and item.source_id == SHIPPING_SOURCE_ID:
                shipping[index] = _shipping_line(index, item)
            elif product is None and item.price is None and item.amount is None:
                raise ServiceError.one(
                    "not_found",
                    f"no product or SKU has sourceId {item.source_id!r}: a line the catalog "
                    "doesn't know needs its price",
                    ["order", "items", str(index), "sourceId"],
                )
        resolved.append((item, product, sku))

    memberships = await _memberships(
        session, project_id,
        [p.id for _, p, _ in resolved if p is not None],
        [s.id for _, _, s in resolved if s is not None],
        autos, cached,
    )
    lines = []
    for index, (item, product, sku) in enumerate(resolved):
        if index in shipping:
            lines.append(shipping[index])
            continue
        price = item.price
        if price is None and sku is not None:
            price = sku.price
        if price is None and product is not None:
            price = product.price
        collections = set(memberships.get(product.id, set()) if product else set())
        if sku is not None:
            collections |= memberships.get(sku.id, set())
        lines.append(engine.OrderItem(
            quantity=item.quantity,
            price=price,
            amount=item.amount,
            product_id=product.id if product else None,
            sku_id=sku.id if sku else None,
            source_id=item.source_id or (sku.source_id if sku else None)
            or (product.source_id if product else None),
            product_source_id=product.source_id if product else None,
            collection_ids=frozenset(collections),
            metadata=dict(item.metadata or {}),
            product_metadata=dict(product.metadata_) if product else {},
        ))
    return tuple(lines)


def _stored_item(row: OrderItem) -> ItemRef:
    return ItemRef(
        quantity=row.quantity,
        product_id=line_product_id(row.product_id, row.related_object),
        sku_id=row.sku_id, source_id=row.source_id, price=row.price, amount=row.amount,
        metadata=row.metadata_,
    )


def carries_discounts(row: Order) -> bool:
    """Earlier redemptions left discounts on this order."""
    return bool(row.discount_amount or row.items_discount_amount)


def _as_sent(item: engine.OrderItem) -> tuple[Any, ...]:
    qty = item.quantity
    price = item.price if item.price is not None else (
        (item.amount or 0) // qty if qty else 0)
    amount = item.amount if item.amount is not None else price * qty
    return (item.product_id, item.sku_id, item.source_id, qty, price, amount)


def _first_sent(row: OrderItem, line: engine.OrderItem) -> tuple[Any, ...]:
    """A stored line as it was first sent: without the units unit effects added to it."""
    qty = row.quantity - row.added_quantity
    price = row.price if row.price is not None else (row.amount // row.quantity
                                                     if row.quantity else 0)
    return (line.product_id, line.sku_id, line.source_id, qty, price,
            row.amount - row.added_quantity * price)


@dataclass(frozen=True)
class LoadedOrder:
    row: Order | None
    order: engine.Order
    sent: tuple[engine.OrderItem, ...] | None  # the request's own lines, catalog resolved
    stored: list[OrderItem] | None  # the stored lines the order was built from


async def _order_row(
    session: AsyncSession, project_id: str, ref: OrderRef, *, lock: bool
) -> Order | None:
    stmt = sa.select(Order).where(Order.project_id == project_id)
    stmt = stmt.where(Order.id == ref.id) if ref.id else stmt.where(
        Order.source_id == (ref.source_id or ""))
    if lock:  # serialises redemptions on one order: each builds on the one before
        stmt = stmt.with_for_update(key_share=True)
    row = (await session.execute(stmt)).scalar_one_or_none()
    if ref.id and row is None:
        raise ServiceError.one("not_found", f"order {ref.id!r} does not exist", ["order", "id"])
    return row


async def load_order_lines(
    session: AsyncSession, project_id: str, ref: OrderRef | None, *, catalog: CachedLines,
    autos: Sequence[tuple[str, dict[str, Any]]] | None = None,
    lines: tuple[engine.OrderItem, ...] | None = None, lock: bool = False,
) -> LoadedOrder:
    """The order row (by id or source id) and the engine's order. `lines`: the sent items
    already resolved against the catalog by an earlier read of this same request; `catalog`:
    the products-version cache entry to resolve them through.

    An existing order that earlier redemptions discounted keeps those discounts (order-level
    and per line): the engine gets them as previous discounts and applies what is left. Its
    cart is fixed by then: the request names the order only, or sends the same lines (and
    amount) it was first redeemed with; anything else is `invalid_order`."""
    row: Order | None = None
    if ref is not None and (ref.id or ref.source_id):
        row = await _order_row(session, project_id, ref, lock=lock)
    sent: tuple[engine.OrderItem, ...] | None = None
    if ref is not None and ref.items is not None:
        sent = lines if lines is not None else await _engine_items(
            session, project_id, ref.items, autos, catalog)
    metadata = dict(row.metadata_) if row is not None else {}
    metadata.update((ref.metadata or {}) if ref is not None else {})
    amount = ref.amount if ref is not None else None
    previous = 0
    stored: list[OrderItem] | None = None
    items: tuple[engine.OrderItem, ...] = sent or ()
    if row is not None and (sent is None or carries_discounts(row)):
        stored = (await items_of_orders(session, project_id, [row.id]))[row.id]
        items = await _engine_items(session, project_id, [_stored_item(i) for i in stored],
                                    autos, catalog)
        if carries_discounts(row):
            _check_same_cart(row, stored, items, sent, amount)
            items = tuple(
                dataclasses.replace(line, previous_discount_amount=r.discount_amount,
                                    previous_discount_quantity=r.discount_quantity)
                for r, line in zip(stored, items, strict=True)
            )
            amount, previous = row.amount, row.discount_amount
        elif amount is None:
            amount = row.amount
    order = engine.Order(
        items=items,
        amount=amount,
        id=row.id if row else (ref.id if ref else None),
        source_id=(ref.source_id if ref else None) or (row.source_id if row else None),
        metadata=metadata,
        previous_discount_amount=previous,
    )
    return LoadedOrder(row, order, sent, stored)


def _check_same_cart(
    row: Order, stored: list[OrderItem], lines: tuple[engine.OrderItem, ...],
    sent: tuple[engine.OrderItem, ...] | None, amount: int | None,
) -> None:
    message = (f"order {row.id!r} already carries discounts of earlier redemptions: name it "
               "by id or sourceId alone, or send the cart it was first redeemed with")
    if sent is not None:
        first = [_first_sent(r, line) for r, line in zip(stored, lines, strict=True)
                 if r.quantity - r.added_quantity > 0]
        if first != [_as_sent(line) for line in sent]:
            raise ServiceError.one("invalid_order", message, ["order", "items"])
    if amount is not None:
        added = sum(r.added_quantity * (r.price or 0) for r in stored)
        if amount != row.amount - added:
            raise ServiceError.one("invalid_order", message, ["order", "amount"])


async def load_order(
    session: AsyncSession, project_id: str, ref: OrderRef | None, *, catalog: CachedLines,
    autos: Sequence[tuple[str, dict[str, Any]]] | None = None,
    lines: tuple[engine.OrderItem, ...] | None = None,
) -> tuple[Order | None, engine.Order]:
    """`load_order_lines` for a reader that needs only the row and the engine's order."""
    loaded = await load_order_lines(session, project_id, ref, catalog=catalog, autos=autos,
                                    lines=lines)
    return loaded.row, loaded.order


async def load_customer(
    session: AsyncSession, project_id: str, ref: CustomerRef | None, *, lock: bool
) -> tuple[Customer | None, engine.Customer | None]:
    if ref is None:
        return None, None
    stmt = sa.select(Customer).where(Customer.project_id == project_id)
    if ref.id:
        stmt = stmt.where(Customer.id == ref.id)
    elif ref.source_id:
        stmt = stmt.where(Customer.source_id == ref.source_id)
    else:
        stmt = stmt.where(sa.false())
    if lock:  # serialises one customer's redemptions (per-customer limits)
        stmt = stmt.with_for_update(key_share=True)
    row = (await session.execute(stmt)).scalar_one_or_none()
    if ref.id and row is None:
        raise ServiceError.one("not_found", f"customer {ref.id!r} does not exist",
                               ["customer", "id"])
    metadata = dict(row.metadata_) if row is not None else {}
    metadata.update(ref.metadata or {})
    return row, engine.Customer(
        id=row.id if row else None,
        source_id=ref.source_id or (row.source_id if row else None),
        metadata=metadata,
    )


# --- cached definitions -------------------------------------------------------------------
# Validation (and the read-only pre-check of a redemption) does not re-read a project's
# campaigns, tiers, stacks, rules, categories, stacking rules and AUTO_UPDATE collections on
# every request: they are kept per process, per project, keyed by `projects.catalog_version`,
# which app/db/versioning.py bumps in the same transaction as any change to them. One indexed
# read of that version per request tells whether the entry still holds. What moves with every
# redemption (voucher counters and balances, reservations, redemption counts, campaign
# totals) is always read live. Spending transactions (lock=True) read and lock the vouchers,
# tiers and campaigns they spend fresh, then read the version, and take only rules,
# categories, stacking rules and compiled definitions of that version from the cache.

CACHE_PROJECTS = 256
CACHE_VOUCHERS = 20_000  # compiled voucher definitions per project (LRU)
CACHE_ROWS = 100_000  # tier/stack/campaign/category ids per project before the entry resets


@dataclass
class Definitions:
    """One project's definitions at one catalog version; filled lazily, batch by batch."""

    version: int
    stacking_raw: dict[str, Any] | None = None
    stacking: engine.StackingRules | None = None
    autos: list[tuple[str, dict[str, Any]]] | None = None
    campaigns: dict[str, Campaign | None] = field(default_factory=dict)
    tiers: dict[str, PromotionTier | None] = field(default_factory=dict)
    stacks: dict[str, PromotionStack | None] = field(default_factory=dict)
    categories: dict[str, Category | None] = field(default_factory=dict)
    rules: dict[str, list[ValidationRule]] = field(default_factory=dict)  # campaign/tier id
    tier_defs: dict[str, engine.Redeemable] = field(default_factory=dict)
    voucher_defs: OrderedDict[str, engine.Redeemable] = field(default_factory=OrderedDict)

    def oversized(self) -> bool:
        return len(self.tiers) + len(self.stacks) + len(self.campaigns) + len(
            self.categories) > CACHE_ROWS


@dataclass
class CachedLines:
    """One project's products, SKUs and collection memberships at one products version, as
    order lines name them (by id or source id); None where nothing has that id."""

    version: int
    products: dict[str, Product | None] = field(default_factory=dict)
    skus: dict[str, Sku | None] = field(default_factory=dict)
    products_by_source: dict[str, Product | None] = field(default_factory=dict)
    skus_by_source: dict[str, Sku | None] = field(default_factory=dict)
    collections: dict[str, frozenset[str]] = field(default_factory=dict)  # product/SKU id

    def oversized(self) -> bool:
        return len(self.products) + len(self.skus) + len(self.products_by_source) + len(
            self.skus_by_source) + len(self.collections) > CACHE_ROWS


E = TypeVar("E", Definitions, CachedLines)


class VersionedCache(Generic[E]):  # noqa: UP046 - Python 3.11
    """Per project, the entry of the newest version seen (LRU over projects)."""

    def __init__(self, make: type[E], capacity: int = CACHE_PROJECTS) -> None:
        self._make = make
        self._entries: OrderedDict[str, E] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity
        self.misses = 0  # entries (re)started: tests count them

    def entry(self, project_id: str, version: int) -> E:
        """The shared entry for this version; a private one for a reader that saw an older
        version than the cache already holds (it must not replace the newer entry)."""
        with self._lock:
            current = self._entries.get(project_id)
            if current is not None and current.version == version and not current.oversized():
                self._entries.move_to_end(project_id)
                return current
            if current is not None and current.version > version:
                return self._make(version)
            self.misses += 1
            fresh = self._entries[project_id] = self._make(version)
            self._entries.move_to_end(project_id)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
            return fresh

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


CACHE = VersionedCache(Definitions)
LINES = VersionedCache(CachedLines)


# --- the loader ---------------------------------------------------------------------------

@dataclass
class _Rows:
    """What both loaders hand to the assembly: rows by id, and where to keep definitions."""

    time_zone: str
    products_version: int
    stacking_raw: dict[str, Any]
    stacking: engine.StackingRules
    vouchers: dict[str, Voucher]  # by code and by id
    stacks: dict[str, PromotionStack | None]
    tiers: dict[str, PromotionTier | None]
    campaigns: dict[str, Campaign | None]
    categories: dict[str, Category | None]
    rules: dict[str, list[ValidationRule]]
    voucher_rules: dict[str, list[ValidationRule]]
    tier_defs: dict[str, engine.Redeemable]
    voucher_defs: dict[str, engine.Redeemable]
    reserved: dict[str, tuple[int, int]] | None  # None: read after the definitions
    autos: list[tuple[str, dict[str, Any]]] | None
    live_campaigns: bool  # campaign rows carry live counters (locked path)


def _tier_ids(refs: Sequence[RedeemableRef], stacks: Mapping[str, PromotionStack | None]) -> (
    list[str]
):
    ids = [r.id for r in refs if r.object is engine.RedeemableObject.PROMOTION_TIER]
    ids += [t for s in stacks.values() if s is not None for t in s.tier_ids]
    return _chunks(ids)


def _campaign_ids(
    vouchers: Iterable[Voucher], tiers: Iterable[PromotionTier | None],
    stacks: Iterable[PromotionStack | None],
) -> list[str]:
    ids = [v.campaign_id for v in vouchers if v.campaign_id]
    ids += [t.campaign_id for t in tiers if t is not None]
    ids += [s.campaign_id for s in stacks if s is not None]
    return _chunks(ids)


def _category_ids(*groups: Iterable[Any]) -> list[str]:
    return _chunks([row.category_id for group in groups for row in group
                    if row is not None and row.category_id])


async def _by_id(
    session: AsyncSession, project_id: str, model: Any, ids: list[str], *, lock: bool = False,
    cache: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Rows by id, None for ids that do not exist; with `cache`, only the ids it lacks are
    read (and added to it, absent ones as None)."""
    missing = [i for i in ids if cache is None or i not in cache]
    found = await _rows_by_id(session, model, project_id, missing, lock=lock) if missing else {}
    fresh = {i: found.get(i) for i in missing}
    if cache is None:
        return fresh
    cache.update(fresh)
    return {i: cache[i] for i in ids}


async def _locked_rows(
    session: AsyncSession, project_id: str, refs: Sequence[RedeemableRef]
) -> _Rows:
    """Spending path: vouchers, tiers and campaigns read fresh and locked, in that order.

    The catalog version is read after the locks: a change to a locked row commits (with its
    version bump) before we get the lock, so the cached rules, categories and stacking rules
    of that version are the ones these rows were defined with."""
    stack_ids = _chunks([r.id for r in refs
                         if r.object is engine.RedeemableObject.PROMOTION_STACK])
    stacks = await _by_id(session, project_id, PromotionStack, stack_ids, lock=False)
    voucher_names = [r.id for r in refs if r.object is engine.RedeemableObject.VOUCHER]
    vouchers = await _vouchers(session, project_id, voucher_names, lock=True)
    tiers = await _by_id(session, project_id, PromotionTier, _tier_ids(refs, stacks), lock=True)
    campaign_ids = _campaign_ids(vouchers.values(), tiers.values(), stacks.values())
    campaigns = await _by_id(session, project_id, Campaign, campaign_ids, lock=True)
    head = (await session.execute(_head_statement(False, False),
                                  {"project_id": project_id})).one()
    cached = CACHE.entry(project_id, head.catalog_version)
    await _fill_shared(session, project_id, cached, with_autos=True)
    return await _with_rules(
        session, project_id, cached, head, vouchers, stacks, tiers, campaigns,
        reserved=None, live_campaigns=True,
    )


async def _fill_shared(
    session: AsyncSession, project_id: str, cached: Definitions, *, with_autos: bool
) -> None:
    if cached.stacking is None:
        cached.stacking_raw, cached.stacking = await load_stacking_rules(session, project_id)
    if cached.autos is None and with_autos:
        cached.autos = await auto_collections(session, project_id)


async def _with_rules(
    session: AsyncSession, project_id: str, cached: Definitions, head: Any,
    vouchers: dict[str, Voucher], stacks: dict[str, PromotionStack | None],
    tiers: dict[str, PromotionTier | None], campaigns: dict[str, Campaign | None], *,
    reserved: dict[str, tuple[int, int]] | None, live_campaigns: bool,
) -> _Rows:
    """Add what definitions are compiled from: rules (campaigns' and tiers' cached, a
    voucher's own only until its definition is) and categories."""
    uncompiled = _chunks([v.id for v in vouchers.values() if v.id not in cached.voucher_defs])
    owners = [c for c, row in campaigns.items() if row is not None and c not in cached.rules]
    owners += [t for t, row in tiers.items() if row is not None and t not in cached.rules]
    voucher_rules: dict[str, list[ValidationRule]] = {}
    if owners or uncompiled:
        found_rules = await _rules_for(session, project_id, _chunks(owners + uncompiled))
        cached.rules.update({o: found_rules.get(o, []) for o in owners})
        voucher_rules = {v: found_rules.get(v, []) for v in uncompiled}
    category_ids = _category_ids(
        [v for v in vouchers.values() if v.id in uncompiled], tiers.values(), stacks.values(),
        campaigns.values(),
    )
    await _by_id(session, project_id, Category, category_ids, cache=cached.categories)
    assert cached.stacking_raw is not None and cached.stacking is not None
    return _Rows(
        time_zone=head.time_zone, products_version=head.products_version,
        stacking_raw=cached.stacking_raw, stacking=cached.stacking,
        vouchers=vouchers, stacks=stacks, tiers=tiers, campaigns=campaigns,
        categories=cached.categories, rules=cached.rules, voucher_rules=voucher_rules,
        tier_defs=cached.tier_defs, voucher_defs=cached.voucher_defs, reserved=reserved,
        autos=cached.autos, live_campaigns=live_campaigns,
    )


HEAD = (Project.time_zone, Project.catalog_version, Project.products_version)


@functools.cache
def _head_statement(with_vouchers: bool, own_session: bool) -> Any:
    """Built once per shape, with bind parameters: building a statement and its cache key
    costs SQLAlchemy more than SQLite takes to run it (0.5 ms against 0.02 ms)."""
    project_id = sa.bindparam("project_id")
    if not with_vouchers:
        return sa.select(*HEAD).where(Project.id == project_id)
    holds = _live_holds(project_id, Voucher.id, sa.bindparam("now"),
                        sa.bindparam("own_session") if own_session else None)
    uses = sa.select(sa.func.count()).where(*holds).scalar_subquery()
    credits = sa.select(
        sa.func.coalesce(sa.func.sum(SessionReservation.gift_credits), 0)
    ).where(*holds).scalar_subquery()
    wanted = sa.bindparam("wanted", expanding=True)
    named = sa.and_(
        Voucher.project_id == Project.id,
        sa.or_(Voucher.code.in_(wanted), Voucher.id.in_(wanted)),  # type: ignore[attr-defined]
    )
    return (
        sa.select(*HEAD, Voucher, uses.label("held_uses"), credits.label("held_credits"))
        .select_from(Project)
        .outerjoin(Voucher, named)
        .where(Project.id == project_id)
        .order_by(Voucher.id)
    )


async def _head_and_vouchers(
    session: AsyncSession, project_id: str, wanted: list[str], now: datetime,
    own_session: str | None,
) -> tuple[Any, dict[str, Voucher], dict[str, tuple[int, int]]]:
    """In one statement: the project's time zone and versions, and the vouchers named by code
    or id with other sessions' live holds on them."""
    if not wanted:
        stmt = _head_statement(False, False)
        return (await session.execute(stmt, {"project_id": project_id})).one(), {}, {}
    params: dict[str, Any] = {"project_id": project_id, "now": now, "wanted": wanted}
    if own_session is not None:
        params["own_session"] = own_session
    stmt = _head_statement(True, own_session is not None)
    found: dict[str, Voucher] = {}
    reserved: dict[str, tuple[int, int]] = {}
    rows = (await session.execute(stmt, params)).all()
    for *_, voucher, held_uses, held_credits in rows:
        if voucher is None:
            continue
        found[voucher.code] = voucher
        found[voucher.id] = voucher
        if held_uses:
            reserved[voucher.id] = (int(held_uses), int(held_credits or 0))
    return rows[0], found, reserved


async def _cached_rows(
    session: AsyncSession, project_id: str, request: StackRequest, now: datetime
) -> _Rows:
    """Read path: one statement for the catalog version and the vouchers with their holds,
    then only what the project's cached definitions lack (nothing, once warm).

    The version is read with (not before) the vouchers, so a voucher definition compiled
    here may be newer than the entry's version, never older: an entry only ever holds
    definitions at least as new as its version."""
    refs = request.redeemables
    voucher_names = [r.id for r in refs if r.object is engine.RedeemableObject.VOUCHER]
    head, vouchers, reserved = await _head_and_vouchers(
        session, project_id, voucher_names, now, request.session_key
    )
    cached = CACHE.entry(project_id, head.catalog_version)
    await _fill_shared(session, project_id, cached, with_autos=request.order is not None)

    stack_ids = _chunks([r.id for r in refs
                         if r.object is engine.RedeemableObject.PROMOTION_STACK])
    stacks = await _by_id(session, project_id, PromotionStack, stack_ids, cache=cached.stacks)
    tiers = await _by_id(session, project_id, PromotionTier, _tier_ids(refs, stacks),
                         cache=cached.tiers)
    campaign_ids = _campaign_ids(vouchers.values(), tiers.values(), stacks.values())
    campaigns = await _by_id(session, project_id, Campaign, campaign_ids, cache=cached.campaigns)
    return await _with_rules(
        session, project_id, cached, head, vouchers, stacks, tiers, campaigns,
        reserved=reserved, live_campaigns=False,
    )


def _remember_voucher(defs: dict[str, engine.Redeemable], key: str,
                      value: engine.Redeemable) -> None:
    defs[key] = value
    if isinstance(defs, OrderedDict):
        defs.move_to_end(key)
        while len(defs) > CACHE_VOUCHERS:
            defs.popitem(last=False)


async def _campaign_totals(
    session: AsyncSession, campaign_ids: list[str]
) -> dict[str, tuple[int, int]]:
    if not campaign_ids:
        return {}
    stmt = sa.select(Campaign.id, Campaign.orders_amount, Campaign.discounted_amount).where(
        Campaign.id.in_(campaign_ids)  # type: ignore[attr-defined]
    )
    return {c: (int(o), int(d)) for c, o, d in (await session.execute(stmt)).all()}


async def load(
    session: AsyncSession,
    project_id: str,
    request: StackRequest,
    *,
    now: datetime,
    mode: engine.Mode,
    lock: bool = False,
    lines: tuple[engine.OrderItem, ...] | None = None,
) -> Snapshot:
    refs = request.redeemables
    rows = (
        await _locked_rows(session, project_id, refs) if lock
        else await _cached_rows(session, project_id, request, now)
    )
    vouchers, tiers, campaigns = rows.vouchers, rows.tiers, rows.campaigns

    # Locks: the order before the customer (rollbacks take them in the same order).
    loaded_order = await load_order_lines(
        session, project_id, request.order, autos=rows.autos, lines=lines,
        catalog=LINES.entry(project_id, rows.products_version), lock=lock,
    )
    order_row, order = loaded_order.row, loaded_order.order
    customer_row, customer = await load_customer(session, project_id, request.customer, lock=lock)

    def category_of(row: Any, campaign: Campaign | None) -> Category | None:
        key = row.category_id or (campaign.category_id if campaign else None)
        return rows.categories.get(key) if key else None

    def voucher_def(name: str) -> engine.Redeemable:
        voucher = vouchers.get(name)
        if voucher is None:
            return not_found(engine.RedeemableObject.VOUCHER, name)
        definition = rows.voucher_defs.get(voucher.id)
        if definition is None:
            campaign = campaigns.get(voucher.campaign_id) if voucher.campaign_id else None
            owned = rows.rules.get(voucher.campaign_id or "", []) + rows.voucher_rules.get(
                voucher.id, [])
            definition = voucher_definition(
                voucher.id, voucher, campaign, owned, category_of(voucher, campaign)
            )
            _remember_voucher(rows.voucher_defs, voucher.id, definition)
        return definition if name == voucher.id else dataclasses.replace(definition, id=name)

    def tier_def(name: str) -> engine.Redeemable:
        definition = rows.tier_defs.get(name)
        if definition is not None:
            return definition
        tier = tiers.get(name)
        if tier is None:
            return not_found(engine.RedeemableObject.PROMOTION_TIER, name)
        campaign = campaigns.get(tier.campaign_id)
        owned = rows.rules.get(tier.campaign_id, []) + rows.rules.get(tier.id, [])
        definition = tier_definition(name, tier, campaign, owned, category_of(tier, campaign))
        rows.tier_defs[name] = definition
        return definition

    def stack_def(name: str) -> engine.Redeemable:
        stack = rows.stacks.get(name)
        if stack is None:
            return not_found(engine.RedeemableObject.PROMOTION_STACK, name)
        campaign = campaigns.get(stack.campaign_id)
        return engine.Redeemable(
            object=engine.RedeemableObject.PROMOTION_STACK,
            id=name,
            kind=engine.RedeemableKind.PROMOTION_STACK,
            campaign_id=stack.campaign_id,
            active=campaign.active if campaign else False,
            categories=categories_of(category_of(stack, campaign)),
            tiers=tuple(tier_def(t) for t in stack.tier_ids),
        )

    definitions_: list[engine.Redeemable] = []
    resolved: list[tuple[engine.RedeemableObject, str, str | None]] = []
    for ref in refs:
        row: Any
        if ref.object is engine.RedeemableObject.VOUCHER:
            definitions_.append(voucher_def(ref.id))
            row = vouchers.get(ref.id)
        elif ref.object is engine.RedeemableObject.PROMOTION_TIER:
            definitions_.append(tier_def(ref.id))
            row = tiers.get(ref.id)
        else:
            definitions_.append(stack_def(ref.id))
            row = rows.stacks.get(ref.id)
        resolved.append((ref.object, ref.id, row.id if row is not None else None))

    counting = mode is not engine.Mode.QUALIFY and any(_needs_counters(d) for d in definitions_)
    per_incentive: dict[str, dict[str, int]] = {}
    per_campaign: dict[str, dict[str, int]] = {}
    totals: dict[str, tuple[int, int]] = {}
    live_campaigns = [c for c, row in campaigns.items() if row is not None]
    if counting:
        per_incentive, per_campaign = await _counters(
            session, project_id,
            _chunks([v.id for v in vouchers.values()] + [t for t, r in tiers.items() if r]),
            live_campaigns, customer_row.id if customer_row else None, now, rows.time_zone,
        )
        if rows.live_campaigns:
            totals = {c: (row.orders_amount, row.discounted_amount)
                      for c, row in campaigns.items() if row is not None}
        else:
            totals = await _campaign_totals(session, live_campaigns)
    reserved = rows.reserved
    if reserved is None:  # locked path: after the locks, so the holds are current
        reserved = await _reservations(
            session, project_id, _chunks([v.id for v in vouchers.values()]), now,
            request.session_key,
        )

    def state_of(row_id: str | None, campaign_id: str | None) -> engine.RedeemableState:
        counters: dict[str, int] = {}
        if row_id:
            counters.update(per_incentive.get(row_id, {}))
        if campaign_id is not None and campaigns.get(campaign_id) is not None:
            counters.update(per_campaign.get(campaign_id, {}))
            orders, discounted = totals.get(campaign_id, (0, 0))
            counters["campaign.orders.amount"] = orders
            counters["campaign.orders.amount_discounted"] = discounted
        voucher = vouchers.get(row_id) if row_id else None
        if voucher is None:
            return engine.RedeemableState(counters=counters)
        uses, credits = reserved.get(voucher.id, (0, 0))
        return engine.RedeemableState(
            redeemed_quantity=voucher.redeemed_quantity + uses,
            gift_balance=max(0, voucher.gift_balance - credits),
            holder_id=voucher.holder_id,
            referrer_id=voucher.referrer_id,
            counters=counters,
        )

    inputs = []
    for ref, definition, (_, _, row_id) in zip(refs, definitions_, resolved, strict=True):
        inputs.append(engine.RedeemableInput(
            redeemable=definition,
            state=state_of(row_id, definition.campaign_id),
            gift_credits=ref.gift_credits,
        ))
    evaluation = engine.EvaluationRequest(
        order=order,
        redeemables=tuple(inputs),
        now=now,
        customer=customer,
        stacking_rules=rows.stacking,
        timezone=rows.time_zone,
        mode=mode,
        redemption_metadata=dict(request.metadata or {}),
    )
    return Snapshot(
        time_zone=rows.time_zone, stacking_raw=rows.stacking_raw, stacking=rows.stacking,
        vouchers=vouchers,
        tiers={t: row for t, row in tiers.items() if row is not None},
        campaigns={c: row for c, row in campaigns.items() if row is not None},
        resolved=resolved, customer_row=customer_row, order_row=order_row, request=evaluation,
        reserved=reserved, sent_lines=loaded_order.sent, stored_lines=loaded_order.stored,
    )
