"""Products, SKUs and product collections (STATIC lists and AUTO_UPDATE filters)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from app.db import repository
from app.db.base import (
    PortableJSON,
    created_column,
    id_column,
    metadata_column,
    project_column,
    updated_column,
)


class Product(SQLModel, table=True):
    __tablename__ = "products"
    __table_args__ = (sa.UniqueConstraint("project_id", "source_id"),)

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    source_id: str | None = Field(sa_column=sa.Column(sa.String(200), nullable=True))
    name: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    price: int | None = Field(sa_column=sa.Column(sa.BigInteger, nullable=True))
    attributes: list[str] = Field(sa_column=sa.Column(PortableJSON, nullable=False, default=list))
    metadata_: dict[str, Any] = Field(sa_column=metadata_column())
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())


class Sku(SQLModel, table=True):
    __tablename__ = "skus"
    __table_args__ = (sa.UniqueConstraint("project_id", "source_id"),)

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    product_id: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False,
            index=True,
        )
    )
    source_id: str | None = Field(sa_column=sa.Column(sa.String(200), nullable=True))
    sku: str | None = Field(sa_column=sa.Column(sa.String(500), nullable=True))
    price: int | None = Field(sa_column=sa.Column(sa.BigInteger, nullable=True))
    attributes: dict[str, Any] = Field(
        sa_column=sa.Column(PortableJSON, nullable=False, default=dict)
    )
    metadata_: dict[str, Any] = Field(sa_column=metadata_column())
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())


class CollectionType(StrEnum):
    STATIC = "STATIC"
    AUTO_UPDATE = "AUTO_UPDATE"


class ProductCollection(SQLModel, table=True):
    __tablename__ = "product_collections"

    id: str = Field(sa_column=id_column())
    project_id: str = Field(sa_column=project_column())
    name: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    type: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    filter: dict[str, Any] | None = Field(sa_column=sa.Column(PortableJSON, nullable=True))
    created_at: datetime = Field(sa_column=created_column())
    updated_at: datetime | None = Field(sa_column=updated_column())


class ProductCollectionMember(SQLModel, table=True):
    """A product or a SKU listed in a STATIC collection."""

    __tablename__ = "product_collection_members"
    __table_args__ = (
        sa.CheckConstraint(
            "(product_id IS NULL) <> (sku_id IS NULL)", name="product_xor_sku"
        ),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    )
    project_id: str = Field(sa_column=project_column())
    collection_id: str = Field(
        sa_column=sa.Column(
            sa.String(40),
            sa.ForeignKey("product_collections.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    product_id: str | None = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=True,
            index=True,
        )
    )
    sku_id: str | None = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("skus.id", ondelete="CASCADE"), nullable=True,
            index=True,
        )
    )
    position: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))


@dataclass(frozen=True)
class LineCatalog:
    """The catalog rows order lines name, fetched in batches (by id and by source id)."""

    products: dict[str, Product]
    skus: dict[str, Sku]
    skus_by_source: dict[str, Sku]
    products_by_source: dict[str, Product]


async def catalog_for_lines(
    session: AsyncSession, project_id: str, lines: Sequence[Any]
) -> LineCatalog:
    """Products and SKUs for lines with `product_id` / `sku_id` / `source_id` (5 queries at
    most, whatever the number of lines); products behind SKUs are included, since a SKU
    without a price takes its product's."""
    products = await repository.get_many(
        session, Product, project_id, [i.product_id for i in lines if i.product_id]
    )
    skus = await repository.get_many(
        session, Sku, project_id, [i.sku_id for i in lines if i.sku_id]
    )
    by_source = [i.source_id for i in lines if i.source_id and not (i.product_id or i.sku_id)]
    skus_by_source = await repository.get_many_by_source_id(session, Sku, project_id, by_source)
    products_by_source = await repository.get_many_by_source_id(
        session, Product, project_id, by_source
    )
    parents = [s.product_id for s in [*skus.values(), *skus_by_source.values()]]
    products.update(await repository.get_many(session, Product, project_id, parents))
    return LineCatalog(products, skus, skus_by_source, products_by_source)


# --- AUTO_UPDATE filters ------------------------------------------------------------------
# A filter is {"junction": "and"|"or", "<field>": {"conditions": {"$op": [values]}}, ...}
# over product fields or "metadata.<key>". It compiles to SQL, so listing a collection's
# products and finding which collections an order line belongs to stay paginated in SQL.

