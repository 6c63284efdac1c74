"""Order lines and the customer of a checkout request: the sent lines resolved against the
catalog (through the products-version cache), an existing order with what earlier redemptions
left on it, and the customer by id or source id. `lock`: the spending transaction locks the
order, then the customer (after the redeemables and campaigns)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app import engine
from app.db.catalog import LineCatalog, Product, Sku, catalog_for_lines, collections_of_products
from app.db.customers import Customer
from app.db.orders import (
    SHIPPING_PRODUCT_ID,
    SHIPPING_SOURCE_ID,
    Order,
    OrderItem,
    items_of_orders,
    line_product_id,
)
from app.services.checkout.caches import CachedLines
from app.services.checkout.request import CustomerRef, ItemRef, OrderRef
from app.services.checkout.rows import distinct
from app.services.errors import ServiceError


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
    new_products = distinct([p for p in product_ids if p not in cached.collections])
    new_skus = distinct([s for s in sku_ids if s not in cached.collections])
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
