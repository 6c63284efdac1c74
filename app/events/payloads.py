"""Event `data`: the objects as the GraphQL API shows them (camelCase fields), as plain JSON."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from app.db.customers import Customer
from app.db.orders import Order, line_product_id
from app.db.redemptions import Redemption, RedemptionRollback


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def customer_json(row: Customer) -> dict[str, Any]:
    return {
        "id": row.id, "sourceId": row.source_id, "name": row.name, "email": row.email,
        "phone": row.phone, "birthdate": _iso(row.birthdate), "address": row.address,
        "metadata": row.metadata_, "createdAt": _iso(row.created_at),
        "updatedAt": _iso(row.updated_at),
    }


def order_item_json(item: Any) -> dict[str, Any]:
    """An order item row, or the plain dict redemption inserts in one statement."""
    get = item.get if isinstance(item, dict) else lambda name: getattr(item, name, None)
    metadata = get("metadata") if isinstance(item, dict) else item.metadata_
    return {
        "index": get("position"),
        "productId": line_product_id(get("product_id"), get("related_object")),
        "skuId": get("sku_id"),
        "sourceId": get("source_id"), "relatedObject": get("related_object"),
        "quantity": get("quantity"), "price": get("price"), "amount": get("amount"),
        "discountAmount": get("discount_amount") or 0,
        "discountQuantity": get("discount_quantity") or 0,
        "addedQuantity": get("added_quantity") or 0, "metadata": metadata or {},
    }


def order_json(row: Order, items: list[Any] | None = None) -> dict[str, Any]:
    data = {
        "id": row.id, "sourceId": row.source_id, "status": row.status, "amount": row.amount,
        "discountAmount": row.discount_amount, "itemsDiscountAmount": row.items_discount_amount,
        "totalDiscountAmount": row.total_discount_amount, "totalAmount": row.total_amount,
        "customerId": row.customer_id, "metadata": row.metadata_,
        "createdAt": _iso(row.created_at), "updatedAt": _iso(row.updated_at),
    }
    if items is not None:
        data["items"] = [order_item_json(i) for i in items]
    return data


def redemption_json(row: Redemption) -> dict[str, Any]:
    return {
        "id": row.id, "result": row.result, "status": row.status,
        "createdAt": _iso(row.created_at), "relatedObjectType": row.related_object_type,
        "voucherId": row.voucher_id, "promotionTierId": row.promotion_tier_id,
        "campaignId": row.campaign_id, "customerId": row.customer_id, "orderId": row.order_id,
        "parentId": row.parent_id, "amount": row.amount,
        "gift": {"amount": row.gift_credits} if row.gift_credits else None,
        "failureCode": row.failure_code, "failureMessage": row.failure_message,
        "sessionKey": row.session_key, "metadata": row.metadata_,
    }


def rollback_json(row: RedemptionRollback) -> dict[str, Any]:
    return {
        "id": row.id, "redemptionId": row.redemption_id, "reason": row.reason,
        "amount": row.amount, "giftCredits": row.gift_credits,
        "createdAt": _iso(row.created_at),
    }


def redemption_data(
    row: Redemption, children: list[Redemption] | None = None, order: Order | None = None,
    rollback: RedemptionRollback | None = None,
) -> dict[str, Any]:
    """`data` of redemption.* events; `campaignIds` lets subscribers filter parents too."""
    family = [row, *(children or [])]
    data: dict[str, Any] = {
        "redemption": redemption_json(row),
        "campaignIds": sorted({r.campaign_id for r in family if r.campaign_id}),
        "order": order_json(order) if order is not None else None,
    }
    if children is not None:
        data["childIds"] = [c.id for c in children]
    if rollback is not None:
        data["rollback"] = rollback_json(rollback)
    return data


def _camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part.capitalize() for part in rest)


def row_json(row: SQLModel) -> dict[str, Any]:
    """Any stored row with its columns in camelCase (`metadata_` → `metadata`): the data of
    areas that have no hand-written payload yet (campaigns, vouchers, tiers, publications)."""
    return {
        _camel(attr.key): getattr(row, attr.key)
        for attr in sa.inspect(type(row)).column_attrs  # type: ignore[union-attr]
        if attr.key != "project_id"
    }
