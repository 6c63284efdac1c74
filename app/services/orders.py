"""Orders with items; prices filled from the catalog, amounts derived when omitted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.catalog import Product, Sku, catalog_for_lines
from app.db.ids import new_id
from app.db.orders import (
    SHIPPING_LINE,
    SHIPPING_PRODUCT_ID,
    SHIPPING_SOURCE_ID,
    Order,
    OrderItem,
    OrderStatus,
    items_of_orders,
)
from app.db.session import Database
from app.engine import money
from app.engine.error_codes import (
    INVALID_STATUS,
    MISSING_AMOUNT,
    MISSING_ITEM_PRICE,
    NOT_FOUND,
    REQUIRED,
    SKU_PRODUCT_MISMATCH,
)
from app.events import payloads
from app.events.outbox import emit
from app.services import customers, lookup
from app.services.errors import MAX_ORDER_ITEMS, Checks, ServiceError

MAX_QUANTITY = 1_000_000


@dataclass(frozen=True)
class ItemInput:
    product_id: str | None = None
    sku_id: str | None = None
    source_id: str | None = None
    quantity: int = 1
    price: int | None = None
    amount: int | None = None
    metadata: dict[str, Any] | None = None


def _check_order(checks: Checks, data: dict[str, Any]) -> None:
    checks.source_id(data.get("source_id"), ["sourceId"])
    checks.money(data.get("amount"), ["amount"])
    checks.metadata(data.get("metadata"), ["metadata"])
    status = data.get("status")
    if status is not None and status not in OrderStatus.__members__:
        checks.fail(INVALID_STATUS, "unknown order status", ["status"])
    if data.get("customer") is not None:
        customers.check_customer(checks, data["customer"], ["customer"])
    items: list[ItemInput] | None = data.get("items")
    if items is None or not checks.list_size(items, ["items"], maximum=MAX_ORDER_ITEMS):
        return
    for index, item in enumerate(items):
        path: list[str | int] = ["items", index]
        if item.product_id is None and item.sku_id is None and item.source_id is None:
            checks.fail(REQUIRED, "an item names a productId, skuId or sourceId", path)
        checks.source_id(item.source_id, [*path, "sourceId"])
        checks.positive(item.quantity, [*path, "quantity"], maximum=MAX_QUANTITY)
        checks.money(item.price, [*path, "price"])
        checks.money(item.amount, [*path, "amount"])
        checks.metadata(item.metadata, [*path, "metadata"])


async def _build_items(
    session: AsyncSession, project_id: str, order_id: str, items: list[ItemInput]
) -> list[OrderItem]:
    """Resolve every item against the catalog in a few batched queries, then price it."""
    catalog = await catalog_for_lines(session, project_id, items)
    products, skus = catalog.products, catalog.skus
    skus_by_source, products_by_source = catalog.skus_by_source, catalog.products_by_source

    checks = Checks()
    rows: list[OrderItem] = []
    for index, item in enumerate(items):
        path: list[str | int] = ["items", index]
        product: Product | None = None
        sku: Sku | None = None
        shipping = item.product_id == SHIPPING_PRODUCT_ID and item.sku_id is None
        if shipping:
            pass  # the built-in shipping product: no catalog row, priced by the line
        elif item.sku_id is not None:
            sku = skus.get(item.sku_id)
            if sku is None:
                checks.fail(NOT_FOUND, f"SKU {item.sku_id!r} does not exist", [*path, "skuId"])
                continue
            if item.product_id is not None and item.product_id != sku.product_id:
                checks.fail(SKU_PRODUCT_MISMATCH, "this SKU belongs to another product",
                            [*path, "skuId"])
                continue
            product = products.get(sku.product_id)
        elif item.product_id is not None:
            product = products.get(item.product_id)
            if product is None:
                checks.fail(NOT_FOUND, f"product {item.product_id!r} does not exist",
                            [*path, "productId"])
                continue
        elif item.source_id is not None:
            sku = skus_by_source.get(item.source_id)
            product = products.get(sku.product_id) if sku else products_by_source.get(
                item.source_id
            )
            shipping = product is None and sku is None and item.source_id == SHIPPING_SOURCE_ID
        price = item.price
        if price is None and sku is not None:
            price = sku.price
        if price is None and product is not None:
            price = product.price
        amount = item.amount
        if amount is None:
            if price is None:
                checks.fail(MISSING_ITEM_PRICE,
                            "no price given and none in the catalog: send price or amount",
                            [*path, "price"])
                continue
            amount = price * item.quantity
            if not checks.fits(amount, path, "price × quantity"):
                continue
        source_id = item.source_id or (sku.source_id if sku else None) or (
            product.source_id if product else None
        ) or (SHIPPING_SOURCE_ID if shipping else None)
        rows.append(
            OrderItem(
                id=new_id("oi"), project_id=project_id, order_id=order_id, position=index,
                product_id=product.id if product else None, sku_id=sku.id if sku else None,
                source_id=source_id,
                related_object=SHIPPING_LINE if shipping else (
                    "sku" if sku else ("product" if product else None)),
                quantity=item.quantity, price=price, amount=amount,
                metadata_=item.metadata or {},
            )
        )
    checks.raise_if_any()
    return rows


async def _priced_items(
    session: AsyncSession, project_id: str, order: Order, items: list[ItemInput],
    amount: int | None,
) -> list[OrderItem]:
    """The order's item rows (not yet added); sets its amount: given, else Σ item amounts."""
    rows = await _build_items(session, project_id, order.id, items)
    derived = sum(row.amount for row in rows)
    if not money.fits(derived):  # checked even when an amount is given: lines must add up
        raise ServiceError.one(money.AMOUNT_TOO_LARGE,
                               money.too_large_message("the sum of the items"), ["items"])
    order.amount = amount if amount is not None else derived
    return rows