FILTER_FIELDS = {"id": "string", "source_id": "string", "name": "string", "price": "number"}
STRING_OPS = {"$starts_with", "$ends_with", "$contains", "$not_contain"}
ORDER_OPS = {"$more_than", "$more_than_equal", "$less_than", "$less_than_equal"}
EQUALITY_OPS = {"$is", "$is_not", "$in", "$not_in"}
PRESENCE_OPS = {"$is_unknown", "$has_value"}
FILTER_OPS = STRING_OPS | ORDER_OPS | EQUALITY_OPS | PRESENCE_OPS
MAX_FILTER_FIELDS = 20


class FilterError(ValueError):
    def __init__(self, path: list[str], message: str) -> None:
        super().__init__(message)
        self.path = path


def validate_filter(spec: Any) -> dict[str, Any]:
    """Check a collection filter's shape; raise FilterError naming the bad part."""
    if not isinstance(spec, dict):
        raise FilterError([], "filter must be a JSON object")
    junction = spec.get("junction", "and")
    if junction not in ("and", "or"):
        raise FilterError(["junction"], "junction must be 'and' or 'or'")
    fields = {k: v for k, v in spec.items() if k != "junction"}
    if not fields:
        raise FilterError([], "filter needs at least one field condition")
    if len(fields) > MAX_FILTER_FIELDS:
        raise FilterError([], f"filter may name at most {MAX_FILTER_FIELDS} fields")
    for name, body in fields.items():
        _field_kind(name)
        if not isinstance(body, dict) or not isinstance(body.get("conditions"), dict):
            raise FilterError([name], 'expected {"conditions": {"$operator": [values]}}')
        for key in body.keys() - {"conditions"}:
            raise FilterError([name, key], f"unknown key {key!r}; a field has only conditions")
        if not body["conditions"]:
            raise FilterError([name, "conditions"], "no condition given")
        for op, values in body["conditions"].items():
            if op not in FILTER_OPS:
                raise FilterError([name, "conditions", op], f"unknown operator {op}")
            if op in PRESENCE_OPS:
                continue
            if not isinstance(values, list) or not values:
                raise FilterError([name, "conditions", op], "operator values must be a list")
            for value in values:
                if not isinstance(value, str | int | float) or isinstance(value, bool):
                    raise FilterError(
                        [name, "conditions", op], "values must be strings or numbers"
                    )
            if op in ORDER_OPS and not all(
                isinstance(v, int | float) for v in values
            ):
                raise FilterError([name, "conditions", op], "comparison needs numbers")
    return {"junction": junction, **fields}


def _field_kind(name: str) -> str:
    if name in FILTER_FIELDS:
        return FILTER_FIELDS[name]
    head, _, key = name.partition(".")
    if head == "metadata" and key and key.replace("_", "").replace("-", "").isalnum():
        return "metadata"
    raise FilterError([name], f"unknown filter field {name!r}")


def _metadata_number(dialect: str, key: str) -> Any:
    col = Product.__table__.c.metadata  # type: ignore[attr-defined]
    if dialect == "postgresql":
        is_number = sa.func.jsonb_typeof(col[key]) == "number"
    else:
        is_number = sa.func.json_type(col, f'$."{key}"').in_(["integer", "real"])
    return sa.case((is_number, col[key].as_float()), else_=None)


def _condition(dialect: str, name: str, op: str, values: list[Any]) -> Any:
    kind = _field_kind(name)
    if kind == "metadata":
        key = name.partition(".")[2]
        text = Product.__table__.c.metadata[key].as_string()  # type: ignore[attr-defined]
        numeric = _metadata_number(dialect, key)
    else:
        column = getattr(Product, name)
        text = column if kind == "string" else None
        numeric = column if kind == "number" else None
    if op == "$is_unknown":
        return (text if text is not None else numeric).is_(None)
    if op == "$has_value":
        return (text if text is not None else numeric).is_not(None)
    if op in ORDER_OPS:
        target = numeric
        bound = float(values[0])
        return {
            "$more_than": target > bound,
            "$more_than_equal": target >= bound,
            "$less_than": target < bound,
            "$less_than_equal": target <= bound,
        }[op]
    numbers = all(isinstance(v, int | float) for v in values)
    target = numeric if (numbers and numeric is not None) else text
    if target is None:
        target = sa.cast(numeric, sa.String)
    vals = [float(v) for v in values] if target is numeric else [str(v) for v in values]
    if op in ("$is", "$in"):
        return target.in_(vals)
    if op in ("$is_not", "$not_in"):
        return sa.or_(target.is_(None), target.not_in(vals))
    pattern = str(values[0]).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    like = {
        "$starts_with": f"{pattern}%",
        "$ends_with": f"%{pattern}",
        "$contains": f"%{pattern}%",
        "$not_contain": f"%{pattern}%",
    }[op]
    clause = target.like(like, escape="\\")
    return sa.or_(target.is_(None), ~clause) if op == "$not_contain" else clause


