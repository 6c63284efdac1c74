"""Orders and their items."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from app.db.base import created_column, id_column, metadata_column, project_column, updated_column

# The built-in shipping product: no catalog row, an order line priced with the shipping cost.
# Stored lines of it keep product_id NULL (it is no products row) and related_object "shipping".
SHIPPING_PRODUCT_ID = "prod_5h1pp1ng"
SHIPPING_SOURCE_ID = "5h1pp1ng"
SHIPPING_LINE = "shipping"


def line_product_id(product_id: str | None, related_object: str | None) -> str | None:
    """The product an order line names, the built-in shipping product included."""
    return SHIPPING_PRODUCT_ID if related_object == SHIPPING_LINE else product_id


class OrderStatus(StrEnum):
    CREATED = "CREATED"
    PAID = "PAID"
    CANCELED = "CANCELED"
    FULFILLED = "FULFILLED"


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (sa.UniqueConstraint("project_id", "source_id"),)

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    source_id: str | None = Field(sa_column=sa.Column(sa.String(200), nullable=True))
    status: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    # The order calculation after its redemptions (§4.4); zero discounts until redeemed.
    discount_amount: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    items_discount_amount: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    total_discount_amount: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    total_amount: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, nullable=True)
    )
    customer_id: str | None = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("customers.id", ondelete="SET NULL"), nullable=True,
            index=True,
        )
    )
    metadata_: dict[str, Any] = Field(sa_column=metadata_column())
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())


class OrderItem(SQLModel, table=True):
    __tablename__ = "order_items"

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    order_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False,
            index=True,
        )
    )
    position: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    # Catalog links survive as plain copies (source_id, price) when the product is deleted.
    product_id: str | None = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("products.id", ondelete="SET NULL"), nullable=True
        )
    )
    sku_id: str | None = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("skus.id", ondelete="SET NULL"), nullable=True
        )
    )
    source_id: str | None = Field(sa_column=sa.Column(sa.String(200), nullable=True))
    related_object: str | None = Field(sa_column=sa.Column(sa.String(16), nullable=True))
    quantity: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    price: int | None = Field(sa_column=sa.Column(sa.BigInteger, nullable=True))
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    discount_amount: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    discount_quantity: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    # Units added by UNIT effects (free items) beyond what the customer put in the cart.
    added_quantity: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    metadata_: dict[str, Any] = Field(sa_column=metadata_column())


async def items_of_orders(
    session: AsyncSession, project_id: str, order_ids: list[str]
) -> dict[str, list[OrderItem]]:
    found: dict[str, list[OrderItem]] = {order_id: [] for order_id in order_ids}
    if not order_ids:
        return found
    stmt = (
        sa.select(OrderItem)
        .where(OrderItem.project_id == project_id, OrderItem.order_id.in_(order_ids))  # type: ignore[attr-defined]
        .order_by(OrderItem.order_id, OrderItem.position)
    )
    for item in (await session.execute(stmt)).scalars():
        found[item.order_id].append(item)
    return found
