"""GraphQL: products, SKUs and product collections."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET
from strawberry.scalars import JSON
from strawberry.types import Info

from app.api.common import DeletePayload, RefInput, delete_mutation, given, mapped, ref_and_changes
from app.api.context import Context
from app.api.enums import ProductCollectionType
from app.api.errors import UserError, mutation_call, query_call
from app.api.relay import Connection, Node, connection, decode_cursor
from app.api.scalars import SafeInt
from app.db import catalog as tables
from app.services import catalog as service
from app.services import lookup


@strawberry.type
class Product(Node):
    id: strawberry.ID
    source_id: str | None
    name: str
    price: SafeInt | None = strawberry.field(description="Unit price in minor units")
    attributes: list[str]
    metadata: JSON
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.Product) -> Product:
        return cls(
            id=strawberry.ID(row.id), source_id=row.source_id, name=row.name, price=row.price,
            attributes=list(row.attributes or []), metadata=row.metadata_,
            created_at=row.created_at, updated_at=row.updated_at,
        )

    @strawberry.field(description="The product's SKUs (variants), oldest first.")
    async def skus(self, info: Info[Context, None]) -> list[Sku]:
        rows = await info.context.loaders.skus_of_product.load(str(self.id))
        return [Sku.from_row(row) for row in rows]


@strawberry.type
class Sku(Node):
    id: strawberry.ID
    product_id: strawberry.ID
    source_id: str | None
    sku: str | None
    price: SafeInt | None = strawberry.field(description="Unit price in minor units")
    attributes: JSON
    metadata: JSON
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.Sku) -> Sku:
        return cls(
            id=strawberry.ID(row.id), product_id=strawberry.ID(row.product_id),
            source_id=row.source_id, sku=row.sku, price=row.price, attributes=row.attributes,
            metadata=row.metadata_, created_at=row.created_at, updated_at=row.updated_at,
        )

    @strawberry.field
    async def product(self, info: Info[Context, None]) -> Product | None:
        row = await info.context.loaders.product.load(str(self.product_id))
        return Product.from_row(row) if row else None


@strawberry.type
class ProductCollection(Node):
    id: strawberry.ID
    name: str
    type: ProductCollectionType
    filter: JSON | None = strawberry.field(description="AUTO_UPDATE: the product filter")
    created_at: datetime
    updated_at: datetime | None
    row: strawberry.Private[tables.ProductCollection]

    @classmethod
    def from_row(cls, row: tables.ProductCollection) -> ProductCollection:
        return cls(
            id=strawberry.ID(row.id), name=row.name, type=ProductCollectionType(row.type),
            filter=row.filter, created_at=row.created_at, updated_at=row.updated_at, row=row,
        )

    @strawberry.field(description="Products in the collection (SKU members count their product)")
    async def products(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[Product]:
        ctx = info.context
        cursor = decode_cursor(after)
        page = await query_call(
            service.collection_products(ctx.db, ctx.project_id, self.row, first=first, after=cursor)
        )
        return connection(
            page.items, page.has_next, Product.from_row,
            lambda: service.collection_products_count(ctx.db, ctx.project_id, self.row), cursor,
        )


# --- inputs and payloads ------------------------------------------------------------------

@strawberry.input
class CreateProductInput:
    name: str
    source_id: str | None = None
    price: SafeInt | None = None
    attributes: list[str] | None = None
    metadata: JSON | None = None


@strawberry.input(description="Names the product by id (or by sourceId when no id is given).")
class UpdateProductInput:
    id: strawberry.ID | None = None
    source_id: str | None = UNSET
    name: str | None = UNSET
    price: SafeInt | None = UNSET
    attributes: list[str] | None = UNSET
    metadata: JSON | None = UNSET


@strawberry.input
class CreateSkuInput:
    product_id: strawberry.ID
    source_id: str | None = None
    sku: str | None = None
    price: SafeInt | None = None
    attributes: JSON | None = None
    metadata: JSON | None = None


@strawberry.input
class UpdateSkuInput:
    id: strawberry.ID | None = None
    source_id: str | None = UNSET
    sku: str | None = UNSET
    price: SafeInt | None = UNSET
    attributes: JSON | None = UNSET
    metadata: JSON | None = UNSET


@strawberry.input(description="A product or SKU listed in a STATIC collection.")
class CollectionMemberInput:
    object: str = strawberry.field(description="product or sku")
    id: strawberry.ID | None = None
    source_id: str | None = None


@strawberry.input
class CreateProductCollectionInput:
    name: str
    type: ProductCollectionType = ProductCollectionType.STATIC
    products: list[CollectionMemberInput] | None = None
    filter: JSON | None = strawberry.field(
        default=None,
        description='AUTO_UPDATE: {"junction": "and", "metadata.color": '
        '{"conditions": {"$is": ["red"]}}, "price": {"conditions": {"$more_than": [1000]}}}',
    )


@strawberry.input
class UpdateProductCollectionInput:
    id: strawberry.ID
    name: str | None = UNSET
    products: list[CollectionMemberInput] | None = UNSET
    filter: JSON | None = UNSET


@strawberry.input
class ProductFilter:
    source_id: str | None = None


@strawberry.type
class ProductPayload:
    product: Product | None = None
    errors: list[UserError]


@strawberry.type
class SkuPayload:
    sku: Sku | None = None
    errors: list[UserError]


@strawberry.type
class ProductCollectionPayload:
    product_collection: ProductCollection | None = None
    errors: list[UserError]


def _members(items: list[CollectionMemberInput] | None) -> list[service.MemberRef] | None:
    if items is None:
        return None
    return [
        service.MemberRef(object=m.object, id=str(m.id) if m.id else None, source_id=m.source_id)
        for m in items
    ]


async def _product_payload(call: object) -> ProductPayload:
    return await mutation_call(mapped(call, Product.from_row), ProductPayload, "product")


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="Products, newest first.")
    async def products(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        filter: ProductFilter | None = None,
    ) -> Connection[Product]:
        ctx = info.context
        cursor = decode_cursor(after)
        where = []
        if filter and filter.source_id is not None:
            where.append(tables.Product.source_id == filter.source_id)
        page = await query_call(
            lookup.page(ctx.db, tables.Product, ctx.project_id, first=first, after=cursor,
                        where=where)
        )
        return connection(
            page.items, page.has_next, Product.from_row,
            lambda: lookup.count(ctx.db, tables.Product, ctx.project_id, where), cursor,
        )

    @strawberry.field
    async def product(
        self, info: Info[Context, None], id: strawberry.ID | None = None,
        source_id: str | None = None,
    ) -> Product | None:
        ctx = info.context
        row = await lookup.get_by_ref(
            ctx.db, tables.Product, ctx.project_id, id_=id, source_id=source_id
        )
        return Product.from_row(row) if row else None

    @strawberry.field(description="SKUs, newest first; optionally of one product.")
    async def skus(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None,
        product_id: strawberry.ID | None = None,
    ) -> Connection[Sku]:
        ctx = info.context
        cursor = decode_cursor(after)
        where = service.skus_of_product_clause(str(product_id)) if product_id else []
        page = await query_call(
            lookup.page(ctx.db, tables.Sku, ctx.project_id, first=first, after=cursor, where=where)
        )
        return connection(
            page.items, page.has_next, Sku.from_row,
            lambda: lookup.count(ctx.db, tables.Sku, ctx.project_id, where), cursor,
        )

    @strawberry.field
    async def sku(
        self, info: Info[Context, None], id: strawberry.ID | None = None,
        source_id: str | None = None,
    ) -> Sku | None:
        ctx = info.context
        row = await lookup.get_by_ref(
            ctx.db, tables.Sku, ctx.project_id, id_=id, source_id=source_id
        )
        return Sku.from_row(row) if row else None

    @strawberry.field(description="Product collections, newest first.")
    async def product_collections(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[ProductCollection]:
        ctx = info.context
        cursor = decode_cursor(after)
        page = await query_call(
            lookup.page(ctx.db, tables.ProductCollection, ctx.project_id, first=first,
                        after=cursor)
        )
        return connection(
            page.items, page.has_next, ProductCollection.from_row,
            lambda: lookup.count(ctx.db, tables.ProductCollection, ctx.project_id), cursor,
        )

    @strawberry.field
    async def product_collection(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> ProductCollection | None:
        row = await info.context.loaders.collection.load(str(id))
        return ProductCollection.from_row(row) if row else None


@strawberry.type
class CatalogMutation:
    @strawberry.mutation
    async def create_product(
        self, info: Info[Context, None], input: CreateProductInput
    ) -> ProductPayload:
        ctx = info.context
        return await _product_payload(service.create_product(ctx.db, ctx.project_id, given(input)))

    @strawberry.mutation
    async def update_product(
        self, info: Info[Context, None], input: UpdateProductInput
    ) -> ProductPayload:
        ctx = info.context
        ref, data = ref_and_changes(input)
        return await _product_payload(service.update_product(ctx.db, ctx.project_id, ref, data))

    @strawberry.mutation
    async def delete_product(
        self, info: Info[Context, None], input: RefInput
    ) -> DeletePayload:
        return await delete_mutation(info, tables.Product, "product", input)

    @strawberry.mutation
    async def create_sku(self, info: Info[Context, None], input: CreateSkuInput) -> SkuPayload:
        ctx = info.context
        data = given(input)
        data["product_id"] = str(input.product_id)
        return await mutation_call(
            mapped(service.create_sku(ctx.db, ctx.project_id, data), Sku.from_row),
            SkuPayload, "sku",
        )

    @strawberry.mutation
    async def update_sku(self, info: Info[Context, None], input: UpdateSkuInput) -> SkuPayload:
        ctx = info.context
        ref, data = ref_and_changes(input)
        return await mutation_call(
            mapped(service.update_sku(ctx.db, ctx.project_id, ref, data), Sku.from_row),
            SkuPayload, "sku",
        )

    @strawberry.mutation
    async def delete_sku(self, info: Info[Context, None], input: RefInput) -> DeletePayload:
        return await delete_mutation(info, tables.Sku, "SKU", input)

    @strawberry.mutation
    async def create_product_collection(
        self, info: Info[Context, None], input: CreateProductCollectionInput
    ) -> ProductCollectionPayload:
        ctx = info.context
        data = given(input)
        data["type"] = input.type.value
        data["products"] = _members(input.products)
        return await mutation_call(
            mapped(service.create_collection(ctx.db, ctx.project_id, data),
                 ProductCollection.from_row),
            ProductCollectionPayload, "product_collection",
        )

    @strawberry.mutation
    async def update_product_collection(
        self, info: Info[Context, None], input: UpdateProductCollectionInput
    ) -> ProductCollectionPayload:
        ctx = info.context
        data = given(input, exclude=("id",))
        if "products" in data:
            data["products"] = _members(input.products)
        return await mutation_call(
            mapped(service.update_collection(ctx.db, ctx.project_id, str(input.id), data),
                 ProductCollection.from_row),
            ProductCollectionPayload, "product_collection",
        )

    @strawberry.mutation
    async def delete_product_collection(
        self, info: Info[Context, None], input: RefInput
    ) -> DeletePayload:
        return await delete_mutation(info, tables.ProductCollection, "product collection", input)