def filter_clause(dialect: str, spec: dict[str, Any]) -> Any:
    parts = []
    for name, body in spec.items():
        if name == "junction":
            continue
        parts.extend(
            _condition(dialect, name, op, values or [])
            for op, values in body["conditions"].items()
        )
    return sa.or_(*parts) if spec.get("junction") == "or" else sa.and_(*parts)


def collection_product_clause(dialect: str, collection: ProductCollection) -> Any:
    """WHERE clause selecting the products of a collection (for a products query)."""
    if collection.type == CollectionType.AUTO_UPDATE:
        return filter_clause(dialect, collection.filter or {})
    members = sa.select(ProductCollectionMember.product_id).where(
        ProductCollectionMember.collection_id == collection.id,
        ProductCollectionMember.product_id.is_not(None),  # type: ignore[union-attr]
    )
    skus_products = sa.select(Sku.product_id).where(
        Sku.id.in_(  # type: ignore[attr-defined]
            sa.select(ProductCollectionMember.sku_id).where(
                ProductCollectionMember.collection_id == collection.id
            )
        )
    )
    return sa.or_(Product.id.in_(members), Product.id.in_(skus_products))  # type: ignore[attr-defined]


async def static_members(
    session: AsyncSession, project_id: str, collection_id: str
) -> list[ProductCollectionMember]:
    stmt = (
        sa.select(ProductCollectionMember)
        .where(
            ProductCollectionMember.project_id == project_id,
            ProductCollectionMember.collection_id == collection_id,
        )
        .order_by(ProductCollectionMember.position)
    )
    return list((await session.execute(stmt)).scalars())


async def auto_collections(
    session: AsyncSession, project_id: str
) -> list[tuple[str, dict[str, Any]]]:
    """The project's AUTO_UPDATE collections as (id, filter), in id order."""
    stmt = (
        sa.select(ProductCollection.id, ProductCollection.filter)
        .where(
            ProductCollection.project_id == project_id,
            ProductCollection.type == CollectionType.AUTO_UPDATE,
        )
        .order_by(ProductCollection.id)
    )
    return [(id_, dict(spec or {})) for id_, spec in (await session.execute(stmt)).all()]


async def collections_of_products(
    session: AsyncSession, project_id: str, product_ids: list[str], sku_ids: list[str],
    autos: Sequence[tuple[str, dict[str, Any]]] | None = None,
) -> dict[str, set[str]]:
    """For order lines: which collections each product / SKU id belongs to, in one statement
    (static memberships UNION ALL each AUTO_UPDATE filter applied to the products).

    `autos` is the project's AUTO_UPDATE collections (`auto_collections`) when the caller
    keeps them cached; without it they are read first."""
    found: dict[str, set[str]] = {}
    if not product_ids and not sku_ids:
        return found
    if autos is None and product_ids:
        autos = await auto_collections(session, project_id)
    member = ProductCollectionMember
    selects: list[Any] = [
        sa.select(
            member.collection_id.label("collection_id"),  # type: ignore[attr-defined]
            sa.func.coalesce(member.product_id, member.sku_id).label("member_id"),
        ).where(
            member.project_id == project_id,
            sa.or_(
                member.product_id.in_(product_ids),  # type: ignore[union-attr]
                member.sku_id.in_(sku_ids),  # type: ignore[union-attr]
            ),
        )
    ]
    if product_ids and autos:
        dialect = session.get_bind().dialect.name
        selects += [
            sa.select(
                sa.literal(collection_id).label("collection_id"), Product.id.label("member_id")
            ).where(
                Product.project_id == project_id,
                Product.id.in_(product_ids),  # type: ignore[attr-defined]
                filter_clause(dialect, spec),
            )
            for collection_id, spec in autos
        ]
    stmt = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    for collection_id, member_id in (await session.execute(stmt)).all():
        found.setdefault(member_id, set()).add(collection_id)
    return found
