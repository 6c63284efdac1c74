"""Dataloaders, made fresh for every request and bound to the caller's project.

Each batch opens its own short read session, so loaders running side by side never share
an `AsyncSession`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from aiodataloader import DataLoader
from sqlmodel import SQLModel

from app.db import repository
from app.db.catalog import Product, ProductCollection, Sku
from app.db.categories import Category
from app.db.customers import Customer
from app.db.orders import Order, OrderItem, items_of_orders
from app.db.redemptions import Redemption, RedemptionRollback
from app.db.session import Database

M = TypeVar("M", bound=SQLModel)


class Loaders:
    def __init__(self, db: Database, project_id: str | None) -> None:
        self._db = db
        self._project_id = project_id
        self._made: dict[Any, DataLoader] = {}

    def _loader(self, key: Any, batch: Callable[[list[str]], Any]) -> DataLoader:
        loader = self._made.get(key)
        if loader is None:
            loader = self._made[key] = DataLoader(batch)
        return loader

    def by_id(self, model: type[M]) -> DataLoader:
        """`<Model>ByIdLoader`: rows by primary key, None for ids of other projects."""

        async def batch(ids: list[str]) -> list[M | None]:
            async with self._db.read() as session:
                found = await repository.get_many(session, model, self._require(), ids)
            return [found.get(i) for i in ids]

        return self._loader(("id", model), batch)

    @property
    def product(self) -> DataLoader:
        return self.by_id(Product)

    @property
    def sku(self) -> DataLoader:
        return self.by_id(Sku)

    @property
    def collection(self) -> DataLoader:
        return self.by_id(ProductCollection)

    @property
    def category(self) -> DataLoader:
        return self.by_id(Category)

    @property
    def customer(self) -> DataLoader:
        return self.by_id(Customer)

    @property
    def order(self) -> DataLoader:
        return self.by_id(Order)

    @property
    def order_items(self) -> DataLoader:
        """`OrderItemsByOrderIdLoader`."""

        async def batch(order_ids: list[str]) -> list[list[OrderItem]]:
            async with self._db.read() as session:
                found = await items_of_orders(session, self._require(), order_ids)
            return [found[i] for i in order_ids]

        return self._loader("order_items", batch)

    def many_by(self, model: type[M], column: str, order_by: str = "id") -> DataLoader:
        """`<Model>sBy<Column>Loader`: rows grouped by a foreign key, in `order_by` order."""

        async def batch(keys: list[str]) -> list[list[M]]:
            key_col = getattr(model, column)
            stmt = (
                sa.select(model)
                .where(model.project_id == self._require(), key_col.in_(keys))
                .order_by(getattr(model, order_by))
            )
            grouped: dict[str, list[M]] = defaultdict(list)
            async with self._db.read() as session:
                for row in (await session.execute(stmt)).scalars():
                    grouped[getattr(row, column)].append(row)
            return [grouped[k] for k in keys]

        return self._loader(("many", model, column), batch)

    @property
    def children_of_redemption(self) -> DataLoader:
        return self.many_by(Redemption, "parent_id")

    @property
    def rollbacks_of_redemption(self) -> DataLoader:
        return self.many_by(RedemptionRollback, "redemption_id")

    @property
    def redemptions_of_order(self) -> DataLoader:
        return self.many_by(Redemption, "order_id")

    @property
    def skus_of_product(self) -> DataLoader:
        """`SkusByProductIdLoader`, oldest first."""
        return self.many_by(Sku, "product_id")

    async def optional(self, model: type[M], id_: object | None) -> M | None:
        """The row with this id, or None when there is no id (or no such row here)."""
        if id_ is None:
            return None
        row: M | None = await self.by_id(model).load(str(id_))
        return row

    def _require(self) -> str:
        if self._project_id is None:
            raise PermissionError("no project")
        return self._project_id


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
