"""Products, SKUs and product collections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import repository
from app.db.catalog import (
    CollectionType,
    FilterError,
    Product,
    ProductCollection,
    ProductCollectionMember,
    Sku,
    collection_product_clause,
    validate_filter,
)
from app.db.ids import new_id
from app.db.repository import Page
from app.db.session import Database
from app.engine.error_codes import (
    INVALID_ATTRIBUTES,
    INVALID_FILTER,
    INVALID_OBJECT,
    INVALID_PRODUCTS,
    INVALID_TYPE,
    REQUIRED,
    TOO_MANY_ITEMS,
)
from app.services import lookup
from app.services.errors import Checks, not_found

MAX_ATTRIBUTES = 100
MAX_COLLECTION_MEMBERS = 1000


# --- products -----------------------------------------------------------------------------

def _check_product(checks: Checks, data: dict[str, Any], *, creating: bool) -> None:
    checks.text(data.get("name"), ["name"], max_length=500, required=creating)
    if not creating and "name" in data and data["name"] is None:
        checks.fail(REQUIRED, "a product needs a name", ["name"])
    checks.source_id(data.get("source_id"), ["sourceId"])
    checks.money(data.get("price"), ["price"])
    checks.metadata(data.get("metadata"), ["metadata"])
    attributes = data.get("attributes")
    if attributes is not None and checks.list_size(
        attributes, ["attributes"], maximum=MAX_ATTRIBUTES
    ):
        for index, name in enumerate(attributes):
            checks.text(name, ["attributes", index], max_length=200)


async def _source_id_taken(
    session: AsyncSession, model: type[Product] | type[Sku], project_id: str,
    source_id: str | None, own_id: str | None = None,
) -> bool:
    if source_id is None:
        return False
    found = await repository.get_by_source_id(session, model, project_id, source_id)
    return found is not None and found.id != own_id


def _assign(row: Any, data: dict[str, Any]) -> None:
    for key, value in data.items():
        attr = "metadata_" if key == "metadata" else key
        if value is None and key in ("metadata", "attributes"):
            # Never-null JSON columns: null (or omitted on create) means empty, not JSON null.
            value = [] if key == "attributes" and isinstance(row, Product) else {}
        if key in ("name", "sku") and isinstance(value, str):
            value = value.strip()
        setattr(row, attr, value)


async def create_product(db: Database, project_id: str, data: dict[str, Any]) -> Product:
    checks = Checks()
    _check_product(checks, data, creating=True)
    checks.raise_if_any()
    product = Product(id=new_id("prod"), project_id=project_id, attributes=[], metadata_={})
    _assign(product, data)
    try:
        async with db.write() as session:
            if await _source_id_taken(session, Product, project_id, data.get("source_id")):
                raise lookup.duplicate_source_id("product", ["sourceId"])
            session.add(product)
    except IntegrityError as exc:
        raise lookup.duplicate_source_id("product", ["sourceId"]) from exc
    return product


async def update_product(
    db: Database, project_id: str, ref: dict[str, str | None], data: dict[str, Any]
) -> Product:
    checks = Checks()
    _check_product(checks, data, creating=False)
    checks.raise_if_any()
    try:
        async with db.write() as session:
            product = await lookup.resolve(
                session, Product, project_id, "product", id_=ref.get("id"),
                source_id=ref.get("source_id"), path=[],
            )
            if await _source_id_taken(
                session, Product, project_id, data.get("source_id"), product.id
            ):
                raise lookup.duplicate_source_id("product", ["sourceId"])
            _assign(product, data)
    except IntegrityError as exc:
        raise lookup.duplicate_source_id("product", ["sourceId"]) from exc
    return product


# --- SKUs ---------------------------------------------------------------------------------

def _check_sku(checks: Checks, data: dict[str, Any]) -> None:
    checks.text(data.get("sku"), ["sku"], max_length=500)
    checks.source_id(data.get("source_id"), ["sourceId"])
    checks.money(data.get("price"), ["price"])
    checks.metadata(data.get("metadata"), ["metadata"])
    attributes = data.get("attributes")
    if attributes is not None:
        if not isinstance(attributes, dict):
            checks.fail(INVALID_ATTRIBUTES, "attributes must be a JSON object", ["attributes"])
        elif len(attributes) > MAX_ATTRIBUTES:
            checks.fail(TOO_MANY_ITEMS, f"at most {MAX_ATTRIBUTES} entries", ["attributes"])


async def create_sku(db: Database, project_id: str, data: dict[str, Any]) -> Sku:
    checks = Checks()
    _check_sku(checks, data)
    checks.raise_if_any()
    product_id = data.pop("product_id")
    sku = Sku(
        id=new_id("sku"), project_id=project_id, product_id=product_id, attributes={},
        metadata_={},
    )
    _assign(sku, data)
    try:
        async with db.write() as session:
            if await repository.get(session, Product, project_id, product_id) is None:
                raise not_found("product", product_id, ["productId"])
            if await _source_id_taken(session, Sku, project_id, data.get("source_id")):
                raise lookup.duplicate_source_id("SKU", ["sourceId"])
            session.add(sku)
    except IntegrityError as exc:
        raise lookup.duplicate_source_id("SKU", ["sourceId"]) from exc
    return sku


async def update_sku(
    db: Database, project_id: str, ref: dict[str, str | None], data: dict[str, Any]
) -> Sku:
    checks = Checks()
    _check_sku(checks, data)
    checks.raise_if_any()
    try:
        async with db.write() as session:
            sku = await lookup.resolve(
                session, Sku, project_id, "SKU", id_=ref.get("id"),
                source_id=ref.get("source_id"), path=[],
            )
            if await _source_id_taken(session, Sku, project_id, data.get("source_id"), sku.id):
                raise lookup.duplicate_source_id("SKU", ["sourceId"])
            _assign(sku, data)
    except IntegrityError as exc:
        raise lookup.duplicate_source_id("SKU", ["sourceId"]) from exc
    return sku


def skus_of_product_clause(product_id: str) -> list[Any]:
    return [Sku.product_id == product_id]


# --- collections --------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberRef:
    object: str  # "product" | "sku"
    id: str | None
    source_id: str | None


def _check_collection(
    checks: Checks, data: dict[str, Any], collection_type: str | None, *, creating: bool
) -> None:
    checks.text(data.get("name"), ["name"], max_length=500, required="name" in data)
    if collection_type is not None and collection_type not in CollectionType.__members__:
        checks.fail(INVALID_TYPE, "type must be STATIC or AUTO_UPDATE", ["type"])
        return
    members = data.get("products")
    spec = data.get("filter")
    if collection_type == CollectionType.STATIC and spec is not None:
        checks.fail(INVALID_FILTER, "a STATIC collection lists products; no filter", ["filter"])
    if collection_type == CollectionType.AUTO_UPDATE:
        if members is not None:
            checks.fail(
                INVALID_PRODUCTS, "an AUTO_UPDATE collection is defined by its filter",
                ["products"],
            )
        if spec is None and (creating or "filter" in data):
            checks.fail(REQUIRED, "an AUTO_UPDATE collection needs a filter", ["filter"])
    if spec is not None:
        try:
            validate_filter(spec)
        except FilterError as exc:
            checks.fail(INVALID_FILTER, str(exc), ["filter", *exc.path])
    if members is not None and checks.list_size(
        members, ["products"], maximum=MAX_COLLECTION_MEMBERS
    ):
        for index, member in enumerate(members):
            if member.object not in ("product", "sku"):
                checks.fail(INVALID_OBJECT, "object must be product or sku",
                            ["products", index, "object"])
            if (member.id is None) == (member.source_id is None):
                checks.fail(REQUIRED, "give exactly one of id and sourceId",
                            ["products", index])


async def _resolve_members(
    session: AsyncSession, project_id: str, members: list[MemberRef]
) -> list[tuple[str | None, str | None]]:
    """(product_id, sku_id) for each member, batched; not_found names the first bad one."""
    found: dict[tuple[str, str, str], str] = {}
    for obj, model in (("product", Product), ("sku", Sku)):
        ids = [m.id for m in members if m.object == obj and m.id]
        source_ids = [m.source_id for m in members if m.object == obj and m.source_id]
        for row_id in await repository.get_many(session, model, project_id, ids):
            found[(obj, "id", row_id)] = row_id
        by_source = await repository.get_many_by_source_id(session, model, project_id, source_ids)
        for source_id, row in by_source.items():
            found[(obj, "source", source_id)] = row.id
    resolved: list[tuple[str | None, str | None]] = []
    seen: set[tuple[str | None, str | None]] = set()
    for index, member in enumerate(members):
        key = (member.object, "id", member.id) if member.id else (
            member.object, "source", member.source_id or ""
        )
        row_id = found.get(key)  # type: ignore[arg-type]
        if row_id is None:
            field = "id" if member.id else "sourceId"
            raise not_found(member.object, member.id or member.source_id or "",
                            ["products", str(index), field])
        pair = (row_id, None) if member.object == "product" else (None, row_id)
        if pair not in seen:
            seen.add(pair)
            resolved.append(pair)
    return resolved


async def _replace_members(
    session: AsyncSession, project_id: str, collection_id: str, members: list[MemberRef]
) -> None:
    pairs = await _resolve_members(session, project_id, members)
    await session.execute(
        sa.delete(ProductCollectionMember).where(
            ProductCollectionMember.collection_id == collection_id
        )
    )
    session.add_all(
        ProductCollectionMember(
            project_id=project_id, collection_id=collection_id, product_id=product_id,
            sku_id=sku_id, position=position,
        )
        for position, (product_id, sku_id) in enumerate(pairs)
    )


async def create_collection(
    db: Database, project_id: str, data: dict[str, Any]
) -> ProductCollection:
    collection_type = data.get("type") or CollectionType.STATIC
    checks = Checks()
    _check_collection(checks, data, collection_type, creating=True)
    checks.raise_if_any()
    collection = ProductCollection(
        id=new_id("pcol"), project_id=project_id, name=data["name"].strip(),
        type=collection_type,
        filter=validate_filter(data["filter"]) if data.get("filter") is not None else None,
    )
    async with db.write() as session:
        session.add(collection)
        await session.flush()
        if collection_type == CollectionType.STATIC:
            await _replace_members(session, project_id, collection.id, data.get("products") or [])
    return collection


async def update_collection(
    db: Database, project_id: str, collection_id: str, data: dict[str, Any]
) -> ProductCollection:
    async with db.write() as session:
        collection = await repository.get(session, ProductCollection, project_id, collection_id)
        if collection is None:
            raise not_found("product collection", collection_id, ["id"])
        checks = Checks()
        _check_collection(checks, data, collection.type, creating=False)
        checks.raise_if_any()
        if "name" in data:
            collection.name = data["name"].strip()
        if data.get("filter") is not None:
            collection.filter = validate_filter(data["filter"])
        if data.get("products") is not None:
            await _replace_members(session, project_id, collection.id, data["products"])
    return collection


async def collection_products(
    db: Database, project_id: str, collection: ProductCollection, *, first: int | None,
    after: str | None,
) -> Page[Product]:
    clause = collection_product_clause(db.dialect, collection)
    return await lookup.page(db, Product, project_id, first=first, after=after, where=[clause])


async def collection_products_count(
    db: Database, project_id: str, collection: ProductCollection
) -> int:
    clause = collection_product_clause(db.dialect, collection)
    return await lookup.count(db, Product, project_id, [clause])