async def _attach_customer(
    session: AsyncSession, project_id: str, order: Order, customer: dict[str, Any] | None
) -> None:
    if customer is not None:
        upserted = await customers.upsert_in(session, project_id, customer, ["customer"])
        order.customer_id = upserted.customer.id


async def _emit_order(
    session: AsyncSession, order: Order, items: list[OrderItem], previous_status: str | None
) -> None:
    """order.created / order.updated, then order.paid / order.canceled on those changes."""
    data = {"order": payloads.order_json(order, items)}
    key = ("order", order.id)
    kind = "order.created" if previous_status is None else "order.updated"
    await emit(session, order.project_id, kind, data, aggregate=key)
    for status, event in ((OrderStatus.PAID, "order.paid"),
                          (OrderStatus.CANCELED, "order.canceled")):
        if order.status == status and previous_status != status:
            await emit(session, order.project_id, event, data, aggregate=key)


async def create_order(db: Database, project_id: str, data: dict[str, Any]) -> Order:
    checks = Checks()
    _check_order(checks, data)
    if data.get("items") is None and data.get("amount") is None:
        checks.fail(MISSING_AMOUNT, "an order needs an amount or items", ["amount"])
    checks.raise_if_any()
    order = Order(
        id=new_id("ord"), project_id=project_id, source_id=data.get("source_id"),
        status=data.get("status") or OrderStatus.CREATED, amount=data.get("amount") or 0,
        metadata_=data.get("metadata") or {},
    )
    try:
        async with db.write() as session:
            if data.get("source_id") is not None and await lookup.find(
                session, Order, project_id, id_=None, source_id=data["source_id"]
            ):
                raise lookup.duplicate_source_id("order", ["sourceId"])
            await _attach_customer(session, project_id, order, data.get("customer"))
            rows: list[OrderItem] = []
            if data.get("items") is not None:
                rows = await _priced_items(
                    session, project_id, order, data["items"], data.get("amount")
                )
            # Inserted complete, so a new order is not also an updated one (updated_at).
            session.add(order)
            await session.flush()  # the order exists before its items reference it
            session.add_all(rows)
            await _emit_order(session, order, rows, None)
    except IntegrityError as exc:
        raise lookup.duplicate_source_id("order", ["sourceId"]) from exc
    return order


async def update_order(
    db: Database, project_id: str, ref: dict[str, str | None], data: dict[str, Any]
) -> Order:
    checks = Checks()
    _check_order(checks, data)
    checks.raise_if_any()
    try:
        async with db.write() as session:
            order = await lookup.resolve(
                session, Order, project_id, "order", id_=ref.get("id"),
                source_id=ref.get("source_id"), path=[],
            )
            previous_status = order.status
            new_source = data.get("source_id")
            if new_source is not None and new_source != order.source_id and await lookup.find(
                session, Order, project_id, id_=None, source_id=new_source
            ):
                raise lookup.duplicate_source_id("order", ["sourceId"])
            for key in ("source_id", "status"):
                if data.get(key) is not None:
                    setattr(order, key, data[key])
            if "metadata" in data:
                order.metadata_ = data["metadata"] or {}
            await _attach_customer(session, project_id, order, data.get("customer"))
            if data.get("items") is not None:
                rows = await _priced_items(
                    session, project_id, order, data["items"], data.get("amount")
                )
                await session.execute(sa.delete(OrderItem).where(OrderItem.order_id == order.id))
                session.add_all(rows)
            elif data.get("amount") is not None:
                order.amount = data["amount"]
            await session.flush()
            items = await items_of_orders(session, project_id, [order.id])
            await _emit_order(session, order, items[order.id], previous_status)
    except IntegrityError as exc:
        raise lookup.duplicate_source_id("order", ["sourceId"]) from exc
    return order
